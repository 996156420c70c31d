//! One-vs-rest logistic regression: feature standardisation, the numeric
//! kernels and the full-batch accelerated gradient trainer with per-label
//! early stopping.

use serde::{Deserialize, Serialize};

/// Per-feature affine transform to zero mean and unit variance, fitted on
/// training features and applied unchanged at prediction time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    pub mean: Vec<f32>,
    /// Standard deviation per feature; 1 for constant features.
    pub scale: Vec<f32>,
}

impl Standardizer {
    /// Fits on `rows` (all of the same, non-zero length).
    pub fn fit(rows: &[Vec<f32>]) -> Standardizer {
        let d = rows.first().map_or(0, Vec::len);
        let n = rows.len().max(1) as f64;
        let mut sum = vec![0f64; d];
        for r in rows {
            for (s, &x) in sum.iter_mut().zip(r) {
                *s += f64::from(x);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let mut var = vec![0f64; d];
        for r in rows {
            for ((v, &x), m) in var.iter_mut().zip(r).zip(&mean) {
                let c = f64::from(x) - m;
                *v += c * c;
            }
        }
        let scale = var
            .iter()
            .map(|v| {
                let sd = (v / n).sqrt();
                if sd > 1e-8 {
                    sd as f32
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale,
        }
    }

    pub fn dimension(&self) -> usize {
        self.mean.len()
    }

    /// Writes the standardised `x` into `out` (same length).
    pub fn transform_into(&self, x: &[f32], out: &mut [f32]) {
        for (((o, &v), &m), &s) in out.iter_mut().zip(x).zip(&self.mean).zip(&self.scale) {
            *o = (v - m) / s;
        }
    }
}

/// Dense row-major matrix of standardised features.
pub(crate) struct Matrix {
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn standardized(rows: &[Vec<f32>], st: &Standardizer) -> Matrix {
        let cols = st.dimension();
        let mut data = vec![0f32; rows.len() * cols];
        for (r, out) in rows.iter().zip(data.chunks_exact_mut(cols.max(1))) {
            st.transform_into(r, out);
        }
        Matrix { cols, data }
    }

    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// Dot product with eight independent accumulators, so that the compiler
/// can keep the loop in SIMD registers.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut acc = [0f32; 8];
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `y += a * x`.
#[inline]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[inline]
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow.
#[inline]
pub(crate) fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// Hyperparameters of one fit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FitConfig {
    pub l2: f64,
    pub max_epochs: usize,
    pub patience: usize,
    pub class_balanced: bool,
}

/// Weights of `labels` linear models over `cols` standardised features.
#[derive(Debug, Clone)]
pub(crate) struct LinearModels {
    pub cols: usize,
    /// `labels × cols`, row-major.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// Epoch whose weights were kept, per label.
    pub epochs: Vec<usize>,
}

impl LinearModels {
    pub fn labels(&self) -> usize {
        self.bias.len()
    }

    pub fn weights_of(&self, k: usize) -> &[f32] {
        &self.weights[k * self.cols..(k + 1) * self.cols]
    }

    /// Raw logits of `rows`, `rows.len() × labels`, row-major.
    pub fn logits(&self, x: &Matrix, rows: &[usize]) -> Vec<f32> {
        let l = self.labels();
        let mut out = vec![0f32; rows.len() * l];
        for (o, &i) in out.chunks_exact_mut(l.max(1)).zip(rows) {
            let xi = x.row(i);
            for (k, ok) in o.iter_mut().enumerate() {
                *ok = dot(xi, self.weights_of(k)) + self.bias[k];
            }
        }
        out
    }
}

/// Per-example weights of positives and negatives for one label, and their
/// total over the training rows (the loss normaliser).
#[derive(Debug, Clone, Copy)]
struct ClassWeights {
    pos: f64,
    neg: f64,
    total: f64,
}

impl ClassWeights {
    /// `(target, weight / total)` of a row.
    #[inline]
    fn of(&self, positive: bool) -> (f64, f64) {
        if positive {
            (1.0, self.pos / self.total)
        } else {
            (0.0, self.neg / self.total)
        }
    }
}

fn class_weights(
    y: &[Vec<bool>],
    rw: &[f32],
    rows: &[usize],
    k: usize,
    balanced: bool,
) -> ClassWeights {
    let (mut pos, mut neg) = (0f64, 0f64);
    for &i in rows {
        if y[i][k] {
            pos += f64::from(rw[i]);
        } else {
            neg += f64::from(rw[i]);
        }
    }
    let n = pos + neg;
    if balanced && pos > 0.0 && neg > 0.0 {
        // Each class contributes half of the total weight `n`.
        ClassWeights {
            pos: n / (2.0 * pos),
            neg: n / (2.0 * neg),
            total: n,
        }
    } else {
        ClassWeights {
            pos: 1.0,
            neg: 1.0,
            total: n.max(1.0),
        }
    }
}

/// A validation loss must improve by this much to count as better.
const MIN_IMPROVEMENT: f64 = 1e-6;
/// Power-iteration steps of the curvature estimate.
const POWER_ITERATIONS: usize = 20;
/// Margin on the estimated curvature (power iteration approaches the
/// largest eigenvalue from below).
const CURVATURE_MARGIN: f64 = 1.1;

/// For each label, an upper estimate of the largest eigenvalue of the
/// Hessian bound `¼·Σ_i (c_i / C)·x̃_i x̃_iᵀ` of its weighted log-loss, where
/// `x̃_i` is row `i` extended with a constant 1 for the bias. This is the
/// Lipschitz constant of the gradient (before L2) that fixes a safe step.
/// All labels are estimated together, one pass over the rows per step.
fn curvature(
    x: &Matrix,
    y: &[Vec<bool>],
    rw: &[f32],
    rows: &[usize],
    cw: &[ClassWeights],
) -> Vec<f64> {
    let d = x.cols;
    let l = cw.len();
    let stride = d + 1;
    // A fixed start with components of varying size and sign.
    let mut v: Vec<f32> = (0..l * stride)
        .map(|j| (((j % stride) * 7919 % 1009) as f32 / 1009.0) - 0.45)
        .collect();
    let mut out = vec![0f32; l * stride];
    let mut lambda = vec![0f64; l];
    for _ in 0..POWER_ITERATIONS {
        for k in 0..l {
            let vk = &mut v[k * stride..(k + 1) * stride];
            let norm = vk.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
            if norm > 0.0 {
                vk.iter_mut()
                    .for_each(|a| *a = (f64::from(*a) / norm) as f32);
            }
        }
        out.fill(0.0);
        for &i in rows {
            let xi = x.row(i);
            for k in 0..l {
                let vk = &v[k * stride..(k + 1) * stride];
                let u = f64::from(dot(xi, &vk[..d]) + vk[d]);
                let (_, c) = cw[k].of(y[i][k]);
                let a = 0.25 * c * f64::from(rw[i]) * u;
                let ok = &mut out[k * stride..(k + 1) * stride];
                axpy(a as f32, xi, &mut ok[..d]);
                ok[d] += a as f32;
            }
        }
        for (k, lk) in lambda.iter_mut().enumerate() {
            // `v` has unit norm, so ‖Mv‖ approaches the largest eigenvalue.
            *lk = out[k * stride..(k + 1) * stride]
                .iter()
                .map(|a| f64::from(*a).powi(2))
                .sum::<f64>()
                .sqrt();
        }
        std::mem::swap(&mut v, &mut out);
    }
    lambda.into_iter().map(|l| l * CURVATURE_MARGIN).collect()
}

/// Trains one logistic regression per label on `train_rows`: class
/// weights, L2 on the weights (not the bias), full-batch Nesterov
/// accelerated gradient descent from zero with step `1/L` (`L` the
/// curvature bound of [`curvature`] plus the L2 strength) and
/// gradient-based adaptive restart. Because steps follow the gradient's
/// own scale, directions without signal grow slowly, which is what makes
/// early stopping an effective regulariser in high dimension.
///
/// Each label stops on its own when its weighted validation log-loss on
/// `val_rows` has not improved for `patience` epochs, keeping the weights
/// of its best epoch. Without validation rows every label runs
/// `max_epochs`. Deterministic: no randomness, fixed summation order.
pub(crate) fn fit(
    x: &Matrix,
    y: &[Vec<bool>],
    rw: &[f32],
    train_rows: &[usize],
    val_rows: &[usize],
    cfg: &FitConfig,
) -> LinearModels {
    let d = x.cols;
    let stride = d + 1; // weights, then bias
    let l = y.first().map_or(0, Vec::len);
    let cw: Vec<ClassWeights> = (0..l)
        .map(|k| class_weights(y, rw, train_rows, k, cfg.class_balanced))
        .collect();
    let step: Vec<f32> = curvature(x, y, rw, train_rows, &cw)
        .into_iter()
        .map(|c| (1.0 / (c + cfg.l2).max(1e-12)) as f32)
        .collect();

    // Iterates, previous iterates and look-ahead points, `labels × stride`.
    let mut w = vec![0f32; l * stride];
    let mut w_prev = w.clone();
    let mut look = w.clone();
    let mut momentum = vec![1f64; l];
    let mut grad = vec![0f32; l * stride];

    let mut best = w.clone();
    let mut best_loss = vec![f64::INFINITY; l];
    let mut best_epoch = vec![0usize; l];
    let mut active: Vec<usize> = (0..l).collect();

    for epoch in 1..=cfg.max_epochs {
        if active.is_empty() {
            break;
        }
        for &k in &active {
            grad[k * stride..(k + 1) * stride].fill(0.0);
        }
        for &i in train_rows {
            let xi = x.row(i);
            for &k in &active {
                let yk = &look[k * stride..(k + 1) * stride];
                let z = f64::from(dot(xi, &yk[..d]) + yk[d]);
                let (target, c) = cw[k].of(y[i][k]);
                let r = (c * f64::from(rw[i]) * (sigmoid(z) - target)) as f32;
                let gk = &mut grad[k * stride..(k + 1) * stride];
                axpy(r, xi, &mut gk[..d]);
                gk[d] += r;
            }
        }

        let l2 = cfg.l2 as f32;
        for &k in &active {
            let range = k * stride..(k + 1) * stride;
            let eta = step[k];
            // Gradient step from the look-ahead point.
            let mut restart = 0f64;
            for j in range.clone() {
                let g = grad[j] + if j % stride < d { l2 * look[j] } else { 0.0 };
                let next = look[j] - eta * g;
                restart += f64::from(g) * f64::from(next - w[j]);
                w_prev[j] = w[j];
                w[j] = next;
            }
            // Restart the momentum when it points uphill.
            let t = if restart > 0.0 { 1.0 } else { momentum[k] };
            let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
            let beta = ((t - 1.0) / t_next) as f32;
            momentum[k] = t_next;
            for j in range {
                look[j] = w[j] + beta * (w[j] - w_prev[j]);
            }
        }

        if val_rows.is_empty() {
            for &k in &active {
                best_epoch[k] = epoch;
            }
            best.copy_from_slice(&w);
            continue;
        }
        let val_loss = weighted_log_loss(x, y, rw, val_rows, &w, &cw, &active);
        active.retain(|&k| {
            if val_loss[k] < best_loss[k] - MIN_IMPROVEMENT {
                best_loss[k] = val_loss[k];
                best_epoch[k] = epoch;
                best[k * stride..(k + 1) * stride]
                    .copy_from_slice(&w[k * stride..(k + 1) * stride]);
                true
            } else {
                epoch - best_epoch[k] < cfg.patience
            }
        });
    }

    let mut weights = Vec::with_capacity(l * d);
    let mut bias = Vec::with_capacity(l);
    for k in 0..l {
        weights.extend_from_slice(&best[k * stride..k * stride + d]);
        bias.push(best[k * stride + d]);
    }
    LinearModels {
        cols: d,
        weights,
        bias,
        epochs: best_epoch,
    }
}

/// Class-weighted mean log-loss of each label in `labels` over `rows`, for
/// parameters laid out as in [`fit`] (entries of other labels stay zero).
fn weighted_log_loss(
    x: &Matrix,
    y: &[Vec<bool>],
    rw: &[f32],
    rows: &[usize],
    params: &[f32],
    cw: &[ClassWeights],
    labels: &[usize],
) -> Vec<f64> {
    let d = x.cols;
    let stride = d + 1;
    let mut loss = vec![0f64; cw.len()];
    let mut total = vec![0f64; cw.len()];
    for &i in rows {
        let xi = x.row(i);
        for &k in labels {
            let p = &params[k * stride..(k + 1) * stride];
            let z = f64::from(dot(xi, &p[..d]) + p[d]);
            let (target, c) = cw[k].of(y[i][k]);
            let c = c * f64::from(rw[i]);
            loss[k] += c * (softplus(z) - target * z);
            total[k] += c;
        }
    }
    loss.iter()
        .zip(&total)
        .map(|(l, t)| if *t > 0.0 { l / t } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_sum_for_all_remainders() {
        for n in [0usize, 1, 7, 8, 9, 17, 512] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            assert!((f64::from(dot(&a, &b)) - naive).abs() < 1e-4, "n = {n}");
        }
    }

    #[test]
    fn sigmoid_and_softplus_are_stable() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(800.0) == 1.0 && sigmoid(-800.0) == 0.0);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-12);
        assert!((softplus(800.0) - 800.0).abs() < 1e-9);
        assert!(softplus(-800.0) >= 0.0 && softplus(-800.0) < 1e-300);
    }

    #[test]
    fn standardizer_centres_and_scales() {
        let rows = vec![vec![1.0, 5.0], vec![3.0, 5.0]];
        let st = Standardizer::fit(&rows);
        assert_eq!(st.mean, vec![2.0, 5.0]);
        assert_eq!(st.scale, vec![1.0, 1.0]); // sd of [1, 3] is 1; constant → 1
        let mut out = [0f32; 2];
        st.transform_into(&[3.0, 7.0], &mut out);
        assert_eq!(out, [1.0, 2.0]);
    }

    #[test]
    fn fit_separates_a_one_dimensional_problem_and_stops_early() {
        // y = x > 0.5 on a grid with every ninth label flipped, so that the
        // loss has a finite optimum; validation on interleaved points.
        let rows: Vec<Vec<f32>> = (0..200).map(|i| vec![i as f32 / 200.0]).collect();
        let clean: Vec<bool> = rows.iter().map(|r| r[0] > 0.5).collect();
        let y: Vec<Vec<bool>> = clean
            .iter()
            .enumerate()
            .map(|(i, &c)| vec![c ^ (i % 9 == 0)])
            .collect();
        let st = Standardizer::fit(&rows);
        let x = Matrix::standardized(&rows, &st);
        let train: Vec<usize> = (0..200).filter(|i| i % 5 != 0).collect();
        let val: Vec<usize> = (0..200).filter(|i| i % 5 == 0).collect();
        let cfg = FitConfig {
            l2: 1e-4,
            max_epochs: 2000,
            patience: 20,
            class_balanced: true,
        };
        let m = fit(&x, &y, &vec![1.0; y.len()], &train, &val, &cfg);
        let z = m.logits(&x, &(0..200).collect::<Vec<_>>());
        let correct = z
            .iter()
            .zip(&clean)
            .filter(|(z, c)| (**z > 0.0) == **c)
            .count();
        assert!(correct >= 190, "{correct}/200");
        assert!(m.weights[0] > 0.0);
        assert!(m.epochs[0] > 0 && m.epochs[0] < 2000, "{:?}", m.epochs);
    }
}
