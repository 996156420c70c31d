//! Shared set-up: unique names, pipeline files, the ingester process, a
//! producer and HTTP helpers.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub fn kafka() -> String {
    std::env::var("ESCUCHA_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

pub fn clickhouse() -> String {
    std::env::var("ESCUCHA_TEST_CLICKHOUSE").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One test's world: a unique prefix for topics, groups and the database,
/// a temporary directory with pipeline files and logs.
pub struct World {
    pub prefix: String,
    pub database: String,
    pub dir: tempfile::TempDir,
}

impl World {
    /// Copies the shipped pipeline files, renaming topics and groups with a
    /// unique prefix and setting the partition count.
    pub fn new(name: &str, partitions: i32) -> World {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            % 100_000_000;
        let prefix = format!("e2e{stamp}{n}{name}");
        let database = format!("escucha_{prefix}");
        let dir = tempfile::tempdir().unwrap();
        let pipelines = dir.path().join("pipelines");
        std::fs::create_dir_all(&pipelines).unwrap();
        let shipped = Path::new(
            &std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../pipelines");
        let re = regex::Regex::new(r"(?m)^partitions = \d+").unwrap();
        for file in ["surveys.toml", "transcripts.toml"] {
            let text = std::fs::read_to_string(shipped.join(file)).unwrap();
            let text = text
                .replace("\"escucha.", &format!("\"{prefix}."))
                .replace("\"escucha-", &format!("\"{prefix}-"));
            let text = re
                .replace(&text, format!("partitions = {partitions}").as_str())
                .into_owned();
            std::fs::write(pipelines.join(file), text).unwrap();
        }
        World {
            prefix,
            database,
            dir,
        }
    }

    pub fn topic(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    pub fn pipelines(&self) -> PathBuf {
        self.dir.path().join("pipelines")
    }

    /// A config file with one token per role, plus `extra` TOML.
    pub fn write_config(&self, extra: &str) -> PathBuf {
        let path = self.dir.path().join("escucha.toml");
        let mut text =
            format!("{extra}\n[ingest]\nbatch_size = 200\nlinger_ms = 100\nclassify_threads = 1\n");
        for role in ["viewer", "analyst", "admin"] {
            let hash = escucha_api::auth::hash_token(&format!("{role}-token"));
            text.push_str(&format!(
                "[[api.tokens]]\nname = \"{role}\"\nrole = \"{role}\"\nsha256 = \"{hash}\"\n"
            ));
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Starts `escucha run` with this world's pipelines and database, as
    /// instance `label` (a restart with the same label is the same instance).
    pub fn spawn(&self, label: &str, port: u16) -> Ingester {
        self.spawn_as(label, port, &format!("{}-{label}", self.prefix))
    }

    /// Starts `escucha run` with an explicit instance id (`dynamic` for
    /// classic group membership).
    pub fn spawn_as(&self, label: &str, port: u16, instance_id: &str) -> Ingester {
        self.spawn_configured(label, port, instance_id, "")
    }

    /// Starts `escucha run` with `extra` TOML in its configuration file.
    pub fn spawn_with_config(&self, label: &str, port: u16, extra: &str) -> Ingester {
        self.spawn_configured(label, port, &format!("{}-{label}", self.prefix), extra)
    }

    fn spawn_configured(&self, label: &str, port: u16, instance_id: &str, extra: &str) -> Ingester {
        let log = self.dir.path().join(format!("{label}-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let config = self.write_config(extra);
        let child = Command::new(env!("CARGO_BIN_EXE_escucha"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "run",
                "--pipelines",
                self.pipelines().to_str().unwrap(),
            ])
            .env("ESCUCHA_KAFKA_BROKERS", kafka())
            .env("ESCUCHA_CLICKHOUSE_URL", clickhouse())
            .env("ESCUCHA_CLICKHOUSE_DATABASE", &self.database)
            .env("ESCUCHA_API_BIND", format!("127.0.0.1:{port}"))
            .env("ESCUCHA_HOME", self.dir.path())
            .env("ESCUCHA_CUSTOMER_KEY_SECRET", "e2e-secret-0123456789")
            .env("ESCUCHA_LOG", "info,rdkafka=warn")
            .env("ESCUCHA_INSTANCE_ID", instance_id)
            // Delivery is under test here, not the classifier's quality: the
            // cue engine behaves the same on every machine.
            .env("ESCUCHA_ENGINE", "cues")
            .env("ESCUCHA_THEMES", self.dir.path().join("themes"))
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("starting escucha");
        Ingester {
            child: Some(child),
            port,
            log,
            instance_id: instance_id.to_string(),
        }
    }

    /// Drops the test database.
    pub async fn cleanup(&self) {
        let _ = clickhouse_query(&format!("DROP DATABASE IF EXISTS {}", self.database)).await;
    }
}

pub struct Ingester {
    child: Option<Child>,
    pub port: u16,
    pub log: PathBuf,
    pub instance_id: String,
}

impl Ingester {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGKILL: no graceful shutdown, no final commit.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Ingester {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap()
}

pub async fn produce(producer: &FutureProducer, topic: &str, key: &str, payload: &str) {
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(payload),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produce");
}

pub fn flush(producer: &FutureProducer) {
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// Creates topics before the test produces, so messages are not lost to
/// auto-creation races.
pub async fn create_topics(topics: &[String], partitions: i32) {
    let config = escucha_kafka::KafkaConfig {
        brokers: kafka(),
        ..Default::default()
    };
    let t: Vec<(String, i32)> = topics.iter().map(|n| (n.clone(), partitions)).collect();
    escucha_kafka::ensure_topics(&config, &t)
        .await
        .expect("creating topics");
}

/// A dead-lettered message: its payload and headers.
pub struct DeadLettered {
    pub payload: String,
    pub headers: Vec<(String, String)>,
}

/// Reads every message of a topic from the beginning.
pub fn read_topic(topic: &str, expected: usize, timeout: Duration) -> Vec<DeadLettered> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("group.id", format!("{topic}-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    while out.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|x| {
                            (
                                x.key.to_string(),
                                String::from_utf8_lossy(x.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(DeadLettered {
                payload: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                headers,
            });
        }
    }
    out
}

pub async fn clickhouse_query(sql: &str) -> Result<String, String> {
    let r = reqwest::Client::new()
        .post(clickhouse())
        .body(sql.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body = r.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(body)
    }
}

/// GET returning the status, the content type and the body as text.
pub async fn get_text(url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (status, ct, r.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new(), String::new()),
    }
}

/// GET returning the status and the body as JSON (`Null` when it is not JSON).
pub async fn get(url: &str, token: Option<&str>) -> (u16, Value) {
    let (status, _, body) = get_text(url, token).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Polls until `check` returns `Some`, or panics with `what` and the log.
pub async fn wait_for<T, F, Fut>(
    what: &str,
    timeout: Duration,
    ingester: &Ingester,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; ingester log:\n{}",
                ingester.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The `interactions` count the API serves for a query string.
pub async fn served_interactions(ingester: &Ingester, query: &str) -> Option<u64> {
    let (status, body) = get(
        &ingester.url(&format!("/api/v1/summary{query}")),
        Some("viewer-token"),
    )
    .await;
    (status == 200)
        .then(|| body["summary"]["interactions"].as_u64())
        .flatten()
}

pub fn survey(id: &str, customer: &str, nps: Option<u8>, comment: &str, day: u32) -> String {
    let mut v = serde_json::json!({
        "response_id": id,
        "submitted_at": format!("2026-10-{:02}T10:00:00Z", day.clamp(1, 28)),
        "channel": "chat",
        "customer_id": customer,
        "interaction_id": format!("conv-{id}"),
        "queue": "billing",
        "agent_id": "ag-001",
        "product": "fiber-300",
        "comment": comment,
    });
    if let Some(n) = nps {
        v["nps"] = n.into();
    }
    v.to_string()
}

pub fn transcript(id: &str, customer: &str, texts: &[(&str, &str)]) -> String {
    let turns: Vec<Value> = texts
        .iter()
        .map(|(speaker, text)| serde_json::json!({ "speaker": speaker, "text": text, "at": "2026-10-05T09:00:00Z" }))
        .collect();
    serde_json::json!({
        "conversation_id": id,
        "channel": "voice",
        "started_at": "2026-10-05T08:40:00Z",
        "ended_at": "2026-10-05T09:05:00Z",
        "customer_id": customer,
        "queue": "tech-support",
        "agent_id": "ag-002",
        "wait_seconds": 1500,
        "handle_seconds": 600,
        "transfers": 2,
        "bot_handled": false,
        "escalated": false,
        "resolved": false,
        "turns": turns,
    })
    .to_string()
}
