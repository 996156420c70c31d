//! Analyses behind the dashboard: impact of a label on NPS/CSAT with a
//! confidence interval, the grouped query (dimensions × metrics), one
//! conversation in full, and anomalies of label volume and share.

use super::*;
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------
// Impact of a theme or an emotion on NPS or CSAT
// ---------------------------------------------------------------------------

/// The score an impact is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImpactMetric {
    Nps,
    Csat,
}

/// A score with the answers behind it; `score` is `None` below the minimum sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreN {
    pub score: Option<f64>,
    pub n: u64,
}

/// One label's impact (KPIS.md): the score of all answers minus the score of
/// the answers without the label — what the score would gain if the label
/// went away — with its 95 % confidence interval, next to the scores of the
/// answers with and without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactItem {
    pub label: String,
    pub with: ScoreN,
    pub without: ScoreN,
    /// all − without, in points (= share of answers with the label ×
    /// (with − without)); `None` when either side is withheld.
    pub impact: Option<f64>,
    pub ci95: Option<[f64; 2]>,
}

/// Impact of every label of a family on a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    pub overall: ScoreN,
    /// Sorted by impact ascending (most damaging first); withheld items last.
    pub items: Vec<ImpactItem>,
}

/// A score in proportion units and its sampling variance, from counts.
/// NPS: s = p − d, var = (p + d − (p − d)²) / n (p, d: shares of promoters
/// and detractors). CSAT: s = top-2-box share, var = s(1 − s) / n.
pub fn score_and_variance(metric: ImpactMetric, c: &ScoreCounts) -> Option<(f64, f64, u64)> {
    match metric {
        ImpactMetric::Nps => {
            let n = c.nps_n;
            if n == 0 {
                return None;
            }
            let p = c.promoters as f64 / n as f64;
            let d = c.detractors as f64 / n as f64;
            Some((p - d, (p + d - (p - d).powi(2)) / n as f64, n))
        }
        ImpactMetric::Csat => {
            let n = c.csat_n;
            if n == 0 {
                return None;
            }
            let p = c.csat_top2 as f64 / n as f64;
            Some((p, p * (1.0 - p) / n as f64, n))
        }
    }
}

/// The score in points (NPS −100..100, CSAT %), withheld below `min_n`.
fn score_n(metric: ImpactMetric, c: &ScoreCounts, min_n: u64) -> ScoreN {
    match metric {
        ImpactMetric::Nps => {
            let nps = c.nps(min_n);
            ScoreN {
                score: nps.score,
                n: nps.n,
            }
        }
        ImpactMetric::Csat => {
            let csat = c.csat(min_n);
            ScoreN {
                score: csat.percent,
                n: csat.n,
            }
        }
    }
}

/// Impact in points, all − without = s·(with − without) where s is the share
/// of the answers carrying the label, and its normal-approximation 95 %
/// interval (the variance of with − without, from two independent groups,
/// scaled by s², taking s as fixed); `None` when either group has fewer
/// than `min_n` answers.
pub fn impact_of(
    metric: ImpactMetric,
    with: &ScoreCounts,
    without: &ScoreCounts,
    min_n: u64,
) -> Option<(f64, [f64; 2])> {
    let (sw, vw, nw) = score_and_variance(metric, with)?;
    let (so, vo, no) = score_and_variance(metric, without)?;
    if nw < min_n.max(1) || no < min_n.max(1) {
        return None;
    }
    let share = nw as f64 / (nw + no) as f64;
    let diff = share * (sw - so) * 100.0;
    let half = share * 1.96 * (vw + vo).sqrt() * 100.0;
    Some((round1(diff), [round1(diff - half), round1(diff + half)]))
}

impl Store {
    /// Impact of each theme or emotion on NPS or CSAT among the answers
    /// matching the filters.
    pub async fn impact(
        &self,
        f: &Filters,
        metric: ImpactMetric,
        by: LabelKind,
        min_n: u64,
    ) -> Result<Impact, Error> {
        let keys = [Key::Label(by.into())];
        let need = Need::COUNTS | Need::SCORES;
        let [totals, rows] = self
            .aggregate_all([
                Ask { f, keys: &[], need },
                Ask {
                    f,
                    keys: &keys,
                    need,
                },
            ])
            .await?;
        let all = total_of(totals).scores();
        let mut items: Vec<ImpactItem> = rows
            .into_iter()
            .filter_map(|(k, m)| {
                let with = m.scores();
                let without = all.minus(&with);
                let diff = impact_of(metric, &with, &without, min_n);
                Some(ImpactItem {
                    with: score_n(metric, &with, min_n),
                    without: score_n(metric, &without, min_n),
                    impact: diff.map(|d| d.0),
                    ci95: diff.map(|d| d.1),
                    label: k.into_iter().next()?,
                })
            })
            .filter(|i| i.with.n > 0)
            .collect();
        items.sort_by(|a, b| {
            let key = |i: &ImpactItem| i.impact.unwrap_or(f64::INFINITY);
            key(a)
                .total_cmp(&key(b))
                .then(b.with.n.cmp(&a.with.n))
                .then(a.label.cmp(&b.label))
        });
        Ok(Impact {
            overall: score_n(metric, &all, min_n),
            items,
        })
    }
}

// ---------------------------------------------------------------------------
// Grouped query: dimensions × metrics
// ---------------------------------------------------------------------------

/// What the grouped query can group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupDimension {
    Channel,
    Queue,
    Team,
    Agent,
    Product,
    Language,
    Pipeline,
    Kind,
    Theme,
    Emotion,
    FirstEmotion,
    LastEmotion,
    Day,
    Week,
    Month,
}

