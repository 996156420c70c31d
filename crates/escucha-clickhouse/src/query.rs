//! The aggregate and drill-down queries the API serves.
//!
//! Every query reads with `FINAL`, so replayed rows are never counted twice,
//! and every user value reaches the SQL through the client's escaping `bind`.

use crate::error::Error;
use crate::store::Store;
use chrono::{DateTime, Utc};
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Filters shared by every aggregate and list query. Values are already
/// validated by the caller; empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub channel: Vec<String>,
    pub queue: Vec<String>,
    pub team: Vec<String>,
    pub agent: Vec<String>,
    pub product: Vec<String>,
    pub language: Vec<String>,
    pub pipeline: Vec<String>,
    pub kind: Vec<String>,
    /// Interactions carrying any of these emotions.
    pub emotion: Vec<String>,
    /// Interactions carrying any of these themes.
    pub theme: Vec<String>,
}

/// A value bound into a query.
#[derive(Debug, Clone)]
enum Arg {
    Str(String),
    List(Vec<String>),
    Time(i64),
}

/// SQL text plus its bound values, in order.
#[derive(Debug, Default, Clone)]
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn arg(&mut self, a: Arg) -> &mut Self {
        self.text.push('?');
        self.args.push(a);
        self
    }

    fn query(&self, store: &Store) -> clickhouse::query::Query {
        let mut q = store.client().query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Str(s) => q.bind(s.as_str()),
                Arg::List(l) => q.bind(l.as_slice()),
                Arg::Time(t) => q.bind(*t),
            };
        }
        q
    }
}

impl Filters {
    /// ` AND ...` conditions for the `interactions` table.
    fn conditions(&self, sql: &mut Sql) {
        if let Some(from) = self.from {
            sql.push(" AND occurred_at >= toDateTime(")
                .arg(Arg::Time(from.timestamp()))
                .push(")");
        }
        if let Some(to) = self.to {
            sql.push(" AND occurred_at < toDateTime(")
                .arg(Arg::Time(to.timestamp()))
                .push(")");
        }
        let dims: [(&str, &Vec<String>); 8] = [
            ("channel", &self.channel),
            ("queue", &self.queue),
            ("team", &self.team),
            ("agent", &self.agent),
            ("product", &self.product),
            ("language", &self.language),
            ("pipeline", &self.pipeline),
            ("kind", &self.kind),
        ];
        for (column, values) in dims {
            if !values.is_empty() {
                sql.push(" AND has(")
                    .arg(Arg::List(values.clone()))
                    .push(&format!(", {column})"));
            }
        }
        if !self.emotion.is_empty() {
            sql.push(" AND hasAny(emotions, ")
                .arg(Arg::List(self.emotion.clone()))
                .push(")");
        }
        if !self.theme.is_empty() {
            sql.push(" AND hasAny(themes, ")
                .arg(Arg::List(self.theme.clone()))
                .push(")");
        }
    }

    fn without_time(&self) -> Filters {
        Filters {
            from: None,
            to: None,
            ..self.clone()
        }
    }
}

/// Counts of survey answers, additive across groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreCounts {
    pub nps_n: u64,
    pub promoters: u64,
    pub detractors: u64,
    pub csat_n: u64,
    pub csat_top2: u64,
    pub csat_sum: u64,
    pub ces_n: u64,
    pub ces_top: u64,
    pub ces_sum: u64,
}

impl ScoreCounts {
    fn minus(&self, o: &ScoreCounts) -> ScoreCounts {
        ScoreCounts {
            nps_n: self.nps_n.saturating_sub(o.nps_n),
            promoters: self.promoters.saturating_sub(o.promoters),
            detractors: self.detractors.saturating_sub(o.detractors),
            csat_n: self.csat_n.saturating_sub(o.csat_n),
            csat_top2: self.csat_top2.saturating_sub(o.csat_top2),
            csat_sum: self.csat_sum.saturating_sub(o.csat_sum),
            ces_n: self.ces_n.saturating_sub(o.ces_n),
            ces_top: self.ces_top.saturating_sub(o.ces_top),
            ces_sum: self.ces_sum.saturating_sub(o.ces_sum),
        }
    }
}

/// The negative emotions as an SQL array literal (constant ids, not input).
fn negative_array() -> String {
    sql_array(&escucha_core::taxonomy::NEGATIVE_EMOTIONS)
}

/// Constant label ids (never input) as an SQL array literal.
fn sql_array(ids: &[&str]) -> String {
    let ids: Vec<String> = ids.iter().map(|e| format!("'{e}'")).collect();
    format!("[{}]", ids.join(", "))
}

