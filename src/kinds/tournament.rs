//! `kind = "tournament"`: rounds of a game between seated policies, over independent
//! replicates (`seeds`), at one or more tables, with a seating rule. Writes rounds.csv,
//! decisions.csv (search and external seats), summaries with pairwise tests, timing and a
//! manifest; prints the per-participant table with intervals.

use crate::core::error::Result;
use crate::core::params::{GameSpec, value_hint};
use crate::core::rng::{MAX_REPLICATE_SEED, replicate_seed};
use crate::kinds::{RunRequest, ScenarioKind, game_entry, wrong_plan};
use crate::output;
use crate::registry;
use crate::runner::TournamentPlan;
use crate::scenario::source::Seg;
use crate::scenario::{
    Ctx, Plan, RawScenario, Scenario, in_range, key, reject, replicate_seeds, validate_game, validate_seats,
};
use crate::world::Rotation;

/// `kind = "tournament"`.
pub struct Tournament;

impl ScenarioKind for Tournament {
    fn name(&self) -> &'static str {
        "tournament"
    }

    fn valid_keys(&self, table: &[&str]) -> Option<&'static [&'static str]> {
        crate::scenario::game_kind_keys(table)
    }

    fn validate(&self, ctx: &Ctx<'_>) -> Result<Scenario> {
        let raw = RawScenario::read(ctx)?;
        let (game, plan) = validate_tournament(ctx, &raw)?;
        Ok(raw.scenario(ctx, game, plan))
    }

    fn size(&self, plan: &Plan) -> (u64, usize) {
        match plan {
            Plan::Tournament(t) => (t.rounds, t.seeds.len()),
            _ => (0, 1),
        }
    }

    fn scale_down(&self, plan: &mut Plan, rounds: u64, seeds: usize) {
        if let Plan::Tournament(t) = plan {
            t.rounds = t.rounds.min(rounds);
            if t.rotation == Rotation::Duplicate {
                // Whole blocks of one deal per seating.
                let block = (t.tables * t.seats.len()) as u64;
                t.rounds = (t.rounds.div_ceil(block) * block).max(block);
            }
            t.seeds.truncate(seeds.max(1));
        }
    }

    fn set_rounds(&self, plan: &mut Plan, rounds: u64) -> std::result::Result<(), String> {
        let Plan::Tournament(t) = plan else {
            return Err("not a tournament".into());
        };
        if t.rotation == Rotation::Duplicate {
            let block = (t.tables * t.seats.len()) as u64;
            if !rounds.is_multiple_of(block) {
                return Err(format!(
                    "`--rounds {rounds}`: duplicate rotation plays whole blocks of tables x seats = {block} rounds (try {})",
                    rounds.div_ceil(block) * block
                ));
            }
        }
        t.rounds = rounds;
        Ok(())
    }

    fn set_seeds(&self, plan: &mut Plan, scenario_seed: u64, seeds: usize) -> std::result::Result<(), String> {
        match plan {
            Plan::Tournament(t) => super::resize_seeds(&mut t.seeds, scenario_seed, seeds, 100_000),
            _ => Err("not a tournament".into()),
        }
    }

    fn cap_search(&self, plan: &mut Plan, budget: i64) {
        if let Plan::Tournament(t) = plan {
            cap_seat_budgets(&t.game.name, &mut t.seats, budget);
        }
    }

    fn describe(&self, plan: &Plan) -> String {
        match plan {
            Plan::Tournament(t) => format!(
                "tournament of `{}`, {} seats, {} seed(s) x {} rounds",
                t.game.name,
                t.seats.len(),
                t.seeds.len(),
                t.rounds
            ),
            _ => String::new(),
        }
    }

    fn sweep_units(&self) -> super::SweepUnits {
        super::SweepUnits::ReplicateRows
    }

    fn section(
        &self,
        dir: &std::path::Path,
        manifest: &serde_json::Value,
        scratch: &std::path::Path,
        index: usize,
    ) -> Result<crate::analyze::Section> {
        crate::analyze::tournament(dir, scratch, index, manifest["rotation"].as_str() == Some("duplicate"))
    }

    fn headline(&self, summary: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        // Per participant: win rate and mean payoff (a tournament sweep tabulates these from
        // the rounds themselves; this serves any other reader of the summary).
        let payoff = summary["payoff"].as_str().unwrap_or("payoff");
        let mut out = Vec::new();
        for p in summary["participants"].as_array().into_iter().flatten() {
            let label = p["label"].as_str().unwrap_or("?");
            out.push((format!("{label}.win_rate"), p["win_rate"].clone()));
            out.push((format!("{label}.{payoff}_mean"), p[format!("{payoff}_mean")].clone()));
        }
        out
    }

    fn run(&self, scenario: &Scenario, request: &RunRequest) -> Result<String> {
        let Plan::Tournament(plan) = &scenario.plan else {
            return Err(wrong_plan(self.name(), scenario));
        };
        let entry = game_entry(scenario)?;
        let clock = super::Clock::start();
        let bar = request.bar(plan.rounds * plan.seeds.len() as u64, &scenario.name, "rounds");
        let result = entry
            .run_tournament(plan, &request.options(&bar))
            .map_err(|e| request.context("running", e))?;
        let wall = clock.seconds();
        bar.finish_and_clear();
        output::write_tournament(
            &request.out_dir,
            request.force,
            scenario,
            plan,
            &result,
            &clock.info(result.threads),
        )?;
        Ok(if request.quiet {
            String::new()
        } else {
            crate::terminal::games::render(plan, &result, wall, &request.out_dir)
        })
    }
}

