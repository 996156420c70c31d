//! Live counters of a running pipeline, shared between the ingester that
//! updates them and the API that serves them.

use serde::Serialize;
use std::collections::BTreeMap;
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
        let (state, last_error, lag) =
            self.with_inner(|i| (i.state.clone(), i.last_error.clone(), i.lag.clone()));
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
        }
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
}
