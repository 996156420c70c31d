use crate::dead_letter::DeadLetter;
use crate::error::Error;
use crate::KafkaConfig;
use escucha_core::status::PipelineRuntime;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::Message;
use rdkafka::ClientContext;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A consumed message, detached from the consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub timestamp_ms: Option<i64>,
}

/// What became of one message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Durably stored.
    Stored,
    /// Invalid: goes to the dead-letter topic. `reason` must not contain
    /// customer text.
    Rejected { kind: String, reason: String },
}

/// Processes batches. `handle` returns one outcome per message, in order,
/// after every `Stored` message is durable; an `Err` means nothing of the
/// batch may be considered stored and the batch is retried.
#[async_trait::async_trait]
pub trait BatchHandler: Send + Sync {
    /// The batch is shared, not copied: a handler may pass it on to other
    /// threads (retries hand the same batch again).
    async fn handle(&self, batch: Arc<[Incoming]>) -> Result<Vec<Outcome>, String>;
}

/// One pipeline's consumer.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub pipeline: String,
    pub group: String,
    pub topics: Vec<String>,
    pub dead_letter_topic: String,
    /// Largest batch handed to the handler.
    pub batch_size: usize,
    /// Longest wait for a batch to fill once it has a message.
    pub linger: Duration,
    /// Static group membership (`group.instance.id`): a restarted instance
    /// takes its partitions back at once instead of waiting for the broker
    /// to expire the old member. Must differ between running instances.
    pub instance_id: Option<String>,
}

struct Context {
    pipeline: String,
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let parts: Vec<String> = tpl
                    .elements()
                    .iter()
                    .map(|e| format!("{}/{}", e.topic(), e.partition()))
                    .collect();
                tracing::info!(pipeline = %self.pipeline, partitions = ?parts, "partitions assigned");
            }
            Rebalance::Revoke(tpl) => {
                tracing::info!(pipeline = %self.pipeline, count = tpl.count(), "partitions revoked");
            }
            Rebalance::Error(e) => {
                tracing::warn!(pipeline = %self.pipeline, error = %e, "rebalance error")
            }
        }
    }
}

type PipelineConsumer = StreamConsumer<Context>;

fn create_consumer(config: &KafkaConfig, s: &ConsumerSettings) -> Result<PipelineConsumer, Error> {
    let mut c = rdkafka::ClientConfig::new();
    // Defaults a user may override …
    c.set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "2000")
        .set("auto.commit.interval.ms", "1000")
        .set("client.id", format!("escucha-{}", s.pipeline));
    for (k, v) in config.client_config().config_map() {
        c.set(k, v);
    }
    // … and what at-least-once delivery depends on, which they may not.
    if let Some(id) = &s.instance_id {
        c.set("group.instance.id", id);
    }
    c.set("group.id", &s.group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    let consumer: PipelineConsumer = c.create_with_context(Context {
        pipeline: s.pipeline.clone(),
    })?;
    let topics: Vec<&str> = s.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    Ok(consumer)
}

fn detach(m: &rdkafka::message::BorrowedMessage<'_>) -> Incoming {
    Incoming {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
        timestamp_ms: m.timestamp().to_millis(),
    }
}

/// Whether a consumer error means this consumer cannot go on (for example
/// another running instance uses the same `group.instance.id`).
fn is_fatal(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(e.rdkafka_error_code(), Some(C::Fatal | C::FencedInstanceId))
}

