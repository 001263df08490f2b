//! Reward models q_hat(x, a) for the direct method, the DR family and the greedy learner:
//! one linear model per action on standardised context features (plus an intercept), fitted
//! by ridge regression (normal equations, Cholesky) or L2-regularised logistic regression
//! (Newton's method) for rewards in {0, 1}; and k-fold cross-fitting (seeded fold
//! assignment) so that each round's estimate comes from a model that never saw it.

use crate::core::rng::SimRng;

use super::OpeError;

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ModelKind {
    /// Least squares with an L2 penalty `alpha` (intercept not penalised).
    Ridge {
        /// Penalty.
        alpha: f64,
    },
    /// Logistic regression with an L2 penalty `alpha`, for rewards in {0, 1}.
    Logistic {
        /// Penalty.
        alpha: f64,
    },
}

/// A fitted model: per action, coefficients over [1, standardised features].
#[derive(Debug, Clone, PartialEq)]
pub struct RewardModel {
    kind: ModelKind,
    means: Vec<f64>,
    scales: Vec<f64>,
    coefficients: Vec<Vec<f64>>,
}

/// Solves the symmetric positive definite system `a x = b` (row-major `a`, size m) by
/// Cholesky; `None` when `a` is not positive definite.
fn solve_spd(a: &[f64], b: &[f64], m: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let mut sum = a[i * m + j];
            for p in 0..j {
                sum -= l[i * m + p] * l[j * m + p];
            }
            if i == j {
                if sum <= 0.0 {
                    return None;
                }
                l[i * m + i] = sum.sqrt();
            } else {
                l[i * m + j] = sum / l[j * m + j];
            }
        }
    }
    let mut y = vec![0.0; m];
    for i in 0..m {
        let s: f64 = (0..i).map(|p| l[i * m + p] * y[p]).sum();
        y[i] = (b[i] - s) / l[i * m + i];
    }
    let mut x = vec![0.0; m];
    for i in (0..m).rev() {
        let s: f64 = (i + 1..m).map(|p| l[p * m + i] * x[p]).sum();
        x[i] = (y[i] - s) / l[i * m + i];
    }
    Some(x)
}

impl RewardModel {
    /// Fits on the rows `rows` of features `x` (row-major, `d` columns).
    pub fn fit(
        kind: ModelKind,
        x: &[f64],
        d: usize,
        actions: &[u32],
        rewards: &[f64],
        k: usize,
        rows: &[usize],
    ) -> Result<Self, OpeError> {
        if let ModelKind::Logistic { .. } = kind
            && let Some(&i) = rows.iter().find(|&&i| rewards[i] != 0.0 && rewards[i] != 1.0)
        {
            return Err(OpeError::Invalid {
                row: i,
                column: "reward".into(),
                message: format!("logistic reward model needs rewards in {{0, 1}}, found {}", rewards[i]),
            });
        }
        let mut means = vec![0.0; d];
        let mut scales = vec![0.0; d];
        for &i in rows {
            for j in 0..d {
                means[j] += x[i * d + j];
            }
        }
        for m in &mut means {
            *m /= rows.len().max(1) as f64;
        }
        for &i in rows {
            for j in 0..d {
                scales[j] += (x[i * d + j] - means[j]).powi(2);
            }
        }
        for s in &mut scales {
            *s = (*s / rows.len().max(1) as f64).sqrt();
            if *s < 1e-12 {
                *s = 1.0;
            }
        }
        let m = d + 1;
        let feature = |i: usize, j: usize| -> f64 {
            if j == 0 {
                1.0
            } else {
                (x[i * d + j - 1] - means[j - 1]) / scales[j - 1]
            }
        };
        let mut coefficients = Vec::with_capacity(k);
        for a in 0..k {
            let own: Vec<usize> = rows.iter().copied().filter(|&i| actions[i] as usize == a).collect();
            let coef = match kind {
                ModelKind::Ridge { alpha } => {
                    let mut xtx = vec![0.0; m * m];
                    let mut xty = vec![0.0; m];
                    let mut f = vec![0.0; m];
                    for &i in &own {
                        for (j, v) in f.iter_mut().enumerate() {
                            *v = feature(i, j);
                        }
                        for p in 0..m {
                            xty[p] += f[p] * rewards[i];
                            for q in 0..=p {
                                xtx[p * m + q] += f[p] * f[q];
                            }
                        }
                    }
                    for p in 0..m {
                        for q in 0..p {
                            xtx[q * m + p] = xtx[p * m + q];
                        }
                        xtx[p * m + p] += if p == 0 { 1e-9 } else { alpha.max(1e-9) };
                    }
                    solve_spd(&xtx, &xty, m).ok_or_else(|| {
                        OpeError::Missing(format!("ridge model for action {a}: singular normal equations"))
                    })?
                }
                ModelKind::Logistic { alpha } => {
                    let mut w = vec![0.0; m];
                    let mut f = vec![0.0; m];
                    for _ in 0..25 {
                        let mut h = vec![0.0; m * m];
                        let mut g = vec![0.0; m];
                        for &i in &own {
                            for (j, v) in f.iter_mut().enumerate() {
                                *v = feature(i, j);
                            }
                            let z: f64 = f.iter().zip(&w).map(|(a, b)| a * b).sum();
                            let p = 1.0 / (1.0 + (-z).exp());
                            let s = (p * (1.0 - p)).max(1e-12);
                            for a2 in 0..m {
                                g[a2] += f[a2] * (rewards[i] - p);
                                for b2 in 0..=a2 {
                                    h[a2 * m + b2] += s * f[a2] * f[b2];
                                }
                            }
                        }
                        for a2 in 0..m {
                            for b2 in 0..a2 {
                                h[b2 * m + a2] = h[a2 * m + b2];
                            }
                            let penalty = if a2 == 0 { 1e-6 } else { alpha.max(1e-6) };
                            h[a2 * m + a2] += penalty;
                            g[a2] -= penalty * w[a2];
                        }
                        let Some(step) = solve_spd(&h, &g, m) else { break };
                        let size: f64 = step.iter().map(|s| s.abs()).sum();
                        for (wi, si) in w.iter_mut().zip(&step) {
                            *wi += si;
                        }
                        if size < 1e-9 {
                            break;
                        }
                    }
                    w
                }
            };
            coefficients.push(coef);
        }
        Ok(RewardModel {
            kind,
            means,
            scales,
            coefficients,
        })
    }

