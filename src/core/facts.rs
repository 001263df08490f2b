//! What a game declares about itself to be listed in the registry: its name, one line of
//! help, its named rule sets, its player range, the rule overrides a scenario's `game`
//! table may set, and how to build it from a validated spec. Each game implements this in
//! its own file; which policies play it is the registry's business, not the game's.

use crate::core::params::{GameSpec, ParamSpec};
use crate::core::tournament::Tournament;

/// A game mechsim can build from a scenario file.
pub trait GameFacts: Tournament + Clone + Sized {
    /// The name scenario files use (`game = { name = "..." }`).
    const NAME: &'static str;
    /// One line for `mechsim list games`.
    const HELP: &'static str;
    /// Named rule sets; the first is the default.
    const RULE_SETS: &'static [&'static str];
    /// Smallest and largest number of players.
    const PLAYERS: (usize, usize);
    /// Rule overrides accepted in the `game` table.
    const PARAMS: &'static [ParamSpec];

    /// Builds the game from a validated spec.
    fn from_spec(spec: &GameSpec) -> Result<Self, String>;

    /// `spec.players` if it lies in `PLAYERS`, else a message saying the valid range.
    fn players_of(spec: &GameSpec) -> Result<usize, String> {
        let (low, high) = Self::PLAYERS;
        if (low..=high).contains(&spec.players) {
            Ok(spec.players)
        } else {
            Err(format!("takes {low} to {high} players, not {}", spec.players))
        }
    }
}
