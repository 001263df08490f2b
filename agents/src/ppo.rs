//! Proximal policy optimisation (Schulman et al. 2017) with the details that matter in
//! practice: GAE advantages, normalised per update; the clipped surrogate objective; a value
//! loss; an entropy bonus; several epochs of shuffled minibatches; gradient-norm clipping;
//! and masked logits, so illegal actions get probability exactly zero both when acting and
//! when learning.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::prelude::ToElement;
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointMeta, load_weights, read_meta, save_checkpoint};
use crate::gae::gae;
use crate::init::seeded_init;
use crate::learner::{Decision, Learner, Rollout, UpdateStats};
use crate::net::{ActorCritic, ActorCriticConfig};
use crate::{AgentError, Batch, sample_index, splitmix};

/// Logit given to illegal actions: exp(-1e9) is exactly 0 in f32.
const MASKED_LOGIT: f32 = -1.0e9;

/// PPO hyper-parameters (defaults follow common practice for small discrete games).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PpoConfig {
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Discount.
    pub gamma: f32,
    /// GAE lambda.
    pub gae_lambda: f32,
    /// Surrogate clipping epsilon.
    pub clip: f32,
    /// Weight of the value loss.
    pub value_coef: f32,
    /// Weight of the entropy bonus.
    pub entropy_coef: f32,
    /// Passes over each rollout.
    pub epochs: usize,
    /// Minibatch size.
    pub minibatch: usize,
    /// Gradient-norm clip.
    pub max_grad_norm: f32,
    /// Width of the two hidden layers.
    pub hidden: usize,
    /// Seed of weight initialisation and minibatch shuffling.
    pub seed: u64,
    /// Weight of the win head's logistic loss.
    #[serde(default = "default_win_coef")]
    pub win_coef: f32,
}

impl PpoConfig {
    /// The name scenarios and checkpoint side files give PPO.
    pub const ALGORITHM: &'static str = "ppo";
}

fn default_win_coef() -> f32 {
    0.5
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            learning_rate: 3e-4,
            gamma: 0.99,
            gae_lambda: 0.95,
            clip: 0.2,
            value_coef: 0.5,
            entropy_coef: 0.01,
            epochs: 4,
            minibatch: 256,
            max_grad_norm: 0.5,
            hidden: 128,
            seed: 0,
            win_coef: 0.5,
        }
    }
}

/// PPO on backend `B`.
pub struct Ppo<B: AutodiffBackend> {
    config: PpoConfig,
    obs_len: usize,
    num_actions: usize,
    device: B::Device,
    model: ActorCritic<B>,
    optim: OptimizerAdaptor<Adam, ActorCritic<B>, B>,
    shuffle: u64,
    updates: u64,
}

/// The loss terms of one minibatch (for logging and tests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossTerms {
    /// Clipped surrogate loss (to minimise).
    pub policy: f32,
    /// Squared value error.
    pub value: f32,
    /// Mean entropy of the masked policy.
    pub entropy: f32,
    /// Mean approximate KL (old log-prob minus new).
    pub approx_kl: f32,
    /// Fraction of ratios outside [1 - clip, 1 + clip].
    pub clip_fraction: f32,
}

/// Masked log-probabilities `[n, actions]` from logits and a boolean mask.
pub fn masked_log_probs<B: Backend>(logits: Tensor<B, 2>, legal: Tensor<B, 2, Bool>) -> Tensor<B, 2> {
    log_softmax(logits.mask_fill(legal.bool_not(), MASKED_LOGIT), 1)
}

/// Mean logistic loss of logits against 0/1 targets, in the stable form
/// `max(x, 0) - x * y + log(1 + exp(-|x|))`.
pub fn logistic_loss<B: Backend>(logits: Tensor<B, 1>, targets: Tensor<B, 1>) -> Tensor<B, 1> {
    let softplus_tail = logits.clone().abs().neg().exp().add_scalar(1.0).log();
    (burn::tensor::activation::relu(logits.clone()) - logits * targets + softplus_tail).mean()
}

