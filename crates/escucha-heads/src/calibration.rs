//! Probability calibration: Platt scaling, F1-optimal decision thresholds and
//! the expected calibration error.

use crate::linear::{sigmoid, softplus};
use serde::{Deserialize, Serialize};

/// Number of equal-width bins of [`expected_calibration_error`].
pub const ECE_BINS: usize = 10;

/// Platt scaling: `p = sigmoid(a * logit + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Platt {
    /// The transform that leaves `sigmoid(logit)` unchanged.
    pub const IDENTITY: Platt = Platt { a: 1.0, b: 0.0 };

    /// Calibrated probability of a raw logit.
    pub fn probability(&self, logit: f64) -> f64 {
        sigmoid(self.a * logit + self.b)
    }

    /// Fits `a` and `b` by maximum likelihood on held-out `(logit, outcome)`
    /// pairs, with Platt's smoothed targets (`(P+1)/(P+2)` for positives and
    /// `1/(N+2)` for negatives) so that the fit stays finite on separable
    /// data and on labels without positives. Newton's method with
    /// backtracking on the two parameters.
    pub fn fit(logits: &[f64], outcomes: &[bool]) -> Platt {
        assert_eq!(logits.len(), outcomes.len(), "one outcome per logit");
        let pos = outcomes.iter().filter(|&&o| o).count() as f64;
        let neg = outcomes.len() as f64 - pos;
        let hi = (pos + 1.0) / (pos + 2.0);
        let lo = 1.0 / (neg + 2.0);
        let targets: Vec<f64> = outcomes.iter().map(|&o| if o { hi } else { lo }).collect();

        let objective = |a: f64, b: f64| -> f64 {
            logits
                .iter()
                .zip(&targets)
                .map(|(&s, &t)| {
                    let z = a * s + b;
                    softplus(z) - t * z
                })
                .sum()
        };

        let mut a = 0.0;
        let mut b = ((pos + 1.0) / (neg + 1.0)).ln();
        let mut f = objective(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb) = (0.0, 0.0);
            let (mut haa, mut hab, mut hbb) = (1e-12, 0.0, 1e-12);
            for (&s, &t) in logits.iter().zip(&targets) {
                let p = sigmoid(a * s + b);
                let r = p - t;
                let q = p * (1.0 - p);
                ga += r * s;
                gb += r;
                haa += q * s * s;
                hab += q * s;
                hbb += q;
            }
            if ga.abs() < 1e-9 && gb.abs() < 1e-9 {
                break;
            }
            let det = haa * hbb - hab * hab;
            if det <= 0.0 || !det.is_finite() {
                break;
            }
            let da = -(hbb * ga - hab * gb) / det;
            let db = -(haa * gb - hab * ga) / det;
            let slope = ga * da + gb * db;
            let mut step = 1.0;
            let mut accepted = false;
            while step >= 1e-10 {
                let (na, nb) = (a + step * da, b + step * db);
                let nf = objective(na, nb);
                if nf <= f + 1e-4 * step * slope {
                    a = na;
                    b = nb;
                    f = nf;
                    accepted = true;
                    break;
                }
                step /= 2.0;
            }
            if !accepted {
                break;
            }
        }
        Platt { a, b }
    }
}

/// Expected calibration error with [`ECE_BINS`] equal-width bins: the mean,
/// over bins weighted by their share of predictions, of the gap between the
/// mean predicted probability and the observed frequency of the outcome.
/// 0 for no predictions.
pub fn expected_calibration_error(probabilities: &[f64], outcomes: &[bool]) -> f64 {
    expected_calibration_error_bins(probabilities, outcomes, ECE_BINS)
}

/// [`expected_calibration_error`] with `bins` bins (at least one). Bin `i`
/// holds probabilities in `[i/bins, (i+1)/bins)`, the last bin includes 1.
pub fn expected_calibration_error_bins(
    probabilities: &[f64],
    outcomes: &[bool],
    bins: usize,
) -> f64 {
    assert_eq!(
        probabilities.len(),
        outcomes.len(),
        "one outcome per probability"
    );
    if probabilities.is_empty() {
        return 0.0;
    }
    let bins = bins.max(1);
    let mut sum_p = vec![0f64; bins];
    let mut sum_y = vec![0f64; bins];
    for (&p, &y) in probabilities.iter().zip(outcomes) {
        let p = p.clamp(0.0, 1.0);
        let bin = ((p * bins as f64) as usize).min(bins - 1);
        sum_p[bin] += p;
        sum_y[bin] += if y { 1.0 } else { 0.0 };
    }
    // Σ_b (n_b / N) · |mean_p(b) − mean_y(b)| = Σ_b |Σp − Σy| / N.
    sum_p
        .iter()
        .zip(&sum_y)
        .map(|(p, y)| (p - y).abs())
        .sum::<f64>()
        / probabilities.len() as f64
}

