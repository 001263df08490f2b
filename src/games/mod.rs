//! The games, one file (or folder) each, and what it takes to register one: a name, help,
//! a player range, named rule sets with typed overrides, and its policy list. Listing a game
//! in `runner::registry::GAMES` makes it playable from scenario files and puts it under the
//! shared conformance suite.

pub mod conformance;
pub mod connect_four;
pub mod dhumbal;
pub mod episodic;
pub mod kuhn_poker;
pub mod leduc_poker;
pub mod tic_tac_toe;

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
        list.extend(crate::policies::search::imperfect_information::<Self>());
        list
    }
}

/// Registers a policy of your own for game `G`, usable from scenario files
/// (`policy = "<name>"`), `mechsim list policies` and every command of `mechsim::cli::main`.
/// Fails if the game already has a policy of that name.
///
/// ```
/// use mechsim::core::{Action, Policy, SimRng, State};
/// use mechsim::games::dhumbal::{Dhumbal, DhumbalState};
/// use mechsim::games::register_policy;
/// use mechsim::policies::PolicyEntry;
///
/// struct FirstLegal;
///
/// impl Policy<Dhumbal> for FirstLegal {
///     fn act(&mut self, state: &DhumbalState, _player: usize, _rng: &mut SimRng) -> Action {
///         state.legal_actions()[0]
///     }
/// }
///
/// register_policy::<Dhumbal>(PolicyEntry {
///     name: "first-legal-doc",
///     help: "always the lowest legal action id",
///     params: &[],
///     build: |_, _| Ok(Box::new(FirstLegal)),
/// })
/// .unwrap();
/// let entry = mechsim::runner::registry::game("dhumbal").unwrap();
/// assert!((entry.policies)().iter().any(|p| p.name == "first-legal-doc"));
/// ```
pub fn register_policy<G: Registered + 'static>(entry: PolicyEntry<G>) -> Result<(), String> {
    if G::policies().iter().any(|p| p.name == entry.name) {
        return Err(format!(
            "game `{}` already has a policy named \"{}\"; choose another name",
            G::NAME,
            entry.name
        ));
    }
    crate::policies::add_user_policy(entry);
    Ok(())
}

fn players_in(spec: &GameSpec, range: (usize, usize)) -> Result<usize, String> {
    if (range.0..=range.1).contains(&spec.players) {
        Ok(spec.players)
    } else {
        Err(format!(
            "takes {} to {} players, not {}",
            range.0, range.1, spec.players
        ))
    }
}

impl Registered for tic_tac_toe::TicTacToe {
    const NAME: &'static str = "tic_tac_toe";
    const HELP: &'static str = "tic-tac-toe (OpenSpiel conventions); a perfect-information search benchmark";
    const RULE_SETS: &'static [&'static str] = &["standard"];
    const PLAYERS: (usize, usize) = (2, 2);
    const PARAMS: &'static [ParamSpec] = &[];

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        players_in(spec, Self::PLAYERS).map(|_| tic_tac_toe::TicTacToe)
    }

    fn policies() -> Vec<PolicyEntry<Self>> {
        let mut list = crate::policies::generic_policies::<Self>();
        list.extend(crate::policies::search::perfect_information::<Self>());
        list
    }
}

impl Registered for connect_four::ConnectFour {
    const NAME: &'static str = "connect_four";
    const HELP: &'static str = "connect four, 6x7 (OpenSpiel conventions); a perfect-information search benchmark";
    const RULE_SETS: &'static [&'static str] = &["standard"];
    const PLAYERS: (usize, usize) = (2, 2);
    const PARAMS: &'static [ParamSpec] = &[];

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        players_in(spec, Self::PLAYERS).map(|_| connect_four::ConnectFour)
    }

    fn policies() -> Vec<PolicyEntry<Self>> {
        let mut list = crate::policies::generic_policies::<Self>();
        list.extend(crate::policies::search::perfect_information::<Self>());
        list
    }
}

impl Registered for kuhn_poker::KuhnPoker {
    const NAME: &'static str = "kuhn_poker";
    const HELP: &'static str = "Kuhn poker, 2 or 3 players (OpenSpiel conventions); exact game-theoretic checks";
    const RULE_SETS: &'static [&'static str] = &["standard"];
    const PLAYERS: (usize, usize) = (2, 3);
    const PARAMS: &'static [ParamSpec] = &[];

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        players_in(spec, Self::PLAYERS).map(kuhn_poker::KuhnPoker::new)
    }

    fn policies() -> Vec<PolicyEntry<Self>> {
        let mut list = crate::policies::generic_policies::<Self>();
        list.extend(crate::policies::search::imperfect_information::<Self>());
        list.extend(crate::policies::search::solvers::<Self>());
        list
    }
}

impl Registered for leduc_poker::LeducPoker {
    const NAME: &'static str = "leduc_poker";
    const HELP: &'static str = "Leduc hold'em, 2-5 players (OpenSpiel conventions); exact game-theoretic checks";
    const RULE_SETS: &'static [&'static str] = &["standard"];
    const PLAYERS: (usize, usize) = (2, 5);
    const PARAMS: &'static [ParamSpec] = &[];

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        players_in(spec, Self::PLAYERS).map(leduc_poker::LeducPoker::new)
    }

    fn policies() -> Vec<PolicyEntry<Self>> {
        let mut list = crate::policies::generic_policies::<Self>();
        list.extend(crate::policies::search::imperfect_information::<Self>());
        list.extend(crate::policies::search::solvers::<Self>());
        list
    }
}