/// Computes the PPO loss on one minibatch; returns the scalar loss tensor and its terms.
#[allow(clippy::too_many_arguments)]
pub fn ppo_loss<B: Backend>(
    logits: Tensor<B, 2>,
    values: Tensor<B, 1>,
    legal: Tensor<B, 2, Bool>,
    actions: Tensor<B, 1, Int>,
    old_log_probs: Tensor<B, 1>,
    advantages: Tensor<B, 1>,
    returns: Tensor<B, 1>,
    config: &PpoConfig,
) -> (Tensor<B, 1>, LossTerms) {
    let [n, _] = logits.dims();
    let log_probs = masked_log_probs(logits, legal);
    let taken = log_probs.clone().gather(1, actions.reshape([n, 1])).reshape([n]);
    let log_ratio = taken - old_log_probs;
    let ratio = log_ratio.clone().exp();
    let surrogate = ratio.clone() * advantages.clone();
    let clipped = ratio.clone().clamp(1.0 - config.clip, 1.0 + config.clip) * advantages;
    let policy_loss = surrogate.min_pair(clipped).mean().neg();
    let value_loss = (values - returns).powi_scalar(2).mean();
    let entropy = (log_probs.clone().exp() * log_probs).sum_dim(1).mean().neg();
    let loss = policy_loss.clone() + value_loss.clone().mul_scalar(config.value_coef)
        - entropy.clone().mul_scalar(config.entropy_coef);
    let clip_fraction = (ratio - 1.0).abs().greater_elem(config.clip).float().mean();
    let terms = LossTerms {
        policy: policy_loss.into_scalar().to_f32(),
        value: value_loss.into_scalar().to_f32(),
        entropy: entropy.into_scalar().to_f32(),
        approx_kl: log_ratio.neg().mean().into_scalar().to_f32(),
        clip_fraction: clip_fraction.into_scalar().to_f32(),
    };
    (loss, terms)
}

impl<B: AutodiffBackend> Ppo<B> {
    /// A fresh learner on `device`.
    pub fn new(obs_len: usize, num_actions: usize, config: PpoConfig, device: B::Device) -> Self {
        let model = seeded_init::<B, _>(&device, config.seed, || {
            ActorCriticConfig::new(obs_len, num_actions, config.hidden).init(&device)
        });
        let optim = AdamConfig::new()
            .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(
                config.max_grad_norm,
            )))
            .init();
        Ppo {
            config,
            obs_len,
            num_actions,
            device,
            model,
            optim,
            shuffle: config.seed ^ 0x5EED_CAFE,
            updates: 0,
        }
    }

    /// Loads a learner saved by `save` (the `.json` side file says how to rebuild it).
    pub fn load(path: &Path, device: B::Device) -> Result<Self, AgentError> {
        let meta = read_meta(path)?;
        let config: PpoConfig = meta.settings_as(path, "PPO")?;
        let mut ppo = Ppo::new(meta.obs_len, meta.num_actions, config, device);
        ppo.model = load_weights(ppo.model, path, &ppo.device)?;
        ppo.updates = meta.updates;
        Ok(ppo)
    }

    fn tensor2(&self, data: Vec<f32>, rows: usize, cols: usize) -> Tensor<B, 2> {
        Tensor::from_data(TensorData::new(data, [rows, cols]), &self.device)
    }

    fn mask2(&self, data: Vec<bool>, rows: usize, cols: usize) -> Tensor<B, 2, Bool> {
        Tensor::from_data(TensorData::new(data, [rows, cols]), &self.device)
    }

    fn tensor1(&self, data: Vec<f32>) -> Tensor<B, 1> {
        let n = data.len();
        Tensor::from_data(TensorData::new(data, [n]), &self.device)
    }

    /// Action probabilities, values and win probabilities for a batch, without gradients.
    pub fn evaluate(&self, batch: &Batch) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let n = batch.len();
        let model = self.model.valid();
        let obs = Tensor::<B::InnerBackend, 2>::from_data(
            TensorData::new(batch.observations().to_vec(), [n, self.obs_len]),
            &self.device,
        );
        let legal = Tensor::<B::InnerBackend, 2, Bool>::from_data(
            TensorData::new(batch.masks().to_vec(), [n, self.num_actions]),
            &self.device,
        );
        let (logits, values, wins) = model.forward(obs);
        let probs = masked_log_probs(logits, legal).exp();
        let probs = probs.into_data().to_vec::<f32>().unwrap_or_default();
        let values = values.into_data().to_vec::<f32>().unwrap_or_default();
        let wins = burn::tensor::activation::sigmoid(wins)
            .into_data()
            .to_vec::<f32>()
            .unwrap_or_default();
        (probs, values, wins)
    }
}

