//! mechsim-agents: game-agnostic learning agents. Agents see flat `f32` observations and
//! legal-action masks, never games, so one learner trains on any game mechsim registers.
//!
//! The contract shared by training and play (the study's PPO failed exactly where training
//! and play disagreed on layout): a batch of observations with their legal-action masks,
//! masked action selection that can never choose an illegal action, and `Learner`s (PPO and
//! DQN on burn, built from a `LearnerConfig` by `new_learner` or restored by `load_learner`)
//! that act on whole batches at once and learn from rollouts. burn is used here and nowhere
//! else in mechsim.

pub mod checkpoint;
pub mod device;
pub mod dqn;
pub mod factory;
pub mod gae;
mod init;
pub mod learner;
pub mod net;
pub mod ppo;

pub use checkpoint::{CheckpointMeta, read_meta};
pub use device::DeviceKind;
pub use dqn::DqnConfig;
pub use factory::{LearnerConfig, load_learner, new_learner};
pub use learner::{Decision, Learner, Rollout, UniformLearner, UpdateStats};
pub use ppo::PpoConfig;

use thiserror::Error;

/// Errors in building or using a batch.
#[derive(Debug, Error, PartialEq)]
pub enum AgentError {
    /// An observation of the wrong length.
    #[error("observation {index} has length {found}, expected {expected}")]
    ObservationLength {
        /// Row in the batch.
        index: usize,
        /// Its length.
        found: usize,
        /// The declared length.
        expected: usize,
    },
    /// A legal action id outside the action space.
    #[error("row {index}: legal action {action} is outside 0..{num_actions}")]
    ActionOutOfRange {
        /// Row in the batch.
        index: usize,
        /// The action id.
        action: u32,
        /// Size of the action space.
        num_actions: usize,
    },
    /// A row with no legal action.
    #[error("row {index} has no legal action")]
    NoLegalAction {
        /// Row in the batch.
        index: usize,
    },
    /// A backend that this build does not contain, or a device that cannot be used.
    #[error("{0}")]
    Device(String),
    /// Saving or loading a checkpoint failed.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A rollout whose parts disagree in length.
    #[error("malformed rollout: {0}")]
    Rollout(String),
}

/// Observations and legal-action masks of many decisions, row-major, ready for one
/// batched forward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    obs_len: usize,
    num_actions: usize,
    rows: usize,
    observations: Vec<f32>,
    masks: Vec<bool>,
}

impl Batch {
    /// An empty batch for observations of `obs_len` and `num_actions` actions.
    pub fn new(obs_len: usize, num_actions: usize) -> Self {
        Batch {
            obs_len,
            num_actions,
            rows: 0,
            observations: Vec::new(),
            masks: Vec::new(),
        }
    }

    /// Appends one decision: its observation and its legal action ids.
    pub fn push(&mut self, observation: &[f32], legal: &[u32]) -> Result<(), AgentError> {
        let index = self.len();
        if observation.len() != self.obs_len {
            return Err(AgentError::ObservationLength {
                index,
                found: observation.len(),
                expected: self.obs_len,
            });
        }
        if legal.is_empty() {
            return Err(AgentError::NoLegalAction { index });
        }
        let mut mask = vec![false; self.num_actions];
        for &a in legal {
            let slot = mask.get_mut(a as usize).ok_or(AgentError::ActionOutOfRange {
                index,
                action: a,
                num_actions: self.num_actions,
            })?;
            *slot = true;
        }
        self.observations.extend_from_slice(observation);
        self.masks.extend(mask);
        self.rows += 1;
        Ok(())
    }

    /// Number of decisions.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `i`'s observation.
    pub fn observation(&self, i: usize) -> &[f32] {
        &self.observations[i * self.obs_len..(i + 1) * self.obs_len]
    }

    /// Row `i`'s legal-action mask.
    pub fn mask(&self, i: usize) -> &[bool] {
        &self.masks[i * self.num_actions..(i + 1) * self.num_actions]
    }

    /// All observations, row-major (`len() x obs_len`).
    pub fn observations(&self) -> &[f32] {
        &self.observations
    }

    /// All masks, row-major (`len() x num_actions`).
    pub fn masks(&self) -> &[bool] {
        &self.masks
    }

    /// Observation length.
    pub fn obs_len(&self) -> usize {
        self.obs_len
    }

    /// Size of the action space.
    pub fn num_actions(&self) -> usize {
        self.num_actions
    }

    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.rows = 0;
        self.observations.clear();
        self.masks.clear();
    }
}

/// SplitMix64: the small, seeded generator the learners use to shuffle and sample replay.
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Test helpers shared by the learners' tests.
#[cfg(test)]
pub(crate) mod testkit {
    use crate::{Batch, Learner, Rollout, splitmix};

