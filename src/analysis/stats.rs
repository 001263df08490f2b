//! Descriptive and inferential statistics: means with t intervals, Wilson and normal
//! intervals for proportions, Welch's two-sample t-test, Cohen's d, Pearson correlation
//! and Bonferroni correction. Reference values in the tests come from SciPy 1.x.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

pub use crate::core::descriptive::{mean, pearson, variance};

/// Wilson score interval for `successes` out of `n` at normal quantile `z`.
/// Returns (0, 0) for n = 0.
///
/// ```
/// use mechsim::analysis::stats::{Z95, wilson_interval};
/// let (low, high) = wilson_interval(30, 100, Z95);
/// assert!((low - 0.2189).abs() < 1e-4 && (high - 0.3958).abs() < 1e-4);
/// ```
pub fn wilson_interval(successes: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = p + z2 / (2.0 * n_f);
    let margin = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    (
        ((centre - margin) / denom).max(0.0),
        ((centre + margin) / denom).min(1.0),
    )
}

/// Normal-approximation (Wald) interval for a proportion, clamped to [0, 1] (the study's).
pub fn normal_proportion_interval(successes: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let p = successes as f64 / n as f64;
    let half = z * (p * (1.0 - p) / n as f64).sqrt();
    ((p - half).max(0.0), (p + half).min(1.0))
}

/// Two-sided 95% t interval for the mean; degenerate (mean, mean) below two values.
pub fn mean_interval(xs: &[f64]) -> (f64, f64) {
    let m = mean(xs);
    if xs.len() < 2 {
        return (m, m);
    }
    let se = (variance(xs) / xs.len() as f64).sqrt();
    let q = students_t_quantile_975((xs.len() - 1) as f64);
    (m - q * se, m + q * se)
}

/// The largest magnitude the tests and intervals accept as data: squares of larger values
/// overflow a variance. Readers of user files refuse values beyond it.
pub const MAX_MAGNITUDE: f64 = 1e150;

/// The 97.5% quantile of Student's t with `df` degrees of freedom (the normal one when `df`
/// is not a positive finite number).
pub(crate) fn students_t_quantile_975(df: f64) -> f64 {
    if !(df.is_finite() && df > 0.0) {
        return Z95;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(0.975),
        Err(_) => Z95,
    }
}

/// The two-sided p-value of `t` under Student's t with `df` degrees of freedom: 0 for an
/// infinite `t`, NaN for a NaN one, the normal's when `df` is not a positive finite number.
/// (statrs panics on a NaN argument; nothing reaches it here.)
pub(crate) fn two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let lower = match StudentsT::new(0.0, 1.0, df).ok().filter(|_| df.is_finite() && df > 0.0) {
        Some(dist) => dist.cdf(-t.abs()),
        None => Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.cdf(-t.abs())),
    };
    (2.0 * lower).clamp(0.0, 1.0)
}

/// Result of Welch's unequal-variance t-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// The t statistic (mean a - mean b over its standard error).
    pub t: f64,
    /// Welch-Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Welch's two-sample t-test (two-sided). With zero standard error, t is 0 and p is 1
