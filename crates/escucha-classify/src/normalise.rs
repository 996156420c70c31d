//! Text normalisation for cue matching.
//!
//! Customer texts and lexicon cues go through the same function, so that a cue
//! matches every spelling that normalises to the same string:
//!
//! * letters are lowercased and folded to their base letter (`á`→`a`,
//!   `ç`→`c`, `ã`→`a`, `ñ`→`n`, `ß`→`ss`), combining marks are dropped;
//! * runs of the same letter are squeezed to one (`graciasss`, `muuuy`,
//!   `horrible` and `horible` all become the same word), so elongated informal
//!   writing still matches;
//! * apostrophes inside a word are dropped (`didn't` → `didnt`);
//! * every punctuation mark, symbol and emoji becomes a token of its own, and
//!   line breaks become a `\n` token (emoji modifiers, variation selectors and
//!   joiners are dropped);
//! * tokens are joined by exactly one space.
//!
//! Each token remembers the range of **characters** of the original text it
//! came from, so a match on the normalised text maps back to a span of the
//! original, accents, emoji and all.

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Letters and digits.
    Word,
    /// One punctuation mark.
    Punct,
    /// One symbol or emoji.
    Symbol,
    /// One or more line breaks.
    Break,
}

/// One token of a normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    /// Byte range in [`Normalized::text`].
    pub norm_start: usize,
    pub norm_end: usize,
    /// Character range in the original text.
    pub orig_start: usize,
    pub orig_end: usize,
    /// Uppercase and lowercase letters of the original token.
    pub upper: u16,
    pub lower: u16,
}

impl Token {
    /// Whether the token was written in capitals (at least `min_letters`
    /// letters, none lowercase).
    pub fn is_shouted(&self, min_letters: u16) -> bool {
        self.kind == TokenKind::Word && self.lower == 0 && self.upper >= min_letters
    }
}

/// A normalised text with its tokens.
#[derive(Debug, Clone, Default)]
pub(crate) struct Normalized {
    pub text: String,
    pub tokens: Vec<Token>,
}

impl Normalized {
    /// The normalised text of token `i`.
    pub fn token_text(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.text[t.norm_start..t.norm_end]
    }

    /// Index of the token starting at byte `pos` of the normalised text.
    pub fn token_starting_at(&self, pos: usize) -> Option<usize> {
        self.tokens
            .binary_search_by_key(&pos, |t| t.norm_start)
            .ok()
    }

    /// Index of the token ending at byte `pos` of the normalised text.
    pub fn token_ending_at(&self, pos: usize) -> Option<usize> {
        self.tokens.binary_search_by_key(&pos, |t| t.norm_end).ok()
    }
}

/// Whether `c` separates words for matching purposes, i.e. is part of a word.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | '`' | '´' | 'ʼ')
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Characters that carry no meaning of their own and are attached to the
/// preceding token: combining marks, variation selectors, joiners, emoji
/// skin-tone modifiers and tag characters.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{200B}'..='\u{200D}'
        | '\u{2060}'
        | '\u{FEFF}'
        | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0020}'..='\u{E007F}')
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '¡' | '¿' | '«' | '»' | '…' | '–' | '—' | '“' | '”' | '„' | '·' | '•' | '\u{2010}'
                ..='\u{2015}' | '\u{3001}' | '\u{3002}'
        )
}

/// Folds an already lowercased character to its base letters and feeds them
/// to `out`. Combining marks produce nothing.
fn fold(c: char, out: &mut impl FnMut(char)) {
    let base = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ª' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'º' => 'o',
        'ŕ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'ţ' | 'ť' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        'ß' => {
            out('s');
            out('s');
            return;
        }
        'æ' => {
            out('a');
            out('e');
            return;
        }
        'œ' => {
            out('o');
            out('e');
            return;
        }
        c if is_ignorable(c) => return,
        c => c,
    };
    out(base);
}

/// Normalises `text` (see the module documentation).
pub(crate) fn normalise(text: &str) -> Normalized {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Normalized {
        text: String::with_capacity(text.len() + 8),
        tokens: Vec::with_capacity(chars.len() / 3 + 1),
    };
    // Whether the last token is a word still being extended.
    let mut in_word = false;
    let mut last_char: Option<char> = None;

    for (ci, &c) in chars.iter().enumerate() {
        if is_ignorable(c) {
            if let Some(t) = out.tokens.last_mut() {
                if t.orig_end == ci {
                    t.orig_end = ci + 1;
                }
            }
            continue;
        }
        if is_apostrophe(c) {
            let next_is_word = chars.get(ci + 1).is_some_and(|&n| is_word_char(n));
            if in_word && next_is_word {
                if let Some(t) = out.tokens.last_mut() {
                    t.orig_end = ci + 1;
                }
            } else {
                in_word = false;
            }
            continue;
        }
        if is_word_char(c) {
            if !in_word {
                start_token(&mut out, TokenKind::Word, ci);
                in_word = true;
                last_char = None;
            }
            let token = out.tokens.last_mut().expect("a word token was started");
            if c.is_uppercase() {
                token.upper = token.upper.saturating_add(1);
            } else if c.is_lowercase() {
                token.lower = token.lower.saturating_add(1);
            }
            token.orig_end = ci + 1;
            let text = &mut out.text;
            for lower in c.to_lowercase() {
                fold(lower, &mut |f| {
                    if f.is_alphabetic() && last_char == Some(f) {
                        return;
                    }
                    text.push(f);
                    last_char = Some(f);
                });
            }
            token.norm_end = text.len();
            continue;
        }
        in_word = false;
        if c.is_whitespace() {
            if is_line_break(c) {
                match out.tokens.last_mut() {
                    Some(t) if t.kind == TokenKind::Break => t.orig_end = ci + 1,
                    _ => {
                        start_token(&mut out, TokenKind::Break, ci);
                        push_char(&mut out, '\n', ci);
                    }
                }
            }
            continue;
        }
        let kind = if is_punctuation(c) {
            TokenKind::Punct
        } else {
            TokenKind::Symbol
        };
        start_token(&mut out, kind, ci);
        let folded = if kind == TokenKind::Punct {
            match c {
                '’' | '‘' => '\'',
                '“' | '”' | '„' | '«' | '»' => '"',
                '\u{2010}'..='\u{2015}' => '-',
                _ => c,
            }
        } else {
            c
        };
        push_char(&mut out, folded, ci);
    }
    out
}

