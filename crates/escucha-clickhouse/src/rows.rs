//! Row types of the three tables and their conversion from a [`Record`].

use chrono::{DateTime, Utc};
use clickhouse::Row;
use escucha_core::{Label, Record, TurnLabels};
use serde::{Deserialize, Serialize};

/// `interactions`: one row per interaction (survey response or conversation).
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct InteractionRow {
    pub interaction_id: String,
    pub pipeline: String,
    pub kind: String,
    pub channel: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub occurred_at: DateTime<Utc>,
    #[serde(with = "clickhouse::serde::chrono::datetime::option")]
    pub ended_at: Option<DateTime<Utc>>,
    pub customer_key: String,
    pub related_id: String,
    pub language: String,
    pub queue: String,
    pub team: String,
    pub agent: String,
    pub product: String,
    pub nps: Option<u8>,
    pub csat: Option<u8>,
    pub ces: Option<u8>,
    pub wait_seconds: Option<u32>,
    pub handle_seconds: Option<u32>,
    pub transfers: Option<u32>,
    pub bot_involved: Option<u8>,
    pub escalated: Option<u8>,
    pub resolved: Option<u8>,
    pub agent_empathy: Option<f32>,
    pub has_text: u8,
    pub text: String,
    pub emotions: Vec<String>,
    pub themes: Vec<String>,
    pub first_emotions: Vec<String>,
    pub last_emotions: Vec<String>,
    pub engine: String,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub ingested_at: DateTime<Utc>,
    pub version: u64,
}

/// `turns`: one row per turn (or survey comment), redacted.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct TurnRow {
    pub interaction_id: String,
    pub pipeline: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub occurred_at: DateTime<Utc>,
    pub turn_index: u32,
    pub speaker: String,
    #[serde(with = "clickhouse::serde::chrono::datetime::option")]
    pub at: Option<DateTime<Utc>>,
    pub language: String,
    pub text: String,
    pub emotions: Vec<String>,
    pub themes: Vec<String>,
    pub version: u64,
    /// 1: the turn's labels are in the `label_*` arrays (one entry per
    /// label, as its rows of `labels`).
    pub labelled: u8,
    pub label_kinds: Vec<String>,
    pub label_names: Vec<String>,
    pub label_confidences: Vec<f32>,
    pub label_evidence_starts: Vec<Vec<u32>>,
    pub label_evidence_ends: Vec<Vec<u32>>,
    pub label_engines: Vec<String>,
}

/// `labels`: one row per label per classified turn, with confidence and evidence.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct LabelRow {
    pub interaction_id: String,
    pub pipeline: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    pub occurred_at: DateTime<Utc>,
    pub turn_index: u32,
    pub label_kind: String,
    pub label: String,
    pub confidence: f32,
    pub evidence_start: Vec<u32>,
    pub evidence_end: Vec<u32>,
    pub engine: String,
    pub channel: String,
    pub queue: String,
    pub team: String,
    pub agent: String,
    pub product: String,
    pub language: String,
    pub version: u64,
}