/// Collects up to `batch_size` messages, waiting at most `linger` after the
/// first one. Returns an empty batch on shutdown.
async fn next_batch(
    consumer: &PipelineConsumer,
    s: &ConsumerSettings,
    shutdown: &CancellationToken,
) -> Result<Vec<Incoming>, Error> {
    let mut batch = Vec::with_capacity(s.batch_size);
    let mut deadline: Option<tokio::time::Instant> = None;
    while batch.len() < s.batch_size {
        let recv = consumer.recv();
        let message = match deadline {
            None => tokio::select! {
                _ = shutdown.cancelled() => return Ok(Vec::new()),
                m = recv => m,
            },
            Some(d) => tokio::select! {
                _ = shutdown.cancelled() => return Ok(Vec::new()),
                _ = tokio::time::sleep_until(d) => break,
                m = recv => m,
            },
        };
        match message {
            Ok(m) => {
                batch.push(detach(&m));
                deadline.get_or_insert_with(|| tokio::time::Instant::now() + s.linger);
            }
            Err(e) if is_fatal(&e) => {
                let detail = consumer
                    .client()
                    .fatal_error()
                    .map(|(_, reason)| reason)
                    .unwrap_or_default();
                tracing::error!(pipeline = %s.pipeline, error = %e, %detail, "fatal Kafka consumer error");
                return Err(Error::Config(format!(
                    "pipeline {}: {e} {detail} (is another instance running with the same instance id?)",
                    s.pipeline
                )));
            }
            Err(e) => {
                tracing::warn!(pipeline = %s.pipeline, error = %e, "Kafka consumer error");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    Ok(batch)
}

/// Runs one pipeline's consumer until `shutdown` is cancelled.
///
/// For each batch: the handler stores it (retried with backoff until it
/// succeeds, so nothing is skipped while ClickHouse is down), rejects are
/// produced to the dead-letter topic, and only then the next offset of each
/// partition is stored for commit. A crash at any point replays at most the
/// uncommitted batches, which the idempotent store absorbs.
pub async fn run_consumer(
    config: &KafkaConfig,
    settings: ConsumerSettings,
    handler: Arc<dyn BatchHandler>,
    runtime: Arc<PipelineRuntime>,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let consumer = Arc::new(create_consumer(config, &settings)?);
    let dead_letter = DeadLetter::new(config)?;
    let lag_task = tokio::spawn(report_lag(
        consumer.clone(),
        runtime.clone(),
        settings.pipeline.clone(),
        shutdown.clone(),
    ));
    runtime.set_state("running", None);
    let labels = [("pipeline", settings.pipeline.clone())];
    while !shutdown.is_cancelled() {
        let batch: Arc<[Incoming]> = match next_batch(&consumer, &settings, &shutdown).await {
            Ok(batch) => batch.into(),
            Err(e) => {
                runtime.set_state("failed", Some(e.to_string()));
                lag_task.abort();
                return Err(e);
            }
        };
        if batch.is_empty() {
            continue;
        }
        runtime.add_consumed(batch.len() as u64);
        metrics::counter!("escucha_messages_consumed_total", &labels).increment(batch.len() as u64);
        let started = Instant::now();
        let Some(outcomes) =
            handle_with_retry(&*handler, &batch, &settings, &runtime, &shutdown).await
        else {
            break;
        };
        let mut rejected = 0u64;
        for (message, outcome) in batch.iter().zip(&outcomes) {
            if let Outcome::Rejected { kind, reason } = outcome {
                rejected += 1;
                if !send_dead_letter(&dead_letter, &settings, message, kind, reason, &shutdown)
                    .await
                {
                    return Ok(());
                }
                runtime.record_dead_letter(escucha_core::status::DeadLetterInfo {
                    at: chrono::Utc::now(),
                    kind: kind.clone(),
                    reason: reason.clone(),
                    topic: message.topic.clone(),
                    partition: message.partition,
                    offset: message.offset,
                });
            }
        }
        store_offsets(&consumer, &batch, &settings.pipeline);
        let stored = batch.len() as u64 - rejected;
        runtime.add_batch(
            stored,
            rejected,
            chrono::Utc::now().timestamp().max(0) as u64,
        );
        metrics::counter!("escucha_messages_stored_total", &labels).increment(stored);
        metrics::counter!("escucha_messages_dead_lettered_total", &labels).increment(rejected);
        metrics::histogram!("escucha_batch_seconds", &labels)
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("escucha_batch_size", &labels).record(batch.len() as f64);
    }
    runtime.set_state("stopped", None);
    lag_task.abort();
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => {}
        Err(e) => tracing::debug!(pipeline = %settings.pipeline, error = %e, "final commit"),
    }
    Ok(())
}

async fn handle_with_retry(
    handler: &dyn BatchHandler,
    batch: &Arc<[Incoming]>,
    s: &ConsumerSettings,
    runtime: &PipelineRuntime,
    shutdown: &CancellationToken,
) -> Option<Vec<Outcome>> {
    let mut delay = Duration::from_millis(500);
    loop {
        match handler.handle(batch.clone()).await {
            Ok(outcomes) if outcomes.len() == batch.len() => {
                runtime.set_state("running", None);
                return Some(outcomes);
            }
            Ok(outcomes) => {
                // A handler bug; retrying cannot help but skipping would lose data.
                let e = format!(
                    "handler returned {} outcomes for {} messages",
                    outcomes.len(),
                    batch.len()
                );
                tracing::error!(pipeline = %s.pipeline, "{e}");
                runtime.set_state("retrying", Some(e));
            }
            Err(e) => {
                tracing::warn!(pipeline = %s.pipeline, error = %e, retry_in = ?delay, "batch not stored; retrying");
                runtime.set_state("retrying", Some(e));
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

async fn send_dead_letter(
    dead_letter: &DeadLetter,
    s: &ConsumerSettings,
    message: &Incoming,
    kind: &str,
    reason: &str,
    shutdown: &CancellationToken,
) -> bool {
    let mut delay = Duration::from_millis(500);
    loop {
        match dead_letter
            .send(&s.dead_letter_topic, &s.pipeline, message, kind, reason)
            .await
        {
            Ok(()) => {
                tracing::info!(
                    pipeline = %s.pipeline, topic = %message.topic, partition = message.partition,
                    offset = message.offset, kind, "message dead-lettered"
                );
                return true;
            }
            Err(e) => {
                tracing::warn!(pipeline = %s.pipeline, error = %e, "dead-letter produce failed; retrying")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// Stores, per partition, the offset after the highest one in the batch.
/// A partition revoked meanwhile is skipped: its new owner replays it.
fn store_offsets(consumer: &PipelineConsumer, batch: &[Incoming], pipeline: &str) {
    let mut highest: HashMap<(&str, i32), i64> = HashMap::new();
    for m in batch {
        let e = highest
            .entry((m.topic.as_str(), m.partition))
            .or_insert(m.offset);
        *e = (*e).max(m.offset);
    }
    for ((topic, partition), offset) in highest {
        if let Err(e) = consumer.store_offset(topic, partition, offset) {
            tracing::debug!(pipeline, topic, partition, error = %e, "offset not stored (partition revoked?)");
        }
    }
}

/// Updates the lag gauges of the assigned partitions every few seconds.
async fn report_lag(
    consumer: Arc<PipelineConsumer>,
    runtime: Arc<PipelineRuntime>,
    pipeline: String,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let c = consumer.clone();
        let lag = tokio::task::spawn_blocking(move || partition_lag(&c)).await;
        if let Ok(Ok(lag)) = lag {
            for (tp, l) in &lag {
                metrics::gauge!("escucha_consumer_lag", "pipeline" => pipeline.clone(), "partition" => tp.clone())
                    .set(*l as f64);
            }
            runtime.set_lag(lag);
        }
    }
}

fn partition_lag(consumer: &PipelineConsumer) -> Result<BTreeMap<String, i64>, Error> {
    let positions = consumer.position()?;
    let mut lag = BTreeMap::new();
    for e in positions.elements() {
        let (_, high) =
            consumer.fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(2))?;
        let position = e.offset().to_raw().filter(|o| *o >= 0);
        let behind = match position {
            Some(p) => (high - p).max(0),
            None => {
                let committed = consumer
                    .committed_offsets(
                        {
                            let mut t = rdkafka::TopicPartitionList::new();
                            t.add_partition(e.topic(), e.partition());
                            t
                        },
                        Duration::from_secs(2),
                    )?
                    .elements()
                    .first()
                    .and_then(|c| c.offset().to_raw())
                    .filter(|o| *o >= 0)
                    .unwrap_or(0);
                (high - committed).max(0)
            }
        };
        lag.insert(format!("{}/{}", e.topic(), e.partition()), behind);
    }
    Ok(lag)
}
