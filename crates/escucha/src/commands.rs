//! The smaller subcommands.

use crate::config::Config;
use crate::process::Processor;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use escucha_api::auth::{hash_token, Role};
use escucha_clickhouse::Store;
use escucha_core::{Language, SourcePosition, TextInput};
use escucha_pipeline::Pipeline;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Directory of pipeline files (default: ./pipelines).
    #[arg(long)]
    pub pipelines: Option<PathBuf>,
    /// API address (default 127.0.0.1:8080).
    #[arg(long)]
    pub bind: Option<String>,
    /// Serve the API without tokens (loopback only; for a local demo).
    #[arg(long)]
    pub open: bool,
    /// Static dashboard directory served at /.
    #[arg(long)]
    pub dashboard: Option<PathBuf>,
    /// Only serve the API.
    #[arg(long, conflicts_with = "no_api")]
    pub no_ingest: bool,
    /// Only run the pipelines.
    #[arg(long)]
    pub no_api: bool,
}

#[derive(Subcommand)]
pub enum PipelinesCommand {
    /// Check pipeline files and report every error with file and field path.
    Validate {
        /// Files or directories (default: ./pipelines).
        paths: Vec<PathBuf>,
    },
    /// Print what would be stored for JSON lines on stdin, without Kafka or ClickHouse.
    Try {
        /// The pipeline file.
        file: PathBuf,
    },
}