    /// q_hat(x, a) for every action, into `out` (length k).
    pub fn predict_into(&self, x: &[f64], out: &mut [f64]) {
        for (a, coef) in self.coefficients.iter().enumerate() {
            let mut z = coef[0];
            for (j, v) in x.iter().enumerate() {
                z += coef[j + 1] * (v - self.means[j]) / self.scales[j];
            }
            out[a] = match self.kind {
                ModelKind::Ridge { .. } => z,
                ModelKind::Logistic { .. } => 1.0 / (1.0 + (-z).exp()),
            };
        }
    }
}

/// Cross-fitted q_hat (row-major n x k): rounds are split into `folds` seeded folds; each
/// fold's predictions come from a model fitted on the others. `folds = 1` fits and
/// predicts on everything (no cross-fitting).
#[allow(clippy::too_many_arguments)]
pub fn cross_fit(
    kind: ModelKind,
    x: &[f64],
    d: usize,
    actions: &[u32],
    rewards: &[f64],
    k: usize,
    folds: usize,
    seed: u64,
) -> Result<Vec<f64>, OpeError> {
    let n = actions.len();
    let folds = folds.clamp(1, n.max(1));
    let mut fold_of: Vec<usize> = (0..n).map(|i| i % folds).collect();
    SimRng::new(seed).shuffle(&mut fold_of);
    let mut q = vec![0.0; n * k];
    for f in 0..folds {
        let train: Vec<usize> = if folds == 1 {
            (0..n).collect()
        } else {
            (0..n).filter(|&i| fold_of[i] != f).collect()
        };
        let model = RewardModel::fit(kind, x, d, actions, rewards, k, &train)?;
        for i in (0..n).filter(|&i| folds == 1 || fold_of[i] == f) {
            model.predict_into(&x[i * d..(i + 1) * d], &mut q[i * k..(i + 1) * k]);
        }
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_recovers_a_linear_truth_per_action() {
        let mut rng = SimRng::new(1);
        let n = 2000;
        let d = 2;
        let x: Vec<f64> = (0..n * d).map(|_| rng.unit() * 4.0 - 2.0).collect();
        let actions: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let truth = |i: usize, a: usize| 1.0 + a as f64 + 2.0 * x[i * d] - (a as f64) * x[i * d + 1];
        let rewards: Vec<f64> = (0..n).map(|i| truth(i, actions[i] as usize)).collect();
        let q = cross_fit(ModelKind::Ridge { alpha: 1e-6 }, &x, d, &actions, &rewards, 2, 3, 7).unwrap();
        for i in 0..20 {
            for a in 0..2 {
                assert!(
                    (q[i * 2 + a] - truth(i, a)).abs() < 1e-4,
                    "{} vs {}",
                    q[i * 2 + a],
                    truth(i, a)
                );
            }
        }
    }

    #[test]
    fn logistic_fits_probabilities_and_rejects_non_binary_rewards() {
        let mut rng = SimRng::new(2);
        let n = 20000;
        let x: Vec<f64> = (0..n).map(|_| rng.unit() * 2.0 - 1.0).collect();
        let actions = vec![0u32; n];
        let p = |v: f64| 1.0 / (1.0 + (-(0.5 + 1.5 * v)).exp());
        let rewards: Vec<f64> = x.iter().map(|&v| f64::from(u8::from(rng.chance(p(v))))).collect();
        let rows: Vec<usize> = (0..n).collect();
        let model = RewardModel::fit(ModelKind::Logistic { alpha: 1e-3 }, &x, 1, &actions, &rewards, 1, &rows).unwrap();
        let mut out = [0.0];
        model.predict_into(&[0.3], &mut out);
        assert!((out[0] - p(0.3)).abs() < 0.02, "{} vs {}", out[0], p(0.3));
        let mut bad = rewards.clone();
        bad[5] = 0.5;
        let e = RewardModel::fit(ModelKind::Logistic { alpha: 1.0 }, &x, 1, &actions, &bad, 1, &rows).unwrap_err();
        assert!(e.to_string().starts_with("row 5, column `reward`"), "{e}");
    }
}
