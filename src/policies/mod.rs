//! Built-in policies, one file each, and the shape every policy registers with: a
//! `PolicyEntry` (name, help, parameters, role, constructor). Each policy file exports its
//! entries; `crate::registry` lists which games they play. Programs that use mechsim as a
//! library add their own with `registry::register_policy`.

pub mod dhumbal_heuristic;
pub mod external;
pub mod learned;
pub mod random;
pub mod search;

use std::path::Path;

use crate::core::game::Game;
use crate::core::params::{ParamSpec, Params};
use crate::core::policy::Policy;

/// What kind of player a policy is. The scenario layer and the search policies decide by
/// role, never by name, what a seat may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRole {
    /// Decides from the state alone, cheaply: usable anywhere, including as the rollout
    /// player inside a search.
    Plain,
    /// Searches at every decision (and reports what it found); its budget is a seat
    /// parameter.
    Search,
    /// Solves the game when the seat is built, then plays the fixed strategy it found.
    Solver,
    /// Plays a trained checkpoint file.
    Learned,
    /// Runs outside mechsim (a child process).
    External,
}

impl std::fmt::Display for PolicyRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PolicyRole::Plain => "plain",
            PolicyRole::Search => "search",
            PolicyRole::Solver => "solver",
            PolicyRole::Learned => "learned",
            PolicyRole::External => "external",
        })
    }
}

/// Resolves a seat's parameters against the directory of the scenario file that declares
/// it (relative paths, working directories) when the scenario is validated. An error names
/// the offending key and says what is wrong.
pub type SeatPreparer = fn(&mut Params, &Path) -> Result<(), (&'static str, String)>;

/// Builds a policy for game `G` from a seat.
pub type PolicyBuilder<G> = fn(&SeatContext<'_, G>) -> Result<Box<dyn Policy<G>>, String>;

/// Everything a policy's constructor may use: the game, the seat's validated parameters,
/// and the game's other policies (a search policy builds its rollout player from them).
pub struct SeatContext<'a, G: Game> {
    /// The game the seat plays.
    pub game: &'a G,
    /// The seat's parameters, checked against the entry's `params`.
    pub params: &'a Params,
    policies: &'a [PolicyEntry<G>],
}

impl<'a, G: Game> SeatContext<'a, G> {
    /// A seat of `game` with `params`, among the game's `policies`.
    pub fn new(game: &'a G, params: &'a Params, policies: &'a [PolicyEntry<G>]) -> Self {
        SeatContext { game, params, policies }
    }

    /// The names of the game's plain policies, in registry order.
    pub fn plain_names(&self) -> Vec<&'static str> {
        plain_names(self.policies)
    }

    /// Builds the game's plain policy `name` with default parameters (for a search's
    /// rollouts, say); the error lists the valid names.
    pub fn build_plain(&self, name: &str) -> Result<Box<dyn Policy<G>>, String> {
        let entry = self
            .policies
            .iter()
            .find(|e| e.name == name && e.role == PolicyRole::Plain)
            .ok_or_else(|| {
                let usable = self.plain_names();
                let hint = crate::core::params::value_hint(name, usable.iter().copied());
                format!(
                    "\"{name}\" is not a plain policy of {}{hint} (valid: {})",
                    self.game.name(),
                    usable.join(", ")
                )
            })?;
        let params = Params::new();
        (entry.build)(&SeatContext::new(self.game, &params, self.policies))
    }
}

/// The names of the plain policies in `policies`, in order.
pub fn plain_names<G: Game>(policies: &[PolicyEntry<G>]) -> Vec<&'static str> {
    policies
        .iter()
        .filter(|e| e.role == PolicyRole::Plain)
        .map(|e| e.name)
        .collect()
}

/// A registered policy.
///
/// The README's example policy, registered the way built-in policies are:
///
/// ```
/// use mechsim::core::{Action, Policy, SimRng, State};
/// use mechsim::games::dhumbal::{Dhumbal, DhumbalState};
/// use mechsim::policies::{PolicyEntry, SeatContext};
///
/// struct LowestFirst;
///
/// impl Policy<Dhumbal> for LowestFirst {
///     fn act(&mut self, state: &DhumbalState, _player: usize, _rng: &mut SimRng) -> Action {
///         state.legal_actions()[0]
///     }
/// }
///
/// let entry = PolicyEntry::<Dhumbal>::new("lowest-first", "always the lowest legal action id", |_| {
///     Ok(Box::new(LowestFirst))
/// });
/// # use mechsim::core::{Game, Params};
/// # use mechsim::games::dhumbal::DhumbalRules;
/// # let game = Dhumbal::new(DhumbalRules::paper(), 2);
/// # let params = Params::new();
/// # let mut policy = (entry.build)(&SeatContext::new(&game, &params, &[])).unwrap();
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
    /// What kind of player it is.
    pub role: PolicyRole,
    /// The parameter that bounds its work per decision, if any: the test suite's smoke
    /// scaling caps it.
    pub budget: Option<&'static str>,
    /// Resolves the seat's parameters against the scenario file's directory, if needed.
    pub prepare: Option<SeatPreparer>,
    /// The constructor.
    pub build: PolicyBuilder<G>,
}

impl<G: Game> PolicyEntry<G> {
    /// A plain policy with no parameters; the `with_*` methods add the rest.
    pub fn new(name: &'static str, help: &'static str, build: PolicyBuilder<G>) -> Self {
        PolicyEntry {
            name,
            help,
            params: &[],
            role: PolicyRole::Plain,
            budget: None,
            prepare: None,
            build,
        }
    }

    /// With the parameters its `[[seats]]` table accepts.
    pub fn with_params(self, params: &'static [ParamSpec]) -> Self {
        PolicyEntry { params, ..self }
    }

    /// With another role than `Plain`.
    pub fn with_role(self, role: PolicyRole) -> Self {
        PolicyEntry { role, ..self }
    }

    /// With the parameter that bounds its work per decision.
    pub fn with_budget(self, param: &'static str) -> Self {
        PolicyEntry {
            budget: Some(param),
            ..self
        }
    }

    /// With a step that resolves its parameters against the scenario file's directory.
    pub fn with_prepare(self, prepare: SeatPreparer) -> Self {
        PolicyEntry {
            prepare: Some(prepare),
            ..self
        }
    }
}

impl<G: Game> Clone for PolicyEntry<G> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G: Game> Copy for PolicyEntry<G> {}
