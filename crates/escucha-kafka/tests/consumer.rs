//! Consumer logic against librdkafka's in-process mock cluster: batches in
//! order, rejects to the dead-letter topic with headers, retries of a
//! failing sink, offsets committed only for handled messages.

use escucha_core::status::PipelineRuntime;
use escucha_kafka::{
    run_consumer, BatchHandler, CancellationToken, ConsumerSettings, Incoming, KafkaConfig, Outcome,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Stores everything except payloads starting with "bad"; fails the first
/// `failures` calls as a ClickHouse outage would.
struct Sink {
    seen: Mutex<Vec<(i32, i64, String)>>,
    failures: AtomicUsize,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl BatchHandler for Sink {
    async fn handle(&self, batch: Arc<[Incoming]>) -> Result<Vec<Outcome>, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err("store unavailable".into());
        }
        let mut seen = self.seen.lock().unwrap();
        Ok(batch
            .iter()
            .map(|m| {
                let text =
                    String::from_utf8_lossy(m.payload.as_deref().unwrap_or_default()).into_owned();
                seen.push((m.partition, m.offset, text.clone()));
                if text.starts_with("bad") {
                    Outcome::Rejected {
                        kind: "invalid_json".into(),
                        reason: "not JSON".into(),
                    }
                } else {
                    Outcome::Stored
                }
            })
            .collect())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_are_stored_rejects_dead_lettered_and_offsets_committed_after_a_failing_sink_recovers(
) {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("in", 2, 1).unwrap();
    cluster.create_topic("in.dlq", 1, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    for i in 0..20 {
        let payload = if i % 7 == 3 {
            format!("bad-{i}")
        } else {
            format!("{{\"n\":{i}}}")
        };
        let partition = i % 2;
        producer
            .send(
                FutureRecord::<(), _>::to("in")
                    .partition(partition)
                    .payload(&payload),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
    }

    let config = KafkaConfig {
        brokers: brokers.clone(),
        ..Default::default()
    };
    let sink = Arc::new(Sink {
        seen: Mutex::new(vec![]),
        failures: AtomicUsize::new(2),
        calls: AtomicUsize::new(0),
    });
    let runtime = Arc::new(PipelineRuntime::new(
        "p",
        "g",
        &["in".to_string()],
        "in.dlq",
    ));
    let shutdown = CancellationToken::new();
    let settings = ConsumerSettings {
        pipeline: "p".into(),
        group: "g".into(),
        topics: vec!["in".into()],
        dead_letter_topic: "in.dlq".into(),
        batch_size: 8,
        linger: Duration::from_millis(50),
        instance_id: None,
    };
    let task = tokio::spawn({
        let (sink, runtime, shutdown) = (sink.clone(), runtime.clone(), shutdown.clone());
        async move { run_consumer(&config, settings, sink, runtime, shutdown).await }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while runtime.snapshot().stored + runtime.snapshot().dead_lettered < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out: {:?}",
            runtime.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    task.await.unwrap().unwrap();

    let status = runtime.snapshot();
    assert_eq!((status.stored, status.dead_lettered), (17, 3));
    assert!(
        sink.calls.load(Ordering::SeqCst) >= 3,
        "the failing batch was retried"
    );
    // Every message was handled exactly once after the retries, in offset order per partition.
    let seen = sink.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 20);
    for p in 0..2 {
        let offsets: Vec<i64> = seen.iter().filter(|s| s.0 == p).map(|s| s.1).collect();
        assert_eq!(offsets, (0..10).collect::<Vec<_>>());
    }

    // The three rejects are in the dead-letter topic, unchanged, with their reason and position.
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader.subscribe(&["in.dlq"]).unwrap();
    let mut dead = Vec::new();
    while dead.len() < 3 && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = reader.poll(Duration::from_millis(200)) {
            let headers: Vec<(String, String)> = m
                .headers()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h.key.to_string(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    )
                })
                .collect();
            dead.push((
                String::from_utf8_lossy(m.payload().unwrap()).into_owned(),
                headers,
            ));
        }
    }
    let mut payloads: Vec<&str> = dead.iter().map(|d| d.0.as_str()).collect();
    payloads.sort();
    assert_eq!(payloads, vec!["bad-10", "bad-17", "bad-3"]);
    for (_, headers) in &dead {
        let get = |k: &str| headers.iter().find(|h| h.0 == k).map(|h| h.1.clone());
        assert_eq!(get("escucha.error").as_deref(), Some("not JSON"));
        assert_eq!(get("escucha.error.kind").as_deref(), Some("invalid_json"));
        assert_eq!(get("escucha.source.topic").as_deref(), Some("in"));
        assert!(get("escucha.source.offset").is_some());
    }

    // Offsets are committed: the group resumes after the last message.
    let check: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "g")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("in", 0);
    tpl.add_partition("in", 1);
    let committed = check
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    for e in committed.elements() {
        assert_eq!(
            e.offset(),
            Offset::Offset(10),
            "partition {}",
            e.partition()
        );
    }
}
