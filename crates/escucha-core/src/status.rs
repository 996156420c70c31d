//! Live counters of a running pipeline, shared between the ingester that
//! updates them and the API that serves them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Runtime state of one pipeline in this process.
#[derive(Debug, Default)]
pub struct PipelineRuntime {
    pub name: String,
    pub group: String,
    pub topics: Vec<String>,
    pub dead_letter_topic: String,
    consumed: AtomicU64,
    stored: AtomicU64,
    dead_lettered: AtomicU64,
    batches: AtomicU64,
    last_stored_unix: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    state: String,
    last_error: Option<String>,
    /// `topic/partition` → lag in messages.
    lag: BTreeMap<String, i64>,
    /// The latest dead letters, oldest first, at most [`RECENT_DEAD_LETTERS`].
    dead_letters: VecDeque<DeadLetterInfo>,
    /// Stored messages per second (unix second, count), the last
    /// [`THROUGHPUT_WINDOW_S`] seconds.
    stored_per_second: VecDeque<(u64, u64)>,
}

/// How many dead letters a pipeline keeps in memory for `/api/v1/pipelines`.
pub const RECENT_DEAD_LETTERS: usize = 20;
/// The window of `throughput_per_s`, in seconds.
pub const THROUGHPUT_WINDOW_S: u64 = 60;

/// One dead-lettered message, as the API lists it. `reason` names the
/// problem (a field, a scale), never the customer's text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterInfo {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub reason: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A consistent copy of [`PipelineRuntime`] for serving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineSnapshot {
    pub name: String,
    pub group: String,
    pub topics: Vec<String>,
    pub dead_letter_topic: String,
    pub state: String,
    pub consumed: u64,
    pub stored: u64,
    pub dead_lettered: u64,
    pub batches: u64,
    pub last_stored_unix: Option<u64>,
    pub last_error: Option<String>,
    /// Assigned partitions (`topic/partition`) and their lag in messages.
    pub lag: BTreeMap<String, i64>,
    /// Messages stored per second over the last minute.
    pub throughput_per_s: f64,
    /// The latest dead letters, newest first (at most 20).
    pub recent_dead_letters: Vec<DeadLetterInfo>,
}

