//! Search and solver policies for scenario files: `mcts` for perfect-information games,
//! `ismcts` for games with hidden information, and `cfr` (CFR, CFR+ or external-sampling
//! MCCFR solved when the seat is built, then playing the average policy) for games small
//! enough to solve.

use std::time::Duration;

use super::{PolicyEntry, PolicyRole, SeatContext};
use crate::core::game::{Game, Resample};
use crate::core::params::{ParamKind, ParamSpec, Params};
use crate::core::policy::Policy;
use crate::core::rng::SimRng;
use crate::search::cfr::{Cfr, CfrVariant, ExternalSamplingMccfr};
use crate::search::ismcts::{Ismcts, IsmctsConfig};
use crate::search::mcts::{Mcts, MctsConfig};
use crate::search::tree::GameTree;
use crate::search::{Budget, Evaluator, PolicyRollout, RandomRollout};

/// A wall-clock budget, shared by the search policies.
const TIME_MS: ParamSpec = ParamSpec {
    name: "time_ms",
    kind: ParamKind::Float {
        min: 0.0,
        max: 3_600_000.0,
    },
    help: "wall-clock budget per decision in ms (default none; not reproducible)",
};

const MCTS_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "simulations",
        kind: ParamKind::Int {
            min: 0,
            max: 100_000_000,
        },
        help: "simulations per decision (default 1000; 0 = use time_ms only)",
    },
    TIME_MS,
    ParamSpec {
        name: "exploration",
        kind: ParamKind::Float { min: 0.0, max: 100.0 },
        help: "UCT exploration constant (default 2.0)",
    },
    ParamSpec {
        name: "rollouts",
        kind: ParamKind::Int { min: 1, max: 1000 },
        help: "random rollouts per leaf evaluation (default 1)",
    },
    ParamSpec {
        name: "reuse_tree",
        kind: ParamKind::Bool,
        help: "keep the subtree of the move played for the next decision (default true)",
    },
];

const ISMCTS_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "iterations",
        kind: ParamKind::Int {
            min: 0,
            max: 100_000_000,
        },
        help: "iterations (determinisations) per decision (default 1000; 0 = use time_ms only)",
    },
    TIME_MS,
    ParamSpec {
        name: "exploration",
        kind: ParamKind::Float { min: 0.0, max: 100.0 },
        help: "UCB exploration constant on returns divided by the largest seen in the search (default 0.7)",
    },
    ParamSpec {
        name: "rollout",
        kind: ParamKind::PolicyName,
        help: "policy that plays every seat in rollouts: \"random\" (default) or any plain policy of the game",
    },
];

const CFR_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "iterations",
        kind: ParamKind::Int {
            min: 1,
            max: 100_000_000,
        },
        help: "solver iterations run when the seat is built (default 1000)",
    },
    ParamSpec {
        name: "variant",
        kind: ParamKind::Choice(&["cfr", "cfr+", "mccfr"]),
        help: "vanilla CFR, CFR+ (default) or external-sampling MCCFR",
    },
    ParamSpec {
        name: "seed",
        kind: ParamKind::Int { min: 0, max: i64::MAX },
        help: "seed of MCCFR's sampling (default 0)",
    },
];

fn budget(params: &Params, count_key: &str) -> Result<Budget, String> {
    let simulations = params.int(count_key).unwrap_or(1000) as u64;
    let time = params
        .float("time_ms")
        .filter(|t| *t > 0.0)
        .map(|t| Duration::from_secs_f64(t / 1000.0));
    if simulations == 0 && time.is_none() {
        return Err(format!("`{count_key} = 0` needs a `time_ms` budget"));
    }
    Ok(Budget { simulations, time })
}

fn build_mcts<G: Game>(game: &G, params: &Params) -> Result<Box<dyn Policy<G>>, String> {
    let config = MctsConfig {
        budget: budget(params, "simulations")?,
        exploration: params.float("exploration").unwrap_or(2.0),
        reuse_tree: params.bool("reuse_tree").unwrap_or(true),
    };
    let rollouts = params.int("rollouts").unwrap_or(1) as usize;
    Ok(Box::new(Mcts::new(game, config, RandomRollout { rollouts })))
}

fn build_ismcts<G: Game>(seat: &SeatContext<'_, G>) -> Result<Box<dyn Policy<G>>, String>
where
    G::State: Resample,
{
    let params = seat.params;
    let config = IsmctsConfig {
        budget: budget(params, "iterations")?,
        exploration: params.float("exploration").unwrap_or(0.7),
    };
    // Uniform random rollouts have a faster built-in evaluator than the `random` policy.
    let rollout: Box<dyn Evaluator<G>> = match params.str("rollout") {
        None | Some(super::random::NAME) => Box::new(RandomRollout::default()),
        Some(name) => Box::new(PolicyRollout::new(
            seat.build_plain(name).map_err(|m| format!("`rollout`: {m}"))?,
        )),
    };
    Ok(Box::new(Ismcts::with_rollout(seat.game, config, rollout)))
}

/// Largest tree the `cfr` seat will walk.
const MAX_TREE_NODES: usize = 5_000_000;

fn build_cfr<G: Game + Clone>(game: &G, params: &Params) -> Result<Box<dyn Policy<G>>, String> {
    let iterations = params.int("iterations").unwrap_or(1000) as u64;
    let policy = match params.str("variant").unwrap_or("cfr+") {
        "mccfr" => {
            let mut solver = ExternalSamplingMccfr::new(game.clone());
            let mut rng = SimRng::new(params.int("seed").unwrap_or(0) as u64);
            for _ in 0..iterations {
                solver.iterate(&mut rng);
            }
            solver.average_policy()
        }
        variant => {
            let tree = GameTree::build(game, MAX_TREE_NODES)?;
            let v = if variant == "cfr" {
                CfrVariant::Cfr
            } else {
                CfrVariant::CfrPlus
            };
            let mut solver = Cfr::new(tree, v)?;
            for _ in 0..iterations {
                solver.iterate();
            }
            solver.average_policy()
        }
    };
    Ok(Box::new(policy))
}

/// `mcts` (perfect-information games only: it searches the true state).
pub fn perfect_information<G: Game>() -> Vec<PolicyEntry<G>> {
    vec![
        PolicyEntry::new(
            "mcts",
            "UCT Monte Carlo tree search with random rollouts and subtree reuse",
            |seat| build_mcts(seat.game, seat.params),
        )
        .with_params(MCTS_PARAMS)
        .with_role(PolicyRole::Search)
        .with_budget("simulations"),
    ]
}

/// `ismcts` (games whose hidden information can be resampled).
pub fn imperfect_information<G: Game>() -> Vec<PolicyEntry<G>>
where
    G::State: Resample,
{
    vec![
        PolicyEntry::new(
            "ismcts",
            "single-observer information-set MCTS over resampled determinisations",
            build_ismcts::<G>,
        )
        .with_params(ISMCTS_PARAMS)
        .with_role(PolicyRole::Search)
        .with_budget("iterations"),
    ]
}

/// `cfr` (games small enough to solve when the seat is built).
pub fn solvers<G: Game + Clone>() -> Vec<PolicyEntry<G>> {
    vec![
        PolicyEntry::new(
            "cfr",
            "solves the game with CFR+/CFR/MCCFR when built, then plays the average policy",
            |seat| build_cfr(seat.game, seat.params),
        )
        .with_params(CFR_PARAMS)
        .with_role(PolicyRole::Solver)
        .with_budget("iterations"),
    ]
}
