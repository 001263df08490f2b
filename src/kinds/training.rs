//! `kind = "training"`: a learner (PPO or DQN) trained in one seat of a game against
//! `[[opponents]]`, with periodic evaluation tournaments and checkpoints. Run by
//! `mechsim train`; writes the checkpoint, the learning curve and a summary.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::core::error::Result;
use crate::core::params::{GameSpec, value_hint};
use crate::kinds::{RunRequest, ScenarioKind, game_entry, progress_bar, wrong_plan};
use crate::output;
use crate::runner::RunOptions;
use crate::runner::training::{TrainingBudget, TrainingPlan};
use crate::scenario::{Ctx, Plan, RawScenario, Scenario, in_range, key, reject, validate_game, validate_seat_list};
use mechsim_agents::{DqnConfig, LearnerConfig, PpoConfig};

/// `kind = "training"`, run by `mechsim train`.
pub struct Training;

impl ScenarioKind for Training {
    fn name(&self) -> &'static str {
        "training"
    }

    fn valid_keys(&self, table: &[&str]) -> Option<&'static [&'static str]> {
        crate::scenario::game_kind_keys(table)
    }

    fn validate(&self, ctx: &Ctx<'_>) -> Result<Scenario> {
        let raw = RawScenario::read(ctx)?;
        let (game, plan) = validate_training(ctx, &raw)?;
        Ok(raw.scenario(ctx, game, plan))
    }

    fn size(&self, _plan: &Plan) -> (u64, usize) {
        (0, 1)
    }

    fn scale_down(&self, plan: &mut Plan, rounds: u64, _seeds: usize) {
        if let Plan::Training(t) = plan {
            // `rounds` learner decisions per update and at most two updates.
            t.update_every = t.update_every.min(rounds as usize * 8).max(1);
            t.budget = TrainingBudget {
                steps: Some(t.budget.steps.unwrap_or(u64::MAX).min(2 * t.update_every as u64)),
                episodes: None,
                minutes: None,
            };
            t.eval_rounds = t.eval_rounds.min(rounds);
            t.tables = t.tables.min(4);
            if let LearnerConfig::Ppo(ppo) = &mut t.learner {
                ppo.minibatch = ppo.minibatch.min(64);
                ppo.epochs = ppo.epochs.min(2);
            }
        }
    }

    fn cap_search(&self, plan: &mut Plan, budget: i64) {
        if let Plan::Training(t) = plan {
            super::tournament::cap_seat_budgets(&t.game.name, &mut t.opponents, budget);
        }
    }

    fn describe(&self, plan: &Plan) -> String {
        match plan {
            Plan::Training(p) => format!(
                "train {} on `{}` against {} opponent(s), {} tables",
                p.learner.name(),
                p.game.name,
                p.opponents.len(),
                p.tables
            ),
            _ => String::new(),
        }
    }

    fn command(&self) -> &'static str {
        "train"
    }

    fn headline(&self, summary: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        super::pick(
            summary,
            &[
                ("steps", "/steps"),
                ("episodes", "/episodes"),
                ("updates", "/updates"),
                ("eval_rounds", "/final_eval/rounds"),
                ("eval_win_rate", "/final_eval/win_rate"),
                ("eval_payoff_mean", "/final_eval/payoff_mean"),
            ],
        )
    }

    fn run(&self, scenario: &Scenario, request: &RunRequest) -> Result<String> {
        let Plan::Training(plan) = &scenario.plan else {
            return Err(wrong_plan(self.name(), scenario));
        };
        let mut plan = plan.as_ref().clone();
        if let Some(steps) = request.max_steps {
            plan.budget.steps = Some(plan.budget.steps.map_or(steps, |s| s.min(steps)));
        }
        request
            .device
            .ensure_compiled_in()
            .map_err(|e| crate::core::Error::Run(e.to_string()))?;
        let entry = game_entry(scenario)?;
        let total = plan.budget.steps.unwrap_or(0);
        let bar = progress_bar(request.quiet || total == 0, total, &scenario.name, "steps");
        let (progress, status) = (bar.clone(), bar.clone());
        let options = RunOptions {
            threads: Some(1),
            on_progress: std::sync::Arc::new(move |n| progress.inc(n)),
            on_status: std::sync::Arc::new(move |message| status.set_message(message)),
            // The training loop stops itself on an interrupt and writes what it has.
            interruptible: false,
        };
        let mut staging = output::Staging::new(&request.out_dir)?;
        staging.keep_when_interrupted();
        let clock = super::Clock::start();
        let result = entry
            .run_training(&plan, request.device, staging.path(), &options)
            .map_err(|e| request.context("training", e))?;
        let wall = clock.seconds();
        bar.finish_and_clear();
        if result.interrupted && result.updates == 0 {
            // Nothing was trained: the old result (if any) stays, untouched.
            return Err(crate::core::Error::Interrupted(
                "stopped before the first update; nothing was trained or written (the output directory is as it was)"
                    .into(),
            ));
        }
        if result.updates == 0 {
            return Err(crate::core::Error::Run(format!(
                "{}: the step budget ({} steps) has room for no whole trajectory, so nothing was trained; give more steps",
                request.file.display(),
                plan.budget.steps.unwrap_or(0)
            )));
        }
        output::write_training(
            staging,
            request.force,
            scenario,
            &plan,
            &result,
            &clock.info(1),
            &request.device.to_string(),
        )?;
        Ok(if request.quiet && result.interrupted {
            crate::terminal::games::interrupted_training(&result, &request.out_dir) + "\n"
        } else if request.quiet {
            String::new()
        } else {
            crate::terminal::games::render_training(&plan, &result, wall, &request.out_dir, request.device)
        })
    }
}

