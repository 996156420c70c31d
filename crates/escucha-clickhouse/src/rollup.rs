//! The daily rollup (table `rollup`, migration 0004): per day and grain,
//! the additive measures of the day's interactions, so aggregates over
//! months read thousands of rows instead of millions.
//!
//! escucha keeps it exact: a day is rewritten whenever its interactions
//! change (a write marks the day; [`Store::maintain_rollup`] rewrites it a
//! moment later, and a periodic check compares each day's newest
//! interaction version with the one its rollup was built from, catching
//! writes from other processes). A rewrite builds the day's whole month in
//! this process's staging table (the month's other days copied, the
//! rewritten days computed from `interactions FINAL`, a marker row per grain
//! and day) and swaps it in with `REPLACE PARTITION`, so readers see every
//! month complete and exactly once, with no deduplication when reading.
//! Until a day is rewritten, queries read it from `interactions` (see
//! `query::engine`), so answers never lag. Two processes rewriting the same
//! month at once can undo each other's rewrite: the day then looks stale to
//! the next check and is rewritten again.
//!
//! In cluster mode the rollup is not maintained and queries read the tables.

use crate::error::Error;
use crate::query::engine::{
    day_start, measures_layout, raw_measures, repeat_gaps, Need, RAW_COLUMNS,
};
use crate::store::escape_marks;
use crate::store::Store;
use chrono::{NaiveDate, Utc};
use clickhouse::Row;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// ` AND …` for the interactions of the whole days `[lo, hi)`.
fn days_range(lo: NaiveDate, hi: NaiveDate) -> String {
    let mut sql = crate::query::Sql::default();
    crate::query::time_range(&mut sql, Some(day_start(lo)), Some(day_start(hi)));
    sql.inline()
}

/// The longest repeat-contact window, in days (the API's maximum).
pub const REPEAT_MAX_DAYS: u32 = 90;

/// The days rewritten by one statement at most.
const CHUNK_DAYS: usize = 31;

/// What a grain's rows are per.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Interactions.
    Totals,
    /// Interaction × one emotion or theme it carries.
    Labels,
    /// Interaction × theme × emotion it carries.
    Pairs,
}

/// A grouping of the rollup.
#[derive(Debug, PartialEq, Eq)]
pub struct Grain {
    pub id: u8,
    pub shape: Shape,
    /// The columns rows are grouped by (the others are '').
    pub columns: &'static [&'static str],
}

const KIND: &[&str] = &["kind"];
const CHANNEL: &[&str] = &["kind", "channel"];
const WIDE: &[&str] = &["pipeline", "kind", "channel", "language"];
const QUEUE: &[&str] = &["kind", "queue"];
const PRODUCT: &[&str] = &["kind", "product"];
const AGENT: &[&str] = &["kind", "team", "agent"];
const CHANNEL_QUEUE: &[&str] = &["kind", "channel", "queue"];
const CHANNEL_PRODUCT: &[&str] = &["kind", "channel", "product"];

