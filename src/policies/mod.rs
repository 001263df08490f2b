//! Built-in policies, one file each, and how a scenario's `[[seats]]` entry becomes one.
//! A policy registers with one `PolicyEntry` line: game-generic policies in
//! `generic_policies`, game-specific ones in that game's `Registered::policies`; programs
//! that use mechsim as a library add theirs at run time with `games::register_policy`.

pub mod dhumbal_heuristic;
pub mod external;
pub mod learned;
pub mod random;
pub mod search;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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

impl<G: Game> Clone for PolicyEntry<G> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G: Game> Copy for PolicyEntry<G> {}

/// Policies registered at run time by a program that uses mechsim as a library, per game
/// type (see `games::register_policy`).
type Registered = Mutex<HashMap<TypeId, Box<dyn Any + Send>>>;

fn user_registry() -> &'static Registered {
    static REGISTRY: OnceLock<Registered> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Adds `entry` to the run-time registry of game `G` (no duplicate check: see
/// `games::register_policy`, the public entry point).
pub(crate) fn add_user_policy<G: Game + 'static>(entry: PolicyEntry<G>) {
    let mut map = user_registry().lock().unwrap_or_else(|p| p.into_inner());
    let list = map
        .entry(TypeId::of::<G>())
        .or_insert_with(|| Box::new(Vec::<PolicyEntry<G>>::new()));
    if let Some(list) = list.downcast_mut::<Vec<PolicyEntry<G>>>() {
        list.push(entry);
    }
}

/// The policies registered at run time for game `G`.
pub fn user_policies<G: Game + 'static>() -> Vec<PolicyEntry<G>> {
    let map = user_registry().lock().unwrap_or_else(|p| p.into_inner());
    map.get(&TypeId::of::<G>())
        .and_then(|l| l.downcast_ref::<Vec<PolicyEntry<G>>>())
        .cloned()
        .unwrap_or_default()
}

/// Policies that play any game, then the ones registered at run time for this game.
pub fn generic_policies<G: Game + 'static>() -> Vec<PolicyEntry<G>> {
    let mut list = vec![random::entry::<G>()];
    list.extend(learned::entries::<G>());
    list.push(external::entry::<G>());
    list.extend(user_policies::<G>());
    list
}
