//! Throughput and memory of the sentence encoder.
//!
//! `cargo run --release -p escucha-embed --example bench [-- TEXTS]`
//!
//! Embeds TEXTS (default 2048) generated Spanish, Portuguese and English
//! contact-center texts, short (at most 10 words) and long (about 30 words),
//! in batches of 32 — with 1 and 2 intra-op threads on one session, and
//! with 2 sessions of 1 thread fed by 2 calling threads (how the pipeline
//! uses it) — and prints texts per second and the process's peak resident
//! memory (VmHWM). Needs the model
//! directory of `scripts/models.sh install` (or `ESCUCHA_MODELS`).

use std::time::Instant;

use escucha_embed::{default_model_dir, EncoderOptions, UseEncoder};

const BATCH: usize = 32;

const WORDS: [&[&str]; 3] = [
    &[
        "la",
        "factura",
        "llegó",
        "con",
        "un",
        "cobro",
        "duplicado",
        "y",
        "nadie",
        "me",
        "explicó",
        "por",
        "qué",
        "esperé",
        "más",
        "de",
        "una",
        "hora",
        "en",
        "línea",
        "agente",
        "amable",
        "resolvió",
        "problema",
        "rápido",
        "pésimo",
        "servicio",
        "internet",
        "sin",
        "señal",
        "desde",
        "ayer",
    ],
    &[
        "a",
        "fatura",
        "veio",
        "com",
        "cobrança",
        "duplicada",
        "e",
        "ninguém",
        "explicou",
        "por",
        "quê",
        "esperei",
        "mais",
        "de",
        "uma",
        "hora",
        "na",
        "linha",
        "atendente",
        "gentil",
        "resolveu",
        "problema",
        "rápido",
        "péssimo",
        "atendimento",
        "internet",
        "sem",
        "sinal",
        "desde",
        "ontem",
        "não",
        "funciona",
    ],
    &[
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
    ],
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

/// `count` texts of `min..=max` words, cycling through the languages.
fn texts(count: usize, min: usize, max: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|i| {
            let words = WORDS[i % WORDS.len()];
            let len = min + rng.next() % (max - min + 1);
            let mut text = (0..len)
                .map(|_| words[rng.next() % words.len()])
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("not a text count: {arg}"))?,
        None => 2048,
    };
    let sets = [
        ("short (≤10 words)", texts(count, 4, 10, 0x5eed_0001)),
        ("long (~30 words)", texts(count, 26, 34, 0x5eed_0002)),
    ];
    let dir = default_model_dir();
    println!("model: {}", dir.display());
    println!("batch {BATCH}, {count} texts per run");
    println!(
        "{:<20} {:<22} {:>10} {:>14}",
        "texts", "threads", "texts/s", "peak RSS MiB"
    );
    for (label, intra, sessions) in [
        ("1 (1 session)", 1, 1),
        ("2 (1 session × 2)", 2, 1),
        ("2 (2 sessions × 1)", 1, 2),
    ] {
        let encoder = UseEncoder::load_with(
            &dir,
            EncoderOptions {
                intra_threads: intra,
                max_batch: BATCH,
                sessions,
            },
        )?;
        for (name, texts) in &sets {
            // One warm-up batch per session: the first inference allocates its buffers.
            for _ in 0..sessions {
                encoder.embed(&texts[..BATCH.min(texts.len())])?;
            }
            let start = Instant::now();
            let embedded: usize = std::thread::scope(|scope| {
                let chunk = texts.len().div_ceil(sessions);
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
            println!(
                "{name:<20} {label:<22} {:>10.0} {rss:>14}",
                texts.len() as f64 / seconds
            );
        }
    }
    Ok(())
}