/// Score-count columns, each restricted by `cond` (an SQL boolean).
/// Comparisons on Nullable columns are wrapped in `ifNull` so every column
/// is a plain `UInt64` (ClickHouse 18.16 keeps them Nullable otherwise).
fn score_columns(cond: &str) -> String {
    format!(
        "toUInt64(countIf({cond} AND isNotNull(nps))) AS nps_n, \
         toUInt64(countIf({cond} AND ifNull(nps >= 9, 0))) AS promoters, \
         toUInt64(countIf({cond} AND ifNull(nps <= 6, 0))) AS detractors, \
         toUInt64(countIf({cond} AND isNotNull(csat))) AS csat_n, \
         toUInt64(countIf({cond} AND ifNull(csat >= 4, 0))) AS csat_top2, \
         toUInt64(sumIf(ifNull(csat, 0), {cond})) AS csat_sum, \
         toUInt64(countIf({cond} AND isNotNull(ces))) AS ces_n, \
         toUInt64(countIf({cond} AND ifNull(ces >= 5, 0))) AS ces_top, \
         toUInt64(sumIf(ifNull(ces, 0), {cond})) AS ces_sum"
    )
}

/// Row types whose trailing columns are [`score_columns`].
macro_rules! with_scores {
    ($(#[$m:meta])* struct $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Row, Deserialize)]
        struct $name {
            $($field: $ty,)*
            nps_n: u64,
            promoters: u64,
            detractors: u64,
            csat_n: u64,
            csat_top2: u64,
            csat_sum: u64,
            ces_n: u64,
            ces_top: u64,
            ces_sum: u64,
        }

        impl $name {
            fn scores(&self) -> ScoreCounts {
                ScoreCounts {
                    nps_n: self.nps_n,
                    promoters: self.promoters,
                    detractors: self.detractors,
                    csat_n: self.csat_n,
                    csat_top2: self.csat_top2,
                    csat_sum: self.csat_sum,
                    ces_n: self.ces_n,
                    ces_top: self.ces_top,
                    ces_sum: self.ces_sum,
                }
            }
        }
    };
}

/// NPS on 0–10: % promoters (9–10) − % detractors (0–6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nps {
    pub n: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// −100..100; `None` when `n` is below the minimum sample.
    pub score: Option<f64>,
}

/// CSAT on 1–5: top-2-box % (answers 4–5) and mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    pub n: u64,
    pub percent: Option<f64>,
    pub mean: Option<f64>,
}

/// CES 2.0 on 1–7 (7 = very easy): mean and % of 5–7.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ces {
    pub n: u64,
    pub mean: Option<f64>,
    pub percent_easy: Option<f64>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl ScoreCounts {
    /// NPS per KPIS.md, withheld below `min_n` answers.
    pub fn nps(&self, min_n: u64) -> Nps {
        let n = self.nps_n;
        let score = (n >= min_n.max(1))
            .then(|| round1((self.promoters as f64 - self.detractors as f64) * 100.0 / n as f64));
        Nps {
            n,
            promoters: self.promoters,
            passives: n - self.promoters - self.detractors,
            detractors: self.detractors,
            score,
        }
    }

    /// CSAT per KPIS.md, withheld below `min_n` answers.
    pub fn csat(&self, min_n: u64) -> Csat {
        let ok = self.csat_n >= min_n.max(1);
        Csat {
            n: self.csat_n,
            percent: ok.then(|| round1(self.csat_top2 as f64 * 100.0 / self.csat_n as f64)),
            mean: ok.then(|| round2(self.csat_sum as f64 / self.csat_n as f64)),
        }
    }

    /// CES per KPIS.md, withheld below `min_n` answers.
    pub fn ces(&self, min_n: u64) -> Ces {
        let ok = self.ces_n >= min_n.max(1);
        Ces {
            n: self.ces_n,
            mean: ok.then(|| round2(self.ces_sum as f64 / self.ces_n as f64)),
            percent_easy: ok.then(|| round1(self.ces_top as f64 * 100.0 / self.ces_n as f64)),
        }
    }
}

/// Count and share of one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelCount {
    pub label: String,
    pub count: u64,
    /// Share of interactions with classified text, in % (0–100).
    pub share: f64,
}

/// Transcripts that start negative and end in relief or gratitude.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// Transcripts whose first emotional customer turn is negative.
    pub started_negative: u64,
    /// Of those, the ones whose last emotional customer turn carries relief or gratitude.
    pub recovered: u64,
    /// recovered ÷ started_negative × 100; `None` below the minimum sample.
    pub rate: Option<f64>,
}

/// Net emotion per KPIS.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetEmotion {
    /// Interactions with classified text (the denominator).
    pub n: u64,
    /// Interactions carrying surprise, familiarity, relief, gratitude or belonging.
    pub loyalty: u64,
    /// Interactions carrying frustration, anger or disappointment.
    pub detracting: u64,
    /// loyalty % − detracting %, −100..100; `None` below the minimum sample.
    pub score: Option<f64>,
}

impl NetEmotion {
    pub fn new(loyalty: u64, detracting: u64, n: u64, min_n: u64) -> NetEmotion {
        NetEmotion {
            n,
            loyalty,
            detracting,
            score: (n >= min_n.max(1))
                .then(|| round1((loyalty as f64 - detracting as f64) * 100.0 / n as f64)),
        }
    }
}

