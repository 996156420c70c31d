//! Trainable multi-label heads over sentence embeddings.
//!
//! escucha classifies a text by embedding it with a multilingual sentence
//! encoder and applying one calibrated logistic head per label: one set of
//! heads for the ten emotions and one for the themes of
//! [`escucha_core::taxonomy`]. This crate is the machine-learning and
//! evaluation layer, independent of any encoder:
//!
//! * [`Dataset`]: labelled examples from JSON lines or GoEmotions, with a
//!   deterministic train/dev split and a content fingerprint;
//! * [`Heads`]: one-vs-rest logistic regression (standardised features, L2,
//!   class-balanced weights, full-batch accelerated gradient descent, early
//!   stopping on a share of the training data), Platt calibration and
//!   F1-optimal thresholds fitted on cross-fitted scores, prediction, and a
//!   versioned JSON file format;
//! * [`expected_calibration_error`] and [`Heads::calibration_report`];
//! * [`Evaluation`]: per-label, micro, macro and per-language metrics and a
//!   confusion summary, printable as a fixed-width table or Markdown.
//!
//! ```
//! use escucha_heads::{Heads, Provenance, TrainOptions};
//!
//! // Two features; `gratitude` follows the first, `anger` the second.
//! let features: Vec<Vec<f32>> = (0..200)
//!     .map(|i| vec![(i % 10) as f32 / 10.0, (i % 7) as f32 / 7.0])
//!     .collect();
//! let labels: Vec<Vec<bool>> = features.iter().map(|f| vec![f[0] > 0.5, f[1] > 0.5]).collect();
//! let ids = vec!["gratitude".to_string(), "anger".to_string()];
//! let provenance = Provenance { encoder: "toy-2d".into(), training_data_hash: "none".into() };
//! let heads = Heads::train(&features, &labels, &ids, &provenance, &TrainOptions::default()).unwrap();
//!
//! let out = heads.predict(&[0.9, 0.0]).unwrap();
//! assert_eq!(out[0].label, "gratitude");
//! assert!(out[0].decision && !out[1].decision);
//! let again = escucha_heads::Heads::from_json(&heads.to_json()).unwrap();
//! assert_eq!(again, heads);
//! ```

mod calibration;
mod dataset;
mod eval;
mod goemotions;
mod heads;
mod linear;

pub use calibration::{
    best_f1_threshold, expected_calibration_error, expected_calibration_error_bins, Platt, ECE_BINS,
};
pub use dataset::{
    is_dev_text, normalise_text, split_bucket, Dataset, DatasetError, Example, LabelKind, Split,
    DEFAULT_DEV_FRACTION,
};
pub use eval::{
    Averages, EvalItem, Evaluation, LabelConfusion, LabelMetrics, LanguageMetrics, LengthMismatch,
    NO_LABEL, TOP_CONFUSIONS,
};
pub use goemotions::{map_goemotions_label, GOEMOTIONS_MAPPING};
pub use heads::{
    CalibrationReport, CalibrationSplit, EncoderInfo, HeadStats, Heads, HeadsError,
    LabelCalibration, LabelHead, Prediction, Provenance, RowRoles, TrainOptions, FORMAT,
    FORMAT_VERSION,
};
pub use linear::Standardizer;
