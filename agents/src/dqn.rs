//! Deep Q-learning (Mnih et al. 2015) for masked action spaces: an online Q-network trained
//! on minibatches from a replay buffer against a periodically synchronised target network,
//! epsilon-greedy exploration on a linear schedule, and masking everywhere (exploration picks
//! among legal actions only; the greedy choice and the bootstrap maximum skip illegal ones).

use std::path::Path;

use burn::config::Config;
use burn::module::{AutodiffModule, Module};
use burn::nn::{Linear, LinearConfig};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::prelude::ToElement;
use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointMeta, load_weights, read_meta, save_checkpoint};
use crate::init::seeded_init;
use crate::learner::{Decision, Learner, Rollout, UpdateStats};
use crate::{AgentError, Batch, masked_argmax, splitmix};

/// DQN hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DqnConfig {
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Discount.
    pub gamma: f32,
    /// Replay capacity (transitions).
    pub buffer: usize,
    /// Minibatch size.
    pub minibatch: usize,
    /// Replayed samples per new transition (gradient steps per update =
    /// new transitions x replay_ratio / minibatch).
    pub replay_ratio: f32,
    /// Gradient steps between target-network synchronisations.
    pub target_sync: u64,
    /// Exploration at the start.
    pub epsilon_start: f32,
    /// Exploration at the end of the schedule.
    pub epsilon_end: f32,
    /// Learner decisions over which epsilon falls linearly.
    pub epsilon_steps: u64,
    /// Width of the two hidden layers.
    pub hidden: usize,
    /// Gradient-norm clip.
    pub max_grad_norm: f32,
    /// Seed of initialisation and replay sampling.
    pub seed: u64,
}

impl Default for DqnConfig {
    fn default() -> Self {
        DqnConfig {
            learning_rate: 5e-4,
            gamma: 0.99,
            buffer: 100_000,
            minibatch: 128,
            replay_ratio: 4.0,
            target_sync: 500,
            epsilon_start: 1.0,
            epsilon_end: 0.05,
            epsilon_steps: 100_000,
            hidden: 128,
            max_grad_norm: 10.0,
            seed: 0,
        }
    }
}

impl DqnConfig {
    /// The name scenarios and checkpoint side files give DQN.
    pub const ALGORITHM: &'static str = "dqn";

    /// Exploration rate after `steps` learner decisions.
    pub fn epsilon(&self, steps: u64) -> f32 {
        let t = (steps as f32 / self.epsilon_steps.max(1) as f32).min(1.0);
        self.epsilon_start + (self.epsilon_end - self.epsilon_start) * t
    }
}

/// The Q-network: a two-layer ReLU trunk and one value per action id. The field names are the
/// record's parameter names, and their order is the order of the seeded draws: renaming or
/// reordering them breaks saved checkpoints and same-seed reproducibility.
#[derive(Module, Debug)]
pub struct QNetwork<B: Backend> {
    hidden1: Linear<B>,
    hidden2: Linear<B>,
    out: Linear<B>,
}

/// The shape of a `QNetwork`.
#[derive(Config, Debug)]
pub struct QNetworkConfig {
    /// Observation length.
    pub obs_len: usize,
    /// Action-space size (one Q-value per action id).
    pub num_actions: usize,
    /// Width of both hidden layers.
    pub hidden: usize,
}

impl QNetworkConfig {
    /// A freshly initialised network (its parameters are drawn lazily, on first use).
    pub fn init<B: Backend>(&self, device: &B::Device) -> QNetwork<B> {
        QNetwork {
            hidden1: LinearConfig::new(self.obs_len, self.hidden).init(device),
            hidden2: LinearConfig::new(self.hidden, self.hidden).init(device),
            out: LinearConfig::new(self.hidden, self.num_actions).init(device),
        }
    }
}

impl<B: Backend> QNetwork<B> {
    /// Q-values `[batch, actions]`.
    pub fn forward(&self, observations: Tensor<B, 2>) -> Tensor<B, 2> {
        self.out
            .forward(relu(self.hidden2.forward(relu(self.hidden1.forward(observations)))))
    }
}

/// Q-learning targets `r + gamma * max over legal a' of Q_target(s', a')`, with no bootstrap
/// after terminal transitions (or when no action is legal).
pub fn td_targets<B: Backend>(
    rewards: Tensor<B, 1>,
    dones: Tensor<B, 1, Bool>,
    next_q: Tensor<B, 2>,
    next_legal: Tensor<B, 2, Bool>,
    gamma: f32,
) -> Tensor<B, 1> {
    let [n, _] = next_q.dims();
    let any_legal = next_legal.clone().int().sum_dim(1).reshape([n]).greater_elem(0);
    let best = next_q.mask_fill(next_legal.bool_not(), -1.0e9).max_dim(1).reshape([n]);
    let keep = dones.bool_not().bool_and(any_legal);
    let bootstrap = best.mask_fill(keep.bool_not(), 0.0);
    rewards + bootstrap.mul_scalar(gamma)
}

