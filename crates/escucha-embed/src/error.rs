//! Errors of the encoder.

use std::path::PathBuf;

/// Why the encoder could not be loaded or could not embed a batch.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model directory, or its manifest, does not exist.
    #[error(
        "no sentence-encoder model in {dir} (manifest.json not found): run scripts/models.sh install"
    )]
    ModelMissing { dir: PathBuf },

    /// A file of the model directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The manifest is malformed or describes a model this crate cannot run.
    #[error("invalid model manifest {path}: {reason}; run scripts/models.sh install")]
    Manifest { path: PathBuf, reason: String },

    /// The SentencePiece model could not be loaded.
    #[error("cannot load the SentencePiece model {path}: {reason}")]
    Tokenizer { path: PathBuf, reason: String },

    /// The ONNX Runtime shared library could not be loaded.
    #[error("cannot load ONNX Runtime from {path}: {reason} (set ORT_DYLIB_PATH or run scripts/models.sh install)")]
    RuntimeLibrary { path: PathBuf, reason: String },

    /// ONNX Runtime reported an error.
    #[error("ONNX Runtime failed to {action}: {source}")]
    Runtime {
        action: &'static str,
        #[source]
        source: ort::Error,
    },

    /// The graph does not have the inputs or output the manifest names, or
    /// returned a tensor of an unexpected shape.
    #[error("model does not match its manifest: {0}")]
    Graph(String),

    /// The encoder options are unusable.
    #[error("invalid encoder options: {0}")]
    Options(String),

    /// Another encoder implementation (see [`crate::SentenceEncoder`])
    /// failed; the message names the engine and what it was doing.
    #[error("{0}")]
    Backend(String),
}

impl EmbedError {
    pub(crate) fn runtime<E: Into<ort::Error>>(
        action: &'static str,
    ) -> impl FnOnce(E) -> EmbedError {
        move |source| EmbedError::Runtime {
            action,
            source: source.into(),
        }
    }
}
