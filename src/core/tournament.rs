//! What a game must add to be played in tournaments: a ledger that persists across the
//! rounds at one table (coins, cumulative points), how to start a round for a given seating,
//! and how to settle a finished round into per-participant metrics. The world layer runs
//! any `Tournament` game; the game alone knows what its rows mean.

use crate::core::game::{Action, Game, State};
use crate::core::rng::SimRng;

/// A value in a per-round row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricValue {
    /// An integer count or amount.
    Int(i64),
    /// A real-valued measure.
    Float(f64),
    /// A yes/no flag.
    Bool(bool),
}

impl MetricValue {
    /// As a float (booleans are 0/1), for statistics.
    pub fn as_f64(self) -> f64 {
        match self {
            MetricValue::Int(v) => v as f64,
            MetricValue::Float(v) => v,
            MetricValue::Bool(b) => f64::from(u8::from(b)),
        }
    }

    /// As a JSON value (summaries, external agents' round results).
    pub fn to_json(self) -> serde_json::Value {
        match self {
            MetricValue::Int(v) => serde_json::Value::from(v),
            MetricValue::Float(v) => serde_json::Value::from(v),
            MetricValue::Bool(b) => serde_json::Value::from(b),
        }
    }

    /// As written into CSV files (stable across platforms: shortest round-trip floats).
    pub fn to_csv_field(self) -> String {
        match self {
            MetricValue::Int(v) => v.to_string(),
            MetricValue::Float(v) => v.to_string(),
            MetricValue::Bool(b) => b.to_string(),
        }
    }
}

/// One participant's outcome of one round.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatMetrics {
    /// Whether this participant won the round.
    pub won: bool,
    /// The participant's payoff for the round (Dhumbal: coin change).
    pub payoff: f64,
    /// Game-specific columns, in the order of `Tournament::record_columns`.
    pub values: Vec<(&'static str, MetricValue)>,
}

impl SeatMetrics {
    /// The value of the named game-specific column.
    pub fn get(&self, column: &str) -> Option<MetricValue> {
        self.values.iter().find(|(c, _)| *c == column).map(|(_, v)| *v)
    }
}

/// One participant's round as a run keeps it: the game's values without their names (the
/// names are `columns`, the game's `record_columns`, the same for every row), so a run's
/// rows hold no allocation of their own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundMetrics<'a> {
    pub columns: &'static [&'static str],
    pub won: bool,
    pub payoff: f64,
    pub values: &'a [MetricValue],
}

impl RoundMetrics<'_> {
    /// The value of the named game-specific column.
    pub fn get(&self, column: &str) -> Option<MetricValue> {
        let at = self.columns.iter().position(|c| *c == column)?;
        self.values.get(at).copied()
    }
}

/// A game that can be played round after round at tournament tables.
pub trait Tournament: Game {
    /// State kept at a table between rounds, indexed by participant.
    type Ledger: Clone + Send + Sync + 'static;

    /// A fresh ledger for `participants` seated participants.
    fn new_ledger(&self, participants: usize) -> Self::Ledger;

    /// Starts round `round` with `order[p]` the participant sitting at position `p`.
    /// Returns the state and, for each player of that state, which participant it is (a
    /// game may seat fewer players than participants, e.g. after eliminations).
    fn start_round(
        &self,
        ledger: &Self::Ledger,
        order: &[usize],
        round: u64,
        rng: &mut SimRng,
    ) -> (Self::State, Vec<usize>);

    /// Settles a terminal state: updates the ledger and returns one `SeatMetrics` per
    /// player of the state (same order as `start_round`'s participant list), each with
    /// `record_columns`' values in that order.
    fn settle_round(&self, ledger: &mut Self::Ledger, state: &Self::State, participants: &[usize]) -> Vec<SeatMetrics>;

    /// Names of the game-specific row columns (the header even when no row exists).
    fn record_columns(&self) -> &'static [&'static str];

    /// Name of the payoff in outputs (e.g. `coin_change`).
    fn payoff_name(&self) -> &'static str {
        "payoff"
    }

    /// The action applied in place of an illegal one (the rule set decides).
    fn fallback_action(&self, state: &Self::State) -> Action {
        state.legal_actions()[0]
    }

    /// Whether an illegal action aborts the run (else `fallback_action` replaces it).
    fn abort_on_illegal(&self) -> bool {
        false
    }

    /// Game-specific summary metrics of one participant over its rounds.
    fn summary_metrics(&self, _rounds: &[RoundMetrics<'_>]) -> Vec<(&'static str, MetricValue)> {
        Vec::new()
    }
}
