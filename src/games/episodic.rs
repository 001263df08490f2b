//! Tournament support for plain episodic games (tic-tac-toe, connect four, the poker
//! games): no state between rounds, the payoff is the game's return, and a participant
//! "wins" a round when its return is strictly positive.

use crate::core::game::{Game, State};
use crate::core::rng::SimRng;
use crate::core::tournament::{MetricValue, SeatMetrics};

/// Row columns of every episodic game.
pub const COLUMNS: &[&str] = &["position", "return", "actions"];

/// Starts a round: a fresh initial state with players seated in `order`.
pub fn start_round<G: Game>(game: &G, order: &[usize], rng: &mut SimRng) -> (G::State, Vec<usize>) {
    (game.new_initial_state(rng), order.to_vec())
}

/// Settles a terminal state into rows; `actions` is the episode length.
pub fn settle<S: State>(state: &S, actions: u32) -> Vec<SeatMetrics> {
    state
        .returns()
        .into_iter()
        .enumerate()
        .map(|(p, r)| SeatMetrics {
            won: r > 0.0,
            payoff: r,
            values: vec![
                ("position", MetricValue::Int(p as i64)),
                ("return", MetricValue::Float(r)),
                ("actions", MetricValue::Int(i64::from(actions))),
            ],
        })
        .collect()
}

/// Implements `Tournament` for an episodic game whose state has `fn moves(&self) -> u32`.
#[macro_export]
macro_rules! episodic_tournament {
    ($game:ty) => {
        impl $crate::core::tournament::Tournament for $game {
            type Ledger = ();
            fn new_ledger(&self, _participants: usize) {}
            fn start_round(
                &self,
                _ledger: &(),
                order: &[usize],
                _round: u64,
                rng: &mut $crate::core::rng::SimRng,
            ) -> (<$game as $crate::core::game::Game>::State, Vec<usize>) {
                $crate::games::episodic::start_round(self, order, rng)
            }
            fn settle_round(
                &self,
                _ledger: &mut (),
                state: &<$game as $crate::core::game::Game>::State,
                _participants: &[usize],
            ) -> Vec<$crate::core::tournament::SeatMetrics> {
                $crate::games::episodic::settle(state, state.moves())
            }
            fn record_columns(&self) -> &'static [&'static str] {
                $crate::games::episodic::COLUMNS
            }
            fn payoff_name(&self) -> &'static str {
                "return"
            }
        }
    };
}
