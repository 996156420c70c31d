//! Labelled examples: loading, validation, the deterministic train/dev split
//! and the content fingerprint stored with trained heads.

use escucha_core::{taxonomy, Language};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;

/// Which of an example's label lists a head is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    /// The customer emotions of [`taxonomy::EMOTIONS`].
    Emotions,
    /// Process-gap themes: the built-in [`taxonomy::THEMES`] plus custom ones.
    Themes,
}

impl LabelKind {
    /// The built-in label ids of this kind, in taxonomy order.
    pub fn builtin_ids(self) -> Vec<String> {
        let ids: &[&str] = match self {
            LabelKind::Emotions => &taxonomy::EMOTIONS,
            LabelKind::Themes => &taxonomy::THEMES,
        };
        ids.iter().map(|s| s.to_string()).collect()
    }
}

impl fmt::Display for LabelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LabelKind::Emotions => "emotions",
            LabelKind::Themes => "themes",
        })
    }
}

/// One labelled text. An example with no emotions is emotionally neutral;
/// one with no themes shows no process gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    pub lang: Language,
    #[serde(default)]
    pub emotions: Vec<String>,
    #[serde(default)]
    pub themes: Vec<String>,
}

impl Example {
    /// The label list of the given kind.
    pub fn labels(&self, kind: LabelKind) -> &[String] {
        match kind {
            LabelKind::Emotions => &self.emotions,
            LabelKind::Themes => &self.themes,
        }
    }

    /// Checks the example and puts its labels in canonical form (duplicates
    /// removed, first occurrence kept). Emotions must be taxonomy ids; themes
    /// must be well-formed label ids (custom themes are allowed) and must not
    /// be emotions.
    pub fn validate(&mut self) -> Result<(), String> {
        if self.text.trim().is_empty() {
            return Err("empty text".into());
        }
        for e in &self.emotions {
            if !taxonomy::is_emotion(e) {
                return Err(format!(
                    "unknown emotion `{e}`; expected one of: {}",
                    taxonomy::EMOTIONS.join(", ")
                ));
            }
        }
        for t in &self.themes {
            if taxonomy::is_emotion(t) {
                return Err(format!("`{t}` is an emotion, not a theme"));
            }
            if !taxonomy::is_valid_label_id(t) {
                return Err(format!(
                    "invalid theme id `{t}` (lowercase ascii letters, digits and `_`, starting with a letter)"
                ));
            }
        }
        dedup_in_place(&mut self.emotions);
        dedup_in_place(&mut self.themes);
        Ok(())
    }
}

fn dedup_in_place(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
}

/// A dataset could not be read or a line of it is invalid.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// `origin` is the file path, or `<input>` for in-memory text; `line` is
    /// 1-based.
    #[error("{origin}:{line}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        message: String,
    },
}

/// One JSON line as written by annotators: `lang` accepts tags such as
/// `es-MX` or `pt_BR`; anything other than Spanish, Portuguese or English is
/// [`Language::Other`].
#[derive(Deserialize)]
struct RawExample {
    text: String,
    lang: String,
    #[serde(default)]
    emotions: Vec<String>,
    #[serde(default)]
    themes: Vec<String>,
}

/// The two parts of a [`Dataset::split`].
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Dataset,
    pub dev: Dataset,
}

/// The default share of examples that [`Dataset::split`] sends to dev.
pub const DEFAULT_DEV_FRACTION: f64 = 0.2;

/// An ordered collection of labelled examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Dataset {
    examples: Vec<Example>,
}

impl Dataset {
    /// Builds a dataset, validating every example (see [`Example::validate`]).
    /// Errors name the 1-based position of the offending example.
    pub fn new(examples: Vec<Example>) -> Result<Dataset, DatasetError> {
        let mut examples = examples;
        for (i, ex) in examples.iter_mut().enumerate() {
            ex.validate().map_err(|message| DatasetError::Invalid {
                origin: "<examples>".into(),
                line: i + 1,
                message,
            })?;
        }
        Ok(Dataset { examples })
    }

