//! The registry: every game mechsim can run and every policy that plays it, in one place.
//! A game's facts live in its own file (`core::GameFacts`); a policy's name, role,
//! parameters and constructor in its own file (`policies::PolicyEntry`). This file says
//! which policies play which game: adding a game is one line in `games()`, adding a policy
//! one line in `generic_policies` or in a game's line. Programs that use mechsim as a
//! library add games and policies at run time (`register_game`, `register_policy`); every
//! CLI command then knows them.
//!
//! Games are type-erased here (`GameEntry`), so scenario validation and the CLI can list
//! games, rule sets, parameters and policies, and run any kind of scenario on any game,
//! without naming a game type.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use crate::core::error::Result;
use crate::core::facts::GameFacts;
use crate::core::game::{Game, Resample};
use crate::core::params::{GameSpec, ParamSpec};
use crate::games::conformance::{ConformanceReport, check_game, check_resample, variants};
use crate::games::connect_four::ConnectFour;
use crate::games::dhumbal::Dhumbal;
use crate::games::kuhn_poker::KuhnPoker;
use crate::games::leduc_poker::LeducPoker;
use crate::games::tic_tac_toe::TicTacToe;
use crate::policies::search::{imperfect_information, perfect_information, solvers};
use crate::policies::{
    PolicyEntry, PolicyRole, SeatContext, SeatPreparer, dhumbal_heuristic, external, learned, random,
};
use crate::runner::solve::{SolvePlan, SolveResult, run_solve};
use crate::runner::training::{TrainingPlan, TrainingResult, run_training};
use crate::runner::{RunOptions, SeatPlan, TournamentPlan, TournamentResult, run_plan};
use mechsim_agents::DeviceKind;

/// Every built-in game with the policies that play it.
fn builtin_games() -> Vec<GameEntry> {
    vec![
        GameEntry::hidden::<Dhumbal>(&[generic_policies, imperfect_information, dhumbal_heuristic::entries]),
        GameEntry::new::<TicTacToe>(&[generic_policies, perfect_information]),
        GameEntry::new::<ConnectFour>(&[generic_policies, perfect_information]),
        GameEntry::hidden::<KuhnPoker>(&[generic_policies, imperfect_information, solvers]),
        GameEntry::hidden::<LeducPoker>(&[generic_policies, imperfect_information, solvers]),
    ]
}

/// Policies that play any game: uniform random play, trained checkpoints, and agents in
/// other languages.
pub fn generic_policies<G: Game>() -> Vec<PolicyEntry<G>> {
    let mut list = vec![random::entry::<G>()];
    list.extend(learned::entries::<G>());
    list.push(external::entry::<G>());
    list
}

/// A list of policies for game `G` (a policy file's `entries`, or `generic_policies`).
pub type PolicyList<G> = fn() -> Vec<PolicyEntry<G>>;

/// What the CLI and scenario validation need to know about a policy.
#[derive(Debug, Clone)]
pub struct PolicyInfo {
    /// Name in scenario files.
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Accepted `[[seats]]` keys besides `policy` and `label`.
    pub params: &'static [ParamSpec],
    /// What kind of player it is.
    pub role: PolicyRole,
    /// The parameter bounding its work per decision, if any.
    pub budget: Option<&'static str>,
    /// Resolves a seat's parameters against the scenario file's directory, if needed.
    pub prepare: Option<SeatPreparer>,
}

impl<G: Game> From<&PolicyEntry<G>> for PolicyInfo {
    fn from(e: &PolicyEntry<G>) -> Self {
        PolicyInfo {
            name: e.name,
            help: e.help,
            params: e.params,
            role: e.role,
            budget: e.budget,
            prepare: e.prepare,
        }
    }
}

/// The operations of a registered game that need its type.
trait GameOps: Send + Sync {
    fn policies(&self) -> Vec<PolicyInfo>;
    /// The names of the policies listed with the game (those registered at run time aside).
    fn listed_names(&self) -> Vec<&'static str>;
    fn run_tournament(&self, plan: &TournamentPlan, options: &RunOptions) -> Result<TournamentResult>;
    fn run_solve(&self, plan: &SolvePlan, options: &RunOptions) -> Result<SolveResult>;
    fn run_training(
        &self,
        plan: &TrainingPlan,
        device: DeviceKind,
        dir: &Path,
        options: &RunOptions,
    ) -> Result<TrainingResult>;
    fn conformance(&self, episodes: usize, seed: u64) -> std::result::Result<ConformanceReport, String>;
    fn check_seats(&self, spec: &GameSpec, seats: &[SeatPlan]) -> std::result::Result<(), (usize, String)>;
}

