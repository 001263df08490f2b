//! Run outputs, written atomically: every file goes into a staging directory beside the
//! output directory, which is renamed into place only when all files are complete, so a
//! crash never leaves a half-written result and an old run is never mixed with a new one.
//!
//! Files of a tournament run:
//! - `rounds.csv`: one row per round x participant (reproducible to the byte);
//! - `timing.csv`: the same keys with decision wall times (not reproducible by nature);
//! - `summary.json`, `summary.csv`, `pairwise.csv`: per participant and pairwise statistics;
//! - `manifest.json`: what ran, with which seeds and threads, when and for how long.

pub mod adload;
pub mod guard;
mod lines;
pub mod plot;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::analysis::tournament::{ParticipantSummary, TournamentSummary};
use crate::core::error::{Error, Result};
use crate::core::tournament::RoundMetrics;
use crate::runner::information::{InformationPlan, OnlineResult, SimulationResult};
use crate::runner::solve::{SolvePlan, SolveResult};
use crate::runner::training::{TrainingPlan, TrainingResult};
use crate::runner::{TournamentPlan, TournamentResult};
use crate::scenario::Scenario;
use crate::world::RoundRow;
use lines::{Encoded, LineWriter};

/// When and how a run happened (for the manifest).
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Start time, RFC 3339.
    pub started: String,
    /// End time, RFC 3339.
    pub finished: String,
    /// Wall seconds.
    pub wall_seconds: f64,
    /// Worker threads.
    pub threads: usize,
    /// The command line.
    pub command: Vec<String>,
}

/// Checks that `target` may receive a result: a directory of its own, holding none of
/// `inputs`, free of other runs (the returned lock keeps it so until dropped), and empty or
/// mechsim's to replace with `force`. Every command that writes a result calls it first.
pub fn claim(target: &Path, force: bool, inputs: &[&Path]) -> Result<guard::OutputLock> {
    guard::validate_target(target, inputs)?;
    let lock = guard::OutputLock::acquire(target)?;
    guard::check_replaceable(target, force)?;
    guard::remove_stale(target);
    Ok(lock)
}

/// A directory that becomes `target` on `commit`, or disappears on drop.
pub struct Staging {
    pub(crate) path: PathBuf,
    target: PathBuf,
    committed: bool,
    /// Put in place even after the user's interrupt (what an interrupted training keeps).
    keep_when_interrupted: bool,
}

impl Staging {
    /// A fresh staging directory beside `target` (`.<name>.partial-<pid>`, marked as
    /// mechsim's, so the stale ones killed runs leave are recognised and removed).
    pub fn new(target: &Path) -> Result<Self> {
        let parent = guard::parent_of(target);
        fs::create_dir_all(parent).map_err(|e| Error::io("cannot create directory", parent, e))?;
        guard::remove_stale(target);
        let path = guard::sibling(target, "partial", std::process::id());
        // A killed run of an earlier process with this pid may have left it empty.
        let _ = fs::remove_dir(&path);
        if path.exists() {
            if !path.join(guard::STAGING_MARKER).is_file() {
                return Err(Error::UnsafeOutput(
                    path,
                    "it is in the way of the staging directory and mechsim did not write it".into(),
                ));
            }
            fs::remove_dir_all(&path).map_err(|e| Error::io("cannot clear staging directory", &path, e))?;
        }
        fs::create_dir(&path).map_err(|e| Error::io("cannot create staging directory", &path, e))?;
        let marker = path.join(guard::STAGING_MARKER);
        fs::write(&marker, b"").map_err(|e| Error::io("cannot write", &marker, e))?;
        Ok(Staging {
            path,
            target: target.to_path_buf(),
            committed: false,
            keep_when_interrupted: false,
        })
    }

    /// Puts the result in place even when the user interrupted (it says so itself).
    pub fn keep_when_interrupted(&mut self) {
        self.keep_when_interrupted = true;
    }