/// Every grain, smallest first within a shape.
pub static GRAINS: [Grain; 17] = [
    Grain {
        id: 3,
        shape: Shape::Totals,
        columns: KIND,
    },
    Grain {
        id: 5,
        shape: Shape::Totals,
        columns: CHANNEL,
    },
    Grain {
        id: 0,
        shape: Shape::Totals,
        columns: WIDE,
    },
    Grain {
        id: 1,
        shape: Shape::Totals,
        columns: QUEUE,
    },
    Grain {
        id: 2,
        shape: Shape::Totals,
        columns: PRODUCT,
    },
    Grain {
        id: 6,
        shape: Shape::Totals,
        columns: CHANNEL_QUEUE,
    },
    Grain {
        id: 7,
        shape: Shape::Totals,
        columns: CHANNEL_PRODUCT,
    },
    Grain {
        id: 4,
        shape: Shape::Totals,
        columns: AGENT,
    },
    Grain {
        id: 13,
        shape: Shape::Labels,
        columns: KIND,
    },
    Grain {
        id: 15,
        shape: Shape::Labels,
        columns: CHANNEL,
    },
    Grain {
        id: 10,
        shape: Shape::Labels,
        columns: WIDE,
    },
    Grain {
        id: 11,
        shape: Shape::Labels,
        columns: QUEUE,
    },
    Grain {
        id: 12,
        shape: Shape::Labels,
        columns: PRODUCT,
    },
    Grain {
        id: 16,
        shape: Shape::Labels,
        columns: CHANNEL_QUEUE,
    },
    Grain {
        id: 17,
        shape: Shape::Labels,
        columns: CHANNEL_PRODUCT,
    },
    Grain {
        id: 20,
        shape: Shape::Pairs,
        columns: KIND,
    },
    Grain {
        id: 21,
        shape: Shape::Pairs,
        columns: CHANNEL,
    },
];

/// Which days the rollup lags behind on, shared by a store's clones.
#[derive(Debug)]
pub struct RollupState {
    inner: Mutex<StateInner>,
    wake: tokio::sync::Notify,
    /// This process's staging table.
    staging: String,
}

/// Prefix of the staging tables.
const STAGING: &str = "rollup_staging_";

impl Default for RollupState {
    fn default() -> Self {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(0);
        RollupState {
            inner: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            staging: format!(
                "{STAGING}{:x}_{:x}",
                std::process::id(),
                nanos & 0xffff_ffff
            ),
        }
    }
}

#[derive(Debug, Default)]
struct StateInner {
    /// Set once a maintainer has compared the rollup with the table.
    known: bool,
    /// Days to rewrite, with the generation of their latest mark.
    stale: BTreeMap<NaiveDate, u64>,
    generation: u64,
    /// Newest version written, so versions always grow.
    last_version: u64,
}

impl RollupState {
    /// The days the rollup lags behind on; `None` while unknown (then every
    /// query reads the table).
    pub fn stale_days(&self) -> Option<BTreeSet<NaiveDate>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.known.then(|| inner.stale.keys().copied().collect())
    }

    /// Marks days whose interactions are being (or were just) written.
    pub fn mark(&self, days: impl IntoIterator<Item = NaiveDate>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.generation += 1;
        let g = inner.generation;
        let mut any = false;
        for d in days {
            inner.stale.insert(d, g);
            any = true;
        }
        drop(inner);
        if any {
            self.wake.notify_one();
        }
    }

    /// Grows with every write this process makes: answers computed at
    /// another generation may be out of date.
    pub fn generation(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .generation
    }

    /// Forgets days rewritten from a state at least as new as `generation`.
    fn done(&self, days: &[NaiveDate], generation: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for d in days {
            if inner.stale.get(d).is_some_and(|g| *g <= generation) {
                inner.stale.remove(d);
            }
        }
    }

    fn set_known(&self, stale: &BTreeSet<NaiveDate>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let g = inner.generation;
        for d in stale {
            inner.stale.entry(*d).or_insert(g);
        }
        inner.known = true;
    }

    fn pending(&self) -> Vec<NaiveDate> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.stale.keys().copied().collect()
    }

    fn next_version(&self) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Utc::now().timestamp_nanos_opt().unwrap_or(0).max(0) as u64;
        inner.last_version = now.max(inner.last_version + 1);
        inner.last_version
    }
}

#[derive(Row, Deserialize)]
struct DayVersion {
    day: String,
    v: u64,
}

/// A `YYYY-MM-DD` day.
pub(crate) fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// The rollup's partition of a day.
fn month(d: NaiveDate) -> u32 {
    use chrono::Datelike;
    d.year() as u32 * 100 + d.month()
}

