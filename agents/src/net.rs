//! The actor-critic network: a two-layer tanh trunk, a policy head (one logit per action id),
//! a value head, and a win head (the logit of the probability of winning the episode). Built
//! burn-style from an `ActorCriticConfig`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::tanh;
use burn::tensor::backend::Backend;

/// Policy logits, value and win logit for a batch of observations. The field names are the
/// record's parameter names, and their order is the order of the seeded draws: renaming or
/// reordering them breaks shipped checkpoints and same-seed reproducibility.
#[derive(Module, Debug)]
pub struct ActorCritic<B: Backend> {
    hidden1: Linear<B>,
    hidden2: Linear<B>,
    policy: Linear<B>,
    value: Linear<B>,
    win: Linear<B>,
}

/// The shape of an `ActorCritic`.
#[derive(Config, Debug)]
pub struct ActorCriticConfig {
    /// Observation length.
    pub obs_len: usize,
    /// Action-space size (one logit per action id).
    pub num_actions: usize,
    /// Width of both hidden layers.
    pub hidden: usize,
}

impl ActorCriticConfig {
    /// A freshly initialised network (its parameters are drawn lazily, on first use).
    pub fn init<B: Backend>(&self, device: &B::Device) -> ActorCritic<B> {
        ActorCritic {
            hidden1: LinearConfig::new(self.obs_len, self.hidden).init(device),
            hidden2: LinearConfig::new(self.hidden, self.hidden).init(device),
            policy: LinearConfig::new(self.hidden, self.num_actions).init(device),
            value: LinearConfig::new(self.hidden, 1).init(device),
            win: LinearConfig::new(self.hidden, 1).init(device),
        }
    }
}

impl<B: Backend> ActorCritic<B> {
    /// Logits `[batch, actions]`, values `[batch]` and win logits `[batch]`.
    pub fn forward(&self, observations: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 1>, Tensor<B, 1>) {
        let h = tanh(self.hidden1.forward(observations));
        let h = tanh(self.hidden2.forward(h));
        let logits = self.policy.forward(h.clone());
        let [n, _] = logits.dims();
        let values = self.value.forward(h.clone()).reshape([n]);
        let wins = self.win.forward(h).reshape([n]);
        (logits, values, wins)
    }
}