/// Agent empathy over conversations with agent turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Empathy {
    pub n: u64,
    /// Mean conversation empathy in [0, 1]; `None` below the minimum sample.
    pub mean: Option<f64>,
}

/// The headline numbers for a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub interactions: u64,
    pub surveys: u64,
    pub transcripts: u64,
    /// Interactions with classified text (the denominator of shares).
    pub with_text: u64,
    pub recovery: Recovery,
    pub agent_empathy: Empathy,
    /// % of interactions with text carrying a loyalty emotion − % carrying
    /// frustration, anger or disappointment (KPIS.md).
    pub net_emotion: NetEmotion,
    pub nps: Nps,
    pub csat: Csat,
    pub ces: Ces,
    pub emotions: Vec<LabelCount>,
    pub themes: Vec<LabelCount>,
}

with_scores!(
    struct TotalsRow {
        interactions: u64,
        surveys: u64,
        transcripts: u64,
        with_text: u64,
        started_negative: u64,
        recovered: u64,
        empathy_n: u64,
        empathy_sum: f64,
        loyal: u64,
        detracting: u64,
    }
);

#[derive(Row, Deserialize)]
struct LabelCountRow {
    label: String,
    count: u64,
}

/// Which label family a query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    Emotion,
    Theme,
}

impl LabelKind {
    fn column(self) -> &'static str {
        match self {
            LabelKind::Emotion => "emotions",
            LabelKind::Theme => "themes",
        }
    }
}

fn share(count: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        round1(count as f64 * 100.0 / total as f64)
    }
}

impl Store {
    async fn totals(&self, f: &Filters) -> Result<TotalsRow, Error> {
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT toUInt64(count()) AS interactions, \
             toUInt64(countIf(kind = 'survey')) AS surveys, \
             toUInt64(countIf(kind = 'transcript')) AS transcripts, \
             toUInt64(countIf(has_text = 1)) AS with_text, \
             toUInt64(countIf(kind = 'transcript' AND hasAny(first_emotions, {neg}))) AS started_negative, \
             toUInt64(countIf(kind = 'transcript' AND hasAny(first_emotions, {neg}) \
                 AND hasAny(last_emotions, ['relief', 'gratitude']))) AS recovered, \
             toUInt64(countIf(isNotNull(agent_empathy))) AS empathy_n, \
             toFloat64(sum(ifNull(agent_empathy, 0))) AS empathy_sum, \
             toUInt64(countIf(has_text = 1 AND hasAny(emotions, {loyal}))) AS loyal, \
             toUInt64(countIf(has_text = 1 AND hasAny(emotions, {detracting}))) AS detracting, {} \
             FROM interactions FINAL WHERE 1",
            score_columns("1"),
            neg = negative_array(),
            loyal = sql_array(&escucha_core::taxonomy::LOYALTY_EMOTIONS),
            detracting = sql_array(&escucha_core::taxonomy::DETRACTING_EMOTIONS)
        ));
        f.conditions(&mut sql);
        Ok(sql.query(self).fetch_one::<TotalsRow>().await?)
    }

    async fn label_counts(
        &self,
        f: &Filters,
        kind: LabelKind,
    ) -> Result<Vec<LabelCountRow>, Error> {
        let col = kind.column();
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT label, toUInt64(count()) AS count FROM (SELECT {col} FROM interactions FINAL WHERE 1"
        ));
        f.conditions(&mut sql);
        sql.push(&format!(
            ") ARRAY JOIN {col} AS label GROUP BY label ORDER BY count DESC, label"
        ));
        Ok(sql.query(self).fetch_all::<LabelCountRow>().await?)
    }

    /// Interactions, surveys, NPS/CSAT/CES with their n, and counts and
    /// shares per emotion and theme.
    pub async fn summary(&self, f: &Filters, min_n: u64) -> Result<Summary, Error> {
        let totals = self.totals(f).await?;
        let to_counts = |rows: Vec<LabelCountRow>| {
            rows.into_iter()
                .map(|r| LabelCount {
                    share: share(r.count, totals.with_text),
                    label: r.label,
                    count: r.count,
                })
                .collect()
        };
        let emotions = to_counts(self.label_counts(f, LabelKind::Emotion).await?);
        let themes = to_counts(self.label_counts(f, LabelKind::Theme).await?);
        Ok(Summary {
            interactions: totals.interactions,
            surveys: totals.surveys,
            transcripts: totals.transcripts,
            with_text: totals.with_text,
            recovery: Recovery {
                started_negative: totals.started_negative,
                recovered: totals.recovered,
                rate: (totals.started_negative >= min_n.max(1)).then(|| {
                    round1(totals.recovered as f64 * 100.0 / totals.started_negative as f64)
                }),
            },
            agent_empathy: Empathy {
                n: totals.empathy_n,
                mean: (totals.empathy_n >= min_n.max(1))
                    .then(|| round2(totals.empathy_sum / totals.empathy_n as f64)),
            },
            net_emotion: NetEmotion::new(totals.loyal, totals.detracting, totals.with_text, min_n),
            nps: totals.scores().nps(min_n),
            csat: totals.scores().csat(min_n),
            ces: totals.scores().ces(min_n),
            emotions,
            themes,
        })
    }
}