impl GroupDimension {
    pub const ALL: [GroupDimension; 15] = [
        GroupDimension::Channel,
        GroupDimension::Queue,
        GroupDimension::Team,
        GroupDimension::Agent,
        GroupDimension::Product,
        GroupDimension::Language,
        GroupDimension::Pipeline,
        GroupDimension::Kind,
        GroupDimension::Theme,
        GroupDimension::Emotion,
        GroupDimension::FirstEmotion,
        GroupDimension::LastEmotion,
        GroupDimension::Day,
        GroupDimension::Week,
        GroupDimension::Month,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GroupDimension::Channel => "channel",
            GroupDimension::Queue => "queue",
            GroupDimension::Team => "team",
            GroupDimension::Agent => "agent",
            GroupDimension::Product => "product",
            GroupDimension::Language => "language",
            GroupDimension::Pipeline => "pipeline",
            GroupDimension::Kind => "kind",
            GroupDimension::Theme => "theme",
            GroupDimension::Emotion => "emotion",
            GroupDimension::FirstEmotion => "first_emotion",
            GroupDimension::LastEmotion => "last_emotion",
            GroupDimension::Day => "day",
            GroupDimension::Week => "week",
            GroupDimension::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<GroupDimension> {
        GroupDimension::ALL.into_iter().find(|d| d.name() == s)
    }

    /// The array column an array dimension unnests, with its alias.
    fn is_time(self) -> bool {
        matches!(
            self,
            GroupDimension::Day | GroupDimension::Week | GroupDimension::Month
        )
    }

    /// The aggregation key of the dimension (dates as YYYY-MM-DD, UTC).
    fn key(self) -> Key {
        match self {
            GroupDimension::Channel => Key::Col("channel"),
            GroupDimension::Queue => Key::Col("queue"),
            GroupDimension::Team => Key::Col("team"),
            GroupDimension::Agent => Key::Col("agent"),
            GroupDimension::Product => Key::Col("product"),
            GroupDimension::Language => Key::Col("language"),
            GroupDimension::Pipeline => Key::Col("pipeline"),
            GroupDimension::Kind => Key::Col("kind"),
            GroupDimension::Theme => Key::Label(Family::Theme),
            GroupDimension::Emotion => Key::Label(Family::Emotion),
            GroupDimension::FirstEmotion => Key::Label(Family::FirstEmotion),
            GroupDimension::LastEmotion => Key::Label(Family::LastEmotion),
            GroupDimension::Day => Key::Date(DatePart::Day),
            GroupDimension::Week => Key::Date(DatePart::Week),
            GroupDimension::Month => Key::Date(DatePart::Month),
        }
    }
}

/// What the grouped query can compute per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupMetric {
    Interactions,
    Share,
    Nps,
    Csat,
    Ces,
    RecoveryRate,
    AgentEmpathy,
    TransferRate,
    RepeatContactRate,
    AhtSeconds,
    AsaSeconds,
}

impl GroupMetric {
    /// The measures the metric is computed from.
    fn need(self) -> Need {
        match self {
            GroupMetric::Interactions | GroupMetric::Share => Need::COUNTS,
            GroupMetric::Nps | GroupMetric::Csat | GroupMetric::Ces => Need::SCORES,
            GroupMetric::RecoveryRate | GroupMetric::AgentEmpathy => Need::MOOD,
            GroupMetric::TransferRate | GroupMetric::AhtSeconds | GroupMetric::AsaSeconds => {
                Need::OPS
            }
            GroupMetric::RepeatContactRate => Need::OPS | Need::REPEATS,
        }
    }

    pub const ALL: [GroupMetric; 11] = [
        GroupMetric::Interactions,
        GroupMetric::Share,
        GroupMetric::Nps,
        GroupMetric::Csat,
        GroupMetric::Ces,
        GroupMetric::RecoveryRate,
        GroupMetric::AgentEmpathy,
        GroupMetric::TransferRate,
        GroupMetric::RepeatContactRate,
        GroupMetric::AhtSeconds,
        GroupMetric::AsaSeconds,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GroupMetric::Interactions => "interactions",
            GroupMetric::Share => "share",
            GroupMetric::Nps => "nps",
            GroupMetric::Csat => "csat",
            GroupMetric::Ces => "ces",
            GroupMetric::RecoveryRate => "recovery_rate",
            GroupMetric::AgentEmpathy => "agent_empathy",
            GroupMetric::TransferRate => "transfer_rate",
            GroupMetric::RepeatContactRate => "repeat_contact_rate",
            GroupMetric::AhtSeconds => "aht_seconds",
            GroupMetric::AsaSeconds => "asa_seconds",
        }
    }

    pub fn parse(s: &str) -> Option<GroupMetric> {
        GroupMetric::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether the metric comes with `<metric>_n` (the answers or contacts behind it).
    pub fn has_n(self) -> bool {
        !matches!(self, GroupMetric::Interactions | GroupMetric::Share)
    }
}

/// A grouped query.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupQuery {
    pub dimensions: Vec<GroupDimension>,
    pub metrics: Vec<GroupMetric>,
    /// Most rows returned.
    pub limit: u32,
    /// Window of the repeat-contact rate, in days.
    pub repeat_window_days: u32,
}

/// One row of a grouped query: the dimension values in order and the
/// metrics as `(name, value)` pairs in output order (`<metric>_n` after each
/// metric that has one).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRowOut {
    pub dimensions: Vec<String>,
    pub values: Vec<(String, serde_json::Value)>,
}

/// The result of a grouped query.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouped {
    pub rows: Vec<GroupRowOut>,
    /// Interactions matching the filters (the denominator of `share`).
    pub total: u64,
    /// More groups than `limit` exist.
    pub truncated: bool,
}

