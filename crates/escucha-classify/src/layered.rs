//! The layered engine: a multilingual sentence encoder, multi-label heads
//! trained by the project (`escucha train`) with calibrated confidences, and
//! the cue engine on top. A label is emitted when its head decides so, or
//! when the cue engine is sure of it (confidence ≥ [`CUE_SURE`]); evidence
//! comes from the cues, or is the whole text for a head-only label.

use crate::engine::CueClassifier;
use escucha_core::{Classification, Classifier, Label, Language, Span, TextInput};
use escucha_embed::{SentenceEncoder, UseEncoder};
use escucha_heads::Heads;
use std::path::{Path, PathBuf};

/// Cue confidence from which a cue label is emitted even if its head
/// disagrees.
pub const CUE_SURE: f32 = 0.75;

/// Calibrated probability below which a head's positive decision is not
/// emitted on its own. The heads' thresholds maximise F1 per label on
/// their training folds; on a held-out part of the training data
/// (`escucha train --validate`) a floor of 0.4 raised macro-F1 (emotions
/// 0.663 → 0.699, themes 0.664 → 0.672) by cutting false positives of
/// frequent labels.
pub const MIN_HEAD_PROBABILITY: f32 = 0.4;

/// Errors loading the layered engine.
#[derive(Debug, thiserror::Error)]
pub enum LayeredError {
    #[error(transparent)]
    Encoder(#[from] escucha_embed::EmbedError),
    #[error("heads {path}: {source} (train them with `escucha train`)")]
    Heads {
        path: PathBuf,
        source: escucha_heads::HeadsError,
    },
}

/// Where `escucha train` writes the heads: `<models>/heads/`.
pub fn default_heads_dir() -> PathBuf {
    escucha_embed::default_model_dir()
        .parent()
        .map(|p| p.join("heads"))
        .unwrap_or_else(|| PathBuf::from("heads"))
}

/// Encoder + heads + cues.
pub struct LayeredClassifier {
    encoder: Box<dyn SentenceEncoder>,
    emotions: Heads,
    themes: Heads,
    cues: CueClassifier,
    engine: String,
    custom: crate::CustomHandle,
}

impl LayeredClassifier {
    /// Loads the encoder from `model_dir` and `emotions.json` and
    /// `themes.json` from `heads_dir`. The encoder uses
    /// `ESCUCHA_ENCODER_THREADS` threads per inference (default 1: the
    /// pipeline already runs one classification thread per core).
    pub fn load(model_dir: &Path, heads_dir: &Path) -> Result<LayeredClassifier, LayeredError> {
        let threads = std::env::var("ESCUCHA_ENCODER_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1);
        let options = escucha_embed::EncoderOptions {
            intra_threads: threads,
            ..Default::default()
        };
        let encoder = UseEncoder::load_with(model_dir, options)?;
        LayeredClassifier::with_encoder(Box::new(encoder), heads_dir)
    }

    /// Loads `emotions.json` and `themes.json` from `heads_dir` for any
    /// encoder; heads trained on another encoder are refused.
    pub fn with_encoder(
        encoder: Box<dyn SentenceEncoder>,
        heads_dir: &Path,
    ) -> Result<LayeredClassifier, LayeredError> {
        let load = |name: &str| {
            let path = heads_dir.join(name);
            Heads::load(&path)
                .and_then(|h| {
                    h.check_encoder(encoder.version(), encoder.dimension())
                        .map(|_| h)
                })
                .map_err(|source| LayeredError::Heads { path, source })
        };
        let emotions = load("emotions.json")?;
        let themes = load("themes.json")?;
        Ok(LayeredClassifier::from_parts(encoder, emotions, themes))
    }

    /// An engine from an encoder and heads already in memory (used to
    /// validate freshly trained heads before they are saved).
    pub fn from_parts(
        encoder: Box<dyn SentenceEncoder>,
        emotions: Heads,
        themes: Heads,
    ) -> LayeredClassifier {
        let engine = format!(
            "{}+heads-{}+{}",
            encoder.version(),
            &emotions.training_data_hash()[..8.min(emotions.training_data_hash().len())],
            crate::ENGINE
        );
        LayeredClassifier {
            encoder,
            emotions,
            themes,
            cues: CueClassifier::builtin(),
            engine,
            custom: crate::empty_custom_handle(),
        }
    }

    pub fn encoder(&self) -> &dyn SentenceEncoder {
        self.encoder.as_ref()
    }

    /// Matches the custom themes in `custom` too (swap its content to reload).
    pub fn with_custom(mut self, custom: crate::CustomHandle) -> LayeredClassifier {
        self.custom = custom;
        self
    }

    /// `sentences` holds, for a text of several sentences, each sentence's
    /// span and embedding: a label that only its head found gets the
    /// sentence that drives it most as evidence, instead of the whole text.
    fn combine(
        &self,
        input: TextInput<'_>,
        embedding: Option<&[f32]>,
        sentences: &[(Span, &[f32])],
    ) -> Classification {
        let cues = self.cues.classify(input);
        let whole = Span::new(0, input.text.chars().count());
        let driving_sentence = |heads: &Heads, label: &str| -> Span {
            sentences
                .iter()
                .filter_map(|(span, e)| {
                    let p = heads
                        .predict(e)
                        .ok()?
                        .into_iter()
                        .find(|p| p.label == label)?
                        .probability;
                    Some((*span, p))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(whole, |(span, _)| span)
        };
        let merge = |heads: &Heads, cue_labels: &[Label]| -> Vec<Label> {
            let mut out: Vec<Label> = Vec::new();
            let predictions = embedding
                .and_then(|e| heads.predict(e).ok())
                .unwrap_or_default();
            for p in &predictions {
                let cue = cue_labels.iter().find(|c| c.label == p.label);
                let emitted = (p.decision && p.probability >= MIN_HEAD_PROBABILITY)
                    || cue.is_some_and(|c| c.confidence >= CUE_SURE);
                if emitted {
                    out.push(Label {
                        label: p.label.to_string(),
                        confidence: cue.map_or(p.probability, |c| c.confidence.max(p.probability)),
                        evidence: cue.map_or_else(
                            || vec![driving_sentence(heads, p.label)],
                            |c| c.evidence.clone(),
                        ),
                    });
                }
            }
            // Cue labels the heads do not know (custom themes) pass through.
            for c in cue_labels {
                if !predictions.iter().any(|p| p.label == c.label) {
                    out.push(c.clone());
                }
            }
            out.sort_by(|a, b| {
                b.confidence
                    .total_cmp(&a.confidence)
                    .then_with(|| a.label.cmp(&b.label))
            });
            out
        };
        let mut themes = merge(&self.themes, &cues.themes);
        let hint = input
            .language
            .or(Some(cues.language))
            .filter(|l| *l != Language::Other);
        for label in crate::current(&self.custom).classify(input.text, hint, embedding) {
            if !themes.iter().any(|t| t.label == label.label) {
                themes.push(label);
            }
        }
        Classification {
            language: cues.language,
            emotions: merge(&self.emotions, &cues.emotions),
            themes,
            engine: self.engine.clone(),
        }
    }
}

impl Classifier for LayeredClassifier {
    fn engine(&self) -> &str {
        &self.engine
    }

    fn classify(&self, input: TextInput<'_>) -> Classification {
        self.classify_batch(&[input])
            .pop()
            .expect("one result per input")
    }

    fn classify_batch(&self, inputs: &[TextInput<'_>]) -> Vec<Classification> {
        let texts: Vec<&str> = inputs.iter().map(|i| i.text).collect();
        // Without an embedding (encoder failure) only the cues speak.
        let Ok(embeddings) = self.encoder.embed(&texts) else {
            return inputs
                .iter()
                .map(|i| self.finish(*i, self.combine(*i, None, &[])))
                .collect();
        };
        let mut results: Vec<Classification> = inputs
            .iter()
            .zip(&embeddings)
            .map(|(i, e)| self.combine(*i, Some(e), &[]))
            .collect();
        // Texts of several sentences where a head alone found a label: embed
        // their sentences (in one call) to point the evidence at one of them.
        let mut pending: Vec<(usize, Vec<Span>)> = Vec::new();
        for (k, (input, c)) in inputs.iter().zip(&results).enumerate() {
            let whole = vec![Span::new(0, input.text.chars().count())];
            if c.emotions
                .iter()
                .chain(&c.themes)
                .any(|l| l.evidence == whole)
            {
                let spans = sentences(input.text);
                if spans.len() > 1 {
                    pending.push((k, spans));
                }
            }
        }
        if !pending.is_empty() {
            let parts: Vec<&str> = pending
                .iter()
                .flat_map(|(k, spans)| spans.iter().map(|s| s.slice(inputs[*k].text)))
                .collect();
            if let Ok(vectors) = self.encoder.embed(&parts) {
                let mut vectors = vectors.iter();
                for (k, spans) in &pending {
                    let own: Vec<(Span, &[f32])> = spans
                        .iter()
                        .zip(vectors.by_ref())
                        .map(|(s, v)| (*s, v.as_slice()))
                        .collect();
                    results[*k] = self.combine(inputs[*k], Some(&embeddings[*k]), &own);
                }
            }
        }
        inputs
            .iter()
            .zip(results)
            .map(|(i, c)| self.finish(*i, c))
            .collect()
    }
}

impl LayeredClassifier {
    /// The declared language wins over the detected one.
    fn finish(&self, input: TextInput<'_>, mut c: Classification) -> Classification {
        if let Some(l) = input.language.filter(|l| *l != Language::Other) {
            c.language = l;
        }
        c
    }
}

/// Sentences of a text as character spans, split after `.`, `!`, `?` or `…`
/// followed by white space, and at line breaks; surrounding white space is
/// left out and empty pieces are dropped.
pub fn sentences(text: &str) -> Vec<Span> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let push = |out: &mut Vec<Span>, from: usize, to: usize| {
        let mut a = from;
        let mut b = to;
        while a < b && chars[a].is_whitespace() {
            a += 1;
        }
        while b > a && chars[b - 1].is_whitespace() {
            b -= 1;
        }
        if b > a {
            out.push(Span::new(a, b));
        }
    };
    for i in 0..chars.len() {
        let c = chars[i];
        let end_mark = matches!(c, '.' | '!' | '?' | '…')
            && chars.get(i + 1).is_some_and(|n| n.is_whitespace());
        if c == '\n' || end_mark {
            push(&mut out, start, i + 1);
            start = i + 1;
        }
    }
    push(&mut out, start, chars.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_with_character_spans() {
        let text = "Esperé una hora… ¡Nadie atendió! Al final, la agente Ana lo resolvió.\nGracias";
        let parts: Vec<&str> = sentences(text).iter().map(|s| s.slice(text)).collect();
        assert_eq!(
            parts,
            vec![
                "Esperé una hora…",
                "¡Nadie atendió!",
                "Al final, la agente Ana lo resolvió.",
                "Gracias"
            ]
        );
        assert_eq!(sentences("Precio 1.500, ok"), vec![Span::new(0, 16)]);
        assert!(sentences("   ").is_empty());
    }
}