impl PipelineRuntime {
    pub fn new(name: &str, group: &str, topics: &[String], dead_letter_topic: &str) -> Self {
        PipelineRuntime {
            name: name.into(),
            group: group.into(),
            topics: topics.to_vec(),
            dead_letter_topic: dead_letter_topic.into(),
            inner: Mutex::new(Inner {
                state: "starting".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn add_consumed(&self, n: u64) {
        self.consumed.fetch_add(n, Ordering::Relaxed);
    }

    /// Records a stored batch of `stored` rows and `dead_lettered` rejects.
    pub fn add_batch(&self, stored: u64, dead_lettered: u64, now_unix: u64) {
        self.stored.fetch_add(stored, Ordering::Relaxed);
        self.dead_lettered
            .fetch_add(dead_lettered, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.last_stored_unix.store(now_unix, Ordering::Relaxed);
        if stored > 0 {
            self.with_inner(|i| {
                match i.stored_per_second.back_mut() {
                    Some((sec, n)) if *sec == now_unix => *n += stored,
                    _ => i.stored_per_second.push_back((now_unix, stored)),
                }
                prune(&mut i.stored_per_second, now_unix);
            });
        }
    }

    /// Records a dead-lettered message (kept in memory, the last 20).
    pub fn record_dead_letter(&self, info: DeadLetterInfo) {
        self.with_inner(|i| {
            i.dead_letters.push_back(info);
            while i.dead_letters.len() > RECENT_DEAD_LETTERS {
                i.dead_letters.pop_front();
            }
        });
    }

    fn with_inner<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// `running`, `retrying`, `stopped` …
    pub fn set_state(&self, state: &str, error: Option<String>) {
        self.with_inner(|i| {
            i.state = state.into();
            if error.is_some() {
                i.last_error = error;
            }
        });
    }

    pub fn set_lag(&self, lag: BTreeMap<String, i64>) {
        self.with_inner(|i| i.lag = lag);
    }

    /// Whether the pipeline is healthy: running, not stuck retrying.
    pub fn is_running(&self) -> bool {
        self.with_inner(|i| i.state == "running")
    }

    pub fn snapshot(&self) -> PipelineSnapshot {
        self.snapshot_at(Utc::now().timestamp().max(0) as u64)
    }

    /// The snapshot as of `now_unix` (the throughput window ends there).
    pub fn snapshot_at(&self, now_unix: u64) -> PipelineSnapshot {
        let (state, last_error, lag, recent_dead_letters, stored_last_minute) =
            self.with_inner(|i| {
                prune(&mut i.stored_per_second, now_unix);
                (
                    i.state.clone(),
                    i.last_error.clone(),
                    i.lag.clone(),
                    i.dead_letters.iter().rev().cloned().collect(),
                    i.stored_per_second.iter().map(|(_, n)| n).sum::<u64>(),
                )
            });
        let last = self.last_stored_unix.load(Ordering::Relaxed);
        PipelineSnapshot {
            name: self.name.clone(),
            group: self.group.clone(),
            topics: self.topics.clone(),
            dead_letter_topic: self.dead_letter_topic.clone(),
            state,
            consumed: self.consumed.load(Ordering::Relaxed),
            stored: self.stored.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            last_stored_unix: (last > 0).then_some(last),
            last_error,
            lag,
            throughput_per_s: (stored_last_minute as f64 * 10.0 / THROUGHPUT_WINDOW_S as f64)
                .round()
                / 10.0,
            recent_dead_letters,
        }
    }
}

/// Drops the seconds that fell out of the throughput window ending at `now`.
fn prune(window: &mut VecDeque<(u64, u64)>, now: u64) {
    while window
        .front()
        .is_some_and(|(sec, _)| *sec + THROUGHPUT_WINDOW_S <= now)
    {
        window.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reflects_counters_and_state() {
        let r = PipelineRuntime::new("surveys", "g", &["t".to_string()], "t.dlq");
        assert_eq!(r.snapshot().state, "starting");
        r.add_consumed(10);
        r.add_batch(8, 2, 1_700_000_000);
        r.set_state("retrying", Some("ClickHouse down".into()));
        r.set_state("running", None);
        let s = r.snapshot();
        assert_eq!(
            (s.consumed, s.stored, s.dead_lettered, s.batches),
            (10, 8, 2, 1)
        );
        assert_eq!(s.state, "running");
        assert_eq!(s.last_error.as_deref(), Some("ClickHouse down"));
        assert_eq!(s.last_stored_unix, Some(1_700_000_000));
        assert!(r.is_running());
    }

    #[test]
    fn throughput_is_stored_per_second_over_the_last_minute() {
        let r = PipelineRuntime::new("surveys", "g", &["t".to_string()], "t.dlq");
        let t0 = 1_700_000_000;
        r.add_batch(300, 0, t0);
        r.add_batch(300, 5, t0); // same second
        r.add_batch(600, 0, t0 + 30);
        // 1,200 stored within the last 60 s → 20 per second.
        assert_eq!(r.snapshot_at(t0 + 59).throughput_per_s, 20.0);
        // At t0 + 60 the first second has left the window: 600 / 60.
        assert_eq!(r.snapshot_at(t0 + 60).throughput_per_s, 10.0);
        assert_eq!(r.snapshot_at(t0 + 200).throughput_per_s, 0.0);
    }

    #[test]
    fn keeps_the_last_twenty_dead_letters_newest_first() {
        let r = PipelineRuntime::new("surveys", "g", &["t".to_string()], "t.dlq");
        for offset in 0..25 {
            r.record_dead_letter(DeadLetterInfo {
                at: DateTime::from_timestamp(1_700_000_000 + offset, 0).unwrap(),
                kind: "invalid_json".into(),
                reason: "not JSON".into(),
                topic: "t".into(),
                partition: 0,
                offset,
            });
        }
        let s = r.snapshot();
        assert_eq!(s.recent_dead_letters.len(), RECENT_DEAD_LETTERS);
        assert_eq!(s.recent_dead_letters[0].offset, 24);
        assert_eq!(s.recent_dead_letters[19].offset, 5);
    }
}