/// Time bucket width of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Hour,
    Day,
    Week,
    Month,
}

impl Interval {
    fn bucket_expr(self) -> &'static str {
        match self {
            Interval::Hour => "toStartOfHour(occurred_at)",
            Interval::Day => "toStartOfDay(occurred_at)",
            Interval::Week => "toDateTime(toMonday(occurred_at))",
            Interval::Month => "toDateTime(toStartOfMonth(occurred_at))",
        }
    }
}

/// One bucket of a label time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub start: DateTime<Utc>,
    /// Every interaction in the bucket.
    pub volume: u64,
    /// Interactions with classified text in the bucket.
    pub with_text: u64,
    /// NPS of the bucket's answers (`score` withheld below the minimum sample).
    pub nps: Nps,
    pub csat: Csat,
    pub ces: Ces,
    /// Count per label (labels with no interaction in the bucket are absent).
    pub counts: BTreeMap<String, u64>,
}

with_scores!(
    struct BucketTotalRow {
        bucket: u32,
        volume: u64,
        with_text: u64,
    }
);

#[derive(Row, Deserialize)]
struct BucketLabelRow {
    bucket: u32,
    label: String,
    count: u64,
}

impl Store {
    /// Counts per label and time bucket, with each bucket's volume and
    /// NPS, CSAT and CES (withheld below `min_n` answers).
    pub async fn series(
        &self,
        f: &Filters,
        kind: LabelKind,
        interval: Interval,
        min_n: u64,
    ) -> Result<Vec<SeriesPoint>, Error> {
        let bucket = interval.bucket_expr();
        let col = kind.column();
        let mut totals = Sql::default();
        totals.push(&format!(
            "SELECT toUInt32({bucket}) AS bucket, toUInt64(count()) AS volume, \
             toUInt64(countIf(has_text = 1)) AS with_text, {} \
             FROM interactions FINAL WHERE 1",
            score_columns("1")
        ));
        f.conditions(&mut totals);
        totals.push(" GROUP BY bucket ORDER BY bucket");
        let mut labels = Sql::default();
        labels.push(&format!(
            "SELECT toUInt32({bucket}) AS bucket, label, toUInt64(count()) AS count \
             FROM (SELECT occurred_at, {col} FROM interactions FINAL WHERE 1"
        ));
        f.conditions(&mut labels);
        labels.push(&format!(
            ") ARRAY JOIN {col} AS label GROUP BY bucket, label ORDER BY bucket, label"
        ));
        let totals = totals.query(self).fetch_all::<BucketTotalRow>().await?;
        let labels = labels.query(self).fetch_all::<BucketLabelRow>().await?;
        let mut points: BTreeMap<u32, SeriesPoint> = totals
            .into_iter()
            .map(|t| {
                let start = DateTime::from_timestamp(i64::from(t.bucket), 0).unwrap_or_default();
                (
                    t.bucket,
                    SeriesPoint {
                        start,
                        volume: t.volume,
                        with_text: t.with_text,
                        nps: t.scores().nps(min_n),
                        csat: t.scores().csat(min_n),
                        ces: t.scores().ces(min_n),
                        counts: BTreeMap::new(),
                    },
                )
            })
            .collect();
        for l in labels {
            if let Some(p) = points.get_mut(&l.bucket) {
                p.counts.insert(l.label, l.count);
            }
        }
        Ok(points.into_values().collect())
    }
}

/// A process gap with its volume, trend and effect on scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub theme: String,
    pub count: u64,
    /// % of interactions with classified text in the period.
    pub share: f64,
    pub previous_count: u64,
    pub previous_share: f64,
    /// Change of `count` against the previous period, in % (`None` when it had none).
    pub change: Option<f64>,
    pub nps_with: Nps,
    pub nps_without: Nps,
    pub csat_with: Csat,
    pub csat_without: Csat,
}

/// Process gaps for a period and the one before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gaps {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub previous_from: DateTime<Utc>,
    pub with_text: u64,
    pub previous_with_text: u64,
    pub gaps: Vec<Gap>,
}

with_scores!(
    struct GapRow {
        label: String,
        count: u64,
        previous_count: u64,
    }
);

