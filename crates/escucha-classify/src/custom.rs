//! Custom themes: product teams add their own themes without code, as TOML
//! files in a directory (by default `themes/`):
//!
//! ```toml
//! id = "delivery_delay"              # lowercase letters, digits and _
//! examples = [                       # a few sentences, any language
//!   "Mi pedido lleva dos semanas sin llegar",
//! ]
//! similarity = 0.6                   # optional; cosine to the closest example
//!
//! [name]                             # shown in the API and dashboards
//! es = "Retraso en la entrega"
//! pt = "Atraso na entrega"
//! en = "Delivery delay"
//!
//! [cues]                             # phrases, matched like the built-in cues
//! es = ["no llegó el pedido", "pedido atrasado"]
//! pt = ["pedido não chegou"]
//! en = ["order never arrived"]
//! ```
//!
//! A text gets the theme when one of its cues matches (evidence: the cue)
//! or, with the layered engine, when its embedding is at least `similarity`
//! close to one of the examples (evidence: the whole text) — so one Spanish
//! example also finds Portuguese and English texts.

use crate::engine::CueClassifier;
use escucha_core::{taxonomy, Classifier, Label, Language, Span, TextInput};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The current custom themes, shared by the engine and the reloader.
pub type CustomHandle = std::sync::Arc<std::sync::RwLock<std::sync::Arc<CustomThemes>>>;

/// A handle with no custom theme.
pub fn empty_custom_handle() -> CustomHandle {
    std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(
        CustomThemes::default(),
    )))
}

/// The themes currently in a handle.
pub fn current(handle: &CustomHandle) -> std::sync::Arc<CustomThemes> {
    handle
        .read()
        .map(|g| g.clone())
        .unwrap_or_else(|p| p.into_inner().clone())
}

/// The cue engine plus custom themes.
pub struct CuesWithCustom {
    pub cues: CueClassifier,
    pub custom: CustomHandle,
}

impl Classifier for CuesWithCustom {
    fn engine(&self) -> &str {
        self.cues.engine()
    }

    fn classify(&self, input: TextInput<'_>) -> escucha_core::Classification {
        let mut c = self.cues.classify(input);
        let hint = input
            .language
            .or(Some(c.language))
            .filter(|l| *l != Language::Other);
        c.themes
            .extend(current(&self.custom).classify(input.text, hint, None));
        c
    }
}

/// Turns texts into embeddings (the layered engine's encoder).
pub type Embed<'a> = &'a dyn Fn(&[String]) -> Result<Vec<Vec<f32>>, String>;

/// Default cosine similarity to an example for a match.
pub const DEFAULT_SIMILARITY: f32 = 0.6;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    id: String,
    #[serde(default)]
    name: BTreeMap<String, String>,
    #[serde(default)]
    cues: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    similarity: Option<f32>,
}

/// One custom theme as served by the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomTheme {
    pub id: String,
    /// Name per language (`es`, `pt`, `en`).
    pub name: BTreeMap<String, String>,
    pub file: PathBuf,
    pub cues: usize,
    pub examples: usize,
    pub similarity: f32,
}

/// The custom themes of a directory, ready to match texts.
#[derive(Default)]
pub struct CustomThemes {
    themes: Vec<CustomTheme>,
    cues: Option<CueClassifier>,
    /// (theme index, example embedding).
    examples: Vec<(usize, Vec<f32>)>,
}

impl std::fmt::Debug for CustomThemes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomThemes")
            .field("themes", &self.themes)
            .finish()
    }
}

const NEGATORS: &[(&str, &str)] = &[
    ("es", r#"negators = ["no", "nunca", "jamás", "sin", "ni"]"#),
    (
        "pt",
        r#"negators = ["não", "nunca", "jamais", "sem", "nem"]"#,
    ),
    (
        "en",
        r#"negators = ["not", "never", "no", "don't", "didn't", "without"]"#,
    ),
];

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|c| toml::Value::String(c.clone()).to_string())
        .collect();
    format!("[{}]", quoted.join(", "))
}

