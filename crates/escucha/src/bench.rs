//! `escucha bench`: end-to-end throughput (produced → stored), per-message
//! produce-to-queryable latency and the ingester's peak RSS, on the real
//! broker and ClickHouse, with the shipped pipelines and generated demo data.

use crate::commands::connect_store;
use crate::config::Config;
use anyhow::{bail, Context, Result};
use clap::Args;
use clickhouse::Row;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct BenchArgs {
    /// Messages to produce (surveys and transcripts in the demo mix).
    #[arg(long, default_value_t = 20000)]
    pub messages: usize,
    /// Pipeline directory to benchmark (topics and groups are renamed per run).
    #[arg(long, default_value = "pipelines")]
    pub pipelines: std::path::PathBuf,
    /// ClickHouse database for the run's rows (default: a fresh one per
    /// run, dropped at the end, so earlier runs do not slow the polling).
    #[arg(long)]
    pub database: Option<String>,
    /// Seconds to wait for every message to become queryable.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Produce at this steady rate (messages/s) instead of all at once, so
    /// latency measures the pipeline rather than the backlog. 0 = burst.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
}

#[derive(Row, Deserialize)]
struct IdRow {
    pipeline: String,
    interaction_id: String,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Peak resident set size (`VmHWM`) of process `pid` in MiB, where /proc
/// tells it.
pub(crate) fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub async fn run(config_path: Option<&Path>, args: BenchArgs) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    let run_id = format!("bench{}", chrono::Utc::now().timestamp());
    let dir = std::env::temp_dir().join(format!("escucha-{run_id}"));
    let pipelines_dir = dir.join("pipelines");
    std::fs::create_dir_all(&pipelines_dir)?;