/// The hidden-information check of the conformance suite, for games that can resample.
type ResampleCheck<G> = fn(&G, usize, u64, usize) -> std::result::Result<usize, String>;

struct Typed<G: GameFacts> {
    lists: Vec<PolicyList<G>>,
    resample: Option<ResampleCheck<G>>,
}

impl<G: GameFacts> Typed<G> {
    fn entries(&self) -> Vec<PolicyEntry<G>> {
        let mut all: Vec<PolicyEntry<G>> = self.lists.iter().flat_map(|list| list()).collect();
        all.extend(user_policies::<G>());
        all
    }
}

impl<G: GameFacts> GameOps for Typed<G> {
    fn policies(&self) -> Vec<PolicyInfo> {
        self.entries().iter().map(PolicyInfo::from).collect()
    }

    fn listed_names(&self) -> Vec<&'static str> {
        self.lists.iter().flat_map(|list| list()).map(|e| e.name).collect()
    }

    fn run_tournament(&self, plan: &TournamentPlan, options: &RunOptions) -> Result<TournamentResult> {
        run_plan::<G>(plan, options, &self.entries())
    }

    fn run_solve(&self, plan: &SolvePlan, options: &RunOptions) -> Result<SolveResult> {
        run_solve::<G>(plan, options)
    }

    fn check_seats(&self, spec: &GameSpec, seats: &[SeatPlan]) -> std::result::Result<(), (usize, String)> {
        // A game the spec cannot build is reported where the game is validated.
        let Ok(game) = G::from_spec(spec) else {
            return Ok(());
        };
        let entries = self.entries();
        for (i, seat) in seats.iter().enumerate() {
            let Some(entry) = entries.iter().find(|e| e.name == seat.policy) else {
                return Err((i, format!("policy `{}` cannot play `{}`", seat.policy, spec.name)));
            };
            // External agents are programs (checking would start them); solvers solve the
            // game when built (their parameters are checked by their declared ranges).
            if matches!(entry.role, PolicyRole::External | PolicyRole::Solver) {
                continue;
            }
            (entry.build)(&SeatContext::new(&game, &seat.params, &entries)).map_err(|m| (i, m))?;
        }
        Ok(())
    }

    fn run_training(
        &self,
        plan: &TrainingPlan,
        device: DeviceKind,
        dir: &Path,
        options: &RunOptions,
    ) -> Result<TrainingResult> {
        run_training::<G>(plan, device, dir, options, &self.entries())
    }

    fn conformance(&self, episodes: usize, seed: u64) -> std::result::Result<ConformanceReport, String> {
        let mut total = ConformanceReport::default();
        for spec in variants::<G>()? {
            let players = spec.players;
            let label = format!("rules `{}`, {players} players, overrides {:?}", spec.rules, spec.params);
            let game = G::from_spec(&spec).map_err(|e| format!("{label}: {e}"))?;
            let r =
                check_game(&game, episodes, seed ^ players as u64, 1_000_000).map_err(|e| format!("{label}: {e}"))?;
            total.episodes += r.episodes;
            total.actions += r.actions;
            total.longest = total.longest.max(r.longest);
            if let Some(check) = self.resample {
                check(&game, episodes.div_ceil(10), seed ^ 0x5EED, 1_000_000).map_err(|e| format!("{label}: {e}"))?;
            }
        }
        Ok(total)
    }
}

/// A registered game, type-erased: its facts, and what can be done with it.
#[derive(Clone)]
pub struct GameEntry {
    /// Registry name.
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Named rule sets; the first is the default.
    pub rule_sets: &'static [&'static str],
    /// Player range.
    pub players: (usize, usize),
    /// Rule overrides.
    pub params: &'static [ParamSpec],
    type_id: TypeId,
    ops: Arc<dyn GameOps>,
}

