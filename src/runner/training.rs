//! Training runs (`kind = "training"`): a learner takes one participant of a training World
//! (tables stepping side by side, every waiting table answered by one batched forward pass),
//! opponents fill the other seats, and the loop alternates collecting finished rounds with
//! learner updates (PPO or DQN, as the plan's `LearnerConfig` says). Every `eval_every`
//! updates the current policy is saved and plays a small tournament against the same
//! opponents; its win rate (with a Wilson interval) and payoff go into the learning curve.
//! Deterministic on the CPU for a given seed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mechsim_agents::{DeviceKind, LearnerConfig, UpdateStats, load_learner, new_learner, read_meta};

use crate::core::error::{Error, Result};
use crate::core::facts::GameFacts;
use crate::core::params::{GameSpec, ParamValue, Params};
use crate::core::policy::Policy;
use crate::core::rng::{Stream, derive_seed, replicate_seed};
use crate::policies::PolicyEntry;
use crate::runner::{RunOptions, SeatBuilders, SeatPlan, TournamentPlan, run_plan};
use crate::world::Rotation;
use crate::world::training::{TrainingSetup, TrainingWorld};

/// When a training run stops (the first limit reached).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrainingBudget {
    /// Learner decisions (environment steps).
    pub steps: Option<u64>,
    /// Learner rounds (episodes).
    pub episodes: Option<u64>,
    /// Wall-clock minutes (not reproducible).
    pub minutes: Option<f64>,
}

/// A validated training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingPlan {
    /// Scenario name.
    pub scenario: String,
    /// The game.
    pub game: GameSpec,
    /// The learner's opponents (participants 1..).
    pub opponents: Vec<SeatPlan>,
    /// The learner: its algorithm (`learner.name()`) and hyper-parameters (the seed used is
    /// the scenario's).
    pub learner: LearnerConfig,
    /// Tables stepping side by side.
    pub tables: usize,
    /// When to stop.
    pub budget: TrainingBudget,
    /// Learner transitions per update.
    pub update_every: usize,
    /// Updates between evaluations (0: only at the end).
    pub eval_every: u64,
    /// Rounds per evaluation tournament.
    pub eval_rounds: u64,
    /// Updates between kept checkpoints (0: only the final one).
    pub checkpoint_every: u64,
    /// Scenario seed.
    pub seed: u64,
    /// A checkpoint to start from instead of fresh weights (resuming or fine-tuning; the
    /// optimiser's moments start afresh).
    pub init: Option<PathBuf>,
}

/// An evaluation of the current policy against the opponents.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Rounds played.
    pub rounds: u64,
    /// The learner's win rate.
    pub win_rate: f64,
    /// Wilson 95% interval.
    pub win_ci: (f64, f64),
    /// Mean payoff per round.
    pub payoff_mean: f64,
}

/// One row of the learning curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveRow {
    /// Updates done.
    pub update: u64,
    /// Learner decisions so far.
    pub steps: u64,
    /// Learner rounds so far.
    pub episodes: u64,
    /// Mean payoff per training round since the previous row.
    pub train_payoff: f64,
    /// Training win rate since the previous row.
    pub train_win_rate: f64,
    /// The update's statistics.
    pub stats: UpdateStats,
    /// The evaluation, where one ran.
    pub eval: Option<Evaluation>,
}

/// What a training run produced (checkpoints are files in the given directory).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingResult {
    /// The learning curve.
    pub curve: Vec<CurveRow>,
    /// The final checkpoint.
    pub checkpoint: PathBuf,
    /// The update whose evaluation had the highest payoff (saved as `best.mpk`).
    pub best_update: Option<u64>,
    /// Learner decisions.
    pub steps: u64,
    /// Learner rounds.
    pub episodes: u64,
    /// Updates.
    pub updates: u64,
    /// Seconds spent in updates (for samples/s).
    pub update_seconds: f64,
    /// Seconds spent collecting (for steps/s).
    pub collect_seconds: f64,
    /// Whether the user's interrupt ended the run before its budget (what it had is kept).
    pub interrupted: bool,
}

