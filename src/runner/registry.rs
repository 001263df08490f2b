//! The registry: every game mechsim can run, type-erased so scenario validation and the CLI
//! can list games, their rule sets and parameters, and their policies. Adding a game is one
//! line in `games()`.

use crate::core::error::Result;
use crate::core::params::{GameSpec, ParamSpec, Params};
use crate::games::conformance::{ConformanceReport, check_game};
use crate::games::{Registered, dhumbal::Dhumbal};
use crate::games::{connect_four::ConnectFour, kuhn_poker::KuhnPoker, leduc_poker::LeducPoker, tic_tac_toe::TicTacToe};
use crate::runner::solve::{SolvePlan, SolveResult, run_solve};
use crate::runner::training::{TrainingPlan, TrainingResult, run_training};
use crate::runner::{RunOptions, TournamentPlan, TournamentResult, run_plan};
use mechsim_agents::DeviceKind;
use std::path::Path;

/// What the CLI and validation need to know about a policy.
#[derive(Debug, Clone)]
pub struct PolicyInfo {
    /// Name in scenario files.
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Accepted `[[seats]]` keys besides `policy` and `label`.
    pub params: &'static [ParamSpec],
}

/// A registered game, type-erased.
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
    /// Its policies.
    pub policies: fn() -> Vec<PolicyInfo>,
    /// Runs a tournament.
    pub run_tournament: fn(&TournamentPlan, &RunOptions) -> Result<TournamentResult>,
    /// Runs a solver.
    pub run_solve: fn(&SolvePlan, &RunOptions) -> Result<SolveResult>,
    /// Trains a learner (checkpoints go into the directory).
    pub run_training: fn(&TrainingPlan, DeviceKind, &Path, &RunOptions) -> Result<TrainingResult>,
    /// The conformance suite over every rule set and player count (`episodes` each).
    pub conformance: fn(usize, u64) -> Result<ConformanceReport, String>,
}

fn entry<G: Registered + Clone>() -> GameEntry {
    GameEntry {
        name: G::NAME,
        help: G::HELP,
        rule_sets: G::RULE_SETS,
        players: G::PLAYERS,
        params: G::PARAMS,
        policies: || {
            G::policies()
                .into_iter()
                .map(|e| PolicyInfo {
                    name: e.name,
                    help: e.help,
                    params: e.params,
                })
                .collect()
        },
        run_tournament: run_plan::<G>,
        run_solve: run_solve::<G>,
        run_training: run_training::<G>,
        conformance: |episodes, seed| {
            let mut total = ConformanceReport::default();
            for rules in G::RULE_SETS {
                for players in G::PLAYERS.0..=G::PLAYERS.1 {
                    let spec = GameSpec {
                        name: G::NAME.to_string(),
                        rules: (*rules).to_string(),
                        players,
                        params: Params::new(),
                    };
                    let game = G::from_spec(&spec)?;
                    let r = check_game(&game, episodes, seed ^ players as u64, 1_000_000)
                        .map_err(|e| format!("rules `{rules}`, {players} players: {e}"))?;
                    total.episodes += r.episodes;
                    total.actions += r.actions;
                    total.longest = total.longest.max(r.longest);
                }
            }
            Ok(total)
        },
    }
}

/// Every registered game.
pub fn games() -> Vec<GameEntry> {
    vec![
        entry::<Dhumbal>(),
        entry::<TicTacToe>(),
        entry::<ConnectFour>(),
        entry::<KuhnPoker>(),
        entry::<LeducPoker>(),
    ]
}

/// The game registered as `name`.
pub fn game(name: &str) -> Option<GameEntry> {
    games().into_iter().find(|g| g.name == name)
}
