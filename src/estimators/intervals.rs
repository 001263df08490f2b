//! Confidence intervals for estimators' means of round-wise values: the normal
//! approximation (mean +- z sd / sqrt(n), sd with ddof = 1) and the percentile (Poisson)
//! bootstrap with a seeded RNG, resamples shared by every estimator, computed in one pass
//! over chunks with derived streams, so results do not depend on the number of threads.

use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::analysis::stats;
use crate::core::rng::{SimRng, derive_seed};

fn z(alpha: f64) -> f64 {
    Normal::new(0.0, 1.0).map_or(1.959_963_984_540_054, |n| n.inverse_cdf(1.0 - alpha / 2.0))
}

/// Normal-approximation (1 - alpha) interval of the mean of `values`.
pub fn normal_interval(values: &[f64], alpha: f64) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = stats::mean(values);
    let half = z(alpha) * (stats::variance(values) / values.len() as f64).sqrt();
    (mean - half, mean + half)
}

/// Rows per bootstrap chunk: each chunk has its own derived random stream, so results do
/// not depend on the number of threads.
const CHUNK: usize = 1 << 16;

/// Poisson(1) draw from a uniform 32-bit value (inverse CDF, capped at 8).
#[inline]
fn poisson_one(u: u32) -> f64 {
    // Cumulative P(X <= k) for Poisson(1), k = 0..7, scaled to 2^32.
    const CDF: [u64; 8] = [
        1_580_030_168,
        3_160_060_337,
        3_950_075_421,
        4_213_413_783,
        4_279_248_373,
        4_292_415_291,
        4_294_609_777,
        4_294_923_276,
    ];
    let u = u as u64;
    CDF.iter().position(|&c| u < c).unwrap_or(8) as f64
}

/// Percentile-bootstrap (1 - alpha) intervals of the means of several value vectors of the
/// same length, with `resamples` resamples shared by all vectors. It is the Poisson
/// bootstrap: in each resample every round appears Poisson(1) times, the standard
/// one-pass approximation of drawing n rounds with replacement (obp draws n rounds; the
/// intervals agree up to resampling noise). One pass over the data, chunked and seeded.
pub fn bootstrap_intervals(columns: &[&[f64]], resamples: usize, seed: u64, alpha: f64) -> Vec<(f64, f64)> {
    let n = columns.first().map_or(0, |c| c.len());
    let e = columns.len();
    if n == 0 || resamples == 0 {
        return vec![(f64::NAN, f64::NAN); e];
    }
    let chunks = n.div_ceil(CHUNK);
    // Per chunk: sums[b * (e + 1) + j] (j = e holds the total count).
    let width = e + 1;
    let partial: Vec<Vec<f64>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut rng = SimRng::new(derive_seed(seed, crate::core::rng::Stream::Round, c as u64));
            let mut sums = vec![0.0; resamples * width];
            let mut row = vec![0.0; e];
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                for (r, col) in row.iter_mut().zip(columns) {
                    *r = col[i];
                }
                let mut b = 0;
                while b < resamples {
                    let bits = rng.next_u64();
                    for u in [bits as u32, (bits >> 32) as u32] {
                        if b == resamples {
                            break;
                        }
                        let w = poisson_one(u);
                        if w > 0.0 {
                            let acc = &mut sums[b * width..(b + 1) * width];
                            for (a, v) in acc.iter_mut().zip(&row) {
                                *a += w * v;
                            }
                            acc[e] += w;
                        }
                        b += 1;
                    }
                }
            }
            sums
        })
        .collect();
    let mut totals = vec![0.0; resamples * width];
    for p in &partial {
        for (t, v) in totals.iter_mut().zip(p) {
            *t += v;
        }
    }
    (0..e)
        .map(|j| {
            let mut m: Vec<f64> = (0..resamples)
                .map(|b| totals[b * width + j] / totals[b * width + e].max(1.0))
                .collect();
            m.sort_by(f64::total_cmp);
            (quantile(&m, alpha / 2.0), quantile(&m, 1.0 - alpha / 2.0))
        })
        .collect()
}

/// The bootstrap interval of one value vector.
pub fn bootstrap_interval(values: &[f64], resamples: usize, seed: u64, alpha: f64) -> (f64, f64) {
    bootstrap_intervals(&[values], resamples, seed, alpha)[0]
}

/// Linear-interpolation quantile of sorted data (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_interval_by_hand() {
        let (lo, hi) = normal_interval(&[1.0, 2.0, 3.0, 4.0], 0.05);
        // mean 2.5, sd 1.2909944, se 0.6454972, z 1.959964
        assert!((lo - (2.5 - 1.959_963_984_540_054 * 0.645_497_224_367_902_8)).abs() < 1e-9);
        assert!((hi + lo - 5.0).abs() < 1e-12);
    }

    #[test]
    fn poisson_draws_have_mean_and_variance_one() {
        let mut rng = SimRng::new(9);
        let draws: Vec<f64> = (0..200_000).map(|_| poisson_one(rng.next_u64() as u32)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 1.0).abs() < 0.01 && (var - 1.0).abs() < 0.02, "{mean} {var}");
    }

    #[test]
    fn bootstrap_is_seeded_and_covers_the_mean() {
        let values: Vec<f64> = (0..500).map(|i| (i % 7) as f64).collect();
        let a = bootstrap_interval(&values, 200, 3, 0.05);
        assert_eq!(a, bootstrap_interval(&values, 200, 3, 0.05));
        let mean = values.iter().sum::<f64>() / 500.0;
        assert!(a.0 < mean && mean < a.1, "{a:?} {mean}");
        let n = normal_interval(&values, 0.05);
        assert!((a.0 - n.0).abs() < 0.1 && (a.1 - n.1).abs() < 0.1, "{a:?} vs {n:?}");
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.25), 1.5);
    }
}