impl Store {
    /// Themes ranked by volume in `[from, to)`, compared with the period of
    /// the same length just before; NPS and CSAT of answers with and without
    /// each theme.
    pub async fn gaps(
        &self,
        f: &Filters,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        min_n: u64,
    ) -> Result<Gaps, Error> {
        let previous_from = from - (to - from);
        let current = Filters {
            from: Some(from),
            to: Some(to),
            ..f.clone()
        };
        let previous = Filters {
            from: Some(previous_from),
            to: Some(from),
            ..f.clone()
        };
        let totals = self.totals(&current).await?;
        let prev_totals = self.totals(&previous).await?;
        let scores = score_columns("cur");
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT label, toUInt64(countIf(cur)) AS count, toUInt64(countIf(NOT cur)) AS previous_count, {scores} \
             FROM (SELECT themes, nps, csat, ces, occurred_at >= toDateTime("
        ))
        .arg(Arg::Time(from.timestamp()))
        .push(") AS cur FROM interactions FINAL WHERE 1");
        Filters {
            from: Some(previous_from),
            to: Some(to),
            ..f.without_time()
        }
        .conditions(&mut sql);
        sql.push(") ARRAY JOIN themes AS label GROUP BY label ORDER BY count DESC, label");
        let rows = sql.query(self).fetch_all::<GapRow>().await?;
        let gaps = rows
            .into_iter()
            .filter(|r| r.count > 0 || r.previous_count > 0)
            .map(|r| {
                let with = r.scores();
                let without = totals.scores().minus(&with);
                Gap {
                    share: share(r.count, totals.with_text),
                    previous_share: share(r.previous_count, prev_totals.with_text),
                    change: (r.previous_count > 0).then(|| {
                        round1(
                            (r.count as f64 - r.previous_count as f64) * 100.0
                                / r.previous_count as f64,
                        )
                    }),
                    nps_with: with.nps(min_n),
                    nps_without: without.nps(min_n),
                    csat_with: with.csat(min_n),
                    csat_without: without.csat(min_n),
                    theme: r.label,
                    count: r.count,
                    previous_count: r.previous_count,
                }
            })
            .collect();
        Ok(Gaps {
            from,
            to,
            previous_from,
            with_text: totals.with_text,
            previous_with_text: prev_totals.with_text,
            gaps,
        })
    }
}

/// Where a page of the drill-down starts: strictly after this row in
/// `(occurred_at DESC, pipeline DESC, interaction_id DESC)` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub occurred_at: i64,
    pub pipeline: String,
    pub interaction_id: String,
}

/// One label with its evidence, as served by the drill-down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedLabel {
    pub label: String,
    #[serde(serialize_with = "escucha_core::classify::serialize_confidence")]
    pub confidence: f32,
    /// Character spans into the turn's redacted text.
    pub evidence: Vec<[u32; 2]>,
    pub engine: String,
}

/// A redacted turn with its labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedTurn {
    pub index: u32,
    pub speaker: String,
    pub at: Option<DateTime<Utc>>,
    pub language: String,
    pub text: String,
    pub emotions: Vec<ServedLabel>,
    pub themes: Vec<ServedLabel>,
    /// Agent empathy signals (agent turns only).
    pub empathy: Vec<ServedLabel>,
}

/// One interaction in the drill-down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedInteraction {
    pub id: String,
    pub pipeline: String,
    pub kind: String,
    pub channel: String,
    pub occurred_at: DateTime<Utc>,
    pub language: String,
    pub queue: String,
    pub team: String,
    pub agent: String,
    pub product: String,
    pub nps: Option<u8>,
    pub csat: Option<u8>,
    pub ces: Option<u8>,
    pub wait_seconds: Option<u32>,
    pub transfers: Option<u32>,
    pub resolved: Option<bool>,
    pub agent_empathy: Option<f32>,
    pub emotions: Vec<String>,
    pub themes: Vec<String>,
    pub turns: Vec<ServedTurn>,
}

/// A page of the drill-down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub items: Vec<ServedInteraction>,
    /// Present when more rows follow.
    pub next: Option<Cursor>,
}

#[derive(Row, Deserialize)]
struct ListRow {
    interaction_id: String,
    pipeline: String,
    kind: String,
    channel: String,
    occurred_at: u32,
    language: String,
    queue: String,
    team: String,
    agent: String,
    product: String,
    nps: Option<u8>,
    csat: Option<u8>,
    ces: Option<u8>,
    wait_seconds: Option<u32>,
    transfers: Option<u32>,
    resolved: Option<u8>,
    agent_empathy: Option<f32>,
    emotions: Vec<String>,
    themes: Vec<String>,
}

#[derive(Row, Deserialize)]
struct TurnListRow {
    pipeline: String,
    interaction_id: String,
    turn_index: u32,
    speaker: String,
    at: Option<u32>,
    language: String,
    text: String,
}

#[derive(Row, Deserialize)]
struct LabelListRow {
    pipeline: String,
    interaction_id: String,
    turn_index: u32,
    label_kind: String,
    label: String,
    confidence: f32,
    evidence_start: Vec<u32>,
    evidence_end: Vec<u32>,
    engine: String,
}

fn ts(secs: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(secs), 0).unwrap_or_default()
}

