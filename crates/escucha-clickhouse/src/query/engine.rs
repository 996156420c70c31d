//! The one aggregation behind the dashboard's figures: additive
//! [`Measures`] grouped by [`Key`]s. It reads the daily rollup (see
//! [`crate::rollup`]) where a rollup grain covers the filters and keys, and
//! `interactions FINAL` otherwise — and also for the days the rollup has not
//! caught up with yet and for partial days at the ends of a range — then adds
//! the two parts up. Both sources give the same numbers; only the cost differs.

use super::*;
use crate::rollup::{Grain, Shape, GRAINS, REPEAT_MAX_DAYS};
use chrono::NaiveDate;
use std::sync::Arc;

macro_rules! measures {
    ($($(#[$doc:meta])* $name:ident: $ty:ty [$need:ident] = $raw:expr;)*) => {
        /// Additive counts and sums of a group of interactions (or of
        /// interaction × label rows when grouped by a label).
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Measures {
            $($(#[$doc])* pub $name: $ty,)*
            /// Keyed contacts whose nearest earlier contact of the same
            /// customer about the same issue was `i` days before (rounded up;
            /// index 0: the same second), up to [`REPEAT_MAX_DAYS`]. Empty when
            /// not asked for.
            pub repeat_days: Vec<u64>,
        }

        #[derive(Row, Deserialize)]
        struct MeasureRow {
            keys: Vec<String>,
            $($name: $ty,)*
            repeat_days: Vec<u64>,
        }

        impl MeasureRow {
            fn split(self) -> (Vec<String>, Measures) {
                (self.keys, Measures { $($name: self.$name,)* repeat_days: self.repeat_days })
            }
        }

        impl RollupRow {
            /// The rollup's measure arrays, each in [`raw_measures`] order.
            fn split(self) -> (Vec<String>, Measures) {
                let mut parts = [
                    self.counts.into_iter(),
                    self.mood.into_iter(),
                    self.scores.into_iter(),
                    self.ops.into_iter(),
                ];
                (
                    self.keys,
                    Measures {
                        $($name: parts[Need::$need.part()].next().unwrap_or(0.0) as $ty,)*
                        repeat_days: self.repeat_days,
                    },
                )
            }
        }

        impl Measures {
            /// Adds another group's measures to these.
            pub fn add(&mut self, o: &Measures) {
                $(self.$name += o.$name;)*
                if self.repeat_days.len() < o.repeat_days.len() {
                    self.repeat_days.resize(o.repeat_days.len(), 0);
                }
                for (a, b) in self.repeat_days.iter_mut().zip(&o.repeat_days) {
                    *a += *b;
                }
            }
        }

        /// Every scalar measure: its name, SQL over `interactions` rows, the
        /// part of [`Need`] it belongs to, and its type's zero.
        pub(crate) fn raw_measures() -> Vec<(&'static str, String, Need, &'static str)> {
            vec![$((
                stringify!($name),
                $raw.to_string(),
                Need::$need,
                if stringify!($ty) == "f64" { "toFloat64(0)" } else { "toUInt64(0)" },
            ),)*]
        }
    };
}

measures! {
    interactions: u64 [COUNTS] = "toUInt64(count())";
    surveys: u64 [COUNTS] = "toUInt64(countIf(kind = 'survey'))";
    transcripts: u64 [COUNTS] = "toUInt64(countIf(kind = 'transcript'))";
    /// Transcripts and messages (survey responses are not contacts).
    contacts: u64 [COUNTS] = "toUInt64(countIf(kind != 'survey'))";
    with_text: u64 [COUNTS] = "toUInt64(countIf(has_text = 1))";
    started_negative: u64 [MOOD] = format!(
        "toUInt64(countIf(kind = 'transcript' AND hasAny(first_emotions, {})))",
        negative_array()
    );
    recovered: u64 [MOOD] = format!(
        "toUInt64(countIf(kind = 'transcript' AND hasAny(first_emotions, {}) \
         AND hasAny(last_emotions, ['relief', 'gratitude'])))",
        negative_array()
    );
    empathy_n: u64 [MOOD] = "toUInt64(countIf(isNotNull(agent_empathy)))";
    empathy_sum: f64 [MOOD] = "toFloat64(sum(ifNull(agent_empathy, 0)))";
    loyal: u64 [MOOD] = format!(
        "toUInt64(countIf(has_text = 1 AND hasAny(emotions, {})))",
        sql_array(&escucha_core::taxonomy::LOYALTY_EMOTIONS)
    );
    detracting: u64 [MOOD] = format!(
        "toUInt64(countIf(has_text = 1 AND hasAny(emotions, {})))",
        sql_array(&escucha_core::taxonomy::DETRACTING_EMOTIONS)
    );
    nps_n: u64 [SCORES] = "toUInt64(countIf(isNotNull(nps)))";
    promoters: u64 [SCORES] = "toUInt64(countIf(ifNull(nps >= 9, 0)))";
    detractors: u64 [SCORES] = "toUInt64(countIf(ifNull(nps <= 6, 0)))";
    csat_n: u64 [SCORES] = "toUInt64(countIf(isNotNull(csat)))";
    csat_top2: u64 [SCORES] = "toUInt64(countIf(ifNull(csat >= 4, 0)))";
    csat_sum: u64 [SCORES] = "toUInt64(sum(ifNull(csat, 0)))";
    ces_n: u64 [SCORES] = "toUInt64(countIf(isNotNull(ces)))";
    ces_top: u64 [SCORES] = "toUInt64(countIf(ifNull(ces >= 5, 0)))";
    ces_sum: u64 [SCORES] = "toUInt64(sum(ifNull(ces, 0)))";
    handle_n: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND isNotNull(handle_seconds)))";
    handle_sum: f64 [OPS] = "toFloat64(sumIf(ifNull(handle_seconds, 0), kind != 'survey'))";
    wait_n: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND isNotNull(wait_seconds)))";
    wait_sum: f64 [OPS] = "toFloat64(sumIf(ifNull(wait_seconds, 0), kind != 'survey'))";
    transfers_n: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND isNotNull(transfers)))";
    transferred: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND ifNull(transfers, 0) > 0))";
    bot_sessions: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND ifNull(bot_involved, 0) = 1))";
    bot_contained: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND ifNull(bot_involved, 0) = 1 \
         AND ifNull(escalated, 0) = 0))";
    escalation_n: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND isNotNull(escalated)))";
    escalated_count: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND ifNull(escalated, 0) = 1))";
    resolution_n: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND isNotNull(resolved)))";
    resolved_count: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND ifNull(resolved, 0) = 1))";
    /// Contacts with a customer key (the denominator of the repeat-contact rate).
    keyed_contacts: u64 [OPS] = "toUInt64(countIf(kind != 'survey' AND customer_key != ''))";
}