/// The decision threshold `t` (predict the label when `p >= t`) that
/// maximises F1 on `(probability, outcome)` pairs, and that F1. Thresholds
/// fall midway between consecutive distinct probabilities, so they do not
/// sit on a training score; on ties of F1 the higher threshold wins. With
/// no positives the threshold is 1 and the F1 is 0.
pub fn best_f1_threshold(probabilities: &[f64], outcomes: &[bool]) -> (f64, f64) {
    assert_eq!(
        probabilities.len(),
        outcomes.len(),
        "one outcome per probability"
    );
    let positives = outcomes.iter().filter(|&&o| o).count() as f64;
    if positives == 0.0 {
        return (1.0, 0.0);
    }
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&i, &j| probabilities[j].total_cmp(&probabilities[i]));

    let (mut tp, mut fp) = (0.0, 0.0);
    let (mut best_f1, mut best_t) = (0.0, 1.0);
    let mut idx = 0;
    while idx < order.len() {
        let p = probabilities[order[idx]];
        while idx < order.len() && probabilities[order[idx]] == p {
            if outcomes[order[idx]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            idx += 1;
        }
        // F1 = 2TP / (2TP + FP + FN), with FN = positives − TP.
        let f1 = 2.0 * tp / (tp + fp + positives);
        if f1 > best_f1 {
            best_f1 = f1;
            best_t = match order.get(idx) {
                Some(&next) => (p + probabilities[next]) / 2.0,
                None => p,
            };
        }
    }
    (best_t.clamp(0.0, 1.0), best_f1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_on_hand_computed_bins() {
        // Bin [0.1, 0.2): p = 0.1, 0.1, outcomes 0, 1 → |0.2 − 1| = 0.8.
        // Bin [0.9, 1.0]: p = 0.9, 1.0, outcomes 1, 1 → |1.9 − 2| = 0.1.
        // ECE = (0.8 + 0.1) / 4 = 0.225.
        let p = [0.1, 0.1, 0.9, 1.0];
        let y = [false, true, true, true];
        assert!((expected_calibration_error(&p, &y) - 0.225).abs() < 1e-12);
        // Perfectly calibrated within bins → 0.
        let p = [0.25, 0.25, 0.25, 0.25];
        let y = [true, false, false, false];
        assert!(expected_calibration_error(&p, &y).abs() < 1e-12);
        assert_eq!(expected_calibration_error(&[], &[]), 0.0);
    }

    #[test]
    fn threshold_maximises_f1() {
        // Sorted: 0.9 (+), 0.8 (+), 0.7 (−), 0.6 (+), 0.2 (−), P = 3.
        // Cut after 0.9: F1 = 2/(1+0+3) = 0.5; after 0.8: 4/5 = 0.8;
        // after 0.7: 4/6; after 0.6: 6/7 = 0.857 (best); after 0.2: 6/8.
        let p = [0.7, 0.9, 0.2, 0.6, 0.8];
        let y = [false, true, false, true, true];
        let (t, f1) = best_f1_threshold(&p, &y);
        assert!((t - 0.4).abs() < 1e-12, "{t}");
        assert!((f1 - 6.0 / 7.0).abs() < 1e-12);
        assert_eq!(best_f1_threshold(&[0.3, 0.4], &[false, false]), (1.0, 0.0));
        // Ties are decided together.
        let (t, f1) = best_f1_threshold(&[0.5, 0.5, 0.1], &[true, false, false]);
        assert!((t - 0.3).abs() < 1e-12 && (f1 - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn platt_recovers_a_known_calibration_map() {
        // Outcomes drawn so that P(y | s) = sigmoid(0.5 s − 1) exactly in
        // expectation: for each s, 1000 copies with the right share positive.
        let mut logits = Vec::new();
        let mut outcomes = Vec::new();
        for s10 in -40..=40 {
            let s = f64::from(s10) / 4.0;
            let p = sigmoid(0.5 * s - 1.0);
            let positives = (p * 1000.0).round() as usize;
            for j in 0..1000 {
                logits.push(s);
                outcomes.push(j < positives);
            }
        }
        let platt = Platt::fit(&logits, &outcomes);
        assert!((platt.a - 0.5).abs() < 0.01, "{platt:?}");
        assert!((platt.b + 1.0).abs() < 0.01, "{platt:?}");
    }

    #[test]
    fn platt_stays_finite_on_degenerate_data() {
        let separable = Platt::fit(&[-2.0, -1.0, 1.0, 2.0], &[false, false, true, true]);
        assert!(separable.a.is_finite() && separable.a > 0.0);
        assert!(separable.probability(2.0) < 1.0);
        let none = Platt::fit(&[-1.0, 0.0, 1.0], &[false, false, false]);
        assert!(none.probability(0.0) < 0.3, "{none:?}");
        let empty = Platt::fit(&[], &[]);
        assert!(empty.a.is_finite() && empty.b.is_finite());
    }
}
