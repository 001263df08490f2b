//! Built-in policies, one file each, and how a scenario's `[[seats]]` entry becomes one.
//! A policy registers with one `PolicyEntry` line: game-generic policies in
//! `generic_policies`, game-specific ones in that game's `Registered::policies`.

pub mod dhumbal_heuristic;
pub mod random;

use crate::core::game::Game;
use crate::core::params::{ParamSpec, Params};
use crate::core::policy::Policy;

/// Builds a policy for game `G` from validated parameters.
pub type PolicyBuilder<G> = fn(&G, &Params) -> Result<Box<dyn Policy<G>>, String>;

/// A registered policy: name, help, parameters and constructor.
pub struct PolicyEntry<G: Game> {
    /// Name used in scenario files (`policy = "..."`).
    pub name: &'static str,
    /// One line of help for `mechsim list policies`.
    pub help: &'static str,
    /// Parameters accepted in its `[[seats]]` table.
    pub params: &'static [ParamSpec],
    /// The constructor.
    pub build: PolicyBuilder<G>,
}

/// Policies that play any game.
pub fn generic_policies<G: Game>() -> Vec<PolicyEntry<G>> {
    vec![random::entry::<G>()]
}
