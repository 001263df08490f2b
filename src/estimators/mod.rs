//! Off-policy estimators of a target policy's value from logged bandit data, with the
//! semantics of Open Bandit Pipeline 0.5 (obp) so results can be cross-checked against it
//! (../shared/specs/adload.md). Each estimator has one required method, its round-wise
//! values rho_i; the estimate is their mean, and the normal and bootstrap intervals are
//! shared defaults. `validate` applies obp's input checks with row-precise messages;
//! `diagnostics` reports effective sample size, the largest weight and missing support.

pub mod intervals;
pub mod logged_csv;
pub mod model_based;
pub mod reward_model;
pub mod weighting;

use serde::Serialize;

pub use intervals::{bootstrap_interval, normal_interval};
pub use model_based::{DirectMethod, DoublyRobust, DrShrinkage, SelfNormalizedDr, SwitchDr};
pub use weighting::{Ips, Replay, Snips};

/// Logged data and a target policy, borrowed column-wise (n rounds, k actions).
#[derive(Debug, Clone, Copy)]
pub struct OpeInput<'a> {
    /// Actions taken, in 0..k.
    pub actions: &'a [u32],
    /// Observed rewards.
    pub rewards: &'a [f64],
    /// Logging propensities of the taken actions (> 0).
    pub pscore: &'a [f64],
    /// Target policy: `pi_e[i * k + a]`.
    pub pi_e: &'a [f64],
    /// Reward model: `q_hat[i * k + a]` (needed by DM and the DR family).
    pub q_hat: Option<&'a [f64]>,
    /// Number of actions.
    pub k: usize,
}

impl OpeInput<'_> {
    /// Number of rounds.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether there are no rounds.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Importance weight w_i = pi_e(a_i | x_i) / p_i.
    #[inline]
    pub fn weight(&self, i: usize) -> f64 {
        self.pi_e[i * self.k + self.actions[i] as usize] / self.pscore[i]
    }

    /// q_i(pi_e) = sum_a q(x_i, a) pi_e(a|x_i) / sum_a pi_e(a|x_i), and q(x_i, a_i).
    #[inline]
    pub fn model_terms(&self, q: &[f64], i: usize) -> (f64, f64) {
        let row = i * self.k;
        let (mut num, mut den) = (0.0, 0.0);
        for a in 0..self.k {
            num += q[row + a] * self.pi_e[row + a];
            den += self.pi_e[row + a];
        }
        (num / den, q[row + self.actions[i] as usize])
    }
}

/// Why an input cannot be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpeError {
    /// A value breaks obp's input rules; `row` is 0-based over data rows.
    #[error("row {row}, column `{column}`: {message}")]
    Invalid {
        /// Data row (0-based).
        row: usize,
        /// Column name.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// The estimator needs something the input lacks.
    #[error("{0}")]
    Missing(String),
    /// An estimate or interval came out infinite or NaN (never shown as a number).
    #[error(
        "estimator `{estimator}` gave a non-finite {what} ({value}); the importance weights or rewards are too extreme for it"
    )]
    NonFinite {
        estimator: String,
        what: &'static str,
        value: f64,
    },
}

