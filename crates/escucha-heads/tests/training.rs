//! Training, calibration and the heads file on synthetic multi-label data.

use escucha_core::Language;
use escucha_heads::{
    CalibrationSplit, EvalItem, Evaluation, Heads, HeadsError, Provenance, TrainOptions,
    FORMAT_VERSION,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LABELS: [&str; 5] = ["gratitude", "frustration", "anger", "long_wait", "transfer"];

fn label_ids(n: usize) -> Vec<String> {
    LABELS[..n].iter().map(|s| s.to_string()).collect()
}

fn provenance() -> Provenance {
    Provenance {
        encoder: "synthetic-32".into(),
        training_data_hash: "0123abcd".into(),
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A synthetic problem: features are Gaussian, then shifted and scaled per
/// dimension (so standardisation matters); each label has a fixed random
/// unit direction.
struct Problem {
    d: usize,
    directions: Vec<Vec<f64>>,
    shift: Vec<f64>,
    scale: Vec<f64>,
}

impl Problem {
    fn new(d: usize, labels: usize) -> Problem {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let directions = (0..labels)
            .map(|_| {
                let v: Vec<f64> = (0..d).map(|_| normal(&mut rng)).collect();
                let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                v.into_iter().map(|x| x / norm).collect()
            })
            .collect();
        let shift = (0..d).map(|j| j as f64 * 0.5 - 3.0).collect();
        let scale = (0..d).map(|j| 0.2 + (j % 5) as f64).collect();
        Problem {
            d,
            directions,
            shift,
            scale,
        }
    }

    /// `n` examples; `label_of(k, projection, rng)` decides label `k` from
    /// the projection of the (unshifted) features on its direction.
    fn sample(
        &self,
        n: usize,
        seed: u64,
        label_of: impl Fn(usize, f64, &mut ChaCha8Rng) -> bool,
    ) -> (Vec<Vec<f32>>, Vec<Vec<bool>>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut features = Vec::with_capacity(n);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let z: Vec<f64> = (0..self.d).map(|_| normal(&mut rng)).collect();
            let y = self
                .directions
                .iter()
                .enumerate()
                .map(|(k, u)| {
                    let proj = u.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>();
                    label_of(k, proj, &mut rng)
                })
                .collect();
            features.push(
                z.iter()
                    .zip(&self.shift)
                    .zip(&self.scale)
                    .map(|((v, s), c)| (v * c + s) as f32)
                    .collect(),
            );
            labels.push(y);
        }
        (features, labels)
    }
}

/// Thresholds giving prevalences from about 50 % down to about 10 %.
fn separable(k: usize, proj: f64, _: &mut ChaCha8Rng) -> bool {
    proj > k as f64 * 0.3
}

fn micro_f1(heads: &Heads, features: &[Vec<f32>], labels: &[Vec<bool>]) -> Evaluation {
    let ids: Vec<String> = heads.labels().iter().map(|s| s.to_string()).collect();
    let gold: Vec<Vec<String>> = labels
        .iter()
        .map(|row| {
            row.iter()
                .zip(&ids)
                .filter(|(y, _)| **y)
                .map(|(_, id)| id.clone())
                .collect()
        })
        .collect();
    let predicted: Vec<Vec<String>> = features
        .iter()
        .map(|f| heads.predict_labels(f).unwrap())
        .collect();
    Evaluation::compute(
        &ids,
        gold.iter().zip(&predicted).map(|(g, p)| EvalItem {
            lang: Language::En,
            gold: g,
            predicted: p,
        }),
    )
}

#[test]
fn learns_linearly_separable_multi_label_data() {
    let problem = Problem::new(32, 5);
    let (x, y) = problem.sample(2000, 1, separable);
    let (tx, ty) = problem.sample(1000, 2, separable);
    let heads = Heads::train(
        &x,
        &y,
        &label_ids(5),
        &provenance(),
        &TrainOptions::default(),
    )
    .unwrap();
    let e = micro_f1(&heads, &tx, &ty);
    assert!(e.micro.f1 > 0.95, "{e}");
    for m in &e.labels {
        assert!(m.f1 > 0.9, "{e}");
    }
    for h in heads.heads() {
        assert!(h.stats.epochs > 0 && h.stats.epochs <= 300);
        assert_eq!(h.stats.calibration_examples, 2000);
        assert!(h.stats.calibration_f1 > 0.9, "{:?}", h.stats);
        assert!((0.0..=1.0).contains(&h.threshold));
    }
    assert_eq!(heads.dimension(), 32);
}

#[test]
fn learns_noisy_data_close_to_the_noise_ceiling() {
    // 10 % of the training labels are flipped; the test labels are clean.
    let problem = Problem::new(32, 3);
    let (x, y) = problem.sample(3000, 3, |k, proj, rng| {
        separable(k, proj, rng) ^ rng.gen_bool(0.1)
    });
    let (tx, ty) = problem.sample(1000, 4, separable);
    let heads = Heads::train(
        &x,
        &y,
        &label_ids(3),
        &provenance(),
        &TrainOptions::default(),
    )
    .unwrap();
    let e = micro_f1(&heads, &tx, &ty);
    assert!(e.micro.f1 > 0.88, "{e}");
}

/// A rare label (about 7 % positive) whose outcome is genuinely random given
/// the features: `P(y) = sigmoid(3·proj − 4)`.
fn skewed(_: usize, proj: f64, rng: &mut ChaCha8Rng) -> bool {
    rng.gen_bool(1.0 / (1.0 + (-(3.0 * proj - 4.0)).exp()))
}

#[test]
fn calibration_lowers_ece_on_a_skewed_problem() {
    let problem = Problem::new(16, 2);
    let (x, y) = problem.sample(4000, 5, skewed);
    let (tx, ty) = problem.sample(4000, 6, skewed);
    let prevalence = ty.iter().filter(|r| r[0]).count() as f64 / ty.len() as f64;
    assert!((0.03..0.15).contains(&prevalence), "{prevalence}");

    for calibration in [
        CalibrationSplit::CrossFit { folds: 3 },
        CalibrationSplit::HoldOut { fraction: 0.3 },
    ] {
        let opts = TrainOptions {
            calibration,
            ..TrainOptions::default()
        };
        let heads = Heads::train(&x, &y, &label_ids(2), &provenance(), &opts).unwrap();
        let report = heads.calibration_report(&tx, &ty).unwrap();
        // Class balancing pushes raw probabilities far up for a rare label.
        assert!(report.ece_uncalibrated > 0.1, "{report:?}");
        assert!(report.ece < 0.03, "{report:?}");
        for l in &report.labels {
            assert!(l.ece < l.ece_uncalibrated / 3.0, "{l:?}");
        }
        for h in heads.heads() {
            assert!(h.stats.ece_calibrated < h.stats.ece_uncalibrated);
        }
        // Mean calibrated probability tracks the observed prevalence.
        let mean_p: f64 = tx
            .iter()
            .map(|f| f64::from(heads.predict(f).unwrap()[0].probability))
            .sum::<f64>()
            / tx.len() as f64;
        assert!(
            (mean_p - prevalence).abs() < 0.02,
            "{mean_p} vs {prevalence}"
        );
    }
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let problem = Problem::new(8, 2);
    let (x, y) = problem.sample(300, 8, separable);
    let opts = TrainOptions::default();
    let a = Heads::train(&x, &y, &label_ids(2), &provenance(), &opts).unwrap();
    let b = Heads::train(&x, &y, &label_ids(2), &provenance(), &opts).unwrap();
    assert_eq!(a, b);
    let other = TrainOptions {
        seed: 99,
        ..opts.clone()
    };
    let c = Heads::train(&x, &y, &label_ids(2), &provenance(), &other).unwrap();
    assert_ne!(a.heads()[0].weights, c.heads()[0].weights);
}

#[test]
fn serialisation_round_trips_and_loading_checks_the_file() {
    let problem = Problem::new(12, 3);
    let (x, y) = problem.sample(400, 9, separable);
    let heads = Heads::train(
        &x,
        &y,
        &label_ids(3),
        &provenance(),
        &TrainOptions::default(),
    )
    .unwrap();

    let path = std::env::temp_dir().join(format!("escucha-heads-{}.json", std::process::id()));
    heads.save(&path).unwrap();
    let loaded = Heads::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded, heads);
    for f in x.iter().take(50) {
        assert_eq!(loaded.predict(f).unwrap(), heads.predict(f).unwrap());
    }
    assert_eq!(loaded.training_data_hash(), "0123abcd");
    assert_eq!(loaded.labels(), vec!["gratitude", "frustration", "anger"]);
    loaded.check_encoder("synthetic-32", 12).unwrap();
    let err = loaded.check_encoder("other-encoder", 12).unwrap_err();
    assert!(matches!(err, HeadsError::EncoderMismatch { .. }), "{err}");
    assert!(loaded.check_encoder("synthetic-32", 512).is_err());

    let json = heads.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format"], "escucha-heads");
    assert_eq!(value["version"], FORMAT_VERSION);
    assert_eq!(value["encoder"]["dimension"], 12);
    assert_eq!(value["labels"][2], "anger");
    assert!(value["heads"][0]["platt"]["a"].is_f64());
    assert!(value["heads"][0]["threshold"].is_f64());

    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        Heads::from_json(&v.to_string()).unwrap_err()
    };
    let err = edit(&|v| v["version"] = 2.into());
    assert!(
        matches!(err, HeadsError::UnsupportedVersion { found: 2, .. }),
        "{err}"
    );
    let err = edit(&|v| v["format"] = "something-else".into());
    assert!(
        err.to_string().contains("expected `escucha-heads`"),
        "{err}"
    );
    let err = edit(&|v| v["encoder"]["dimension"] = 13.into());
    assert!(err.to_string().contains("13"), "{err}");
    let err = edit(&|v| v["heads"][1]["weights"].as_array_mut().unwrap().truncate(5));
    assert!(err.to_string().contains("has 5 weights"), "{err}");
    let err = edit(&|v| v["labels"][0] = "relief".into());
    assert!(err.to_string().contains("does not match"), "{err}");
    let err = edit(&|v| v["heads"][0]["threshold"] = 1.5.into());
    assert!(err.to_string().contains("outside [0, 1]"), "{err}");
    let err = edit(&|v| v["standardizer"]["scale"][0] = 0.0.into());
    assert!(err.to_string().contains("non-positive scales"), "{err}");
    assert!(Heads::from_json("not json").is_err());
    assert!(matches!(
        Heads::load("/nonexistent/heads.json"),
        Err(HeadsError::Io { .. })
    ));
}