/// Which measures an aggregation computes (the others stay 0), so a query
/// reads only the columns it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need(u8);

impl Need {
    /// interactions, surveys, transcripts, contacts, with_text.
    pub const COUNTS: Need = Need(1);
    /// Recovery, agent empathy, loyalty and detracting emotions.
    pub const MOOD: Need = Need(2);
    /// NPS, CSAT and CES counts.
    pub const SCORES: Need = Need(4);
    /// Handle and wait times, transfers, bot, escalation, resolution, keyed contacts.
    pub const OPS: Need = Need(8);
    /// [`Measures::repeat_days`] (the most expensive: a self-join per customer).
    pub const REPEATS: Need = Need(16);

    pub fn has(self, o: Need) -> bool {
        self.0 & o.0 == o.0
    }

    /// The measure groups, each an array column of the rollup.
    pub(crate) const PARTS: [(Need, &'static str); 4] = [
        (Need::COUNTS, "counts"),
        (Need::MOOD, "mood"),
        (Need::SCORES, "scores"),
        (Need::OPS, "ops"),
    ];

    /// Index of a single group in [`Need::PARTS`].
    fn part(self) -> usize {
        Need::PARTS
            .iter()
            .position(|(n, _)| *n == self)
            .unwrap_or(0)
    }
}

impl std::ops::BitOr for Need {
    type Output = Need;
    fn bitor(self, o: Need) -> Need {
        Need(self.0 | o.0)
    }
}

#[derive(Row, Deserialize)]
struct RollupRow {
    keys: Vec<String>,
    counts: Vec<f64>,
    mood: Vec<f64>,
    scores: Vec<f64>,
    ops: Vec<f64>,
    repeat_days: Vec<u64>,
}

/// The layout of the rollup's measure arrays: a hash of the measures'
/// names in order (FNV-1a), so a rollup built with another list is rebuilt.
pub(crate) fn measures_layout() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, ..) in raw_measures() {
        for b in name.bytes().chain(std::iter::once(b',')) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

impl Measures {
    pub fn scores(&self) -> ScoreCounts {
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

    /// Keyed contacts repeated within `window_days` (see `repeat_days`).
    pub fn repeats(&self, window_days: u32) -> u64 {
        self.repeat_days.iter().take(window_days as usize + 1).sum()
    }
}

/// Columns of `interactions` the raw aggregation reads.
pub(crate) const RAW_COLUMNS: &str =
    "pipeline, interaction_id, kind, channel, queue, team, agent, \
     product, language, occurred_at, customer_key, related_id, has_text, nps, csat, ces, \
     agent_empathy, transfers, handle_seconds, wait_seconds, bot_involved, escalated, resolved, \
     emotions, themes, first_emotions, last_emotions";

/// A label family an interaction carries as an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Emotion,
    Theme,
    FirstEmotion,
    LastEmotion,
    /// Emotions and themes together, keyed `emotion|<id>` and `theme|<id>`.
    EmotionOrTheme,
}

impl Family {
    fn array(self) -> &'static str {
        match self {
            Family::Emotion => "emotions",
            Family::Theme => "themes",
            Family::FirstEmotion => "first_emotions",
            Family::LastEmotion => "last_emotions",
            Family::EmotionOrTheme => {
                "arrayConcat(arrayMap(x -> concat('emotion|', x), emotions), \
                 arrayMap(x -> concat('theme|', x), themes))"
            }
        }
    }

    /// A key of [`Family::EmotionOrTheme`], `kind|label`, as its kind and
    /// label.
    pub(crate) fn kind_and_label(key: &str) -> Option<(&str, &str)> {
        key.split_once('|')
    }

    /// The rollup's condition on `label_kind` for this family and the key
    /// it groups by, when the per-label grains hold it.
    pub(crate) fn rollup_label(self) -> Option<(&'static str, &'static str)> {
        match self {
            Family::Emotion => Some(("label_kind = 'emotion'", "label")),
            Family::Theme => Some(("label_kind = 'theme'", "label")),
            Family::EmotionOrTheme => Some((
                "label_kind IN ('emotion', 'theme')",
                "concat(label_kind, '|', label)",
            )),
            _ => None,
        }
    }
}

impl From<LabelKind> for Family {
    fn from(k: LabelKind) -> Family {
        match k {
            LabelKind::Emotion => Family::Emotion,
            LabelKind::Theme => Family::Theme,
        }
    }
}

/// A calendar part of a day (UTC), rendered `YYYY-MM-DD`, or the side of a
/// date the day is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    Day,
    Week,
    Month,
    /// `1` from the date on, `0` before it.
    Since(NaiveDate),
}

impl DatePart {
    fn of(self, date: &str) -> String {
        match self {
            DatePart::Day => date.to_string(),
            DatePart::Week => format!("toMonday({date})"),
            DatePart::Month => format!("toStartOfMonth({date})"),
            DatePart::Since(d) => format!("{date} >= toDate('{}')", d.format("%Y-%m-%d")),
        }
    }
}

/// What groups are keyed by; every key is a String in the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A column of `interactions`: channel, queue, team, agent, product,
    /// language, pipeline or kind.
    Col(&'static str),
    /// One label of a family: an interaction counts once per label it carries.
    Label(Family),
    /// Start of a series bucket, Unix seconds (UTC).
    Bucket(Interval),
    /// A calendar part, `YYYY-MM-DD` (UTC).
    Date(DatePart),
}

/// Where an aggregation reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    Raw,
    Rollup {
        grain: &'static Grain,
        /// Whole days `[lo, hi)` read from the rollup (`None`: unbounded),
        /// minus `raw_days`.
        lo: Option<NaiveDate>,
        hi: Option<NaiveDate>,
        /// Days read from `interactions` instead: not rolled up yet, or only
        /// partly inside the range.
        raw_days: Vec<NaiveDate>,
    },
}

