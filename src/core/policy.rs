//! `Policy`: anything that picks actions in some game, from a uniform random player to a
//! search or a neural network. Policies get the full state but must only use what the
//! acting player may know (the game's observation and information-state helpers say what).

use crate::core::game::{Action, Game};
use crate::core::rng::SimRng;

/// What a search policy reports about its last decision (logged per decision).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SearchStats {
    /// Simulations (iterations) run for the decision.
    pub simulations: u64,
    /// The search's estimate of the acting player's return, in the game's units.
    pub root_value: f64,
    /// Nodes in the search tree when it decided.
    pub tree_nodes: u64,
    /// The policy's probability of winning the episode, where it estimates one (a forecast
    /// that can be scored later).
    pub win_probability: Option<f64>,
}

/// Anything that picks actions for a player of game `G`.
pub trait Policy<G: Game>: Send {
    /// Chooses a legal action for `player` at `state`. `rng` is this seat's own stream.
    fn act(&mut self, state: &G::State, player: usize, rng: &mut SimRng) -> Action;

    /// The action distribution, where the policy has one (tabular and neural policies).
    fn action_probs(&mut self, _state: &G::State, _player: usize) -> Option<Vec<(Action, f64)>> {
        None
    }

    /// Statistics of the decision `act` just made, for search policies.
    fn last_search(&self) -> Option<SearchStats> {
        None
    }
}
