//! An interaction after redaction and classification: what escucha stores.

use crate::classify::{Classification, Label};
use crate::model::{Interaction, Language, SourcePosition};
use serde::{Deserialize, Serialize};

/// Labels found in one turn of an interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnLabels {
    /// Index into `Interaction::turns`.
    pub turn: usize,
    pub classification: Classification,
    /// Agent empathy signals (acknowledgement, apology, ownership,
    /// reassurance); only on agent turns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empathy: Vec<Label>,
}

/// A redacted, classified interaction ready to be stored.
///
/// Invariants kept by the producer: every text in `interaction.turns` is
/// already redacted, and `interaction.customer_id` holds the keyed hash of
/// the customer id, never the id itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub pipeline: String,
    pub interaction: Interaction,
    /// Language of the interaction: declared by the source or detected.
    pub language: Language,
    /// Labels per classified turn, in turn order.
    pub turn_labels: Vec<TurnLabels>,
    pub engine: String,
    pub source: SourcePosition,
    /// Conversation-level agent empathy in [0, 1]; `None` without agent turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_empathy: Option<f32>,
}

impl Record {
    /// Emotions of the whole interaction: the union over turns, each with its
    /// highest confidence.
    pub fn emotions(&self) -> Vec<Label> {
        merge(self.turn_labels.iter().map(|t| &t.classification.emotions))
    }

    /// Themes of the whole interaction, merged like [`Record::emotions`].
    pub fn themes(&self) -> Vec<Label> {
        merge(self.turn_labels.iter().map(|t| &t.classification.themes))
    }

    /// Emotion ids of the first classified turn that carries any emotion.
    pub fn first_emotions(&self) -> Vec<String> {
        self.turn_labels
            .iter()
            .find(|t| !t.classification.emotions.is_empty())
            .map(|t| ids(&t.classification.emotions))
            .unwrap_or_default()
    }

    /// Emotion ids of the last classified turn that carries any emotion.
    pub fn last_emotions(&self) -> Vec<String> {
        self.turn_labels
            .iter()
            .rev()
            .find(|t| !t.classification.emotions.is_empty())
            .map(|t| ids(&t.classification.emotions))
            .unwrap_or_default()
    }
}

fn ids(labels: &[Label]) -> Vec<String> {
    labels.iter().map(|l| l.label.clone()).collect()
}

fn merge<'a>(lists: impl Iterator<Item = &'a Vec<Label>>) -> Vec<Label> {
    let mut out: Vec<Label> = Vec::new();
    for label in lists.flatten() {
        match out.iter_mut().find(|l| l.label == label.label) {
            Some(existing) if existing.confidence < label.confidence => {
                existing.confidence = label.confidence
            }
            Some(_) => {}
            None => out.push(Label {
                label: label.label.clone(),
                confidence: label.confidence,
                evidence: Vec::new(),
            }),
        }
    }
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Channel, InteractionKind};

    fn label(id: &str, c: f32) -> Label {
        Label {
            label: id.into(),
            confidence: c,
            evidence: vec![],
        }
    }

    fn classification(emotions: Vec<Label>) -> Classification {
        Classification {
            language: Language::Es,
            emotions,
            themes: vec![],
            engine: "t".into(),
        }
    }

    #[test]
    fn merges_labels_across_turns_keeping_the_highest_confidence() {
        let record = Record {
            pipeline: "p".into(),
            interaction: Interaction {
                id: "1".into(),
                kind: InteractionKind::Transcript,
                channel: Channel::Chat,
                occurred_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
                ended_at: None,
                customer_id: None,
                related_id: None,
                language: None,
                scores: Default::default(),
                ops: Default::default(),
                turns: vec![],
            },
            language: Language::Es,
            turn_labels: vec![
                TurnLabels {
                    turn: 0,
                    classification: classification(vec![label("frustration", 0.6)]),
                    empathy: vec![],
                },
                TurnLabels {
                    turn: 2,
                    classification: classification(vec![]),
                    empathy: vec![label("apology", 0.8)],
                },
                TurnLabels {
                    turn: 4,
                    classification: classification(vec![
                        label("relief", 0.7),
                        label("frustration", 0.9),
                    ]),
                    empathy: vec![],
                },
            ],
            engine: "t".into(),
            source: Default::default(),
            agent_empathy: None,
        };
        let emotions = record.emotions();
        assert_eq!(emotions.len(), 2);
        assert_eq!(emotions[0].label, "frustration");
        assert_eq!(emotions[0].confidence, 0.9);
        assert_eq!(record.first_emotions(), vec!["frustration"]);
        assert_eq!(record.last_emotions(), vec!["relief", "frustration"]);
    }
}
