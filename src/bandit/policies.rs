//! Ad-load policies: a distribution over ad loads given the observed context (the
//! `context_*` features). Logging policies (uniform, epsilon-greedy around a production
//! rule, softmax over a reward model) and target policies (fixed load, position rules,
//! reward-model greedy, learned linear policies) share the one-method trait, so any of them
//! can log, be evaluated off-policy, or be run online.

use crate::estimators::reward_model::RewardModel;

/// A stochastic ad-load policy over `k` actions.
pub trait AdPolicy: Send + Sync {
    /// Writes pi(a | x) for every action into `out` (sums to 1).
    fn probabilities(&self, x: &[f64], out: &mut [f64]);
}

/// Every ad load equally likely.
#[derive(Debug, Clone, Copy)]
pub struct Uniform;

impl AdPolicy for Uniform {
    fn probabilities(&self, _x: &[f64], out: &mut [f64]) {
        let p = 1.0 / out.len() as f64;
        out.fill(p);
    }
}

/// Always `ads` slots.
#[derive(Debug, Clone, Copy)]
pub struct Fixed {
    /// The load.
    pub ads: usize,
}

impl AdPolicy for Fixed {
    fn probabilities(&self, _x: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        out[self.ads.min(out.len() - 1)] = 1.0;
    }
}

/// `first` slots for the first `from_fetch` fetches of a session, `later` afterwards.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// Load early in the session.
    pub first: usize,
    /// Load later.
    pub later: usize,
    /// Fetch index from which `later` applies.
    pub from_fetch: usize,
}

/// Index of `fetch_index` in the context.
const FETCH_INDEX: usize = 4;

impl AdPolicy for Position {
    fn probabilities(&self, x: &[f64], out: &mut [f64]) {
        let ads = if (x[FETCH_INDEX] as usize) < self.from_fetch {
            self.first
        } else {
            self.later
        };
        Fixed { ads }.probabilities(x, out);
    }
}

/// (1 - epsilon) x `base` + epsilon x uniform.
pub struct EpsilonGreedy {
    /// The production policy.
    pub base: Box<dyn AdPolicy>,
    /// Exploration share.
    pub epsilon: f64,
}

impl AdPolicy for EpsilonGreedy {
    fn probabilities(&self, x: &[f64], out: &mut [f64]) {
        self.base.probabilities(x, out);
        let u = self.epsilon / out.len() as f64;
        for p in out.iter_mut() {
            *p = (1.0 - self.epsilon) * *p + u;
        }
    }
}

/// Reward models of both objectives: the scalar q = q_satisfaction + lambda q_revenue.
#[derive(Debug, Clone)]
pub struct ObjectiveModels {
    /// Satisfaction model.
    pub satisfaction: RewardModel,
    /// Revenue model.
    pub revenue: RewardModel,
    /// Revenue weight.
    pub lambda: f64,
}

impl ObjectiveModels {
    /// q(x, a) for every action.
    pub fn scores(&self, x: &[f64], out: &mut [f64]) {
        let mut rev = vec![0.0; out.len()];
        self.satisfaction.predict_into(x, out);
        self.revenue.predict_into(x, &mut rev);
        for (o, r) in out.iter_mut().zip(rev) {
            *o += self.lambda * r;
        }
    }
}

/// Softmax over a reward model's scalar scores with a temperature.
pub struct Softmax {
    /// The model.
    pub models: ObjectiveModels,
    /// Temperature (> 0).
    pub temperature: f64,
}

impl AdPolicy for Softmax {
    fn probabilities(&self, x: &[f64], out: &mut [f64]) {
        self.models.scores(x, out);
        softmax_in_place(out, self.temperature);
    }
}

/// argmax_a q_satisfaction(x, a) + lambda q_revenue(x, a) (ties: the fewest ads).
pub struct Greedy {
    /// The model.
    pub models: ObjectiveModels,
}

impl AdPolicy for Greedy {
    fn probabilities(&self, x: &[f64], out: &mut [f64]) {
        self.models.scores(x, out);
        one_hot_argmax(out);
    }
}

/// A linear policy on standardised features: scores theta_a . [1, z(x)], played either
/// as its argmax (`deterministic`) or as a softmax.
#[derive(Debug, Clone)]
pub struct Linear {
    /// Feature means.
    pub means: Vec<f64>,
    /// Feature scales.
    pub scales: Vec<f64>,
    /// theta, row-major k x (d + 1).
    pub theta: Vec<f64>,
    /// Play the argmax instead of the softmax.
    pub deterministic: bool,
}

impl Linear {
    /// Scores theta_a . [1, z(x)].
    pub fn scores(&self, x: &[f64], out: &mut [f64]) {
        let m = self.means.len() + 1;
        for (a, o) in out.iter_mut().enumerate() {
            let row = &self.theta[a * m..(a + 1) * m];
            let mut z = row[0];
            for (j, v) in x.iter().enumerate() {
                z += row[j + 1] * (v - self.means[j]) / self.scales[j];
            }
            *o = z;
        }
    }
}

impl AdPolicy for Linear {
    fn probabilities(&self, x: &[f64], out: &mut [f64]) {
        self.scores(x, out);
        if self.deterministic {
            one_hot_argmax(out);
        } else {
            softmax_in_place(out, 1.0);
        }
    }
}

/// Replaces scores by softmax(scores / temperature).
pub fn softmax_in_place(out: &mut [f64], temperature: f64) {
    let top = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for v in out.iter_mut() {
        *v = ((*v - top) / temperature).exp();
        total += *v;
    }
    for v in out.iter_mut() {
        *v /= total;
    }
}

/// Replaces scores by the indicator of the first maximum.
pub fn one_hot_argmax(out: &mut [f64]) {
    let mut best = 0;
    for a in 1..out.len() {
        if out[a] > out[best] + 1e-12 {
            best = a;
        }
    }
    out.fill(0.0);
    out[best] = 1.0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_sum_to_one() {
        let x = [0.5, 0.5, 0.1, 0.5, 3.0, 2.0, 0.0, 12.0, 1.0];
        let mut out = [0.0; 5];
        let policies: Vec<Box<dyn AdPolicy>> = vec![
            Box::new(Uniform),
            Box::new(Fixed { ads: 2 }),
            Box::new(Position {
                first: 0,
                later: 3,
                from_fetch: 2,
            }),
            Box::new(EpsilonGreedy {
                base: Box::new(Fixed { ads: 1 }),
                epsilon: 0.2,
            }),
        ];
        for p in &policies {
            p.probabilities(&x, &mut out);
            assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        Position {
            first: 0,
            later: 3,
            from_fetch: 2,
        }
        .probabilities(&x, &mut out);
        assert_eq!(out, [0.0, 0.0, 0.0, 1.0, 0.0]);
        let mut s = [1.0, 2.0, 3.0];
        softmax_in_place(&mut s, 1.0);
        assert!((s[2] / s[1] - std::f64::consts::E).abs() < 1e-12);
    }
}
