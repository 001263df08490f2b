//! Built-in policies, one file each, and how a scenario's `[[seats]]` entry becomes one.
//! A policy registers with one `PolicyEntry` line: game-generic policies in
//! `generic_policies`, game-specific ones in that game's `Registered::policies`.

pub mod dhumbal_heuristic;
pub mod learned;
pub mod random;
pub mod search;

use crate::core::game::Game;
use crate::core::params::{ParamSpec, Params};
use crate::core::policy::Policy;

/// Builds a policy for game `G` from validated parameters.
pub type PolicyBuilder<G> = fn(&G, &Params) -> Result<Box<dyn Policy<G>>, String>;

/// A registered policy: name, help, parameters and constructor.
///
/// The README's example policy, registered the way built-in policies are:
///
/// ```
/// use mechsim::core::{Action, Policy, SimRng, State};
/// use mechsim::games::dhumbal::{Dhumbal, DhumbalState};
/// use mechsim::policies::PolicyEntry;
///
/// struct LowestFirst;
///
/// impl Policy<Dhumbal> for LowestFirst {
///     fn act(&mut self, state: &DhumbalState, _player: usize, _rng: &mut SimRng) -> Action {
///         state.legal_actions()[0]
///     }
/// }
///
/// let entry: PolicyEntry<Dhumbal> = PolicyEntry {
///     name: "lowest-first",
///     help: "always the lowest legal action id",
///     params: &[],
///     build: |_, _| Ok(Box::new(LowestFirst)),
/// };
/// # use mechsim::core::{Game, Params};
/// # use mechsim::games::dhumbal::DhumbalRules;
/// # let game = Dhumbal::new(DhumbalRules::paper(), 2);
/// # let mut policy = (entry.build)(&game, &Params::new()).unwrap();
/// # let mut rng = SimRng::new(1);
/// # let state = game.new_initial_state(&mut rng);
/// # assert_eq!(policy.act(&state, 0, &mut rng), state.legal_actions()[0]);
/// ```
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
    let mut list = vec![random::entry::<G>()];
    list.extend(learned::entries::<G>());
    list
}