/// The most days of a rollup plan read raw before the whole request is.
const MAX_RAW_DAYS: usize = 31;

fn midnight(t: DateTime<Utc>) -> bool {
    t.timestamp().rem_euclid(86_400) == 0
}

/// Unix seconds of a day's start (UTC).
pub(crate) fn day_start(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp()
}

/// The dimension columns a filter restricts.
fn filter_columns(f: &Filters) -> Vec<&'static str> {
    f.dimensions()
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(c, _)| *c)
        .collect()
}

/// Chooses the source of an aggregation. `stale` is `None` while the
/// rollup's state is unknown (nothing maintains it, or its first check has
/// not finished), else the days it lags behind on.
pub(crate) fn plan(
    f: &Filters,
    keys: &[Key],
    repeats: bool,
    stale: Option<&BTreeSet<NaiveDate>>,
) -> Plan {
    let Some(stale) = stale else {
        return Plan::Raw;
    };
    if !f.emotion.is_empty() || !f.theme.is_empty() {
        return Plan::Raw;
    }
    let mut columns = filter_columns(f);
    let mut families = Vec::new();
    for k in keys {
        match k {
            Key::Col(c) => columns.push(c),
            Key::Label(fam) => families.push(*fam),
            Key::Bucket(Interval::Hour) => return Plan::Raw,
            Key::Bucket(_) | Key::Date(_) => {}
        }
    }
    let shape = match families.as_slice() {
        [] => Shape::Totals,
        [one] => match one.rollup_label() {
            Some(_) => Shape::Labels,
            None => return Plan::Raw,
        },
        [a, b]
            if (*a == Family::Theme && *b == Family::Emotion)
                || (*a == Family::Emotion && *b == Family::Theme) =>
        {
            Shape::Pairs
        }
        _ => return Plan::Raw,
    };
    if repeats && shape != Shape::Totals {
        return Plan::Raw;
    }
    let Some(grain) = GRAINS
        .iter()
        .find(|g| g.shape == shape && columns.iter().all(|c| g.columns.contains(c)))
    else {
        return Plan::Raw;
    };
    let mut raw_days: BTreeSet<NaiveDate> = BTreeSet::new();
    let lo = f.from.map(|t| {
        let d = t.date_naive();
        if midnight(t) {
            d
        } else {
            raw_days.insert(d);
            d + chrono::Duration::days(1)
        }
    });
    let hi = f.to.map(|t| {
        let d = t.date_naive();
        if !midnight(t) {
            raw_days.insert(d);
        }
        d
    });
    // A day's repeat contacts depend on the days before it: with repeats,
    // the days after a stale day (within the longest window) are stale too.
    let reach = if repeats {
        i64::from(REPEAT_MAX_DAYS)
    } else {
        0
    };
    let lagging = stale
        .iter()
        .flat_map(|d| (0..=reach).map(move |i| *d + chrono::Duration::days(i)))
        .filter(|d| f.from.is_none_or(|t| *d >= t.date_naive()))
        .filter(|d| f.to.is_none_or(|t| day_start(*d) < t.timestamp()));
    raw_days.extend(lagging);
    if raw_days.len() > MAX_RAW_DAYS {
        return Plan::Raw;
    }
    Plan::Rollup {
        grain,
        lo,
        hi,
        raw_days: raw_days.into_iter().collect(),
    }
}

/// The gap to each keyed contact's nearest earlier contact of the same
/// customer about the same issue (a shared theme, or the earlier contact
/// named as its `related_id`), on any channel, as a one-hot histogram of
/// days (see [`Measures::repeat_days`]): `(pipeline, interaction_id,
/// repeat_hist)` of the contacts in `[lo, hi)`. Earlier contacts count
/// whatever the request's other filters, up to [`REPEAT_MAX_DAYS`] before.
///
/// Per customer every contact is compared with every other (customers have
/// few contacts). ClickHouse 18.16 lambdas only see their own array
/// arguments and the parameters of enclosing lambdas, hence the outer
/// `arrayMap` over `ts, ids, ths, rels` passing `ts, ids, ths` inward.
pub(crate) fn repeat_gaps(sql: &mut Sql, lo: Option<i64>, hi: Option<i64>) {
    let days = REPEAT_MAX_DAYS;
    let max = i64::from(days) * 86_400;
    // `if` computes both branches on ClickHouse: the histogram's length is
    // clamped even for contacts without a repeat.
    let none = i64::MAX / 4;
    sql.push(&format!(
        "SELECT rp AS pipeline, ri AS interaction_id, \
         if(rg >= {none}, emptyArrayUInt64(), \
         arrayConcat(arrayResize(emptyArrayUInt64(), toUInt64(least(intDiv(rg + 86399, 86400), {days}))), \
         [toUInt64(1)])) AS repeat_hist FROM (\
         SELECT groupArray(pipeline) AS ps, groupArray(interaction_id) AS ids, \
         groupArray(toInt64(toUInt32(occurred_at))) AS ts, groupArray(themes) AS ths, \
         groupArray(related_id) AS rels \
         FROM interactions FINAL WHERE kind != 'survey' AND customer_key != ''"
    ));
    time_range(sql, lo.map(|lo| lo - max), hi);
    if let Some(lo) = lo {
        // Only the customers with a contact in the range.
        sql.push(
            " AND customer_key GLOBAL IN (SELECT customer_key FROM interactions \
             WHERE kind != 'survey' AND customer_key != ''",
        );
        time_range(sql, Some(lo), hi);
        sql.push(")");
    }
    sql.push(&format!(
        " GROUP BY customer_key) ARRAY JOIN ps AS rp, ids AS ri, ts AS rt, \
         arrayMap((tj, idj, thj, rj) -> arrayReduce('min', arrayMap((ti, idi, thi) -> \
         if((ti < tj OR (ti = tj AND idi < idj)) AND tj - ti <= {max} \
         AND (hasAny(thi, thj) OR (rj != '' AND rj = idi)), tj - ti, toInt64({none})), ts, ids, ths)), \
         ts, ids, ths, rels) AS rg"
    ));
    if let Some(lo) = lo {
        sql.push(" WHERE rt >= ").arg(Arg::Time(lo));
    }
}

