//! `random`: a uniform choice among the legal actions, in any game. For Dhumbal this is
//! exactly the study's random baseline: call with probability 1/2 when allowed, a uniform
//! legal discard, pick up with probability 1/2 (each decision point offers two or all
//! options uniformly).

use super::PolicyEntry;
use crate::core::game::{Action, Game, State};
use crate::core::policy::Policy;
use crate::core::rng::SimRng;

/// Uniformly random legal play.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomPolicy;

impl<G: Game> Policy<G> for RandomPolicy {
    fn act(&mut self, state: &G::State, _player: usize, rng: &mut SimRng) -> Action {
        let legal = state.legal_actions();
        legal[rng.below(legal.len())]
    }

    fn action_probs(&mut self, state: &G::State, _player: usize) -> Option<Vec<(Action, f64)>> {
        let legal = state.legal_actions();
        let p = 1.0 / legal.len() as f64;
        Some(legal.into_iter().map(|a| (a, p)).collect())
    }
}

/// The name scenario files use.
pub const NAME: &str = "random";

/// Registry entry.
pub fn entry<G: Game>() -> PolicyEntry<G> {
    PolicyEntry::new(
        NAME,
        "uniformly random legal action at every decision (any game)",
        |_| Ok(Box::new(RandomPolicy)),
    )
}
