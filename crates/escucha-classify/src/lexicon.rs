//! Lexicon files: parsing, validation and cue patterns.
//!
//! A lexicon is a TOML document. The built-in ones live in `lexicon/*.toml`
//! and their headers document the format; in short:
//!
//! ```toml
//! language = "es"            # es | pt | en | any
//!
//! [grammar]                  # all lists optional
//! negators = ["no", "nunca", "no tuve que"]
//! negation_window = 3        # tokens a negator reaches forward
//! clause_markers = ["pero", "sin embargo", "y"]
//! intensifiers = ["muy", "re"]
//! sarcasm = ["gracias por nada"]
//! sarcasm_links = ["por"]
//! courtesy = ["gracias", "saludos"]
//!
//! [labels.long_wait]
//! cues = [
//!   "tiempo de espera",
//!   "esper* _ horas",
//!   { cue = "tarde", weight = 0.4 },           # default weight: 0.75
//!   { cue = "otra vez", negatable = false },   # "no, otra vez no" still counts
//! ]
//! ```
//!
//! Pattern syntax, for cues and every grammar list: a phrase is matched as
//! whole words after the same normalisation as the text (lowercase, accents
//! folded, runs of a repeated letter squeezed to one, apostrophes inside words
//! dropped, emoji modifiers ignored), so `muuuy`, `didn't` and `🙏🏽` match
//! `muy`, `didnt` and `🙏`. `*` right after a word makes it a stem that
//! matches any word starting that way (`esper*` → `espera`, `esperando`); `_`
//! stands for exactly one word (`esper* _ horas` → `esperé dos horas`). Emoji
//! and punctuation are literal tokens.
//!
//! A cue's weight is in (0, 1]. A label's confidence is `1 - Π(1 - w)` over its
//! distinct cues found in a text (raised by intensifiers, capitals and
//! repetition), and it is emitted when it reaches the engine's threshold
//! (0.5 by default): a cue weighing less than 0.5 needs company.

use crate::normalise::{normalise, TokenKind};
use escucha_core::taxonomy;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Weight of a cue written without an explicit one.
pub const DEFAULT_WEIGHT: f32 = 0.75;

/// Default reach of a negator, in tokens.
pub const DEFAULT_NEGATION_WINDOW: usize = 3;

/// Shortest stem allowed before `*`, in normalised characters.
const MIN_STEM_CHARS: usize = 3;

/// Why a lexicon was rejected.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    /// The document is not valid TOML or does not have the lexicon shape.
    #[error("invalid lexicon file: {0}")]
    Toml(#[from] toml::de::Error),
    /// `language` is not one of `es`, `pt`, `en`, `any`.
    #[error("unknown lexicon language `{0}`; expected one of: es, pt, en, any")]
    UnknownLanguage(String),
    /// A label id is not a well-formed taxonomy id.
    #[error("invalid label id `{0}`: use lowercase ascii letters, digits and `_`, starting with a letter")]
    InvalidLabel(String),
    /// A label lists no cues.
    #[error("label `{0}` has no cues")]
    EmptyLabel(String),
    /// A cue or grammar phrase cannot be used as a pattern.
    #[error("invalid pattern `{pattern}` in {section}: {reason}")]
    InvalidPattern {
        section: String,
        pattern: String,
        reason: &'static str,
    },
    /// A cue weight is outside (0, 1].
    #[error("weight {weight} of cue `{pattern}` in {section} is not in (0, 1]")]
    InvalidWeight {
        section: String,
        pattern: String,
        weight: f32,
    },
    /// `negation_window` is outside 1..=10.
    #[error("negation_window {0} is not in 1..=10")]
    InvalidNegationWindow(usize),
    /// No lexicon was given.
    #[error("at least one lexicon is required")]
    NoLexicon,
    /// The matcher could not be built from the patterns.
    #[error("cannot build the cue matcher: {0}")]
    Matcher(String),
}

/// Which texts a lexicon applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LexiconLanguage {
    Es,
    Pt,
    En,
    /// Language-independent cues (emoji, symbols), merged into every language.
    Any,
}

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    /// Literal normalised text.
    Lit(String),
    /// The rest of a word (zero or more word characters).
    Stem,
    /// Exactly one word.
    Any,
}

/// A compiled phrase: a leading literal found by the automaton, then parts
/// checked in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// The phrase as written in the lexicon.
    pub source: String,
    /// Normalised literal the phrase starts with.
    pub head: String,
    /// What must follow the head.
    pub rest: Vec<Part>,
}

