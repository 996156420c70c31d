//! Equivalence with the original graph and multilingual behaviour.
//!
//! These tests need the model directory written by `scripts/models.sh
//! install` (`$ESCUCHA_MODELS/use-m-int8`, default
//! `~/.cache/escucha/models/use-m-int8`), including its `reference.json`:
//! token ids and embeddings computed by the ORIGINAL graph, tokenizer op
//! included. Run them with `cargo test -p escucha-embed -- --ignored`.

use std::path::PathBuf;

use escucha_embed::{cosine, default_model_dir, EncoderOptions, UseEncoder};
use serde::Deserialize;

const NEEDS_MODEL: &str = "needs the model: scripts/models.sh install";

#[derive(Deserialize)]
struct Reference {
    dimension: usize,
    texts: Vec<ReferenceText>,
    batch_embeddings: Vec<Vec<f32>>,
    token_cases: Vec<TokenCase>,
}

#[derive(Deserialize)]
struct ReferenceText {
    language: String,
    text: String,
    token_ids: Vec<i32>,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct TokenCase {
    text: String,
    token_ids: Vec<i32>,
}

fn model_dir() -> PathBuf {
    default_model_dir()
}

fn encoder(options: EncoderOptions) -> UseEncoder {
    UseEncoder::load_with(&model_dir(), options).unwrap_or_else(|e| panic!("{NEEDS_MODEL}: {e}"))
}

fn reference(encoder: &UseEncoder) -> Reference {
    let path = encoder
        .manifest()
        .reference_path(encoder.model_dir())
        .expect("the manifest lists no reference file");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("reference.json is malformed")
}

/// Asserts that `actual` matches the original graph's `expected` embedding;
/// returns whether they are bit-identical.
fn assert_matches(what: &str, actual: &[f32], expected: &[f32]) -> bool {
    assert_eq!(actual.len(), expected.len(), "{what}: dimension");
    let similarity = cosine(actual, expected);
    let max_diff = actual
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        similarity >= 0.9999,
        "{what}: cosine {similarity} to the original graph (max |diff| {max_diff})"
    );
    actual == expected
}

