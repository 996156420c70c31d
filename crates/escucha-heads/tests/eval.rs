//! Evaluation figures on hand-computed fixtures.

use escucha_core::Language;
use escucha_heads::{Dataset, EvalItem, Evaluation, Example, LabelKind, NO_LABEL};

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// Six texts, three labels (G = gratitude, F = frustration, A = anger):
///
/// | # | lang | gold  | predicted |
/// |---|------|-------|-----------|
/// | 1 | es   | G     | G         |
/// | 2 | es   | F, A  | F         |
/// | 3 | es   | –     | A         |
/// | 4 | pt   | F     | A         |
/// | 5 | pt   | G     | G, F      |
/// | 6 | en   | A     | A         |
///
/// gratitude:   TP 2 (1, 5), FP 0, FN 0 → P 1, R 1, F1 1
/// frustration: TP 1 (2), FP 1 (5), FN 1 (4) → P 1/2, R 1/2, F1 2/4 = 0.5
/// anger:       TP 1 (6), FP 2 (3, 4), FN 1 (2) → P 1/3, R 1/2, F1 2/5 = 0.4
/// micro: TP 4, FP 3, FN 2 → P 4/7, R 4/6, F1 8/13
/// macro: P (1 + 1/2 + 1/3)/3 = 11/18, R (1 + 1/2 + 1/2)/3 = 2/3,
///        F1 (1 + 0.5 + 0.4)/3 = 1.9/3
/// exact match: texts 1 and 6 → 2/6
/// es (1–3): G TP1; F TP1; A FP1 FN1 → F1 1, 1, 0 → macro 2/3;
///           micro TP2 FP1 FN1 → 4/6
/// pt (4–5): G TP1; F FP1 FN1; A FP1 → F1 1, 0, 0 → macro 1/3;
///           micro TP1 FP2 FN1 → 2/5
/// en (6):   A TP1, G and F absent → macro 1 over 1 label; micro 1
/// confusions: frustration missed in 4 where anger was predicted instead;
///             its false positive (5) had gold gratitude.
///             anger missed in 2 with no false positive there → (none);
///             its false positives had gold (none) (3) and frustration (4).
fn fixture() -> Vec<Example> {
    let ex = |lang, emotions: &[&str]| Example {
        text: "t".into(),
        lang,
        emotions: ids(emotions),
        // Themes are a separate label set and must not affect emotions.
        themes: ids(&["long_wait"]),
    };
    vec![
        ex(Language::Es, &["gratitude"]),
        ex(Language::Es, &["frustration", "anger"]),
        ex(Language::Es, &[]),
        ex(Language::Pt, &["frustration"]),
        ex(Language::Pt, &["gratitude"]),
        ex(Language::En, &["anger"]),
    ]
}

fn predictions() -> Vec<Vec<String>> {
    vec![
        ids(&["gratitude"]),
        ids(&["frustration"]),
        ids(&["anger"]),
        // A label outside the evaluated set is ignored.
        ids(&["anger", "long_wait"]),
        ids(&["gratitude", "frustration"]),
        ids(&["anger"]),
    ]
}

fn evaluation() -> Evaluation {
    Evaluation::from_examples(
        &fixture(),
        LabelKind::Emotions,
        &predictions(),
        &ids(&["gratitude", "frustration", "anger"]),
    )
    .unwrap()
}

#[test]
fn per_label_figures_match_hand_computation() {
    let e = evaluation();
    assert_eq!(e.examples, 6);
    let g = &e.labels[0];
    assert_eq!(
        (g.label.as_str(), g.support, g.predicted),
        ("gratitude", 2, 2)
    );
    assert!(close(g.precision, 1.0) && close(g.recall, 1.0) && close(g.f1, 1.0));
    let f = &e.labels[1];
    assert_eq!(
        (f.true_positives, f.false_positives, f.false_negatives),
        (1, 1, 1)
    );
    assert!(close(f.precision, 0.5) && close(f.recall, 0.5) && close(f.f1, 0.5));
    let a = &e.labels[2];
    assert_eq!((a.support, a.predicted), (2, 3));
    assert!(close(a.precision, 1.0 / 3.0) && close(a.recall, 0.5) && close(a.f1, 0.4));
}

#[test]
fn averages_match_hand_computation() {
    let e = evaluation();
    assert!(close(e.micro.precision, 4.0 / 7.0));
    assert!(close(e.micro.recall, 4.0 / 6.0));
    assert!(close(e.micro.f1, 8.0 / 13.0));
    assert_eq!(e.macro_labels, 3);
    assert!(close(e.macro_avg.precision, 11.0 / 18.0));
    assert!(close(e.macro_avg.recall, 2.0 / 3.0));
    assert!(close(e.macro_avg.f1, 1.9 / 3.0));
    assert!(close(e.exact_match, 2.0 / 6.0));
}

#[test]
fn per_language_macro_f1_matches_hand_computation() {
    let e = evaluation();
    let langs: Vec<(Language, usize)> =
        e.by_language.iter().map(|l| (l.lang, l.examples)).collect();
    assert_eq!(
        langs,
        vec![(Language::Es, 3), (Language::Pt, 2), (Language::En, 1)]
    );
    let [es, pt, en] = &e.by_language[..] else {
        panic!("three languages")
    };
    assert!(close(es.macro_f1, 2.0 / 3.0) && close(es.micro_f1, 4.0 / 6.0));
    assert!(close(pt.macro_f1, 1.0 / 3.0) && close(pt.micro_f1, 2.0 / 5.0));
    assert_eq!(en.macro_labels, 1);
    assert!(close(en.macro_f1, 1.0) && close(en.micro_f1, 1.0));
}

