//! The learner contract: act on a whole batch of decisions at once (one forward pass for every
//! table waiting on the learner), learn from a rollout of finished trajectories, save and load.

use std::path::Path;

use crate::{AgentError, Batch};

/// Fails unless `batch` has the learner's observation length and action count.
pub(crate) fn check_shapes(batch: &Batch, obs_len: usize, num_actions: usize) -> Result<(), AgentError> {
    if batch.obs_len() != obs_len || batch.num_actions() != num_actions {
        return Err(AgentError::Rollout(format!(
            "batch shapes {}x{} do not match the learner's {}x{}",
            batch.obs_len(),
            batch.num_actions(),
            obs_len,
            num_actions
        )));
    }
    Ok(())
}

/// What a learner decided for one row of a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The chosen action id (always legal under the row's mask).
    pub action: u32,
    /// Log-probability of that action under the current policy.
    pub log_prob: f32,
    /// The value head's estimate of the return.
    pub value: f32,
    /// The probability of winning the episode, where the learner estimates one.
    pub win_probability: Option<f32>,
}

/// Transitions of finished trajectories, one after another (`dones` marks each end).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollout {
    /// Observation length.
    pub obs_len: usize,
    /// Action-space size.
    pub num_actions: usize,
    /// Observations, row-major.
    pub observations: Vec<f32>,
    /// Legal-action masks, row-major.
    pub masks: Vec<bool>,
    /// Actions taken.
    pub actions: Vec<u32>,
    /// Their log-probabilities when taken.
    pub log_probs: Vec<f32>,
    /// Value estimates when taken.
    pub values: Vec<f32>,
    /// Rewards received after each action (until the player's next decision).
    pub rewards: Vec<f32>,
    /// Whether the trajectory ended after this transition.
    pub dones: Vec<bool>,
    /// Whether the player won the episode this transition belongs to (1 or 0; the target of
    /// win-probability heads).
    pub outcomes: Vec<f32>,
}

impl Rollout {
    /// An empty rollout for the given shapes.
    pub fn new(obs_len: usize, num_actions: usize) -> Self {
        Rollout {
            obs_len,
            num_actions,
            ..Rollout::default()
        }
    }

    /// Keeps the longest prefix of at most `max` transitions that ends a trajectory (whole
    /// trajectories only: a cut one would teach from a return it never saw); returns how
    /// many transitions it dropped.
    pub fn keep_whole_trajectories(&mut self, max: usize) -> usize {
        let len = self.len();
        if len <= max {
            return 0;
        }
        let keep = (1..=max).rev().find(|k| self.dones[k - 1]).unwrap_or(0);
        self.observations.truncate(keep * self.obs_len);
        self.masks.truncate(keep * self.num_actions);
        for v in [
            &mut self.log_probs,
            &mut self.values,
            &mut self.rewards,
            &mut self.outcomes,
        ] {
            v.truncate(keep);
        }
        self.actions.truncate(keep);
        self.dones.truncate(keep);
        len - keep
    }

    /// Number of transitions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Checks that every part has the same number of transitions.
    pub fn validate(&self) -> Result<(), AgentError> {
        let n = self.len();
        let parts = [
            ("observations", self.observations.len(), n * self.obs_len),
            ("masks", self.masks.len(), n * self.num_actions),
            ("log_probs", self.log_probs.len(), n),
            ("values", self.values.len(), n),
            ("rewards", self.rewards.len(), n),
            ("dones", self.dones.len(), n),
            ("outcomes", self.outcomes.len(), n),
        ];
        for (name, found, expected) in parts {
            if found != expected {
                return Err(AgentError::Rollout(format!(
                    "{name} has {found} entries, expected {expected}"
                )));
            }
        }
        if n > 0 && !self.dones[n - 1] {
            return Err(AgentError::Rollout("the last trajectory is not finished".into()));
        }
        Ok(())
    }
}