/// `(SELECT RAW_COLUMNS[, repeat_hist] FROM interactions FINAL WHERE …)`,
/// the rows of a raw aggregation. `days` restricts it to those days (UTC).
fn raw_rows(sql: &mut Sql, f: &Filters, days: Option<&[NaiveDate]>, repeats: bool) {
    let mut base = Sql::default();
    base.push(&format!(
        "SELECT {RAW_COLUMNS} FROM interactions FINAL WHERE 1"
    ));
    f.conditions(&mut base);
    let mut bounds = (f.from.map(|t| t.timestamp()), f.to.map(|t| t.timestamp()));
    if let Some(days) = days {
        if let (Some(first), Some(last)) = (days.first(), days.last()) {
            let (lo, hi) = (day_start(*first), day_start(*last) + 86_400);
            time_range(&mut base, Some(lo), Some(hi));
            bounds = (
                Some(bounds.0.map_or(lo, |b| b.max(lo))),
                Some(bounds.1.map_or(hi, |b| b.min(hi))),
            );
        }
        base.push(" AND has(")
            .arg(Arg::List(days.iter().map(|d| d.to_string()).collect()))
            .push(", toString(toDate(occurred_at, 'UTC')))");
    }
    if repeats {
        sql.push(&format!("(SELECT {RAW_COLUMNS}, repeat_hist FROM ("));
        append(sql, &base);
        sql.push(") AS rc_base ANY LEFT JOIN (");
        repeat_gaps(sql, bounds.0, bounds.1);
        sql.push(") AS rc_gaps USING (pipeline, interaction_id))");
    } else {
        sql.push("(");
        append(sql, &base);
        sql.push(")");
    }
}

/// `[tag, d0, d1, …] AS keys` and the `GROUP BY` clause of rendered keys;
/// `tag`, when given, is a literal first key naming the statement of a
/// `UNION ALL` a row comes from.
fn key_clauses(rendered: &[String], tag: Option<usize>) -> (String, String) {
    let mut names: Vec<String> = tag.iter().map(|t| format!("'{t}'")).collect();
    if rendered.is_empty() {
        return match names.is_empty() {
            true => ("emptyArrayString() AS keys".into(), String::new()),
            false => (format!("[{}] AS keys", names.join(", ")), String::new()),
        };
    }
    names.extend((0..rendered.len()).map(|i| format!("d{i}")));
    let group: Vec<String> = rendered
        .iter()
        .enumerate()
        .map(|(i, e)| format!("toString({e}) AS d{i}"))
        .collect();
    (
        format!("[{}] AS keys", names.join(", ")),
        format!(" GROUP BY {}", group.join(", ")),
    )
}

fn bucket_of(interval: Interval, date: &str) -> String {
    match interval {
        Interval::Hour => "toUInt32(toStartOfHour(occurred_at))".into(),
        Interval::Day => format!("toUInt32(toDateTime({date}, 'UTC'))"),
        Interval::Week => format!("toUInt32(toDateTime(toMonday({date}), 'UTC'))"),
        Interval::Month => format!("toUInt32(toDateTime(toStartOfMonth({date}), 'UTC'))"),
    }
}

/// The raw aggregation's SQL.
fn raw_sql(f: &Filters, keys: &[Key], need: Need, days: Option<&[NaiveDate]>) -> Sql {
    let repeats = need.has(Need::REPEATS);
    let mut from = Sql::default();
    raw_rows(&mut from, f, days, repeats);
    let mut columns = RAW_COLUMNS.to_string();
    if repeats {
        columns.push_str(", repeat_hist");
    }
    let date = "toDate(occurred_at, 'UTC')";
    let mut rendered = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        rendered.push(match k {
            Key::Col(c) => c.to_string(),
            Key::Label(fam) => {
                // One ARRAY JOIN per SELECT on ClickHouse 18.16.
                let alias = format!("l{i}");
                let mut next = Sql::default();
                next.push(&format!("(SELECT {columns}, {alias} FROM "));
                append(&mut next, &from);
                next.push(&format!(" ARRAY JOIN {} AS {alias})", fam.array()));
                columns.push_str(&format!(", {alias}"));
                from = next;
                alias
            }
            Key::Bucket(interval) => bucket_of(*interval, date),
            Key::Date(part) => part.of(date),
        });
    }
    let (keys_sql, group) = key_clauses(&rendered, None);
    let measures: Vec<String> = raw_measures()
        .into_iter()
        .map(|(name, e, part, zero)| {
            let e = if need.has(part) { e.as_str() } else { zero };
            format!("{e} AS {name}")
        })
        .collect();
    let mut sql = Sql::default();
    // A few days the rollup has not caught up with (normally today's).
    if !repeats && days.is_some_and(|d| d.len() <= 3) {
        sql.small();
    }
    sql.push(&format!(
        "SELECT {keys_sql}, {}, {} AS repeat_days FROM ",
        measures.join(", "),
        if repeats {
            "sumForEach(repeat_hist)"
        } else {
            "emptyArrayUInt64()"
        }
    ));
    append(&mut sql, &from);
    sql.push(&group);
    sql
}

/// The rollup's expressions for `keys` in a grain and its condition on
/// `label_kind`.
fn rollup_keys(grain: &Grain, keys: &[Key]) -> (Vec<String>, &'static str) {
    let mut rendered = Vec::new();
    let mut label_kind = "label_kind = ''";
    for k in keys {
        rendered.push(match k {
            Key::Col(c) => c.to_string(),
            Key::Label(fam) => match grain.shape {
                Shape::Pairs => {
                    label_kind = "label_kind = 'pair'";
                    if *fam == Family::Theme {
                        "label"
                    } else {
                        "label2"
                    }
                    .to_string()
                }
                _ => {
                    let (cond, key) = fam.rollup_label().unwrap_or(("0", "label"));
                    label_kind = cond;
                    key.to_string()
                }
            },
            Key::Bucket(interval) => bucket_of(*interval, "day"),
            Key::Date(part) => part.of("day"),
        });
    }
    (rendered, label_kind)
}

/// The days a rollup read takes: whole days `[lo, hi)` minus `skip`.
struct RollupDays<'a> {
    lo: Option<NaiveDate>,
    hi: Option<NaiveDate>,
    skip: &'a [NaiveDate],
}