impl GameEntry {
    /// Game `G` (all information public), played by the policies of `lists` (and those
    /// registered at run time).
    pub fn new<G: GameFacts>(lists: &[PolicyList<G>]) -> Self {
        Self::with(lists, None)
    }

    /// Game `G` with hidden information that its states can resample: the conformance
    /// suite also checks that nothing hidden leaks into what a player sees.
    pub fn hidden<G: GameFacts>(lists: &[PolicyList<G>]) -> Self
    where
        G::State: Resample,
    {
        Self::with(lists, Some(check_resample::<G>))
    }

    fn with<G: GameFacts>(lists: &[PolicyList<G>], resample: Option<ResampleCheck<G>>) -> Self {
        GameEntry {
            name: G::NAME,
            help: G::HELP,
            rule_sets: G::RULE_SETS,
            players: G::PLAYERS,
            params: G::PARAMS,
            type_id: TypeId::of::<G>(),
            ops: Arc::new(Typed::<G> {
                lists: lists.to_vec(),
                resample,
            }),
        }
    }

    /// Builds each seat's policy once for `spec` (external agents and solvers aside), as a run would, so
    /// `check` refuses what a run would: the failing seat's index and the builder's message.
    pub fn check_seats(&self, spec: &GameSpec, seats: &[SeatPlan]) -> std::result::Result<(), (usize, String)> {
        self.ops.check_seats(spec, seats)
    }

    /// Its policies, in listing order.
    pub fn policies(&self) -> Vec<PolicyInfo> {
        self.ops.policies()
    }

    /// Its policy `name`.
    pub fn policy(&self, name: &str) -> Option<PolicyInfo> {
        self.policies().into_iter().find(|p| p.name == name)
    }

    /// Plays `plan`'s replicates with the game's policies seated as it says.
    pub fn run_tournament(&self, plan: &TournamentPlan, options: &RunOptions) -> Result<TournamentResult> {
        self.ops.run_tournament(plan, options)
    }

    /// Solves the game as `plan` says, evaluating along the way.
    pub fn run_solve(&self, plan: &SolvePlan, options: &RunOptions) -> Result<SolveResult> {
        self.ops.run_solve(plan, options)
    }

    /// Trains a learner (checkpoints go into `dir`).
    pub fn run_training(
        &self,
        plan: &TrainingPlan,
        device: DeviceKind,
        dir: &Path,
        options: &RunOptions,
    ) -> Result<TrainingResult> {
        self.ops.run_training(plan, device, dir, options)
    }

    /// The conformance suite over every rule set and player count (`episodes` each).
    pub fn conformance(&self, episodes: usize, seed: u64) -> std::result::Result<ConformanceReport, String> {
        self.ops.conformance(episodes, seed)
    }
}

/// Games and policies registered at run time by a program that uses mechsim as a library.
#[derive(Default)]
struct RunTime {
    games: Vec<GameEntry>,
    /// Per game type: a `Vec<PolicyEntry<G>>`.
    policies: HashMap<TypeId, Box<dyn Any + Send>>,
}

fn run_time() -> std::sync::MutexGuard<'static, RunTime> {
    static REGISTRY: OnceLock<Mutex<RunTime>> = OnceLock::new();
    // The registry is only ever pushed to, so a panic elsewhere cannot leave it half-written.
    REGISTRY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn user_policies<G: Game>() -> Vec<PolicyEntry<G>> {
    run_time()
        .policies
        .get(&TypeId::of::<G>())
        .and_then(|l| l.downcast_ref::<Vec<PolicyEntry<G>>>())
        .cloned()
        .unwrap_or_default()
}

/// Every registered game: the built-in ones, then those registered at run time.
pub fn games() -> Vec<GameEntry> {
    let mut all = builtin_games();
    all.extend(run_time().games.iter().cloned());
    all
}