impl Store {
    /// Interactions matching the filters, newest first, with redacted turns,
    /// labels and evidence. At most `limit` items per page.
    pub async fn interactions(
        &self,
        f: &Filters,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<Page, Error> {
        let mut sql = Sql::default();
        sql.push(
            "SELECT interaction_id, pipeline, kind, channel, toUInt32(occurred_at) AS occurred_at, \
             language, queue, team, agent, product, nps, csat, ces, wait_seconds, transfers, resolved, \
             agent_empathy, emotions, themes FROM interactions FINAL WHERE 1",
        );
        f.conditions(&mut sql);
        if let Some(c) = after {
            let t = Arg::Time(c.occurred_at);
            sql.push(" AND (occurred_at < toDateTime(")
                .arg(t.clone())
                .push(")");
            sql.push(" OR (occurred_at = toDateTime(")
                .arg(t)
                .push(") AND (pipeline < ");
            sql.arg(Arg::Str(c.pipeline.clone()))
                .push(" OR (pipeline = ");
            sql.arg(Arg::Str(c.pipeline.clone()))
                .push(" AND interaction_id < ");
            sql.arg(Arg::Str(c.interaction_id.clone())).push("))))");
        }
        sql.push(&format!(
            " ORDER BY occurred_at DESC, pipeline DESC, interaction_id DESC LIMIT {}",
            u64::from(limit) + 1
        ));
        let mut rows = sql.query(self).fetch_all::<ListRow>().await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| Cursor {
                occurred_at: i64::from(r.occurred_at),
                pipeline: r.pipeline.clone(),
                interaction_id: r.interaction_id.clone(),
            })
        } else {
            None
        };
        if rows.is_empty() {
            return Ok(Page {
                items: vec![],
                next,
            });
        }
        let ids: Vec<String> = rows.iter().map(|r| r.interaction_id.clone()).collect();
        // The page's time bounds (both tables are partitioned by month of
        // occurred_at, which they share with their interaction) and, for
        // turns, its pipelines (their sort key starts with pipeline), so
        // neither lookup scans the whole table.
        let bounds = |sql: &mut Sql| {
            let first = rows.iter().map(|r| r.occurred_at).min().unwrap_or_default();
            let last = rows.iter().map(|r| r.occurred_at).max().unwrap_or_default();
            sql.push(" AND occurred_at >= toDateTime(")
                .arg(Arg::Time(i64::from(first)))
                .push(") AND occurred_at <= toDateTime(")
                .arg(Arg::Time(i64::from(last)))
                .push(")");
        };
        let pipelines: BTreeSet<&str> = rows.iter().map(|r| r.pipeline.as_str()).collect();
        let mut turns = Sql::default();
        turns.push(
            "SELECT pipeline, interaction_id, turn_index, speaker, \
                 if(isNull(at), NULL, toUInt32(assumeNotNull(at))) AS at, language, text \
                 FROM turns FINAL WHERE pipeline IN (",
        );
        for (i, p) in pipelines.iter().enumerate() {
            if i > 0 {
                turns.push(", ");
            }
            turns.arg(Arg::Str((*p).to_string()));
        }
        turns
            .push(") AND has(")
            .arg(Arg::List(ids.clone()))
            .push(", interaction_id)");
        bounds(&mut turns);
        turns.push(" ORDER BY turn_index");
        let turns = turns.query(self).fetch_all::<TurnListRow>().await?;
        let mut labels = Sql::default();
        labels
            .push(
                "SELECT pipeline, interaction_id, turn_index, label_kind, label, confidence, \
                 evidence_start, evidence_end, engine FROM labels FINAL WHERE has(",
            )
            .arg(Arg::List(ids))
            .push(", interaction_id)");
        bounds(&mut labels);
        labels.push(" ORDER BY confidence DESC, label");
        let labels = labels.query(self).fetch_all::<LabelListRow>().await?;
        let items = rows
            .into_iter()
            .map(|r| {
                let key = (r.pipeline.as_str(), r.interaction_id.as_str());
                let turns = turns
                    .iter()
                    .filter(|t| (t.pipeline.as_str(), t.interaction_id.as_str()) == key)
                    .map(|t| {
                        let served = |kind: &str| {
                            labels
                                .iter()
                                .filter(|l| {
                                    (l.pipeline.as_str(), l.interaction_id.as_str()) == key
                                        && l.turn_index == t.turn_index
                                        && l.label_kind == kind
                                })
                                .map(|l| ServedLabel {
                                    label: l.label.clone(),
                                    confidence: l.confidence,
                                    evidence: l
                                        .evidence_start
                                        .iter()
                                        .zip(&l.evidence_end)
                                        .map(|(s, e)| [*s, *e])
                                        .collect(),
                                    engine: l.engine.clone(),
                                })
                                .collect()
                        };
                        ServedTurn {
                            index: t.turn_index,
                            speaker: t.speaker.clone(),
                            at: t.at.map(ts),
                            language: t.language.clone(),
                            text: t.text.clone(),
                            emotions: served("emotion"),
                            themes: served("theme"),
                            empathy: served("empathy"),
                        }
                    })
                    .collect();
                ServedInteraction {
                    id: r.interaction_id,
                    pipeline: r.pipeline,
                    kind: r.kind,
                    channel: r.channel,
                    occurred_at: ts(r.occurred_at),
                    language: r.language,
                    queue: r.queue,
                    team: r.team,
                    agent: r.agent,
                    product: r.product,
                    nps: r.nps,
                    csat: r.csat,
                    ces: r.ces,
                    wait_seconds: r.wait_seconds,
                    transfers: r.transfers,
                    resolved: r.resolved.map(|v| v != 0),
                    agent_empathy: r.agent_empathy.map(|e| (e * 100.0).round() / 100.0),
                    emotions: r.emotions,
                    themes: r.themes,
                    turns,
                }
            })
            .collect();
        Ok(Page { items, next })
    }
}