impl RollupDays<'_> {
    /// Whether the read holds any day.
    fn any(&self) -> bool {
        match (self.lo, self.hi) {
            (Some(lo), Some(hi)) => lo < hi,
            _ => true,
        }
    }

    /// ` AND …` for the days and the filters' dimensions.
    fn conditions(&self, sql: &mut Sql, f: &Filters) {
        if let Some(lo) = self.lo {
            sql.push(" AND day >= toDate(")
                .arg(Arg::Str(lo.to_string()))
                .push(")");
        }
        if let Some(hi) = self.hi {
            sql.push(" AND day < toDate(")
                .arg(Arg::Str(hi.to_string()))
                .push(")");
        }
        if !self.skip.is_empty() {
            sql.push(" AND NOT has(")
                .arg(Arg::List(self.skip.iter().map(|d| d.to_string()).collect()))
                .push(", toString(day))");
        }
        f.dimension_conditions(sql);
    }
}

/// The rollup's SQL for a grain's `days`, its keys led by `tag` when given
/// (see [`key_clauses`]).
fn rollup_sql(
    f: &Filters,
    keys: &[Key],
    need: Need,
    grain: &Grain,
    days: &RollupDays,
    tag: Option<usize>,
) -> Sql {
    let (rendered, label_kind) = rollup_keys(grain, keys);
    let (keys_sql, group) = key_clauses(&rendered, tag);
    let repeats = match need.has(Need::REPEATS) {
        true => "sumForEach(repeat_days)",
        false => "emptyArrayUInt64()",
    };
    let parts: Vec<String> = Need::PARTS
        .iter()
        .map(|(n, column)| match need.has(*n) {
            true => format!("sumForEach({column}) AS {column}"),
            false => format!("emptyArrayFloat64() AS {column}"),
        })
        .collect();
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT {keys_sql}, {}, {repeats} AS repeat_days FROM rollup \
         WHERE grain = {} AND {label_kind}",
        parts.join(", "),
        grain.id
    ));
    days.conditions(&mut sql, f);
    sql.push(&group);
    sql
}

/// Position (1-based, as ClickHouse indexes arrays) of `with_text` in the
/// rollup's `counts`.
fn with_text_index() -> usize {
    raw_measures()
        .iter()
        .filter(|(_, _, part, _)| *part == Need::COUNTS)
        .position(|(name, ..)| *name == "with_text")
        .map_or(0, |i| i + 1)
}

/// The rollup's SQL for [`Store::daily_with_text`]: the rows of every
/// grain in `grains` (with the range's days and filters) grouped by grain,
/// label and `columns`, each group with the day number and `with_text` of
/// its rows (a group may hold several rows a day; the reader adds them up).
/// One statement for several groupings: ClickHouse reads the grains in one
/// pass instead of a pass per grouping. `part` tags the rows (see
/// [`DailyRow`]).
fn daily_rollup_sql(
    f: &Filters,
    days: &RollupDays,
    grains: &[u8],
    columns: &[&str],
    part: u8,
) -> Sql {
    let grains: Vec<String> = grains.iter().map(u8::to_string).collect();
    let cols = match columns.is_empty() {
        true => "emptyArrayString()".to_string(),
        false => format!("[{}]", columns.join(", ")),
    };
    let group: String = columns.iter().map(|c| format!(", {c}")).collect();
    let mut sql = Sql::default();
    sql.small().push(&format!(
        "SELECT toUInt8({part}) AS part, grain, label_kind, label, {cols} AS cols, \
         groupArray(toUInt32(day)) AS days, groupArray(toUInt64(counts[{}])) AS counts \
         FROM rollup WHERE grain IN ({}) AND label_kind IN ('', 'emotion', 'theme')",
        with_text_index(),
        grains.join(", ")
    ));
    days.conditions(&mut sql, f);
    sql.push(&format!(" GROUP BY grain, label_kind, label{group}"));
    sql
}

/// Tags of [`DailyRow`]: the rewrite versions of settled days, their
/// counts, and the counts of the other days.
const PART_REWRITES: u8 = 0;
const PART_SETTLED: u8 = 1;
const PART_RECENT: u8 = 2;

/// The rollup's rewrite version of each of `days` (whole days, none
/// skipped), as one row tagged [`PART_REWRITES`]: `days` and `counts` hold
/// the day numbers and the versions of their marker rows. A rewrite swaps a
/// whole month in at once with new markers for the days it computed, so
/// the same versions mean the same rows.
fn rewrites_sql(days: &RollupDays) -> Sql {
    let mut sql = Sql::default();
    sql.small().push(&format!(
        "SELECT toUInt8({PART_REWRITES}) AS p, toUInt8(0) AS g, '' AS lk, '' AS l, \
         emptyArrayString() AS c, groupArray(toUInt32(day)) AS ds, groupArray(version) AS vs \
         FROM rollup WHERE grain = {} AND label_kind = '#day'",
        GRAINS[0].id
    ));
    days.conditions(&mut sql, &Filters::default());
    sql
}

/// Counts of settled days kept between reads, with the rewrite versions of
/// those days they were read at.
pub(crate) struct SettledRows {
    rewrites: Vec<(u32, u64)>,
    rows: Vec<DailyRow>,
}

/// The most reads whose settled days are kept (about 3 MB each for a year
/// of 10 M interactions).
pub(crate) const SETTLED_KEPT: u64 = 16;

/// The key of a row of [`daily_rollup_sql`] for a grouping by `keys`, or
/// `None` when the row is not one of its groups.
fn daily_key(keys: &[Key], columns: &[&str], row: &DailyRow) -> Option<Vec<String>> {
    keys.iter()
        .map(|k| match k {
            Key::Col(c) => {
                let at = columns.iter().position(|x| x == c)?;
                row.cols.get(at).cloned()
            }
            Key::Label(fam) => match (fam, row.label_kind.as_str()) {
                (Family::EmotionOrTheme, kind @ ("emotion" | "theme")) => {
                    Some(format!("{kind}|{}", row.label))
                }
                (Family::Emotion, "emotion") | (Family::Theme, "theme") => Some(row.label.clone()),
                _ => None,
            },
            Key::Bucket(_) | Key::Date(_) => None,
        })
        .collect()
}