    // The shipped pipelines with this run's topics, groups and names.
    let mut topic_map: HashMap<String, String> = HashMap::new();
    let name_line = regex::Regex::new(r#"(?m)^name = "([^"]+)""#)?;
    for entry in std::fs::read_dir(&args.pipelines)
        .with_context(|| format!("reading {}", args.pipelines.display()))?
    {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let renamed = text
            .replace("\"escucha.", &format!("\"{run_id}."))
            .replace("\"escucha-", &format!("\"{run_id}-"));
        let renamed = name_line
            .replace(&renamed, format!("name = \"{run_id}_$1\"").as_str())
            .into_owned();
        std::fs::write(
            pipelines_dir.join(path.file_name().unwrap_or_default()),
            renamed,
        )?;
    }
    let pipelines = crate::commands::load_pipelines(&pipelines_dir)?;
    for p in &pipelines {
        for t in &p.source().topics {
            topic_map.insert(t.replacen(&run_id, "escucha", 1), t.clone());
        }
    }
    let names: Vec<String> = pipelines.iter().map(|p| p.name().to_string()).collect();
    let kafka = config.kafka()?;
    escucha_kafka::ensure_topics(&kafka, &crate::ingest::topics_of(&pipelines)).await?;

    // Demo data, mapped to this run's topics; ids decoded with the pipelines.
    let events = escucha_demo::generate(&escucha_demo::DemoConfig {
        interactions: args.messages,
        days: 30,
        seed: 7,
        now: chrono::Utc::now(),
        malformed: 0,
    });
    let mut messages = Vec::with_capacity(events.len());
    for e in events {
        let Some(topic) = topic_map.get(&e.topic) else {
            continue;
        };
        let Some(p) = pipelines.iter().find(|p| p.source().topics.contains(topic)) else {
            continue;
        };
        let id = p
            .decode(&e.payload)
            .map(|i| i.id)
            .context("demo event does not decode")?;
        messages.push((topic.clone(), e.key, e.payload, (p.name().to_string(), id)));
    }
    if messages.is_empty() {
        bail!(
            "no demo event matches the pipelines in {}",
            args.pipelines.display()
        );
    }

    let mut store_config = config.clone();
    let database = args
        .database
        .clone()
        .unwrap_or_else(|| format!("escucha_{run_id}"));
    let drop_database = args.database.is_none();
    store_config.clickhouse.database = database.clone();
    let store = connect_store(&store_config).await?;
    store.migrate().await?;

    let log = dir.join("ingester.log");
    let mut child = Command::new(std::env::current_exe()?)
        .args(["run", "--no-api", "--pipelines"])
        .arg(&pipelines_dir)
        .env("ESCUCHA_CLICKHOUSE_DATABASE", &database)
        .env("ESCUCHA_HOME", &dir)
        .env("ESCUCHA_KAFKA_BROKERS", &kafka.brokers)
        .env("ESCUCHA_CLICKHOUSE_URL", &config.clickhouse.url)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .context("starting the ingester")?;
    let pid = child.id();
    eprintln!(
        "ingester pid {pid} (log {}); waiting for its consumers to join",
        log.display()
    );
    tokio::time::sleep(Duration::from_secs(8)).await;

    let producer: FutureProducer = kafka
        .client_config()
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create()?;
    let total = messages.len();
    // Produce in a task while this one polls ClickHouse, so the time a
    // message becomes queryable is seen as it happens.
    type Key = (String, String);
    let produced_at: Arc<Mutex<HashMap<Key, Instant>>> =
        Arc::new(Mutex::new(HashMap::with_capacity(total)));
    let started = Instant::now();
    let rate = args.rate;
    let producing = tokio::spawn({
        let produced_at = produced_at.clone();
        async move {
            let mut pending = Vec::with_capacity(total);
            for (i, (topic, key, payload, id)) in messages.into_iter().enumerate() {
                if rate > 0 {
                    let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let p = producer.clone();
                produced_at
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id, Instant::now());
                pending.push(tokio::spawn(async move {
                    p.send(
                        FutureRecord::to(&topic).key(&key).payload(&payload),
                        Duration::from_secs(60),
                    )
                    .await
                    .map(|_| ())
                    .map_err(|(e, _)| e)
                }));
            }
            for t in pending {
                t.await??;
            }
            producer.flush(Duration::from_secs(30))?;
            eprintln!(
                "\nproduced {total} messages in {:.2} s",
                started.elapsed().as_secs_f64()
            );
            anyhow::Ok(())
        }
    });

    let mut seen: HashMap<Key, f64> = HashMap::with_capacity(total);
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut last_seen = started;
    while seen.len() < total && Instant::now() < deadline {
        let rows = store
            .client()
            .query("SELECT pipeline, interaction_id FROM interactions WHERE has(?, pipeline)")
            .bind(names.as_slice())
            .fetch_all::<IdRow>()
            .await?;
        let now = Instant::now();
        {
            let produced_at = produced_at.lock().unwrap_or_else(|e| e.into_inner());
            for r in rows {
                let key = (r.pipeline, r.interaction_id);
                if seen.contains_key(&key) {
                    continue;
                }
                if let Some(t) = produced_at.get(&key) {
                    seen.insert(key, now.duration_since(*t).as_secs_f64());
                    last_seen = now;
                }
            }
        }
        eprint!("\rqueryable {}/{total}", seen.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    producing.await??;
    eprintln!();
    let rss = peak_rss_mib(pid);
    let _ = child.kill();
    let _ = child.wait();
    if seen.len() < total {
        bail!(
            "only {}/{total} messages became queryable in {} s; see {}",
            seen.len(),
            args.timeout,
            log.display()
        );
    }
    let mut latencies: Vec<f64> = seen.into_values().collect();
    latencies.sort_by(f64::total_cmp);
    let e2e_secs = last_seen.duration_since(started).as_secs_f64();
    let mode = if args.rate > 0 {
        format!("at {} messages/s", args.rate)
    } else {
        "as one burst".to_string()
    };
    println!(
        "escucha bench: {total} messages produced {mode} ({} pipelines), ClickHouse {}",
        names.len(),
        store.server_version()
    );
    println!(
        "  end-to-end throughput   {:>10.0} messages/s (produced → stored, {e2e_secs:.2} s)",
        total as f64 / e2e_secs
    );
    println!(
        "  produce-to-queryable    p50 {:.3} s   p99 {:.3} s   max {:.3} s",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies[latencies.len() - 1]
    );
    match rss {
        Some(mib) => println!("  ingester peak RSS       {mib:>10.1} MiB"),
        None => println!("  ingester peak RSS       unavailable (no /proc)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    if drop_database {
        let bare = store.client().clone().with_database("default");
        if let Err(e) = bare
            .query(&format!("DROP DATABASE IF EXISTS `{database}`"))
            .execute()
            .await
        {
            eprintln!("could not drop {database}: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
    }
}
