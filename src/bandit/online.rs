//! Online bandit algorithms that choose the ad load fetch by fetch and learn from the
//! scalar reward: epsilon-greedy, UCB1 and Gaussian Thompson sampling (context-free), and
//! disjoint LinUCB on the scaled context. Two required methods each: choose and update.

use crate::core::rng::SimRng;

/// An online learner over `k` ad loads.
pub trait Bandit: Send + Sync {
    /// The ad load for context `x`.
    fn choose(&mut self, x: &[f64], rng: &mut SimRng) -> usize;
    /// Learns from the reward of playing `action` at `x`.
    fn update(&mut self, x: &[f64], action: usize, reward: f64);
}

/// Running means per arm.
#[derive(Debug, Clone)]
struct Means {
    counts: Vec<f64>,
    means: Vec<f64>,
}

impl Means {
    fn new(k: usize) -> Self {
        Means {
            counts: vec![0.0; k],
            means: vec![0.0; k],
        }
    }

    fn add(&mut self, a: usize, r: f64) {
        self.counts[a] += 1.0;
        self.means[a] += (r - self.means[a]) / self.counts[a];
    }

    fn untried(&self) -> Option<usize> {
        self.counts.iter().position(|c| *c == 0.0)
    }

    fn argmax(values: impl Iterator<Item = f64>) -> usize {
        let mut best = (0, f64::NEG_INFINITY);
        for (a, v) in values.enumerate() {
            if v > best.1 {
                best = (a, v);
            }
        }
        best.0
    }
}

/// Plays the best mean, or a uniform arm with probability epsilon.
#[derive(Debug, Clone)]
pub struct EpsilonGreedy {
    stats: Means,
    epsilon: f64,
}

impl EpsilonGreedy {
    /// With exploration share `epsilon`.
    pub fn new(k: usize, epsilon: f64) -> Self {
        EpsilonGreedy {
            stats: Means::new(k),
            epsilon,
        }
    }
}

impl Bandit for EpsilonGreedy {
    fn choose(&mut self, _x: &[f64], rng: &mut SimRng) -> usize {
        if let Some(a) = self.stats.untried() {
            return a;
        }
        if rng.chance(self.epsilon) {
            rng.below(self.stats.means.len())
        } else {
            Means::argmax(self.stats.means.iter().copied())
        }
    }

    fn update(&mut self, _x: &[f64], action: usize, reward: f64) {
        self.stats.add(action, reward);
    }
}

/// UCB1 with the bonus scaled to the reward range: mean + scale sqrt(2 ln t / n).
#[derive(Debug, Clone)]
pub struct Ucb1 {
    stats: Means,
    scale: f64,
    t: f64,
}

impl Ucb1 {
    /// With bonus scale `scale` (the width of the reward range).
    pub fn new(k: usize, scale: f64) -> Self {
        Ucb1 {
            stats: Means::new(k),
            scale,
            t: 0.0,
        }
    }
}

impl Bandit for Ucb1 {
    fn choose(&mut self, _x: &[f64], _rng: &mut SimRng) -> usize {
        if let Some(a) = self.stats.untried() {
            return a;
        }
        let ln_t = self.t.max(1.0).ln();
        Means::argmax(
            self.stats
                .means
                .iter()
                .zip(&self.stats.counts)
                .map(|(m, n)| m + self.scale * (2.0 * ln_t / n).sqrt()),
        )
    }

    fn update(&mut self, _x: &[f64], action: usize, reward: f64) {
        self.t += 1.0;
        self.stats.add(action, reward);
    }
}

/// Gaussian Thompson sampling: arm a's mean ~ N(mean_a, sigma^2 / (n_a + 1)).
#[derive(Debug, Clone)]
pub struct Thompson {
    stats: Means,
    sigma: f64,
}

impl Thompson {
    /// With reward noise scale `sigma`.
    pub fn new(k: usize, sigma: f64) -> Self {
        Thompson {
            stats: Means::new(k),
            sigma,
        }
    }
}

impl Bandit for Thompson {
    fn choose(&mut self, _x: &[f64], rng: &mut SimRng) -> usize {
        let draws: Vec<f64> = self
            .stats
            .means
            .iter()
            .zip(&self.stats.counts)
            .map(|(m, n)| m + self.sigma / (n + 1.0).sqrt() * rng.normal())
            .collect();
        Means::argmax(draws.into_iter())
    }

