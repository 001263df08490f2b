//! `Policy`: anything that picks actions in some game, from a uniform random player to a
//! search or a neural network. Policies get the full state but must only use what the
//! acting player may know (the game's observation and information-state helpers say what).

use crate::core::game::{Action, Game};
use crate::core::rng::SimRng;
use crate::core::tournament::SeatMetrics;

/// Who a policy plays for: given once per table, before the table's first round.
#[derive(Debug, Clone, Copy)]
pub struct SeatInfo<'a> {
    /// Participant index (the scenario's `[[seats]]` entry).
    pub participant: usize,
    /// The participant's label.
    pub label: &'a str,
    /// Table index within the replicate.
    pub table: usize,
    /// A seed for the policy's own randomness (derived from the seat's stream).
    pub seed: u64,
}

/// One finished round, as the participant's policy is told it.
#[derive(Debug, Clone, Copy)]
pub struct RoundReport<'a> {
    /// Table index within the replicate.
    pub table: usize,
    /// Round index within the table.
    pub round: u64,
    /// The participant's position (player index) in that round.
    pub player: usize,
    /// The participant's own outcome (win flag, payoff, game-specific columns).
    pub metrics: &'a SeatMetrics,
}

/// What mechsim does when a policy fails a decision (the scenario chooses, per seat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOutcome {
    /// The decision is forfeited: the rule set's fallback action is played and logged.
    Fallback,
    /// The round is forfeited: fallback actions for the rest of the round, the round row
    /// flagged `forfeited`.
    ForfeitRound,
    /// The run stops with an error naming the participant.
    Abort,
}

/// A failed decision: what went wrong and what happens now.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFault {
    /// A short machine-readable kind (`timeout`, `malformed`, `illegal`, `exited`, ...).
    pub kind: &'static str,
    /// What mechsim does about it.
    pub outcome: FaultOutcome,
    /// A readable account naming the participant, for logs and error messages.
    pub message: String,
}

/// What a policy reported about its last decision besides the action (external agents'
/// answers), logged in decisions.csv.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecisionNote {
    /// The policy's value estimate for the acting player, if it gave one.
    pub value: Option<f64>,
    /// Its probability of winning the round, if it gave one.
    pub win_probability: Option<f64>,
    /// Its action probabilities, if it gave them.
    pub probabilities: Vec<(Action, f64)>,
    /// Set when the decision failed; the world then plays the rule set's fallback action.
    pub fault: Option<PolicyFault>,
}

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

    /// Called for every table waiting on this policy before any of them is asked to `act`,
    /// so that policies backed by outside processes can send all requests first and let
    /// the processes think in parallel. `act` on the same state follows.
    fn prepare(&mut self, _state: &G::State, _player: usize) {}

    /// Called once per table before its first round with who this policy plays for.
    /// Policies backed by an outside process start it here; an error stops the run.
    fn start(&mut self, _seat: &SeatInfo<'_>) -> Result<(), String> {
        Ok(())
    }

    /// Called when the table is done (all rounds played, or the run stopped), before the
    /// policy is dropped: policies backed by outside processes ask them to exit here, so
    /// that all tables' processes wind down at once. Must not block.
    fn stop(&mut self) {}

    /// Called after every round at the table with this participant's own outcome.
    fn round_over(&mut self, _report: &RoundReport<'_>) {}

    /// What the policy reported about the decision `act` just made (answers of external
    /// agents, faults), for policies that report more than an action.
    fn last_note(&mut self) -> Option<DecisionNote> {
        None
    }
}
