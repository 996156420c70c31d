//! The redactor: finds personal data and replaces it with placeholders.

use crate::detect::{Detectors, Hit};
use crate::kind::PiiKind;
use escucha_core::Span;

/// Replaces personal data in texts with placeholders.
///
/// Build one and share it (`Redactor` is `Send + Sync` and cheap to clone):
/// construction compiles every pattern; [`Redactor::redact`] only runs them.
#[derive(Debug, Clone)]
pub struct Redactor {
    detectors: Detectors,
}

/// A redacted text and what was taken out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The input with every finding replaced by its placeholder; every other
    /// byte is unchanged.
    pub text: String,
    /// One entry per placeholder, in text order.
    pub findings: Vec<Finding>,
}

/// One replaced piece of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Finding {
    pub kind: PiiKind,
    /// Character (Unicode scalar value) offset of the placeholder in the
    /// redacted text, inclusive.
    pub start: usize,
    /// Character offset just past the placeholder in the redacted text.
    pub end: usize,
}

impl Finding {
    /// The placeholder's position as a character span of the redacted text.
    pub fn span(&self) -> Span {
        Span::new(self.start, self.end)
    }
}

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor::new()
    }
}

impl Redactor {
    /// A redactor with every built-in detector.
    pub fn new() -> Redactor {
        Redactor {
            detectors: Detectors::new(),
        }
    }

    /// Redacts `text`. When nothing is found, `text` comes back as is with no
    /// findings.
    pub fn redact(&self, text: &str) -> Redacted {
        let hits = self.detectors.find(text);
        if hits.is_empty() {
            return Redacted {
                text: text.to_owned(),
                findings: Vec::new(),
            };
        }
        let (text, findings) = rewrite(text, &hits);
        Redacted { text, findings }
    }

    /// Redacts `text` where it is. Allocates nothing when there is nothing
    /// to redact.
    pub fn redact_in_place(&self, text: &mut String) -> Vec<Finding> {
        let hits = self.detectors.find(text);
        if hits.is_empty() {
            return Vec::new();
        }
        let (redacted, findings) = rewrite(text, &hits);
        *text = redacted;
        findings
    }

    /// Whether `text` holds anything this redactor would replace.
    pub fn contains_pii(&self, text: &str) -> bool {
        !self.detectors.find(text).is_empty()
    }
}

/// Builds the redacted text from non-overlapping hits in text order.
fn rewrite(text: &str, hits: &[Hit]) -> (String, Vec<Finding>) {
    let mut out = String::with_capacity(text.len());
    let mut findings = Vec::with_capacity(hits.len());
    let mut chars = 0;
    let mut last = 0;
    for hit in hits {
        let kept = &text[last..hit.start];
        out.push_str(kept);
        chars += kept.chars().count();
        let placeholder = hit.kind.placeholder();
        out.push_str(placeholder);
        // Placeholders are ASCII: bytes and characters agree.
        findings.push(Finding {
            kind: hit.kind,
            start: chars,
            end: chars + placeholder.len(),
        });
        chars += placeholder.len();
        last = hit.end;
    }
    out.push_str(&text[last..]);
    (out, findings)
}