/// Splits sorted days into runs of consecutive days of one month.
fn runs(days: &[NaiveDate]) -> Vec<Vec<NaiveDate>> {
    let mut out: Vec<Vec<NaiveDate>> = Vec::new();
    for d in days {
        match out.last_mut() {
            Some(run)
                if run.len() < CHUNK_DAYS
                    && run.last().is_some_and(|l| {
                        *l + chrono::Duration::days(1) == *d && month(*l) == month(*d)
                    }) =>
            {
                run.push(*d)
            }
            _ => out.push(vec![*d]),
        }
    }
    out
}

/// What a rewrite did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupReport {
    pub days: usize,
    pub seconds: f64,
}

/// Column list of an INSERT into `table`, in the order of the SELECTs below.
fn insert_columns(table: &str) -> String {
    format!(
        "INSERT INTO {table} (grain, label_kind, day, label, label2, pipeline, kind, channel, \
         language, queue, product, team, agent, counts, mood, scores, ops, repeat_days, \
         source_version, version) "
    )
}

/// The SELECT list after the grouping columns: measures, repeats, versions.
fn measure_list(repeats: &str, version: u64) -> String {
    let all = raw_measures();
    let parts: Vec<String> = Need::PARTS
        .iter()
        .map(|(part, column)| {
            let values: Vec<String> = all
                .iter()
                .filter(|(_, _, p, _)| p == part)
                .map(|(_, e, ..)| format!("toFloat64({e})"))
                .collect();
            format!("[{}] AS r_{column}", values.join(", "))
        })
        .collect();
    format!(
        "{}, {repeats} AS r_repeat_days, toUInt64(0) AS r_source_version, \
         toUInt64({version}) AS r_version",
        parts.join(", ")
    )
}

/// `[(grain, pipeline, channel, language, queue, product, team, agent), …]`
/// of the grains of a shape.
fn grain_tuples(shape: Shape) -> String {
    let tuples: Vec<String> = GRAINS
        .iter()
        .filter(|g| g.shape == shape)
        .map(|g| {
            let c = |name: &str| {
                if g.columns.contains(&name) {
                    name.to_string()
                } else {
                    "''".to_string()
                }
            };
            format!(
                "(toUInt8({}), {}, {}, {}, {}, {}, {}, {})",
                g.id,
                c("pipeline"),
                c("channel"),
                c("language"),
                c("queue"),
                c("product"),
                c("team"),
                c("agent")
            )
        })
        .collect();
    format!("[{}]", tuples.join(", "))
}

const GROUPED_COLUMNS: &str = "tupleElement(g, 1) AS r_grain, r_label_kind, d AS r_day, \
     r_label, r_label2, tupleElement(g, 2) AS r_pipeline, kind AS r_kind, \
     tupleElement(g, 3) AS r_channel, tupleElement(g, 4) AS r_language, \
     tupleElement(g, 5) AS r_queue, tupleElement(g, 6) AS r_product, \
     tupleElement(g, 7) AS r_team, tupleElement(g, 8) AS r_agent";

const GROUP_BY: &str = " GROUP BY r_grain, r_label_kind, r_day, r_label, r_label2, r_pipeline, \
     r_kind, r_channel, r_language, r_queue, r_product, r_team, r_agent";

impl Store {
    /// The rollup's state shared by this store's clones.
    pub fn rollup(&self) -> &Arc<RollupState> {
        &self.rollup
    }