/// `[training]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTraining {
    algorithm: Option<String>,
    steps: Option<u64>,
    episodes: Option<u64>,
    minutes: Option<f64>,
    update_every: Option<u64>,
    eval_every: Option<u64>,
    eval_rounds: Option<u64>,
    checkpoint_every: Option<u64>,
    learning_rate: Option<f64>,
    gamma: Option<f32>,
    gae_lambda: Option<f32>,
    clip: Option<f32>,
    value_coef: Option<f32>,
    entropy_coef: Option<f32>,
    epochs: Option<u64>,
    minibatch: Option<u64>,
    max_grad_norm: Option<f32>,
    hidden: Option<u64>,
    init: Option<String>,
    buffer: Option<u64>,
    target_sync: Option<u64>,
    epsilon_start: Option<f32>,
    epsilon_end: Option<f32>,
    epsilon_steps: Option<u64>,
    replay_ratio: Option<f32>,
    win_coef: Option<f32>,
}

fn validate_training(ctx: &Ctx<'_>, raw: &RawScenario) -> Result<(GameSpec, Plan)> {
    let seed = raw.seed();
    reject(ctx, raw.solver.is_some(), "solver", "training")?;
    reject(
        ctx,
        raw.seats.is_some(),
        "seats",
        "training (the learner takes one seat; list the others as [[opponents]])",
    )?;
    reject(ctx, raw.seeds.is_some(), "seeds", "training")?;
    reject(ctx, raw.rounds.is_some(), "rounds", "training")?;
    reject(
        ctx,
        raw.rotation.is_some(),
        "rotation",
        "training (the learner always rotates through the positions)",
    )?;
    let Some(t) = &raw.training else {
        return Err(ctx.error_at(
            &[],
            false,
            "a training scenario needs a [training] table (algorithm, budget)".into(),
        ));
    };
    let at = |k: &str| vec![key("training"), key(k)];
    // Both configs are validated below; the algorithm picks the one the plan carries.
    let pick: fn(PpoConfig, DqnConfig) -> LearnerConfig = match t.algorithm.as_deref() {
        None | Some(PpoConfig::ALGORITHM) => |ppo, _| LearnerConfig::Ppo(ppo),
        Some(DqnConfig::ALGORITHM) => |_, dqn| LearnerConfig::Dqn(dqn),
        Some(other) => {
            let hint = value_hint(other, LearnerConfig::NAMES.iter().copied());
            let names: Vec<String> = LearnerConfig::NAMES.iter().map(|n| format!("\"{n}\"")).collect();
            return Err(ctx.error_at(
                &at("algorithm"),
                false,
                format!(
                    "unknown algorithm \"{other}\"{hint} (this build trains: {})",
                    names.join(", ")
                ),
            ));
        }
    };
    if t.steps.is_none() && t.episodes.is_none() && t.minutes.is_none() {
        return Err(ctx.error_at(
            &[key("training")],
            true,
            "give a budget: `steps`, `episodes` or `minutes`".into(),
        ));
    }
    if let Some(m) = t.minutes.filter(|m| !(m.is_finite() && *m > 0.0)) {
        return Err(ctx.error_at(&at("minutes"), false, format!("must be a positive number, found {m}")));
    }
    let positive = |name: &str, v: Option<u64>, default: u64, max: u64| -> Result<u64> {
        let v = v.unwrap_or(default);
        if (1..=max).contains(&v) {
            Ok(v)
        } else {
            Err(ctx.error_at(&at(name), false, format!("must be in 1..={max}, found {v}")))
        }
    };
    let unit = |name: &str, v: Option<f32>, default: f32, lo: f32, hi: f32| -> Result<f32> {
        let v = v.unwrap_or(default);
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(ctx.error_at(&at(name), false, format!("must be in [{lo}, {hi}], found {v}")))
        }
    };
    let defaults = PpoConfig::default();
    let learning_rate = t.learning_rate.unwrap_or(defaults.learning_rate);
    if !(learning_rate.is_finite() && learning_rate > 0.0 && learning_rate < 1.0) {
        return Err(ctx.error_at(
            &at("learning_rate"),
            false,
            format!("must be in (0, 1), found {learning_rate}"),
        ));
    }
    let ppo = PpoConfig {
        learning_rate,
        gamma: unit("gamma", t.gamma, defaults.gamma, 0.0, 1.0)?,
        gae_lambda: unit("gae_lambda", t.gae_lambda, defaults.gae_lambda, 0.0, 1.0)?,
        clip: unit("clip", t.clip, defaults.clip, 0.01, 1.0)?,
        value_coef: unit("value_coef", t.value_coef, defaults.value_coef, 0.0, 100.0)?,
        entropy_coef: unit("entropy_coef", t.entropy_coef, defaults.entropy_coef, 0.0, 10.0)?,
        epochs: positive("epochs", t.epochs, defaults.epochs as u64, 1000)? as usize,
        minibatch: positive("minibatch", t.minibatch, defaults.minibatch as u64, 1_000_000)? as usize,
        max_grad_norm: unit("max_grad_norm", t.max_grad_norm, defaults.max_grad_norm, 0.0001, 1000.0)?,
        hidden: positive("hidden", t.hidden, defaults.hidden as u64, 65_536)? as usize,
        seed,
        win_coef: unit("win_coef", t.win_coef, defaults.win_coef, 0.0, 100.0)?,
    };
    let Some(opponent_tables) = raw.opponents.as_ref().filter(|s| !s.is_empty()) else {
        return Err(ctx.error_at(
            &[],
            false,
            "a training scenario needs [[opponents]] entries for the other seats".into(),
        ));
    };
    let (entry, game) = validate_game(ctx, &raw.game, Some(opponent_tables.len() + 1))?;
    let opponents = validate_seat_list(ctx, &entry, &game, opponent_tables, "opponents")?;
    let dqn_defaults = DqnConfig::default();
    let dqn = DqnConfig {
        learning_rate: t.learning_rate.unwrap_or(dqn_defaults.learning_rate),
        gamma: ppo.gamma,
        buffer: positive("buffer", t.buffer, dqn_defaults.buffer as u64, 100_000_000)? as usize,
        minibatch: positive("minibatch", t.minibatch, dqn_defaults.minibatch as u64, 1_000_000)? as usize,
        target_sync: positive("target_sync", t.target_sync, dqn_defaults.target_sync, 100_000_000)?,
        replay_ratio: unit("replay_ratio", t.replay_ratio, dqn_defaults.replay_ratio, 0.01, 1000.0)?,
        epsilon_start: unit("epsilon_start", t.epsilon_start, dqn_defaults.epsilon_start, 0.0, 1.0)?,
        epsilon_end: unit("epsilon_end", t.epsilon_end, dqn_defaults.epsilon_end, 0.0, 1.0)?,
        epsilon_steps: positive("epsilon_steps", t.epsilon_steps, dqn_defaults.epsilon_steps, u64::MAX)?,
        hidden: ppo.hidden,
        max_grad_norm: t.max_grad_norm.unwrap_or(dqn_defaults.max_grad_norm),
        seed,
    };
    let plan = TrainingPlan {
        scenario: raw.name.clone(),
        game: game.clone(),
        opponents,
        learner: pick(ppo, dqn),
        tables: in_range(ctx, "tables", raw.tables.unwrap_or(16), 1..=100_000)? as usize,
        budget: TrainingBudget {
            steps: t.steps,
            episodes: t.episodes,
            minutes: t.minutes,
        },
        update_every: positive("update_every", t.update_every, 4096, 100_000_000)? as usize,
        eval_every: t.eval_every.unwrap_or(10),
        eval_rounds: positive("eval_rounds", t.eval_rounds, 400, 100_000_000)?,
        checkpoint_every: t.checkpoint_every.unwrap_or(0),
        seed,
        init: match &t.init {
            Some(p) if Path::new(p).is_file() => Some(PathBuf::from(p)),
            Some(p) => {
                return Err(ctx.error_at(
                    &at("init"),
                    false,
                    format!("\"{p}\" is not a file (give a .mpk checkpoint)"),
                ));
            }
            None => None,
        },
    };
    Ok((game, Plan::Training(Box::new(plan))))
}