fn start_token(out: &mut Normalized, kind: TokenKind, ci: usize) {
    if !out.text.is_empty() {
        out.text.push(' ');
    }
    let pos = out.text.len();
    out.tokens.push(Token {
        kind,
        norm_start: pos,
        norm_end: pos,
        orig_start: ci,
        orig_end: ci,
        upper: 0,
        lower: 0,
    });
}

fn push_char(out: &mut Normalized, c: char, ci: usize) {
    out.text.push(c);
    let t = out.tokens.last_mut().expect("a token was started");
    t.norm_end = out.text.len();
    t.orig_end = ci + 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use escucha_core::Span;

    fn tokens(text: &str) -> Vec<String> {
        let n = normalise(text);
        (0..n.tokens.len())
            .map(|i| n.token_text(i).to_string())
            .collect()
    }

    fn original(text: &str, n: &Normalized, i: usize) -> String {
        let t = &n.tokens[i];
        Span::new(t.orig_start, t.orig_end).slice(text).to_string()
    }

    #[test]
    fn lowercases_folds_accents_and_collapses_whitespace() {
        let n = normalise("  Atención   PÉSIMA,\tação  rápida ");
        assert_eq!(n.text, "atencion pesima , acao rapida");
        assert_eq!(n.tokens.len(), 5);
    }

    #[test]
    fn squeezes_repeated_letters_but_not_digits() {
        assert_eq!(
            normalise("Graciasss muuuy amables").text,
            "gracias muy amables"
        );
        assert_eq!(normalise("horrible llamada").text, "horible lamada");
        assert_eq!(normalise("esperé 100 minutos").text, "espere 100 minutos");
    }

    #[test]
    fn drops_apostrophes_inside_words_only() {
        assert_eq!(normalise("I didn't wait").text, "i didnt wait");
        assert_eq!(normalise("I didn’t wait").text, "i didnt wait");
        assert_eq!(normalise("'quoted' text").text, "quoted text");
    }

    #[test]
    fn punctuation_emoji_and_line_breaks_are_tokens() {
        assert_eq!(
            tokens("gracias🙏🏽!!!\n\nok"),
            vec!["gracias", "🙏", "!", "!", "!", "\n", "ok"]
        );
        assert_eq!(tokens("¿por qué?"), vec!["¿", "por", "que", "?"]);
    }

    #[test]
    fn decomposed_accents_fold_like_composed_ones() {
        let decomposed = "e\u{301}xito, nao\u{303}";
        assert_eq!(normalise(decomposed).text, "exito , nao");
        let n = normalise(decomposed);
        assert_eq!(original(decomposed, &n, 0), "e\u{301}xito");
        assert_eq!(original(decomposed, &n, 2), "nao\u{303}");
    }

    #[test]
    fn tokens_map_back_to_original_characters() {
        let text = "¡Qué ALIVIO! 😮‍💨 don't wörry";
        let n = normalise(text);
        let originals: Vec<String> = (0..n.tokens.len()).map(|i| original(text, &n, i)).collect();
        assert_eq!(
            originals,
            vec![
                "¡",
                "Qué",
                "ALIVIO",
                "!",
                "😮\u{200d}",
                "💨",
                "don't",
                "wörry"
            ]
        );
        assert!(n.tokens[2].is_shouted(4));
        assert!(!n.tokens[1].is_shouted(2));
    }

    #[test]
    fn finds_tokens_by_normalised_offset() {
        let n = normalise("muy mal");
        assert_eq!(n.token_starting_at(0), Some(0));
        assert_eq!(n.token_starting_at(4), Some(1));
        assert_eq!(n.token_starting_at(2), None);
        assert_eq!(n.token_ending_at(3), Some(0));
        assert_eq!(n.token_ending_at(7), Some(1));
    }

    #[test]
    fn empty_and_blank_texts_have_no_tokens() {
        assert!(normalise("").tokens.is_empty());
        assert!(normalise(" \t ").tokens.is_empty());
    }
}