impl Grouped {
    /// The rows as JSON objects: `{dimension: value, metric: value, metric_n: n}`.
    pub fn json_rows(&self, dimensions: &[GroupDimension]) -> Vec<serde_json::Value> {
        self.rows
            .iter()
            .map(|r| {
                let mut o = serde_json::Map::new();
                for (d, v) in dimensions.iter().zip(&r.dimensions) {
                    o.insert(d.name().into(), serde_json::Value::String(v.clone()));
                }
                for (k, v) in &r.values {
                    o.insert(k.clone(), v.clone());
                }
                serde_json::Value::Object(o)
            })
            .collect()
    }
}

fn metric_value(
    m: GroupMetric,
    r: &Measures,
    window_days: u32,
    total: u64,
    min_n: u64,
) -> Vec<(String, Value)> {
    use serde_json::json;
    let mean = |sum: f64, n: u64, digits: fn(f64) -> f64| {
        (n >= min_n.max(1)).then(|| digits(sum / n as f64))
    };
    let s = r.scores();
    let (v, n): (Value, Option<u64>) = match m {
        GroupMetric::Interactions => (json!(r.interactions), None),
        GroupMetric::Share => (json!(share(r.interactions, total)), None),
        GroupMetric::Nps => (json!(s.nps(min_n).score), Some(s.nps_n)),
        GroupMetric::Csat => (json!(s.csat(min_n).percent), Some(s.csat_n)),
        GroupMetric::Ces => (json!(s.ces(min_n).mean), Some(s.ces_n)),
        GroupMetric::RecoveryRate => (
            json!(rate(r.recovered, r.started_negative, min_n)),
            Some(r.started_negative),
        ),
        GroupMetric::AgentEmpathy => (
            json!(mean(r.empathy_sum, r.empathy_n, round2)),
            Some(r.empathy_n),
        ),
        GroupMetric::TransferRate => (
            json!(rate(r.transferred, r.transfers_n, min_n)),
            Some(r.transfers_n),
        ),
        GroupMetric::RepeatContactRate => (
            json!(rate(r.repeats(window_days), r.keyed_contacts, min_n)),
            Some(r.keyed_contacts),
        ),
        GroupMetric::AhtSeconds => (
            json!(mean(r.handle_sum, r.handle_n, round1)),
            Some(r.handle_n),
        ),
        GroupMetric::AsaSeconds => (json!(mean(r.wait_sum, r.wait_n, round1)), Some(r.wait_n)),
    };
    let mut out = vec![(m.name().to_string(), v)];
    if let Some(n) = n {
        out.push((format!("{}_n", m.name()), json!(n)));
    }
    out
}

use serde_json::Value;

impl Store {
    /// Groups the interactions matching the filters by the dimensions and
    /// computes the metrics per group. Array dimensions (theme, emotion,
    /// first/last emotion) count an interaction once per label it carries.
    pub async fn grouped(&self, f: &Filters, q: &GroupQuery, min_n: u64) -> Result<Grouped, Error> {
        let keys: Vec<Key> = q.dimensions.iter().map(|d| d.key()).collect();
        let need = q.metrics.iter().fold(Need::COUNTS, |n, m| n | m.need());
        let mut asks = vec![Ask {
            f,
            keys: &keys,
            need,
        }];
        if q.metrics.contains(&GroupMetric::Share) {
            asks.push(Ask {
                f,
                keys: &[],
                need: Need::COUNTS,
            });
        }
        let mut answers = self.aggregate_many(&asks).await?.into_iter();
        let mut rows = answers.next().unwrap_or_default();
        let total = answers
            .next()
            .map(total_of)
            .unwrap_or_default()
            .interactions;
        if q.dimensions.first().is_some_and(|d| d.is_time()) {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
        } else {
            rows.sort_by(|a, b| b.1.interactions.cmp(&a.1.interactions).then(a.0.cmp(&b.0)));
        }
        let truncated = rows.len() > q.limit as usize;
        rows.truncate(q.limit as usize);
        let rows = rows
            .iter()
            .map(|(dims, m)| GroupRowOut {
                dimensions: dims.clone(),
                values: q
                    .metrics
                    .iter()
                    .flat_map(|metric| metric_value(*metric, m, q.repeat_window_days, total, min_n))
                    .collect(),
            })
            .collect();
        Ok(Grouped {
            rows,
            total,
            truncated,
        })
    }
}

// ---------------------------------------------------------------------------
// One conversation in full
// ---------------------------------------------------------------------------

/// A label of one turn, with its family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnLabel {
    /// `emotion`, `theme` or `empathy`.
    pub kind: String,
    pub label: String,
    #[serde(serialize_with = "escucha_core::classify::serialize_confidence")]
    pub confidence: f32,
    /// Character spans `[start, end)` into the turn's redacted text.
    pub evidence: Vec<[u32; 2]>,
    pub engine: String,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetailTurn {
    pub index: u32,
    pub speaker: String,
    pub at: Option<DateTime<Utc>>,
    pub language: String,
    /// Redacted text.
    pub text: String,
    pub emotions: Vec<String>,
    pub themes: Vec<String>,
    pub labels: Vec<TurnLabel>,
}

/// An interaction-level label: which turns carry it and its best confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionLabel {
    pub kind: String,
    pub label: String,
    #[serde(serialize_with = "escucha_core::classify::serialize_confidence")]
    pub confidence: f32,
    pub turns: Vec<u32>,
}

/// One interaction with every turn and label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionDetail {
    pub interaction_id: String,
    pub pipeline: String,
    pub kind: String,
    pub channel: String,
    pub occurred_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
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
    pub resolved: Option<bool>,
    pub emotions: Vec<String>,
    pub themes: Vec<String>,
    pub first_emotions: Vec<String>,
    pub last_emotions: Vec<String>,
    /// For a conversation that starts negative: whether it ends in relief or
    /// gratitude. `None` otherwise.
    pub recovered: Option<bool>,
    pub agent_empathy: Option<f32>,
    pub turns: Vec<DetailTurn>,
    pub labels: Vec<InteractionLabel>,
}

