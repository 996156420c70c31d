//! The Universal Sentence Encoder multilingual, run through ONNX Runtime.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::TensorRef;

use crate::manifest::Manifest;
use crate::tokenize::SpmTokenizer;
use crate::EmbedError;

/// How an encoder runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderOptions {
    /// Threads ONNX Runtime uses inside one inference. Keep 1 when other
    /// work shares the cores; 2 gives about 1.5 times the throughput.
    pub intra_threads: usize,
    /// Most texts sent to the graph in one inference.
    ///
    /// The int8 graph quantizes its activations with one scale per
    /// inference, so a text's embedding varies slightly with the other texts
    /// of its batch (cosine ≥ 0.998 to the text encoded alone). Set 1 when
    /// every text must always get exactly the same embedding; larger
    /// batches are faster.
    pub max_batch: usize,
    /// Independent inference sessions, so that as many threads can embed
    /// at once (each costs the model's memory again). With one session,
    /// inferences run one at a time.
    pub sessions: usize,
}

impl Default for EncoderOptions {
    fn default() -> EncoderOptions {
        EncoderOptions {
            intra_threads: 1,
            max_batch: 32,
            sessions: 1,
        }
    }
}

/// The multilingual sentence encoder: text in, unit-length 512-dimensional
/// vector out.
///
/// Loading takes a few hundred milliseconds and about 200 MB of memory; load
/// once and share (`UseEncoder` is `Send + Sync`). Inferences run on one of
/// [`EncoderOptions::sessions`] sessions each; tokenization runs outside
/// their locks.
pub struct UseEncoder {
    dir: PathBuf,
    manifest: Manifest,
    tokenizer: SpmTokenizer,
    sessions: Vec<Mutex<Session>>,
    next: std::sync::atomic::AtomicUsize,
    options: EncoderOptions,
}

/// The one ONNX Runtime environment of the process, created on first use.
static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

/// The process's ONNX Runtime environment. The first call loads the shared
/// library: `ORT_DYLIB_PATH` when set, `manifest_library` otherwise; later
/// calls reuse it.
fn environment(manifest_library: &Path) -> Result<Environment, EmbedError> {
    let mut current = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(environment) = current.as_ref() {
        return Ok(environment.clone());
    }
    let library = match std::env::var_os("ORT_DYLIB_PATH") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => manifest_library.to_path_buf(),
    };
    if !library.is_file() {
        return Err(EmbedError::RuntimeLibrary {
            path: library,
            reason: "no such file".into(),
        });
    }
    let builder = ort::init_from(&library).map_err(|e| EmbedError::RuntimeLibrary {
        path: library.clone(),
        reason: e.to_string(),
    })?;
    let environment = builder
        .with_name("escucha-embed")
        .build()
        .map_err(EmbedError::runtime("create its environment"))?;
    *current = Some(environment.clone());
    Ok(environment)
}

impl UseEncoder {
    /// Loads the encoder from a directory written by `scripts/models.sh
    /// install` (see [`crate::default_model_dir`]), with default options.
    pub fn load(dir: &Path) -> Result<UseEncoder, EmbedError> {
        UseEncoder::load_with(dir, EncoderOptions::default())
    }

    /// Loads the encoder from `dir` with the given options.
    pub fn load_with(dir: &Path, options: EncoderOptions) -> Result<UseEncoder, EmbedError> {
        if options.intra_threads == 0 {
            return Err(EmbedError::Options(
                "intra_threads must be at least 1".into(),
            ));
        }
        if options.max_batch == 0 {
            return Err(EmbedError::Options("max_batch must be at least 1".into()));
        }
        if options.sessions == 0 {
            return Err(EmbedError::Options("sessions must be at least 1".into()));
        }
        let manifest = Manifest::read(dir)?;
        let tokenizer = SpmTokenizer::load(&manifest.tokenizer_path(dir), &manifest.tokenizer)?;
        let model = manifest.model_path(dir);
        if !model.is_file() {
            return Err(EmbedError::ModelMissing {
                dir: dir.to_path_buf(),
            });
        }

        let environment = environment(&manifest.onnxruntime.library)?;
        let mut sessions = Vec::with_capacity(options.sessions);
        for _ in 0..options.sessions {
            let mut builder = Session::builder(&environment)
                .map_err(EmbedError::runtime("create a session builder"))?
                .with_intra_threads(options.intra_threads)
                .map_err(EmbedError::runtime("set the intra-op thread count"))?
                .with_inter_threads(1)
                .map_err(EmbedError::runtime("set the inter-op thread count"))?;
            let session = builder
                .commit_from_file(&model)
                .map_err(EmbedError::runtime("load the model"))?;
            check_signature(&session, &manifest)?;
            sessions.push(Mutex::new(session));
        }

        Ok(UseEncoder {
            dir: dir.to_path_buf(),
            manifest,
            tokenizer,
            sessions,
            next: std::sync::atomic::AtomicUsize::new(0),
            options,
        })
    }

