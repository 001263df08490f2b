//! `kind = "solve"`: a game small enough to solve, by CFR, CFR+ or external-sampling MCCFR,
//! with exact NashConv evaluated along the way. Writes the convergence curve, the average
//! policy and a summary; prints the curve and the final exploitability.

use serde::Deserialize;

use crate::core::error::Result;
use crate::core::params::GameSpec;
use crate::kinds::{RunRequest, ScenarioKind, game_entry, wrong_plan};
use crate::output;
use crate::runner::solve::{SolvePlan, SolverAlgorithm};
use crate::scenario::{Ctx, Plan, RawScenario, Scenario, key, parse_named, reject, validate_game};

/// `kind = "solve"`.
pub struct Solve;

impl ScenarioKind for Solve {
    fn name(&self) -> &'static str {
        "solve"
    }

    fn valid_keys(&self, table: &[&str]) -> Option<&'static [&'static str]> {
        crate::scenario::game_kind_keys(table)
    }

    fn validate(&self, ctx: &Ctx<'_>) -> Result<Scenario> {
        let raw = RawScenario::read(ctx)?;
        let (game, plan) = validate_solve(ctx, &raw)?;
        Ok(raw.scenario(ctx, game, plan))
    }

    fn size(&self, plan: &Plan) -> (u64, usize) {
        match plan {
            Plan::Solve(s) => (s.iterations, 1),
            _ => (0, 1),
        }
    }

    fn scale_down(&self, plan: &mut Plan, rounds: u64, _seeds: usize) {
        if let Plan::Solve(s) = plan {
            s.iterations = s.iterations.min(rounds);
            s.eval_every = s.eval_every.min(s.iterations);
            if s.checkpoint_every >= s.iterations {
                s.checkpoint_every = 0;
            }
        }
    }

    fn set_rounds(&self, plan: &mut Plan, rounds: u64) -> std::result::Result<(), String> {
        match plan {
            Plan::Solve(s) => {
                s.iterations = rounds;
                Ok(())
            }
            _ => Err("not a solve scenario".into()),
        }
    }

    fn describe(&self, plan: &Plan) -> String {
        match plan {
            Plan::Solve(p) => format!(
                "solve `{}` with {}, {} iterations",
                p.game.name,
                p.algorithm.name(),
                p.iterations
            ),
            _ => String::new(),
        }
    }

    fn headline(&self, summary: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        super::pick(
            summary,
            &[
                ("iterations", "/iterations"),
                ("nash_conv", "/nash_conv"),
                ("exploitability", "/exploitability"),
            ],
        )
    }

    fn run(&self, scenario: &Scenario, request: &RunRequest) -> Result<String> {
        let Plan::Solve(plan) = &scenario.plan else {
            return Err(wrong_plan(self.name(), scenario));
        };
        let entry = game_entry(scenario)?;
        let clock = super::Clock::start();
        let bar = request.bar(plan.iterations, &scenario.name, "iterations");
        let result = entry
            .run_solve(plan, &request.options(&bar))
            .map_err(|e| request.context("running", e))?;
        let wall = clock.seconds();
        bar.finish_and_clear();
        output::write_solve(&request.out_dir, request.force, scenario, plan, &result, &clock.info(1))?;
        Ok(if request.quiet {
            String::new()
        } else {
            crate::terminal::games::render_solve(plan, &result, wall, &request.out_dir)
        })
    }
}

/// `[solver]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSolver {
    algorithm: Option<String>,
    iterations: Option<u64>,
    eval_every: Option<u64>,
    checkpoint_every: Option<u64>,
}

fn validate_solve(ctx: &Ctx<'_>, raw: &RawScenario) -> Result<(GameSpec, Plan)> {
    let seed = raw.seed();
    reject(ctx, raw.seats.is_some(), "seats", "solve")?;
    reject(ctx, raw.training.is_some(), "training", "solve")?;
    reject(ctx, raw.opponents.is_some(), "opponents", "solve")?;
    reject(ctx, raw.seeds.is_some(), "seeds", "solve")?;
    reject(ctx, raw.rounds.is_some(), "rounds", "solve")?;
    reject(ctx, raw.tables.is_some(), "tables", "solve")?;
    reject(ctx, raw.rotation.is_some(), "rotation", "solve")?;
    let Some(solver) = &raw.solver else {
        return Err(ctx.error_at(
            &[],
            false,
            "a solve scenario needs a [solver] table (algorithm, iterations)".into(),
        ));
    };
    let at = |k: &str| vec![key("solver"), key(k)];
    let algorithm = match solver.algorithm.as_deref() {
        None => SolverAlgorithm::CfrPlus,
        Some(name) => parse_named(
            ctx,
            &at("algorithm"),
            "algorithm",
            name,
            SolverAlgorithm::NAMES,
            SolverAlgorithm::parse,
        )?,
    };
    let iterations = solver.iterations.unwrap_or(1000);
    if !(1..=1_000_000_000).contains(&iterations) {
        return Err(ctx.error_at(
            &at("iterations"),
            false,
            format!("must be in 1..=1000000000, found {iterations}"),
        ));
    }
    let eval_every = solver.eval_every.unwrap_or_else(|| (iterations / 100).max(1));
    let checkpoint_every = solver.checkpoint_every.unwrap_or(0);
    let (_, game) = validate_game(ctx, &raw.game, None)?;
    let plan = SolvePlan {
        scenario: raw.name.clone(),
        game: game.clone(),
        algorithm,
        iterations,
        eval_every,
        checkpoint_every,
        seed,
    };
    Ok((game, Plan::Solve(plan)))
}
