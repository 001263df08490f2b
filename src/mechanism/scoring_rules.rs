//! Proper scoring rules, bounded to [0, M]: quadratic (Brier), a smoothed logarithmic rule
//! and spherical. A rule scores a reported belief p over states against the realised state;
//! properness means reporting one's true belief maximises the expected score. They pay the
//! agents of the scoring-rule baselines and of the online principal's exploration, where
//! a report is a signal and the scored belief is that signal's posterior.
//!
//! The plain log rule is unbounded; `Log { epsilon }` is the Savage form of the strictly
//! convex G(p) = sum_k (p_k + eps) ln(p_k + eps):
//! S(p, theta) = ln(p_theta + eps) + eps * sum_k ln(p_k + eps), strictly proper and bounded.
//! Deliberate difference from ../shared/specs/scoring.md, which clips reports to
//! [eps, 1 - eps] before taking ln r_i: clipping without renormalising is not proper near
//! the boundary (with eps = 0.02 and belief (0.96, 0.02, 0.02), reporting (1, 0, 0) is
//! clipped to (0.98, 0.02, 0.02) and scores more than the truth), so an agent paid by it
//! could gain by exaggerating; the smoothed rule has no such report.

/// A proper scoring rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoringRule {
    /// 2 p_theta - |p|^2, in [-1, 1].
    Quadratic,
    /// ln(p_theta + eps) + eps sum_k ln(p_k + eps): the log rule, smoothed to be bounded.
    Log {
        /// Smoothing, > 0 (0.01 by default).
        epsilon: f64,
    },
    /// p_theta / |p|, in [0, 1].
    Spherical,
}

impl ScoringRule {
    /// Every rule with default parameters.
    pub const ALL: [ScoringRule; 3] = [
        ScoringRule::Quadratic,
        ScoringRule::Log { epsilon: 0.01 },
        ScoringRule::Spherical,
    ];

    /// The rule's name.
    pub fn name(&self) -> &'static str {
        match self {
            ScoringRule::Quadratic => "quadratic",
            ScoringRule::Log { .. } => "log",
            ScoringRule::Spherical => "spherical",
        }
    }

    /// The raw score of belief `p` when `theta` happens.
    pub fn raw(&self, p: &[f64], theta: usize) -> f64 {
        match *self {
            ScoringRule::Quadratic => 2.0 * p[theta] - p.iter().map(|x| x * x).sum::<f64>(),
            ScoringRule::Log { epsilon } => {
                (p[theta] + epsilon).ln() + epsilon * p.iter().map(|x| (x + epsilon).ln()).sum::<f64>()
            }
            ScoringRule::Spherical => {
                let norm = p.iter().map(|x| x * x).sum::<f64>().sqrt();
                if norm > 0.0 { p[theta] / norm } else { 0.0 }
            }
        }
    }

    /// Bounds (lower, upper) of the raw score over all beliefs on `states` outcomes.
    pub fn raw_range(&self, states: usize) -> (f64, f64) {
        let n = states as f64;
        match *self {
            ScoringRule::Quadratic => (-1.0, 1.0),
            ScoringRule::Log { epsilon } => {
                // Both terms are smallest at a vertex away from theta; the first is largest
                // at p = e_theta, the second (concave) at the uniform belief.
                let vertex_sum = (1.0 + epsilon).ln() + (n - 1.0) * epsilon.ln();
                (
                    epsilon.ln() + epsilon * vertex_sum,
                    (1.0 + epsilon).ln() + epsilon * n * (1.0 / n + epsilon).ln(),
                )
            }
            ScoringRule::Spherical => (0.0, 1.0),
        }
    }

    /// The score mapped affinely into [0, cap] (still proper: an affine map with positive
    /// slope preserves properness).
    pub fn bounded(&self, p: &[f64], theta: usize, cap: f64) -> f64 {
        let (lo, hi) = self.raw_range(p.len());
        (cap * (self.raw(p, theta) - lo) / (hi - lo)).clamp(0.0, cap)
    }

    /// Expected raw score of reporting `p` when the truth is distributed as `q`.
    pub fn expected(&self, p: &[f64], q: &[f64]) -> f64 {
        q.iter().enumerate().map(|(t, w)| w * self.raw(p, t)).sum()
    }
}

impl std::str::FromStr for ScoringRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "quadratic" => Ok(ScoringRule::Quadratic),
            "log" => Ok(ScoringRule::Log { epsilon: 0.01 }),
            "spherical" => Ok(ScoringRule::Spherical),
            other => Err(format!(
                "unknown scoring rule \"{other}\" (valid: \"quadratic\", \"log\", \"spherical\")"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn belief(raw: &[f64]) -> Vec<f64> {
        let sum: f64 = raw.iter().sum();
        raw.iter().map(|x| x / sum).collect()
    }

    proptest! {
        /// Numerical properness: no report beats the truth in expectation, and the bounded
        /// score stays inside [0, cap].
        #[test]
        fn truthful_reports_maximise_the_expected_score(
            q in prop::collection::vec(0.01f64..1.0, 2..5),
            p in prop::collection::vec(0.0f64..1.0, 2..5),
        ) {
            let q = belief(&q);
            let mut p = p;
            p.resize(q.len(), 0.3);
            p[0] += 1e-3;
            let p = belief(&p);
            for rule in ScoringRule::ALL {
                let truth = rule.expected(&q, &q);
                let lie = rule.expected(&p, &q);
                prop_assert!(lie <= truth + 1e-12, "{} {lie} > {truth}", rule.name());
                for t in 0..q.len() {
                    let s = rule.bounded(&p, t, 2.0);
                    prop_assert!((0.0..=2.0).contains(&s));
                    let (lo, hi) = rule.raw_range(q.len());
                    let r = rule.raw(&p, t);
                    prop_assert!(r >= lo - 1e-12 && r <= hi + 1e-12, "{} {r} outside [{lo}, {hi}]", rule.name());
                }
            }
        }
    }

    #[test]
    fn strictly_proper_on_a_grid() {
        // Strictness: every report away from the truth loses a measurable amount.
        let q = [0.7, 0.2, 0.1];
        for rule in ScoringRule::ALL {
            let truth = rule.expected(&q, &q);
            for a in 0..=20 {
                for b in 0..=(20 - a) {
                    let p = [a as f64 / 20.0, b as f64 / 20.0, (20 - a - b) as f64 / 20.0];
                    let distance: f64 = p.iter().zip(&q).map(|(x, y)| (x - y).abs()).sum();
                    if distance > 0.1 {
                        assert!(rule.expected(&p, &q) < truth - 1e-4, "{} at {p:?}", rule.name());
                    }
                }
            }
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(ScoringRule::Quadratic.raw(&[1.0, 0.0], 0), 1.0);
        assert_eq!(ScoringRule::Quadratic.raw(&[1.0, 0.0], 1), -1.0);
        assert!((ScoringRule::Spherical.raw(&[0.6, 0.8], 1) - 0.8).abs() < 1e-15);
        assert_eq!(ScoringRule::Quadratic.bounded(&[0.5, 0.5], 0, 1.0), 0.75);
        assert_eq!("log".parse::<ScoringRule>(), Ok(ScoringRule::Log { epsilon: 0.01 }));
        assert!("brier".parse::<ScoringRule>().unwrap_err().contains("quadratic"));
    }
}
