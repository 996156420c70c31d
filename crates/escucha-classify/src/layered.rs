//! The layered engine: a sentence encoder (any [`SentenceEncoder`]; the
//! multilingual USE by default), multi-label heads trained by the project
//! (`escucha train`) with calibrated confidences, and the cue engine on
//! top. The heads read the text's embedding stacked with the cue engine's
//! confidences ([`stack_features`]). A label is emitted when its head
//! decides so, or when the cue engine is sure of it (confidence ≥
//! [`CUE_SURE`]); a head alone never emits a label whose every cue in the
//! text the cue engine found negated or sarcastic ("no tuve que esperar").
//! Evidence comes from the cues, or, for a label only its head found, is
//! the sentence that drives it most (texts are embedded sentence by
//! sentence, see [`embed_texts`]).

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
/// their training folds; a floor cuts false positives of frequent labels.
/// Chosen on a held-out part of the training data (`escucha train
/// --validate`, default options): floors 0.2 / 0.3 / 0.4 gave emotion
/// macro-F1 0.705 / 0.706 / 0.706 and themes 0.664 / 0.663 / 0.646.
pub const MIN_HEAD_PROBABILITY: f32 = 0.3;

/// Number of cue features appended to each embedding: one per built-in
/// emotion and theme, the cue engine's confidence for it (0 without a cue).
pub const CUE_FEATURES: usize =
    escucha_core::taxonomy::EMOTIONS.len() + escucha_core::taxonomy::THEMES.len();

/// Name of the feature layout the heads are trained on: the encoder's
/// version plus the cue engine's, so heads trained on other features (or an
/// older cue lexicon) are refused and retrained.
pub fn feature_name(encoder_version: &str) -> String {
    format!("{encoder_version}+{}", crate::ENGINE)
}

/// The heads' input: the sentence embedding followed by the cue engine's
/// confidence for every built-in emotion and theme. The cues carry what a
/// phrase list knows sharply (negation, contrast, domain phrases); the
/// heads learn how much to trust each one next to the embedding.
pub fn stack_features(embedding: &[f32], cues: &Classification) -> Vec<f32> {
    let mut out = Vec::with_capacity(embedding.len() + CUE_FEATURES);
    out.extend_from_slice(embedding);
    let ids = escucha_core::taxonomy::EMOTIONS
        .iter()
        .map(|id| (id, &cues.emotions))
        .chain(
            escucha_core::taxonomy::THEMES
                .iter()
                .map(|id| (id, &cues.themes)),
        );
    for (id, labels) in ids {
        out.push(
            labels
                .iter()
                .find(|l| l.label == *id)
                .map_or(0.0, |l| l.confidence),
        );
    }
    out
}

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
    /// pipeline already runs one classification thread per core) and
    /// `ESCUCHA_ENCODER_SESSIONS` inference sessions (default: one per
    /// core, at most 4), so that every classification thread embeds at
    /// the same time instead of waiting for one session.
    pub fn load(model_dir: &Path, heads_dir: &Path) -> Result<LayeredClassifier, LayeredError> {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| *n > 0)
        };
        let options = escucha_embed::EncoderOptions {
            intra_threads: env("ESCUCHA_ENCODER_THREADS").unwrap_or(1),
            sessions: env("ESCUCHA_ENCODER_SESSIONS")
                .unwrap_or_else(escucha_embed::default_sessions),
            ..Default::default()
        };
        LayeredClassifier::load_with(model_dir, heads_dir, options)
    }

    /// [`LayeredClassifier::load`] with the encoder options given.
    pub fn load_with(
        model_dir: &Path,
        heads_dir: &Path,
        options: escucha_embed::EncoderOptions,
    ) -> Result<LayeredClassifier, LayeredError> {
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
                    h.check_encoder(
                        &feature_name(encoder.version()),
                        encoder.dimension() + CUE_FEATURES,
                    )
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
        let (cues, vetoed) = self.cues.classify_with_vetoes(input);
        let whole = Span::new(0, input.text.chars().count());
        let features = embedding.map(|e| stack_features(e, &cues));
        // Only needed for a label a head found alone.
        let sentence_features: std::cell::OnceCell<Vec<(Span, Vec<f32>)>> =
            std::cell::OnceCell::new();
        let driving_sentence = |heads: &Heads, label: &str| -> Span {
            sentence_features
                .get_or_init(|| {
                    sentences
                        .iter()
                        .map(|(span, e)| {
                            let own = self.cues.classify(TextInput {
                                text: span.slice(input.text),
                                language: input.language,
                            });
                            (*span, stack_features(e, &own))
                        })
                        .collect()
                })
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
            let predictions = features
                .as_deref()
                .and_then(|e| heads.predict(e).ok())
                .unwrap_or_default();
            for p in &predictions {
                let cue = cue_labels.iter().find(|c| c.label == p.label);
                // A head alone never emits a label whose every cue the cue engine
                // saw negated or sarcastic ("no tuve que esperar").
                let head = p.decision
                    && p.probability >= MIN_HEAD_PROBABILITY
                    && !vetoed.iter().any(|v| v == p.label);
                let emitted = head || cue.is_some_and(|c| c.confidence >= CUE_SURE);
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
        // Without an embedding (encoder failure) only the cues speak, and
        // the result says so.
        let embedded = match embed_texts(self.encoder.as_ref(), &texts) {
            Ok(e) => e,
            Err(e) => {
                // The error names the encoder and its step, never the texts.
                tracing::warn!(error = %e, texts = inputs.len(), "sentence encoder failed; classifying this batch with the cues alone");
                return inputs
                    .iter()
                    .map(|i| {
                        let mut c = self.combine(*i, None, &[]);
                        c.engine = crate::ENGINE.to_string();
                        self.finish(*i, c)
                    })
                    .collect();
            }
        };
        inputs
            .iter()
            .zip(&embedded)
            .map(|(i, e)| {
                let sentences: Vec<(Span, &[f32])> = e
                    .sentences
                    .iter()
                    .map(|(s, v)| (*s, v.as_slice()))
                    .collect();
                self.finish(*i, self.combine(*i, Some(&e.text), &sentences))
            })
            .collect()
    }
}

/// A text's embedding and, for a text of several sentences, each
/// sentence's span and embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    pub text: Vec<f32>,
    pub sentences: Vec<(Span, Vec<f32>)>,
}

