//! `escucha speed`: texts per second and peak memory of each
//! classification engine, for short and long texts, with 1 and 2 threads.
//!
//! Every measurement runs in a child process of its own (this command,
//! re-run with `--child`), so the peak resident memory it reports
//! (`VmHWM`) belongs to that engine and thread count alone. The texts are
//! the project's labelled es/pt/en examples: those of at most 10 words
//! ("short") and those of 25 to 40 words ("long", about 30 on average),
//! repeated to the requested count and classified in batches of 32, as the
//! pipeline does, by threads that share one engine.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use escucha_core::{Classifier, Language, TextInput};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Texts per `classify_batch` call.
pub const BATCH: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SpeedEngine {
    /// Cue phrases only.
    Cues,
    /// The default: multilingual USE encoder + heads + cues.
    Layered,
    /// all-MiniLM-L6-v2 (rust-bert) + its heads + cues.
    #[cfg(feature = "bert")]
    Bert,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TextLength {
    /// At most 10 words.
    Short,
    /// 25 to 40 words.
    Long,
}

#[derive(Args)]
pub struct SpeedArgs {
    /// Engines to measure (default: every engine this build has).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub engine: Vec<SpeedEngine>,
    /// Texts classified per measurement.
    #[arg(long, default_value_t = 2048)]
    pub texts: usize,
    /// Thread counts to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2])]
    pub threads: Vec<usize>,
    /// Labelled examples the texts are taken from.
    #[arg(long, default_value = crate::learn::LABELLED)]
    pub data: PathBuf,
    /// Heads of the layered engine (default: where `escucha train` writes them).
    #[arg(long)]
    pub heads: Option<PathBuf>,
    /// Run one measurement in this process and print it as JSON (used by
    /// the parent run).
    #[arg(long, hide = true, num_args = 3, value_names = ["ENGINE", "LENGTH", "THREADS"])]
    pub child: Option<Vec<String>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Measurement {
    engine: String,
    texts: usize,
    seconds: f64,
    peak_rss_mib: Option<f64>,
}

pub fn run(args: SpeedArgs) -> Result<ExitCode> {
    if let Some(child) = &args.child {
        let engine = SpeedEngine::from_str(&child[0], true).map_err(anyhow::Error::msg)?;
        let length = TextLength::from_str(&child[1], true).map_err(anyhow::Error::msg)?;
        let threads: usize = child[2].parse().context("THREADS")?;
        let m = measure(&args, engine, length, threads)?;
        println!("{}", serde_json::to_string(&m)?);
        return Ok(ExitCode::SUCCESS);
    }
    let engines = if args.engine.is_empty() {
        SpeedEngine::value_variants().to_vec()
    } else {
        args.engine.clone()
    };
    let exe = std::env::current_exe().context("locating the escucha binary")?;
    println!(
        "{:<8} {:<6} {:>7} {:>12} {:>14}   engine version",
        "engine", "texts", "threads", "texts/s", "peak RSS MiB"
    );
    for engine in engines {
        for length in [TextLength::Short, TextLength::Long] {
            for &threads in &args.threads {
                let mut cmd = std::process::Command::new(&exe);
                cmd.arg("speed")
                    .arg("--texts")
                    .arg(args.texts.to_string())
                    .arg("--data")
                    .arg(&args.data)
                    .arg("--child")
                    .arg(name(&engine))
                    .arg(name(&length))
                    .arg(threads.to_string());
                if let Some(h) = &args.heads {
                    cmd.arg("--heads").arg(h);
                }
                let out = cmd.output().context("running a measurement")?;
                if !out.status.success() {
                    bail!(
                        "measuring {} {} with {threads} thread(s) failed: {}",
                        name(&engine),
                        name(&length),
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
                let m: Measurement = serde_json::from_slice(&out.stdout)
                    .context("reading a measurement's output")?;
                println!(
                    "{:<8} {:<6} {:>7} {:>12.0} {:>14.0}   {}",
                    name(&engine),
                    name(&length),
                    threads,
                    m.texts as f64 / m.seconds,
                    m.peak_rss_mib.unwrap_or(f64::NAN),
                    m.engine
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The command-line name of a value.
fn name<V: ValueEnum>(v: &V) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// The benchmark's texts: labelled examples of the given length, cycled to
/// `count`.
fn texts(args: &SpeedArgs, length: TextLength) -> Result<Vec<(String, Language)>> {
    let data = crate::learn::load_labelled(&args.data)?;
    let pool: Vec<(String, Language)> = data
        .examples()
        .iter()
        .filter(|e| {
            let words = e.text.split_whitespace().count();
            match length {
                TextLength::Short => words <= 10,
                TextLength::Long => (25..=40).contains(&words),
            }
        })
        .map(|e| (e.text.clone(), e.lang))
        .collect();
    if pool.is_empty() {
        bail!("no {length:?} texts in {}", args.data.display());
    }
    Ok(pool.iter().cycle().take(args.texts).cloned().collect())
}

fn measure(
    args: &SpeedArgs,
    engine: SpeedEngine,
    length: TextLength,
    threads: usize,
) -> Result<Measurement> {
    let threads = threads.max(1);
    let texts = texts(args, length)?;
    // One inference session per thread, one intra-op thread each: how the
    // pipeline runs the encoder.
    let options = escucha_embed::EncoderOptions {
        intra_threads: 1,
        sessions: threads,
        ..Default::default()
    };
    let classifier: Box<dyn Classifier> = match engine {
        SpeedEngine::Cues => Box::new(escucha_classify::CueClassifier::builtin()),
        SpeedEngine::Layered => Box::new(escucha_classify::LayeredClassifier::load_with(
            &escucha_embed::default_model_dir(),
            &args
                .heads
                .clone()
                .unwrap_or_else(escucha_classify::default_heads_dir),
            options,
        )?),
        #[cfg(feature = "bert")]
        SpeedEngine::Bert => {
            let options = escucha_bert::BertOptions {
                intra_threads: 1,
                instances: threads,
                ..Default::default()
            };
            let encoder =
                escucha_bert::BertEncoder::load_with(&escucha_bert::default_model_dir(), options)?;
            let heads = args
                .heads
                .clone()
                .unwrap_or_else(|| crate::learn::EncoderArg::Minilm.default_heads_dir());
            Box::new(escucha_classify::LayeredClassifier::with_encoder(
                Box::new(encoder),
                &heads,
            )?)
        }
    };
    let batches: Vec<&[(String, Language)]> = texts.chunks(BATCH).collect();
    let classify = |batch: &[(String, Language)]| {
        let inputs: Vec<TextInput<'_>> = batch
            .iter()
            .map(|(t, l)| TextInput {
                text: t,
                language: Some(*l),
            })
            .collect();
        classifier.classify_batch(&inputs).len()
    };
    // Warm-up: first inferences allocate.
    for b in batches.iter().take(threads) {
        classify(b);
    }
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(b) = batches.get(i) else { break n };
                        n += classify(b);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a benchmark thread panicked"))
            .sum()
    });
    let seconds = started.elapsed().as_secs_f64();
    Ok(Measurement {
        engine: classifier.engine().to_string(),
        texts: done,
        seconds,
        peak_rss_mib: crate::bench::peak_rss_mib(std::process::id()),
    })
}