/// Caps the per-decision budget parameter of every seat whose policy declares one.
pub(crate) fn cap_seat_budgets(game: &str, seats: &mut [crate::runner::SeatPlan], budget: i64) {
    let policies = registry::game(game).map(|g| g.policies()).unwrap_or_default();
    for seat in seats {
        if let Some(param) = policies.iter().find(|p| p.name == seat.policy).and_then(|p| p.budget) {
            seat.params.cap_int(param, budget);
        }
    }
}

fn validate_tournament(ctx: &Ctx<'_>, raw: &RawScenario) -> Result<(GameSpec, Plan)> {
    let seed = raw.seed();
    reject(ctx, raw.solver.is_some(), "solver", "tournament")?;
    reject(ctx, raw.training.is_some(), "training", "tournament")?;
    reject(
        ctx,
        raw.opponents.is_some(),
        "opponents",
        "tournament (list every player under [[seats]])",
    )?;
    let Some(seat_tables) = raw.seats.as_ref().filter(|s| !s.is_empty()) else {
        return Err(ctx.error_at(
            &[],
            false,
            "a tournament needs [[seats]] entries, one per player".into(),
        ));
    };
    let seeds = match &raw.seeds {
        None => vec![replicate_seed(seed, 0)],
        Some(toml::Value::Integer(n)) if (1..=100_000).contains(n) => replicate_seeds(seed, *n as u64),
        Some(toml::Value::Array(items)) if !items.is_empty() => {
            let mut list = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    toml::Value::Integer(v) if *v >= 0 && (*v as u64) <= MAX_REPLICATE_SEED => {
                        if let Some(first) = list.iter().position(|s| *s == *v as u64) {
                            return Err(ctx.error_at(
                                &[key("seeds"), Seg::Index(i)],
                                false,
                                format!(
                                    "seed {v} is listed twice (also at [{first}]); replicates must be independent, so every listed seed must differ"
                                ),
                            ));
                        }
                        list.push(*v as u64);
                    }
                    _ => {
                        return Err(ctx.error_at(
                            &[key("seeds"), Seg::Index(i)],
                            false,
                            format!("each listed seed must be an integer in 0..={MAX_REPLICATE_SEED}, found {item}"),
                        ));
                    }
                }
            }
            list
        }
        Some(other) => {
            return Err(ctx.error_at(
                &[key("seeds")],
                false,
                format!("must be a number of replicates in 1..=100000 or a non-empty list of seeds, found {other}"),
            ));
        }
    };
    let rounds = in_range(ctx, "rounds", raw.rounds.unwrap_or(100), 1..=1_000_000_000)?;
    let tables = in_range(ctx, "tables", raw.tables.unwrap_or(1), 1..=100_000)?;
    let rotation = match raw.rotation.as_deref() {
        None | Some("none") => Rotation::None,
        Some("rotate") => Rotation::Rotate,
        Some("duplicate") => Rotation::Duplicate,
        Some(other) => {
            let hint = value_hint(other, ["none", "rotate", "duplicate"]);
            return Err(ctx.error_at(
                &[key("rotation")],
                false,
                format!("must be \"none\", \"rotate\" or \"duplicate\", found \"{other}\"{hint}"),
            ));
        }
    };
    let (entry, game) = validate_game(ctx, &raw.game, Some(seat_tables.len()))?;
    let seats = validate_seats(ctx, &entry, &game, seat_tables)?;
    if rotation == Rotation::Duplicate && rounds % (tables * seats.len() as u64) != 0 {
        let block = tables * seats.len() as u64;
        return Err(ctx.error_at(
            &[key("rounds")],
            false,
            format!(
                "rotation = \"duplicate\" plays each deal once per seating, so rounds must be a multiple of tables x \
                 seats = {block}; found {rounds} (try {})",
                rounds.div_ceil(block) * block
            ),
        ));
    }
    let plan = TournamentPlan {
        scenario: raw.name.clone(),
        game: game.clone(),
        seats,
        seeds,
        rounds,
        tables: tables as usize,
        rotation,
    };
    Ok((game, Plan::Tournament(plan)))
}