impl<B: AutodiffBackend> Learner for Ppo<B> {
    fn act(&mut self, batch: &Batch, uniforms: &[f64], greedy: bool) -> Result<Vec<Decision>, AgentError> {
        crate::learner::check_shapes(batch, self.obs_len, self.num_actions)?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let (probs, values, wins) = self.evaluate(batch);
        let a = self.num_actions;
        Ok((0..batch.len())
            .map(|i| {
                let row = &probs[i * a..(i + 1) * a];
                let action = if greedy {
                    crate::masked_argmax(row, batch.mask(i)).unwrap_or(0) as usize
                } else {
                    sample_index(row, uniforms.get(i).copied().unwrap_or(0.5))
                };
                Decision {
                    action: action as u32,
                    log_prob: row[action].max(f32::MIN_POSITIVE).ln(),
                    value: values[i],
                    win_probability: wins.get(i).copied(),
                }
            })
            .collect())
    }

    fn update(&mut self, rollout: &Rollout) -> Result<UpdateStats, AgentError> {
        rollout.validate()?;
        if rollout.obs_len != self.obs_len || rollout.num_actions != self.num_actions {
            return Err(AgentError::Rollout(format!(
                "shapes {}x{} do not match the learner's {}x{}",
                rollout.obs_len, rollout.num_actions, self.obs_len, self.num_actions
            )));
        }
        let n = rollout.len();
        if n == 0 {
            return Ok(UpdateStats::default());
        }
        let c = self.config;
        let (mut advantages, returns) = gae(&rollout.rewards, &rollout.values, &rollout.dones, c.gamma, c.gae_lambda);
        let mean = advantages.iter().sum::<f32>() / n as f32;
        let std = (advantages.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n as f32)
            .sqrt()
            .max(1e-8);
        advantages.iter_mut().for_each(|x| *x = (*x - mean) / std);
        let mut order: Vec<usize> = (0..n).collect();
        let mut totals = UpdateStats {
            samples: n,
            ..UpdateStats::default()
        };
        let mut batches = 0usize;
        for _ in 0..c.epochs.max(1) {
            for i in (1..n).rev() {
                let j = (splitmix(&mut self.shuffle) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for chunk in order.chunks(c.minibatch.max(1)) {
                let m = chunk.len();
                let (ol, na) = (self.obs_len, self.num_actions);
                let obs: Vec<f32> = chunk
                    .iter()
                    .flat_map(|i| rollout.observations[i * ol..(i + 1) * ol].iter().copied())
                    .collect();
                let masks: Vec<bool> = chunk
                    .iter()
                    .flat_map(|i| rollout.masks[i * na..(i + 1) * na].iter().copied())
                    .collect();
                let actions: Vec<i32> = chunk.iter().map(|i| rollout.actions[*i] as i32).collect();
                let (logits, values, win_logits) = self.model.forward(self.tensor2(obs, m, ol));
                let outcomes = self.tensor1(chunk.iter().map(|i| rollout.outcomes[*i]).collect());
                let (loss, terms) = ppo_loss(
                    logits,
                    values,
                    self.mask2(masks, m, na),
                    Tensor::from_data(TensorData::new(actions, [m]), &self.device),
                    self.tensor1(chunk.iter().map(|i| rollout.log_probs[*i]).collect()),
                    self.tensor1(chunk.iter().map(|i| advantages[*i]).collect()),
                    self.tensor1(chunk.iter().map(|i| returns[*i]).collect()),
                    &c,
                );
                let win_loss = logistic_loss(win_logits, outcomes);
                let loss = loss + win_loss.mul_scalar(c.win_coef);
                let grads = GradientsParams::from_grads(loss.backward(), &self.model);
                self.model = self.optim.step(c.learning_rate, self.model.clone(), grads);
                totals.policy_loss += terms.policy;
                totals.value_loss += terms.value;
                totals.entropy += terms.entropy;
                totals.approx_kl += terms.approx_kl;
                totals.clip_fraction += terms.clip_fraction;
                batches += 1;
            }
        }
        let k = batches.max(1) as f32;
        totals.policy_loss /= k;
        totals.value_loss /= k;
        totals.entropy /= k;
        totals.approx_kl /= k;
        totals.clip_fraction /= k;
        self.updates += 1;
        Ok(totals)
    }

    fn save(&self, path: &Path) -> Result<(), AgentError> {
        let meta = CheckpointMeta {
            algorithm: PpoConfig::ALGORITHM.into(),
            obs_len: self.obs_len,
            num_actions: self.num_actions,
            settings: serde_json::to_value(self.config).unwrap_or_default(),
            updates: self.updates,
        };
        save_checkpoint(self.model.clone(), path, &meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::CpuBackend;
    use burn::backend::Flex;

    fn cpu(obs_len: usize, actions: usize, config: PpoConfig) -> Ppo<CpuBackend> {
        Ppo::new(obs_len, actions, config, Default::default())
    }

    #[test]
    fn loss_terms_match_a_hand_computation() {
        // Two samples, three actions; the first has action 2 masked out.
        let d = Default::default();
        let logits = Tensor::<Flex, 2>::from_data(TensorData::new(vec![0.0f32, 0.0, 0.0, 1.0, 2.0, 3.0], [2, 3]), &d);
        let legal =
            Tensor::<Flex, 2, Bool>::from_data(TensorData::new(vec![true, true, false, true, true, true], [2, 3]), &d);
        let actions = Tensor::<Flex, 1, Int>::from_data(TensorData::new(vec![0i32, 2], [2]), &d);
        let old = Tensor::<Flex, 1>::from_data(TensorData::new(vec![0.4f32.ln(), 0.5f32.ln()], [2]), &d);
        let adv = Tensor::<Flex, 1>::from_data(TensorData::new(vec![1.0f32, -1.0], [2]), &d);
        let ret = Tensor::<Flex, 1>::from_data(TensorData::new(vec![1.0f32, 0.0], [2]), &d);
        let values = Tensor::<Flex, 1>::from_data(TensorData::new(vec![0.5f32, 0.2], [2]), &d);
        let config = PpoConfig::default();
        let (loss, t) = ppo_loss(logits, values, legal, actions, old, adv, ret, &config);
        // Reference values computed independently with NumPy.
        let close = |a: f32, b: f64| assert!((f64::from(a) - b).abs() < 1e-5, "{a} vs {b}");
        close(t.policy, 0.065_240_955_774_821_7);
        close(t.value, 0.145);
        close(t.entropy, 0.762_771_381_199_942_1);
        close(t.approx_kl, -0.254_342_383_714_887_2);
        close(t.clip_fraction, 1.0);
        close(
            loss.into_scalar().to_f32(),
            0.065_240_955_774_821_7 + 0.5 * 0.145 - 0.01 * 0.762_771_381_199_942_1,
        );
    }

    fn batch(rows: usize) -> Batch {
        let mut b = Batch::new(4, 5);
        for i in 0..rows {
            let obs = [i as f32 / 10.0, 1.0, -0.5, (i % 3) as f32];
            let legal: Vec<u32> = (0..5).filter(|a| (a + i as u32).is_multiple_of(2)).collect();
            b.push(&obs, &legal).unwrap();
        }
        b
    }

    #[test]
    fn illegal_actions_are_never_chosen_and_probabilities_sum_to_one() {
        let mut ppo = cpu(4, 5, PpoConfig::default());
        let b = batch(40);
        let (probs, _, wins) = ppo.evaluate(&b);
        assert!(
            wins.iter().all(|w| (0.0..=1.0).contains(w)),
            "win probabilities are probabilities"
        );
        for i in 0..b.len() {
            let row = &probs[i * 5..(i + 1) * 5];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            for (p, legal) in row.iter().zip(b.mask(i)) {
                if !legal {
                    assert_eq!(*p, 0.0, "an illegal action has probability exactly 0");
                }
            }
        }
        let uniforms: Vec<f64> = (0..40).map(|i| (i as f64 + 0.5) / 40.0).collect();
        for greedy in [false, true] {
            for (i, d) in ppo.act(&b, &uniforms, greedy).unwrap().iter().enumerate() {
                assert!(b.mask(i)[d.action as usize], "row {i}: illegal action {}", d.action);
            }
        }
    }

    #[test]
    fn checkpoints_restore_identical_decisions() {
        let dir = std::env::temp_dir().join(format!("mechsim-ppo-{}", std::process::id()));
        let path = dir.join("net.mpk");
        let mut ppo = cpu(
            4,
            5,
            PpoConfig {
                seed: 3,
                ..PpoConfig::default()
            },
        );
        let b = batch(12);
        let uniforms: Vec<f64> = (0..12).map(|i| i as f64 / 12.0).collect();
        let before = ppo.act(&b, &uniforms, false).unwrap();
        ppo.save(&path).unwrap();
        let mut loaded = Ppo::<CpuBackend>::load(&path, Default::default()).unwrap();
        assert_eq!(loaded.act(&b, &uniforms, false).unwrap(), before);
        assert_eq!(
            loaded.act(&b, &uniforms, true).unwrap(),
            ppo.act(&b, &uniforms, true).unwrap()
        );
        let missing = Ppo::<CpuBackend>::load(&dir.join("nope.mpk"), Default::default())
            .err()
            .unwrap();
        assert!(missing.to_string().contains("nope.mpk.json"), "{missing}");
        let _ = std::fs::remove_dir_all(dir);
    }

    fn bandit_round(ppo: &mut Ppo<CpuBackend>, state: &mut u64, greedy: bool) -> (Rollout, f32) {
        crate::testkit::bandit_round(ppo, state, greedy, true)
    }

    #[test]
    fn a_tiny_training_run_learns_the_bandit() {
        let config = PpoConfig {
            learning_rate: 3e-3,
            minibatch: 32,
            hidden: 32,
            seed: 1,
            ..PpoConfig::default()
        };
        let mut ppo = cpu(4, 4, config);
        let mut state = 7u64;
        let (_, before) = bandit_round(&mut ppo, &mut state, true);
        for _ in 0..60 {
            let (rollout, _) = bandit_round(&mut ppo, &mut state, false);
            let stats = ppo.update(&rollout).unwrap();
            assert!(stats.samples == 64 && stats.entropy.is_finite());
        }
        let (_, after) = bandit_round(&mut ppo, &mut state, true);
        assert!(after > 0.95 && after > before + 0.3, "accuracy {before} -> {after}");
    }

    #[test]
    fn same_seed_same_learning() {
        let run = || {
            let mut ppo = cpu(
                4,
                4,
                PpoConfig {
                    seed: 9,
                    minibatch: 16,
                    ..PpoConfig::default()
                },
            );
            let mut state = 1u64;
            let (rollout, _) = bandit_round(&mut ppo, &mut state, false);
            let stats = ppo.update(&rollout).unwrap();
            let (_, acc) = bandit_round(&mut ppo, &mut state, true);
            let mut probe = Batch::new(4, 4);
            probe.push(&[1.0, 0.0, 0.0, 0.0], &[0, 1, 2]).unwrap();
            (stats, acc, ppo.evaluate(&probe))
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn logistic_loss_by_hand() {
        let d = Default::default();
        let x = Tensor::<Flex, 1>::from_data(TensorData::new(vec![0.0f32, 2.0, -3.0], [3]), &d);
        let y = Tensor::<Flex, 1>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0], [3]), &d);
        // ln 2, ln(1 + e^2), ln(1 + e^-3), averaged.
        let expected = ((2.0f64).ln() + (1.0 + 2.0f64.exp()).ln() + (1.0 + (-3.0f64).exp()).ln()) / 3.0;
        let got = logistic_loss(x, y).into_scalar().to_f32();
        assert!((f64::from(got) - expected).abs() < 1e-5, "{got} vs {expected}");
    }

    #[test]
    fn the_win_head_learns_which_contexts_win() {
        // Context 0 always wins, context 1 never: the win head must separate them.
        let mut ppo = cpu(
            2,
            2,
            PpoConfig {
                learning_rate: 1e-2,
                minibatch: 64,
                hidden: 16,
                seed: 4,
                ..PpoConfig::default()
            },
        );
        let mut r = Rollout::new(2, 2);
        for i in 0..128 {
            let c = i % 2;
            r.observations
                .extend_from_slice(if c == 0 { &[1.0, 0.0] } else { &[0.0, 1.0] });
            r.masks.extend_from_slice(&[true, true]);
            r.actions.push(0);
            r.log_probs.push(0.5f32.ln());
            r.values.push(0.0);
            r.rewards.push(0.0);
            r.dones.push(true);
            r.outcomes.push(if c == 0 { 1.0 } else { 0.0 });
        }
        for _ in 0..30 {
            ppo.update(&r).unwrap();
        }
        let mut b = Batch::new(2, 2);
        b.push(&[1.0, 0.0], &[0, 1]).unwrap();
        b.push(&[0.0, 1.0], &[0, 1]).unwrap();
        let d = ppo.act(&b, &[0.5, 0.5], true).unwrap();
        let (win, lose) = (d[0].win_probability.unwrap(), d[1].win_probability.unwrap());
        assert!(win > 0.8 && lose < 0.2, "{win} vs {lose}");
    }

    #[test]
    fn malformed_rollouts_and_batches_are_rejected() {
        let mut ppo = cpu(4, 4, PpoConfig::default());
        let e = ppo.act(&batch(2), &[0.5, 0.5], false).unwrap_err().to_string();
        assert!(e.contains("batch shapes 4x5 do not match the learner's 4x4"), "{e}");
        let mut r = Rollout::new(4, 4);
        r.actions.push(0);
        let e = ppo.update(&r).unwrap_err().to_string();
        assert!(e.contains("observations has 0 entries, expected 4"), "{e}");
    }
}