/// The rows of [`daily_rollup_sql`] and [`rewrites_sql`], told apart by
/// `part`.
#[derive(Row, Deserialize)]
pub(crate) struct DailyRow {
    part: u8,
    grain: u8,
    label_kind: String,
    label: String,
    cols: Vec<String>,
    days: Vec<u32>,
    counts: Vec<u64>,
}

/// Removes and returns the first key of a row (the statement tag of a
/// `UNION ALL`, the day of a dated read, or a [`DatePart::Since`] side).
pub(crate) fn take_first(keys: &mut Vec<String>) -> Option<String> {
    (!keys.is_empty()).then(|| keys.remove(0))
}

/// The rollup's statements as one `UNION ALL` (a small read, see
/// [`Sql::small`]); `None` when there are none.
fn union_all(parts: &[Sql]) -> Option<Sql> {
    let (head, tail) = parts.split_first()?;
    let mut sql = Sql::default();
    sql.small();
    append(&mut sql, head);
    for part in tail {
        sql.push(" UNION ALL ");
        append(&mut sql, part);
    }
    Some(sql)
}

/// The rewrite versions in the [`PART_REWRITES`] rows of a read: (day,
/// version) in day order.
fn rewrites_of(rows: &[DailyRow]) -> Vec<(u32, u64)> {
    let mut out: Vec<(u32, u64)> = rows
        .iter()
        .filter(|r| r.part == PART_REWRITES)
        .flat_map(|r| r.days.iter().copied().zip(r.counts.iter().copied()))
        .collect();
    out.sort_unstable();
    out
}

/// Interactions with text of each group, one count per day from the first
/// day asked for.
pub type DailyGroups = Vec<(Vec<String>, Vec<u64>)>;

/// One aggregation of a batch: the `need`ed measures of the interactions
/// matching `f`, grouped by `keys`.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub f: &'a Filters,
    pub keys: &'a [Key],
    pub need: Need,
}

/// Rows of aggregated measures: keys and measures per group.
pub type Groups = Vec<(Vec<String>, Measures)>;

impl Store {
    /// The `need`ed measures of the interactions matching `f`, grouped by
    /// `keys`, in no particular order.
    pub async fn aggregate(&self, f: &Filters, keys: &[Key], need: Need) -> Result<Groups, Error> {
        let mut out = self.aggregate_many(&[Ask { f, keys, need }]).await?;
        Ok(out.pop().unwrap_or_default())
    }

