//! The `escucha` command: ingest, serve, migrate, validate and try
//! pipelines, classify texts, produce demo data, benchmark.

mod alerts;
mod bench;
mod commands;
mod config;
mod ingest;
mod learn;
mod pool;
mod process;
mod serve;
mod speed;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "escucha",
    version,
    about = "Voice of the customer for contact centers: Kafka → classify → ClickHouse → HTTP API"
)]
struct Cli {
    /// Configuration file (default: ./escucha.toml when present). Environment
    /// variables ESCUCHA_KAFKA_BROKERS, ESCUCHA_CLICKHOUSE_URL, ESCUCHA_CLICKHOUSE_DATABASE,
    /// ESCUCHA_CLICKHOUSE_USER, ESCUCHA_CLICKHOUSE_PASSWORD, ESCUCHA_API_BIND and
    /// ESCUCHA_PIPELINES override it.
    #[arg(long, global = true, env = "ESCUCHA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipelines and serve the API until Ctrl-C.
    Run(commands::RunArgs),
    /// Apply ClickHouse migrations.
    Migrate,
    /// Bring the daily rollup up to date with the interactions (`escucha run` does this on its own).
    Rollup,
    /// Validate or try pipeline files.
    #[command(subcommand)]
    Pipelines(commands::PipelinesCommand),
    /// Classify JSON lines {"id", "text", "lang"?} from stdin; one JSON line out per line in.
    Classify,
    /// Produce JSON lines from stdin to a Kafka topic.
    Produce(commands::ProduceArgs),
    /// Generate realistic es/pt/en contact-center data and produce it to the pipelines' topics.
    Demo(commands::DemoArgs),
    /// Measure end-to-end throughput, produce-to-queryable latency and ingester memory.
    Bench(bench::BenchArgs),
    /// Texts per second and peak memory of each classification engine (short and long texts, 1 and 2 threads).
    Speed(speed::SpeedArgs),
    /// Train the classifier heads on the labelled examples (needs scripts/models.sh install).
    Train(learn::TrainArgs),
    /// Precision, recall and F1 per label, macro-F1 per language, confusions, on a labelled file.
    Eval(learn::EvalArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(commands::TokenCommand),
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ESCUCHA_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,rdkafka=warn"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let config = cli.config.as_deref();
        match cli.command {
            Command::Run(args) => serve::run(config, args).await,
            Command::Migrate => commands::migrate(config).await,
            Command::Rollup => commands::rollup(config).await,
            Command::Pipelines(c) => commands::pipelines(config, c).await,
            Command::Classify => commands::classify(config).await,
            Command::Produce(args) => commands::produce(config, args).await,
            Command::Demo(args) => commands::demo(config, args).await,
            Command::Bench(args) => bench::run(config, args).await,
            Command::Token(c) => commands::token(c),
            Command::Train(args) => tokio::task::block_in_place(|| learn::train(args)),
            Command::Eval(args) => tokio::task::block_in_place(|| learn::eval(args)),
            Command::Speed(args) => tokio::task::block_in_place(|| speed::run(args)),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
