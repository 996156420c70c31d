//! The aggregate and drill-down queries the API serves.
//!
//! Aggregates go through one engine (`engine`): the daily rollup where it
//! covers a request, `interactions FINAL` otherwise, so replayed rows are
//! never counted twice either way. Every user value reaches the SQL through
//! the client's escaping `bind`.

use crate::error::Error;
use crate::store::Store;
use chrono::{DateTime, Utc};
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

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
pub(crate) enum Arg {
    Str(String),
    List(Vec<String>),
    Time(i64),
}

/// ` AND …` for `occurred_at` in `[from, to)` (Unix seconds), with the
/// bounds on `toDate(occurred_at)` they imply (see [`day_bounds`]).
pub(crate) fn time_range(sql: &mut Sql, from: Option<i64>, to: Option<i64>) {
    if let Some(from) = from {
        sql.push(" AND occurred_at >= toDateTime(")
            .arg(Arg::Time(from))
            .push(")");
    }
    if let Some(to) = to {
        sql.push(" AND occurred_at < toDateTime(")
            .arg(Arg::Time(to))
            .push(")");
    }
    day_bounds(sql, from, to);
}

/// ` AND …` bounds on `toDate(occurred_at)` implied by `occurred_at` in
/// `[from, to)` (Unix seconds). The tables' sort keys hold that expression,
/// and ClickHouse 18 uses a sort key only for conditions on the expression
/// itself: without these, a range of hours reads its whole month.
fn day_bounds(sql: &mut Sql, from: Option<i64>, to: Option<i64>) {
    if let Some(from) = from {
        sql.push(" AND toDate(occurred_at) >= toDate(toDateTime(")
            .arg(Arg::Time(from))
            .push("))");
    }
    if let Some(to) = to {
        sql.push(" AND toDate(occurred_at) <= toDate(toDateTime(")
            .arg(Arg::Time(to - 1))
            .push("))");
    }
}

/// SQL text plus its bound values, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
    /// Read with one thread (see [`Sql::small`]).
    small: bool,
}

