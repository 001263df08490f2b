//! Offline policy learning from logged fetches (off-policy learning): reward-model greedy
//! (ridge models of satisfaction and revenue, argmax of q_s + lambda q_m), IPS-weighted
//! classification (a multinomial logistic policy fitted to the logged actions, each round
//! weighted by r / p), and gradient ascent on the doubly robust value of a softmax policy.
//! All three are fitted on standardised context features with full-batch gradient steps.

use super::policies::{Greedy, Linear, ObjectiveModels};
use crate::estimators::OpeError;
use crate::estimators::reward_model::{ModelKind, RewardModel};

/// A log to learn from (row-major contexts, n x d).
#[derive(Debug, Clone, Copy)]
pub struct Training<'a> {
    /// Contexts.
    pub x: &'a [f64],
    /// Feature count.
    pub d: usize,
    /// Actions.
    pub actions: &'a [u32],
    /// Propensities.
    pub pscore: &'a [f64],
    /// Satisfaction per round.
    pub satisfaction: &'a [f64],
    /// Revenue per round.
    pub revenue: &'a [f64],
    /// Actions available.
    pub k: usize,
}

impl Training<'_> {
    fn len(&self) -> usize {
        self.actions.len()
    }

    fn rewards(&self, lambda: f64) -> Vec<f64> {
        self.satisfaction
            .iter()
            .zip(self.revenue)
            .map(|(s, r)| s + lambda * r)
            .collect()
    }

    /// Ridge models of both objectives on every row.
    pub fn models(&self, lambda: f64) -> Result<ObjectiveModels, OpeError> {
        let rows: Vec<usize> = (0..self.len()).collect();
        let kind = ModelKind::Ridge { alpha: 1.0 };
        Ok(ObjectiveModels {
            satisfaction: RewardModel::fit(kind, self.x, self.d, self.actions, self.satisfaction, self.k, &rows)?,
            revenue: RewardModel::fit(kind, self.x, self.d, self.actions, self.revenue, self.k, &rows)?,
            lambda,
        })
    }

    fn standardisation(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.len().max(1) as f64;
        let mut means = vec![0.0; self.d];
        let mut scales = vec![0.0; self.d];
        for row in self.x.chunks_exact(self.d) {
            for (m, v) in means.iter_mut().zip(row) {
                *m += v / n;
            }
        }
        for row in self.x.chunks_exact(self.d) {
            for ((s, v), m) in scales.iter_mut().zip(row).zip(&means) {
                *s += (v - m).powi(2) / n;
            }
        }
        for s in &mut scales {
            *s = if *s > 1e-24 { s.sqrt() } else { 1.0 };
        }
        (means, scales)
    }
}

/// Reward-model greedy: argmax_a q_s(x, a) + lambda q_m(x, a).
pub fn greedy(data: &Training<'_>, lambda: f64) -> Result<Greedy, OpeError> {
    Ok(Greedy {
        models: data.models(lambda)?,
    })
}

/// Full-batch gradient ascent on a linear softmax policy. `pseudo(i, probs, grad_scores)`
/// writes the gradient of round i's objective with respect to its k scores.
fn ascend(
    data: &Training<'_>,
    iterations: usize,
    step: f64,
    l2: f64,
    deterministic: bool,
    pseudo: impl Fn(usize, &[f64], &mut [f64]),
) -> Linear {
    let (means, scales) = data.standardisation();
    let (n, d, k) = (data.len(), data.d, data.k);
    let m = d + 1;
    let mut policy = Linear {
        means,
        scales,
        theta: vec![0.0; k * m],
        deterministic: false,
    };
    let mut features = vec![0.0; n * m];
    for i in 0..n {
        features[i * m] = 1.0;
        for j in 0..d {
            features[i * m + j + 1] = (data.x[i * d + j] - policy.means[j]) / policy.scales[j];
        }
    }
    let mut probs = vec![0.0; k];
    let mut g = vec![0.0; k];
    // Adam on theta.
    let (mut first, mut second) = (vec![0.0; k * m], vec![0.0; k * m]);
    for t in 1..=iterations {
        let mut grad = vec![0.0; k * m];
        for i in 0..n {
            let f = &features[i * m..(i + 1) * m];
            for (a, p) in probs.iter_mut().enumerate() {
                *p = f
                    .iter()
                    .zip(&policy.theta[a * m..(a + 1) * m])
                    .map(|(u, v)| u * v)
                    .sum();
            }
            super::policies::softmax_in_place(&mut probs, 1.0);
            pseudo(i, &probs, &mut g);
            for a in 0..k {
                if g[a] != 0.0 {
                    for (gr, fv) in grad[a * m..(a + 1) * m].iter_mut().zip(f) {
                        *gr += g[a] * fv;
                    }
                }
            }
        }
        for (j, gr) in grad.iter_mut().enumerate() {
            *gr = *gr / n as f64 - l2 * policy.theta[j];
        }
        let (b1, b2) = (0.9f64, 0.999f64);
        for j in 0..k * m {
            first[j] = b1 * first[j] + (1.0 - b1) * grad[j];
            second[j] = b2 * second[j] + (1.0 - b2) * grad[j] * grad[j];
            let mh = first[j] / (1.0 - b1.powi(t as i32));
            let vh = second[j] / (1.0 - b2.powi(t as i32));
            policy.theta[j] += step * mh / (vh.sqrt() + 1e-8);
        }
    }
    policy.deterministic = deterministic;
    policy
}