/// Statistics of one update.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateStats {
    /// Transitions learned from.
    pub samples: usize,
    /// Mean clipped policy loss.
    pub policy_loss: f32,
    /// Mean value loss.
    pub value_loss: f32,
    /// Mean policy entropy.
    pub entropy: f32,
    /// Mean approximate KL divergence from the rollout policy.
    pub approx_kl: f32,
    /// Fraction of samples whose ratio was clipped.
    pub clip_fraction: f32,
}

/// A learning agent over flat observations and legal-action masks.
pub trait Learner: Send {
    /// Decides every row of `batch`: sampled with `uniforms[i]` (one number in [0, 1) per row,
    /// from the caller's seeded stream), or the most probable legal action if `greedy`.
    /// Fails if the batch's shapes differ from the learner's.
    fn act(&mut self, batch: &Batch, uniforms: &[f64], greedy: bool) -> Result<Vec<Decision>, AgentError>;

    /// Learns from finished trajectories.
    fn update(&mut self, rollout: &Rollout) -> Result<UpdateStats, AgentError>;

    /// Saves the network and settings to `path`.
    fn save(&self, path: &Path) -> Result<(), AgentError>;
}

/// A learner that plays uniformly among the legal actions and learns nothing: the baseline
/// for measuring the environment's speed through the batched path.
#[derive(Debug, Clone, Copy, Default)]
pub struct UniformLearner;

impl Learner for UniformLearner {
    fn act(&mut self, batch: &Batch, uniforms: &[f64], _greedy: bool) -> Result<Vec<Decision>, AgentError> {
        Ok((0..batch.len())
            .map(|i| {
                let mask = batch.mask(i);
                let legal = mask.iter().filter(|m| **m).count().max(1);
                let probs: Vec<f32> = mask.iter().map(|m| if *m { 1.0 / legal as f32 } else { 0.0 }).collect();
                let action = crate::sample_index(&probs, uniforms.get(i).copied().unwrap_or(0.5));
                Decision {
                    action: action as u32,
                    log_prob: -(legal as f32).ln(),
                    value: 0.0,
                    win_probability: None,
                }
            })
            .collect())
    }

    fn update(&mut self, rollout: &Rollout) -> Result<UpdateStats, AgentError> {
        rollout.validate()?;
        Ok(UpdateStats {
            samples: rollout.len(),
            ..UpdateStats::default()
        })
    }

    fn save(&self, path: &Path) -> Result<(), AgentError> {
        Err(AgentError::Checkpoint {
            path: path.display().to_string(),
            message: "a uniform learner has no parameters to save".into(),
        })
    }
}

#[cfg(test)]
mod rollout_tests {
    use super::*;

    #[test]
    fn only_whole_trajectories_are_kept() {
        let mut r = Rollout::new(2, 3);
        for (i, done) in [false, true, false, false, true, false].into_iter().enumerate() {
            r.observations.extend([i as f32, 0.0]);
            r.masks.extend([true, false, true]);
            r.actions.push(i as u32);
            r.log_probs.push(0.0);
            r.values.push(0.0);
            r.rewards.push(0.0);
            r.dones.push(done);
            r.outcomes.push(0.0);
        }
        assert_eq!(r.clone().keep_whole_trajectories(10), 0, "under the limit: untouched");
        let mut cut = r.clone();
        assert_eq!(cut.keep_whole_trajectories(4), 4, "the second trajectory ends at 5 > 4");
        assert_eq!((cut.len(), cut.observations.len(), cut.masks.len()), (2, 4, 6));
        assert_eq!(cut.dones, [false, true]);
        let mut cut = r.clone();
        assert_eq!(cut.keep_whole_trajectories(5), 1);
        assert_eq!(cut.actions, [0, 1, 2, 3, 4]);
        let mut none = r;
        assert_eq!(none.keep_whole_trajectories(1), 6);
        assert!(none.is_empty());
    }
}