    /// Each day's newest interaction version, for the days in `[lo, hi)`
    /// (all days when `None`).
    async fn source_versions(
        &self,
        range: Option<(NaiveDate, NaiveDate)>,
    ) -> Result<BTreeMap<NaiveDate, u64>, Error> {
        let mut sql = String::from(
            "SELECT toString(toDate(occurred_at, 'UTC')) AS day, max(version) AS v FROM interactions",
        );
        if let Some((lo, hi)) = range {
            sql.push_str(&format!(" WHERE 1{}", days_range(lo, hi)));
        }
        sql.push_str(" GROUP BY day");
        let rows = self.client().query(&sql).fetch_all::<DayVersion>().await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| parse_day(&r.day).map(|d| (d, r.v)))
            .collect())
    }

    /// The interaction version each day's rollup was built from.
    async fn built_versions(&self) -> Result<BTreeMap<NaiveDate, u64>, Error> {
        // A day missing a grain or built with other measures (an upgrade) is rebuilt.
        let ids: Vec<String> = GRAINS.iter().map(|g| g.id.to_string()).collect();
        let rows = self
            .client()
            .query(&format!(
                "SELECT toString(day) AS day, if(count() = {}, min(sv), toUInt64(0)) AS v FROM (\
                 SELECT day, grain, argMax(source_version, version) AS sv FROM rollup \
                 WHERE label_kind = '#day' AND label = '{}' AND has([{}], grain) \
                 GROUP BY day, grain) GROUP BY day",
                GRAINS.len(),
                measures_layout(),
                ids.join(", ")
            ))
            .fetch_all::<DayVersion>()
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| parse_day(&r.day).map(|d| (d, r.v)))
            .collect())
    }

    /// Days whose rollup does not match their interactions.
    pub async fn rollup_lagging_days(&self) -> Result<BTreeSet<NaiveDate>, Error> {
        let source = self.source_versions(None).await?;
        let built = self.built_versions().await?;
        let mut out: BTreeSet<NaiveDate> = source
            .iter()
            .filter(|(d, v)| built.get(d).is_none_or(|b| b < v))
            .map(|(d, _)| *d)
            .collect();
        // Days whose interactions are gone.
        out.extend(
            built
                .iter()
                .filter(|(d, v)| **v > 0 && !source.contains_key(d))
                .map(|(d, _)| *d),
        );
        Ok(out)
    }

    /// Rewrites the rollup of consecutive `days` of one month.
    async fn rewrite_days(&self, days: &[NaiveDate]) -> Result<(), Error> {
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            return Ok(());
        };
        let staging = self.rollup.staging.as_str();
        let partition = month(*first);
        let lo = day_start(*first);
        let hi = day_start(*last) + 86_400;
        let next = *last + chrono::Duration::days(1);
        let observed = self.source_versions(Some((*first, next))).await?;
        let version = self.rollup.next_version();
        let listed: Vec<String> = days.iter().map(|d| format!("toDate('{d}')")).collect();
        let base = format!(
            "SELECT {RAW_COLUMNS} FROM interactions FINAL WHERE 1{}",
            days_range(*first, next)
        );
        let mut gaps = crate::query::Sql::default();
        repeat_gaps(&mut gaps, Some(lo), Some(hi));
        let mut statements = vec![
            format!("CREATE TABLE IF NOT EXISTS {staging} AS rollup"),
            format!("ALTER TABLE {staging} DROP PARTITION {partition}"),
            // The month's other days as they are.
            format!(
                "INSERT INTO {staging} SELECT * FROM rollup WHERE toYYYYMM(day) = {partition} \
                 AND NOT has([{}], day)",
                listed.join(", ")
            ),
        ];
        // Totals, with the repeat-contact gaps.
        statements.push(format!(
            "{}SELECT {GROUPED_COLUMNS}, {} FROM (SELECT *, '' AS r_label_kind, '' AS r_label, \
             '' AS r_label2, toDate(occurred_at, 'UTC') AS d FROM (SELECT {RAW_COLUMNS}, repeat_hist \
             FROM ({base}) AS rc_base ANY LEFT JOIN ({}) AS rc_gaps USING (pipeline, interaction_id))) \
             ARRAY JOIN {} AS g{GROUP_BY}",
            insert_columns(staging),
            measure_list("sumForEach(repeat_hist)", version),
            gaps.inline(),
            grain_tuples(Shape::Totals),
        ));
        statements.push(format!(
            "{}SELECT {GROUPED_COLUMNS}, {} FROM (SELECT *, tupleElement(lab, 1) AS r_label_kind, \
             tupleElement(lab, 2) AS r_label, '' AS r_label2 FROM (SELECT *, \
             toDate(occurred_at, 'UTC') AS d FROM ({base})) ARRAY JOIN \
             arrayConcat(arrayMap(x -> ('emotion', x), emotions), arrayMap(x -> ('theme', x), themes)) AS lab) \
             ARRAY JOIN {} AS g{GROUP_BY}",
            insert_columns(staging),
            measure_list("emptyArrayUInt64()", version),
            grain_tuples(Shape::Labels),
        ));
        statements.push(format!(
            "{}SELECT {GROUPED_COLUMNS}, {} FROM (SELECT *, 'pair' AS r_label_kind, r_label, \
             r_label2 FROM (SELECT *, toDate(occurred_at, 'UTC') AS d, r_label FROM ({base}) \
             ARRAY JOIN themes AS r_label) ARRAY JOIN emotions AS r_label2) \
             ARRAY JOIN {} AS g{GROUP_BY}",
            insert_columns(staging),
            measure_list("emptyArrayUInt64()", version),
            grain_tuples(Shape::Pairs),
        ));
        let layout = measures_layout();
        let markers: Vec<String> = days
            .iter()
            .flat_map(|d| {
                let v = observed.get(d).copied().unwrap_or(0);
                let layout = layout.clone();
                GRAINS.iter().map(move |g| {
                    format!(
                        "({}, '#day', '{layout}', toDate('{d}'), {v}, {version})",
                        g.id
                    )
                })
            })
            .collect();
        statements.push(format!(
            "INSERT INTO {staging} (grain, label_kind, label, day, source_version, version) VALUES {}",
            markers.join(", ")
        ));
        // The month, complete, replaces the served one at once.
        statements.push(format!(
            "ALTER TABLE rollup REPLACE PARTITION {partition} FROM {staging}"
        ));
        statements.push(format!("ALTER TABLE {staging} DROP PARTITION {partition}"));
        for sql in statements {
            self.client().query(&escape_marks(&sql)).execute().await?;
        }
        Ok(())
    }

    /// Drops the staging tables no process is filling (a process recreates
    /// its own before every rewrite).
    async fn drop_idle_staging(&self) -> Result<(), Error> {
        #[derive(Row, Deserialize)]
        struct Name {
            name: String,
        }
        let idle = self
            .client()
            .query(&format!(
                "SELECT name FROM system.tables WHERE database = currentDatabase() \
                 AND startsWith(name, '{STAGING}') AND name NOT IN (SELECT table FROM system.parts \
                 WHERE database = currentDatabase() AND active)"
            ))
            .fetch_all::<Name>()
            .await?;
        for t in idle {
            self.client()
                .query(&format!("DROP TABLE IF EXISTS {}", t.name))
                .execute()
                .await?;
        }
        Ok(())
    }

    /// Rewrites the given days, and the days after each within the longest
    /// repeat-contact window (their repeats may have changed).
    async fn rewrite(&self, days: &BTreeSet<NaiveDate>, generation: u64) -> Result<usize, Error> {
        let Some(last) = days.last() else {
            return Ok(0);
        };
        let mut all = days.clone();
        if let Some(first) = days.first() {
            let reach = *last + chrono::Duration::days(i64::from(REPEAT_MAX_DAYS) + 1);
            let later = self.source_versions(Some((*first, reach))).await?;
            for d in later.keys() {
                if days
                    .range(..=*d)
                    .next_back()
                    .is_some_and(|p| (*d - *p).num_days() <= i64::from(REPEAT_MAX_DAYS))
                {
                    all.insert(*d);
                }
            }
        }
        let all: Vec<NaiveDate> = all.into_iter().collect();
        for run in runs(&all) {
            self.rewrite_days(&run).await?;
            self.rollup.done(&run, generation);
        }
        Ok(all.len())
    }

    /// Compares the rollup with the interactions and rewrites every day
    /// that lags behind; afterwards queries use the rollup.
    pub async fn refresh_rollup(&self) -> Result<RollupReport, Error> {
        if self.config().cluster.is_some() {
            return Err(Error::Config(
                "the daily rollup is not maintained in cluster mode".into(),
            ));
        }
        let started = Instant::now();
        let generation = self.rollup.generation();
        let lagging = self.rollup_lagging_days().await?;
        self.rollup.set_known(&lagging);
        let mut days: BTreeSet<NaiveDate> = self.rollup.pending().into_iter().collect();
        days.extend(lagging);
        let n = self.rewrite(&days, generation).await?;
        Ok(RollupReport {
            days: n,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Keeps the rollup up to date until the task is dropped: rewrites
    /// marked days `delay` after a write, and compares every day with the
    /// table every `check` (catching writes from other processes).
    pub async fn maintain_rollup(self, delay: Duration, check: Duration) {
        if self.config().cluster.is_some() {
            tracing::info!(
                "cluster mode: the daily rollup is not maintained; aggregates read the tables"
            );
            return;
        }
        if let Err(e) = self.drop_idle_staging().await {
            tracing::warn!(error = %e, "could not drop idle rollup staging tables");
        }
        let mut last_check: Option<Instant> = None;
        loop {
            let due = last_check.is_none_or(|t| t.elapsed() >= check);
            let result = if due {
                self.refresh_rollup().await.map(|r| {
                    last_check = Some(Instant::now());
                    if r.days > 0 {
                        tracing::info!(days = r.days, seconds = r.seconds, "rollup rewritten");
                    }
                })
            } else {
                let generation = self.rollup.generation();
                let pending: BTreeSet<NaiveDate> = self.rollup.pending().into_iter().collect();
                self.rewrite(&pending, generation).await.map(|_| ())
            };
            if let Err(e) = result {
                metrics::counter!("escucha_rollup_errors_total").increment(1);
                tracing::warn!(error = %e, "rollup rewrite failed; queries read the table for those days");
                tokio::time::sleep(delay.max(Duration::from_secs(5))).await;
            }
            let wait = last_check.map_or(delay, |t| check.saturating_sub(t.elapsed()));
            let _ = tokio::time::timeout(wait, self.rollup.wake.notified()).await;
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn days_split_into_consecutive_runs() {
        let days = [d("2026-01-01"), d("2026-01-02"), d("2026-01-05")];
        assert_eq!(
            runs(&days),
            vec![
                vec![d("2026-01-01"), d("2026-01-02")],
                vec![d("2026-01-05")]
            ]
        );
        // Months never share a run (each is swapped in whole).
        let long: Vec<NaiveDate> = d("2026-01-01").iter_days().take(40).collect();
        let r = runs(&long);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].len(), 31);
        assert_eq!(r[1].first(), Some(&d("2026-02-01")));
    }

    #[test]
    fn a_day_marked_during_a_rewrite_stays_stale() {
        let s = RollupState::default();
        assert_eq!(s.stale_days(), None, "unknown until checked");
        s.set_known(&BTreeSet::new());
        s.mark([d("2026-01-01")]);
        let g = s.generation();
        // A write lands while the day is rewritten.
        s.mark([d("2026-01-01")]);
        s.done(&[d("2026-01-01")], g);
        assert_eq!(s.stale_days(), Some([d("2026-01-01")].into()));
        s.done(&[d("2026-01-01")], s.generation());
        assert_eq!(s.stale_days(), Some(BTreeSet::new()));
    }

    #[test]
    fn versions_always_grow() {
        let s = RollupState::default();
        let a = s.next_version();
        let b = s.next_version();
        assert!(b > a);
    }
}
