//! Game-generic search and solving: MCTS (UCT) for perfect-information games, single-observer
//! ISMCTS for games that can resample hidden information, CFR / CFR+ / external-sampling
//! MCCFR producing average policies, and exact best response and NashConv for checking any
//! policy. Everything here works on the `Game`/`State` traits alone; nothing clones a World.

pub mod best_response;
pub mod cfr;
pub mod ismcts;
pub mod mcts;
pub mod tabular;
pub mod tree;

use std::time::{Duration, Instant};

use crate::core::game::{Action, Game, State, Turn};
use crate::core::rng::SimRng;

/// Estimates each player's return from a state (a rollout, or later a value network).
pub trait Evaluator<G: Game>: Send {
    /// Per-player value estimates of `state`.
    fn evaluate(&mut self, state: &G::State, rng: &mut SimRng) -> Vec<f64>;

    /// The same for a state the caller no longer needs (rollouts may play it in place).
    fn evaluate_owned(&mut self, state: G::State, rng: &mut SimRng) -> Vec<f64> {
        self.evaluate(&state, rng)
    }
}

/// Plays uniformly random actions (and samples chance) to the end, `rollouts` times, and
/// averages the returns.
#[derive(Debug, Clone, Copy)]
pub struct RandomRollout {
    /// Rollouts per evaluation (at least 1).
    pub rollouts: usize,
}

impl Default for RandomRollout {
    fn default() -> Self {
        RandomRollout { rollouts: 1 }
    }
}

/// Plays `state` to the end with uniformly random actions, sampling chance by its odds.
pub fn random_playout<S: State>(state: &mut S, rng: &mut SimRng) {
    let mut legal = Vec::with_capacity(32);
    loop {
        match state.turn() {
            Turn::Terminal => return,
            Turn::Chance => {
                let outcomes = state.chance_outcomes();
                let weights: Vec<f64> = outcomes.iter().map(|(_, p)| *p).collect();
                state.apply_action(outcomes[rng.weighted_index(&weights)].0);
            }
            Turn::Player(_) => {
                state.legal_actions_into(&mut legal);
                state.apply_action(legal[rng.below(legal.len())]);
            }
        }
    }
}

/// Samples a chance outcome by its probability.
pub fn sample_chance<S: State>(state: &S, rng: &mut SimRng) -> Action {
    let outcomes = state.chance_outcomes();
    let weights: Vec<f64> = outcomes.iter().map(|(_, p)| *p).collect();
    outcomes[rng.weighted_index(&weights)].0
}

impl<G: Game> Evaluator<G> for RandomRollout {
    fn evaluate_owned(&mut self, mut state: G::State, rng: &mut SimRng) -> Vec<f64> {
        if self.rollouts <= 1 {
            random_playout(&mut state, rng);
            state.returns()
        } else {
            <Self as Evaluator<G>>::evaluate(self, &state, rng)
        }
    }

    fn evaluate(&mut self, state: &G::State, rng: &mut SimRng) -> Vec<f64> {
        let n = self.rollouts.max(1);
        let mut total: Vec<f64> = Vec::new();
        for _ in 0..n {
            let mut s = state.clone();
            random_playout(&mut s, rng);
            let r = s.returns();
            if total.is_empty() {
                total = r;
            } else {
                total.iter_mut().zip(r).for_each(|(t, x)| *t += x);
            }
        }
        total.iter_mut().for_each(|t| *t /= n as f64);
        total
    }
}

/// Plays every player with one policy from the state to the end (e.g. a heuristic, so
/// rollouts look like real play rather than noise) and returns the final returns.
pub struct PolicyRollout<G: Game> {
    policy: Box<dyn crate::core::policy::Policy<G>>,
}

impl<G: Game> PolicyRollout<G> {
    /// Rollouts played by `policy` for every player.
    pub fn new(policy: Box<dyn crate::core::policy::Policy<G>>) -> Self {
        PolicyRollout { policy }
    }
}

impl<G: Game> Evaluator<G> for PolicyRollout<G> {
    fn evaluate(&mut self, state: &G::State, rng: &mut SimRng) -> Vec<f64> {
        let mut s = state.clone();
        loop {
            match s.turn() {
                Turn::Terminal => return s.returns(),
                Turn::Chance => {
                    let a = sample_chance(&s, rng);
                    s.apply_action(a);
                }
                Turn::Player(p) => {
                    let mut a = self.policy.act(&s, p, rng);
                    if !s.is_legal(a) {
                        let legal = s.legal_actions();
                        a = legal[rng.below(legal.len())];
                    }
                    s.apply_action(a);
                }
            }
        }
    }
}

/// How much a search may spend on one decision: a number of simulations, a wall-clock
/// budget, or both (whichever ends first). Simulation budgets are reproducible; time
/// budgets are not, since they depend on the machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Simulations per decision (0: no limit, then `time` must be set).
    pub simulations: u64,
    /// Wall-clock limit per decision.
    pub time: Option<Duration>,
}

impl Budget {
    /// A pure simulation budget.
    pub fn simulations(n: u64) -> Self {
        Budget {
            simulations: n,
            time: None,
        }
    }

    /// Whether a search that started at `started` and has run `done` simulations may go on.
    pub fn allows(&self, done: u64, started: Instant) -> bool {
        if self.simulations > 0 && done >= self.simulations {
            return false;
        }
        match self.time {
            // Check the clock every 16 simulations: cheap, and at least one always runs.
            Some(limit) => done == 0 || !done.is_multiple_of(16) || started.elapsed() < limit,
            None => self.simulations > 0,
        }
    }
}
