//! `escucha run`: the pipelines and the API in one process.

use crate::commands::{connect_store, load_pipelines, RunArgs};
use crate::config::Config;
use crate::ingest;
use crate::pool::ClassifyPool;
use crate::process::Processor;
use anyhow::{bail, Context, Result};
use escucha_api::auth::Auth;
use escucha_api::{ApiState, Probe};
use escucha_kafka::{CancellationToken, KafkaConfig};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// `/readyz` check of Kafka: fetches cluster metadata.
struct KafkaProbe {
    config: KafkaConfig,
}

#[async_trait::async_trait]
impl Probe for KafkaProbe {
    fn name(&self) -> &str {
        "kafka"
    }

    async fn check(&self) -> Result<(), String> {
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer =
                config.client_config().create().map_err(|e| e.to_string())?;
            consumer
                .fetch_metadata(None, Duration::from_secs(3))
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

fn install_metrics() -> Result<escucha_api::MetricsRender> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ])
        .context("metrics buckets")?
        .set_buckets_for_metric(
            Matcher::Full("escucha_batch_size".into()),
            &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0],
        )
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    Ok(Arc::new(move || handle.render()))
}

async fn shutdown_signal(token: CancellationToken) {
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
        _ = token.cancelled() => return,
    }
    tracing::info!("shutting down: finishing the batches in flight");
    token.cancel();
}

pub async fn run(config_path: Option<&Path>, args: RunArgs) -> Result<ExitCode> {
    let mut config = Config::load(config_path)?;
    if let Some(p) = &args.pipelines {
        config.ingest.pipelines = p.clone();
    }
    if let Some(b) = &args.bind {
        config.api.bind = b.clone();
    }
    config.api.open |= args.open;
    if let Some(d) = &args.dashboard {
        config.api.dashboard_dir = Some(d.clone());
    }
    let metrics = install_metrics()?;
    let kafka = config.kafka()?;
    let pipelines = load_pipelines(&config.ingest.pipelines)?;
    let store = connect_store(&config).await?;
    let applied = store
        .migrate()
        .await
        .context("applying ClickHouse migrations")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "ClickHouse schema up to date");
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(shutdown_signal(shutdown.clone()));
    if config.api.rollup {
        let maintain = store.clone().maintain_rollup(
            Duration::from_millis(config.api.rollup_delay_ms),
            Duration::from_secs(config.api.rollup_check_seconds.max(1)),
        );
        let token = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = maintain => {}
                () = token.cancelled() => {}
            }
        });
    }

    let mut runtimes = Vec::new();
    let mut ingest_tasks = None;
    let mut engine_handle: Option<crate::config::Engine> = None;
    if !args.no_ingest {
        let engine = config.classify.build()?;
        engine.watch_themes(Duration::from_secs(10), shutdown.clone());
        let classifier = engine.classifier.clone();
        let classifier_name = classifier.engine().to_string();
        engine_handle = Some(engine);
        let processor = Arc::new(Processor::new(classifier, config.customer_key_secret()?));
        let threads = match config.ingest.classify_threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let pool = ClassifyPool::new(processor, threads);
        tracing::info!(
            threads = pool.threads(),
            engine = classifier_name,
            "classification pool ready"
        );
        let batching = ingest::Batching {
            batch_size: config.ingest.batch_size,
            linger: Duration::from_millis(config.ingest.linger_ms),
            instance_id: config.ingest.instance_id(),
        };
        let ingest = ingest::start(
            &kafka,
            store.clone(),
            pipelines,
            pool,
            batching,
            shutdown.clone(),
        )
        .await?;
        runtimes = ingest.runtimes;
        ingest_tasks = Some(ingest.tasks);
    }

    let server = if args.no_api {
        None
    } else {
        let bind = config.bind()?;
        let auth = if config.api.open {
            if !bind.ip().is_loopback() {
                bail!("api.open serves every request without a token; it is only allowed on a loopback address, not {bind}");
            }
            Auth::open()
        } else {
            if config.api.tokens.is_empty() {
                bail!("no API tokens configured: add [[api.tokens]] (see `escucha token new`) or pass --open on loopback");
            }
            Auth::with_tokens(&config.api.tokens)
        };
        let open = auth.is_open();
        let state = ApiState {
            store: store.clone(),
            auth,
            probes: vec![Arc::new(KafkaProbe {
                config: kafka.clone(),
            })],
            pipelines: runtimes.clone(),
            metrics,
            min_sample: config.api.min_sample,
            custom_themes: {
                let engine = engine_handle.clone();
                Arc::new(move || {
                    engine
                        .as_ref()
                        .map(|e| {
                            e.custom_themes()
                                .into_iter()
                                .map(|t| escucha_api::CustomThemeInfo {
                                    id: t.id,
                                    name: t.name,
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                })
            },
            dashboard_dir: config.api.dashboard(),
            anomaly: config.alerts.settings(),
            cache: escucha_api::cache::AnswerCache::new(Duration::from_secs(
                config.api.cache_seconds,
            )),
        };
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        match &state.dashboard_dir {
            Some(d) => tracing::info!(dir = %d.display(), "serving the dashboard at /"),
            None => {
                tracing::info!("no dashboard directory (build dashboards/web or pass --dashboard)")
            }
        }
        if open {
            tracing::warn!("OPEN ACCESS: the API at http://{bind} answers every request as admin, without a token. Only for a local demo.");
        }
        tracing::info!("API listening on http://{bind} (OpenAPI at http://{bind}/openapi.json)");
        let app = escucha_api::router(state);
        let token = shutdown.clone();
        Some(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await
        }))
    };

    if !config.alerts.webhooks.is_empty() {
        let dashboard_url = config
            .alerts
            .dashboard_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.api.bind));
        crate::alerts::Alerts::new(store.clone(), &config.alerts, dashboard_url)?.spawn(
            Duration::from_secs(config.alerts.interval_seconds),
            shutdown.clone(),
        );
    }

    let mut failed = false;
    if let Some(mut tasks) = ingest_tasks {
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((name, Ok(()))) => tracing::info!(pipeline = %name, "pipeline stopped"),
                Ok((name, Err(e))) => {
                    tracing::error!(pipeline = %name, error = %e, "pipeline failed; stopping");
                    failed = true;
                    shutdown.cancel();
                }
                Err(e) => {
                    tracing::error!(error = %e, "pipeline task panicked; stopping");
                    failed = true;
                    shutdown.cancel();
                }
            }
        }
    }
    if let Some(server) = server {
        // Ends on Ctrl-C/SIGTERM, or when a failed pipeline cancelled the shutdown token.
        server.await.context("API task")?.context("API server")?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
