//! A Zipfian sampler over ranks `1..=n`: rank `k` is drawn with probability
//! proportional to `1 / k^s`.
//!
//! It uses rejection-inversion (Hörmann and Derflinger, "Rejection-inversion to
//! generate variates from monotone discrete distributions", 1996), as Apache
//! Commons RNG does: O(1) set-up and O(1) expected time per sample for any key
//! space size and any exponent `s >= 0` (`s = 0` is uniform), with no table of
//! `n` probabilities and no harmonic-number sum.

use rand::Rng;

/// A Zipf distribution over `1..=n` with exponent `s`.
#[derive(Debug, Clone)]
pub struct Zipf {
    n: f64,
    s: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    threshold: f64,
}

impl Zipf {
    /// A sampler over `1..=n` (`n >= 1`) with exponent `s >= 0`.
    ///
    /// # Panics
    /// If `n` is 0 or `s` is negative or not finite.
    pub fn new(n: u64, s: f64) -> Zipf {
        assert!(n >= 1, "a Zipf distribution needs at least one element");
        assert!(s.is_finite() && s >= 0.0, "the Zipf exponent must be >= 0");
        let mut z = Zipf {
            n: n as f64,
            s,
            h_integral_x1: 0.0,
            h_integral_n: 0.0,
            threshold: 0.0,
        };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(z.n + 0.5);
        z.threshold = 2.0 - z.h_integral_inverse(z.h_integral(2.5) - z.h(2.0));
        z
    }

    /// The number of elements.
    pub fn n(&self) -> u64 {
        self.n as u64
    }

    /// Draws a rank in `1..=n`; 1 is the most frequent.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        loop {
            let u =
                self.h_integral_n + rng.random::<f64>() * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inverse(u);
            let k = (x + 0.5).clamp(1.0, self.n).floor();
            if k - x <= self.threshold || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    /// The exact probability of rank `k` (an O(n) sum: for tests and small `n`).
    pub fn probability(&self, k: u64) -> f64 {
        let norm: f64 = (1..=self.n as u64).map(|i| self.h(i as f64)).sum();
        self.h(k as f64) / norm
    }

    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    fn h_integral(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.s) * log_x) * log_x
    }

    fn h_integral_inverse(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }
}

/// `ln(1 + x) / x`, accurate near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// `(e^x - 1) / x`, accurate near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn histogram(n: u64, s: f64, draws: usize, seed: u64) -> Vec<u64> {
        let z = Zipf::new(n, s);
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut counts = vec![0u64; n as usize + 1];
        for _ in 0..draws {
            let k = z.sample(&mut rng);
            assert!((1..=n).contains(&k), "rank {k} out of 1..={n}");
            counts[k as usize] += 1;
        }
        counts
    }

    #[test]
    fn matches_the_exact_distribution() {
        for &s in &[0.5, 0.99, 1.0, 1.2] {
            let n = 1000;
            let draws = 400_000;
            let counts = histogram(n, s, draws, 7);
            let z = Zipf::new(n, s);
            // The head ranks carry most of the mass: each within 5 standard deviations.
            for k in 1..=20u64 {
                let p = z.probability(k);
                let expected = p * draws as f64;
                let sd = (draws as f64 * p * (1.0 - p)).sqrt();
                let got = counts[k as usize] as f64;
                assert!(
                    (got - expected).abs() < 5.0 * sd + 1.0,
                    "s={s} rank {k}: got {got}, expected {expected:.0} ± {sd:.0}"
                );
            }
            // And the whole distribution: a chi-square statistic in range (df = 999).
            let chi2: f64 = (1..=n)
                .map(|k| {
                    let e = z.probability(k) * draws as f64;
                    let d = counts[k as usize] as f64 - e;
                    d * d / e
                })
                .sum();
            assert!(
                chi2 < 1200.0,
                "s={s}: chi-square {chi2:.0} for 999 degrees of freedom"
            );
        }
    }

    #[test]
    fn zero_skew_is_uniform() {
        let n = 100;
        let draws = 200_000;
        let counts = histogram(n, 0.0, draws, 3);
        let e = draws as f64 / n as f64;
        for (k, &c) in counts.iter().enumerate().skip(1) {
            assert!(
                (c as f64 - e).abs() < 5.0 * e.sqrt(),
                "rank {k}: {c} vs {e}"
            );
        }
    }

    #[test]
    fn skew_0_99_over_a_million_keys_is_heavily_skewed() {
        let n = 1_000_000;
        let draws = 200_000;
        let z = Zipf::new(n, 0.99);
        let mut rng = SmallRng::seed_from_u64(11);
        let mut top = 0usize;
        let mut max = 0;
        for _ in 0..draws {
            let k = z.sample(&mut rng);
            assert!((1..=n).contains(&k));
            max = max.max(k);
            if k <= n / 100 {
                top += 1;
            }
        }
        // With s = 0.99 over 1M keys the hottest 1% of keys draw about 2/3 of the
        // accesses (H(10^4)/H(10^6) ≈ 0.67), yet the tail is reached.
        let share = top as f64 / draws as f64;
        assert!((0.6..0.75).contains(&share), "top 1% share {share}");
        assert!(max > n / 2, "the tail is never drawn (max {max})");
    }

    #[test]
    fn single_element() {
        let z = Zipf::new(1, 0.99);
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..100 {
            assert_eq!(z.sample(&mut rng), 1);
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        assert_eq!(
            histogram(500, 0.99, 10_000, 5),
            histogram(500, 0.99, 10_000, 5)
        );
    }
}