#[derive(Row, Deserialize)]
struct DetailRow {
    interaction_id: String,
    pipeline: String,
    kind: String,
    channel: String,
    occurred_at: u32,
    ended: Option<u32>,
    language: String,
    queue: String,
    team: String,
    agent: String,
    product: String,
    nps: Option<u8>,
    csat: Option<u8>,
    ces: Option<u8>,
    wait_seconds: Option<u32>,
    handle_seconds: Option<u32>,
    transfers: Option<u32>,
    resolved: Option<u8>,
    agent_empathy: Option<f32>,
    emotions: Vec<String>,
    themes: Vec<String>,
    first_emotions: Vec<String>,
    last_emotions: Vec<String>,
}

/// Whether a conversation recovered: `None` unless it is a transcript whose
/// first emotional state is negative.
pub fn recovered(kind: &str, first: &[String], last: &[String]) -> Option<bool> {
    let negative = escucha_core::taxonomy::NEGATIVE_EMOTIONS;
    (kind == "transcript" && first.iter().any(|e| negative.contains(&e.as_str())))
        .then(|| last.iter().any(|e| e == "relief" || e == "gratitude"))
}

impl Store {
    /// One interaction with its redacted turns, per-turn labels with
    /// evidence, start and end emotions and recovery; `None` when unknown.
    pub async fn interaction(
        &self,
        pipeline: &str,
        id: &str,
    ) -> Result<Option<InteractionDetail>, Error> {
        // Its time first (one column scanned), then its newest version at
        // that time (what FINAL would keep, without merging a whole day).
        #[derive(Row, Deserialize)]
        struct Found {
            t: u32,
            n: u64,
        }
        let found = self
            .client()
            .query(
                "SELECT toUInt32(max(occurred_at)) AS t, toUInt64(count()) AS n FROM interactions \
                 PREWHERE interaction_id = ? WHERE pipeline = ?",
            )
            .bind(id)
            .bind(pipeline)
            .fetch_one::<Found>()
            .await?;
        if found.n == 0 {
            return Ok(None);
        }
        let row = self
            .client()
            .query(
                "SELECT interaction_id, pipeline, kind, channel, occurred_at, \
                 if(isNull(ended_at), NULL, toUInt32(assumeNotNull(ended_at))) AS ended, \
                 language, queue, team, agent, product, nps, csat, ces, wait_seconds, handle_seconds, \
                 transfers, resolved, agent_empathy, emotions, themes, first_emotions, last_emotions \
                 FROM interactions WHERE pipeline = ? AND interaction_id = ? \
                 AND occurred_at = toDateTime(?) ORDER BY version DESC LIMIT 1",
            )
            .bind(pipeline)
            .bind(id)
            .bind(found.t)
            .fetch_all::<DetailRow>()
            .await?
            .into_iter()
            .next();
        let Some(r) = row else {
            return Ok(None);
        };
        let turns = self
            .client()
            .query(&format!(
                "SELECT {TURN_COLUMNS} FROM turns WHERE pipeline = ? AND interaction_id = ? \
                 AND occurred_at = toDateTime(?)"
            ))
            .bind(pipeline)
            .bind(id)
            .bind(r.occurred_at)
            .fetch_all::<TurnRow>()
            .await?;
        // Replayed rows: each turn's and label's newest version, as FINAL keeps.
        let turns = newest(turns, |t| t.turn_index, |t| t.version);
        // Turns carry their labels; those stored before take them from `labels`.
        let stored_apart = if turns.iter().any(|t| t.labelled == 0) {
            self.client()
                .query(&format!(
                    "SELECT {LABEL_COLUMNS} FROM labels WHERE pipeline = ? AND interaction_id = ? \
                     AND occurred_at = toDateTime(?)"
                ))
                .bind(pipeline)
                .bind(id)
                .bind(r.occurred_at)
                .fetch_all::<LabelRow>()
                .await?
        } else {
            Vec::new()
        };
        let mut labels = newest(
            labels_of(&turns, stored_apart),
            |l| (l.turn_index, l.label_kind.clone(), l.label.clone()),
            |l| l.version,
        );
        labels.sort_by(|a, b| {
            (a.turn_index, &a.label_kind)
                .cmp(&(b.turn_index, &b.label_kind))
                .then(b.confidence.total_cmp(&a.confidence))
                .then(a.label.cmp(&b.label))
        });
        let served = |l: &LabelRow| TurnLabel {
            kind: l.label_kind.clone(),
            label: l.label.clone(),
            confidence: l.confidence,
            evidence: l
                .evidence_start
                .iter()
                .zip(&l.evidence_end)
                .map(|(s, e)| [*s, *e])
                .collect(),
            engine: l.engine.clone(),
        };
        let turns = turns
            .into_iter()
            .map(|t| {
                let mine: Vec<&LabelRow> = labels
                    .iter()
                    .filter(|l| l.turn_index == t.turn_index)
                    .collect();
                let ids = |kind: &str| {
                    mine.iter()
                        .filter(|l| l.label_kind == kind)
                        .map(|l| l.label.clone())
                        .collect()
                };
                DetailTurn {
                    index: t.turn_index,
                    speaker: t.speaker,
                    at: t.at.map(ts),
                    language: t.language,
                    text: t.text,
                    emotions: ids("emotion"),
                    themes: ids("theme"),
                    labels: mine.iter().map(|l| served(l)).collect(),
                }
            })
            .collect();
        let mut merged: Vec<InteractionLabel> = Vec::new();
        for l in &labels {
            match merged
                .iter_mut()
                .find(|m| m.kind == l.label_kind && m.label == l.label)
            {
                Some(m) => {
                    m.confidence = m.confidence.max(l.confidence);
                    if !m.turns.contains(&l.turn_index) {
                        m.turns.push(l.turn_index);
                    }
                }
                None => merged.push(InteractionLabel {
                    kind: l.label_kind.clone(),
                    label: l.label.clone(),
                    confidence: l.confidence,
                    turns: vec![l.turn_index],
                }),
            }
        }
        merged.sort_by(|a, b| {
            a.kind
                .cmp(&b.kind)
                .then(b.confidence.total_cmp(&a.confidence))
                .then(a.label.cmp(&b.label))
        });
        Ok(Some(InteractionDetail {
            recovered: recovered(&r.kind, &r.first_emotions, &r.last_emotions),
            interaction_id: r.interaction_id,
            pipeline: r.pipeline,
            kind: r.kind,
            channel: r.channel,
            occurred_at: ts(r.occurred_at),
            ended_at: r.ended.map(ts),
            language: r.language,
            queue: r.queue,
            team: r.team,
            agent: r.agent,
            product: r.product,
            nps: r.nps,
            csat: r.csat,
            ces: r.ces,
            wait_seconds: r.wait_seconds,
            handle_seconds: r.handle_seconds,
            transfers: r.transfers,
            resolved: r.resolved.map(|v| v != 0),
            emotions: r.emotions,
            themes: r.themes,
            first_emotions: r.first_emotions,
            last_emotions: r.last_emotions,
            agent_empathy: r.agent_empathy.map(|e| (e * 100.0).round() / 100.0),
            turns,
            labels: merged,
        }))
    }
}

