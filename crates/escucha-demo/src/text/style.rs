//! How a text looks once a person has typed or said it: dropped accents,
//! abbreviations, capitals when angry, emoji, spoken fillers.

use escucha_core::Language;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::rng::DemoRng;
use crate::world::Writing;

/// Removes accents (and, when `tilde_n` is false, the tilde of ñ), as
/// people typing fast on a phone do.
pub(crate) fn strip_accents(s: &str, tilde_n: bool) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'Á' | 'À' | 'Â' | 'Ã' => 'A',
            'é' | 'ê' => 'e',
            'É' | 'Ê' => 'E',
            'í' => 'i',
            'Í' => 'I',
            'ó' | 'ô' | 'õ' => 'o',
            'Ó' | 'Ô' | 'Õ' => 'O',
            'ú' | 'ü' => 'u',
            'Ú' => 'U',
            'ç' => 'c',
            'Ç' => 'C',
            'ñ' if !tilde_n => 'n',
            c => c,
        })
        .collect()
}

/// Word and phrase shortcuts per language: (written form, typed forms).
fn shortcuts(lang: Language) -> &'static [(&'static str, &'static [&'static str])] {
    match lang {
        Language::Es => &[
            ("por favor", &["porfa", "x favor", "porfavor"]),
            ("porque", &["xq", "pq", "porq"]),
            ("que", &["q", "k"]),
            ("qué", &["q", "que"]),
            ("también", &["tmb", "tb"]),
            ("mensaje", &["msj"]),
            ("para", &["pa"]),
            ("gracias", &["grax", "graciass"]),
            ("de verdad", &["dvd", "de vdd"]),
            ("nada", &["nada", "nadaa"]),
            ("hola", &["ola", "holaa"]),
            ("está", &["ta", "esta"]),
            ("estoy", &["toy"]),
        ],
        Language::Pt => &[
            ("você", &["vc", "voce"]),
            ("vocês", &["vcs", "voces"]),
            ("porque", &["pq", "pq"]),
            ("por que", &["pq"]),
            ("que", &["q", "q"]),
            ("também", &["tb", "tbm"]),
            ("muito", &["mto", "mt", "mtoo"]),
            ("não", &["nao", "n", "ñ"]),
            ("hoje", &["hj"]),
            ("mesmo", &["msm"]),
            ("obrigado", &["obg", "brigado"]),
            ("obrigada", &["obg", "brigada"]),
            ("beleza", &["blz"]),
            ("tudo", &["td"]),
            ("mensagem", &["msg"]),
            ("está", &["tá", "ta"]),
            ("estou", &["tô", "to"]),
            ("para", &["pra"]),
            ("quando", &["qdo", "qnd"]),
        ],
        _ => &[
            ("you", &["u", "ya"]),
            ("your", &["ur"]),
            ("please", &["pls", "plz"]),
            ("thanks", &["thx", "thanx"]),
            ("because", &["cuz", "bc", "coz"]),
            ("don't", &["dont"]),
            ("can't", &["cant"]),
            ("didn't", &["didnt"]),
            ("I'm", &["im", "Im"]),
            ("it's", &["its"]),
            ("going to", &["gonna"]),
            ("want to", &["wanna"]),
            ("to be honest", &["tbh"]),
            ("are", &["r"]),
            ("okay", &["ok", "k"]),
        ],
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '\''
}

/// Replaces whole words/phrases from the shortcut table with probability `p`.
fn abbreviate(rng: &mut DemoRng, s: &str, lang: Language, p: f64) -> String {
    let table = shortcuts(lang);
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    'outer: while i < s.len() {
        let at_word_start = s[..i].chars().next_back().is_none_or(|c| !is_word_char(c));
        if at_word_start {
            for (full, short) in table {
                if s.len() - i >= full.len()
                    && s.is_char_boundary(i + full.len())
                    && s[i..i + full.len()].eq_ignore_ascii_case(full)
                    && s[i + full.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !is_word_char(c))
                {
                    if rng.gen_bool(p) {
                        out.push_str(short.choose(rng).copied().unwrap_or(full));
                    } else {
                        out.push_str(&s[i..i + full.len()]);
                    }
                    i += full.len();
                    continue 'outer;
                }
            }
        }
        let Some(c) = s[i..].chars().next() else {
            break;
        };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Applies the customer's way of typing to a written text.
pub(crate) fn typed(rng: &mut DemoRng, s: &str, lang: Language, writing: Writing) -> String {
    match writing {
        Writing::Careful => s.to_string(),
        Writing::Casual => {
            let mut t = abbreviate(rng, s, lang, 0.3);
            if lang == Language::Es {
                t = t.replace(['¿', '¡'], "");
            }
            if lang != Language::En && rng.gen_bool(0.6) {
                t = strip_accents(&t, rng.gen_bool(0.7));
            }
            if rng.gen_bool(0.3) {
                t = lower_first(&t);
            }
            t
        }
        Writing::Sloppy => {
            let mut t = abbreviate(rng, s, lang, 0.6).to_lowercase();
            t = t.replace(['¿', '¡'], "");
            if lang != Language::En {
                t = strip_accents(&t, rng.gen_bool(0.4));
            }
            while t.ends_with('.') {
                t.pop();
            }
            t.replace(". ", rng.choose_str(&[" ", ", ", ". "]))
        }
    }
}

trait ChooseStr {
    fn choose_str<'a>(&mut self, options: &[&'a str]) -> &'a str;
}