/// Huber loss with threshold 1, averaged.
fn huber<B: Backend>(diff: Tensor<B, 1>) -> Tensor<B, 1> {
    let abs = diff.abs();
    let quadratic = abs.clone().clamp_max(1.0);
    (quadratic.clone() * quadratic.clone())
        .mul_scalar(0.5)
        .add(abs - quadratic)
        .mean()
}

/// A ring buffer of transitions.
#[derive(Debug, Clone, Default)]
struct Replay {
    capacity: usize,
    obs_len: usize,
    num_actions: usize,
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    next_mask: Vec<bool>,
    actions: Vec<u32>,
    rewards: Vec<f32>,
    dones: Vec<bool>,
    len: usize,
    next: usize,
}

impl Replay {
    fn new(capacity: usize, obs_len: usize, num_actions: usize) -> Self {
        let capacity = capacity.max(1);
        Replay {
            capacity,
            obs_len,
            num_actions,
            obs: vec![0.0; capacity * obs_len],
            next_obs: vec![0.0; capacity * obs_len],
            next_mask: vec![false; capacity * num_actions],
            actions: vec![0; capacity],
            rewards: vec![0.0; capacity],
            dones: vec![true; capacity],
            len: 0,
            next: 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(&mut self, obs: &[f32], action: u32, reward: f32, next_obs: Option<(&[f32], &[bool])>) {
        let (o, a, i) = (self.obs_len, self.num_actions, self.next);
        self.obs[i * o..(i + 1) * o].copy_from_slice(obs);
        match next_obs {
            Some((no, nm)) => {
                self.next_obs[i * o..(i + 1) * o].copy_from_slice(no);
                self.next_mask[i * a..(i + 1) * a].copy_from_slice(nm);
                self.dones[i] = false;
            }
            None => {
                self.next_obs[i * o..(i + 1) * o].fill(0.0);
                self.next_mask[i * a..(i + 1) * a].fill(false);
                self.dones[i] = true;
            }
        }
        self.actions[i] = action;
        self.rewards[i] = reward;
        self.next = (i + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }
}

/// DQN on backend `B`.
pub struct Dqn<B: AutodiffBackend> {
    config: DqnConfig,
    obs_len: usize,
    num_actions: usize,
    device: B::Device,
    online: QNetwork<B>,
    target: QNetwork<B>,
    optim: OptimizerAdaptor<Adam, QNetwork<B>, B>,
    replay: Replay,
    decisions: u64,
    gradient_steps: u64,
    sampler: u64,
    updates: u64,
}

impl<B: AutodiffBackend> Dqn<B> {
    /// A fresh learner on `device`.
    pub fn new(obs_len: usize, num_actions: usize, config: DqnConfig, device: B::Device) -> Self {
        let online = seeded_init::<B, _>(&device, config.seed, || {
            QNetworkConfig::new(obs_len, num_actions, config.hidden).init(&device)
        });
        let optim = AdamConfig::new()
            .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(
                config.max_grad_norm,
            )))
            .init();
        Dqn {
            config,
            obs_len,
            num_actions,
            target: online.clone(),
            online,
            optim,
            replay: Replay::new(config.buffer, obs_len, num_actions),
            decisions: 0,
            gradient_steps: 0,
            sampler: config.seed ^ 0xD0_0D,
            updates: 0,
            device,
        }
    }

    /// Loads a learner saved by `save`.
    pub fn load(path: &Path, device: B::Device) -> Result<Self, AgentError> {
        let meta = read_meta(path)?;
        let config: DqnConfig = meta.settings_as(path, "DQN")?;
        let mut dqn = Dqn::new(meta.obs_len, meta.num_actions, config, device);
        dqn.online = load_weights(dqn.online, path, &dqn.device)?;
        dqn.target = dqn.online.clone();
        dqn.updates = meta.updates;
        Ok(dqn)
    }

    /// Q-values for a batch, without gradients.
    pub fn q_values(&self, batch: &Batch) -> Vec<f32> {
        let n = batch.len();
        let model = self.online.valid();
        let obs = Tensor::<B::InnerBackend, 2>::from_data(
            TensorData::new(batch.observations().to_vec(), [n, self.obs_len]),
            &self.device,
        );
        model.forward(obs).into_data().to_vec::<f32>().unwrap_or_default()
    }

    fn gradient_step(&mut self) -> (f32, f32) {
        let m = self.config.minibatch.min(self.replay.len).max(1);
        let (o, a) = (self.obs_len, self.num_actions);
        let idx: Vec<usize> = (0..m)
            .map(|_| (splitmix(&mut self.sampler) % self.replay.len as u64) as usize)
            .collect();
        let r = &self.replay;
        let obs: Vec<f32> = idx
            .iter()
            .flat_map(|i| r.obs[i * o..(i + 1) * o].iter().copied())
            .collect();
        let next_obs: Vec<f32> = idx
            .iter()
            .flat_map(|i| r.next_obs[i * o..(i + 1) * o].iter().copied())
            .collect();
        let next_mask: Vec<bool> = idx
            .iter()
            .flat_map(|i| r.next_mask[i * a..(i + 1) * a].iter().copied())
            .collect();
        let actions: Vec<i32> = idx.iter().map(|i| r.actions[*i] as i32).collect();
        let rewards: Vec<f32> = idx.iter().map(|i| r.rewards[*i]).collect();
        let dones: Vec<bool> = idx.iter().map(|i| r.dones[*i]).collect();
        let d = &self.device;
        let next_q = self
            .target
            .valid()
            .forward(Tensor::from_data(TensorData::new(next_obs, [m, o]), d));
        let targets = td_targets::<B::InnerBackend>(
            Tensor::from_data(TensorData::new(rewards, [m]), d),
            Tensor::from_data(TensorData::new(dones, [m]), d),
            next_q,
            Tensor::from_data(TensorData::new(next_mask, [m, a]), d),
            self.config.gamma,
        );
        let q = self.online.forward(Tensor::from_data(TensorData::new(obs, [m, o]), d));
        let taken = q
            .gather(
                1,
                Tensor::<B, 1, Int>::from_data(TensorData::new(actions, [m]), d).reshape([m, 1]),
            )
            .reshape([m]);
        let mean_q = taken.clone().mean().into_scalar().to_f32();
        let loss = huber(taken - Tensor::from_inner(targets));
        let loss_value = loss.clone().into_scalar().to_f32();
        let grads = GradientsParams::from_grads(loss.backward(), &self.online);
        self.online = self.optim.step(self.config.learning_rate, self.online.clone(), grads);
        self.gradient_steps += 1;
        if self.gradient_steps.is_multiple_of(self.config.target_sync.max(1)) {
            self.target = self.online.clone();
        }
        (loss_value, mean_q)
    }
}

impl<B: AutodiffBackend> Learner for Dqn<B> {
    fn act(&mut self, batch: &Batch, uniforms: &[f64], greedy: bool) -> Result<Vec<Decision>, AgentError> {
        crate::learner::check_shapes(batch, self.obs_len, self.num_actions)?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let q = self.q_values(batch);
        let a = self.num_actions;
        let epsilon = f64::from(self.config.epsilon(self.decisions));
        let decisions = (0..batch.len())
            .map(|i| {
                let row = &q[i * a..(i + 1) * a];
                let mask = batch.mask(i);
                let best = masked_argmax(row, mask).unwrap_or(0);
                let u = uniforms.get(i).copied().unwrap_or(0.5);
                let action = if !greedy && u < epsilon {
                    // Reuse the same uniform, rescaled, to pick a legal action at random.
                    let legal: Vec<u32> = (0..a as u32).filter(|x| mask[*x as usize]).collect();
                    legal[((u / epsilon) * legal.len() as f64) as usize % legal.len()]
                } else {
                    best
                };
                Decision {
                    action,
                    log_prob: 0.0,
                    value: row[best as usize],
                    win_probability: None,
                }
            })
            .collect();
        if !greedy {
            self.decisions += batch.len() as u64;
        }
        Ok(decisions)
    }

