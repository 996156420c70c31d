//! Runs every pipeline's consumer in this process, each with its own
//! consumer group, sharing one classification pool and one store.

use crate::pool::ClassifyPool;
use anyhow::{Context, Result};
use escucha_clickhouse::rows::Rows;
use escucha_clickhouse::Store;
use escucha_core::status::PipelineRuntime;
use escucha_kafka::{
    BatchHandler, CancellationToken, ConsumerSettings, Incoming, KafkaConfig, Outcome,
};
use escucha_pipeline::Pipeline;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

struct Handler {
    pipeline: Arc<Pipeline>,
    pool: ClassifyPool,
    store: Store,
}

#[async_trait::async_trait]
impl BatchHandler for Handler {
    async fn handle(&self, batch: Arc<[Incoming]>) -> Result<Vec<Outcome>, String> {
        let results = self.pool.process(self.pipeline.clone(), batch).await;
        let now = chrono::Utc::now();
        let version = now.timestamp_millis().max(0) as u64;
        let mut rows = Rows::default();
        let mut outcomes = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(record) => {
                    rows.push(&record, now, version);
                    outcomes.push(Outcome::Stored);
                }
                Err(rej) => outcomes.push(Outcome::Rejected {
                    kind: rej.kind,
                    reason: rej.reason,
                }),
            }
        }
        self.store.write(&rows).await.map_err(|e| e.to_string())?;
        Ok(outcomes)
    }
}

/// Topics every pipeline needs, with partition counts.
pub fn topics_of(pipelines: &[Arc<Pipeline>]) -> Vec<(String, i32)> {
    let mut topics: Vec<(String, i32)> = Vec::new();
    for p in pipelines {
        let s = p.source();
        for t in s.topics.iter().chain([&s.dead_letter_topic]) {
            if !topics.iter().any(|(n, _)| n == t) {
                topics.push((t.clone(), s.partitions));
            }
        }
    }
    topics
}

pub struct Ingest {
    pub runtimes: Vec<Arc<PipelineRuntime>>,
    pub tasks: JoinSet<(String, Result<(), escucha_kafka::Error>)>,
}

/// Batching and group membership shared by every pipeline's consumer.
pub struct Batching {
    pub batch_size: usize,
    pub linger: Duration,
    pub instance_id: Option<String>,
}

/// Creates missing topics and starts one consumer per pipeline.
pub async fn start(
    kafka: &KafkaConfig,
    store: Store,
    pipelines: Vec<Arc<Pipeline>>,
    pool: ClassifyPool,
    batching: Batching,
    shutdown: CancellationToken,
) -> Result<Ingest> {
    let Batching {
        batch_size,
        linger,
        instance_id,
    } = batching;
    escucha_kafka::ensure_topics(kafka, &topics_of(&pipelines))
        .await
        .context("creating Kafka topics")?;
    let mut runtimes = Vec::new();
    let mut tasks = JoinSet::new();
    for pipeline in pipelines {
        let s = pipeline.source();
        let runtime = Arc::new(PipelineRuntime::new(
            pipeline.name(),
            &s.group,
            &s.topics,
            &s.dead_letter_topic,
        ));
        let settings = ConsumerSettings {
            pipeline: pipeline.name().to_string(),
            group: s.group.clone(),
            topics: s.topics.clone(),
            dead_letter_topic: s.dead_letter_topic.clone(),
            batch_size,
            linger,
            instance_id: instance_id.clone(),
        };
        let handler = Arc::new(Handler {
            pipeline: pipeline.clone(),
            pool: pool.clone(),
            store: store.clone(),
        });
        let (kafka, runtime2, shutdown) = (kafka.clone(), runtime.clone(), shutdown.clone());
        let name = pipeline.name().to_string();
        tasks.spawn(async move {
            let r =
                escucha_kafka::run_consumer(&kafka, settings, handler, runtime2, shutdown).await;
            (name, r)
        });
        tracing::info!(pipeline = pipeline.name(), group = %s.group, topics = ?s.topics, "pipeline started");
        runtimes.push(runtime);
    }
    Ok(Ingest { runtimes, tasks })
}