    /// One round of a contextual bandit: 64 contexts c in 0..4 (one-hot), the right action is
    /// c, reward 1 for it and 0 otherwise; with `mask_context0`, action 3 is illegal in
    /// context 0. Returns the rollout and the fraction of right actions.
    pub fn bandit_round(
        learner: &mut dyn Learner,
        state: &mut u64,
        greedy: bool,
        mask_context0: bool,
    ) -> (Rollout, f32) {
        let mut b = Batch::new(4, 4);
        let mut contexts = Vec::new();
        for _ in 0..64 {
            let c = (splitmix(state) % 4) as usize;
            let mut obs = [0.0f32; 4];
            obs[c] = 1.0;
            let legal: Vec<u32> = if c == 0 && mask_context0 {
                vec![0, 1, 2]
            } else {
                vec![0, 1, 2, 3]
            };
            b.push(&obs, &legal).unwrap();
            contexts.push(c);
        }
        let uniforms: Vec<f64> = (0..64)
            .map(|_| (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64)
            .collect();
        let decisions = learner.act(&b, &uniforms, greedy).unwrap();
        let mut r = Rollout::new(4, 4);
        let mut correct = 0.0;
        for (i, d) in decisions.iter().enumerate() {
            let reward = if d.action as usize == contexts[i] { 1.0 } else { 0.0 };
            correct += reward;
            r.observations.extend_from_slice(b.observation(i));
            r.masks.extend_from_slice(b.mask(i));
            r.actions.push(d.action);
            r.log_probs.push(d.log_prob);
            r.values.push(d.value);
            r.rewards.push(reward);
            r.dones.push(true);
            r.outcomes.push(reward);
        }
        (r, correct / 64.0)
    }
}

/// Samples an index from probabilities with one uniform number `u` in [0, 1) (inverse CDF;
/// rows with zero probability are never chosen).
pub fn sample_index(probs: &[f32], u: f64) -> usize {
    let total: f64 = probs.iter().map(|p| f64::from(*p)).sum();
    let mut target = u * total;
    let mut last_positive = 0;
    for (i, p) in probs.iter().enumerate() {
        let p = f64::from(*p);
        if p > 0.0 {
            last_positive = i;
            if target < p {
                return i;
            }
            target -= p;
        }
    }
    last_positive
}

/// Softmax over the legal entries of `logits`; illegal actions get probability exactly 0.
///
/// ```
/// let p = mechsim_agents::masked_softmax(&[2.0, 7.0, 2.0], &[true, false, true]);
/// assert_eq!(p, vec![0.5, 0.0, 0.5]);
/// ```
pub fn masked_softmax(logits: &[f32], mask: &[bool]) -> Vec<f32> {
    let max = logits
        .iter()
        .zip(mask)
        .filter(|(_, m)| **m)
        .map(|(l, _)| *l)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<f32> = logits
        .iter()
        .zip(mask)
        .map(|(l, m)| if *m { (l - max).exp() } else { 0.0 })
        .collect();
    let total: f32 = probs.iter().sum();
    if total > 0.0 && total.is_finite() {
        probs.iter_mut().for_each(|p| *p /= total);
    }
    probs
}

/// The legal action with the largest logit (ties: the lowest id); `None` if none is legal.
///
/// ```
/// use mechsim_agents::{Batch, masked_argmax};
/// let mut batch = Batch::new(2, 3);
/// batch.push(&[0.5, 1.0], &[0, 2]).unwrap();
/// // Action 1 has the largest logit but is illegal here.
/// assert_eq!(masked_argmax(&[0.1, 9.0, 0.3], batch.mask(0)), Some(2));
/// ```
pub fn masked_argmax(logits: &[f32], mask: &[bool]) -> Option<u32> {
    logits
        .iter()
        .zip(mask)
        .enumerate()
        .filter(|(_, (_, m))| **m)
        .fold(None::<(usize, f32)>, |best, (i, (l, _))| match best {
            Some((_, b)) if b >= *l => best,
            _ => Some((i, *l)),
        })
        .map(|(i, _)| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_checks_lengths_and_ids() {
        let mut b = Batch::new(3, 4);
        b.push(&[1.0, 2.0, 3.0], &[0, 2]).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b.mask(0), &[true, false, true, false]);
        assert_eq!(
            b.push(&[1.0], &[0]),
            Err(AgentError::ObservationLength {
                index: 1,
                found: 1,
                expected: 3
            })
        );
        assert_eq!(
            b.push(&[0.0; 3], &[4]),
            Err(AgentError::ActionOutOfRange {
                index: 1,
                action: 4,
                num_actions: 4
            })
        );
        assert_eq!(b.push(&[0.0; 3], &[]), Err(AgentError::NoLegalAction { index: 1 }));
        assert_eq!(b.len(), 1, "failed pushes leave the batch unchanged");
    }

    #[test]
    fn masked_choices_never_pick_illegal_actions() {
        let logits = [5.0, 1.0, 9.0, 1.0];
        let mask = [true, true, false, true];
        assert_eq!(masked_argmax(&logits, &mask), Some(0));
        let p = masked_softmax(&logits, &mask);
        assert_eq!(p[2], 0.0);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((p[1] - p[3]).abs() < 1e-7);
        assert_eq!(masked_argmax(&logits, &[false; 4]), None);
        assert_eq!(masked_argmax(&[1.0, 1.0], &[true, true]), Some(0), "ties: lowest id");
    }
}