/// The game registered as `name`.
pub fn game(name: &str) -> Option<GameEntry> {
    games().into_iter().find(|g| g.name == name)
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Another game already has this name.
    #[error("a game named \"{0}\" is already registered; choose another name")]
    GameNameTaken(&'static str),
    /// This game type is already registered (under the name given).
    #[error("this game type is already registered as \"{0}\"")]
    GameTypeTaken(&'static str),
    /// The game's facts cannot be used (no rule set, an empty player range, two policies
    /// with one name).
    #[error("game \"{game}\": {problem}")]
    InvalidGame {
        /// The game's name.
        game: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The policy's game is not registered.
    #[error("game `{0}` is not registered; register it first with `registry::register_game`")]
    UnknownGame(&'static str),
    /// The game already has a policy of this name.
    #[error("game `{game}` already has a policy named \"{policy}\"; choose another name")]
    PolicyNameTaken {
        /// The game's name.
        game: &'static str,
        /// The policy's name.
        policy: &'static str,
    },
}

/// Registers a game of your own (`GameEntry::new`, or `GameEntry::hidden` for a game
/// with hidden information), with the policies that play it, for example
/// `GameEntry::new::<MyGame>(&[generic_policies, my_policies])`: scenario files can then
/// name it, `mechsim list` shows it, and the conformance suite covers it. Fails if a game
/// of that name or type is already registered, if it has no rule set or an empty player
/// range, or if two of its policies share a name.
pub fn register_game(entry: GameEntry) -> std::result::Result<(), RegistryError> {
    let invalid = |problem: String| RegistryError::InvalidGame {
        game: entry.name,
        problem,
    };
    if entry.rule_sets.is_empty() {
        return Err(invalid("it declares no rule set (`RULE_SETS` is empty)".into()));
    }
    let (low, high) = entry.players;
    if low == 0 || low > high {
        return Err(invalid(format!(
            "its player range {low}..={high} is empty or starts at 0"
        )));
    }
    // The policy lists are the program's own functions: run them before taking the lock.
    let names = entry.ops.listed_names();
    if let Some(twice) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
        return Err(invalid(format!("two of its policies are named \"{}\"", twice.1)));
    }
    let mut registry = run_time();
    let builtin = builtin_games();
    let mut known = builtin.iter().chain(registry.games.iter());
    if let Some(existing) = known.clone().find(|g| g.name == entry.name) {
        return Err(RegistryError::GameNameTaken(existing.name));
    }
    if let Some(existing) = known.find(|g| g.type_id == entry.type_id) {
        return Err(RegistryError::GameTypeTaken(existing.name));
    }
    registry.games.push(entry);
    Ok(())
}

/// Registers a policy of your own for game `G`, usable from scenario files
/// (`policy = "<name>"`), `mechsim list policies` and every command of `mechsim::cli::main`.
/// Fails if `G` is not a registered game or already has a policy of that name.
///
/// ```
/// use mechsim::core::{Action, Policy, SimRng, State};
/// use mechsim::games::dhumbal::{Dhumbal, DhumbalState};
/// use mechsim::policies::PolicyEntry;
/// use mechsim::registry::{self, register_policy};
///
/// struct FirstLegal;
///
/// impl Policy<Dhumbal> for FirstLegal {
///     fn act(&mut self, state: &DhumbalState, _player: usize, _rng: &mut SimRng) -> Action {
///         state.legal_actions()[0]
///     }
/// }
///
/// register_policy(PolicyEntry::<Dhumbal>::new("first-legal-doc", "always the lowest legal action id", |_| {
///     Ok(Box::new(FirstLegal))
/// }))
/// .unwrap();
/// let entry = registry::game("dhumbal").unwrap();
/// assert!(entry.policy("first-legal-doc").is_some());
/// ```
pub fn register_policy<G: GameFacts>(entry: PolicyEntry<G>) -> std::result::Result<(), RegistryError> {
    let Some(game) = games().into_iter().find(|g| g.type_id == TypeId::of::<G>()) else {
        return Err(RegistryError::UnknownGame(G::NAME));
    };
    let taken = || RegistryError::PolicyNameTaken {
        game: game.name,
        policy: entry.name,
    };
    // The game's lists are program code: run them before taking the lock.
    if game.ops.listed_names().contains(&entry.name) {
        return Err(taken());
    }
    let mut registry = run_time();
    let list = registry
        .policies
        .entry(TypeId::of::<G>())
        .or_insert_with(|| Box::new(Vec::<PolicyEntry<G>>::new()));
    let Some(list) = list.downcast_mut::<Vec<PolicyEntry<G>>>() else {
        return Err(RegistryError::UnknownGame(G::NAME));
    };
    if list.iter().any(|e| e.name == entry.name) {
        return Err(taken());
    }
    list.push(entry);
    Ok(())
}