    /// Adds the rollout to the replay buffer, then takes `replay_ratio x new / minibatch`
    /// gradient steps. `policy_loss` reports the TD loss, `value_loss` the mean Q of the
    /// sampled actions and `entropy` the current epsilon.
    fn update(&mut self, rollout: &Rollout) -> Result<UpdateStats, AgentError> {
        rollout.validate()?;
        if (rollout.obs_len, rollout.num_actions) != (self.obs_len, self.num_actions) {
            return Err(AgentError::Rollout("rollout shapes do not match the learner's".into()));
        }
        let (o, a, n) = (self.obs_len, self.num_actions, rollout.len());
        for i in 0..n {
            let next = (!rollout.dones[i] && i + 1 < n).then(|| {
                (
                    &rollout.observations[(i + 1) * o..(i + 2) * o],
                    &rollout.masks[(i + 1) * a..(i + 2) * a],
                )
            });
            self.replay.push(
                &rollout.observations[i * o..(i + 1) * o],
                rollout.actions[i],
                rollout.rewards[i],
                next,
            );
        }
        let steps = ((n as f32 * self.config.replay_ratio) / self.config.minibatch.max(1) as f32)
            .ceil()
            .max(1.0) as usize;
        let (mut loss, mut mean_q) = (0.0, 0.0);
        for _ in 0..steps {
            let (l, q) = self.gradient_step();
            loss += l;
            mean_q += q;
        }
        self.updates += 1;
        Ok(UpdateStats {
            samples: n,
            policy_loss: loss / steps as f32,
            value_loss: mean_q / steps as f32,
            entropy: self.config.epsilon(self.decisions),
            approx_kl: 0.0,
            clip_fraction: 0.0,
        })
    }