/// Copies the checkpoint just evaluated at `path` to `best.mpk` when its evaluation beats
/// the best so far.
fn keep_if_best(best: &mut Option<(u64, f64)>, update: u64, eval: &Evaluation, path: &Path, dir: &Path) -> Result<()> {
    if best.is_some_and(|(_, payoff)| eval.payoff_mean <= payoff) {
        return Ok(());
    }
    *best = Some((update, eval.payoff_mean));
    // The evaluated checkpoint was just written: copy it rather than save again.
    for (from, to) in [
        (path.to_path_buf(), dir.join("best.mpk")),
        (path.with_extension("mpk.json"), dir.join("best.mpk.json")),
    ] {
        std::fs::copy(&from, &to).map_err(|e| Error::io("cannot copy checkpoint to", to.clone(), e))?;
    }
    Ok(())
}

fn evaluate<G: GameFacts>(
    plan: &TrainingPlan,
    checkpoint: &Path,
    update: u64,
    policies: &[PolicyEntry<G>],
) -> Result<Evaluation> {
    let mut params = Params::new();
    let specs = crate::policies::learned::entry::<G>().params;
    params
        .set(specs, "checkpoint", ParamValue::Str(checkpoint.display().to_string()))
        .map_err(Error::Run)?;
    let mut seats = vec![SeatPlan {
        policy: plan.learner.name().into(),
        label: "learner".into(),
        params,
    }];
    seats.extend(plan.opponents.iter().cloned());
    let tournament = TournamentPlan {
        scenario: plan.scenario.clone(),
        game: plan.game.clone(),
        seats,
        seeds: vec![replicate_seed(derive_seed(plan.seed, Stream::Round, update), 0)],
        rounds: plan.eval_rounds,
        tables: 1,
        rotation: Rotation::Rotate,
    };
    // An interrupted training run still evaluates what it writes.
    let options = RunOptions {
        threads: Some(1),
        interruptible: false,
        ..RunOptions::default()
    };
    let result = run_plan::<G>(&tournament, &options, policies)?;
    let me = &result.summary.participants[0];
    Ok(Evaluation {
        rounds: me.rounds,
        win_rate: me.win_rate,
        win_ci: (me.win_ci_low, me.win_ci_high),
        payoff_mean: me.payoff_mean,
    })
}

