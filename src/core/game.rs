//! The game/state split (as in OpenSpiel): a `Game` is an immutable, shareable set of
//! rules that makes `State`s; a `State` is a cheap-to-clone position that search clones
//! per simulation. Actions are fixed integer ids so that learners and search can index
//! tables and network outputs by them.

use crate::core::rng::SimRng;

/// A fixed action id in `[0, num_distinct_actions)`. The meaning of each id never depends
/// on the position, only on the game.
pub type Action = u32;

/// Whose move it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Turn {
    /// Player `p` (0-based, in the state's own player order) must choose an action.
    Player(usize),
    /// Nature moves: sample from `State::chance_outcomes`.
    Chance,
    /// The episode is over; `returns` is final.
    Terminal,
}

/// A parameterised game: immutable, shareable, makes states.
pub trait Game: Send + Sync + 'static {
    /// The positions of this game.
    type State: State;

    /// The registry name, e.g. `"dhumbal"`.
    fn name(&self) -> &'static str;
    /// Number of players in a fresh state.
    fn num_players(&self) -> usize;
    /// Size of the action id space.
    fn num_distinct_actions(&self) -> usize;
    /// Length of the vector `State::observation` writes.
    fn observation_len(&self) -> usize;
    /// Deals a fresh initial state.
    fn new_initial_state(&self, rng: &mut SimRng) -> Self::State;
    /// Largest absolute return of any player (search normalises values by it).
    fn max_utility(&self) -> f64 {
        1.0
    }
    /// Human-readable label of an action id (for logs, protocols and debugging).
    fn action_label(&self, action: Action) -> String {
        format!("action {action}")
    }
    /// Every rule in force as JSON (external agents receive it in the handshake); `{}` for
    /// games without variants.
    fn rules_json(&self) -> serde_json::Value {
        serde_json::Value::Object(Default::default())
    }
}

/// A position. A cheap `Clone`: search clones it per simulation.
pub trait State: Clone + Send + Sync + 'static {
    /// Whose move it is.
    fn turn(&self) -> Turn;
    /// Legal actions, sorted ascending and unique; empty iff the state is terminal.
    fn legal_actions(&self) -> Vec<Action>;
    /// Applies a legal action. Callers must only pass ids from `legal_actions`.
    fn apply_action(&mut self, action: Action);
    /// Per-player returns (final when terminal; may be zero before).
    fn returns(&self) -> Vec<f64>;
    /// Writes `player`'s observation into `out` (length `Game::observation_len`).
    fn observation(&self, player: usize, out: &mut [f32]);
    /// A hash identifying `player`'s information state (what they know).
    fn information_state_key(&self, player: usize) -> u64;
    /// `player`'s observation in a readable, structured form (card names, boards) for
    /// external agents and logs. Like `observation`, it must hold only what `player` may
    /// know. `null` for games that have none.
    fn observation_view(&self, _player: usize) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Writes the legal actions into `out` (cleared first): the allocation-free form that
    /// rollouts use. Games override it when they can fill a buffer directly.
    fn legal_actions_into(&self, out: &mut Vec<Action>) {
        out.clear();
        out.extend(self.legal_actions());
    }
    /// True if `action` is legal here (override when a faster test than a search exists).
    fn is_legal(&self, action: Action) -> bool {
        self.legal_actions().contains(&action)
    }
    /// Chance outcomes and their probabilities when `turn()` is `Turn::Chance`.
    fn chance_outcomes(&self) -> Vec<(Action, f64)> {
        Vec::new()
    }
    /// True when the episode is over.
    fn is_terminal(&self) -> bool {
        self.turn() == Turn::Terminal
    }
}

/// Opt-in: sample a full state consistent with what `player` knows (used by ISMCTS).
pub trait Resample: State {
    /// A determinisation: hidden information redrawn consistently with `player`'s view.
    fn resample(&self, player: usize, rng: &mut SimRng) -> Self;
}