/// What is stored per pipeline.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct PipelineStored {
    pub pipeline: String,
    pub interactions: u64,
    pub last_ingested_at: u32,
    pub last_occurred_at: u32,
}

impl Store {
    /// Stored interactions per pipeline.
    pub async fn pipeline_counts(&self) -> Result<Vec<PipelineStored>, Error> {
        Ok(self
            .client()
            .query(
                "SELECT pipeline, toUInt64(count()) AS interactions, \
                 toUInt32(max(ingested_at)) AS last_ingested_at, \
                 toUInt32(max(occurred_at)) AS last_occurred_at \
                 FROM interactions FINAL GROUP BY pipeline ORDER BY pipeline",
            )
            .fetch_all::<PipelineStored>()
            .await?)
    }

    /// Distinct values of a dimension, most frequent first (for filter pickers).
    pub async fn dimension_values(
        &self,
        dimension: Dimension,
        limit: u32,
    ) -> Result<Vec<String>, Error> {
        #[derive(Row, Deserialize)]
        struct V {
            v: String,
        }
        let col = dimension.column();
        let rows = self
            .client()
            .query(&format!(
                "SELECT {col} AS v FROM interactions WHERE {col} != '' \
                 GROUP BY v ORDER BY count() DESC, v LIMIT {limit}"
            ))
            .fetch_all::<V>()
            .await?;
        Ok(rows.into_iter().map(|r| r.v).collect())
    }
}

/// Dimensions interactions can be filtered and grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Channel,
    Queue,
    Team,
    Agent,
    Product,
    Language,
    Pipeline,
}

impl Dimension {
    pub fn column(self) -> &'static str {
        match self {
            Dimension::Channel => "channel",
            Dimension::Queue => "queue",
            Dimension::Team => "team",
            Dimension::Agent => "agent",
            Dimension::Product => "product",
            Dimension::Language => "language",
            Dimension::Pipeline => "pipeline",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NPS, CSAT and CES computed by hand on a small fixture (KPIS.md).
    #[test]
    fn kpis_match_hand_computed_values() {
        // NPS answers: 10, 9, 9, 8, 7, 6, 3, 0 → 3 promoters, 2 passives, 3 detractors.
        // CSAT answers: 5, 4, 4, 2, 1 → top-2-box 3/5 = 60 %, mean 16/5 = 3.2.
        // CES answers: 7, 6, 5, 3 → % easy 3/4 = 75 %, mean 21/4 = 5.25.
        let c = ScoreCounts {
            nps_n: 8,
            promoters: 3,
            detractors: 3,
            csat_n: 5,
            csat_top2: 3,
            csat_sum: 16,
            ces_n: 4,
            ces_top: 3,
            ces_sum: 21,
        };
        let nps = c.nps(5);
        assert_eq!(nps.score, Some(0.0));
        assert_eq!((nps.promoters, nps.passives, nps.detractors), (3, 2, 3));
        assert_eq!(c.csat(5).percent, Some(60.0));
        assert_eq!(c.csat(5).mean, Some(3.2));
        // Four CES answers are below the default minimum of 5: withheld.
        assert_eq!(c.ces(5).mean, None);
        assert_eq!(c.ces(4).mean, Some(5.25));
        assert_eq!(c.ces(4).percent_easy, Some(75.0));
        // 7 promoters out of 8, 1 detractor → 75.
        let p = ScoreCounts {
            nps_n: 8,
            promoters: 7,
            detractors: 1,
            ..Default::default()
        };
        assert_eq!(p.nps(5).score, Some(75.0));
    }

    #[test]
    fn without_theme_is_total_minus_with_theme() {
        let all = ScoreCounts {
            nps_n: 10,
            promoters: 5,
            detractors: 3,
            ..Default::default()
        };
        let with = ScoreCounts {
            nps_n: 4,
            promoters: 0,
            detractors: 3,
            ..Default::default()
        };
        // Without: 6 answers, 5 promoters, 0 detractors → 83.3.
        assert_eq!(all.minus(&with).nps(5).score, Some(83.3));
        assert_eq!(with.nps(5).score, None);
        assert_eq!(with.nps(1).score, Some(-75.0));
    }

    #[test]
    fn filters_bind_every_value_and_build_no_sql_from_input() {
        let f = Filters {
            channel: vec!["chat' OR 1=1 --".into()],
            emotion: vec!["relief".into()],
            from: DateTime::from_timestamp(1_700_000_000, 0),
            ..Default::default()
        };
        let mut sql = Sql::default();
        f.conditions(&mut sql);
        assert_eq!(
            sql.text,
            " AND occurred_at >= toDateTime(?) AND has(?, channel) AND hasAny(emotions, ?)"
        );
        assert_eq!(sql.args.len(), 3);
    }
}

/// Operational KPIs of contacts (transcripts and messages; survey responses
/// are not contacts), per KPIS.md. Rates are in %, `None` below the minimum
/// sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub contacts: u64,
    /// Mean handle time in seconds over contacts with a handle time.
    pub aht_seconds: Option<f64>,
    /// Mean queue wait in seconds over contacts with a wait.
    pub asa_seconds: Option<f64>,
    /// Contacts transferred at least once ÷ contacts with a transfer count.
    pub transfer_rate: Option<f64>,
    /// Bot sessions ended without escalation ÷ bot sessions.
    pub bot_containment: Option<f64>,
    /// Contacts escalated ÷ contacts with an escalation flag.
    pub escalation_rate: Option<f64>,
    /// Contacts resolved ÷ contacts with a resolution flag (FCR where the
    /// source sends one).
    pub resolution_rate: Option<f64>,
    /// Contacts preceded within the window by another contact of the same
    /// customer (keyed id, any channel) about the same issue (a shared theme,
    /// or the earlier contact named as `related_id`) ÷ contacts with a
    /// customer key.
    pub repeat_contact_rate: Option<f64>,
    pub repeat_window_days: u32,
}

