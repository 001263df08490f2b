//! Solver runs (`kind = "solve"`): iterate CFR, CFR+ or external-sampling MCCFR on a game,
//! evaluating the average policy's exact NashConv every `eval_every` iterations and keeping
//! checkpoints. The shape (iterations, a learning curve, checkpoints, a final policy) is the
//! one training runs share.

use crate::core::error::{Error, Result};
use crate::core::facts::GameFacts;
use crate::core::game::{State, Turn};
use crate::core::params::GameSpec;
use crate::core::rng::SimRng;
use crate::runner::RunOptions;
use crate::search::best_response::{Profile, nash_conv, profile_of, value_of};
use crate::search::cfr::{Cfr, CfrVariant, ExternalSamplingMccfr};
use crate::search::tabular::TabularPolicy;
use crate::search::tree::GameTree;

/// Largest game tree a solver run walks.
pub const MAX_TREE_NODES: usize = 20_000_000;

/// Which solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolverAlgorithm {
    /// Vanilla CFR.
    Cfr,
    /// CFR+.
    CfrPlus,
    /// External-sampling Monte Carlo CFR.
    Mccfr,
}

impl SolverAlgorithm {
    /// Names in scenario files.
    pub const NAMES: &'static [&'static str] = &["cfr", "cfr+", "mccfr"];

    /// Parses a scenario name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "cfr" => Some(SolverAlgorithm::Cfr),
            "cfr+" => Some(SolverAlgorithm::CfrPlus),
            "mccfr" => Some(SolverAlgorithm::Mccfr),
            _ => None,
        }
    }

    /// The scenario name.
    pub fn name(self) -> &'static str {
        match self {
            SolverAlgorithm::Cfr => "cfr",
            SolverAlgorithm::CfrPlus => "cfr+",
            SolverAlgorithm::Mccfr => "mccfr",
        }
    }
}

/// A validated solver run.
#[derive(Debug, Clone, PartialEq)]
pub struct SolvePlan {
    /// Scenario name.
    pub scenario: String,
    /// The game.
    pub game: GameSpec,
    /// The solver.
    pub algorithm: SolverAlgorithm,
    /// Iterations.
    pub iterations: u64,
    /// Evaluate NashConv every this many iterations (0: never).
    pub eval_every: u64,
    /// Keep the average policy every this many iterations (0: only the final one).
    pub checkpoint_every: u64,
    /// Seed of sampling solvers.
    pub seed: u64,
}

/// One point of the learning curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    /// Iterations done.
    pub iteration: u64,
    /// NashConv of the average policy.
    pub nash_conv: f64,
    /// NashConv / players.
    pub exploitability: f64,
    /// Each player's expected return under the average policy.
    pub values: Vec<f64>,
}

/// What a solver run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveResult {
    /// The learning curve.
    pub curve: Vec<CurvePoint>,
    /// The final average policy.
    pub policy: TabularPolicy,
    /// Intermediate average policies by iteration.
    pub checkpoints: Vec<(u64, TabularPolicy)>,
    /// Nodes of the game tree (0 if it was not built).
    pub tree_nodes: usize,
    /// Information sets in the final policy.
    pub infosets: usize,
    /// Players.
    pub players: usize,
}

fn point<S: State>(tree: &GameTree<S>, profile: &Profile, iteration: u64) -> CurvePoint {
    let nc = nash_conv(tree, profile);
    CurvePoint {
        iteration,
        nash_conv: nc,
        exploitability: nc / tree.num_players as f64,
        values: value_of(tree, profile),
    }
}

fn tabular_profile<S: State>(tree: &GameTree<S>, policy: &TabularPolicy) -> Profile {
    profile_of(tree, &mut |state: &S, _| {
        let Turn::Player(p) = state.turn() else {
            return Vec::new();
        };
        policy.probs(state, p).into_iter().map(|(_, x)| x).collect()
    })
}

/// The user's interrupt stops a solve between iterations (nothing is written).
fn stop_if_interrupted(options: &RunOptions) -> Result<()> {
    if options.interruptible && crate::interrupt::requested() {
        return Err(Error::Interrupted(
            "the solve stopped before its end and wrote nothing (its output directory is as it was)".into(),
        ));
    }
    Ok(())
}