impl Pattern {
    /// Compiles `phrase`; the error is a short reason.
    pub fn compile(phrase: &str) -> Result<Pattern, &'static str> {
        let norm = normalise(phrase);
        if norm.tokens.is_empty() {
            return Err("it is empty");
        }
        let mut parts: Vec<Part> = Vec::new();
        let mut previous_word_len: Option<usize> = None;
        for (i, token) in norm.tokens.iter().enumerate() {
            let text = norm.token_text(i);
            match (token.kind, text) {
                (TokenKind::Break, _) => return Err("it contains a line break"),
                (_, "*") => {
                    let glued = i > 0 && norm.tokens[i - 1].orig_end == token.orig_start;
                    let len = previous_word_len.take().ok_or("`*` must end a word")?;
                    if !glued {
                        return Err("`*` must end a word");
                    }
                    if len < MIN_STEM_CHARS {
                        return Err("a stem before `*` needs at least 3 letters");
                    }
                    let next_glued = norm.tokens.get(i + 1).is_some_and(|n| {
                        n.orig_start == token.orig_end && n.kind == TokenKind::Word
                    });
                    if next_glued {
                        return Err("`*` may only end a word");
                    }
                    parts.push(Part::Stem);
                }
                (_, "_") => {
                    if parts.is_empty() {
                        return Err("a pattern cannot start with `_`");
                    }
                    push_lit(&mut parts, " ");
                    parts.push(Part::Any);
                    previous_word_len = None;
                }
                (kind, text) => {
                    if !parts.is_empty() {
                        push_lit(&mut parts, " ");
                    }
                    push_lit(&mut parts, text);
                    previous_word_len = (kind == TokenKind::Word).then(|| text.chars().count());
                }
            }
        }
        let mut parts = parts.into_iter();
        let head = match parts.next() {
            Some(Part::Lit(head)) => head,
            _ => return Err("a pattern must start with a word, emoji or symbol"),
        };
        Ok(Pattern {
            source: phrase.trim().to_string(),
            head,
            rest: parts.collect(),
        })
    }

    /// Given that the head matched `text` ending at byte `pos`, checks the rest
    /// of the pattern and the closing word boundary; returns the end of the
    /// whole match.
    pub fn match_rest(&self, text: &str, mut pos: usize) -> Option<usize> {
        let bytes = text.as_bytes();
        for part in &self.rest {
            match part {
                Part::Lit(lit) => {
                    if !text[pos..].starts_with(lit.as_str()) {
                        return None;
                    }
                    pos += lit.len();
                }
                Part::Stem => pos = skip_word(text, pos),
                Part::Any => {
                    let end = skip_word(text, pos);
                    if end == pos {
                        return None;
                    }
                    pos = end;
                }
            }
        }
        (pos == bytes.len() || bytes[pos] == b' ').then_some(pos)
    }
}

/// Skips the word characters starting at byte `pos`.
fn skip_word(text: &str, pos: usize) -> usize {
    let rest = &text[pos..];
    let len = rest
        .char_indices()
        .find(|&(_, c)| !crate::normalise::is_word_char(c))
        .map_or(rest.len(), |(i, _)| i);
    pos + len
}

fn push_lit(parts: &mut Vec<Part>, s: &str) {
    if let Some(Part::Lit(last)) = parts.last_mut() {
        last.push_str(s);
    } else {
        parts.push(Part::Lit(s.to_string()));
    }
}

/// A validated cue.
#[derive(Debug, Clone)]
pub(crate) struct Cue {
    pub pattern: Pattern,
    pub weight: f32,
    /// Whether a preceding negator vetoes the cue.
    pub negatable: bool,
}

/// Grammar of one language, as compiled patterns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grammar {
    pub negators: Vec<Pattern>,
    pub negation_window: Option<usize>,
    pub clause_markers: Vec<Pattern>,
    pub intensifiers: Vec<Pattern>,
    pub sarcasm: Vec<Pattern>,
    pub sarcasm_links: Vec<Pattern>,
    pub courtesy: Vec<Pattern>,
}

impl Grammar {
    /// Adds `other`'s lists to these; `other`'s window wins when set.
    pub fn merge(&mut self, other: &Grammar) {
        self.negators.extend(other.negators.iter().cloned());
        self.clause_markers
            .extend(other.clause_markers.iter().cloned());
        self.intensifiers.extend(other.intensifiers.iter().cloned());
        self.sarcasm.extend(other.sarcasm.iter().cloned());
        self.sarcasm_links
            .extend(other.sarcasm_links.iter().cloned());
        self.courtesy.extend(other.courtesy.iter().cloned());
        if other.negation_window.is_some() {
            self.negation_window = other.negation_window;
        }
    }
}