    /// Embeds `texts`, in order: one unit-length vector of
    /// [`dimension`](Self::dimension) floats per text. Texts are sent to the
    /// graph in batches of at most [`EncoderOptions::max_batch`]. Empty and
    /// blank texts are valid (they get the embedding of an empty sentence).
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut embeddings = Vec::with_capacity(texts.len());
        let mut ids = Vec::new();
        let mut row_splits = Vec::new();
        for batch in texts.chunks(self.options.max_batch) {
            ids.clear();
            row_splits.clear();
            row_splits.push(0i64);
            for text in batch {
                self.tokenizer.encode_into(text.as_ref(), &mut ids);
                row_splits.push(ids.len() as i64);
            }
            self.infer(&ids, &row_splits, &mut embeddings)?;
        }
        Ok(embeddings)
    }

    /// Embeds one text on its own.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut embeddings = self.embed(&[text])?;
        Ok(embeddings.remove(0))
    }

    /// The token ids the graph receives for `text`, BOS and EOS included.
    pub fn tokenize(&self, text: &str) -> Vec<i32> {
        self.tokenizer.encode(text)
    }

    /// Length of an embedding (512).
    pub fn dimension(&self) -> usize {
        self.manifest.dimension
    }

    /// Model name and version, e.g. `use-m-v3-int8`.
    pub fn version(&self) -> &str {
        &self.manifest.name
    }

    /// The manifest of the loaded model directory.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The directory the model was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.dir
    }

    /// The options the encoder was loaded with.
    pub fn options(&self) -> EncoderOptions {
        self.options
    }

    /// Runs one batch and appends its embeddings to `out`.
    fn infer(
        &self,
        ids: &[i32],
        row_splits: &[i64],
        out: &mut Vec<Vec<f32>>,
    ) -> Result<(), EmbedError> {
        let texts = row_splits.len() - 1;
        let ids = TensorRef::from_array_view(([ids.len()], ids))
            .map_err(EmbedError::runtime("create the token-id tensor"))?;
        let splits = TensorRef::from_array_view(([row_splits.len()], row_splits))
            .map_err(EmbedError::runtime("create the row-splits tensor"))?;
        let inputs = &self.manifest.inputs;
        // A free session if there is one, else wait for the next in turn.
        let mut session = match self.sessions.iter().find_map(|s| s.try_lock().ok()) {
            Some(s) => s,
            None => {
                let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    % self.sessions.len();
                self.sessions[i]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
            }
        };
        let outputs = session
            .run(ort::inputs![
                inputs.token_ids.as_str() => ids,
                inputs.row_splits.as_str() => splits,
            ])
            .map_err(EmbedError::runtime("run the model"))?;
        let output = outputs.get(&self.manifest.output).ok_or_else(|| {
            EmbedError::Graph(format!("no output named {:?}", self.manifest.output))
        })?;
        let (shape, data) = output
            .try_extract_tensor::<f32>()
            .map_err(EmbedError::runtime("read the embeddings"))?;
        let dimension = self.manifest.dimension;
        if shape.len() != 2 || shape[0] != texts as i64 || shape[1] != dimension as i64 {
            return Err(EmbedError::Graph(format!(
                "output shape {shape:?}, expected [{texts}, {dimension}]"
            )));
        }
        out.extend(data.chunks_exact(dimension).map(<[f32]>::to_vec));
        Ok(())
    }
}

/// Checks that the session has the inputs and the output the manifest names.
fn check_signature(session: &Session, manifest: &Manifest) -> Result<(), EmbedError> {
    let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
    for wanted in [&manifest.inputs.token_ids, &manifest.inputs.row_splits] {
        if !inputs.contains(&wanted.as_str()) {
            return Err(EmbedError::Graph(format!(
                "no input named {wanted:?} (inputs: {inputs:?})"
            )));
        }
    }
    if inputs.len() != 2 {
        return Err(EmbedError::Graph(format!(
            "expected 2 inputs, the graph has {inputs:?}"
        )));
    }
    if !session
        .outputs()
        .iter()
        .any(|o| o.name() == manifest.output)
    {
        return Err(EmbedError::Graph(format!(
            "no output named {:?}",
            manifest.output
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated_before_anything_is_loaded() {
        let dir = Path::new("/nonexistent/escucha-models/use-m-int8");
        let zero_threads = EncoderOptions {
            intra_threads: 0,
            ..EncoderOptions::default()
        };
        assert!(matches!(
            UseEncoder::load_with(dir, zero_threads),
            Err(EmbedError::Options(_))
        ));
        let zero_batch = EncoderOptions {
            max_batch: 0,
            ..EncoderOptions::default()
        };
        assert!(matches!(
            UseEncoder::load_with(dir, zero_batch),
            Err(EmbedError::Options(_))
        ));
    }

    #[test]
    fn missing_model_directory_is_reported() {
        let err = match UseEncoder::load(Path::new("/nonexistent/escucha-models/use-m-int8")) {
            Err(err) => err,
            Ok(_) => panic!("loaded a model from a directory that does not exist"),
        };
        assert!(matches!(err, EmbedError::ModelMissing { .. }), "{err:?}");
        assert!(
            err.to_string().contains("run scripts/models.sh install"),
            "{err}"
        );
    }

    #[test]
    fn encoder_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<UseEncoder>();
    }
}