#[derive(Row, Deserialize)]
struct KpiRow {
    contacts: u64,
    handle_n: u64,
    handle_sum: f64,
    wait_n: u64,
    wait_sum: f64,
    transfers_n: u64,
    transferred: u64,
    bot_sessions: u64,
    bot_contained: u64,
    escalation_n: u64,
    /// Aliases must not repeat a column name on ClickHouse 18.16.
    escalated_count: u64,
    resolution_n: u64,
    resolved_count: u64,
}

#[derive(Row, Deserialize)]
struct RepeatRow {
    keyed: u64,
    repeats: u64,
}

fn rate(part: u64, whole: u64, min_n: u64) -> Option<f64> {
    (whole >= min_n.max(1)).then(|| round1(part as f64 * 100.0 / whole as f64))
}

impl Store {
    /// KPIs of the contacts matching the filters.
    pub async fn kpis(
        &self,
        f: &Filters,
        repeat_window_days: u32,
        min_n: u64,
    ) -> Result<Kpis, Error> {
        let mut sql = Sql::default();
        sql.push(
            "SELECT toUInt64(count()) AS contacts, \
             toUInt64(countIf(isNotNull(handle_seconds))) AS handle_n, \
             toFloat64(sum(ifNull(handle_seconds, 0))) AS handle_sum, \
             toUInt64(countIf(isNotNull(wait_seconds))) AS wait_n, \
             toFloat64(sum(ifNull(wait_seconds, 0))) AS wait_sum, \
             toUInt64(countIf(isNotNull(transfers))) AS transfers_n, \
             toUInt64(countIf(ifNull(transfers, 0) > 0)) AS transferred, \
             toUInt64(countIf(ifNull(bot_involved, 0) = 1)) AS bot_sessions, \
             toUInt64(countIf(ifNull(bot_involved, 0) = 1 AND ifNull(escalated, 0) = 0)) AS bot_contained, \
             toUInt64(countIf(isNotNull(escalated))) AS escalation_n, \
             toUInt64(countIf(ifNull(escalated, 0) = 1)) AS escalated_count, \
             toUInt64(countIf(isNotNull(resolved))) AS resolution_n, \
             toUInt64(countIf(ifNull(resolved, 0) = 1)) AS resolved_count \
             FROM interactions FINAL WHERE kind != 'survey'",
        );
        f.conditions(&mut sql);
        let k = sql.query(self).fetch_one::<KpiRow>().await?;
        // Repeat contacts: same customer, same issue (a shared theme or the
        // related id), any channel, within the window (see `repeat_flags`).
        let mut sql = Sql::default();
        sql.push("SELECT toUInt64(count()) AS keyed, toUInt64(sum(is_repeat)) AS repeats FROM (");
        analytics::repeat_flags(&mut sql, f, repeat_window_days);
        sql.push(")");
        let r = sql.query(self).fetch_one::<RepeatRow>().await?;
        let mean = |sum: f64, n: u64| (n >= min_n.max(1)).then(|| round1(sum / n as f64));
        Ok(Kpis {
            contacts: k.contacts,
            aht_seconds: mean(k.handle_sum, k.handle_n),
            asa_seconds: mean(k.wait_sum, k.wait_n),
            transfer_rate: rate(k.transferred, k.transfers_n, min_n),
            bot_containment: rate(k.bot_contained, k.bot_sessions, min_n),
            escalation_rate: rate(k.escalated_count, k.escalation_n, min_n),
            resolution_rate: rate(k.resolved_count, k.resolution_n, min_n),
            repeat_contact_rate: rate(r.repeats, r.keyed, min_n),
            repeat_window_days,
        })
    }
}

// Declared last: it uses the `with_scores!` macro defined above.
mod analytics;
pub use analytics::*;