#[derive(Args)]
pub struct ProduceArgs {
    /// Destination topic.
    #[arg(long)]
    pub topic: String,
    /// JSON pointer of the field used as message key (e.g. /customer_id).
    #[arg(long)]
    pub key: Option<String>,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Interactions to generate.
    #[arg(long, default_value_t = 6000)]
    pub interactions: usize,
    /// Days of history, ending now.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Malformed messages to include (they go to the dead-letter topics).
    #[arg(long, default_value_t = 12)]
    pub malformed: usize,
    /// Pipeline directory whose topics are created.
    #[arg(long)]
    pub pipelines: Option<PathBuf>,
    /// Print how many valid interactions the sample holds, produce nothing.
    #[arg(long)]
    pub count_only: bool,
    /// Produce even when the topics already hold messages.
    #[arg(long)]
    pub again: bool,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once and the configuration entry holding its hash.
    New {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum RoleArg {
    Viewer,
    Analyst,
    Admin,
}

pub fn load_pipelines(dir: &Path) -> Result<Vec<Arc<Pipeline>>> {
    match escucha_pipeline::load_dir(dir) {
        Ok(p) if p.is_empty() => bail!("no pipeline files (*.toml) in {}", dir.display()),
        Ok(p) => Ok(p.into_iter().map(Arc::new).collect()),
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            bail!(
                "{} error(s) in the pipeline files; fix them and retry",
                errors.len()
            )
        }
    }
}

/// Connects to ClickHouse, retrying for a while so a server that is still
/// starting does not fail the command.
pub async fn connect_store(config: &Config) -> Result<Store> {
    let cfg = config.clickhouse();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match Store::connect(cfg.clone()).await {
            Ok(s) => {
                tracing::info!(url = %cfg.url, version = s.server_version(), database = %cfg.database, "connected to ClickHouse");
                return Ok(s);
            }
            Err(e) if e.is_retryable() && Instant::now() < deadline => {
                tracing::warn!(error = %e, "ClickHouse not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("connecting to ClickHouse at {}", cfg.url))
            }
        }
    }
}

pub async fn migrate(config: Option<&Path>) -> Result<ExitCode> {
    let config = Config::load(config)?;
    let store = connect_store(&config).await?;
    let applied = store.migrate().await?;
    if applied.is_empty() {
        println!(
            "schema up to date (database {})",
            config.clickhouse.database
        );
    } else {
        println!(
            "applied migrations {applied:?} to database {}",
            config.clickhouse.database
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn rollup(config: Option<&Path>) -> Result<ExitCode> {
    let config = Config::load(config)?;
    let store = connect_store(&config).await?;
    store.migrate().await?;
    let report = store.refresh_rollup().await?;
    println!(
        "rollup up to date: {} days rewritten in {:.1} s (database {})",
        report.days, report.seconds, config.clickhouse.database
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn pipelines(config: Option<&Path>, command: PipelinesCommand) -> Result<ExitCode> {
    match command {
        PipelinesCommand::Validate { paths } => {
            let paths = if paths.is_empty() {
                vec![Config::load(config)?.ingest.pipelines]
            } else {
                paths
            };
            let mut errors = Vec::new();
            let mut ok = Vec::new();
            for p in &paths {
                let result = if p.is_dir() {
                    escucha_pipeline::load_dir(p)
                } else {
                    escucha_pipeline::load_file(p).map(|p| vec![p])
                };
                match result {
                    Ok(list) => ok.extend(list),
                    Err(e) => errors.extend(e),
                }
            }
            for e in &errors {
                println!("{e}");
            }
            if errors.is_empty() {
                for p in &ok {
                    println!(
                        "ok  {}  {} ({}; topics {})",
                        p.file().display(),
                        p.name(),
                        p.kind(),
                        p.source().topics.join(", ")
                    );
                }
                println!("{} pipeline(s) valid", ok.len());
                Ok(ExitCode::SUCCESS)
            } else {
                println!("{} error(s)", errors.len());
                Ok(ExitCode::from(1))
            }
        }
        PipelinesCommand::Try { file } => {
            let pipeline = match escucha_pipeline::load_file(&file) {
                Ok(p) => p,
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    bail!("{} error(s) in {}", errors.len(), file.display());
                }
            };
            let config = Config::load(config)?;
            let processor = Processor::new(
                config.classify.build()?.classifier,
                config.customer_key_secret()?,
            );
            let stdin = std::io::stdin();
            let mut out = std::io::stdout().lock();
            let (mut stored, mut rejected) = (0, 0);
            for (i, line) in stdin.lock().lines().enumerate() {
                let line = line.context("reading stdin")?;
                if line.trim().is_empty() {
                    continue;
                }
                let source = SourcePosition {
                    topic: "stdin".into(),
                    partition: 0,
                    offset: i as i64,
                };
                let value = match processor.process(&pipeline, Some(line.as_bytes()), source) {
                    Ok(record) => {
                        stored += 1;
                        json!({ "line": i + 1, "stored": record, "emotions": record.emotions(), "themes": record.themes() })
                    }
                    Err(r) => {
                        rejected += 1;
                        json!({ "line": i + 1, "dead_letter": { "kind": r.kind, "reason": r.reason } })
                    }
                };
                writeln!(out, "{value}")?;
            }
            eprintln!(
                "{stored} would be stored, {rejected} would go to {}",
                pipeline.source().dead_letter_topic
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One output line of `escucha classify`, fields in the documented order.
#[derive(serde::Serialize)]
struct ClassifyOutput {
    id: serde_json::Value,
    language: Language,
    emotions: Vec<escucha_core::Label>,
    themes: Vec<escucha_core::Label>,
    engine: String,
}

#[derive(serde::Deserialize)]
struct ClassifyLine {
    id: serde_json::Value,
    text: String,
    #[serde(default)]
    lang: Option<String>,
}

pub async fn classify(config: Option<&Path>) -> Result<ExitCode> {
    let classifier = Config::load(config)?.classify.build()?.classifier;
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failures = 0;
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let value = match serde_json::from_str::<ClassifyLine>(&line) {
            Ok(input) => {
                let language = input
                    .lang
                    .as_deref()
                    .map(Language::from_tag)
                    .filter(|l| *l != Language::Other);
                let c = classifier.classify(TextInput {
                    text: &input.text,
                    language,
                });
                serde_json::to_value(ClassifyOutput {
                    id: input.id,
                    language: c.language,
                    emotions: c.emotions,
                    themes: c.themes,
                    engine: c.engine,
                })?
            }
            Err(e) => {
                failures += 1;
                json!({ "line": i + 1, "error": format!("expected {{\"id\", \"text\", \"lang\"?}}: {e}") })
            }
        };
        writeln!(out, "{value}")?;
    }
    out.flush()?;
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn producer(config: &Config) -> Result<FutureProducer> {
    config
        .kafka()?
        .client_config()
        .set("linger.ms", "20")
        .set("message.timeout.ms", "60000")
        .set("queue.buffering.max.messages", "200000")
        .create()
        .context("creating the Kafka producer")
}

/// Sends messages with a bounded number in flight and fails on the first
/// message the broker does not take.
struct Outbox {
    producer: FutureProducer,
    pending: Vec<tokio::task::JoinHandle<rdkafka::error::KafkaResult<()>>>,
    sent: usize,
}

impl Outbox {
    const IN_FLIGHT: usize = 1000;

    fn new(producer: FutureProducer) -> Outbox {
        Outbox {
            producer,
            pending: Vec::with_capacity(Self::IN_FLIGHT),
            sent: 0,
        }
    }

    /// Queues one message; returns whether the messages in flight were
    /// just confirmed (a moment to report progress).
    async fn send(&mut self, topic: String, key: Option<String>, payload: Vec<u8>) -> Result<bool> {
        let p = self.producer.clone();
        self.pending.push(tokio::spawn(async move {
            let mut record: FutureRecord<'_, str, [u8]> =
                FutureRecord::to(&topic).payload(&payload);
            if let Some(k) = &key {
                record = record.key(k);
            }
            p.send(record, Duration::from_secs(60))
                .await
                .map(|_| ())
                .map_err(|(e, _)| e)
        }));
        if self.pending.len() < Self::IN_FLIGHT {
            return Ok(false);
        }
        self.confirm().await?;
        Ok(true)
    }

    async fn confirm(&mut self) -> Result<()> {
        for t in self.pending.drain(..) {
            t.await??;
            self.sent += 1;
        }
        Ok(())
    }

    /// Waits for every message and flushes; returns how many were sent.
    async fn finish(mut self) -> Result<usize> {
        self.confirm().await?;
        self.producer.flush(Duration::from_secs(30))?;
        Ok(self.sent)
    }
}

pub async fn produce(config: Option<&Path>, args: ProduceArgs) -> Result<ExitCode> {
    let config = Config::load(config)?;
    let kafka = config.kafka()?;
    escucha_kafka::ensure_topics(
        &kafka,
        &[(args.topic.clone(), escucha_pipeline::DEFAULT_PARTITIONS)],
    )
    .await?;
    let mut outbox = Outbox::new(producer(&config)?);
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let key = args.key.as_deref().and_then(|ptr| {
            serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| {
                    v.pointer(ptr).map(|k| match k {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                })
        });
        outbox
            .send(args.topic.clone(), key, line.into_bytes())
            .await?;
    }
    let sent = outbox.finish().await?;
    eprintln!("produced {sent} message(s) to {}", args.topic);
    Ok(ExitCode::SUCCESS)
}

/// Messages currently in `topics` (sum of high watermarks minus low ones).
async fn messages_in(config: &Config, topics: Vec<String>) -> Result<i64> {
    let client = config.kafka()?.client_config();
    tokio::task::spawn_blocking(move || -> Result<i64> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = client.create()?;
        let mut total = 0;
        for topic in topics {
            let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
            for t in metadata.topics() {
                for p in t.partitions() {
                    let (low, high) =
                        consumer.fetch_watermarks(&topic, p.id(), Duration::from_secs(10))?;
                    total += (high - low).max(0);
                }
            }
        }
        Ok(total)
    })
    .await?
}

pub async fn demo(config: Option<&Path>, args: DemoArgs) -> Result<ExitCode> {
    let config = Config::load(config)?;
    let cfg = escucha_demo::DemoConfig {
        interactions: args.interactions,
        days: args.days,
        seed: args.seed,
        now: chrono::Utc::now(),
        malformed: args.malformed,
    };
    if args.count_only {
        println!("{}", escucha_demo::generate(&cfg).len() - cfg.malformed);
        return Ok(ExitCode::SUCCESS);
    }
    let kafka = config.kafka()?;
    let dir = args
        .pipelines
        .clone()
        .unwrap_or_else(|| config.ingest.pipelines.clone());
    let pipelines = load_pipelines(&dir)?;
    escucha_kafka::ensure_topics(&kafka, &crate::ingest::topics_of(&pipelines))
        .await
        .context("creating topics")?;
    let sources: Vec<String> = pipelines
        .iter()
        .flat_map(|p| p.source().topics.clone())
        .collect();
    let existing = messages_in(&config, sources).await?;
    if existing > 0 && !args.again {
        eprintln!("the pipelines' topics already hold {existing} messages: not producing another sample (pass --again to add one)");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "generating {} interactions over {} days …",
        cfg.interactions, cfg.days
    );
    let routes = demo_routes(&pipelines);
    for topic in escucha_demo::TOPICS {
        match routes.get(topic) {
            Some(to) if to != topic => eprintln!("{topic} → {to}"),
            Some(_) => {}
            None => eprintln!(
                "no pipeline in {} takes the {} format: skipping those events",
                dir.display(),
                topic.trim_start_matches("escucha.")
            ),
        }
    }
    if routes.is_empty() {
        bail!(
            "no pipeline in {} consumes a demo format (pipelines named surveys, transcripts, surveytool or messaging, or consuming escucha.<name>)",
            dir.display()
        );
    }
    let events: Vec<_> = escucha_demo::generate(&cfg)
        .into_iter()
        .filter(|e| routes.contains_key(e.topic.as_str()))
        .collect();
    let summary = escucha_demo::summarize(&events);
    let mut outbox = Outbox::new(producer(&config)?);
    let total = events.len();
    let started = Instant::now();
    for event in events {
        let topic = routes[event.topic.as_str()].clone();
        if outbox.send(topic, Some(event.key), event.payload).await? {
            eprint!("\rproduced {}/{total}", outbox.sent);
        }
    }
    let done = outbox.finish().await?;
    eprintln!(
        "\rproduced {done}/{total} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    eprintln!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// Which topic each demo format goes to: the topic itself when a pipeline
/// consumes it, else the first topic of the pipeline that plays the
/// format's role (`escucha.surveys` → the pipeline named or filed as
/// `surveys`, or consuming a topic ending in `.surveys`). Formats without
/// such a pipeline are absent.
pub fn demo_routes(
    pipelines: &[Arc<Pipeline>],
) -> std::collections::BTreeMap<&'static str, String> {
    let mut routes = std::collections::BTreeMap::new();
    for topic in escucha_demo::TOPICS {
        let role = topic.trim_start_matches("escucha.");
        let consumes = |p: &Arc<Pipeline>, t: &str| p.source().topics.iter().any(|x| x == t);
        let stem = |p: &Arc<Pipeline>| {
            p.file()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let suffixed = |t: &String| {
            [".", "-", "_"]
                .iter()
                .any(|sep| t.ends_with(&format!("{sep}{role}")))
        };
        let target = if pipelines.iter().any(|p| consumes(p, topic)) {
            Some(topic.to_string())
        } else {
            pipelines
                .iter()
                .find(|p| p.name() == role)
                .or_else(|| pipelines.iter().find(|p| stem(p) == role))
                .and_then(|p| p.source().topics.first().cloned())
                .or_else(|| {
                    pipelines
                        .iter()
                        .flat_map(|p| p.source().topics.iter())
                        .find(|t| suffixed(t))
                        .cloned()
                })
        };
        if let Some(t) = target {
            routes.insert(topic, t);
        }
    }
    routes
}

pub fn token(command: TokenCommand) -> Result<ExitCode> {
    match command {
        TokenCommand::New { name, role } => {
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let role = match role {
                RoleArg::Viewer => Role::Viewer,
                RoleArg::Analyst => Role::Analyst,
                RoleArg::Admin => Role::Admin,
            };
            println!("token (shown once; give it to the user): {token}");
            println!();
            println!("add to escucha.toml:");
            println!("[[api.tokens]]");
            println!("name = {}", toml::Value::String(name));
            println!("role = \"{}\"", role.as_str());
            println!("sha256 = \"{}\"", hash_token(&token));
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped pipeline files with topics renamed by `rename`, only `files`.
    fn pipelines(files: &[&str], rename: impl Fn(&str) -> String) -> Vec<Arc<Pipeline>> {
        let dir = tempfile::tempdir().unwrap();
        let shipped = Path::new(
            &std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../pipelines");
        for f in files {
            let text = std::fs::read_to_string(shipped.join(f)).unwrap();
            std::fs::write(dir.path().join(f), rename(&text)).unwrap();
        }
        load_pipelines(dir.path()).unwrap()
    }

    #[test]
    fn demo_formats_go_to_the_topics_of_the_pipelines_given() {
        // The shipped files: every format to its own topic.
        let all = pipelines(
            &[
                "surveys.toml",
                "transcripts.toml",
                "surveytool.toml",
                "messaging.toml",
            ],
            |t| t.to_string(),
        );
        let routes = demo_routes(&all);
        assert_eq!(routes.len(), 4);
        assert!(routes.iter().all(|(from, to)| from == to));
        // A test's isolated topics: matched by pipeline name; formats without a pipeline skipped.
        let isolated = pipelines(&["surveys.toml", "transcripts.toml"], |t| {
            t.replace("\"escucha.", "\"e2e42.")
                .replace("\"escucha-", "\"e2e42-")
        });
        let routes = demo_routes(&isolated);
        assert_eq!(routes.len(), 2);
        assert_eq!(routes["escucha.surveys"], "e2e42.surveys");
        assert_eq!(routes["escucha.transcripts"], "e2e42.transcripts");
        // Renamed pipeline: matched by the topic's suffix.
        let renamed = pipelines(&["surveys.toml"], |t| {
            t.replace("name = \"surveys\"", "name = \"nps-feed\"")
                .replace("\"escucha.surveys\"", "\"acme.surveys\"")
        });
        assert_eq!(demo_routes(&renamed)["escucha.surveys"], "acme.surveys");
    }
}