/// Runs a solver plan for game `G`.
pub fn run_solve<G: GameFacts>(plan: &SolvePlan, options: &RunOptions) -> Result<SolveResult> {
    let game = G::from_spec(&plan.game).map_err(|e| Error::Run(format!("game `{}`: {e}", plan.game.name)))?;
    let needs_tree = plan.algorithm != SolverAlgorithm::Mccfr || plan.eval_every > 0;
    let tree = if needs_tree {
        Some(GameTree::build(&game, MAX_TREE_NODES).map_err(|e| {
            Error::Run(format!(
                "{}: {e} (tree solvers and exact evaluation need the whole tree; for bigger games use algorithm = \"mccfr\" with eval_every = 0)",
                plan.game.name
            ))
        })?)
    } else {
        None
    };
    let tree_nodes = tree.as_ref().map_or(0, |t| t.nodes.len());
    let due = |it: u64, every: u64| every > 0 && (it.is_multiple_of(every) || it == plan.iterations);
    let mut curve = Vec::new();
    let mut checkpoints = Vec::new();
    let policy = match plan.algorithm {
        SolverAlgorithm::Cfr | SolverAlgorithm::CfrPlus => {
            let variant = if plan.algorithm == SolverAlgorithm::Cfr {
                CfrVariant::Cfr
            } else {
                CfrVariant::CfrPlus
            };
            let mut solver = Cfr::new(tree.expect("built above"), variant).map_err(Error::Run)?;
            if plan.eval_every > 0 {
                curve.push(point(solver.tree(), &solver.average_profile(), 0));
            }
            for it in 1..=plan.iterations {
                stop_if_interrupted(options)?;
                solver.iterate();
                (options.on_progress)(1);
                if due(it, plan.eval_every) {
                    curve.push(point(solver.tree(), &solver.average_profile(), it));
                }
                if due(it, plan.checkpoint_every) && it < plan.iterations {
                    checkpoints.push((it, solver.average_policy()));
                }
            }
            solver.average_policy()
        }
        SolverAlgorithm::Mccfr => {
            let mut solver = ExternalSamplingMccfr::new(game.clone());
            let mut rng = SimRng::new(plan.seed);
            if let Some(t) = &tree {
                curve.push(point(t, &tabular_profile(t, &solver.average_policy()), 0));
            }
            for it in 1..=plan.iterations {
                stop_if_interrupted(options)?;
                solver.iterate(&mut rng);
                (options.on_progress)(1);
                if let (Some(t), true) = (&tree, due(it, plan.eval_every)) {
                    curve.push(point(t, &tabular_profile(t, &solver.average_policy()), it));
                }
                if due(it, plan.checkpoint_every) && it < plan.iterations {
                    checkpoints.push((it, solver.average_policy()));
                }
            }
            solver.average_policy()
        }
    };
    Ok(SolveResult {
        curve,
        infosets: policy.len(),
        policy,
        checkpoints,
        tree_nodes,
        players: game.num_players(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::params::Params;
    use crate::games::kuhn_poker::KuhnPoker;

    fn plan(algorithm: SolverAlgorithm, iterations: u64) -> SolvePlan {
        SolvePlan {
            scenario: "t".into(),
            game: GameSpec {
                name: "kuhn_poker".into(),
                rules: "standard".into(),
                players: 2,
                params: Params::new(),
            },
            algorithm,
            iterations,
            eval_every: 100,
            checkpoint_every: 250,
            seed: 1,
        }
    }

    #[test]
    fn curves_fall_and_checkpoints_are_kept() {
        for algorithm in [SolverAlgorithm::Cfr, SolverAlgorithm::CfrPlus, SolverAlgorithm::Mccfr] {
            let r = run_solve::<KuhnPoker>(&plan(algorithm, 1000), &RunOptions::default()).unwrap();
            assert_eq!(r.curve.len(), 11, "{algorithm:?}: iteration 0 plus every 100");
            assert!((r.curve[0].nash_conv - 11.0 / 12.0).abs() < 1e-9, "starts uniform");
            let last = r.curve.last().unwrap();
            assert!(last.nash_conv < 0.1, "{algorithm:?}: {}", last.nash_conv);
            assert_eq!(
                r.checkpoints.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
                vec![250, 500, 750]
            );
            assert_eq!(r.infosets, 12);
        }
    }

    #[test]
    fn too_big_games_say_what_to_do() {
        let mut p = plan(SolverAlgorithm::CfrPlus, 1);
        p.game.name = "connect_four".into();
        let err = run_solve::<crate::games::connect_four::ConnectFour>(&p, &RunOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("use algorithm = \"mccfr\" with eval_every = 0"),
            "{err}"
        );
    }
}