impl CustomThemes {
    /// Loads every `*.toml` file of `dir` (a missing directory means no
    /// custom theme). `embed` turns the examples into vectors when the
    /// layered engine is in use. Every problem of every file is reported.
    pub fn load_dir(dir: &Path, embed: Option<Embed<'_>>) -> Result<CustomThemes, Vec<String>> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(CustomThemes::default())
            }
            Err(e) => return Err(vec![format!("{}: {e}", dir.display())]),
        };
        files.sort();
        let mut errors = Vec::new();
        let mut parsed = Vec::new();
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(format!("{}: {e}", file.display()));
                    continue;
                }
            };
            match toml::from_str::<ThemeFile>(&text) {
                Ok(t) => {
                    let mut problems = Vec::new();
                    if !taxonomy::is_valid_label_id(&t.id) {
                        problems.push(format!(
                            "id `{}` must be lowercase letters, digits and _ (at most 64)",
                            t.id
                        ));
                    }
                    if taxonomy::is_builtin_theme(&t.id) || taxonomy::is_emotion(&t.id) {
                        problems.push(format!("id `{}` is a built-in label", t.id));
                    }
                    if parsed
                        .iter()
                        .any(|(_, p): &(PathBuf, ThemeFile)| p.id == t.id)
                    {
                        problems.push(format!("id `{}` is used by another file", t.id));
                    }
                    for lang in t.name.keys().chain(t.cues.keys()) {
                        if !["es", "pt", "en"].contains(&lang.as_str()) {
                            problems.push(format!("language `{lang}` is not one of es, pt, en"));
                        }
                    }
                    if t.cues.values().all(Vec::is_empty) && t.examples.is_empty() {
                        problems.push("needs cues or examples".into());
                    }
                    if let Some(s) = t.similarity {
                        if !(0.0..=1.0).contains(&s) {
                            problems.push(format!("similarity {s} is not in [0, 1]"));
                        }
                    }
                    if problems.is_empty() {
                        parsed.push((file, t));
                    } else {
                        errors.extend(
                            problems
                                .into_iter()
                                .map(|p| format!("{}: {p}", file.display())),
                        );
                    }
                }
                Err(e) => errors.push(format!("{}: {}", file.display(), e.to_string().trim())),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut lexicons = Vec::new();
        for (lang, negators) in NEGATORS {
            let mut doc = format!("language = \"{lang}\"\n[grammar]\n{negators}\n");
            let mut any = false;
            for (_, t) in &parsed {
                if let Some(cues) = t.cues.get(*lang).filter(|c| !c.is_empty()) {
                    doc.push_str(&format!("[labels.{}]\ncues = {}\n", t.id, toml_list(cues)));
                    any = true;
                }
            }
            if any {
                lexicons.push(doc);
            }
        }
        let cues = if lexicons.is_empty() {
            None
        } else {
            let refs: Vec<&str> = lexicons.iter().map(String::as_str).collect();
            Some(
                CueClassifier::from_lexicons(&refs)
                    .map_err(|e| vec![format!("{}: cues: {e}", dir.display())])?,
            )
        };
        let mut examples = Vec::new();
        if let Some(embed) = embed {
            for (i, (file, t)) in parsed.iter().enumerate() {
                if t.examples.is_empty() {
                    continue;
                }
                let vectors = embed(&t.examples)
                    .map_err(|e| vec![format!("{}: examples: {e}", file.display())])?;
                examples.extend(vectors.into_iter().map(|v| (i, v)));
            }
        }
        let themes = parsed
            .into_iter()
            .map(|(file, t)| CustomTheme {
                cues: t.cues.values().map(Vec::len).sum(),
                examples: t.examples.len(),
                similarity: t.similarity.unwrap_or(DEFAULT_SIMILARITY),
                id: t.id,
                name: t.name,
                file,
            })
            .collect();
        Ok(CustomThemes {
            themes,
            cues,
            examples,
        })
    }

    pub fn themes(&self) -> &[CustomTheme] {
        &self.themes
    }

    pub fn is_empty(&self) -> bool {
        self.themes.is_empty()
    }

    /// The custom themes of one text.
    pub fn classify(
        &self,
        text: &str,
        language: Option<Language>,
        embedding: Option<&[f32]>,
    ) -> Vec<Label> {
        let mut out: Vec<Label> = self
            .cues
            .as_ref()
            .map(|c| c.classify(TextInput { text, language }).themes)
            .unwrap_or_default();
        if let Some(e) = embedding {
            let mut best: BTreeMap<usize, f32> = BTreeMap::new();
            for (i, example) in &self.examples {
                let sim = escucha_embed::cosine(e, example);
                let b = best.entry(*i).or_insert(f32::MIN);
                *b = b.max(sim);
            }
            for (i, sim) in best {
                let theme = &self.themes[i];
                if sim >= theme.similarity && !out.iter().any(|l| l.label == theme.id) {
                    out.push(Label {
                        label: theme.id.clone(),
                        confidence: sim.clamp(0.0, 1.0),
                        evidence: vec![Span::new(0, text.chars().count())],
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(d.path().join(name), text).unwrap();
        }
        d
    }

    const DELIVERY: &str = r#"
id = "delivery_delay"
examples = ["Mi pedido lleva dos semanas sin llegar"]
[name]
es = "Retraso en la entrega"
en = "Delivery delay"
[cues]
es = ["no llegó el pedido", "pedido atrasado"]
en = ["order never arrived"]
"#;

    #[test]
    fn cues_of_custom_themes_match_with_evidence() {
        let d = dir_with(&[("delivery.toml", DELIVERY)]);
        let themes = CustomThemes::load_dir(d.path(), None).unwrap();
        assert_eq!(themes.themes()[0].id, "delivery_delay");
        assert_eq!(themes.themes()[0].name["es"], "Retraso en la entrega");
        let text = "Hola, no llegó el pedido y nadie responde";
        let labels = themes.classify(text, Some(Language::Es), None);
        assert_eq!(labels[0].label, "delivery_delay");
        assert_eq!(labels[0].evidence[0].slice(text), "no llegó el pedido");
        assert!(themes
            .classify("Todo perfecto, gracias", Some(Language::Es), None)
            .is_empty());
    }

    #[test]
    fn examples_match_by_embedding_similarity() {
        let d = dir_with(&[("delivery.toml", DELIVERY)]);
        // A stand-in embedding: texts about orders point one way, others another.
        let embed = |texts: &[String]| -> Result<Vec<Vec<f32>>, String> {
            Ok(texts
                .iter()
                .map(|t| {
                    if t.contains("pedido") || t.contains("encomenda") {
                        vec![1.0, 0.0]
                    } else {
                        vec![0.0, 1.0]
                    }
                })
                .collect())
        };
        let themes = CustomThemes::load_dir(d.path(), Some(&embed)).unwrap();
        let labels = themes.classify(
            "Minha encomenda ainda não chegou",
            Some(Language::Pt),
            Some(&[0.99, 0.1]),
        );
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].evidence, vec![Span::new(0, 32)]);
        assert!(themes
            .classify(
                "Minha fatura veio errada",
                Some(Language::Pt),
                Some(&[0.0, 1.0])
            )
            .is_empty());
    }

    #[test]
    fn every_problem_of_every_file_is_reported() {
        let d = dir_with(&[
            ("a.toml", "id = \"Bad Id\"\n[cues]\nfr = [\"x\"]\n"),
            ("b.toml", "id = \"long_wait\"\nexamples = [\"x\"]\n"),
            ("c.toml", "id = \"ok\"\n"),
            ("d.toml", "this is not toml"),
        ]);
        let errors = CustomThemes::load_dir(d.path(), None).unwrap_err();
        let joined = errors.join("\n");
        assert!(joined.contains("a.toml: id `Bad Id`"), "{joined}");
        assert!(joined.contains("a.toml: language `fr`"), "{joined}");
        assert!(
            joined.contains("b.toml: id `long_wait` is a built-in label"),
            "{joined}"
        );
        assert!(
            joined.contains("c.toml: needs cues or examples"),
            "{joined}"
        );
        assert!(joined.contains("d.toml:"), "{joined}");
    }

    #[test]
    fn a_missing_directory_means_no_custom_theme() {
        let themes = CustomThemes::load_dir(Path::new("/nonexistent/themes"), None).unwrap();
        assert!(themes.is_empty());
    }
}