#[test]
fn predictions_cover_every_label_with_valid_probabilities() {
    let problem = Problem::new(12, 3);
    let (x, y) = problem.sample(300, 10, separable);
    let heads = Heads::train(
        &x,
        &y,
        &label_ids(3),
        &provenance(),
        &TrainOptions::default(),
    )
    .unwrap();
    let batch = heads.predict_batch(&x[..20]).unwrap();
    for preds in &batch {
        let labels: Vec<&str> = preds.iter().map(|p| p.label).collect();
        assert_eq!(labels, heads.labels());
        for (p, h) in preds.iter().zip(heads.heads()) {
            assert!((0.0..=1.0).contains(&p.probability));
            assert_eq!(p.decision, f64::from(p.probability) >= h.threshold - 1e-6);
        }
    }
    let err = heads.predict(&[0.0; 11]).unwrap_err();
    assert!(matches!(
        err,
        HeadsError::DimensionMismatch {
            expected: 12,
            actual: 11
        }
    ));
}

#[test]
fn invalid_input_and_options_are_rejected() {
    let x = vec![vec![0.0f32, 1.0]; 10];
    let y = vec![vec![true]; 10];
    let ids = label_ids(1);
    let p = provenance();
    let o = TrainOptions::default();
    let err = |r: Result<Heads, HeadsError>| r.unwrap_err().to_string();

    assert!(err(Heads::train(&[], &[], &ids, &p, &o)).contains("no examples"));
    assert!(err(Heads::train(&x, &y[..9], &ids, &p, &o)).contains("10 feature vectors but 9"));
    let mut ragged = x.clone();
    ragged[3].push(1.0);
    assert!(err(Heads::train(&ragged, &y, &ids, &p, &o)).contains("feature vector 3"));
    let mut nan = x.clone();
    nan[4][0] = f32::NAN;
    assert!(err(Heads::train(&nan, &y, &ids, &p, &o)).contains("non-finite"));
    let dup = vec!["anger".to_string(), "anger".to_string()];
    let y2 = vec![vec![true, false]; 10];
    assert!(err(Heads::train(&x, &y2, &dup, &p, &o)).contains("duplicate label id"));
    assert!(err(Heads::train(&x, &y, &["Bad Id".to_string()], &p, &o)).contains("invalid label"));
    assert!(err(Heads::train(&x[..4], &y[..4], &ids, &p, &o)).contains("at least 6"));
    let bad_folds = TrainOptions {
        calibration: CalibrationSplit::CrossFit { folds: 1 },
        ..o.clone()
    };
    assert!(err(Heads::train(&x, &y, &ids, &p, &bad_folds)).contains("at least 2 folds"));
    let bad_l2 = TrainOptions {
        l2: -1.0,
        ..o.clone()
    };
    assert!(err(Heads::train(&x, &y, &ids, &p, &bad_l2)).contains("l2 must be"));
    let no_encoder = Provenance {
        encoder: " ".into(),
        training_data_hash: String::new(),
    };
    assert!(err(Heads::train(&x, &y, &ids, &no_encoder, &o)).contains("encoder name"));
}