// ---------------------------------------------------------------------------
// Anomalies
// ---------------------------------------------------------------------------

/// How anomalies are detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalySettings {
    /// An anomaly is a value more than `k` standard deviations from the baseline mean.
    pub k: f64,
    /// Trailing days before the day that form its baseline.
    pub baseline_days: u32,
    /// Baseline days with data needed to judge a day.
    pub min_baseline_days: u32,
    /// The label's count on the day or its baseline mean must reach this.
    pub min_volume: u64,
}

impl Default for AnomalySettings {
    fn default() -> Self {
        AnomalySettings {
            k: 2.0,
            baseline_days: 28,
            min_baseline_days: 14,
            min_volume: 5,
        }
    }
}

/// The segment an anomaly is in; `None` for all interactions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Segment {
    pub dimension: String,
    pub value: String,
}

/// A theme or emotion whose volume or share on a day left its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Stable id: the same anomaly always gets the same id.
    pub id: String,
    /// `theme` or `emotion`.
    pub kind: String,
    pub label: String,
    /// `null` for all interactions matching the filters.
    pub segment: Option<Segment>,
    /// `volume` (interactions carrying the label) or `share` (% of the
    /// interactions with text).
    pub measure: String,
    /// The day, YYYY-MM-DD (UTC).
    pub day: String,
    pub value: f64,
    pub baseline_mean: f64,
    pub baseline_sd: f64,
    /// Baseline days with data.
    pub baseline_days: u32,
    pub z: f64,
    /// `up` or `down`.
    pub direction: String,
}

/// The smallest standard deviation used for z: 1 interaction for volumes,
/// 1 point for shares, so a flat baseline does not make every change infinite.
const SD_FLOOR: f64 = 1.0;

/// Daily counts in one segment, one per day from `first` on:
/// interactions with text, and per label.
#[derive(Debug, Clone)]
pub struct SegmentDays {
    pub first: chrono::NaiveDate,
    pub with_text: Vec<u64>,
    /// `(kind, label)` → interactions carrying it, per day.
    pub labels: BTreeMap<(String, String), Vec<u64>>,
}

/// Running sums of values and of their squares, for the mean and sample
/// standard deviation of any run of them in constant time.
#[derive(Default)]
struct Prefix {
    sums: Vec<f64>,
    squares: Vec<f64>,
}

impl Prefix {
    fn fill(&mut self, values: impl Iterator<Item = f64>) {
        self.sums.clear();
        self.squares.clear();
        let (mut sum, mut squares) = (0.0, 0.0);
        self.sums.push(sum);
        self.squares.push(squares);
        for v in values {
            sum += v;
            squares += v * v;
            self.sums.push(sum);
            self.squares.push(squares);
        }
    }

    /// Mean and sample standard deviation of the values in `run`.
    fn mean_sd(&self, run: &std::ops::Range<usize>) -> (f64, f64) {
        let n = run.len() as f64;
        let sum = self.sums[run.end] - self.sums[run.start];
        let mean = sum / n;
        let var = if run.len() > 1 {
            let squares = self.squares[run.end] - self.squares[run.start];
            (squares - sum * mean).max(0.0) / (n - 1.0)
        } else {
            0.0
        };
        (mean, var.sqrt())
    }
}

/// An anomaly found, before it is written out as an [`Anomaly`] (most are
/// counted, not listed).
struct Found<'a> {
    segment: Option<&'a Segment>,
    kind: &'a str,
    label: &'a str,
    day: chrono::NaiveDate,
    share: bool,
    value: f64,
    mean: f64,
    sd: f64,
    baseline_days: u32,
    z: f64,
}

