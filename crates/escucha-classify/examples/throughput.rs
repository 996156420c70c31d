//! Measures how many short texts per second the built-in cue engine
//! classifies on one core, with and without language detection.
//!
//! ```text
//! cargo run --release -p escucha-classify --example throughput [texts]
//! ```

use escucha_classify::CueClassifier;
use escucha_core::{Classifier, Language, TextInput};
use std::hint::black_box;
use std::time::Instant;

const SAMPLES: &[(&str, Language)] = &[
    (
        "Llevo dos horas esperando y nadie me resuelve nada",
        Language::Es,
    ),
    ("Muchas gracias, la chica fue súper amable 🙏", Language::Es),
    (
        "me transfirieron 4 veces y sigo sin solución 😡",
        Language::Es,
    ),
    ("Quisiera cambiar mi dirección de facturación", Language::Es),
    ("vcs são ótimos, resolveram rapidinho", Language::Pt),
    (
        "O app não abre e ninguém retorna minhas mensagens",
        Language::Pt,
    ),
    (
        "Fiquei mais de uma hora na fila de espera, que absurdo",
        Language::Pt,
    ),
    ("Bom dia, quero saber o saldo da minha conta", Language::Pt),
    ("thx a lot, the agent was really helpful", Language::En),
    (
        "Great, another hour on hold. Thanks for nothing.",
        Language::En,
    ),
    (
        "The chatbot kept looping and I couldn't reach a human",
        Language::En,
    ),
    ("Please send me a copy of my last invoice", Language::En),
];

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let engine = CueClassifier::builtin();
    for detect in [false, true] {
        let started = Instant::now();
        let mut labels = 0usize;
        for i in 0..count {
            let (text, lang) = SAMPLES[i % SAMPLES.len()];
            let input = TextInput {
                text,
                language: (!detect).then_some(lang),
            };
            let out = black_box(engine.classify(black_box(input)));
            labels += out.emotions.len() + out.themes.len();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{} texts {} language detection: {:.0} texts/s ({labels} labels)",
            count,
            if detect { "with" } else { "without" },
            count as f64 / secs
        );
    }
}
