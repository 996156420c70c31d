//! Language detection for customer texts.
//!
//! Two signals are combined:
//!
//! * **whatlang** trigram detection, restricted to a whitelist: the three
//!   languages escucha classifies natively (es, pt, en) plus the neighbours
//!   they are most often confused with (fr, it, de, nl, ca), so that a French
//!   or Italian text is reported as [`Language::Other`] instead of being
//!   forced into one of the three;
//! * **word voting**: frequent function words, contact-center vocabulary and
//!   informal spellings that are distinctive of one language (`q`, `xq`,
//!   `ahorita`, `vcs`, `obg`, `thx`…), plus letters only one of the languages
//!   uses (`ñ`, `¿`, `¡` for Spanish; `ã`, `õ`, `ç`, `ê`, `ô` for Portuguese).
//!
//! Trigram statistics need text to work with, so for very short texts (up to
//! four words) a decisive vote wins, and without one only a reliable whatlang
//! answer counts; for longer texts whatlang wins when it is reliable. Texts
//! without letters (emoji only, numbers) are `Other`, and so are a few words
//! that neither signal points to (`ok`, a product name).

use crate::normalise::{normalise, Normalized, TokenKind};
use escucha_core::Language;
use std::collections::HashMap;
use std::sync::OnceLock;
use whatlang::{Detector, Lang};

/// Texts with at most this many words are "short": voting decides them.
const SHORT_WORDS: usize = 4;

/// Distinctive words, as written (they are normalised when the table is
/// built). Each vote is worth 1.
#[rustfmt::skip]
const ES_WORDS: &[&str] = &[
    "el", "los", "las", "del", "es", "son", "está", "están", "estoy", "estaba", "muy", "pero",
    "y", "con", "una", "un", "unos", "otra", "otro", "vez", "veces", "gracias", "hola", "la",
    "ayuda", "servicio", "atención", "mal", "usted", "ustedes", "ya", "q", "xq", "porq", "tmb",
    "también", "ahora", "ahorita", "hace", "llevo", "tengo", "tienen", "quiero", "puedo",
    "pueden", "siempre", "mucho", "mucha", "muchas", "muchos", "bueno", "buena", "buen",
    "después", "todavía", "aún", "sigue", "hoy", "ayer", "mañana", "hay", "fue", "fueron",
    "han", "mi", "mis", "su", "sus", "le", "les", "lo", "qué", "cómo", "dónde", "señor",
    "señora", "vos", "che", "vale", "vaya", "tío", "cuenta", "llamé", "llamada", "llamar",
    "respuesta", "nadie", "sí", "ni", "sin", "pues", "bien", "dinero", "tarjeta", "factura",
    "asesor", "ejecutivo", "colgaron", "resolvieron", "solución", "semanas", "otra vez",
    "ningún", "ninguna", "había", "tuve", "hicieron", "dijeron", "no funciona", "no me",
    "no se", "no puedo", "no hay", "no tengo", "no sé", "no es",
];

#[rustfmt::skip]
const PT_WORDS: &[&str] = &[
    "não", "nao", "vc", "vcs", "você", "vocês", "obrigado", "obrigada", "obg", "brigado",
    "brigada", "muito", "muita", "muitos", "mto", "também", "ótimo", "ótima", "otimo",
    "atendimento", "atendente", "atendentes", "demorou", "demais", "ninguém", "ninguem",
    "resolve", "resolveram", "resolvido", "estou", "isso", "isto", "agora", "ainda", "com",
    "uma", "um", "do", "da", "dos", "das", "na", "pra", "pelo", "pela", "meu", "minha",
    "seu", "sua", "eles", "ela", "ele", "foi", "são", "estão", "tem", "tenho", "fazer", "fiz",
    "quando", "onde", "serviço", "ligação", "liguei", "ligar", "ligaram", "ou", "hoje",
    "ontem", "amanhã", "vezes", "valeu", "oi", "olá", "bom", "boa", "cartão", "fatura",
    "cobrança", "galera", "né", "pois", "então", "mais", "bem", "sempre", "nem", "sem",
    "depois", "melhor", "pior", "nenhum", "nenhuma", "de novo", "vou", "consegui", "preciso",
    "vcs são", "nunca mais", "ficou", "fiquei", "cadê", "nossa", "nessa", "nesse", "nesta",
    "neste", "dessa", "desse", "loja", "deixaram", "agência", "aplicativo", "ligou",
];