    fn save(&self, path: &Path) -> Result<(), AgentError> {
        let meta = CheckpointMeta {
            algorithm: DqnConfig::ALGORITHM.into(),
            obs_len: self.obs_len,
            num_actions: self.num_actions,
            settings: serde_json::to_value(self.config).unwrap_or_default(),
            updates: self.updates,
        };
        save_checkpoint(self.online.clone(), path, &meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    type Cpu = Autodiff<Flex>;

    #[test]
    fn td_targets_by_hand() {
        let d = Default::default();
        let rewards = Tensor::<Flex, 1>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.5], [3]), &d);
        let dones = Tensor::<Flex, 1, Bool>::from_data(TensorData::new(vec![false, true, false], [3]), &d);
        let next_q = Tensor::<Flex, 2>::from_data(
            TensorData::new(vec![2.0f32, 9.0, 1.0, 5.0, 5.0, 5.0, 3.0, 4.0, 7.0], [3, 3]),
            &d,
        );
        let legal = Tensor::<Flex, 2, Bool>::from_data(
            TensorData::new(vec![true, false, true, true, true, true, false, false, false], [3, 3]),
            &d,
        );
        // Row 0: the 9 is illegal, so max = 2 -> 1 + 0.9 * 2 = 2.8; row 1 is terminal -> 0;
        // row 2 has no legal action -> no bootstrap -> 0.5.
        let t = td_targets(rewards, dones, next_q, legal, 0.9)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        for (x, y) in t.iter().zip([2.8f32, 0.0, 0.5]) {
            assert!((x - y).abs() < 1e-6, "{t:?}");
        }
    }

    #[test]
    fn epsilon_falls_linearly_and_exploration_stays_legal() {
        let c = DqnConfig {
            epsilon_steps: 100,
            ..DqnConfig::default()
        };
        assert_eq!(c.epsilon(0), 1.0);
        assert!((c.epsilon(50) - 0.525).abs() < 1e-6);
        assert!((c.epsilon(1000) - 0.05).abs() < 1e-6);
        let mut dqn = Dqn::<Cpu>::new(3, 4, c, Default::default());
        let mut b = Batch::new(3, 4);
        for i in 0..50 {
            b.push(&[i as f32, 1.0, 0.0], &[1, 3]).unwrap();
        }
        let u: Vec<f64> = (0..50).map(|i| i as f64 / 50.0).collect();
        for greedy in [false, true] {
            for d in dqn.act(&b, &u, greedy).unwrap() {
                assert!(d.action == 1 || d.action == 3, "illegal action {}", d.action);
            }
        }
    }

    #[test]
    fn dqn_learns_a_bandit_and_checkpoints_round_trip() {
        let config = DqnConfig {
            learning_rate: 3e-3,
            minibatch: 32,
            epsilon_steps: 2000,
            hidden: 32,
            seed: 2,
            ..DqnConfig::default()
        };
        let mut dqn = Dqn::<Cpu>::new(4, 4, config, Default::default());
        let mut state = 5u64;
        let round =
            |dqn: &mut Dqn<Cpu>, state: &mut u64, greedy: bool| crate::testkit::bandit_round(dqn, state, greedy, false);
        for _ in 0..80 {
            let (r, _) = round(&mut dqn, &mut state, false);
            dqn.update(&r).unwrap();
        }
        let (_, accuracy) = round(&mut dqn, &mut state, true);
        assert!(accuracy > 0.9, "greedy accuracy {accuracy}");
        let path = std::env::temp_dir().join(format!("mechsim-dqn-{}/q.mpk", std::process::id()));
        dqn.save(&path).unwrap();
        let mut loaded = Dqn::<Cpu>::load(&path, Default::default()).unwrap();
        let mut b = Batch::new(4, 4);
        b.push(&[0.0, 1.0, 0.0, 0.0], &[0, 1, 2, 3]).unwrap();
        assert_eq!(
            loaded.act(&b, &[0.9], true).unwrap(),
            dqn.act(&b, &[0.9], true).unwrap()
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
