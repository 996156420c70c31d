//! The two error types of this crate: problems in a pipeline file, and
//! problems in a message payload.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a pipeline file.
///
/// Loading reports every problem of every file at once, so callers receive a
/// `Vec<ValidationError>`. `Display` renders `file: path: message`, or
/// `file: message` when the problem concerns the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The pipeline file the problem was found in.
    pub file: PathBuf,
    /// Where in the file, as a dotted key path such as `fields.csat.from`
    /// or `source.topics[1]`; empty when the problem concerns the whole file.
    pub path: String,
    /// What is wrong, and where useful what is expected instead.
    pub message: String,
}

impl ValidationError {
    /// Creates an error for `file` at the key path `path`.
    pub fn new(
        file: impl Into<PathBuf>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ValidationError {
            file: file.into(),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.path,
                self.message
            )
        }
    }
}

impl std::error::Error for ValidationError {}

/// Problems collected while validating one file: `(key path, message)`.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<(String, String)>);

impl Problems {
    /// Records a problem at `path`.
    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push((path.into(), message.into()));
    }

    /// Records that a required key is missing, unless a problem was already
    /// recorded at that path (a key that is present but malformed).
    pub(crate) fn missing(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        if !self.0.iter().any(|(p, _)| *p == path) {
            self.0.push((path, message.into()));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_errors(self, file: &Path) -> Vec<ValidationError> {
        self.0
            .into_iter()
            .map(|(path, message)| ValidationError::new(file, path, message))
            .collect()
    }
}

/// Why a message payload could not be turned into an interaction.
///
/// The `Display` text names the field and its JSONPath, e.g.
/// `field "nps" ($.nps): 14 is outside the declared scale 0..10`. It may
/// quote the offending value of identifier, score, time, flag or name fields,
/// but never any free text (comments, turn texts), which carries personal
/// data. [`DecodeError::kind`] gives a short, stable, machine-readable code for
/// dead-letter headers and metrics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The payload is not a JSON object.
    #[error("payload is not a JSON object: {reason}")]
    InvalidJson {
        /// What the JSON parser reported (position only, never content).
        reason: String,
    },
    /// A required field is absent, null or empty and has no default.
    #[error("field \"{field}\" ({path}): required but missing")]
    MissingField {
        /// The pipeline field, e.g. `id` or `turns[2].speaker`.
        field: String,
        /// The JSONPath the pipeline reads it from.
        path: String,
    },
    /// A value has the wrong type or cannot be parsed or mapped.
    #[error("field \"{field}\" ({path}): {reason}")]
    InvalidValue {
        /// The pipeline field, e.g. `channel` or `turns[2].at`.
        field: String,
        /// The JSONPath the pipeline reads it from.
        path: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// A number lies outside the scale or range the field accepts.
    #[error("field \"{field}\" ({path}): {value} is outside the {range}")]
    OutOfRange {
        /// The pipeline field, e.g. `nps`.
        field: String,
        /// The JSONPath the pipeline reads it from.
        path: String,
        /// The value received.
        value: String,
        /// The accepted interval, e.g. `declared scale 0..10`.
        range: String,
    },
    /// The JSONPath selects more than one value where one is expected.
    #[error(
        "field \"{field}\" ({path}): the path selects {count} values; it must select at most one"
    )]
    AmbiguousPath {
        /// The pipeline field.
        field: String,
        /// The JSONPath the pipeline reads it from.
        path: String,
        /// How many values it selected.
        count: usize,
    },
    /// A transcript has no turn with text.
    #[error("field \"turns\" ({path}): the transcript has no turn with text")]
    NoTurns {
        /// The JSONPath of the turns array.
        path: String,
    },
}

impl DecodeError {
    /// A short machine-readable code: `invalid_json`, `missing_field`,
    /// `invalid_value`, `out_of_range`, `ambiguous_path` or `no_turns`.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::InvalidJson { .. } => "invalid_json",
            DecodeError::MissingField { .. } => "missing_field",
            DecodeError::InvalidValue { .. } => "invalid_value",
            DecodeError::OutOfRange { .. } => "out_of_range",
            DecodeError::AmbiguousPath { .. } => "ambiguous_path",
            DecodeError::NoTurns { .. } => "no_turns",
        }
    }

    /// The pipeline field the error concerns, if any (`turns` for
    /// [`DecodeError::NoTurns`]).
    pub fn field(&self) -> Option<&str> {
        match self {
            DecodeError::InvalidJson { .. } => None,
            DecodeError::NoTurns { .. } => Some("turns"),
            DecodeError::MissingField { field, .. }
            | DecodeError::InvalidValue { field, .. }
            | DecodeError::OutOfRange { field, .. }
            | DecodeError::AmbiguousPath { field, .. } => Some(field),
        }
    }

    /// Rewrites the field name of an error raised for a turn sub-field
    /// (`turns.text`) to name the element (`turns[3].text`).
    pub(crate) fn in_element(mut self, index: usize) -> Self {
        if let DecodeError::MissingField { field, .. }
        | DecodeError::InvalidValue { field, .. }
        | DecodeError::OutOfRange { field, .. }
        | DecodeError::AmbiguousPath { field, .. } = &mut self
        {
            if let Some(rest) = field.strip_prefix("turns.") {
                *field = format!("turns[{index}].{rest}");
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_error_display_names_file_path_and_message() {
        let e = ValidationError::new(
            "pipelines/a.toml",
            "fields.csat.from",
            "min must be below max",
        );
        assert_eq!(
            e.to_string(),
            "pipelines/a.toml: fields.csat.from: min must be below max"
        );
        let whole = ValidationError::new("pipelines/a.toml", "", "cannot read file");
        assert_eq!(whole.to_string(), "pipelines/a.toml: cannot read file");
    }

    #[test]
    fn decode_error_kinds_and_turn_field_rewrite() {
        let e = DecodeError::MissingField {
            field: "turns.speaker".into(),
            path: "$.role".into(),
        }
        .in_element(3);
        assert_eq!(e.kind(), "missing_field");
        assert_eq!(e.field(), Some("turns[3].speaker"));
        assert_eq!(
            e.to_string(),
            "field \"turns[3].speaker\" ($.role): required but missing"
        );
        let top = DecodeError::MissingField {
            field: "id".into(),
            path: "$.id".into(),
        }
        .in_element(1);
        assert_eq!(top.field(), Some("id"));
        assert_eq!(
            DecodeError::NoTurns { path: "$.t".into() }.kind(),
            "no_turns"
        );
    }
}
