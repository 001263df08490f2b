//! The actor-critic network: a two-layer tanh trunk, a policy head (one logit per action id),
//! a value head, and a win head (the logit of the probability of winning the episode).

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::tanh;
use burn::tensor::backend::Backend;

/// Policy logits and value for a batch of observations.
#[derive(Module, Debug)]
pub struct ActorCritic<B: Backend> {
    hidden1: Linear<B>,
    hidden2: Linear<B>,
    policy: Linear<B>,
    value: Linear<B>,
    win: Linear<B>,
}

impl<B: Backend> ActorCritic<B> {
    /// A freshly initialised network.
    pub fn new(obs_len: usize, num_actions: usize, hidden: usize, device: &B::Device) -> Self {
        ActorCritic {
            hidden1: LinearConfig::new(obs_len, hidden).init(device),
            hidden2: LinearConfig::new(hidden, hidden).init(device),
            policy: LinearConfig::new(hidden, num_actions).init(device),
            value: LinearConfig::new(hidden, 1).init(device),
            win: LinearConfig::new(hidden, 1).init(device),
        }
    }

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
