//! Throughput and memory of the rust-bert sentence encoder.
//!
//! `cargo run --release -p escucha-bert --example bert-bench [-- TEXTS]`
//!
//! Embeds TEXTS (default 512) generated English contact-center texts, short
//! (at most 10 words) and long (about 30 words), in batches of 32 — with 1
//! and 2 libtorch intra-op threads on one model instance, and with 2
//! instances of 1 thread fed by 2 calling threads — and prints texts per
//! second and the process's peak resident memory (VmHWM, so it only grows
//! from row to row). The same measurement as
//! `escucha-embed`'s bench for the default encoder (whose texts are
//! generated the same way, in three languages; this model is English-only).
//! Needs `scripts/libtorch.sh install` (or `ESCUCHA_MODELS`).

use std::time::Instant;

use escucha_bert::{default_model_dir, BertEncoder, BertOptions};

const BATCH: usize = 32;

const WORDS: &[&str] = &[
    "the",
    "bill",
    "came",
    "with",
    "a",
    "duplicate",
    "charge",
    "and",
    "nobody",
    "explained",
    "why",
    "I",
    "waited",
    "over",
    "an",
    "hour",
    "on",
    "line",
    "agent",
    "kind",
    "solved",
    "problem",
    "quickly",
    "terrible",
    "service",
    "internet",
    "no",
    "signal",
    "since",
    "yesterday",
    "still",
    "broken",
];

/// Deterministic pseudo-random numbers (xorshift64*), so every run embeds
/// the same texts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize
    }
}

/// `count` texts of `min..=max` words.
fn texts(count: usize, min: usize, max: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|_| {
            let len = min + rng.next() % (max - min + 1);
            let mut text = (0..len)
                .map(|_| WORDS[rng.next() % WORDS.len()])
                .collect::<Vec<_>>()
                .join(" ");
            text.push('.');
            text
        })
        .collect()
}

/// The process's peak resident set size in MiB (VmHWM), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU seconds the process has used (user + system), if known; with the
/// wall time it shows how many cores a run kept busy. Assumes the usual
/// 100 clock ticks per second.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("not a text count: {arg}"))?,
        None => 512,
    };
    let sets = [
        ("short (≤10 words)", texts(count, 4, 10, 0x5eed_0001)),
        ("long (~30 words)", texts(count, 26, 34, 0x5eed_0002)),
    ];
    let dir = default_model_dir();
    println!("model: {}", dir.display());
    println!("batch {BATCH}, {count} texts per run");
    println!(
        "{:<20} {:<22} {:>10} {:>14} {:>10} {:>8}",
        "texts", "threads", "texts/s", "peak RSS MiB", "CPU/wall", "load s"
    );
    for (label, intra_threads, instances) in [
        ("1", 1, 1),
        ("2 (1 instance × 2)", 2, 1),
        ("2 (2 instances × 1)", 1, 2),
    ] {
        let load = Instant::now();
        let encoder = BertEncoder::load_with(
            &dir,
            BertOptions {
                intra_threads,
                max_batch: BATCH,
                instances,
            },
        )?;
        let load = load.elapsed().as_secs_f64();
        for (name, texts) in &sets {
            // Warm-up, once per instance: the first forward passes allocate.
            for _ in 0..instances {
                encoder.embed(&texts[..BATCH.min(texts.len())])?;
            }
            let cpu = cpu_seconds();
            let start = Instant::now();
            let embedded: usize = std::thread::scope(|scope| {
                let chunk = texts.len().div_ceil(instances);
                let handles: Vec<_> = texts
                    .chunks(chunk)
                    .map(|part| scope.spawn(|| encoder.embed(part).map(|e| e.len())))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("embedding thread").unwrap_or(0))
                    .sum()
            });
            let seconds = start.elapsed().as_secs_f64();
            assert_eq!(embedded, texts.len());
            let rss = peak_rss_mib().map_or("?".to_string(), |m| format!("{m:.0}"));
            let cores = match (cpu, cpu_seconds()) {
                (Some(before), Some(after)) => format!("{:.2}", (after - before) / seconds),
                _ => "?".to_string(),
            };
            println!(
                "{name:<20} {label:<22} {:>10.1} {rss:>14} {cores:>10} {load:>8.1}",
                texts.len() as f64 / seconds
            );
        }
    }
    Ok(())
}