#[test]
fn labels_without_positives_are_never_predicted() {
    let problem = Problem::new(8, 2);
    let (x, mut y) = problem.sample(300, 11, separable);
    for row in &mut y {
        row[1] = false;
    }
    let heads = Heads::train(
        &x,
        &y,
        &label_ids(2),
        &provenance(),
        &TrainOptions::default(),
    )
    .unwrap();
    assert_eq!(heads.heads()[1].threshold, 1.0);
    assert!(x.iter().all(|f| !heads.predict(f).unwrap()[1].decision));
}

/// Production-sized data: 5,000 examples of 512 dimensions and 21 labels.
/// (Training time is a benchmark figure, printed with `--nocapture`, not a
/// test assertion.)
#[test]
fn learns_a_production_sized_problem() {
    let ids: Vec<String> = escucha_core::taxonomy::EMOTIONS
        .iter()
        .chain(escucha_core::taxonomy::THEMES.iter())
        .map(|s| s.to_string())
        .collect();
    let problem = Problem::new(512, ids.len());
    let (x, y) = problem.sample(5000, 12, |k, proj, rng| {
        (proj > 0.8 + (k % 4) as f64 * 0.3) ^ rng.gen_bool(0.01)
    });
    let start = std::time::Instant::now();
    let heads = Heads::train(&x, &y, &ids, &provenance(), &TrainOptions::default()).unwrap();
    let elapsed = start.elapsed();
    let epochs: Vec<usize> = heads.heads().iter().map(|h| h.stats.epochs).collect();
    println!("trained 5000 × 512 × 21 in {elapsed:?}; epochs kept {epochs:?}");
    let (tx, ty) = problem.sample(1000, 13, |k, proj, _| proj > 0.8 + (k % 4) as f64 * 0.3);
    let e = micro_f1(&heads, &tx, &ty);
    let report = heads.calibration_report(&tx, &ty).unwrap();
    println!("{e}");
    println!(
        "ECE calibrated {:.4}, uncalibrated {:.4}",
        report.ece, report.ece_uncalibrated
    );
    // With 512 dimensions and tail labels of about 200 positives the task
    // is hard for any linear model; the bar guards against regressions.
    assert!(e.micro.f1 > 0.65, "{e}");
    assert!(report.ece < report.ece_uncalibrated / 3.0, "{report:?}");
}