#[rustfmt::skip]
const EN_WORDS: &[&str] = &[
    "the", "and", "to", "is", "was", "were", "are", "i", "im", "you", "your", "my", "it",
    "its", "this", "that", "with", "for", "of", "on", "in", "at", "not", "dont", "didnt",
    "cant", "wont", "doesnt", "have", "has", "had", "be", "been", "very", "thanks", "thank",
    "thx", "ty", "tks", "lot", "a lot", "great", "good", "bad", "service", "customer", "help",
    "please", "pls", "plz", "what", "why", "how", "when", "who", "still", "again", "hours",
    "minutes", "call", "called", "waiting", "wait", "hold", "agent", "they", "them", "their",
    "we", "us", "our", "from", "just", "but", "if", "or", "would", "could", "should", "will",
    "can", "get", "got", "website", "phone", "really", "love", "hate", "omg", "wtf", "nobody",
    "never", "awesome", "guys", "an", "do", "did", "there",
];

/// Words shared by Spanish and Portuguese: half a vote to each.
#[rustfmt::skip]
const ES_PT_WORDS: &[&str] = &[
    "que", "nada", "para", "por", "de", "cliente", "problema", "se", "te", "esperando",
    "espera", "como", "dia", "pq", "tb", "todo", "mesmo", "mismo",
];

/// Languages whatlang may answer; anything outside es/pt/en becomes `Other`.
const WHITELIST: [Lang; 8] = [
    Lang::Spa,
    Lang::Por,
    Lang::Eng,
    Lang::Fra,
    Lang::Ita,
    Lang::Deu,
    Lang::Nld,
    Lang::Cat,
];

const ES: usize = 0;
const PT: usize = 1;
const EN: usize = 2;
const LANGS: [Language; 3] = [Language::Es, Language::Pt, Language::En];

fn vote_table() -> &'static HashMap<String, [f32; 3]> {
    static TABLE: OnceLock<HashMap<String, [f32; 3]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: HashMap<String, [f32; 3]> = HashMap::new();
        let mut add = |words: &[&str], votes: [f32; 3]| {
            for w in words {
                let key = normalise(w).text;
                let entry = table.entry(key).or_insert([0.0; 3]);
                for (e, v) in entry.iter_mut().zip(votes) {
                    *e = e.max(v);
                }
            }
        };
        add(ES_WORDS, [1.0, 0.0, 0.0]);
        add(PT_WORDS, [0.0, 1.0, 0.0]);
        add(EN_WORDS, [0.0, 0.0, 1.0]);
        add(ES_PT_WORDS, [0.5, 0.5, 0.0]);
        // A word listed for two languages after normalisation (`pésimo` and
        // `péssimo` both become `pesimo`) tells nothing apart.
        table.retain(|_, v| v.iter().filter(|&&x| x >= 1.0).count() <= 1);
        table
    })
}

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| Detector::with_allowlist(WHITELIST.to_vec()))
}

/// Detects whether `text` is Spanish, Portuguese, English or something else.
///
/// Short informal texts are handled by word voting (`"q mal servicio"` is
/// Spanish, `"vcs são ótimos"` Portuguese, `"thx a lot"` English); longer ones
/// by whatlang restricted to a whitelist. Texts without letters, and texts in
/// other languages, are [`Language::Other`].
pub fn detect_language(text: &str) -> Language {
    detect_normalised(text, &normalise(text))
}

/// [`detect_language`] for a text already normalised.
pub(crate) fn detect_normalised(text: &str, norm: &Normalized) -> Language {
    let words = (0..norm.tokens.len())
        .filter(|&i| {
            norm.tokens[i].kind == TokenKind::Word
                && norm.token_text(i).chars().any(char::is_alphabetic)
        })
        .count();
    if words == 0 {
        return Language::Other;
    }
    let votes = votes(text, norm);
    let decisive = decisive(&votes);
    if words <= SHORT_WORDS {
        if let Some(l) = decisive {
            return LANGS[l];
        }
    }
    let info = detector().detect(text);
    let core = info.as_ref().and_then(|i| core_index(i.lang()));
    match (info, core) {
        // A few words nothing points to ("ok", a product name) are no language.
        (Some(info), Some(_)) if words <= SHORT_WORDS && !info.is_reliable() => Language::Other,
        (Some(info), Some(l)) => {
            if let Some(v) = decisive {
                let overwhelming = votes[v] >= 2.0 * votes[l] + 2.0;
                if v != l && (!info.is_reliable() || overwhelming) {
                    return LANGS[v];
                }
            }
            LANGS[l]
        }
        // Another whitelisted language: only a strong vote overrides it.
        (Some(_), None) => match decisive {
            Some(v) if votes[v] >= (0.3 * words as f32).max(2.0) => LANGS[v],
            _ => Language::Other,
        },
        (None, _) => decisive.map_or(Language::Other, |v| LANGS[v]),
    }
}