    /// [`Store::aggregate_many`] for a fixed number of aggregations.
    pub async fn aggregate_all<const N: usize>(
        &self,
        asks: [Ask<'_>; N],
    ) -> Result<[Groups; N], Error> {
        let mut answers = self.aggregate_many(&asks).await?.into_iter();
        Ok(std::array::from_fn(|_| answers.next().unwrap_or_default()))
    }

    /// Several aggregations at once, answered in the order asked. Every
    /// part read from the rollup goes into one `UNION ALL` statement (a
    /// statement costs ClickHouse more than reading a few thousand rollup
    /// rows); parts read from `interactions` run alongside it.
    pub async fn aggregate_many(&self, asks: &[Ask<'_>]) -> Result<Vec<Groups>, Error> {
        let stale = self.rollup().stale_days();
        let mut rolled: Vec<Sql> = Vec::new();
        let mut raw: Vec<(usize, Sql)> = Vec::new();
        for (i, a) in asks.iter().enumerate() {
            match plan(a.f, a.keys, a.need.has(Need::REPEATS), stale.as_ref()) {
                Plan::Raw => raw.push((i, raw_sql(a.f, a.keys, a.need, None))),
                Plan::Rollup {
                    grain,
                    lo,
                    hi,
                    raw_days,
                } => {
                    let days = RollupDays {
                        lo,
                        hi,
                        skip: &raw_days,
                    };
                    if days.any() {
                        rolled.push(rollup_sql(a.f, a.keys, a.need, grain, &days, Some(i)));
                    }
                    if !raw_days.is_empty() {
                        raw.push((i, raw_sql(a.f, a.keys, a.need, Some(&raw_days))));
                    }
                }
            }
        }
        let union = async {
            let Some(sql) = union_all(&rolled) else {
                return Ok(Vec::new());
            };
            let rows = sql.query(self).fetch_all::<RollupRow>().await?;
            Ok::<_, Error>(rows.into_iter().map(RollupRow::split).collect::<Groups>())
        };
        let (union, raws) = tokio::try_join!(union, self.fetch_each(&raw))?;
        let mut out: Vec<Groups> = vec![Vec::new(); asks.len()];
        for (mut keys, m) in union {
            let Some(i) = take_first(&mut keys)
                .and_then(|t| t.parse::<usize>().ok())
                .filter(|i| *i < asks.len())
            else {
                continue;
            };
            out[i].push((keys, m));
        }
        for (i, rows) in raws {
            if out[i].is_empty() {
                out[i] = rows;
                continue;
            }
            let mut merged: BTreeMap<Vec<String>, Measures> = BTreeMap::new();
            for (k, m) in std::mem::take(&mut out[i]).into_iter().chain(rows) {
                merged.entry(k).or_default().add(&m);
            }
            out[i] = merged.into_iter().collect();
        }
        Ok(out)
    }

    /// Interactions with text per UTC day from `first` to `last` among
    /// those matching `f` (its time bounds ignored), for each grouping in
    /// `asks` (keys without a date), answered in the order asked: per
    /// group, one count per day. The rollup's rows come packed, a row per
    /// group, in one statement: at 10 M interactions a row per day and
    /// group would be hundreds of thousands of rows to send and decode.
    pub async fn daily_with_text(
        &self,
        f: &Filters,
        asks: &[&[Key]],
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<DailyGroups>, Error> {
        let window = Filters {
            from: DateTime::from_timestamp(day_start(first), 0),
            to: DateTime::from_timestamp(day_start(last) + 86_400, 0),
            ..f.without_time()
        };
        let first_day = day_start(first) / 86_400;
        let n = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
        let stale = self.rollup().stale_days();
        // Groupings read from the rollup, by their days (normally one read).
        type Reads<'a> = BTreeMap<
            (Option<NaiveDate>, Option<NaiveDate>, Vec<NaiveDate>),
            Vec<(usize, &'a Grain)>,
        >;
        let mut reads: Reads = BTreeMap::new();
        let mut raw = Vec::new();
        for (i, keys) in asks.iter().enumerate() {
            let mut dated = vec![Key::Date(DatePart::Day)];
            dated.extend_from_slice(keys);
            let rollup_keys = keys.iter().all(|k| match k {
                Key::Col(_) => true,
                Key::Label(fam) => fam.rollup_label().is_some(),
                _ => false,
            });
            match plan(&window, keys, false, stale.as_ref()) {
                Plan::Rollup {
                    grain,
                    lo,
                    hi,
                    raw_days,
                } if rollup_keys && grain.shape != Shape::Pairs => {
                    if !raw_days.is_empty() {
                        let sql = raw_sql(&window, &dated, Need::COUNTS, Some(&raw_days));
                        raw.push((i, sql));
                    }
                    let any = RollupDays {
                        lo,
                        hi,
                        skip: &raw_days,
                    }
                    .any();
                    if any {
                        reads
                            .entry((lo, hi, raw_days))
                            .or_default()
                            .push((i, grain));
                    }
                }
                _ => raw.push((i, raw_sql(&window, &dated, Need::COUNTS, None))),
            }
        }
        let mut columns: Vec<&str> = Vec::new();
        for k in asks.iter().flat_map(|k| k.iter()) {
            if let Key::Col(c) = k {
                if !columns.contains(c) {
                    columns.push(c);
                }
            }
        }
        let rolled = futures::future::try_join_all(reads.iter().map(|((lo, hi, skip), on)| {
            let (columns, window) = (&columns, &window);
            async move {
                let days = RollupDays {
                    lo: *lo,
                    hi: *hi,
                    skip,
                };
                let mut ids: Vec<u8> = on.iter().map(|(_, g)| g.id).collect();
                ids.sort_unstable();
                ids.dedup();
                let rows = self.daily_rows(window, &days, &ids, columns).await?;
                Ok::<_, Error>((on, rows))
            }
        }));
        let (rolled, raws) = tokio::try_join!(rolled, self.fetch_each(&raw))?;
        let mut out: Vec<BTreeMap<Vec<String>, Vec<u64>>> = vec![BTreeMap::new(); asks.len()];
        let mut add = |i: usize, keys: Vec<String>, days: &mut dyn Iterator<Item = (i64, u64)>| {
            let Some(group) = out.get_mut(i) else {
                return;
            };
            let counts = group.entry(keys).or_insert_with(|| vec![0; n]);
            for (day, count) in days {
                if let Some(c) = usize::try_from(day - first_day)
                    .ok()
                    .and_then(|at| counts.get_mut(at))
                {
                    *c += count;
                }
            }
        };
        for (on, (settled, recent)) in rolled {
            let settled = settled
                .as_ref()
                .map(|s| s.rows.as_slice())
                .unwrap_or_default();
            for r in settled.iter().chain(&recent) {
                for (i, grain) in on {
                    if grain.id != r.grain {
                        continue;
                    }
                    let Some(keys) = daily_key(asks[*i], &columns, r) else {
                        continue;
                    };
                    let mut days = r
                        .days
                        .iter()
                        .map(|d| i64::from(*d))
                        .zip(r.counts.iter().copied());
                    add(*i, keys, &mut days);
                }
            }
        }
        for (i, rows) in raws {
            for (mut keys, m) in rows {
                let Some(day) = take_first(&mut keys).and_then(|d| crate::rollup::parse_day(&d))
                else {
                    continue;
                };
                let mut days = std::iter::once((day_start(day) / 86_400, m.with_text));
                add(i, keys, &mut days);
            }
        }
        Ok(out.into_iter().map(|g| g.into_iter().collect()).collect())
    }

    /// The rows of [`daily_rollup_sql`] for `days`: those of settled days
    /// (before yesterday), then the others. A settled day's rollup changes
    /// only when late or replayed interactions arrive, so its rows are kept
    /// between calls with the rewrite version of each day: a call reads
    /// those versions in the same statement as the other days, and reads
    /// the settled days again only when a version moved (at 10 M
    /// interactions, a year's anomalies then read a few thousand rollup rows
    /// instead of 200,000).
    async fn daily_rows(
        &self,
        f: &Filters,
        days: &RollupDays<'_>,
        grains: &[u8],
        columns: &[&str],
    ) -> Result<(Option<Arc<SettledRows>>, Vec<DailyRow>), Error> {
        let settled_before = Utc::now().date_naive() - chrono::Duration::days(1);
        let split = days.lo.is_some_and(|lo| lo < settled_before)
            && days.skip.iter().all(|d| *d >= settled_before);
        if !split {
            let sql = daily_rollup_sql(f, days, grains, columns, PART_RECENT);
            return Ok((None, sql.query(self).fetch_all().await?));
        }
        let settled = RollupDays {
            lo: days.lo,
            hi: Some(days.hi.map_or(settled_before, |hi| hi.min(settled_before))),
            skip: &[],
        };
        let recent = RollupDays {
            lo: Some(settled_before),
            hi: days.hi,
            skip: days.skip,
        };
        let settled_sql = daily_rollup_sql(f, &settled, grains, columns, PART_SETTLED);
        let key = settled_sql.inline();
        let kept = self.settled_days.get(&key);
        // The versions come first: a statement's reads take the table's
        // parts in order, so a rewrite landing between them leaves rows
        // newer than their versions (read again next time), never older.
        let mut parts = vec![rewrites_sql(&settled)];
        if recent.any() {
            parts.push(daily_rollup_sql(f, &recent, grains, columns, PART_RECENT));
        }
        if kept.is_none() {
            parts.push(settled_sql.clone());
        }
        let rows = self.fetch_daily(&parts).await?;
        let rewrites = rewrites_of(&rows);
        let (mut settled_rows, recent): (Vec<DailyRow>, Vec<DailyRow>) = rows
            .into_iter()
            .filter(|r| r.part != PART_REWRITES)
            .partition(|r| r.part == PART_SETTLED);
        let settled = match kept {
            Some(kept) if kept.rewrites == rewrites => kept,
            kept => {
                let rewrites = match kept {
                    None => rewrites,
                    // A settled day was rewritten since: read them again.
                    Some(_) => {
                        let again = self
                            .fetch_daily(&[rewrites_sql(&settled), settled_sql])
                            .await?;
                        let rewrites = rewrites_of(&again);
                        settled_rows = again
                            .into_iter()
                            .filter(|r| r.part == PART_SETTLED)
                            .collect();
                        rewrites
                    }
                };
                let entry = Arc::new(SettledRows {
                    rewrites,
                    rows: settled_rows,
                });
                self.settled_days.insert(key, entry.clone());
                entry
            }
        };
        Ok((Some(settled), recent))
    }

    /// The rows of `parts` read as one statement.
    async fn fetch_daily(&self, parts: &[Sql]) -> Result<Vec<DailyRow>, Error> {
        match union_all(parts) {
            Some(sql) => Ok(sql.query(self).fetch_all().await?),
            None => Ok(Vec::new()),
        }
    }

    /// The `need`ed measures of all interactions matching `f`.
    pub async fn aggregate_one(&self, f: &Filters, need: Need) -> Result<Measures, Error> {
        Ok(crate::query::total_of(self.aggregate(f, &[], need).await?))
    }

    async fn fetch_measures(&self, sql: &Sql) -> Result<Groups, Error> {
        let rows = sql.query(self).fetch_all::<MeasureRow>().await?;
        Ok(rows.into_iter().map(MeasureRow::split).collect())
    }

    /// Each `(ask, statement)` of reads from `interactions`, concurrently.
    async fn fetch_each(&self, raw: &[(usize, Sql)]) -> Result<Vec<(usize, Groups)>, Error> {
        futures::future::try_join_all(
            raw.iter()
                .map(|(i, sql)| async move { Ok((*i, self.fetch_measures(sql).await?)) }),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn unknown_rollup_state_reads_raw() {
        assert_eq!(plan(&Filters::default(), &[], false, None), Plan::Raw);
    }

    #[test]
    fn whole_days_come_from_the_rollup_and_partial_or_stale_days_from_the_table() {
        let stale: BTreeSet<NaiveDate> = [day("2026-11-20"), day("2026-10-01")].into();
        let f = Filters {
            from: Some(at("2026-11-01T10:00:00Z")),
            to: Some(at("2026-11-26T00:00:00Z")),
            channel: vec!["voice".into()],
            ..Default::default()
        };
        let Plan::Rollup {
            grain,
            lo,
            hi,
            raw_days,
        } = plan(&f, &[Key::Bucket(Interval::Day)], false, Some(&stale))
        else {
            panic!("expected the rollup");
        };
        assert_eq!(grain.id, 5);
        assert_eq!((lo, hi), (Some(day("2026-11-02")), Some(day("2026-11-26"))));
        // The partial first day and the stale day inside the range.
        assert_eq!(raw_days, vec![day("2026-11-01"), day("2026-11-20")]);
    }

    #[test]
    fn the_smallest_grain_that_covers_filters_and_keys_is_chosen() {
        let none = BTreeSet::new();
        let grain =
            |f: &Filters, keys: &[Key], repeats: bool| match plan(f, keys, repeats, Some(&none)) {
                Plan::Rollup { grain, .. } => Some(grain.id),
                Plan::Raw => None,
            };
        let all = Filters::default();
        assert_eq!(grain(&all, &[], true), Some(3));
        assert_eq!(grain(&all, &[Key::Col("channel")], true), Some(5));
        assert_eq!(grain(&all, &[Key::Col("language")], true), Some(0));
        assert_eq!(grain(&all, &[Key::Col("queue")], true), Some(1));
        assert_eq!(grain(&all, &[Key::Label(Family::Theme)], false), Some(13));
        assert_eq!(
            grain(
                &all,
                &[Key::Label(Family::Theme), Key::Col("product")],
                false
            ),
            Some(12)
        );
        assert_eq!(
            grain(
                &all,
                &[Key::Label(Family::Theme), Key::Label(Family::Emotion)],
                false
            ),
            Some(20)
        );
        // Repeat contacts are rolled up per interaction, not per label.
        assert_eq!(grain(&all, &[Key::Label(Family::Theme)], true), None);
        assert_eq!(grain(&all, &[Key::Col("agent")], true), Some(4));
        // No grain has agents per label, hours or start emotions; label filters read raw.
        assert_eq!(
            grain(&all, &[Key::Col("agent"), Key::Label(Family::Theme)], false),
            None
        );
        assert_eq!(grain(&all, &[Key::Bucket(Interval::Hour)], false), None);
        assert_eq!(
            grain(&all, &[Key::Label(Family::FirstEmotion)], false),
            None
        );
        let themed = Filters {
            theme: vec!["long_wait".into()],
            ..Default::default()
        };
        assert_eq!(grain(&themed, &[], false), None);
        // Queue and product together: no grain.
        let both = Filters {
            queue: vec!["billing".into()],
            ..Default::default()
        };
        assert_eq!(grain(&both, &[Key::Col("product")], false), None);
        // Channel with queue or product: their own grains.
        assert_eq!(grain(&both, &[Key::Col("channel")], false), Some(6));
        assert_eq!(
            grain(
                &all,
                &[
                    Key::Col("channel"),
                    Key::Col("product"),
                    Key::Label(Family::Emotion)
                ],
                false
            ),
            Some(17)
        );
        // Too many days behind: raw.
        let behind: BTreeSet<NaiveDate> = day("2026-01-01")
            .iter_days()
            .take(MAX_RAW_DAYS + 1)
            .collect();
        assert_eq!(plan(&all, &[], false, Some(&behind)), Plan::Raw);
    }

    #[test]
    fn measures_add_up_including_the_repeat_histogram() {
        let mut a = Measures {
            interactions: 2,
            repeat_days: vec![1, 0, 1],
            ..Default::default()
        };
        let b = Measures {
            interactions: 3,
            handle_sum: 1.5,
            repeat_days: vec![0, 0, 0, 0, 2],
            ..Default::default()
        };
        a.add(&b);
        assert_eq!(a.interactions, 5);
        assert_eq!(a.handle_sum, 1.5);
        assert_eq!(a.repeat_days, vec![1, 0, 1, 0, 2]);
        assert_eq!(a.repeats(0), 1);
        assert_eq!(a.repeats(2), 2);
        assert_eq!(a.repeats(90), 4);
    }
}
