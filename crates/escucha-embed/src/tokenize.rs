//! Text to SentencePiece ids, as the original graph's tokenizer op did it.
//!
//! SentencePiece encodes a text in two steps, both driven by the model file:
//!
//! 1. Normalization: the model's precompiled character map (`nmt_nfkc` for
//!    this model: NFKC plus removal of zero-width characters and mapping of
//!    Unicode spaces to U+0020), then whitespace runs collapsed into one,
//!    leading and trailing whitespace dropped, and every space written as
//!    `▁` with one `▁` in front of the text.
//! 2. Segmentation: the most likely sequence of vocabulary pieces under the
//!    unigram language model (Viterbi); characters outside the vocabulary
//!    become `<unk>`, one per run.
//!
//! Step 1 uses `spm_precompiled` (the charsmap interpreter of Hugging Face's
//! tokenizers), step 2 `rust_tokenizers`' unigram model. BOS and EOS wrap
//! every text, as the graph expects.

use std::path::Path;

use protobuf::wire_format::WireType;
use protobuf::CodedInputStream;
use rust_tokenizers::vocab::SentencePieceModel;
use rust_tokenizers::TokenRef;
use spm_precompiled::Precompiled;

use crate::manifest::TokenizerSpec;
use crate::EmbedError;

/// Id of `<unk>` in the SentencePiece vocabulary.
const UNK_ID: i32 = 0;

/// The symbol SentencePiece writes for a space.
const SPACE_SYMBOL: char = '\u{2581}';

/// The SentencePiece tokenizer of the model, wrapping each text in BOS/EOS.
pub(crate) struct SpmTokenizer {
    model: SentencePieceModel,
    normalizer: Precompiled,
    bos: Option<i32>,
    eos: Option<i32>,
}

impl SpmTokenizer {
    /// Loads the SentencePiece model at `path` with the manifest's settings.
    pub(crate) fn load(path: &Path, spec: &TokenizerSpec) -> Result<SpmTokenizer, EmbedError> {
        let error = |reason: String| EmbedError::Tokenizer {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|source| EmbedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let normalizer = NormalizerSpec::from_model(&bytes).map_err(error)?;
        if !(normalizer.add_dummy_prefix
            && normalizer.remove_extra_whitespaces
            && normalizer.escape_whitespaces)
        {
            return Err(error(format!(
                "normalizer {:?} does not add a dummy prefix, remove extra whitespace and \
                 escape whitespace, which this tokenizer implements",
                normalizer.name
            )));
        }
        if normalizer.precompiled_charsmap.is_empty() {
            return Err(error(format!(
                "normalizer {:?} has no precompiled character map",
                normalizer.name
            )));
        }
        let normalizer = Precompiled::from(&normalizer.precompiled_charsmap)
            .map_err(|e| error(format!("precompiled character map: {e}")))?;
        let model = SentencePieceModel::from_file(path).map_err(|e| error(e.to_string()))?;
        Ok(SpmTokenizer {
            model,
            normalizer,
            bos: spec.add_bos.then_some(spec.bos_id),
            eos: spec.add_eos.then_some(spec.eos_id),
        })
    }

    /// Appends the ids of `text`, BOS and EOS included, to `out`.
    pub(crate) fn encode_into(&self, text: &str, out: &mut Vec<i32>) {
        out.extend(self.bos);
        let normalized = escape_whitespace(&self.normalizer.normalize_string(text));
        if !normalized.is_empty() {
            let offsets = vec![0; normalized.chars().count()];
            let lattice = self
                .model
                .decode_forward_token_ref(TokenRef::new(&normalized, &offsets));
            let best = self.model.decode_backward(&lattice);
            push_merging_unknowns(out, best.iter().map(|node| node.index as i32));
        }
        out.extend(self.eos);
    }

    /// The ids of `text`, BOS and EOS included.
    pub(crate) fn encode(&self, text: &str) -> Vec<i32> {
        let mut ids = Vec::new();
        self.encode_into(text, &mut ids);
        ids
    }
}

/// SentencePiece's whitespace handling of normalized text: runs of spaces
/// collapse into one, leading and trailing spaces go, and every remaining
/// word is preceded by `▁`. Only U+0020 counts: the character map has
/// already turned other spaces into it.
fn escape_whitespace(normalized: &str) -> String {
    let mut out = String::with_capacity(normalized.len() + 3);
    for word in normalized.split(' ').filter(|w| !w.is_empty()) {
        out.push(SPACE_SYMBOL);
        out.push_str(word);
    }
    out
}

/// Appends `ids` to `out`, turning each run of consecutive `<unk>` into one,
/// as SentencePiece does for characters outside its vocabulary.
fn push_merging_unknowns(out: &mut Vec<i32>, ids: impl IntoIterator<Item = i32>) {
    let mut previous_unknown = false;
    for id in ids {
        let unknown = id == UNK_ID;
        if !(unknown && previous_unknown) {
            out.push(id);
        }
        previous_unknown = unknown;
    }
}

/// The `normalizer_spec` message of a SentencePiece `ModelProto`.
#[derive(Debug, PartialEq)]
struct NormalizerSpec {
    name: String,
    precompiled_charsmap: Vec<u8>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
}

impl NormalizerSpec {
    /// Field number of `normalizer_spec` in `ModelProto`.
    const FIELD: u32 = 3;

