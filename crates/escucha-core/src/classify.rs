//! The classifier port: what every engine returns.

use crate::model::Language;
use serde::{Deserialize, Serialize};

/// A half-open range of **character** (Unicode scalar value) offsets into a
/// text, serialized as `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "[usize; 2]", into = "[usize; 2]")]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The characters this span covers in `text`.
    pub fn slice<'a>(&self, text: &'a str) -> &'a str {
        let mut indices = text.char_indices().map(|(i, _)| i).chain([text.len()]);
        let start = indices.nth(self.start).unwrap_or(text.len());
        let end = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .nth(self.end)
            .unwrap_or(text.len());
        &text[start..end.max(start)]
    }
}

impl From<[usize; 2]> for Span {
    fn from(v: [usize; 2]) -> Span {
        Span::new(v[0], v[1])
    }
}

impl From<Span> for [usize; 2] {
    fn from(s: Span) -> [usize; 2] {
        [s.start, s.end]
    }
}

/// One emotion or theme found in a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// Taxonomy id, e.g. `frustration` or `long_wait`, or a custom theme id.
    pub label: String,
    /// In [0, 1]; serialized with three decimals.
    #[serde(serialize_with = "serialize_confidence")]
    pub confidence: f32,
    /// Character spans of the text that support the label.
    pub evidence: Vec<Span>,
}

/// Serializes a confidence as a decimal with three digits (0.97, not
/// 0.9700000286102295).
pub fn serialize_confidence<S: serde::Serializer>(c: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((f64::from(*c) * 1000.0).round() / 1000.0)
}

/// What an engine says about one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub language: Language,
    pub emotions: Vec<Label>,
    pub themes: Vec<Label>,
    /// Engine name and version, e.g. `cues-1`.
    pub engine: String,
}

/// A text to classify.
#[derive(Debug, Clone, Copy)]
pub struct TextInput<'a> {
    pub text: &'a str,
    /// Language declared by the source; engines detect it when absent.
    pub language: Option<Language>,
}

/// A classification engine. Implementations are CPU-bound and synchronous:
/// callers run them on dedicated threads, never on an async runtime.
pub trait Classifier: Send + Sync {
    /// Engine name and version, stored with every label.
    fn engine(&self) -> &str;

    /// Classifies one text.
    fn classify(&self, input: TextInput<'_>) -> Classification;

    /// Classifies a batch. Engines that benefit from batching override this.
    fn classify_batch(&self, inputs: &[TextInput<'_>]) -> Vec<Classification> {
        inputs.iter().map(|i| self.classify(*i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_serializes_as_pair_and_slices_by_characters() {
        let s = Span::new(2, 6);
        assert_eq!(serde_json::to_string(&s).unwrap(), "[2,6]");
        let back: Span = serde_json::from_str("[2,6]").unwrap();
        assert_eq!(back, s);
        assert_eq!(Span::new(0, 5).slice("ação rápida"), "ação ");
        assert_eq!(Span::new(5, 11).slice("ação rápida"), "rápida");
        assert_eq!(Span::new(9, 40).slice("ação rápida"), "da");
    }

    #[test]
    fn confidence_serializes_with_three_decimals() {
        let l = Label {
            label: "relief".into(),
            confidence: 0.97,
            evidence: vec![Span::new(0, 3)],
        };
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"label":"relief","confidence":0.97,"evidence":[[0,3]]}"#
        );
    }
}