#[test]
fn confusion_summary_matches_hand_computation() {
    let e = evaluation();
    let labels: Vec<&str> = e.confusions.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, vec!["frustration", "anger"]);
    let f = &e.confusions[0];
    assert_eq!(f.missed, 1);
    assert_eq!(f.predicted_instead, vec![("anger".to_string(), 1)]);
    assert_eq!(f.false_positives, 1);
    assert_eq!(f.gold_instead, vec![("gratitude".to_string(), 1)]);
    let a = &e.confusions[1];
    assert_eq!(a.predicted_instead, vec![(NO_LABEL.to_string(), 1)]);
    assert_eq!(
        a.gold_instead,
        vec![(NO_LABEL.to_string(), 1), ("frustration".to_string(), 1)]
    );
}

#[test]
fn confusion_lists_rank_by_frequency_and_keep_the_top_three() {
    let label_ids = ids(&["anger", "frustration", "confusion", "anxiety", "relief"]);
    let gold = ids(&["anger"]);
    let preds = [
        ids(&["frustration"]),
        ids(&["frustration", "confusion"]),
        ids(&["frustration", "anxiety", "relief"]),
        ids(&["confusion"]),
    ];
    let e = Evaluation::compute(
        &label_ids,
        preds.iter().map(|p| EvalItem {
            lang: Language::Es,
            gold: &gold,
            predicted: p,
        }),
    );
    let anger = &e.confusions[0];
    assert_eq!(anger.missed, 4);
    assert_eq!(
        anger.predicted_instead,
        vec![
            ("frustration".to_string(), 3),
            ("confusion".to_string(), 2),
            ("anxiety".to_string(), 1),
        ]
    );
}

#[test]
fn empty_and_perfect_sets() {
    let label_ids = ids(&["relief"]);
    let e = Evaluation::compute(&label_ids, std::iter::empty());
    assert_eq!((e.examples, e.macro_labels), (0, 0));
    assert_eq!(e.micro.f1, 0.0);
    assert!(e.by_language.is_empty() && e.confusions.is_empty());

    let gold = ids(&["relief"]);
    let e = Evaluation::compute(
        &label_ids,
        [EvalItem {
            lang: Language::Pt,
            gold: &gold,
            predicted: &gold,
        }],
    );
    assert_eq!((e.micro.f1, e.macro_avg.f1, e.exact_match), (1.0, 1.0, 1.0));
}

#[test]
fn length_mismatch_is_an_error() {
    let err = Evaluation::from_examples(
        &fixture(),
        LabelKind::Emotions,
        &predictions()[..5],
        &ids(&["anger"]),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "6 gold examples but 5 predictions");
}

#[test]
fn renders_a_fixed_width_table_and_markdown() {
    let e = evaluation();
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("label "), "{text}");
    // Per-label rows and the two averages share the header's width.
    for line in &lines[1..6] {
        assert_eq!(line.chars().count(), lines[0].chars().count(), "{line}");
    }
    assert!(lines[2].starts_with("frustration ") && lines[2].ends_with("0.500   0.500   0.500"));
    assert!(lines[4].starts_with("micro ") && lines[4].contains("0.615"));
    assert!(lines[5].starts_with("macro (3 labels)") && lines[5].ends_with("0.633"));
    assert!(
        text.contains("es              3    0.667    0.667      3"),
        "{text}"
    );
    assert!(text.contains("anger ×1"), "{text}");

    let md = e.to_markdown();
    assert!(
        md.contains("| `anger` | 2 | 3 | 0.333 | 0.500 | 0.400 |"),
        "{md}"
    );
    assert!(
        md.contains("| **micro** | 6 | 7 | 0.571 | 0.667 | 0.615 |"),
        "{md}"
    );
    assert!(md.contains("| pt | 2 | 0.400 | 0.333 | 3 |"), "{md}");
    assert!(
        md.contains("| `frustration` | 1 | anger ×1 | 1 | gratitude ×1 |"),
        "{md}"
    );
}

#[test]
fn dataset_examples_feed_the_evaluation() {
    let d = Dataset::parse_jsonl(
        r#"{"text":"esperé dos horas","lang":"es","themes":["long_wait"]}
{"text":"me pasaron de área tres veces","lang":"es","themes":["transfer","long_wait"]}"#,
        "mem",
    )
    .unwrap();
    let preds = vec![ids(&["long_wait"]), ids(&["transfer"])];
    let e = Evaluation::from_examples(
        d.examples(),
        LabelKind::Themes,
        &preds,
        &LabelKind::Themes.builtin_ids(),
    )
    .unwrap();
    assert_eq!(e.labels[0].label, "long_wait");
    assert_eq!(
        (e.labels[0].true_positives, e.labels[0].false_negatives),
        (1, 1)
    );
    assert!(close(e.micro.f1, 4.0 / 5.0));
}