    /// Reads a JSON-lines file (`{"text","lang","emotions":[...],"themes":[...]}`
    /// per line; blank lines are skipped).
    pub fn load_jsonl(path: impl AsRef<Path>) -> Result<Dataset, DatasetError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Dataset::parse_jsonl(&text, &path.display().to_string())
    }

    /// Parses JSON lines from memory; `origin` names the source in errors.
    pub fn parse_jsonl(text: &str, origin: &str) -> Result<Dataset, DatasetError> {
        let mut examples = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let invalid = |message: String| DatasetError::Invalid {
                origin: origin.to_string(),
                line: i + 1,
                message,
            };
            let raw: RawExample =
                serde_json::from_str(line).map_err(|e| invalid(format!("invalid JSON: {e}")))?;
            let mut ex = Example {
                text: raw.text,
                lang: Language::from_tag(&raw.lang),
                emotions: raw.emotions,
                themes: raw.themes,
            };
            ex.validate().map_err(invalid)?;
            examples.push(ex);
        }
        Ok(Dataset { examples })
    }

    /// Writes the dataset as JSON lines, one example per line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for ex in &self.examples {
            out.push_str(&serde_json::to_string(ex).expect("examples serialize"));
            out.push('\n');
        }
        out
    }

    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Example> {
        self.examples.iter()
    }

    /// The texts, in order (what an encoder embeds).
    pub fn texts(&self) -> Vec<&str> {
        self.examples.iter().map(|e| e.text.as_str()).collect()
    }

    /// Appends the examples of `other`.
    pub fn extend(&mut self, other: Dataset) {
        self.examples.extend(other.examples);
    }

    /// One row per example, one column per id in `label_ids`: whether the
    /// example carries that label. This is the target matrix for training.
    pub fn label_matrix(&self, kind: LabelKind, label_ids: &[String]) -> Vec<Vec<bool>> {
        self.examples
            .iter()
            .map(|ex| {
                let labels = ex.labels(kind);
                label_ids.iter().map(|id| labels.contains(id)).collect()
            })
            .collect()
    }

    /// How many examples carry each id in `label_ids`.
    pub fn label_counts(&self, kind: LabelKind, label_ids: &[String]) -> Vec<usize> {
        label_ids
            .iter()
            .map(|id| {
                self.examples
                    .iter()
                    .filter(|ex| ex.labels(kind).contains(id))
                    .count()
            })
            .collect()
    }

    /// Splits into train and dev by a stable hash of each normalised text
    /// (see [`is_dev_text`]): the same text, whatever its case or spacing,
    /// always lands in the same part, in every run and on every machine, so
    /// duplicates never leak from train into dev. Order is preserved within
    /// each part. `dev_fraction` is clamped to `[0, 1]`.
    pub fn split(&self, dev_fraction: f64) -> Split {
        let (dev, train): (Vec<Example>, Vec<Example>) = self
            .examples
            .iter()
            .cloned()
            .partition(|ex| is_dev_text(&ex.text, dev_fraction));
        Split {
            train: Dataset { examples: train },
            dev: Dataset { examples: dev },
        }
    }

    /// SHA-256 (hex) of the dataset's content: texts, languages and labels
    /// (label order does not matter, example order does). Stored with trained
    /// heads to record what they were trained on.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for ex in &self.examples {
            let mut emotions: Vec<&str> = ex.emotions.iter().map(String::as_str).collect();
            let mut themes: Vec<&str> = ex.themes.iter().map(String::as_str).collect();
            emotions.sort_unstable();
            themes.sort_unstable();
            hasher.update(ex.text.as_bytes());
            hasher.update([0x1f]);
            hasher.update(ex.lang.as_str().as_bytes());
            hasher.update([0x1f]);
            hasher.update(emotions.join(",").as_bytes());
            hasher.update([0x1f]);
            hasher.update(themes.join(",").as_bytes());
            hasher.update([0x1e]);
        }
        hex::encode(hasher.finalize())
    }
}

impl From<Dataset> for Vec<Example> {
    fn from(d: Dataset) -> Vec<Example> {
        d.examples
    }
}

impl<'a> IntoIterator for &'a Dataset {
    type Item = &'a Example;
    type IntoIter = std::slice::Iter<'a, Example>;
    fn into_iter(self) -> Self::IntoIter {
        self.examples.iter()
    }
}

