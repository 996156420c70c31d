//! Classifier engines of escucha and language detection.
//!
//! * [`CueClassifier`]: the lexicon engine (`cues-1`). It labels Spanish,
//!   Portuguese and English customer texts with the ten customer emotions and
//!   eleven process-gap themes of [`escucha_core::taxonomy`], from cue
//!   phrases kept in TOML lexicons (`lexicon/*.toml`, embedded in the binary),
//!   with negation, contrast, sarcasm and intensity rules. Every label carries
//!   a confidence and the character spans of the cues that support it.
//! * [`EmpathyDetector`]: acknowledgement, apology, ownership and
//!   reassurance in agent turns, and [`empathy_score`] per conversation.
//! * [`detect_language`]: es / pt / en / other, robust to short informal
//!   texts.
//!
//! ```
//! use escucha_classify::CueClassifier;
//! use escucha_core::{Classifier, TextInput};
//!
//! let engine = CueClassifier::builtin();
//! let text = "Llevo dos horas esperando y nadie me resuelve";
//! let out = engine.classify(TextInput { text, language: None });
//! assert!(out.themes.iter().any(|l| l.label == "long_wait"));
//! assert!(out.themes.iter().any(|l| l.label == "unresolved"));
//! ```

mod custom;
mod empathy;
mod engine;
mod lang;
mod layered;
pub mod lexicon;
mod normalise;

pub use custom::{
    current, empty_custom_handle, CuesWithCustom, CustomHandle, CustomTheme, CustomThemes, Embed,
    DEFAULT_SIMILARITY,
};
pub use empathy::{empathy_score, EmpathyDetector, EMPATHY_SIGNALS};
pub use engine::{CueClassifier, DEFAULT_MIN_CONFIDENCE, ENGINE};
pub use lang::detect_language;
pub use layered::{
    default_heads_dir, embed_texts, feature_name, stack_features, Embedded, LayeredClassifier,
    LayeredError, CUE_FEATURES, CUE_SURE, MIN_HEAD_PROBABILITY,
};
pub use lexicon::LexiconError;