/// A ClickHouse string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Sql {
    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    pub(crate) fn arg(&mut self, a: Arg) -> &mut Self {
        self.text.push('?');
        self.args.push(a);
        self
    }

    /// The text with every bound value written in as a literal, for
    /// statements assembled around it (`?` only ever marks a value here).
    pub(crate) fn inline(&self) -> String {
        let mut args = self.args.iter();
        let mut out = String::with_capacity(self.text.len());
        for c in self.text.chars() {
            match (c, args.clone().next()) {
                ('?', Some(_)) => {
                    out.push_str(&match args.next() {
                        Some(Arg::Str(s)) => quote(s),
                        Some(Arg::List(l)) => format!(
                            "[{}]",
                            l.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
                        ),
                        Some(Arg::Time(t)) => t.to_string(),
                        None => String::new(),
                    });
                }
                _ => out.push(c),
            }
        }
        out
    }

    /// Marks a statement whose work is bounded and small (the rollup, rows
    /// found by their sort key): ClickHouse runs it on one thread. Under
    /// concurrent requests that is faster, not slower: a second thread
    /// costs more to set up than it saves on a few thousand rows, and the
    /// cores are busy with the other requests anyway.
    pub(crate) fn small(&mut self) -> &mut Self {
        self.small = true;
        self
    }

    fn query(&self, store: &Store) -> clickhouse::query::Query {
        let mut q = store.client().query(&self.text);
        if self.small {
            q = q.with_setting("max_threads", "1");
        }
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

/// Appends another SQL fragment with its bound values.
fn append(to: &mut Sql, from: &Sql) {
    to.text.push_str(&from.text);
    to.args.extend(from.args.iter().cloned());
}

impl Filters {
    /// Each dimension column with the values it is restricted to (empty: any).
    fn dimensions(&self) -> [(&'static str, &Vec<String>); 8] {
        [
            ("channel", &self.channel),
            ("queue", &self.queue),
            ("team", &self.team),
            ("agent", &self.agent),
            ("product", &self.product),
            ("language", &self.language),
            ("pipeline", &self.pipeline),
            ("kind", &self.kind),
        ]
    }

    /// ` AND has(…)` for every restricted dimension column (shared by the
    /// tables and the rollup, which name them alike).
    fn dimension_conditions(&self, sql: &mut Sql) {
        for (column, values) in self.dimensions() {
            if !values.is_empty() {
                sql.push(" AND has(")
                    .arg(Arg::List(values.clone()))
                    .push(&format!(", {column})"));
            }
        }
    }

    /// ` AND ...` conditions for the `interactions` table.
    fn conditions(&self, sql: &mut Sql) {
        time_range(
            sql,
            self.from.map(|t| t.timestamp()),
            self.to.map(|t| t.timestamp()),
        );
        self.dimension_conditions(sql);
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

fn share(count: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        round1(count as f64 * 100.0 / total as f64)
    }
}

/// The sum of every group's measures.
pub(crate) fn total_of(groups: Groups) -> Measures {
    let mut out = Measures::default();
    for (_, m) in &groups {
        out.add(m);
    }
    out
}

/// Groups keyed first by a label of [`Family::EmotionOrTheme`]
/// (`kind|label`): the emotions' and the themes', keyed by the label.
fn by_family(groups: Groups) -> (Groups, Groups) {
    let (mut emotions, mut themes) = (Groups::new(), Groups::new());
    for (mut k, m) in groups {
        let Some(first) = k.first_mut() else {
            continue;
        };
        let (to, label) = match Family::kind_and_label(first) {
            Some(("emotion", label)) => (&mut emotions, label.to_string()),
            Some(("theme", label)) => (&mut themes, label.to_string()),
            _ => continue,
        };
        *first = label;
        to.push((k, m));
    }
    (emotions, themes)
}

/// Groups keyed first by [`DatePart::Since`]: those from the date on and
/// those before it, without that key.
fn by_side(groups: Groups) -> (Groups, Groups) {
    let (mut after, mut before) = (Groups::new(), Groups::new());
    for (mut k, m) in groups {
        match engine::take_first(&mut k).as_deref() {
            Some("1") => after.push((k, m)),
            _ => before.push((k, m)),
        }
    }
    (after, before)
}

/// Interactions per label (the groups' only key), most frequent first.
fn label_counts(groups: Groups) -> Vec<LabelCountRow> {
    let mut out: Vec<LabelCountRow> = groups
        .into_iter()
        .filter_map(|(k, m)| {
            Some(LabelCountRow {
                label: k.into_iter().next()?,
                count: m.interactions,
            })
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    out
}

impl Store {
    /// Interactions, surveys, NPS/CSAT/CES with their n, and counts and
    /// shares per emotion and theme.
    pub async fn summary(&self, f: &Filters, min_n: u64) -> Result<Summary, Error> {
        // Emotions and themes in one grouping (one SELECT fewer).
        let labels = [Key::Label(Family::EmotionOrTheme)];
        let need = Need::COUNTS;
        let [totals, labels]: [Groups; 2] = self
            .aggregate_all([
                Ask {
                    f,
                    keys: &[],
                    need: need | Need::MOOD | Need::SCORES,
                },
                Ask {
                    f,
                    keys: &labels,
                    need,
                },
            ])
            .await?;
        let (emotions, themes) = by_family(labels);
        let (totals, emotions, themes) = (
            total_of(totals),
            label_counts(emotions),
            label_counts(themes),
        );
        let to_counts = |rows: Vec<LabelCountRow>| {
            rows.into_iter()
                .map(|r| LabelCount {
                    share: share(r.count, totals.with_text),
                    label: r.label,
                    count: r.count,
                })
                .collect()
        };
        let emotions = to_counts(emotions);
        let themes = to_counts(themes);
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
        let by_bucket = [Key::Bucket(interval)];
        let by_label = [Key::Bucket(interval), Key::Label(kind.into())];
        let [totals, labels]: [Groups; 2] = self
            .aggregate_all([
                Ask {
                    f,
                    keys: &by_bucket,
                    need: Need::COUNTS | Need::SCORES,
                },
                Ask {
                    f,
                    keys: &by_label,
                    need: Need::COUNTS,
                },
            ])
            .await?;
        let bucket = |k: &[String]| k.first().and_then(|b| b.parse::<u32>().ok());
        let mut points: BTreeMap<u32, SeriesPoint> = totals
            .into_iter()
            .filter_map(|(k, t)| {
                let b = bucket(&k)?;
                let start = DateTime::from_timestamp(i64::from(b), 0).unwrap_or_default();
                Some((
                    b,
                    SeriesPoint {
                        start,
                        volume: t.interactions,
                        with_text: t.with_text,
                        nps: t.scores().nps(min_n),
                        csat: t.scores().csat(min_n),
                        ces: t.scores().ces(min_n),
                        counts: BTreeMap::new(),
                    },
                ))
            })
            .collect();
        for (k, m) in labels {
            if let (Some(b), Some(label)) = (bucket(&k), k.get(1)) {
                if let Some(p) = points.get_mut(&b) {
                    p.counts.insert(label.clone(), m.interactions);
                }
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
        let theme = [Key::Label(Family::Theme)];
        let ask = |f, keys, need| Ask { f, keys, need };
        let midnight = from.timestamp() % 86_400 == 0;
        let [totals, prev_totals, now, before]: [Groups; 4] = if midnight {
            // Both periods in one read each, split by day: half the SELECTs
            // (each costs ClickHouse 18.16 about a millisecond on its own).
            let both = Filters {
                from: Some(previous_from),
                to: Some(to),
                ..f.clone()
            };
            let side = Key::Date(DatePart::Since(from.date_naive()));
            let need = Need::COUNTS | Need::SCORES;
            let [totals, themes]: [Groups; 2] = self
                .aggregate_all([
                    ask(&both, &[side], need),
                    ask(&both, &[side, theme[0]], need),
                ])
                .await?;
            let (totals, prev_totals) = by_side(totals);
            let (now, before) = by_side(themes);
            [totals, prev_totals, now, before]
        } else {
            self.aggregate_all([
                ask(&current, &[], Need::COUNTS | Need::SCORES),
                ask(&previous, &[], Need::COUNTS),
                ask(&current, &theme, Need::COUNTS | Need::SCORES),
                ask(&previous, &theme, Need::COUNTS),
            ])
            .await?
        };
        let (totals, prev_totals) = (total_of(totals), total_of(prev_totals));
        // Per theme: this period's measures and the previous period's count.
        let mut by: BTreeMap<String, (Measures, u64)> = BTreeMap::new();
        for (k, m) in now {
            if let Some(label) = k.into_iter().next() {
                by.entry(label).or_default().0 = m;
            }
        }
        for (k, m) in before {
            if let Some(label) = k.into_iter().next() {
                by.entry(label).or_default().1 = m.interactions;
            }
        }
        let mut gaps: Vec<Gap> = by
            .into_iter()
            .map(|(label, (m, previous_count))| {
                let count = m.interactions;
                let with = m.scores();
                let without = totals.scores().minus(&with);
                Gap {
                    share: share(count, totals.with_text),
                    previous_share: share(previous_count, prev_totals.with_text),
                    change: (previous_count > 0).then(|| {
                        round1(
                            (count as f64 - previous_count as f64) * 100.0 / previous_count as f64,
                        )
                    }),
                    nps_with: with.nps(min_n),
                    nps_without: without.nps(min_n),
                    csat_with: with.csat(min_n),
                    csat_without: without.csat(min_n),
                    theme: label,
                    count,
                    previous_count,
                }
            })
            .collect();
        gaps.sort_by(|a, b| b.count.cmp(&a.count).then(a.theme.cmp(&b.theme)));
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

/// The most drill-down filter sets whose window is remembered.
pub(crate) const DRILL_WINDOWS_KEPT: u64 = 1024;

/// The columns of [`ListRow`].
const LIST_COLUMNS: &str = "interaction_id, pipeline, kind, channel, occurred_at, \
     language, queue, team, agent, product, nps, csat, ces, wait_seconds, transfers, resolved, \
     agent_empathy, emotions, themes, version";

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
    version: u64,
}

/// A stored turn (a replay stores it again, with a newer version).
#[derive(Row, Deserialize)]
pub(crate) struct TurnRow {
    pub(crate) pipeline: String,
    pub(crate) interaction_id: String,
    pub(crate) turn_index: u32,
    pub(crate) speaker: String,
    pub(crate) at: Option<u32>,
    pub(crate) language: String,
    pub(crate) text: String,
    pub(crate) version: u64,
    /// 1: the turn's labels are in the arrays below (turns stored before
    /// they were have their labels only in `labels`).
    pub(crate) labelled: u8,
    pub(crate) label_kinds: Vec<String>,
    pub(crate) label_names: Vec<String>,
    pub(crate) label_confidences: Vec<f32>,
    pub(crate) label_evidence_starts: Vec<Vec<u32>>,
    pub(crate) label_evidence_ends: Vec<Vec<u32>>,
    pub(crate) label_engines: Vec<String>,
}

/// The columns of [`TurnRow`] in `turns`.
pub(crate) const TURN_COLUMNS: &str =
    "pipeline, interaction_id, turn_index, speaker, at, language, text, version, labelled, \
     label_kinds, label_names, label_confidences, label_evidence_starts, label_evidence_ends, \
     label_engines";

impl TurnRow {
    /// The labels stored with the turn, as rows of `labels`.
    fn labels(&self) -> impl Iterator<Item = LabelRow> + '_ {
        (0..self.label_names.len()).map(|i| LabelRow {
            pipeline: self.pipeline.clone(),
            interaction_id: self.interaction_id.clone(),
            turn_index: self.turn_index,
            label_kind: self.label_kinds.get(i).cloned().unwrap_or_default(),
            label: self.label_names[i].clone(),
            confidence: self.label_confidences.get(i).copied().unwrap_or_default(),
            evidence_start: self
                .label_evidence_starts
                .get(i)
                .cloned()
                .unwrap_or_default(),
            evidence_end: self.label_evidence_ends.get(i).cloned().unwrap_or_default(),
            engine: self.label_engines.get(i).cloned().unwrap_or_default(),
            version: self.version,
        })
    }
}

/// A stored label of a turn.
#[derive(Row, Deserialize)]
pub(crate) struct LabelRow {
    pub(crate) pipeline: String,
    pub(crate) interaction_id: String,
    pub(crate) turn_index: u32,
    pub(crate) label_kind: String,
    pub(crate) label: String,
    pub(crate) confidence: f32,
    pub(crate) evidence_start: Vec<u32>,
    pub(crate) evidence_end: Vec<u32>,
    pub(crate) engine: String,
    pub(crate) version: u64,
}

/// The columns of [`LabelRow`] in `labels`.
pub(crate) const LABEL_COLUMNS: &str = "pipeline, interaction_id, turn_index, label_kind, label, \
     confidence, evidence_start, evidence_end, engine, version";

/// The labels of `turns`: those stored with each turn, and for turns
/// stored before they carried them, their rows among `stored_apart` (rows
/// of `labels`).
pub(crate) fn labels_of(turns: &[TurnRow], stored_apart: Vec<LabelRow>) -> Vec<LabelRow> {
    let apart: BTreeSet<(&str, &str, u32)> = turns
        .iter()
        .filter(|t| t.labelled == 0)
        .map(|t| (t.pipeline.as_str(), t.interaction_id.as_str(), t.turn_index))
        .collect();
    stored_apart
        .into_iter()
        .filter(|l| apart.contains(&(l.pipeline.as_str(), l.interaction_id.as_str(), l.turn_index)))
        .chain(
            turns
                .iter()
                .filter(|t| t.labelled != 0)
                .flat_map(TurnRow::labels),
        )
        .collect()
}

/// Keeps the newest version of each key, as `FINAL` would (without its
/// merge, which costs more than the few rows of a page).
fn newest<T, K: Ord>(rows: Vec<T>, key: impl Fn(&T) -> K, version: impl Fn(&T) -> u64) -> Vec<T> {
    let mut best: BTreeMap<K, T> = BTreeMap::new();
    for r in rows {
        let k = key(&r);
        match best.get(&k) {
            Some(b) if version(b) >= version(&r) => {}
            _ => {
                best.insert(k, r);
            }
        }
    }
    best.into_values().collect()
}

/// A page of interactions: its time span and its distinct pipelines and ids,
/// for lookups by id that the tables' sort keys can serve.
struct PageSpan {
    first: u32,
    last: u32,
    pipelines: Vec<String>,
    ids: Vec<String>,
}

impl PageSpan {
    /// From `(occurred_at, pipeline, interaction_id)` of each row; `None` when empty.
    fn of<'a>(rows: impl Iterator<Item = (u32, &'a str, &'a str)>) -> Option<PageSpan> {
        let (mut first, mut last) = (u32::MAX, 0);
        let mut pipelines = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for (t, pipeline, id) in rows {
            first = first.min(t);
            last = last.max(t);
            pipelines.insert(pipeline.to_string());
            ids.insert(id.to_string());
        }
        (!ids.is_empty()).then(|| PageSpan {
            first,
            last,
            pipelines: pipelines.into_iter().collect(),
            ids: ids.into_iter().collect(),
        })
    }
}

/// `(?, ?, …)`: a list for `IN`, each value bound.
fn in_list(sql: &mut Sql, values: &[String]) {
    sql.push("(");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(Arg::Str(v.clone()));
    }
    sql.push(")");
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
        // Newest first: look in the day before the end of the range (or the
        // cursor), then a week, five weeks, then everything, and stop at the
        // first window holding more than a page — rows outside it are all
        // older, so the page is the same as from one scan of the range. (The
        // table is sorted by day: a shorter window would cost as much as a
        // day, and a range ends at midnight, often hours after its newest row.)
        #[derive(Row, Deserialize)]
        struct Newest {
            t: u32,
        }
        let end = match (
            after.map(|c| c.occurred_at + 1),
            f.to.map(|t| t.timestamp()),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let end = match end {
            Some(e) => e,
            None => {
                let newest = self
                    .client()
                    .query("SELECT toUInt32(max(occurred_at)) AS t FROM interactions")
                    .fetch_one::<Newest>()
                    .await?;
                i64::from(newest.t) + 1
            }
        };
        let start = f.from.map(|t| t.timestamp());
        // Start from the window that last held a page for these filters
        // (the same data density), and remember a smaller one when the page
        // found fits in it.
        const WINDOWS: [i64; 4] = [24, 7 * 24, 35 * 24, 0];
        let key = format!("{:?}", f.without_time());
        let hint = self
            .drill_windows
            .get(&key)
            .unwrap_or(0)
            .min(WINDOWS.len() - 1);
        let mut rows = Vec::new();
        let mut used = hint;
        for (i, hours) in WINDOWS.iter().enumerate().skip(hint) {
            let lo = (*hours > 0).then(|| end - hours * 3600);
            let whole = match (lo, start) {
                (None, _) => true,
                (Some(lo), Some(s)) => lo <= s,
                (Some(_), None) => false,
            };
            rows = self
                .list_window(f, after, lo.filter(|_| !whole), limit)
                .await?;
            used = i;
            if whole || rows.len() > limit as usize {
                break;
            }
        }
        if used > 0 && rows.len() > limit as usize {
            let smaller = end - WINDOWS[used - 1] * 3600;
            if rows.iter().all(|r| i64::from(r.occurred_at) >= smaller) {
                used -= 1;
            }
        }
        self.drill_windows.insert(key, used);
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
        self.with_turns(rows, next).await
    }

    /// At most `limit + 1` rows of the drill-down, newest first, from
    /// `since` on (when given).
    ///
    /// First without FINAL: the newest matching rows of any version, each
    /// kept only if it is its interaction's newest version (a replayed
    /// interaction may have an older version that matches the filters while
    /// the stored one does not). When the rows read run out before a page of
    /// them is confirmed, the page comes from a FINAL read instead.
    async fn list_window(
        &self,
        f: &Filters,
        after: Option<&Cursor>,
        since: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ListRow>, Error> {
        let want = limit as usize + 1;
        let read = want * 2 + 8;
        let select = |sql: &mut Sql, columns: &str, final_: &str| {
            sql.push(&format!("SELECT {columns} FROM interactions {final_}"));
            // Without FINAL, the window first: ClickHouse would pick a label
            // condition, which reads every label array of the window's days.
            // (With FINAL, PREWHERE would drop rows before their newer
            // versions replace them.)
            if let (Some(since), true) = (since, final_.is_empty()) {
                sql.push(" PREWHERE occurred_at >= toDateTime(")
                    .arg(Arg::Time(since))
                    .push(")");
            }
            sql.push(" WHERE 1");
            f.conditions(sql);
            time_range(sql, since, None);
            // The cursor's own condition below bounds the time; this is the
            // day bound it implies.
            day_bounds(sql, None, after.map(|c| c.occurred_at + 1));
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
        };
        #[derive(Row, Deserialize)]
        struct Candidate {
            interaction_id: String,
            pipeline: String,
            occurred_at: u32,
            version: u64,
        }
        let mut sql = Sql::default();
        if since.is_some() {
            sql.small();
        }
        select(
            &mut sql,
            "interaction_id, pipeline, occurred_at, version",
            "",
        );
        sql.push(&format!(
            " ORDER BY occurred_at DESC, pipeline DESC, interaction_id DESC, version DESC LIMIT {read}"
        ));
        let candidates = sql.query(self).fetch_all::<Candidate>().await?;
        let count = candidates.len();
        if since.is_some() && count < want {
            // Not a page even before the version check: the caller looks
            // further back.
            return Ok(Vec::new());
        }
        let span = PageSpan::of(candidates.iter().map(|c| {
            (
                c.occurred_at,
                c.pipeline.as_str(),
                c.interaction_id.as_str(),
            )
        }));
        let mut newest = match span {
            Some(span) => self.newest_rows(&span).await?,
            None => BTreeMap::new(),
        };
        let mut page = Vec::new();
        for c in candidates {
            let key = (c.pipeline, c.interaction_id, c.occurred_at / 86_400);
            // An older version may come first (a replay can move the time
            // within the day); the newest one is the row to keep, once.
            if newest.get(&key).is_none_or(|r| r.version != c.version) {
                continue;
            }
            if let Some(row) = newest.remove(&key) {
                page.push(row);
            }
            if page.len() == want {
                return Ok(page);
            }
        }
        if count < read {
            // Every matching row was read: the page is complete.
            return Ok(page);
        }
        let mut sql = Sql::default();
        select(&mut sql, LIST_COLUMNS, "FINAL");
        sql.push(&format!(
            " ORDER BY occurred_at DESC, pipeline DESC, interaction_id DESC LIMIT {want}"
        ));
        Ok(sql.query(self).fetch_all::<ListRow>().await?)
    }

    /// The newest version (as FINAL keeps it) of the span's interactions, by
    /// `(pipeline, interaction_id, UTC day)`: every version in the span's
    /// whole days, found by the sort key.
    async fn newest_rows(
        &self,
        span: &PageSpan,
    ) -> Result<BTreeMap<(String, String, u32), ListRow>, Error> {
        let first = i64::from(span.first / 86_400 * 86_400);
        let last = i64::from(span.last / 86_400 * 86_400 + 86_400);
        let mut sql = Sql::default();
        sql.small().push(&format!(
            "SELECT {LIST_COLUMNS} FROM interactions PREWHERE interaction_id IN "
        ));
        in_list(&mut sql, &span.ids);
        sql.push(" WHERE 1");
        time_range(&mut sql, Some(first), Some(last));
        sql.push(" AND pipeline IN ");
        in_list(&mut sql, &span.pipelines);
        let rows = sql.query(self).fetch_all::<ListRow>().await?;
        let key = |r: &ListRow| {
            (
                r.pipeline.clone(),
                r.interaction_id.clone(),
                r.occurred_at / 86_400,
            )
        };
        Ok(newest(rows, key, |r| r.version)
            .into_iter()
            .map(|r| (key(&r), r))
            .collect())
    }

    /// The page's items with their redacted turns and labels.
    async fn with_turns(&self, rows: Vec<ListRow>, next: Option<Cursor>) -> Result<Page, Error> {
        let mut turns: Vec<Option<Arc<Vec<ServedTurn>>>> =
            rows.iter().map(|r| self.kept_turns.get(r)).collect();
        let missing: Vec<&ListRow> = rows
            .iter()
            .zip(&turns)
            .filter_map(|(r, t)| t.is_none().then_some(r))
            .collect();
        if !missing.is_empty() {
            let mut read = self.read_turns(&missing).await?.into_iter();
            for slot in turns.iter_mut().filter(|t| t.is_none()) {
                *slot = read.next();
            }
        }
        let items = rows
            .into_iter()
            .zip(turns)
            .map(|(r, turns)| ServedInteraction {
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
                turns: turns.map(|t| t.as_ref().clone()).unwrap_or_default(),
            })
            .collect();
        Ok(Page { items, next })
    }

    /// The redacted turns, with their labels, of each row (in the rows'
    /// order), read from `turns` and `labels`; each row's are kept for the
    /// next pages that show the same version (see [`KeptTurns`]).
    async fn read_turns(&self, rows: &[&ListRow]) -> Result<Vec<Arc<Vec<ServedTurn>>>, Error> {
        let Some(span) = PageSpan::of(rows.iter().map(|r| {
            (
                r.occurred_at,
                r.pipeline.as_str(),
                r.interaction_id.as_str(),
            )
        })) else {
            return Ok(Vec::new());
        };
        // The rows' time bounds (both tables are partitioned by month of
        // occurred_at, which they share with their interaction), so neither
        // lookup scans the whole table; the labels' sort key also holds the
        // day (see `time_range`; the turns' does not, so they take the plain
        // bounds); the ids as PREWHERE so that only the rows asked for are
        // read whole; duplicates of replayed rows are dropped here rather
        // than by FINAL.
        let (first, end) = (i64::from(span.first), i64::from(span.last) + 1);
        // Turns and labels in two statements at once: on ClickHouse 18.16
        // one `UNION ALL` of both, each row padded with the other table's
        // columns, costs more than two statements of their own columns.
        let mut turns_sql = Sql::default();
        turns_sql.small().push(&format!(
            "SELECT {TURN_COLUMNS} FROM turns PREWHERE interaction_id IN "
        ));
        in_list(&mut turns_sql, &span.ids);
        turns_sql.push(" WHERE pipeline IN ");
        in_list(&mut turns_sql, &span.pipelines);
        turns_sql
            .push(" AND occurred_at >= toDateTime(")
            .arg(Arg::Time(first))
            .push(") AND occurred_at < toDateTime(")
            .arg(Arg::Time(end))
            .push(")");
        let mut labels_sql = Sql::default();
        labels_sql.small().push(&format!(
            "SELECT {LABEL_COLUMNS} FROM labels PREWHERE interaction_id IN "
        ));
        in_list(&mut labels_sql, &span.ids);
        labels_sql.push(" WHERE 1");
        time_range(&mut labels_sql, Some(first), Some(end));
        // Turns carry their labels since migration 5; `labels` is read too
        // while the last turns read held some stored before (at the same
        // time), or when these do (after them).
        let apart = self.turn_labels_apart.load(Ordering::Relaxed);
        let (turns, mut stored_apart) = if apart {
            tokio::try_join!(
                turns_sql.query(self).fetch_all::<TurnRow>(),
                labels_sql.query(self).fetch_all::<LabelRow>(),
            )?
        } else {
            (
                turns_sql.query(self).fetch_all::<TurnRow>().await?,
                Vec::new(),
            )
        };
        let turns = newest(
            turns,
            |t| (t.pipeline.clone(), t.interaction_id.clone(), t.turn_index),
            |t| t.version,
        );
        let unlabelled = turns.iter().any(|t| t.labelled == 0);
        self.turn_labels_apart.store(unlabelled, Ordering::Relaxed);
        if unlabelled && !apart {
            stored_apart = labels_sql.query(self).fetch_all::<LabelRow>().await?;
        }
        let mut labels = newest(
            labels_of(&turns, stored_apart),
            |l| {
                (
                    l.pipeline.clone(),
                    l.interaction_id.clone(),
                    l.turn_index,
                    l.label_kind.clone(),
                    l.label.clone(),
                )
            },
            |l| l.version,
        );
        labels.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(a.label.cmp(&b.label))
        });
        Ok(rows
            .iter()
            .map(|r| {
                let mine = |pipeline: &str, id: &str| {
                    (pipeline, id) == (r.pipeline.as_str(), r.interaction_id.as_str())
                };
                let labels: Vec<&LabelRow> = labels
                    .iter()
                    .filter(|l| mine(&l.pipeline, &l.interaction_id))
                    .collect();
                let turns: Vec<&TurnRow> = turns
                    .iter()
                    .filter(|t| mine(&t.pipeline, &t.interaction_id))
                    .collect();
                // Only what the row's own write stored is kept: a newer
                // version being written, or an older one's leftovers, are
                // served but read again next time.
                let whole = turns.iter().all(|t| t.version == r.version)
                    && labels.iter().all(|l| l.version == r.version);
                let served: Arc<Vec<ServedTurn>> = Arc::new(
                    turns
                        .iter()
                        .map(|t| {
                            let served = |kind: &str| {
                                labels
                                    .iter()
                                    .filter(|l| {
                                        l.turn_index == t.turn_index && l.label_kind == kind
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
                        .collect(),
                );
                if whole {
                    self.kept_turns.keep(r, served.clone());
                }
                served
            })
            .collect())
    }
}

/// The drill-down's redacted turns and labels of interactions it served,
/// by `(pipeline, interaction_id, UTC day, version)`, at most a number of
/// bytes (least recently used go first).
///
/// Every write of an interaction stores its turns and labels with the
/// interaction's version, before the interaction row itself, so the turns
/// and labels read for a version never change: a replay or a rewrite is a
/// new version, read afresh. In cluster mode the distributed tables forward
/// each table's rows on their own, so a version is kept only once it is
/// ten minutes old.
#[derive(Clone)]
pub(crate) struct KeptTurns {
    cache: Option<moka::sync::Cache<TurnsKey, Arc<Vec<ServedTurn>>>>,
    settle_ms: u64,
}

/// `(pipeline, interaction_id, UTC day, version)`.
type TurnsKey = (String, String, u32, u64);

impl KeptTurns {
    pub(crate) fn new(bytes: u64, cluster: bool) -> KeptTurns {
        let cache = (bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(|k: &TurnsKey, v: &Arc<Vec<ServedTurn>>| {
                    let labels = |l: &[ServedLabel]| {
                        l.iter()
                            .map(|l| 48 + l.label.len() + l.engine.len() + 8 * l.evidence.len())
                            .sum::<usize>()
                    };
                    let turns: usize = v
                        .iter()
                        .map(|t| {
                            96 + t.speaker.len()
                                + t.language.len()
                                + t.text.len()
                                + labels(&t.emotions)
                                + labels(&t.themes)
                                + labels(&t.empathy)
                        })
                        .sum();
                    u32::try_from(64 + k.0.len() + k.1.len() + turns).unwrap_or(u32::MAX)
                })
                .build()
        });
        KeptTurns {
            cache,
            settle_ms: if cluster { 600_000 } else { 0 },
        }
    }

    fn key(r: &ListRow) -> TurnsKey {
        (
            r.pipeline.clone(),
            r.interaction_id.clone(),
            r.occurred_at / 86_400,
            r.version,
        )
    }

    fn get(&self, r: &ListRow) -> Option<Arc<Vec<ServedTurn>>> {
        self.cache.as_ref()?.get(&Self::key(r))
    }

    /// Keeps the turns just read for `r`.
    fn keep(&self, r: &ListRow, turns: Arc<Vec<ServedTurn>>) {
        if let Some(cache) = &self.cache {
            // The version is the write's time in milliseconds.
            let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
            if now_ms.saturating_sub(r.version) >= self.settle_ms {
                cache.insert(Self::key(r), turns);
            }
        }
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
    /// Stored interactions per pipeline, with the newest ingest and
    /// interaction times.
    pub async fn pipeline_counts(&self) -> Result<Vec<PipelineStored>, Error> {
        #[derive(Row, Deserialize)]
        struct Times {
            pipeline: String,
            last_ingested_at: u32,
            last_occurred_at: u32,
        }
        let counts = self
            .aggregate(
                &Filters::default(),
                &[Key::Col("pipeline"), Key::Date(DatePart::Day)],
                Need::COUNTS,
            )
            .await?;
        // The newest day of each pipeline bounds the scan for its latest times
        // (a maximum needs no deduplication, so no FINAL).
        let mut per: BTreeMap<String, (u64, String)> = BTreeMap::new();
        for (k, m) in counts {
            if let [pipeline, day] = k.as_slice() {
                let e = per.entry(pipeline.clone()).or_default();
                e.0 += m.interactions;
                if *day > e.1 {
                    e.1 = day.clone();
                }
            }
        }
        let Some(since) = per.values().map(|(_, d)| d.clone()).min() else {
            return Ok(Vec::new());
        };
        let times = self
            .client()
            .query(
                "SELECT pipeline, toUInt32(max(ingested_at)) AS last_ingested_at, \
                 toUInt32(max(occurred_at)) AS last_occurred_at \
                 FROM interactions WHERE occurred_at >= toDateTime(toDate(?), 'UTC') GROUP BY pipeline",
            )
            .bind(since.as_str())
            .fetch_all::<Times>()
            .await?;
        Ok(per
            .into_iter()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(pipeline, (interactions, _))| {
                let t = times.iter().find(|t| t.pipeline == pipeline);
                PipelineStored {
                    last_ingested_at: t.map_or(0, |t| t.last_ingested_at),
                    last_occurred_at: t.map_or(0, |t| t.last_occurred_at),
                    pipeline,
                    interactions,
                }
            })
            .collect())
    }

    /// Distinct values of a dimension, most frequent first (for filter pickers).
    pub async fn dimension_values(
        &self,
        dimension: Dimension,
        limit: u32,
    ) -> Result<Vec<String>, Error> {
        let mut rows = self
            .aggregate(
                &Filters::default(),
                &[Key::Col(dimension.column())],
                Need::COUNTS,
            )
            .await?;
        rows.retain(|(k, m)| k.first().is_some_and(|v| !v.is_empty()) && m.interactions > 0);
        rows.sort_by(|a, b| b.1.interactions.cmp(&a.1.interactions).then(a.0.cmp(&b.0)));
        Ok(rows
            .into_iter()
            .take(limit as usize)
            .filter_map(|(k, _)| k.into_iter().next())
            .collect())
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
            " AND occurred_at >= toDateTime(?) AND toDate(occurred_at) >= toDate(toDateTime(?)) \
             AND has(?, channel) AND hasAny(emotions, ?)"
        );
        assert_eq!(sql.args.len(), 4);
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
    /// customer (keyed id, any channel, whatever the other filters, also
    /// before the range) about the same issue (a shared theme, or the
    /// earlier contact named as `related_id`) ÷ contacts with a customer key.
    pub repeat_contact_rate: Option<f64>,
    pub repeat_window_days: u32,
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
        let k = self
            .aggregate_one(f, Need::COUNTS | Need::OPS | Need::REPEATS)
            .await?;
        let mean = |sum: f64, n: u64| (n >= min_n.max(1)).then(|| round1(sum / n as f64));
        Ok(Kpis {
            contacts: k.contacts,
            aht_seconds: mean(k.handle_sum, k.handle_n),
            asa_seconds: mean(k.wait_sum, k.wait_n),
            transfer_rate: rate(k.transferred, k.transfers_n, min_n),
            bot_containment: rate(k.bot_contained, k.bot_sessions, min_n),
            escalation_rate: rate(k.escalated_count, k.escalation_n, min_n),
            resolution_rate: rate(k.resolved_count, k.resolution_n, min_n),
            repeat_contact_rate: rate(k.repeats(repeat_window_days), k.keyed_contacts, min_n),
            repeat_window_days,
        })
    }
}

mod analytics;
pub(crate) mod engine;
pub use analytics::*;
pub use engine::{Ask, DatePart, Family, Groups, Key, Measures, Need};