/// obp's checks: equal lengths, actions in range, propensities in (0, 1], target rows that
/// sum to 1 (relative tolerance 1e-5), finite rewards and model values.
pub fn validate(input: &OpeInput<'_>) -> Result<(), OpeError> {
    let n = input.len();
    let k = input.k;
    let bad = |row: usize, column: String, message: String| OpeError::Invalid { row, column, message };
    if input.rewards.len() != n || input.pscore.len() != n || input.pi_e.len() != n * k {
        return Err(OpeError::Missing(format!(
            "columns of different lengths: {n} actions, {} rewards, {} pscores, {} target probabilities (expected {})",
            input.rewards.len(),
            input.pscore.len(),
            input.pi_e.len(),
            n * k
        )));
    }
    if let Some(q) = input.q_hat
        && q.len() != n * k
    {
        return Err(OpeError::Missing(format!(
            "{} reward-model values for {n} rounds x {k} actions",
            q.len()
        )));
    }
    for i in 0..n {
        if input.actions[i] as usize >= k {
            return Err(bad(
                i,
                "action".into(),
                format!("action {} is not in 0..{}", input.actions[i], k - 1),
            ));
        }
        let p = input.pscore[i];
        if !(p > 0.0 && p <= 1.0) {
            return Err(bad(
                i,
                "pscore".into(),
                format!("propensity must be in (0, 1], found {p}"),
            ));
        }
        if !input.rewards[i].is_finite() {
            return Err(bad(
                i,
                "reward".into(),
                format!("reward must be finite, found {}", input.rewards[i]),
            ));
        }
        let row = &input.pi_e[i * k..(i + 1) * k];
        if let Some((a, v)) = row.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v >= 0.0)) {
            return Err(bad(
                i,
                format!("pi_e_{a}"),
                format!("probability must be >= 0, found {v}"),
            ));
        }
        let sum: f64 = row.iter().sum();
        if (sum - 1.0).abs() > 1e-5 {
            return Err(bad(
                i,
                "pi_e_*".into(),
                format!("target probabilities must sum to 1 (relative tolerance 1e-5), they sum to {sum}"),
            ));
        }
        if let Some(q) = input.q_hat
            && let Some((a, v)) = q[i * k..(i + 1) * k].iter().enumerate().find(|(_, v)| !v.is_finite())
        {
            return Err(bad(i, format!("q_hat_{a}"), format!("must be finite, found {v}")));
        }
    }
    Ok(())
}

/// An off-policy estimator: its round-wise values, whose mean is the estimate.
pub trait Estimator: Send + Sync {
    /// rho_i for every round (obp's `_estimate_round_rewards`).
    fn round_values(&self, input: &OpeInput<'_>) -> Result<Vec<f64>, OpeError>;

    /// The estimate: the mean of the round values.
    fn estimate(&self, input: &OpeInput<'_>) -> Result<f64, OpeError> {
        Ok(crate::analysis::stats::mean(&self.round_values(input)?))
    }

    /// Normal-approximation (1 - alpha) interval of the estimate.
    fn normal_interval(&self, input: &OpeInput<'_>, alpha: f64) -> Result<(f64, f64), OpeError> {
        Ok(normal_interval(&self.round_values(input)?, alpha))
    }

    /// Percentile (Poisson) bootstrap (1 - alpha) interval of the estimate.
    fn bootstrap_interval(
        &self,
        input: &OpeInput<'_>,
        resamples: usize,
        seed: u64,
        alpha: f64,
    ) -> Result<(f64, f64), OpeError> {
        Ok(bootstrap_interval(&self.round_values(input)?, resamples, seed, alpha))
    }
}

/// Support and weight diagnostics of a target policy on a log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostics {
    /// Rounds.
    pub rounds: usize,
    /// Kish's effective sample size (sum w)^2 / sum w^2.
    pub effective_sample_size: f64,
    /// Largest importance weight.
    pub max_weight: f64,
    /// Mean importance weight (1 in expectation when the target is supported).
    pub mean_weight: f64,
    /// Actions the target plays (positive probability somewhere) but the log never took.
    pub unsupported_actions: Vec<usize>,
    /// Readable warnings.
    pub warnings: Vec<String>,
}