impl Found<'_> {
    fn measure(&self) -> &'static str {
        if self.share {
            "share"
        } else {
            "volume"
        }
    }

    fn id(&self) -> String {
        let segment = self
            .segment
            .map(|g| format!("{}={}", g.dimension, g.value))
            .unwrap_or_else(|| "all".into());
        format!(
            "{}/{}/{}/{segment}/{}",
            self.day,
            self.kind,
            self.label,
            self.measure()
        )
    }

    /// Strongest first (by |z| as listed, to two decimals), then the latest
    /// day, then by id.
    fn order(&self, other: &Found) -> std::cmp::Ordering {
        round2(other.z)
            .abs()
            .total_cmp(&round2(self.z).abs())
            .then(other.day.cmp(&self.day))
            .then_with(|| self.id().cmp(&other.id()))
    }

    fn anomaly(&self) -> Anomaly {
        Anomaly {
            id: self.id(),
            kind: self.kind.to_string(),
            label: self.label.to_string(),
            segment: self.segment.cloned(),
            measure: self.measure().into(),
            day: self.day.to_string(),
            value: round2(self.value),
            baseline_mean: round2(self.mean),
            baseline_sd: round2(self.sd),
            baseline_days: self.baseline_days,
            z: round2(self.z),
            direction: if self.z > 0.0 { "up" } else { "down" }.into(),
        }
    }
}

/// Judges every day of `days` for every label of a segment against the
/// trailing baseline (sample mean and standard deviation over the
/// baseline days on which the segment had interactions with text).
/// `incomplete` is the day still under way (today): its volume can only be
/// judged upwards, or every morning would look like a collapse.
pub fn detect(
    segment: Option<&Segment>,
    data: &SegmentDays,
    days: &[chrono::NaiveDate],
    incomplete: Option<chrono::NaiveDate>,
    s: &AnomalySettings,
) -> Vec<Anomaly> {
    found_in(segment, data, days, incomplete, s)
        .iter()
        .map(Found::anomaly)
        .collect()
}

/// [`detect`], the anomalies not written out yet.
fn found_in<'a>(
    segment: Option<&'a Segment>,
    data: &'a SegmentDays,
    days: &[chrono::NaiveDate],
    incomplete: Option<chrono::NaiveDate>,
    s: &AnomalySettings,
) -> Vec<Found<'a>> {
    // The days with text in order (as offsets from `first`); each judged
    // day's baseline is a run of them, found once for all labels.
    let text_days: Vec<(i64, u64)> = (0_i64..)
        .zip(&data.with_text)
        .filter(|(_, t)| **t > 0)
        .map(|(i, t)| (i, *t))
        .collect();
    let judged: Vec<(chrono::NaiveDate, usize, std::ops::Range<usize>)> = days
        .iter()
        .filter_map(|&day| {
            let offset = (day - data.first).num_days();
            let at = text_days.binary_search_by_key(&offset, |(i, _)| *i).ok()?;
            let start = offset - i64::from(s.baseline_days);
            let lo = text_days.partition_point(|(i, _)| *i < start);
            let base = lo..at;
            (base.len() >= s.min_baseline_days.max(2) as usize).then_some((day, at, base))
        })
        .collect();
    if judged.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut count_on: Vec<u64> = Vec::with_capacity(text_days.len());
    let (mut volumes, mut shares) = (Prefix::default(), Prefix::default());
    for ((kind, label), counts) in &data.labels {
        count_on.clear();
        count_on.extend(text_days.iter().map(|(i, _)| {
            usize::try_from(*i)
                .ok()
                .and_then(|i| counts.get(i))
                .copied()
                .unwrap_or(0)
        }));
        volumes.fill(count_on.iter().map(|c| *c as f64));
        shares.fill(
            count_on
                .iter()
                .zip(&text_days)
                .map(|(c, (_, t))| *c as f64 * 100.0 / *t as f64),
        );
        for (day, at, base) in &judged {
            let (day, total) = (*day, text_days[*at].1);
            let count = count_on[*at];
            let (vol_mean, vol_sd) = volumes.mean_sd(base);
            if (count as f64).max(vol_mean) < s.min_volume as f64 {
                continue;
            }
            for share in [false, true] {
                let (value, (mean, sd)) = if !share {
                    (count as f64, (vol_mean, vol_sd))
                } else {
                    // A share of a day with few texts means little.
                    if total < s.min_volume {
                        continue;
                    }
                    let value = count as f64 * 100.0 / total as f64;
                    (value, shares.mean_sd(base))
                };
                let sd_used = sd.max(SD_FLOOR);
                let z = (value - mean) / sd_used;
                if z.abs() <= s.k || (!share && z < 0.0 && incomplete == Some(day)) {
                    continue;
                }
                out.push(Found {
                    segment,
                    kind,
                    label,
                    day,
                    share,
                    value,
                    mean,
                    sd: sd_used,
                    baseline_days: base.len() as u32,
                    z,
                });
            }
        }
    }
    out
}

/// Segments anomalies are looked for in, besides all interactions.
pub const ANOMALY_SEGMENTS: [&str; 3] = ["channel", "queue", "product"];

/// The most days anomalies are checked for at once; a longer range is
/// checked for its last `ANOMALY_MAX_DAYS` days.
pub const ANOMALY_MAX_DAYS: u32 = 92;

impl Store {
    /// Anomalies on the days `[first, last]` (UTC) among the interactions
    /// matching the filters (their time bounds are ignored), sorted by |z|.
    /// Only the last [`ANOMALY_MAX_DAYS`] days of a longer range are checked.
    pub async fn anomalies(
        &self,
        f: &Filters,
        first: chrono::NaiveDate,
        last: chrono::NaiveDate,
        s: &AnomalySettings,
    ) -> Result<Vec<Anomaly>, Error> {
        let (_, all) = self
            .anomalies_top(f, first, last, s, &|_, _, _| true, usize::MAX)
            .await?;
        Ok(all)
    }