impl ChooseStr for DemoRng {
    fn choose_str<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options.choose(self).copied().unwrap_or("")
    }
}

/// Lower-cases the first letter, after any opening marks.
pub(crate) fn lower_first(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut done = false;
    for ch in s.chars() {
        if !done && ch.is_alphabetic() {
            out.extend(ch.to_lowercase());
            done = true;
        } else {
            out.push(ch);
        }
    }
    out
}

/// Capitals for anger, with extra exclamation marks.
pub(crate) fn shout(s: &str) -> String {
    let mut t = s.to_uppercase();
    if t.ends_with('.') {
        t.pop();
        t.push_str("!!!");
    } else if t.ends_with('!') {
        t.push_str("!!");
    }
    t
}

/// Emoji families by mood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mood {
    Happy,
    Relieved,
    Angry,
    Fed,
    Worried,
    Puzzled,
    Ironic,
    Sad,
}

pub(crate) fn emoji(rng: &mut DemoRng, mood: Mood) -> &'static str {
    let set: &[&str] = match mood {
        Mood::Happy => &[
            "🙂",
            "😊",
            "👏",
            "🙌",
            "❤️",
            "👍",
            "💯",
            "🥰",
            "😀",
            "⭐⭐⭐⭐⭐",
        ],
        Mood::Relieved => &["😅", "🙏", "😌", "🙌", "😮‍💨"],
        Mood::Angry => &["😡", "🤬", "😠", "👎", "😡😡"],
        Mood::Fed => &["😩", "😫", "😤", "🤦", "🤦‍♀️"],
        Mood::Worried => &["😟", "😰", "🙏", "😥"],
        Mood::Puzzled => &["🤔", "😕", "🤷", "❓"],
        Mood::Ironic => &["🙃", "🙄", "👏👏", "😂"],
        Mood::Sad => &["😞", "😔", "💔"],
    };
    set.choose(rng).copied().unwrap_or("")
}

/// Spoken fillers at the start of a phone turn.
pub(crate) fn spoken(rng: &mut DemoRng, s: &str, lang: Language) -> String {
    if !rng.gen_bool(0.35) {
        return s.to_string();
    }
    let fillers: &[&str] = match lang {
        Language::Es => &[
            "Eh, ", "Este, ", "O sea, ", "Mire, ", "Bueno, ", "A ver, ", "Pues, ",
        ],
        Language::Pt => &["É... ", "Então, ", "Tipo, ", "Olha, ", "Ah, ", "Bom, "],
        _ => &["Um, ", "Uh, ", "So, ", "Well, ", "Yeah, ", "Okay, so "],
    };
    let f = fillers.choose(rng).copied().unwrap_or("");
    let keep_capital = s.starts_with("I ") || s.starts_with("I'");
    if keep_capital {
        format!("{f}{s}")
    } else {
        format!("{f}{}", lower_first(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn accents_go_and_ene_stays_when_asked() {
        assert_eq!(
            strip_accents("Está caído, señor. Atenção!", true),
            "Esta caido, señor. Atencao!"
        );
        assert_eq!(strip_accents("año", false), "ano");
    }

    #[test]
    fn abbreviations_replace_whole_words_only() {
        let mut rng = DemoRng::seed_from_u64(1);
        let t = abbreviate(
            &mut rng,
            "Você disse que vocês não querem aquele",
            Language::Pt,
            1.0,
        );
        assert!(t.starts_with("vc") || t.starts_with("voce"), "{t}");
        assert!(t.contains("aquele"), "{t}");
        assert!(!t.contains("vocês"), "{t}");
        let e = abbreviate(
            &mut rng,
            "Thanks, you are great, yourself",
            Language::En,
            1.0,
        );
        assert!(e.contains("yourself"), "{e}");
        assert!(!e.contains("Thanks"), "{e}");
    }

    #[test]
    fn careful_writers_are_left_alone_and_sloppy_ones_are_not() {
        let mut rng = DemoRng::seed_from_u64(2);
        let s = "¿Por qué me cobraron también esto? Está mal.";
        assert_eq!(typed(&mut rng, s, Language::Es, Writing::Careful), s);
        let t = typed(&mut rng, s, Language::Es, Writing::Sloppy);
        assert_eq!(t, t.to_lowercase());
        assert!(!t.contains('¿') && !t.ends_with('.'), "{t}");
    }

    #[test]
    fn shouting_adds_marks() {
        assert_eq!(shout("es el colmo."), "ES EL COLMO!!!");
        assert_eq!(shout("basta!"), "BASTA!!!");
    }
}