/// Diagnostics of `input`.
pub fn diagnostics(input: &OpeInput<'_>) -> Diagnostics {
    let n = input.len();
    let (mut sum, mut sum_sq, mut max) = (0.0, 0.0, 0.0f64);
    let mut logged = vec![0usize; input.k];
    let mut targeted = vec![false; input.k];
    for i in 0..n {
        let w = input.weight(i);
        sum += w;
        sum_sq += w * w;
        max = max.max(w);
        logged[input.actions[i] as usize] += 1;
        for (a, t) in targeted.iter_mut().enumerate() {
            *t |= input.pi_e[i * input.k + a] > 0.0;
        }
    }
    let unsupported: Vec<usize> = (0..input.k).filter(|&a| targeted[a] && logged[a] == 0).collect();
    let ess = if sum_sq > 0.0 { sum * sum / sum_sq } else { 0.0 };
    let mean = sum / n.max(1) as f64;
    let mut warnings = Vec::new();
    if !unsupported.is_empty() {
        warnings.push(format!(
            "missing support: the target policy plays action(s) {unsupported:?} that the log never took; \
             IPS-type estimates ignore their value (biased), DM-type estimates rely on the reward model alone"
        ));
    }
    if n > 0 && ess < 0.01 * n as f64 {
        warnings.push(format!(
            "effective sample size {ess:.1} is under 1% of {n} rounds: weight-based estimates are very noisy"
        ));
    }
    if n > 0 && (mean - 1.0).abs() > 0.1 {
        warnings.push(format!(
            "mean importance weight {mean:.3} is far from 1: the propensities may not be those of the logging policy"
        ));
    }
    Diagnostics {
        rounds: n,
        effective_sample_size: ess,
        max_weight: max,
        mean_weight: mean,
        unsupported_actions: unsupported,
        warnings,
    }
}

/// Settings of the estimator family (obp's defaults: no clipping; Switch-DR and DR-os
/// need their lambda chosen).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimatorSettings {
    /// Weight clipping of IPS and DR (infinity: none).
    pub clip: f64,
    /// Switch-DR's threshold on w.
    pub switch_lambda: f64,
    /// DR-os's shrinkage lambda.
    pub shrinkage_lambda: f64,
}

impl Default for EstimatorSettings {
    fn default() -> Self {
        EstimatorSettings {
            clip: f64::INFINITY,
            switch_lambda: 10.0,
            shrinkage_lambda: 10.0,
        }
    }
}

/// Every estimator by name; model-based ones only when `with_model`.
pub fn all(settings: EstimatorSettings, with_model: bool) -> Vec<(&'static str, Box<dyn Estimator>)> {
    let mut out: Vec<(&'static str, Box<dyn Estimator>)> = vec![
        ("ips", Box::new(Ips { clip: settings.clip })),
        ("snips", Box::new(Snips)),
        ("replay", Box::new(Replay)),
    ];
    if with_model {
        out.extend([
            ("dm", Box::new(DirectMethod) as Box<dyn Estimator>),
            ("dr", Box::new(DoublyRobust { clip: settings.clip })),
            ("sndr", Box::new(SelfNormalizedDr)),
            (
                "switch_dr",
                Box::new(SwitchDr {
                    lambda: settings.switch_lambda,
                }),
            ),
            (
                "dr_os",
                Box::new(DrShrinkage {
                    lambda: settings.shrinkage_lambda,
                }),
            ),
        ]);
    }
    out
}

/// One estimator's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EstimateRow {
    /// Estimator name.
    pub estimator: String,
    /// Point estimate.
    pub estimate: f64,
    /// Normal-approximation 95% interval.
    pub normal_ci: (f64, f64),
    /// Bootstrap 95% percentile interval.
    pub bootstrap_ci: (f64, f64),
}