/// A parsed and validated lexicon file.
#[derive(Debug, Clone)]
pub(crate) struct Lexicon {
    pub language: LexiconLanguage,
    pub grammar: Grammar,
    /// Label id → cues, in id order.
    pub labels: BTreeMap<String, Vec<Cue>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    language: String,
    #[serde(default)]
    grammar: GrammarFile,
    #[serde(default)]
    labels: BTreeMap<String, LabelFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GrammarFile {
    #[serde(default)]
    negators: Vec<String>,
    negation_window: Option<usize>,
    #[serde(default)]
    clause_markers: Vec<String>,
    #[serde(default)]
    intensifiers: Vec<String>,
    #[serde(default)]
    sarcasm: Vec<String>,
    #[serde(default)]
    sarcasm_links: Vec<String>,
    #[serde(default)]
    courtesy: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelFile {
    cues: Vec<CueFile>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CueFile {
    Plain(String),
    Table(CueTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CueTable {
    cue: String,
    #[serde(default)]
    weight: Option<f32>,
    #[serde(default = "yes")]
    negatable: bool,
}

fn yes() -> bool {
    true
}

impl Lexicon {
    /// Parses and validates one lexicon document.
    pub fn parse(src: &str) -> Result<Lexicon, LexiconError> {
        let file: LexiconFile = toml::from_str(src)?;
        let language = match file.language.trim().to_ascii_lowercase().as_str() {
            "es" => LexiconLanguage::Es,
            "pt" => LexiconLanguage::Pt,
            "en" => LexiconLanguage::En,
            "any" => LexiconLanguage::Any,
            _ => return Err(LexiconError::UnknownLanguage(file.language)),
        };
        if let Some(w) = file.grammar.negation_window {
            if !(1..=10).contains(&w) {
                return Err(LexiconError::InvalidNegationWindow(w));
            }
        }
        let g = &file.grammar;
        let grammar = Grammar {
            negators: compile_all("grammar.negators", &g.negators)?,
            negation_window: g.negation_window,
            clause_markers: compile_all("grammar.clause_markers", &g.clause_markers)?,
            intensifiers: compile_all("grammar.intensifiers", &g.intensifiers)?,
            sarcasm: compile_all("grammar.sarcasm", &g.sarcasm)?,
            sarcasm_links: compile_all("grammar.sarcasm_links", &g.sarcasm_links)?,
            courtesy: compile_all("grammar.courtesy", &g.courtesy)?,
        };
        let mut labels = BTreeMap::new();
        for (id, label) in file.labels {
            if !taxonomy::is_valid_label_id(&id) {
                return Err(LexiconError::InvalidLabel(id));
            }
            if label.cues.is_empty() {
                return Err(LexiconError::EmptyLabel(id));
            }
            let section = format!("labels.{id}");
            let mut cues = Vec::with_capacity(label.cues.len());
            for cue in label.cues {
                let (phrase, weight, negatable) = match cue {
                    CueFile::Plain(p) => (p, DEFAULT_WEIGHT, true),
                    CueFile::Table(t) => (t.cue, t.weight.unwrap_or(DEFAULT_WEIGHT), t.negatable),
                };
                if !(weight > 0.0 && weight <= 1.0) {
                    return Err(LexiconError::InvalidWeight {
                        section,
                        pattern: phrase,
                        weight,
                    });
                }
                let pattern = compile_one(&section, &phrase)?;
                cues.push(Cue {
                    pattern,
                    weight,
                    negatable,
                });
            }
            labels.insert(id, cues);
        }
        Ok(Lexicon {
            language,
            grammar,
            labels,
        })
    }
}

fn compile_one(section: &str, phrase: &str) -> Result<Pattern, LexiconError> {
    Pattern::compile(phrase).map_err(|reason| LexiconError::InvalidPattern {
        section: section.to_string(),
        pattern: phrase.to_string(),
        reason,
    })
}

fn compile_all(section: &str, phrases: &[String]) -> Result<Vec<Pattern>, LexiconError> {
    phrases.iter().map(|p| compile_one(section, p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(pattern: &str, text: &str) -> Option<String> {
        let p = Pattern::compile(pattern).unwrap();
        let norm = normalise(text);
        let t = &norm.text;
        t.match_indices(p.head.as_str())
            .filter(|&(s, _)| s == 0 || t.as_bytes()[s - 1] == b' ')
            .find_map(|(s, h)| p.match_rest(t, s + h.len()).map(|e| t[s..e].to_string()))
    }

    #[test]
    fn compiles_literals_stems_and_word_gaps() {
        let p = Pattern::compile("Me tuvieron * horas").unwrap_err();
        assert_eq!(p, "`*` must end a word");
        let p = Pattern::compile("esper* _ horas").unwrap();
        assert_eq!(p.head, "esper");
        assert_eq!(
            p.rest,
            vec![
                Part::Stem,
                Part::Lit(" ".into()),
                Part::Any,
                Part::Lit(" horas".into())
            ]
        );
        let p = Pattern::compile("Sigue SIN funcionar").unwrap();
        assert_eq!(p.head, "sigue sin funcionar");
        assert!(p.rest.is_empty());
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(Pattern::compile("  ").unwrap_err(), "it is empty");
        assert_eq!(
            Pattern::compile("_ horas").unwrap_err(),
            "a pattern cannot start with `_`"
        );
        assert_eq!(
            Pattern::compile("es*").unwrap_err(),
            "a stem before `*` needs at least 3 letters"
        );
        assert_eq!(
            Pattern::compile("esp*era").unwrap_err(),
            "`*` may only end a word"
        );
        assert_eq!(
            Pattern::compile("* hola").unwrap_err(),
            "`*` must end a word"
        );
    }

    #[test]
    fn matches_whole_words_only() {
        assert_eq!(
            find("espera", "la espera fue eterna").as_deref(),
            Some("espera")
        );
        assert_eq!(find("espera", "me desespera"), None);
        assert_eq!(find("espera", "esperanza"), None);
        assert_eq!(
            find("esper*", "esperando horas").as_deref(),
            Some("esperando")
        );
        assert_eq!(
            find("esper* _ horas", "Esperé DOS horas!").as_deref(),
            Some("espere dos horas")
        );
        assert_eq!(find("esper* _ horas", "esperé horas"), None);
        assert_eq!(find("didn't", "I didnt get it").as_deref(), Some("didnt"));
        assert_eq!(find("😡", "pésimo😡😡").as_deref(), Some("😡"));
    }

    #[test]
    fn parses_a_lexicon_with_weights() {
        let lex = Lexicon::parse(
            r#"
            language = "PT"
            [grammar]
            negators = ["não", "nem"]
            negation_window = 4
            [labels.long_wait]
            cues = ["demorou demais", { cue = "demor*", weight = 0.4 }, { cue = "de novo", negatable = false }]
            [labels.my_product]
            cues = ["cartão black"]
            "#,
        )
        .unwrap();
        assert_eq!(lex.language, LexiconLanguage::Pt);
        assert_eq!(lex.grammar.negators[0].head, "nao");
        assert_eq!(lex.grammar.negation_window, Some(4));
        let wait = &lex.labels["long_wait"];
        assert_eq!(wait[0].weight, DEFAULT_WEIGHT);
        assert_eq!(wait[1].weight, 0.4);
        assert!(wait[1].negatable);
        assert_eq!(wait[2].weight, DEFAULT_WEIGHT);
        assert!(!wait[2].negatable);
        assert_eq!(lex.labels["my_product"][0].pattern.head, "cartao black");
    }

    #[test]
    fn reports_what_is_wrong() {
        let err = |src: &str| Lexicon::parse(src).unwrap_err().to_string();
        assert!(err("language = 'fr'").contains("unknown lexicon language `fr`"));
        assert!(err("language = 'es'\n[labels.Bad-Id]\ncues = ['x']").contains("`Bad-Id`"));
        assert!(err("language = 'es'\n[labels.x]\ncues = []").contains("label `x` has no cues"));
        assert!(
            err("language = 'es'\n[labels.x]\ncues = [{ cue = 'a', weight = 1.5 }]")
                .contains("weight 1.5")
        );
        assert!(err("language = 'es'\n[labels.x]\ncues = ['ab*']")
            .contains("invalid pattern `ab*` in labels.x"));
        assert!(
            err("language = 'es'\n[grammar]\nnegation_window = 0").contains("negation_window 0")
        );
        assert!(err("language = 'es'\n[grammar]\nnegatorz = []").contains("invalid lexicon file"));
        assert!(err("language = 'es'\n[labels.x]\ncues = [3]").contains("invalid lexicon file"));
    }
}
