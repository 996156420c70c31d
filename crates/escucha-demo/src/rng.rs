//! Small sampling helpers on top of the seeded generator.

use rand::Rng;

/// The generator behind every random choice: seeded, portable, fast.
pub(crate) type DemoRng = rand_chacha::ChaCha8Rng;

/// A standard normal sample (Box–Muller).
pub(crate) fn normal(rng: &mut DemoRng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Index drawn with probability proportional to `weights`. Falls back to a
/// uniform choice when every weight is zero; `weights` must not be empty.
pub(crate) fn weighted_index(rng: &mut DemoRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if total <= 0.0 {
        return rng.gen_range(0..weights.len());
    }
    let mut x = rng.gen_range(0.0..total);
    for (i, w) in weights.iter().enumerate() {
        if *w <= 0.0 {
            continue;
        }
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn weighted_index_follows_weights_and_skips_zeros() {
        let mut rng = DemoRng::seed_from_u64(7);
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[weighted_index(&mut rng, &[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = counts[2] as f64 / counts[0] as f64;
        assert!((2.7..3.3).contains(&ratio), "ratio {ratio}");
        assert!(weighted_index(&mut rng, &[0.0, 0.0]) < 2);
    }

    #[test]
    fn normal_has_zero_mean_and_unit_spread() {
        let mut rng = DemoRng::seed_from_u64(3);
        let xs: Vec<f64> = (0..20_000).map(|_| normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((0.9..1.1).contains(&var), "variance {var}");
    }
}