#[test]
#[ignore = "needs the model: scripts/models.sh install"]
fn token_ids_match_the_original_tokenizer_op() {
    let encoder = encoder(EncoderOptions::default());
    let reference = reference(&encoder);
    let cases = reference
        .texts
        .iter()
        .map(|t| (&t.text, &t.token_ids))
        .chain(
            reference
                .token_cases
                .iter()
                .map(|c| (&c.text, &c.token_ids)),
        );
    let mut mismatches = Vec::new();
    for (text, expected) in cases {
        let actual = encoder.tokenize(text);
        if &actual != expected {
            mismatches.push(format!(
                "{text:?}\n  rust:     {actual:?}\n  original: {expected:?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "token ids differ:\n{}",
        mismatches.join("\n")
    );
}

#[test]
#[ignore = "needs the model: scripts/models.sh install"]
fn single_text_embeddings_match_the_original_graph() {
    let encoder = encoder(EncoderOptions {
        max_batch: 1,
        ..EncoderOptions::default()
    });
    let reference = reference(&encoder);
    assert_eq!(encoder.dimension(), reference.dimension);
    let mut identical = 0;
    for t in &reference.texts {
        let actual = encoder.embed_one(&t.text).unwrap();
        let what = format!("[{}] {:?}", t.language, t.text);
        identical += usize::from(assert_matches(&what, &actual, &t.embedding));
    }
    eprintln!(
        "{identical}/{} single-text embeddings bit-identical to the original graph",
        reference.texts.len()
    );
}

#[test]
#[ignore = "needs the model: scripts/models.sh install"]
fn batch_embeddings_match_the_original_graph() {
    let encoder = encoder(EncoderOptions {
        max_batch: 64,
        ..EncoderOptions::default()
    });
    let reference = reference(&encoder);
    let texts: Vec<&str> = reference.texts.iter().map(|t| t.text.as_str()).collect();
    let actual = encoder.embed(&texts).unwrap();
    assert_eq!(actual.len(), reference.batch_embeddings.len());
    let mut identical = 0;
    for ((text, actual), expected) in texts.iter().zip(&actual).zip(&reference.batch_embeddings) {
        identical += usize::from(assert_matches(&format!("batch {text:?}"), actual, expected));
    }
    eprintln!(
        "{identical}/{} batch embeddings bit-identical to the original graph",
        texts.len()
    );
}

#[test]
#[ignore = "needs the model: scripts/models.sh install"]
fn batches_are_split_in_order_and_vectors_have_unit_length() {
    let encoder = encoder(EncoderOptions {
        max_batch: 4,
        intra_threads: 2,
        sessions: 2,
    });
    let reference = reference(&encoder);
    let texts: Vec<&str> = reference.texts.iter().map(|t| t.text.as_str()).collect();
    assert!(texts.len() > 8, "the reference needs more than two batches");
    let all = encoder.embed(&texts).unwrap();
    assert_eq!(all.len(), texts.len());
    for (i, chunk) in texts.chunks(4).enumerate() {
        let expected = encoder.embed(chunk).unwrap();
        assert_eq!(
            &all[i * 4..i * 4 + chunk.len()],
            expected.as_slice(),
            "batch {i}"
        );
    }
    for (text, v) in texts.iter().zip(&all) {
        assert_eq!(v.len(), 512);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{text:?}: norm {norm}");
    }
    assert!(encoder.embed::<&str>(&[]).unwrap().is_empty());
    assert_eq!(encoder.version(), "use-m-v3-int8");
}

#[test]
#[ignore = "needs the model: scripts/models.sh install"]
fn translations_are_closer_than_unrelated_sentences() {
    let encoder = encoder(EncoderOptions::default());
    let groups: [[&str; 3]; 4] = [
        [
            "La espera en la línea fue de más de una hora.",
            "A espera na linha foi de mais de uma hora.",
            "The wait on the line was over an hour.",
        ],
        [
            "Me cobraron dos veces la misma factura.",
            "Me cobraram duas vezes a mesma fatura.",
            "I was charged twice for the same bill.",
        ],
        [
            "La agente fue muy amable y resolvió todo.",
            "A atendente foi muito gentil e resolveu tudo.",
            "The agent was very kind and solved everything.",
        ],
        [
            "No puedo entrar en la aplicación, me da un error.",
            "Não consigo entrar no aplicativo, dá um erro.",
            "I can't log into the app, it gives me an error.",
        ],
    ];
    let vectors: Vec<Vec<Vec<f32>>> = groups
        .iter()
        .map(|g| g.iter().map(|t| encoder.embed_one(t).unwrap()).collect())
        .collect();
    for (gi, group) in vectors.iter().enumerate() {
        for (a, va) in group.iter().enumerate() {
            let unrelated = vectors
                .iter()
                .enumerate()
                .filter(|(gj, _)| *gj != gi)
                .flat_map(|(_, other)| other.iter())
                .map(|vb| cosine(va, vb))
                .fold(f32::MIN, f32::max);
            for (b, vb) in group.iter().enumerate().filter(|(b, _)| *b != a) {
                let same = cosine(va, vb);
                assert!(
                    same > unrelated + 0.1,
                    "{:?} ~ {:?}: {same}, but an unrelated sentence scores {unrelated}",
                    groups[gi][a],
                    groups[gi][b]
                );
            }
        }
    }
}

#[test]
#[ignore = "needs the model: scripts/models.sh install"]
fn two_threads_embed_at_once_on_two_sessions() {
    let encoder = encoder(EncoderOptions {
        sessions: 2,
        ..EncoderOptions::default()
    });
    let reference = reference(&encoder);
    let texts: Vec<&str> = reference.texts.iter().map(|t| t.text.as_str()).collect();
    let alone = encoder.embed(&texts).unwrap();
    let (a, b) = texts.split_at(texts.len() / 2);
    let together: Vec<Vec<f32>> = std::thread::scope(|s| {
        let ha = s.spawn(|| encoder.embed(a).unwrap());
        let hb = s.spawn(|| encoder.embed(b).unwrap());
        let mut v = ha.join().unwrap();
        v.extend(hb.join().unwrap());
        v
    });
    assert_eq!(together.len(), alone.len());
    for (x, y) in together.iter().zip(&alone) {
        // Batches differ, so int8 quantization differs slightly.
        assert!(escucha_embed::cosine(x, y) > 0.99);
    }
}