/// when the means are equal, else t is ±infinity and p is 0. Needs two values per side;
/// otherwise returns t = 0, df = 0, p = 1 (no evidence).
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Welch {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    if a.len() < 2 || b.len() < 2 {
        return Welch {
            t: 0.0,
            df: 0.0,
            p: 1.0,
        };
    }
    let (va, vb) = (variance(a) / na, variance(b) / nb);
    let diff = mean(a) - mean(b);
    let se2 = va + vb;
    if se2 == 0.0 {
        let df = na + nb - 2.0;
        return if diff == 0.0 {
            Welch { t: 0.0, df, p: 1.0 }
        } else {
            Welch {
                t: f64::INFINITY.copysign(diff),
                df,
                p: 0.0,
            }
        };
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    Welch {
        t,
        df,
        p: two_sided_p(t, df),
    }
}

/// Cohen's d with the pooled standard deviation; 0 when that deviation is 0.
pub fn cohens_d(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    if na + nb < 3.0 || a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let pooled = (((na - 1.0) * variance(a) + (nb - 1.0) * variance(b)) / (na + nb - 2.0)).sqrt();
    if pooled == 0.0 {
        0.0
    } else {
        (mean(a) - mean(b)) / pooled
    }
}

/// Bonferroni-corrected per-test alpha for `tests` comparisons.
pub fn bonferroni_alpha(alpha: f64, tests: usize) -> f64 {
    alpha / tests.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
    }

    #[test]
    fn welch_matches_scipy() {
        // scipy.stats.ttest_ind([1,2,3,4,5], [2,4,6,8,10], equal_var=False)
        let w = welch_t_test(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 6.0, 8.0, 10.0]);
        close(w.t, -1.897_366_596_101_027_5, 1e-12);
        close(w.df, 5.882_352_941_176_471, 1e-12);
        close(w.p, 0.107_531_194_930_627_28, 1e-9);
        let a = [12.5, 9.1, 14.2, 11.0, 10.4, 13.3];
        let b = [8.2, 7.7, 9.9, 10.1, 6.5];
        let w = welch_t_test(&a, &b);
        close(w.t, 3.154_014_758_767_116_3, 1e-12);
        close(w.df, 8.992_589_000_292_565, 1e-9);
        close(w.p, 0.011_673_815_667_581_128, 1e-9);
    }

    #[test]
    fn welch_degenerate_cases() {
        let w = welch_t_test(&[1.0, 1.0], &[1.0, 1.0]);
        assert_eq!((w.t, w.p), (0.0, 1.0));
        let w = welch_t_test(&[2.0, 2.0], &[1.0, 1.0]);
        assert_eq!((w.t, w.p), (f64::INFINITY, 0.0));
        let w = welch_t_test(&[1.0], &[1.0, 2.0]);
        assert_eq!(w.p, 1.0);
    }

    #[test]
    fn wilson_matches_reference() {
        // statsmodels proportion_confint(30, 100, method="wilson")
        let (lo, hi) = wilson_interval(30, 100, Z95);
        close(lo, 0.218_948_852_949_327_56, 1e-12);
        close(hi, 0.395_848_546_333_466_6, 1e-12);
        let (lo, hi) = wilson_interval(0, 10, Z95);
        close(lo, 0.0, 1e-15);
        close(hi, 0.277_532_799_862_889_2, 1e-12);
        let (lo, hi) = wilson_interval(10, 10, Z95);
        close(lo, 0.722_467_200_137_110_6, 1e-12);
        close(hi, 1.0, 1e-12);
        assert_eq!(wilson_interval(0, 0, Z95), (0.0, 0.0));
    }

    #[test]
    fn cohens_d_by_hand() {
        // means 3 and 6, variances 2.5 and 10, pooled sd sqrt(6.25) = 2.5 -> d = -1.2
        close(
            cohens_d(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 6.0, 8.0, 10.0]),
            -1.2,
            1e-12,
        );
        assert_eq!(cohens_d(&[1.0, 1.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn pearson_by_hand_and_constant_series() {
        close(
            pearson(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]),
            0.8,
            1e-12,
        );
        assert_eq!(pearson(&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0]), 0.0);
        assert_eq!(pearson(&[1.0], &[2.0]), 0.0);
    }

    #[test]
    fn mean_interval_uses_t_quantile() {
        // mean 3, sd sqrt(2.5), n 5: half-width t_{0.975,4} * sqrt(0.5) = 2.7764451 * 0.7071068
        let (lo, hi) = mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        close(hi - 3.0, 2.776_445_105_197_793 * 0.5f64.sqrt(), 1e-9);
        close(3.0 - lo, hi - 3.0, 1e-12);
    }

    #[test]
    fn normal_interval_and_bonferroni() {
        let (lo, hi) = normal_proportion_interval(50, 100, Z95);
        close(lo, 0.5 - Z95 * 0.05, 1e-12);
        close(hi, 0.5 + Z95 * 0.05, 1e-12);
        close(bonferroni_alpha(0.05, 6), 0.05 / 6.0, 1e-15);
    }
}