/// Embeds texts the way the heads see them: a text of one sentence as it
/// is; a text of several sentences sentence by sentence, the text's vector
/// being the normalised mean of its sentences'. One encoder pass thus
/// gives both what the heads classify and, for a label only a head found,
/// the sentence that drives it (its evidence), at the cost of embedding
/// the text once.
pub fn embed_texts(
    encoder: &dyn SentenceEncoder,
    texts: &[&str],
) -> Result<Vec<Embedded>, escucha_embed::EmbedError> {
    let split: Vec<Vec<Span>> = texts.iter().map(|t| sentences(t)).collect();
    let parts: Vec<&str> = texts
        .iter()
        .zip(&split)
        .flat_map(|(t, spans)| -> Vec<&str> {
            if spans.len() > 1 {
                spans.iter().map(|s| s.slice(t)).collect()
            } else {
                vec![*t]
            }
        })
        .collect();
    let vectors = encoder.embed(&parts)?;
    if vectors.len() != parts.len() {
        return Err(escucha_embed::EmbedError::Backend(format!(
            "the encoder returned {} embeddings for {} texts",
            vectors.len(),
            parts.len()
        )));
    }
    let mut vectors = vectors.into_iter();
    let mut out = Vec::with_capacity(texts.len());
    for spans in split {
        if spans.len() > 1 {
            let own: Vec<(Span, Vec<f32>)> = spans.into_iter().zip(vectors.by_ref()).collect();
            let mut mean = vec![0f32; own.first().map_or(0, |(_, v)| v.len())];
            for (_, v) in &own {
                for (m, x) in mean.iter_mut().zip(v) {
                    *m += x;
                }
            }
            let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                mean.iter_mut().for_each(|m| *m /= norm);
            }
            out.push(Embedded {
                text: mean,
                sentences: own,
            });
        } else {
            let text = vectors
                .next()
                .expect("one embedding per part, checked above");
            out.push(Embedded {
                text,
                sentences: Vec::new(),
            });
        }
    }
    Ok(out)
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
    use escucha_heads::{Provenance, TrainOptions};

    /// An encoder that is down.
    struct Down;

    impl SentenceEncoder for Down {
        fn embed(&self, _: &[&str]) -> Result<Vec<Vec<f32>>, escucha_embed::EmbedError> {
            Err(escucha_embed::EmbedError::Backend("encoder down".into()))
        }
        fn dimension(&self) -> usize {
            2
        }
        fn version(&self) -> &str {
            "down"
        }
    }

    /// Heads over `Down`'s feature layout, trained on a few synthetic rows.
    fn heads(ids: &[&str]) -> Heads {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let dim = 2 + CUE_FEATURES;
        let features: Vec<Vec<f32>> = (0..12)
            .map(|i| (0..dim).map(|j| ((i * 7 + j * 3) % 5) as f32).collect())
            .collect();
        let labels: Vec<Vec<bool>> = (0..12)
            .map(|i| (0..ids.len()).map(|k| (i + k) % 2 == 0).collect())
            .collect();
        let provenance = Provenance {
            encoder: feature_name("down"),
            training_data_hash: "test".into(),
        };
        Heads::train(
            &features,
            &labels,
            &ids,
            &provenance,
            &TrainOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn an_encoder_failure_falls_back_to_the_cues_and_says_so() {
        let engine = LayeredClassifier::from_parts(
            Box::new(Down),
            heads(&escucha_core::taxonomy::EMOTIONS),
            heads(&escucha_core::taxonomy::THEMES),
        );
        let c = engine.classify(TextInput {
            text: "Esperé dos horas en línea y nadie me atendió",
            language: Some(Language::Es),
        });
        assert_eq!(c.engine, crate::ENGINE);
        assert!(c.themes.iter().any(|l| l.label == "long_wait"), "{c:?}");
    }

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