    /// Reads the normalizer spec of a serialized `ModelProto`; the absent
    /// fields take their protobuf defaults.
    fn from_model(model: &[u8]) -> Result<NormalizerSpec, String> {
        let wire = |e: protobuf::ProtobufError| format!("malformed SentencePiece model: {e}");
        let mut input = CodedInputStream::from_bytes(model);
        let mut spec = None;
        while !input.eof().map_err(wire)? {
            match input.read_tag_unpack().map_err(wire)? {
                (NormalizerSpec::FIELD, WireType::WireTypeLengthDelimited) => {
                    let bytes = input.read_bytes().map_err(wire)?;
                    spec = Some(NormalizerSpec::parse(&bytes).map_err(wire)?);
                }
                (_, wire_type) => input.skip_field(wire_type).map_err(wire)?,
            }
        }
        spec.ok_or_else(|| "the SentencePiece model has no normalizer spec".to_string())
    }

    fn parse(bytes: &[u8]) -> protobuf::ProtobufResult<NormalizerSpec> {
        let mut spec = NormalizerSpec {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        };
        let mut input = CodedInputStream::from_bytes(bytes);
        while !input.eof()? {
            match input.read_tag_unpack()? {
                (1, WireType::WireTypeLengthDelimited) => spec.name = input.read_string()?,
                (2, WireType::WireTypeLengthDelimited) => {
                    spec.precompiled_charsmap = input.read_bytes()?
                }
                (3, WireType::WireTypeVarint) => spec.add_dummy_prefix = input.read_bool()?,
                (4, WireType::WireTypeVarint) => {
                    spec.remove_extra_whitespaces = input.read_bool()?
                }
                (5, WireType::WireTypeVarint) => spec.escape_whitespaces = input.read_bool()?,
                (_, wire_type) => input.skip_field(wire_type)?,
            }
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_collapsed_trimmed_and_escaped() {
        assert_eq!(escape_whitespace("hola  que tal "), "▁hola▁que▁tal");
        assert_eq!(escape_whitespace("   ação"), "▁ação");
        assert_eq!(escape_whitespace("   "), "");
        assert_eq!(escape_whitespace(""), "");
        // Only U+0020 separates words; the character map handles the rest.
        assert_eq!(escape_whitespace("a\tb"), "▁a\tb");
    }

    #[test]
    fn consecutive_unknowns_become_one() {
        let mut out = vec![1];
        push_merging_unknowns(&mut out, [6, 0, 0, 0, 12, 0, 6, 0, 0]);
        assert_eq!(out, vec![1, 6, 0, 12, 0, 6, 0]);
        let mut out = Vec::new();
        push_merging_unknowns(&mut out, [5, 7]);
        assert_eq!(out, vec![5, 7]);
    }

    /// Serializes a length-delimited field.
    fn bytes_field(field: u8, value: &[u8]) -> Vec<u8> {
        assert!(value.len() < 128);
        let mut out = vec![field << 3 | 2, value.len() as u8];
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn reads_the_normalizer_spec_between_other_fields() {
        let mut spec = bytes_field(1, b"nmt_nfkc");
        spec.extend(bytes_field(2, &[9, 8, 7]));
        spec.extend([4 << 3, 0]); // remove_extra_whitespaces = false
        let mut model = bytes_field(1, b"a piece");
        model.extend([2 << 3 | 2, 2, 3 << 3, 1]); // trainer_spec { model_type: 1 }
        model.extend(bytes_field(3, &spec));
        model.extend([5 << 3, 1]); // an unrelated varint field
        let parsed = NormalizerSpec::from_model(&model).unwrap();
        assert_eq!(
            parsed,
            NormalizerSpec {
                name: "nmt_nfkc".into(),
                precompiled_charsmap: vec![9, 8, 7],
                add_dummy_prefix: true,
                remove_extra_whitespaces: false,
                escape_whitespaces: true,
            }
        );
    }

    #[test]
    fn model_without_normalizer_or_truncated_is_rejected() {
        let model = bytes_field(1, b"a piece");
        assert!(NormalizerSpec::from_model(&model)
            .unwrap_err()
            .contains("no normalizer spec"));
        let mut truncated = bytes_field(3, &bytes_field(1, b"nmt_nfkc"));
        truncated.truncate(truncated.len() - 2);
        assert!(NormalizerSpec::from_model(&truncated)
            .unwrap_err()
            .contains("malformed"));
    }
}