/// IPS-weighted classification: maximise sum_i (r_i / p_i) log pi(a_i | x_i) (rewards must
/// be >= 0); played as its argmax.
pub fn ips_classification(data: &Training<'_>, lambda: f64, iterations: usize) -> Result<Linear, OpeError> {
    let rewards = data.rewards(lambda);
    if let Some(i) = rewards.iter().position(|r| *r < 0.0) {
        return Err(OpeError::Invalid {
            row: i,
            column: "reward".into(),
            message: "IPS-weighted classification needs rewards >= 0".into(),
        });
    }
    Ok(ascend(data, iterations, 0.05, 1e-3, true, |i, probs, g| {
        let weight = rewards[i] / data.pscore[i];
        for (a, (gv, p)) in g.iter_mut().zip(probs).enumerate() {
            *gv = weight * (f64::from(u8::from(a == data.actions[i] as usize)) - p);
        }
    }))
}

/// Gradient ascent on the DR estimate of a softmax policy's value, with cross-fitted-free
/// ridge models (fitted on the same rows); played as the softmax.
pub fn dr_gradient(data: &Training<'_>, lambda: f64, iterations: usize) -> Result<Linear, OpeError> {
    let models = data.models(lambda)?;
    let rewards = data.rewards(lambda);
    let k = data.k;
    let mut q = vec![0.0; data.len() * k];
    for i in 0..data.len() {
        models.scores(&data.x[i * data.d..(i + 1) * data.d], &mut q[i * k..(i + 1) * k]);
    }
    Ok(ascend(data, iterations, 0.05, 1e-3, false, |i, probs, g| {
        let a_i = data.actions[i] as usize;
        let row = &q[i * k..(i + 1) * k];
        // DR pseudo-rewards: q(x, a) + 1[a = a_i] (r - q(x, a_i)) / p.
        let pseudo = |a: usize| {
            row[a]
                + if a == a_i {
                    (rewards[i] - row[a_i]) / data.pscore[i]
                } else {
                    0.0
                }
        };
        let value: f64 = probs.iter().enumerate().map(|(a, p)| p * pseudo(a)).sum();
        for (a, (gv, p)) in g.iter_mut().zip(probs).enumerate() {
            *gv = p * (pseudo(a) - value);
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bandit::policies::AdPolicy;
    use crate::core::rng::SimRng;

    /// Columns of a toy log: x, actions, pscore, satisfaction, revenue.
    type Toy = (Vec<f64>, Vec<u32>, Vec<f64>, Vec<f64>, Vec<f64>);

    /// One feature; action 1 pays when x > 0, action 0 otherwise; uniform logging.
    fn toy(n: usize) -> Toy {
        let mut rng = SimRng::new(3);
        let x: Vec<f64> = (0..n).map(|_| rng.unit() * 2.0 - 1.0).collect();
        let actions: Vec<u32> = (0..n).map(|_| rng.below(2) as u32).collect();
        let sat: Vec<f64> = (0..n)
            .map(|i| f64::from(u8::from((x[i] > 0.0) == (actions[i] == 1))))
            .collect();
        (x, actions, vec![0.5; n], sat, vec![0.0; n])
    }

    #[test]
    fn every_learner_finds_the_rule() {
        let (x, actions, pscore, sat, rev) = toy(4000);
        let data = Training {
            x: &x,
            d: 1,
            actions: &actions,
            pscore: &pscore,
            satisfaction: &sat,
            revenue: &rev,
            k: 2,
        };
        let learners: Vec<Box<dyn AdPolicy>> = vec![
            Box::new(greedy(&data, 0.0).unwrap()),
            Box::new(ips_classification(&data, 0.0, 300).unwrap()),
            Box::new(dr_gradient(&data, 0.0, 300).unwrap()),
        ];
        for policy in &learners {
            let mut out = [0.0; 2];
            policy.probabilities(&[0.7], &mut out);
            assert!(out[1] > 0.8, "{out:?}");
            policy.probabilities(&[-0.7], &mut out);
            assert!(out[0] > 0.8, "{out:?}");
        }
    }
}