/// Votes per language (es, pt, en).
fn votes(text: &str, norm: &Normalized) -> [f32; 3] {
    let table = vote_table();
    let mut votes = [0.0f32; 3];
    let add = |key: &str, votes: &mut [f32; 3]| {
        if let Some(v) = table.get(key) {
            for (acc, x) in votes.iter_mut().zip(v) {
                *acc += x;
            }
        }
    };
    let words: Vec<&str> = (0..norm.tokens.len())
        .filter(|&i| norm.tokens[i].kind == TokenKind::Word)
        .map(|i| norm.token_text(i))
        .collect();
    let mut pair = String::new();
    for (i, w) in words.iter().enumerate() {
        add(w, &mut votes);
        if let Some(l) = suffix_vote(w) {
            votes[l] += 0.5;
        }
        if let Some(next) = words.get(i + 1) {
            pair.clear();
            pair.push_str(w);
            pair.push(' ');
            pair.push_str(next);
            add(&pair, &mut votes);
        }
    }
    let (mut es_marks, mut pt_marks) = (0.0f32, 0.0f32);
    for c in text.chars() {
        match c {
            'ñ' | 'Ñ' | '¿' | '¡' => es_marks += 1.0,
            'ã' | 'õ' | 'ç' | 'ê' | 'ô' | 'Ã' | 'Õ' | 'Ç' | 'Ê' | 'Ô' => pt_marks += 1.0,
            _ => {}
        }
    }
    // Standalone "é" ("is") exists in Portuguese only.
    let standalone_e = norm
        .tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Word && t.orig_end == t.orig_start + 1)
        .filter(|t| {
            text.chars()
                .nth(t.orig_start)
                .is_some_and(|c| c == 'é' || c == 'É')
        })
        .count();
    votes[ES] += es_marks.min(3.0);
    votes[PT] += pt_marks.min(3.0) + standalone_e as f32;
    votes
}

/// Spelling patterns typical of one language: verb endings (`-ieron`,
/// `-aram`), noun endings (`-ción`/`-ção`/`-tion`), digraphs (`nh`, `lh`, `th`).
fn suffix_vote(word: &str) -> Option<usize> {
    let ends = |list: &[&str]| word.len() > 5 && list.iter().any(|s| word.ends_with(s));
    if ends(ES_ENDINGS) {
        Some(ES)
    } else if ends(PT_ENDINGS) || word.contains("nh") || word.contains("lh") {
        Some(PT)
    } else if ends(EN_ENDINGS) || word.starts_with("th") {
        Some(EN)
    } else {
        None
    }
}

const ES_ENDINGS: &[&str] = &["ieron", "aron", "cion", "ciones", "dad"];
const PT_ENDINGS: &[&str] = &["cao", "coes", "aram", "eram", "iram", "dade"];
const EN_ENDINGS: &[&str] = &["tion", "tions", "ing", "ly", "ould", "ness"];

/// The language that clearly leads the vote, if any.
fn decisive(votes: &[f32; 3]) -> Option<usize> {
    let mut order = [ES, PT, EN];
    order.sort_by(|&a, &b| votes[b].total_cmp(&votes[a]));
    let (best, second) = (votes[order[0]], votes[order[1]]);
    (best >= 1.0 && best - second >= 1.0).then_some(order[0])
}

fn core_index(lang: Lang) -> Option<usize> {
    match lang {
        Lang::Spa => Some(ES),
        Lang::Por => Some(PT),
        Lang::Eng => Some(EN),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_count_words_pairs_and_letters() {
        let text = "Não consegui falar com ninguém";
        let v = votes(text, &normalise(text));
        assert!(v[PT] >= 4.0, "{v:?}");
        assert_eq!(v[EN], 0.0);
        let text = "¿Por qué nadie contesta?";
        let v = votes(text, &normalise(text));
        assert!(v[ES] > v[PT], "{v:?}");
    }

    #[test]
    fn decisive_needs_a_clear_lead() {
        assert_eq!(decisive(&[2.0, 0.5, 0.0]), Some(ES));
        assert_eq!(decisive(&[1.5, 1.0, 0.0]), None);
        assert_eq!(decisive(&[0.5, 0.0, 0.0]), None);
        assert_eq!(decisive(&[0.0, 0.0, 1.0]), Some(EN));
    }

    #[test]
    fn texts_without_letters_are_other() {
        assert_eq!(detect_language(""), Language::Other);
        assert_eq!(detect_language("🙏🙏 !!!"), Language::Other);
        assert_eq!(detect_language("12345"), Language::Other);
    }
}