    /// [`Store::anomalies`] of the labels and measures `keep(kind, label,
    /// measure)` accepts: how many, and the first `limit` of them.
    pub async fn anomalies_top(
        &self,
        f: &Filters,
        first: chrono::NaiveDate,
        last: chrono::NaiveDate,
        s: &AnomalySettings,
        keep: &(dyn Fn(&str, &str, &str) -> bool + Sync),
        limit: usize,
    ) -> Result<(usize, Vec<Anomaly>), Error> {
        let first = first.max(last - chrono::Duration::days(i64::from(ANOMALY_MAX_DAYS) - 1));
        let start = first - chrono::Duration::days(i64::from(s.baseline_days));
        // Per segment dimension (none = all): daily interactions with text,
        // and daily interactions with text per emotion and per theme.
        let mut groupings = Vec::new();
        for dim in std::iter::once(None).chain(ANOMALY_SEGMENTS.iter().copied().map(Some)) {
            for family in [None, Some(Family::EmotionOrTheme)] {
                let mut keys = Vec::new();
                keys.extend(dim.map(Key::Col));
                keys.extend(family.map(Key::Label));
                groupings.push((dim, family, keys));
            }
        }
        let asks: Vec<&[Key]> = groupings.iter().map(|(_, _, k)| k.as_slice()).collect();
        let answers = self.daily_with_text(f, &asks, start, last).await?;
        // Segment → its days; `None` is all interactions.
        let mut segments: BTreeMap<Option<Segment>, SegmentDays> = BTreeMap::new();
        for ((dim, family, _), groups) in groupings.iter().zip(answers) {
            for (k, counts) in groups {
                let segment = match (dim, k.first()) {
                    (None, _) => None,
                    (Some(dim), Some(value)) if !value.is_empty() => Some(Segment {
                        dimension: dim.to_string(),
                        value: value.clone(),
                    }),
                    // Interactions without a value in this dimension.
                    (Some(_), _) => continue,
                };
                let entry = segments.entry(segment).or_insert_with(|| SegmentDays {
                    first: start,
                    with_text: vec![0; counts.len()],
                    labels: BTreeMap::new(),
                });
                match family {
                    None => entry.with_text = counts,
                    Some(_) => {
                        let Some((kind, label)) = k.last().and_then(|l| Family::kind_and_label(l))
                        else {
                            continue;
                        };
                        entry
                            .labels
                            .insert((kind.to_string(), label.to_string()), counts);
                    }
                }
            }
        }
        let days: Vec<chrono::NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
        let today = Some(chrono::Utc::now().date_naive());
        let mut found: Vec<Found> = segments
            .iter()
            .flat_map(|(segment, data)| found_in(segment.as_ref(), data, &days, today, s))
            .filter(|a| keep(a.kind, a.label, a.measure()))
            .collect();
        let total = found.len();
        if limit < total {
            found.select_nth_unstable_by(limit, Found::order);
            found.truncate(limit);
        }
        found.sort_by(Found::order);
        Ok((total, found.iter().map(Found::anomaly).collect()))
    }

    /// Ids of the anomalies already sent to `webhook`.
    pub async fn alerts_sent(&self, webhook: &str) -> Result<BTreeSet<String>, Error> {
        #[derive(Row, Deserialize)]
        struct Id {
            anomaly_id: String,
        }
        Ok(self
            .client()
            .query("SELECT anomaly_id FROM alerts_sent FINAL WHERE webhook = ?")
            .bind(webhook)
            .fetch_all::<Id>()
            .await?
            .into_iter()
            .map(|r| r.anomaly_id)
            .collect())
    }