/// Trains per `plan` on `device`, writing checkpoints into `dir`.
pub fn run_training<G: GameFacts>(
    plan: &TrainingPlan,
    device: DeviceKind,
    dir: &Path,
    options: &RunOptions,
    policies: &[PolicyEntry<G>],
) -> Result<TrainingResult> {
    let game = G::from_spec(&plan.game).map_err(|e| Error::Run(format!("game `{}`: {e}", plan.game.name)))?;
    let (obs_len, num_actions) = (game.observation_len(), game.num_distinct_actions());
    let learner = match &plan.init {
        Some(path) => {
            let meta = read_meta(path).map_err(|e| Error::Run(e.to_string()))?;
            if (meta.obs_len, meta.num_actions) != (obs_len, num_actions) {
                return Err(Error::Run(format!(
                    "{} was trained on observations of length {} with {} actions; {} has {} and {}",
                    path.display(),
                    meta.obs_len,
                    meta.num_actions,
                    plan.game.name,
                    obs_len,
                    num_actions
                )));
            }
            if meta.algorithm != plan.learner.name() {
                return Err(Error::Run(format!(
                    "{} holds a `{}` network, but this run trains `{}`",
                    path.display(),
                    meta.algorithm,
                    plan.learner.name()
                )));
            }
            load_learner(device, path).map_err(|e| Error::Run(e.to_string()))?
        }
        None => new_learner(device, obs_len, num_actions, plan.learner.with_seed(plan.seed))
            .map_err(|e| Error::Run(e.to_string()))?,
    };
    let builders = Arc::new(SeatBuilders::resolve(&plan.game.name, &plan.opponents, policies)?);
    let mut remote = vec![false];
    remote.extend(builders.remote());
    let policy_game = game.clone();
    let make_policies = Box::new(move || {
        let mut list: Vec<Box<dyn Policy<G>>> = vec![Box::new(crate::policies::random::RandomPolicy)];
        list.extend(builders.build(&policy_game)?);
        Ok(list)
    });
    let mut labels = vec!["learner".to_string()];
    labels.extend(plan.opponents.iter().map(|s| s.label.clone()));
    let setup = TrainingSetup {
        game,
        seed: plan.seed,
        tables: plan.tables,
        rotation: Rotation::Rotate,
        learner_participant: 0,
        make_policies,
        labels,
    };
    let mut world = TrainingWorld::new(setup, learner)?.with_remote_seats(&remote);
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    let started = Instant::now();
    let deadline = plan.budget.minutes.map(|m| Duration::from_secs_f64(m * 60.0));
    let (mut steps, mut episodes, mut updates) = (0u64, 0u64, 0u64);
    let (mut update_seconds, mut collect_seconds) = (0.0, 0.0);
    let mut curve = Vec::new();
    let (mut window_payoff, mut window_wins, mut window_rounds) = (0.0, 0u64, 0u64);
    let done = |steps: u64, episodes: u64| {
        crate::interrupt::requested()
            || plan.budget.steps.is_some_and(|s| steps >= s)
            || plan.budget.episodes.is_some_and(|e| episodes >= e)
            || deadline.is_some_and(|d| started.elapsed() >= d)
    };
    let checkpoint_at = |update: u64| dir.join(format!("checkpoints/update-{update:06}.mpk"));
    // The evaluated policy with the highest payoff so far (update, payoff), kept as best.mpk.
    let mut best: Option<(u64, f64)> = None;
    while !done(steps, episodes) {
        let t = Instant::now();
        // The last update takes only the whole trajectories the step budget has room for:
        // `steps` is a true upper bound (tables answered together overshoot a collection).
        let left =
            usize::try_from(plan.budget.steps.map_or(u64::MAX, |s| s.saturating_sub(steps))).unwrap_or(usize::MAX);
        let (mut rollout, rounds) = world.collect(plan.update_every.min(left))?;
        let over_budget = rollout.keep_whole_trajectories(left) > 0;
        if over_budget && rollout.is_empty() {
            break;
        }
        collect_seconds += t.elapsed().as_secs_f64();
        steps += rollout.len() as u64;
        for row in rounds.iter().filter(|r| r.participant == 0) {
            episodes += 1;
            window_payoff += row.payoff;
            window_wins += u64::from(row.won);
            window_rounds += 1;
        }
        (options.on_progress)(rollout.len() as u64);
        let t = Instant::now();
        let stats = world
            .learner()
            .update(&rollout)
            .map_err(|e| Error::Run(e.to_string()))?;
        update_seconds += t.elapsed().as_secs_f64();
        updates += 1;
        let last = over_budget || done(steps, episodes);
        let eval_due = last || (plan.eval_every > 0 && updates.is_multiple_of(plan.eval_every));
        let keep_due = plan.checkpoint_every > 0 && updates.is_multiple_of(plan.checkpoint_every);
        let eval = if eval_due || keep_due {
            let path = checkpoint_at(updates);
            world.learner().save(&path).map_err(|e| Error::Run(e.to_string()))?;
            let eval = if eval_due {
                Some(evaluate::<G>(plan, &path, updates, policies)?)
            } else {
                None
            };
            if let Some(e) = &eval {
                keep_if_best(&mut best, updates, e, &path, dir)?;
            }
            if !keep_due {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(path.with_extension("mpk.json"));
            }
            eval
        } else {
            None
        };
        curve.push(CurveRow {
            update: updates,
            steps,
            episodes,
            train_payoff: if window_rounds == 0 {
                0.0
            } else {
                window_payoff / window_rounds as f64
            },
            train_win_rate: if window_rounds == 0 {
                0.0
            } else {
                window_wins as f64 / window_rounds as f64
            },
            stats,
            eval,
        });
        if let Some(row) = curve.last() {
            let eval = row.eval.as_ref().map_or_else(String::new, |e| {
                format!(
                    ", eval {:.1}% [{:.1}, {:.1}]",
                    100.0 * e.win_rate,
                    100.0 * e.win_ci.0,
                    100.0 * e.win_ci.1
                )
            });
            (options.on_status)(format!(
                "{} rounds, mean return {:+.2}, win {:.1}%{eval}",
                episodes,
                row.train_payoff,
                100.0 * row.train_win_rate
            ));
        }
        (window_payoff, window_wins, window_rounds) = (0.0, 0, 0);
        if over_budget {
            break;
        }
    }
    // The loop can end without evaluating its last update (the step budget had no room for
    // another whole trajectory): evaluate it now, so the summary and best.mpk see it.
    if let Some(row) = curve.last_mut()
        && row.eval.is_none()
    {
        let path = checkpoint_at(updates);
        world.learner().save(&path).map_err(|e| Error::Run(e.to_string()))?;
        let e = evaluate::<G>(plan, &path, updates, policies)?;
        keep_if_best(&mut best, updates, &e, &path, dir)?;
        if !(plan.checkpoint_every > 0 && updates.is_multiple_of(plan.checkpoint_every)) {
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(path.with_extension("mpk.json"));
        }
        row.eval = Some(e);
    }
    let _ = std::fs::remove_dir(dir.join("checkpoints"));
    let checkpoint = dir.join("model.mpk");
    world
        .learner()
        .save(&checkpoint)
        .map_err(|e| Error::Run(e.to_string()))?;
    Ok(TrainingResult {
        curve,
        best_update: best.map(|(u, _)| u),
        checkpoint,
        steps,
        episodes,
        updates,
        update_seconds,
        collect_seconds,
        interrupted: crate::interrupt::requested(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::generic_policies;
    use mechsim_agents::{DqnConfig, PpoConfig};

    fn plan(steps: u64) -> TrainingPlan {
        TrainingPlan {
            scenario: "kuhn-ppo".into(),
            game: GameSpec {
                name: "kuhn_poker".into(),
                rules: "standard".into(),
                players: 2,
                params: Params::new(),
            },
            opponents: vec![SeatPlan {
                policy: "random".into(),
                label: "random".into(),
                params: Params::new(),
            }],
            learner: LearnerConfig::Ppo(PpoConfig {
                learning_rate: 3e-3,
                minibatch: 128,
                hidden: 32,
                ..PpoConfig::default()
            }),
            tables: 8,
            budget: TrainingBudget {
                steps: Some(steps),
                ..TrainingBudget::default()
            },
            update_every: 512,
            eval_every: 0,
            eval_rounds: 2000,
            checkpoint_every: 0,
            seed: 11,
            init: None,
        }
    }

    #[test]
    fn a_short_run_learns_to_exploit_random_kuhn_play_reproducibly() {
        let dir = std::env::temp_dir().join(format!("mechsim-train-{}", std::process::id()));
        let result = run_training::<crate::games::kuhn_poker::KuhnPoker>(
            &plan(12_000),
            DeviceKind::Cpu,
            &dir.join("a"),
            &RunOptions::default(),
            &generic_policies(),
        )
        .unwrap();
        let last = result.curve.last().unwrap();
        let eval = last.eval.as_ref().expect("the final update is evaluated");
        // Against uniform play a best response earns about +0.46 per hand; random vs random 0.
        assert!(
            eval.payoff_mean > 0.2,
            "payoff {} after {} steps",
            eval.payoff_mean,
            result.steps
        );
        assert!(dir.join("a/model.mpk").is_file() && dir.join("a/model.mpk.json").is_file());
        let again = run_training::<crate::games::kuhn_poker::KuhnPoker>(
            &plan(12_000),
            DeviceKind::Cpu,
            &dir.join("b"),
            &RunOptions::default(),
            &generic_policies(),
        )
        .unwrap();
        assert_eq!(result.curve, again.curve, "same seed, same learning curve");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn dqn_also_learns_to_exploit_random_kuhn_play() {
        let dir = std::env::temp_dir().join(format!("mechsim-train-dqn-{}", std::process::id()));
        let mut p = plan(16_000);
        p.learner = LearnerConfig::Dqn(DqnConfig {
            learning_rate: 2e-3,
            minibatch: 64,
            epsilon_steps: 6_000,
            hidden: 32,
            target_sync: 100,
            ..DqnConfig::default()
        });
        let result = run_training::<crate::games::kuhn_poker::KuhnPoker>(
            &p,
            DeviceKind::Cpu,
            &dir,
            &RunOptions::default(),
            &generic_policies(),
        )
        .unwrap();
        let eval = result.curve.last().unwrap().eval.clone().unwrap();
        assert!(
            eval.payoff_mean > 0.15,
            "payoff {} after {} steps",
            eval.payoff_mean,
            result.steps
        );
        let meta = read_meta(&dir.join("model.mpk")).unwrap();
        assert_eq!(meta.algorithm, DqnConfig::ALGORITHM);
        let _ = std::fs::remove_dir_all(dir);
    }
}