    /// The staging directory (write files here).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the staged directory at `target`: refuses a non-empty one unless `force` and
    /// mechsim wrote it, and swaps so that the old result stays until the new one is in.
    pub fn commit(mut self, force: bool) -> Result<()> {
        if crate::interrupt::requested() && !self.keep_when_interrupted {
            return Err(Error::Interrupted(
                "stopped before the results were put in place; nothing was written (the output directory is as it was)"
                    .into(),
            ));
        }
        let marker = self.path.join(guard::STAGING_MARKER);
        fs::remove_file(&marker).map_err(|e| Error::io("cannot remove", &marker, e))?;
        self.list_files_in_manifest()?;
        guard::swap_into_place(&self.path, &self.target, force)?;
        self.committed = true;
        Ok(())
    }
}

impl Staging {
    /// Makes the manifest's `files` the complete list of what the directory holds (every
    /// file, sub-directories included), which is what lets a later `--force` replace it and
    /// nothing more.
    fn list_files_in_manifest(&self) -> Result<()> {
        let path = self.path.join("manifest.json");
        let Ok(text) = fs::read_to_string(&path) else {
            return Ok(());
        };
        let Ok(Value::Object(mut manifest)) = serde_json::from_str::<Value>(&text) else {
            return Ok(());
        };
        let mut files = guard::list_files(&self.path);
        files.push("manifest.json".into());
        manifest.insert("files".into(), json!(files));
        write_json(&path, &Value::Object(manifest))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn csv_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

pub(crate) fn write_csv(path: &Path, header: &[String], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(|e| csv_error(path, e))?;
    w.write_record(header).map_err(|e| csv_error(path, e))?;
    for row in rows {
        w.write_record(&row).map_err(|e| csv_error(path, e))?;
    }
    w.flush().map_err(|e| Error::io("cannot write", path, e))
}

pub(crate) fn write_json(path: &Path, value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| csv_error(path, e))?;
    text.push('\n');
    fs::write(path, text).map_err(|e| Error::io("cannot write", path, e))
}

/// The rows of every replicate, each with its replicate's seed and its game values.
fn seeded_rows(result: &TournamentResult) -> impl Iterator<Item = (u64, &RoundRow, RoundMetrics<'_>)> {
    result.replicates.iter().flat_map(|rep| {
        rep.rounds(result.columns)
            .map(move |(row, metrics)| (rep.seed, row, metrics))
    })
}

/// Writes `rounds.csv` (reproducible).
pub fn write_rounds_csv(path: &Path, plan: &TournamentPlan, result: &TournamentResult) -> Result<()> {
    let mut header = vec!["scenario", "seed", "table", "round", "seat", "label", "policy"];
    header.extend(result.columns.iter().copied());
    header.extend(["decisions", "illegal_actions", "faults", "forfeited"]);
    let scenario = Encoded::new(&plan.scenario);
    let seats: Vec<(Encoded, Encoded)> = plan
        .seats
        .iter()
        .map(|s| (Encoded::new(&s.label), Encoded::new(&s.policy)))
        .collect();
    let mut w = LineWriter::create(path, &header)?;
    for (seed, r, metrics) in seeded_rows(result) {
        let (label, policy) = &seats[r.participant];
        w.encoded(&scenario);
        w.int(seed);
        w.int(r.table);
        w.int(r.round);
        w.int(r.participant);
        w.encoded(label);
        w.encoded(policy);
        for value in metrics.values {
            w.metric(*value);
        }
        w.int(r.decisions);
        w.int(r.illegal_actions);
        w.int(r.faults);
        w.bool(r.forfeited);
        w.end_row()?;
    }
    w.finish()
}

fn write_timing_csv(path: &Path, plan: &TournamentPlan, result: &TournamentResult) -> Result<()> {
    let header = ["scenario", "seed", "table", "round", "seat", "decisions", "decision_ns"];
    let scenario = Encoded::new(&plan.scenario);
    let mut w = LineWriter::create(path, &header)?;
    for (seed, r, _) in seeded_rows(result) {
        w.encoded(&scenario);
        w.int(seed);
        w.int(r.table);
        w.int(r.round);
        w.int(r.participant);
        w.int(r.decisions);
        w.int(r.decision_ns);
        w.end_row()?;
    }
    w.finish()
}

/// Writes `decisions.csv`: one row per search decision and per external agent's answer
/// (every column but `wall_ns` is reproducible, except where an agent's timeouts are).
pub fn write_decisions_csv(path: &Path, plan: &TournamentPlan, result: &TournamentResult) -> Result<()> {
    let header = [
        "scenario",
        "seed",
        "table",
        "round",
        "seat",
        "decision",
        "action",
        "action_label",
        "simulations",
        "root_value",
        "tree_nodes",
        "win_probability",
        "probabilities",
        "fault",
        "wall_ns",
    ]
    .map(String::from);
    let rows = result.replicates.iter().flat_map(|rep| {
        rep.decisions.iter().map(move |d| {
            let note = d.note.as_ref();
            let value = d.stats.map(|s| s.root_value).or(note.and_then(|n| n.value));
            let win = d
                .stats
                .and_then(|s| s.win_probability)
                .or(note.and_then(|n| n.win_probability));
            let probabilities: Vec<String> = note
                .map(|n| n.probabilities.iter().map(|(a, p)| format!("{a}:{p}")).collect())
                .unwrap_or_default();
            vec![
                plan.scenario.clone(),
                rep.seed.to_string(),
                d.table.to_string(),
                d.round.to_string(),
                d.participant.to_string(),
                d.decision.to_string(),
                d.action.to_string(),
                d.action_label.clone(),
                d.stats.map(|s| s.simulations.to_string()).unwrap_or_default(),
                value.map(|v| v.to_string()).unwrap_or_default(),
                d.stats.map(|s| s.tree_nodes.to_string()).unwrap_or_default(),
                win.map(|p| p.to_string()).unwrap_or_default(),
                probabilities.join(";"),
                note.and_then(|n| n.fault.as_ref())
                    .map(|f| f.kind.to_string())
                    .unwrap_or_default(),
                d.wall_ns.to_string(),
            ]
        })
    });
    write_csv(path, &header, rows)
}

/// A participant's summary as ordered (key, value) pairs with the game's payoff name.
pub fn participant_fields(summary: &TournamentSummary, p: &ParticipantSummary) -> Vec<(String, Value)> {
    let pay = &summary.payoff_name;
    let mut fields: Vec<(String, Value)> = vec![
        ("seat".into(), json!(p.seat)),
        ("label".into(), json!(p.label)),
        ("policy".into(), json!(p.policy)),
        ("rounds".into(), json!(p.rounds)),
        ("wins".into(), json!(p.wins)),
        ("win_rate".into(), json!(p.win_rate)),
        ("win_ci_low".into(), json!(p.win_ci_low)),
        ("win_ci_high".into(), json!(p.win_ci_high)),
        ("win_normal_ci_low".into(), json!(p.win_normal_ci_low)),
        ("win_normal_ci_high".into(), json!(p.win_normal_ci_high)),
        (format!("{pay}_mean"), json!(p.payoff_mean)),
        (format!("{pay}_ci_low"), json!(p.payoff_ci_low)),
        (format!("{pay}_ci_high"), json!(p.payoff_ci_high)),
    ];
    fields.extend(p.extra.iter().map(|(k, v)| (k.to_string(), v.to_json())));
    fields.extend([
        ("decisions".into(), json!(p.decisions)),
        ("ms_per_decision".into(), json!(p.ms_per_decision)),
        ("illegal_actions".into(), json!(p.illegal_actions)),
    ]);
    fields
}

fn field_csv(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `summary.json` document of a tournament.
pub fn summary_json(scenario: &Scenario, plan: &TournamentPlan, result: &TournamentResult) -> Value {
    let s = &result.summary;
    let participants: Vec<Value> = s
        .participants
        .iter()
        .map(|p| Value::Object(participant_fields(s, p).into_iter().collect::<Map<String, Value>>()))
        .collect();
    json!({
        "scenario": plan.scenario,
        "kind": scenario.kind,
        "game": plan.game.name,
        "rules": plan.game.rules,
        "players": plan.game.players,
        "seeds": plan.seeds,
        "rounds_per_seed": plan.rounds,
        "tables": plan.tables,
        "rotation": format!("{:?}", plan.rotation).to_lowercase(),
        "payoff": s.payoff_name,
        "participants": participants,
        "pairwise": s.pairwise,
    })
}

pub(crate) fn manifest(scenario: &Scenario, info: &RunInfo, files: &[&str], extra: Value) -> Value {
    let mut m = json!({
        "scenario": scenario.name,
        "kind": scenario.kind,
        "scenario_file": scenario.file.display().to_string(),
        "scenario_sha256": scenario.hash,
        "mechsim_version": env!("CARGO_PKG_VERSION"),
        "git_commit": option_env!("MECHSIM_GIT_COMMIT"),
        "features": Vec::<String>::new(),
        "device": "cpu",
        "scenario_seed": scenario.seed,
        "game": scenario.game.as_ref().map(|g| g.name.clone()),
        "rules": scenario.game.as_ref().map(|g| g.rules.clone()),
        "players": scenario.game.as_ref().map(|g| g.players),
        "threads": info.threads,
        "command": info.command,
        "started": info.started,
        "finished": info.finished,
        "wall_seconds": info.wall_seconds,
        "files": files,
    });
    if let (Value::Object(m), Value::Object(extra)) = (&mut m, extra) {
        m.extend(extra);
    }
    m
}

/// Writes every output of a tournament run into `dir`, atomically.
pub fn write_tournament(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    plan: &TournamentPlan,
    result: &TournamentResult,
    info: &RunInfo,
) -> Result<()> {
    let staging = Staging::new(dir)?;
    let at = |name: &str| staging.path.join(name);
    write_rounds_csv(&at("rounds.csv"), plan, result)?;
    write_timing_csv(&at("timing.csv"), plan, result)?;
    let mut files = vec![
        "rounds.csv",
        "timing.csv",
        "summary.json",
        "summary.csv",
        "pairwise.csv",
        "manifest.json",
    ];
    if result.replicates.iter().any(|r| !r.decisions.is_empty()) {
        write_decisions_csv(&at("decisions.csv"), plan, result)?;
        files.push("decisions.csv");
    }
    let summary = &result.summary;
    write_json(&at("summary.json"), &summary_json(scenario, plan, result))?;
    let rows: Vec<Vec<(String, Value)>> = summary
        .participants
        .iter()
        .map(|p| participant_fields(summary, p))
        .collect();
    let header: Vec<String> = rows
        .first()
        .map(|r| r.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    write_csv(
        &at("summary.csv"),
        &header,
        rows.iter().map(|r| r.iter().map(|(_, v)| field_csv(v)).collect()),
    )?;
    let pair_header = [
        "a",
        "b",
        "metric",
        "welch_t",
        "df",
        "p",
        "bonferroni_alpha",
        "significant",
        "holm_p",
        "holm_significant",
        "cohens_d",
    ]
    .map(String::from);
    write_csv(
        &at("pairwise.csv"),
        &pair_header,
        summary.pairwise.iter().map(|p| {
            vec![
                p.a.clone(),
                p.b.clone(),
                p.metric.clone(),
                p.welch_t.to_string(),
                p.df.to_string(),
                p.p.to_string(),
                p.bonferroni_alpha.to_string(),
                p.significant.to_string(),
                p.holm_p.to_string(),
                p.holm_significant.to_string(),
                p.cohens_d.to_string(),
            ]
        }),
    )?;
    let rotation = match plan.rotation {
        crate::world::Rotation::None => "none",
        crate::world::Rotation::Rotate => "rotate",
        crate::world::Rotation::Duplicate => "duplicate",
    };
    let extra =
        json!({ "seeds": plan.seeds, "rounds_per_seed": plan.rounds, "tables": plan.tables, "rotation": rotation });
    write_json(&at("manifest.json"), &manifest(scenario, info, &files, extra))?;
    staging.commit(force)
}

fn policy_json(plan: &SolvePlan, iteration: u64, policy: &crate::search::tabular::TabularPolicy) -> Value {
    json!({
        "game": plan.game.name,
        "players": plan.game.players,
        "algorithm": plan.algorithm.name(),
        "iterations": iteration,
        "infosets": policy.rows(),
    })
}

/// Writes every output of a solver run into `dir`, atomically: `curve.csv`, `policy.json`,
/// `checkpoints/policy-<iteration>.json`, `summary.json` and `manifest.json`.
pub fn write_solve(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    plan: &SolvePlan,
    result: &SolveResult,
    info: &RunInfo,
) -> Result<()> {
    let staging = Staging::new(dir)?;
    let at = |name: &str| staging.path.join(name);
    let mut header: Vec<String> = ["iteration", "nash_conv", "exploitability"].map(String::from).to_vec();
    header.extend((0..result.players).map(|p| format!("value_p{p}")));
    write_csv(
        &at("curve.csv"),
        &header,
        result.curve.iter().map(|c| {
            let mut row = vec![
                c.iteration.to_string(),
                c.nash_conv.to_string(),
                c.exploitability.to_string(),
            ];
            row.extend(c.values.iter().map(|v| v.to_string()));
            row
        }),
    )?;
    write_json(&at("policy.json"), &policy_json(plan, plan.iterations, &result.policy))?;
    let mut files = vec!["curve.csv", "policy.json", "summary.json", "manifest.json"];
    if !result.checkpoints.is_empty() {
        let dir = at("checkpoints");
        fs::create_dir(&dir).map_err(|e| Error::io("cannot create directory", &dir, e))?;
        for (iteration, policy) in &result.checkpoints {
            write_json(
                &dir.join(format!("policy-{iteration:08}.json")),
                &policy_json(plan, *iteration, policy),
            )?;
        }
        files.push("checkpoints/");
    }
    let last = result.curve.last();
    let summary = json!({
        "scenario": plan.scenario,
        "kind": scenario.kind,
        "game": plan.game.name,
        "players": result.players,
        "algorithm": plan.algorithm.name(),
        "iterations": plan.iterations,
        "infosets": result.infosets,
        "tree_nodes": result.tree_nodes,
        "nash_conv": last.map(|c| c.nash_conv),
        "exploitability": last.map(|c| c.exploitability),
        "values": last.map(|c| c.values.clone()),
        "iterations_per_second": plan.iterations as f64 / info.wall_seconds.max(1e-9),
    });
    write_json(&at("summary.json"), &summary)?;
    let extra =
        json!({ "algorithm": plan.algorithm.name(), "iterations": plan.iterations, "eval_every": plan.eval_every });
    write_json(&at("manifest.json"), &manifest(scenario, info, &files, extra))?;
    staging.commit(force)
}

/// Writes a training run's curve, summary and manifest into `staging` (the checkpoints are
/// already there) and commits it: `curve.csv`, `model.mpk` (+ `.json`), `checkpoints/`,
/// `summary.json`, `manifest.json`.
pub fn write_training(
    staging: Staging,
    force: bool,
    scenario: &Scenario,
    plan: &TrainingPlan,
    result: &TrainingResult,
    info: &RunInfo,
    device: &str,
) -> Result<()> {
    let at = |name: &str| staging.path.join(name);
    let header = [
        "update",
        "steps",
        "episodes",
        "train_payoff",
        "train_win_rate",
        "policy_loss",
        "value_loss",
        "entropy",
        "approx_kl",
        "clip_fraction",
        "eval_rounds",
        "eval_win_rate",
        "eval_win_ci_low",
        "eval_win_ci_high",
        "eval_payoff",
    ]
    .map(String::from);
    write_csv(
        &at("curve.csv"),
        &header,
        result.curve.iter().map(|c| {
            let mut row = vec![
                c.update.to_string(),
                c.steps.to_string(),
                c.episodes.to_string(),
                c.train_payoff.to_string(),
                c.train_win_rate.to_string(),
                c.stats.policy_loss.to_string(),
                c.stats.value_loss.to_string(),
                c.stats.entropy.to_string(),
                c.stats.approx_kl.to_string(),
                c.stats.clip_fraction.to_string(),
            ];
            match &c.eval {
                Some(e) => row.extend([
                    e.rounds.to_string(),
                    e.win_rate.to_string(),
                    e.win_ci.0.to_string(),
                    e.win_ci.1.to_string(),
                    e.payoff_mean.to_string(),
                ]),
                None => row.extend(std::iter::repeat_n(String::new(), 5)),
            }
            row
        }),
    )?;
    plot::learning_curve_svg(
        &at("curve.svg"),
        &format!("{}: {} on {}", plan.scenario, plan.learner.name(), plan.game.name),
        &result.curve,
    )?;
    let last_eval = result.curve.iter().rev().find_map(|c| c.eval.clone());
    let summary = json!({
        "scenario": plan.scenario,
        "kind": scenario.kind,
        "game": plan.game.name,
        "algorithm": plan.learner.name(),
        "device": device,
        "opponents": plan.opponents.iter().map(|o| o.label.clone()).collect::<Vec<_>>(),
        "steps": result.steps,
        "episodes": result.episodes,
        "updates": result.updates,
        "steps_per_second": result.steps as f64 / result.collect_seconds.max(1e-9),
        "update_seconds": result.update_seconds,
        "update_transitions_per_second": result.steps as f64 / result.update_seconds.max(1e-9),
        "final_eval": last_eval.map(|e| json!({
            "rounds": e.rounds,
            "win_rate": e.win_rate,
            "win_ci_low": e.win_ci.0,
            "win_ci_high": e.win_ci.1,
            "payoff_mean": e.payoff_mean,
        })),
        "checkpoint": "model.mpk",
        "best_checkpoint": result.best_update.map(|_| "best.mpk"),
        "best_update": result.best_update,
        "interrupted": result.interrupted,
    });
    write_json(&at("summary.json"), &summary)?;
    let mut files = vec![
        "curve.csv",
        "model.mpk",
        "model.mpk.json",
        "summary.json",
        "manifest.json",
    ];
    files.push("curve.svg");
    if result.best_update.is_some() {
        files.extend(["best.mpk", "best.mpk.json"]);
    }
    if staging.path.join("checkpoints").is_dir() {
        files.push("checkpoints/");
    }
    let settings = plan.learner.settings();
    let extra = json!({
        "algorithm": plan.learner.name(),
        "device": device,
        "settings": settings,
        "tables": plan.tables,
        "update_every": plan.update_every,
    });
    write_json(&at("manifest.json"), &manifest(scenario, info, &files, extra))?;
    staging.commit(force)
}

/// Writes an information run into `dir`, atomically: `rows.csv` (one row per round x
/// agent, names not indices), `mechanism.json` and the simulation part of `summary.json`
/// when there was a simulation; `regret.csv` and `regret.svg` and the online part of the
/// summary when there was an online experiment; `manifest.json` always.
pub fn write_information(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    plan: &InformationPlan,
    simulation: Option<&SimulationResult>,
    online: Option<&OnlineResult>,
    info: &RunInfo,
) -> Result<()> {
    let staging = Staging::new(dir)?;
    let at = |name: &str| staging.path.join(name);
    let inst = &plan.instance;
    let mut files = Vec::new();
    let mut summary = Map::new();
    if let (Some(sim), Some(sim_plan)) = (simulation, &plan.simulation) {
        let header: Vec<String> = [
            "replicate",
            "seed",
            "round",
            "agent",
            "behaviour",
            "recommended",
            "effort",
            "signal",
            "report",
            "state",
            "action",
            "payment",
            "cost",
            "utility",
            "principal_utility",
        ]
        .map(String::from)
        .to_vec();
        let rows = sim.replicates.iter().enumerate().flat_map(|(r, rows)| {
            let seed = sim_plan.seeds[r];
            rows.iter().map(move |x| {
                let a = &inst.agents[x.agent];
                vec![
                    r.to_string(),
                    seed.to_string(),
                    x.round.to_string(),
                    a.name.clone(),
                    plan.behaviours[x.agent].name().to_string(),
                    a.efforts[x.recommended].clone(),
                    a.efforts[x.effort].clone(),
                    a.signals[x.signal].clone(),
                    a.signals[x.report].clone(),
                    inst.states[x.state].clone(),
                    inst.actions[x.action].clone(),
                    x.payment.to_string(),
                    x.cost.to_string(),
                    (x.payment - x.cost).to_string(),
                    x.principal_utility.to_string(),
                ]
            })
        });
        write_csv(&at("rows.csv"), &header, rows)?;
        write_json(
            &at("mechanism.json"),
            &json!({
                "label": sim.mechanism.label,
                "recommendations": crate::mechanism::analysis::mechanism_json(inst, &sim.mechanism),
            }),
        )?;
        files.extend(["rows.csv", "mechanism.json"]);
        summary.insert("simulation".into(), sim.summary.clone());
    }
    if let (Some(result), Some(config)) = (online, &plan.online) {
        let header: Vec<String> = [
            "horizon",
            "replicate",
            "seed",
            "explore_rounds",
            "search_rounds",
            "profiles",
            "rounds_per_profile",
            "mix_weight",
            "regret",
            "explore_regret",
            "committed_utility",
            "optimal_utility",
            "committed_ic_gain",
            "agents_obeyed",
        ]
        .map(String::from)
        .to_vec();
        write_csv(
            &at("regret.csv"),
            &header,
            result.runs.iter().map(|r| {
                vec![
                    r.horizon.to_string(),
                    r.replicate.to_string(),
                    r.seed.to_string(),
                    r.explore_rounds.to_string(),
                    r.search_rounds.to_string(),
                    r.profiles.to_string(),
                    r.rounds_per_profile.to_string(),
                    r.mix_weight.to_string(),
                    r.regret.to_string(),
                    r.explore_regret.to_string(),
                    r.committed_utility.to_string(),
                    r.optimal_utility.to_string(),
                    r.committed_ic_gain.to_string(),
                    r.agents_obeyed.to_string(),
                ]
            }),
        )?;
        plot::regret_svg(&at("regret.svg"), &plan.scenario, &result.points, result.fit)?;
        files.extend(["regret.csv", "regret.svg"]);
        let horizons: Vec<Value> = result
            .points
            .iter()
            .map(|(t, mean, (lo, hi))| {
                let obeyed = result
                    .runs
                    .iter()
                    .filter(|r| r.horizon == *t && r.agents_obeyed)
                    .count();
                json!({
                    "horizon": t,
                    "mean_regret": mean,
                    "ci95": [lo, hi],
                    "mean_regret_per_round": mean / *t as f64,
                    "runs_where_agents_obeyed": obeyed,
                    "runs": config.seeds.len(),
                })
            })
            .collect();
        summary.insert(
            "online".into(),
            json!({
                "rule": config.rule.name(),
                "explore_constant": config.explore_constant,
                "mix_constant": config.mix_constant,
                "margin_constant": config.margin_constant,
                "search_steps": config.search_steps,
                "optimal_utility": result.runs.first().map(|r| r.optimal_utility),
                "horizons": horizons,
                "log_log_slope": result.fit.map(|f| f.0),
                "expected_slope": 2.0 / 3.0,
            }),
        );
    }
    summary.insert("scenario".into(), json!(plan.scenario));
    write_json(&at("summary.json"), &Value::Object(summary))?;
    files.extend(["summary.json", "manifest.json"]);
    let extra = json!({
        "simulation_seeds": plan.simulation.as_ref().map(|s| s.seeds.clone()),
        "rounds_per_seed": plan.simulation.as_ref().map(|s| s.rounds),
        "online_seeds": plan.online.as_ref().map(|o| o.seeds.clone()),
        "horizons": plan.online.as_ref().map(|o| o.horizons.clone()),
        "lp_solver": crate::mechanism::lp::SOLVER,
    });
    write_json(&at("manifest.json"), &manifest(scenario, info, &files, extra))?;
    staging.commit(force)
}