/// The rows one record becomes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub interactions: Vec<InteractionRow>,
    pub turns: Vec<TurnRow>,
    pub labels: Vec<LabelRow>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.interactions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.interactions.is_empty()
    }

    /// Appends the rows of one record. `version` decides which copy
    /// `ReplacingMergeTree` keeps when the same interaction arrives again.
    pub fn push(&mut self, record: &Record, ingested_at: DateTime<Utc>, version: u64) {
        let i = &record.interaction;
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let language = record.language.as_str().to_string();
        let classified: Vec<usize> = record.turn_labels.iter().map(|t| t.turn).collect();
        let text = classified
            .iter()
            .filter_map(|&t| i.turns.get(t))
            .map(|t| t.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        let ids = |labels: Vec<Label>| labels.into_iter().map(|l| l.label).collect::<Vec<_>>();
        self.interactions.push(InteractionRow {
            interaction_id: i.id.clone(),
            pipeline: record.pipeline.clone(),
            kind: i.kind.as_str().into(),
            channel: i.channel.as_str().into(),
            occurred_at: i.occurred_at,
            ended_at: i.ended_at,
            customer_key: s(&i.customer_id),
            related_id: s(&i.related_id),
            language: language.clone(),
            queue: s(&i.ops.queue),
            team: s(&i.ops.team),
            agent: s(&i.ops.agent),
            product: s(&i.ops.product),
            nps: i.scores.nps,
            csat: i.scores.csat,
            ces: i.scores.ces,
            wait_seconds: i.ops.wait_seconds,
            handle_seconds: i.ops.handle_seconds,
            transfers: i.ops.transfers,
            bot_involved: i.ops.bot_involved.map(u8::from),
            escalated: i.ops.escalated.map(u8::from),
            resolved: i.ops.resolved.map(u8::from),
            agent_empathy: record.agent_empathy,
            has_text: u8::from(!text.is_empty()),
            text,
            emotions: ids(record.emotions()),
            themes: ids(record.themes()),
            first_emotions: record.first_emotions(),
            last_emotions: record.last_emotions(),
            engine: record.engine.clone(),
            source_topic: record.source.topic.clone(),
            source_partition: record.source.partition,
            source_offset: record.source.offset,
            ingested_at,
            version,
        });
        for (index, turn) in i.turns.iter().enumerate() {
            let labels = record.turn_labels.iter().find(|t| t.turn == index);
            let (emotions, themes) = labels
                .map(|l| {
                    (
                        ids(l.classification.emotions.clone()),
                        ids(l.classification.themes.clone()),
                    )
                })
                .unwrap_or_default();
            let mut turn_row = TurnRow {
                interaction_id: i.id.clone(),
                pipeline: record.pipeline.clone(),
                occurred_at: i.occurred_at,
                turn_index: index as u32,
                speaker: turn.speaker.as_str().into(),
                at: turn.at,
                language: labels
                    .map(|l| l.classification.language.as_str().to_string())
                    .unwrap_or_else(|| language.clone()),
                text: turn.text.clone(),
                emotions,
                themes,
                version,
                labelled: 1,
                label_kinds: vec![],
                label_names: vec![],
                label_confidences: vec![],
                label_evidence_starts: vec![],
                label_evidence_ends: vec![],
                label_engines: vec![],
            };
            if let Some(l) = labels {
                for (kind, label) in each_label(l) {
                    turn_row.label_kinds.push(kind.into());
                    turn_row.label_names.push(label.label.clone());
                    turn_row.label_confidences.push(label.confidence);
                    turn_row.label_evidence_starts.push(starts(label));
                    turn_row.label_evidence_ends.push(ends(label));
                    turn_row.label_engines.push(l.classification.engine.clone());
                }
            }
            self.turns.push(turn_row);
        }
        for turn in &record.turn_labels {
            for (kind, label) in each_label(turn) {
                self.labels.push(LabelRow {
                    interaction_id: i.id.clone(),
                    pipeline: record.pipeline.clone(),
                    occurred_at: i.occurred_at,
                    turn_index: turn.turn as u32,
                    label_kind: kind.into(),
                    label: label.label.clone(),
                    confidence: label.confidence,
                    evidence_start: starts(label),
                    evidence_end: ends(label),
                    engine: turn.classification.engine.clone(),
                    channel: i.channel.as_str().into(),
                    queue: s(&i.ops.queue),
                    team: s(&i.ops.team),
                    agent: s(&i.ops.agent),
                    product: s(&i.ops.product),
                    language: turn.classification.language.as_str().into(),
                    version,
                });
            }
        }
    }
}

/// A turn's labels with their kinds, in the order they are stored.
fn each_label(t: &TurnLabels) -> impl Iterator<Item = (&'static str, &Label)> {
    let kinds = [
        ("emotion", &t.classification.emotions),
        ("theme", &t.classification.themes),
        ("empathy", &t.empathy),
    ];
    kinds
        .into_iter()
        .flat_map(|(kind, labels)| labels.iter().map(move |l| (kind, l)))
}

fn starts(label: &Label) -> Vec<u32> {
    label.evidence.iter().map(|e| e.start as u32).collect()
}

fn ends(label: &Label) -> Vec<u32> {
    label.evidence.iter().map(|e| e.end as u32).collect()
}