    fn update(&mut self, _x: &[f64], action: usize, reward: f64) {
        self.stats.add(action, reward);
    }
}

/// The context scaled to comparable ranges, with an intercept (LinUCB's features).
pub fn scaled_features(x: &[f64]) -> Vec<f64> {
    const SCALE: [f64; 9] = [1.0, 1.0, 1.0, 1.0, 10.0, 20.0, 10.0, 24.0, 1.0];
    std::iter::once(1.0)
        .chain(x.iter().zip(SCALE).map(|(v, s)| v / s))
        .collect()
}

/// Disjoint LinUCB (Li et al. 2010): per arm ridge regression, score theta.x + alpha
/// sqrt(x' A^-1 x), A^-1 kept by Sherman-Morrison updates. Each arm is first played d + 1
/// times, and it regresses rewards centred on their running mean, so that the ridge prior
/// (theta = 0) means "average" rather than "worthless".
#[derive(Debug, Clone)]
pub struct LinUcb {
    alpha: f64,
    d: usize,
    a_inv: Vec<Vec<f64>>,
    b: Vec<Vec<f64>>,
    plays: Vec<usize>,
    mean: Means,
}

impl LinUcb {
    /// For `k` arms over contexts of `features` values, exploration `alpha`.
    pub fn new(k: usize, features: usize, alpha: f64) -> Self {
        let d = features + 1;
        let mut eye = vec![0.0; d * d];
        for i in 0..d {
            eye[i * d + i] = 1.0;
        }
        LinUcb {
            alpha,
            d,
            a_inv: vec![eye; k],
            b: vec![vec![0.0; d]; k],
            plays: vec![0; k],
            mean: Means::new(1),
        }
    }

    fn mat_vec(&self, a: usize, x: &[f64]) -> Vec<f64> {
        let m = &self.a_inv[a];
        (0..self.d)
            .map(|i| (0..self.d).map(|j| m[i * self.d + j] * x[j]).sum())
            .collect()
    }
}

impl Bandit for LinUcb {
    fn choose(&mut self, x: &[f64], _rng: &mut SimRng) -> usize {
        if let Some(a) = self.plays.iter().position(|&p| p <= self.d) {
            return a;
        }
        let f = scaled_features(x);
        Means::argmax((0..self.b.len()).map(|a| {
            let ax = self.mat_vec(a, &f);
            let theta_x: f64 = ax.iter().zip(&self.b[a]).map(|(u, v)| u * v).sum();
            let width: f64 = ax.iter().zip(&f).map(|(u, v)| u * v).sum();
            theta_x + self.alpha * width.max(0.0).sqrt()
        }))
    }

    fn update(&mut self, x: &[f64], action: usize, reward: f64) {
        let f = scaled_features(x);
        let ax = self.mat_vec(action, &f);
        let denom = 1.0 + ax.iter().zip(&f).map(|(u, v)| u * v).sum::<f64>();
        let d = self.d;
        let m = &mut self.a_inv[action];
        for i in 0..d {
            for j in 0..d {
                m[i * d + j] -= ax[i] * ax[j] / denom;
            }
        }
        self.plays[action] += 1;
        self.mean.add(0, reward);
        // Centre on the running mean (a slowly moving offset; exact once it settles).
        let centred = reward - self.mean.means[0];
        for (bi, fi) in self.b[action].iter_mut().zip(&f) {
            *bi += centred * fi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(b: &mut dyn Bandit, rounds: usize) -> f64 {
        // Arm 2 pays 1, the others 0, plus noise.
        let mut rng = SimRng::new(5);
        let x = [0.5; 9];
        let mut best = 0;
        for _ in 0..rounds {
            let a = b.choose(&x, &mut rng);
            best += usize::from(a == 2);
            let r = f64::from(u8::from(a == 2)) + 0.3 * rng.normal();
            b.update(&x, a, r);
        }
        best as f64 / rounds as f64
    }

    #[test]
    fn every_algorithm_finds_the_best_arm() {
        assert!(run(&mut EpsilonGreedy::new(4, 0.1), 3000) > 0.85);
        assert!(run(&mut Ucb1::new(4, 1.0), 3000) > 0.9);
        assert!(run(&mut Thompson::new(4, 0.5), 3000) > 0.9);
        assert!(run(&mut LinUcb::new(4, 9, 0.5), 3000) > 0.9);
    }
}