/// Every applicable estimator on `input`, with both intervals (`bootstrap` resamples,
/// seeded, shared by the estimators). Replay is skipped for stochastic targets (it needs
/// pi_e in {0, 1}).
pub fn evaluate_all(
    input: &OpeInput<'_>,
    settings: EstimatorSettings,
    bootstrap: usize,
    seed: u64,
) -> Result<Vec<EstimateRow>, OpeError> {
    let deterministic = input.pi_e.iter().all(|p| *p == 0.0 || *p == 1.0);
    let mut names = Vec::new();
    let mut values = Vec::new();
    for (name, est) in all(settings, input.q_hat.is_some()) {
        if name == "replay" && !deterministic {
            continue;
        }
        names.push(name);
        values.push(est.round_values(input)?);
    }
    let columns: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
    let boot = intervals::bootstrap_intervals(&columns, bootstrap, seed, 0.05);
    let rows: Vec<EstimateRow> = names
        .into_iter()
        .zip(values.iter().zip(boot))
        .map(|(name, (v, b))| EstimateRow {
            estimator: name.to_string(),
            estimate: crate::analysis::stats::mean(v),
            normal_ci: normal_interval(v, 0.05),
            bootstrap_ci: b,
        })
        .collect();
    for row in &rows {
        let parts = [
            ("estimate", row.estimate),
            ("normal interval bound", row.normal_ci.0),
            ("normal interval bound", row.normal_ci.1),
            ("bootstrap interval bound", row.bootstrap_ci.0),
            ("bootstrap interval bound", row.bootstrap_ci.1),
        ];
        // An empty bootstrap (0 resamples) leaves its interval undefined on purpose.
        let checked = if bootstrap == 0 { &parts[..3] } else { &parts[..] };
        if let Some((what, value)) = checked.iter().find(|(_, v)| !v.is_finite()) {
            return Err(OpeError::NonFinite {
                estimator: row.estimator.clone(),
                what,
                value: *value,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny log (3 rounds, 2 actions) with values worked out by hand below.
    pub struct Tiny {
        pub actions: Vec<u32>,
        pub rewards: Vec<f64>,
        pub pscore: Vec<f64>,
        pub pi_e: Vec<f64>,
        pub q_hat: Vec<f64>,
    }

    pub fn tiny() -> Tiny {
        Tiny {
            actions: vec![0, 1, 1],
            rewards: vec![1.0, 0.0, 2.0],
            pscore: vec![0.5, 0.25, 0.5],
            pi_e: vec![0.2, 0.8, 0.5, 0.5, 1.0, 0.0],
            q_hat: vec![0.5, 1.0, 0.2, 0.4, 1.0, 1.5],
        }
    }

    impl Tiny {
        pub fn input(&self) -> OpeInput<'_> {
            OpeInput {
                actions: &self.actions,
                rewards: &self.rewards,
                pscore: &self.pscore,
                pi_e: &self.pi_e,
                q_hat: Some(&self.q_hat),
                k: 2,
            }
        }
    }

    #[test]
    fn validation_names_the_row_and_column() {
        let mut t = tiny();
        t.pscore[1] = 0.0;
        assert_eq!(
            validate(&t.input()).unwrap_err().to_string(),
            "row 1, column `pscore`: propensity must be in (0, 1], found 0"
        );
        let mut t = tiny();
        t.pi_e[4] = 0.9;
        assert!(
            validate(&t.input())
                .unwrap_err()
                .to_string()
                .starts_with("row 2, column `pi_e_*`")
        );
        let mut t = tiny();
        t.actions[0] = 2;
        assert!(
            validate(&t.input())
                .unwrap_err()
                .to_string()
                .contains("action 2 is not in 0..1")
        );
        assert!(validate(&tiny().input()).is_ok());
    }

    #[test]
    fn shared_interval_defaults() {
        let t = tiny();
        let ips = Ips { clip: f64::INFINITY };
        let (lo, hi) = ips.normal_interval(&t.input(), 0.05).unwrap();
        let est = ips.estimate(&t.input()).unwrap();
        assert!(lo < est && est < hi);
        let (blo, bhi) = ips.bootstrap_interval(&t.input(), 50, 1, 0.05).unwrap();
        assert!(blo <= est && est <= bhi);
    }

    #[test]
    fn diagnostics_by_hand() {
        let t = tiny();
        // w = 0.2/0.5, 0.5/0.25, 0/0.5 = 0.4, 2, 0
        let d = diagnostics(&t.input());
        assert!((d.max_weight - 2.0).abs() < 1e-12);
        assert!((d.effective_sample_size - 2.4 * 2.4 / 4.16).abs() < 1e-12);
        assert!(d.unsupported_actions.is_empty());
    }
}