    /// Records that an anomaly was delivered to `webhook`.
    pub async fn record_alert_sent(&self, anomaly_id: &str, webhook: &str) -> Result<(), Error> {
        self.client()
            .query("INSERT INTO alerts_sent (anomaly_id, webhook, sent_at) VALUES (?, ?, now())")
            .bind(anomaly_id)
            .bind(webhook)
            .execute()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn nps_impact_and_interval_match_hand_computation() {
        // With the theme: 10 answers, 2 promoters, 6 detractors → −40,
        // var = (0.2 + 0.6 − 0.16) / 10 = 0.064.
        // Without: 20 answers, 10 promoters, 4 detractors → 30,
        // var = (0.5 + 0.2 − 0.09) / 20 = 0.0305.
        // With − without −70, share with 10 / 30 → impact −23.3 (all 30 answers:
        // 12 promoters, 10 detractors → 6.7; 6.7 − 30 = −23.3);
        // half-width 1.96 × √0.0945 × 100 / 3 = 20.08 → [−43.4, −3.2].
        let with = ScoreCounts {
            nps_n: 10,
            promoters: 2,
            detractors: 6,
            ..Default::default()
        };
        let without = ScoreCounts {
            nps_n: 20,
            promoters: 10,
            detractors: 4,
            ..Default::default()
        };
        let (impact, ci) = impact_of(ImpactMetric::Nps, &with, &without, 5).unwrap();
        assert_eq!(impact, -23.3);
        assert_eq!(ci, [-43.4, -3.2]);
        assert_eq!(impact_of(ImpactMetric::Nps, &with, &without, 11), None);
    }

    #[test]
    fn csat_impact_is_a_difference_of_two_proportions() {
        // With: 4 of 10 satisfied (0.4, var 0.024); without: 16 of 20 (0.8, var 0.008).
        // −40 points with − without, share 1 / 3 → −13.3 (all 20 / 30 = 66.7 %
        // − 80 %); half-width 1.96 × √0.032 × 100 / 3 = 11.69 → [−25.0, −1.6].
        let with = ScoreCounts {
            csat_n: 10,
            csat_top2: 4,
            ..Default::default()
        };
        let without = ScoreCounts {
            csat_n: 20,
            csat_top2: 16,
            ..Default::default()
        };
        let (impact, ci) = impact_of(ImpactMetric::Csat, &with, &without, 5).unwrap();
        assert_eq!(impact, -13.3);
        assert_eq!(ci, [-25.0, -1.6]);
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + chrono::Duration::days(i64::from(n))
    }

    /// A segment from `day(0)` on with one theme.
    fn segment_days(with_text: Vec<u64>, theme: &str, counts: Vec<u64>) -> SegmentDays {
        SegmentDays {
            first: day(0),
            with_text,
            labels: [(("theme".to_string(), theme.to_string()), counts)].into(),
        }
    }

    #[test]
    fn running_sums_give_the_two_pass_mean_and_sd() {
        // Counts as large as 10 M interactions a year give, and shares.
        let values: Vec<f64> = (0..120_u64)
            .map(|i| ((i * 7_919 + 13) % 30_011) as f64 + (i % 3) as f64 / 7.0)
            .collect();
        let mut p = Prefix::default();
        p.fill(values.iter().copied());
        for run in [0..1, 0..2, 3..31, 50..78, 92..120, 0..120] {
            let v = &values[run.clone()];
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let sd = match v.len() {
                1 => 0.0,
                _ => (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt(),
            };
            let (m, s) = p.mean_sd(&run);
            assert!(
                (m - mean).abs() < 1e-9 && (s - sd).abs() < 1e-6,
                "{run:?}: {m} {s} vs {mean} {sd}"
            );
        }
    }

    #[test]
    fn days_without_text_are_left_out_of_the_baseline() {
        // 30 days, every third without text (and no label): the 20 days
        // with text form the baseline of day 30, as in the test below.
        let mut with_text = Vec::new();
        let mut counts = Vec::new();
        let mut n = 0;
        while with_text.len() < 30 {
            if with_text.len() % 3 == 2 {
                with_text.push(0);
                counts.push(0);
            } else {
                with_text.push(10);
                counts.push(if n % 2 == 0 { 2 } else { 4 });
                n += 1;
            }
        }
        with_text.push(20);
        counts.push(12);
        let data = segment_days(with_text, "long_wait", counts);
        let s = AnomalySettings {
            baseline_days: 30,
            ..AnomalySettings::default()
        };
        let found = detect(None, &data, &[day(30)], None, &s);
        let volume = found.iter().find(|a| a.measure == "volume").unwrap();
        assert_eq!(volume.baseline_days, 20);
        assert_eq!((volume.baseline_mean, volume.baseline_sd), (3.0, 1.03));
        // A day without text is never judged; nor is a day beyond the data.
        assert!(detect(None, &data, &[day(29), day(40)], None, &s).is_empty());
    }

    #[test]
    fn a_day_beyond_k_standard_deviations_is_an_anomaly() {
        // 20 baseline days: 10 texts a day, the label on 2 or 4 of them
        // alternately (mean 3, sample sd √(20/19) = 1.026); day 20: 12 of 20.
        let mut with_text = vec![10; 20];
        let mut counts: Vec<u64> = (0..20).map(|d| if d % 2 == 0 { 2 } else { 4 }).collect();
        with_text.push(20);
        counts.push(12);
        let data = segment_days(with_text, "long_wait", counts);
        let s = AnomalySettings::default();
        let found = detect(None, &data, &[day(20)], None, &s);
        let volume = found.iter().find(|a| a.measure == "volume").unwrap();
        assert_eq!(volume.value, 12.0);
        assert_eq!(volume.baseline_mean, 3.0);
        assert_eq!(volume.baseline_sd, 1.03);
        // z = 9 / 1.026 = 8.77
        assert_eq!(volume.z, 8.77);
        assert_eq!(volume.direction, "up");
        assert_eq!(volume.id, "2026-10-21/theme/long_wait/all/volume");
        // Share: 60 % against 20 % or 40 % (mean 30, sd 10.26) → z 2.92.
        let share = found.iter().find(|a| a.measure == "share").unwrap();
        assert_eq!((share.value, share.baseline_mean), (60.0, 30.0));
        assert_eq!(share.z, 2.92);
        // k = 3 keeps the volume anomaly only.
        let strict = AnomalySettings {
            k: 3.0,
            ..s.clone()
        };
        assert_eq!(detect(None, &data, &[day(20)], None, &strict).len(), 1);
        // Too few baseline days: nothing is judged.
        let long = AnomalySettings {
            min_baseline_days: 21,
            ..s.clone()
        };
        assert!(detect(None, &data, &[day(20)], None, &long).is_empty());
        // Below the minimum volume: nothing is judged.
        let big = AnomalySettings {
            min_volume: 13,
            ..s
        };
        assert!(detect(None, &data, &[day(20)], None, &big).is_empty());
    }

    #[test]
    fn the_day_under_way_is_not_a_collapse() {
        // 20 baseline days with 10 a day; today so far: 20 texts, 1 with the label.
        let mut with_text = vec![100; 20];
        let mut counts: Vec<u64> = (0..20).map(|d| if d % 2 == 0 { 9 } else { 11 }).collect();
        with_text.push(20);
        counts.push(1);
        let data = segment_days(with_text, "transfer", counts);
        let s = AnomalySettings::default();
        let past = detect(None, &data, &[day(20)], None, &s);
        assert!(past
            .iter()
            .any(|a| a.measure == "volume" && a.direction == "down"));
        let today = detect(None, &data, &[day(20)], Some(day(20)), &s);
        assert!(today.iter().all(|a| a.measure != "volume"), "{today:?}");
    }

    #[test]
    fn recovery_needs_a_negative_start() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            recovered("transcript", &v(&["anger"]), &v(&["gratitude"])),
            Some(true)
        );
        assert_eq!(
            recovered("transcript", &v(&["anger"]), &v(&["anger"])),
            Some(false)
        );
        assert_eq!(recovered("transcript", &v(&["relief"]), &v(&[])), None);
        assert_eq!(recovered("survey", &v(&["anger"]), &v(&["relief"])), None);
    }
}