/// The form of a text the split hashes: lowercase, with runs of whitespace
/// collapsed to one space and no leading or trailing whitespace.
pub fn normalise_text(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A number in `[0, 1)` fixed by the normalised text: the first 8 bytes of
/// its SHA-256, as a fraction of 2^64.
pub fn split_bucket(text: &str) -> f64 {
    let digest = Sha256::digest(normalise_text(text).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // 53 high bits give an exactly representable fraction below 1.
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether `text` belongs to the dev part of a split with `dev_fraction`.
pub fn is_dev_text(text: &str, dev_fraction: f64) -> bool {
    split_bucket(text) < dev_fraction.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str) -> Example {
        Example {
            text: text.into(),
            lang: Language::Es,
            emotions: vec![],
            themes: vec![],
        }
    }

    #[test]
    fn parses_jsonl_and_normalises_language_tags() {
        let input = r#"{"text":"Gracias por todo","lang":"es-MX","emotions":["gratitude","gratitude"],"themes":[]}

{"text":"Esperei duas horas","lang":"pt_BR","themes":["long_wait"]}
{"text":"Bonjour","lang":"fr"}
"#;
        let d = Dataset::parse_jsonl(input, "mem").unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.examples()[0].lang, Language::Es);
        assert_eq!(d.examples()[0].emotions, vec!["gratitude".to_string()]);
        assert_eq!(d.examples()[1].lang, Language::Pt);
        assert_eq!(d.examples()[1].themes, vec!["long_wait".to_string()]);
        assert!(d.examples()[1].emotions.is_empty());
        assert_eq!(d.examples()[2].lang, Language::Other);
    }

    #[test]
    fn errors_name_the_line() {
        let input = "{\"text\":\"ok\",\"lang\":\"en\"}\n\n{\"text\":\"bad\",\"lang\":\"en\",\"emotions\":[\"joy\"]}\n";
        let err = Dataset::parse_jsonl(input, "data.jsonl").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("data.jsonl:3: unknown emotion `joy`"),
            "{msg}"
        );

        let err = Dataset::parse_jsonl("{\"text\":\"x\"", "f").unwrap_err();
        assert!(err.to_string().starts_with("f:1: invalid JSON"), "{err}");

        let err = Dataset::parse_jsonl(
            "{\"text\":\"a\",\"lang\":\"en\"}\n{\"text\":\"  \",\"lang\":\"en\"}",
            "f",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "f:2: empty text");

        let err = Dataset::parse_jsonl(r#"{"text":"a","lang":"en","themes":["anger"]}"#, "f")
            .unwrap_err();
        assert!(err.to_string().contains("is an emotion"), "{err}");
        let err = Dataset::parse_jsonl(r#"{"text":"a","lang":"en","themes":["Long-Wait"]}"#, "f")
            .unwrap_err();
        assert!(err.to_string().contains("invalid theme id"), "{err}");
    }

    #[test]
    fn custom_themes_are_accepted() {
        let d = Dataset::parse_jsonl(
            r#"{"text":"the promo code failed","lang":"en","themes":["promo_code","unresolved"]}"#,
            "f",
        )
        .unwrap();
        let ids = vec!["unresolved".to_string(), "promo_code".to_string()];
        assert_eq!(
            d.label_matrix(LabelKind::Themes, &ids),
            vec![vec![true, true]]
        );
    }

    #[test]
    fn jsonl_round_trips() {
        let input = r#"{"text":"Obrigado","lang":"pt","emotions":["gratitude"],"themes":[]}"#;
        let d = Dataset::parse_jsonl(input, "f").unwrap();
        let again = Dataset::parse_jsonl(&d.to_jsonl(), "f").unwrap();
        assert_eq!(d, again);
        assert_eq!(d.fingerprint(), again.fingerprint());
    }

    #[test]
    fn split_is_stable_normalised_and_close_to_the_fraction() {
        let texts: Vec<String> = (0..5000)
            .map(|i| format!("cliente {i} esperando respuesta"))
            .collect();
        let d = Dataset::new(texts.iter().map(|t| ex(t)).collect()).unwrap();
        let s1 = d.split(DEFAULT_DEV_FRACTION);
        let s2 = d.split(DEFAULT_DEV_FRACTION);
        assert_eq!(s1, s2);
        assert_eq!(s1.train.len() + s1.dev.len(), 5000);
        let share = s1.dev.len() as f64 / 5000.0;
        // Binomial(5000, 0.2) has a standard deviation of 0.0057.
        assert!((share - 0.2).abs() < 0.03, "dev share {share}");

        // Case and spacing do not move a text between parts.
        for t in texts.iter().take(200) {
            let variant = format!("  {}  ", t.to_uppercase().replace(' ', "   "));
            assert_eq!(is_dev_text(t, 0.2), is_dev_text(&variant, 0.2));
        }
        // A text in dev at 20 % is also in dev at 30 % (buckets are nested).
        for t in &texts {
            if is_dev_text(t, 0.2) {
                assert!(is_dev_text(t, 0.3));
            }
        }
        assert!(d.split(0.0).dev.is_empty());
        assert!(d.split(1.0).train.is_empty());
    }

    #[test]
    fn split_bucket_is_a_fixed_function_of_the_text() {
        // Pinned so that a change of hash or normalisation, which would
        // silently reshuffle every dataset's dev part, fails loudly.
        let b = split_bucket("Hola, ¿me ayudan?");
        assert_eq!(b, split_bucket("hola,   ¿ME AYUDAN?"));
        let digest = Sha256::digest("hola, ¿me ayudan?".as_bytes());
        let expected = (u64::from_be_bytes(digest[..8].try_into().unwrap()) >> 11) as f64
            / (1u64 << 53) as f64;
        assert_eq!(b, expected);
        assert!((0.0..1.0).contains(&b));
    }

    #[test]
    fn fingerprint_depends_on_content_not_label_order() {
        let mut a = ex("no entiendo la factura");
        a.emotions = vec!["confusion".into(), "frustration".into()];
        let mut b = a.clone();
        b.emotions.reverse();
        let da = Dataset::new(vec![a.clone()]).unwrap();
        let db = Dataset::new(vec![b]).unwrap();
        assert_eq!(da.fingerprint(), db.fingerprint());
        let mut c = a;
        c.lang = Language::Pt;
        assert_ne!(
            da.fingerprint(),
            Dataset::new(vec![c]).unwrap().fingerprint()
        );
        assert_eq!(da.fingerprint().len(), 64);
    }
}
