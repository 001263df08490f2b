//! The games, one file (or folder) each, and what it takes to register one: a name, help,
//! a player range, named rule sets with typed overrides, and its policy list. Listing a game
//! in `runner::registry::GAMES` makes it playable from scenario files and puts it under the
//! shared conformance suite.

pub mod conformance;
pub mod dhumbal;

use crate::core::params::{GameSpec, ParamSpec};
use crate::core::tournament::Tournament;
use crate::policies::PolicyEntry;

/// A game mechsim can build from a scenario and seat policies at.
pub trait Registered: Tournament + Sized {
    /// Registry name.
    const NAME: &'static str;
    /// One line of help.
    const HELP: &'static str;
    /// Named rule sets; the first is the default.
    const RULE_SETS: &'static [&'static str];
    /// Smallest and largest number of players.
    const PLAYERS: (usize, usize);
    /// Rule overrides accepted in the `game` table.
    const PARAMS: &'static [ParamSpec];

    /// Builds the game from a validated spec.
    fn from_spec(spec: &GameSpec) -> Result<Self, String>;

    /// The policies that can play this game.
    fn policies() -> Vec<PolicyEntry<Self>>;
}

impl Registered for dhumbal::Dhumbal {
    const NAME: &'static str = "dhumbal";
    const HELP: &'static str =
        "Nepali rummy-type card game (Jhyap), 2-5 players; rule sets paper (the study) and traditional";
    const RULE_SETS: &'static [&'static str] = &["paper", "traditional"];
    const PLAYERS: (usize, usize) = (dhumbal::MIN_PLAYERS, dhumbal::MAX_PLAYERS);
    const PARAMS: &'static [ParamSpec] = dhumbal::rules::PARAMS;

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        let rules = dhumbal::DhumbalRules::from_params(&spec.rules, &spec.params)?;
        Ok(dhumbal::Dhumbal::new(rules, spec.players))
    }

    fn policies() -> Vec<PolicyEntry<Self>> {
        let mut list = crate::policies::generic_policies::<Self>();
        list.extend(crate::policies::dhumbal_heuristic::entries());
        list
    }
}
