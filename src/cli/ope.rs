//! `mechsim ope LOGGED.csv`: every estimator with normal and bootstrap intervals and the
//! weight and support diagnostics on a user's own log, readable or `--json`. A reward
//! model comes from the file's `q_hat_*` columns or is fitted (cross-fitted ridge or
//! logistic regression) from its `context_*` columns.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::estimators::logged_csv::{self, Columns};
use crate::estimators::reward_model::{ModelKind, cross_fit};
use crate::estimators::{EstimatorSettings, OpeInput, diagnostics, evaluate_all, validate};

/// What to evaluate and how.
#[derive(Debug, Clone)]
pub struct OpeCommand {
    /// The log.
    pub file: PathBuf,
    /// Column conventions.
    pub columns: Columns,
    /// `ridge`, `logistic` or `none`.
    pub fit_model: Option<ModelKind>,
    /// Its name, for the report.
    pub fit_model_name: &'static str,
    /// Cross-fitting folds.
    pub folds: usize,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Seed.
    pub seed: u64,
    /// Estimator settings.
    pub settings: EstimatorSettings,
    /// JSON output.
    pub json: bool,
}

/// Runs the command.
pub fn run(cmd: &OpeCommand) -> anyhow::Result<()> {
    let started = Instant::now();
    let kind = cmd.fit_model;
    let log = logged_csv::read(&cmd.file, &cmd.columns)?;
    let read_seconds = started.elapsed().as_secs_f64();
    let n = log.actions.len();
    let d = log.context_names.len();
    let mut results = Vec::new();
    let mut model_note = String::from("none (DM and the DR family skipped)");
    for (name, rewards) in &log.rewards {
        let fitted;
        let q_hat: Option<&[f64]> = match (&log.q_hat, kind) {
            (Some(q), _) => {
                model_note = format!("given ({}* columns)", cmd.columns.q_prefix);
                Some(q)
            }
            (None, Some(kind)) if d > 0 => {
                fitted = cross_fit(
                    kind,
                    &log.contexts,
                    d,
                    &log.actions,
                    rewards,
                    log.k,
                    cmd.folds,
                    cmd.seed,
                )
                .with_context(|| format!("fitting a reward model for `{name}`"))?;
                model_note = format!(
                    "{} regression on {d} context column(s), cross-fitted over {} folds",
                    cmd.fit_model_name, cmd.folds
                );
                Some(&fitted)
            }
            _ => None,
        };
        let input = OpeInput {
            actions: &log.actions,
            rewards,
            pscore: &log.pscore,
            pi_e: &log.pi_e,
            q_hat,
            k: log.k,
        };
        validate(&input).with_context(|| format!("{}", cmd.file.display()))?;
        let rows = evaluate_all(&input, cmd.settings, cmd.bootstrap, cmd.seed)?;
        results.push((name.clone(), rows));
    }
    let input = OpeInput {
        actions: &log.actions,
        rewards: &log.rewards[0].1,
        pscore: &log.pscore,
        pi_e: &log.pi_e,
        q_hat: None,
        k: log.k,
    };
    let diag = diagnostics(&input);
    let seconds = started.elapsed().as_secs_f64();
    if cmd.json {
        let value = json!({
            "file": cmd.file.display().to_string(),
            "rounds": n,
            "actions": log.k,
            "reward_model": model_note,
            "bootstrap_resamples": cmd.bootstrap,
            "seed": cmd.seed,
            "diagnostics": diag,
            "rewards": results.iter().map(|(name, rows)| json!({"reward": name, "estimates": rows})).collect::<Vec<_>>(),
            "read_seconds": read_seconds,
            "seconds": seconds,
        });
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    outln!(
        "{}: {n} rounds, {} actions; reward model: {model_note}",
        cmd.file.display(),
        log.k
    )?;
    outln!(
        "weights: effective sample size {:.1} ({:.1}% of rounds), max {:.3}, mean {:.4}",
        diag.effective_sample_size,
        100.0 * diag.effective_sample_size / n.max(1) as f64,
        diag.max_weight,
        diag.mean_weight
    )?;
    for w in &diag.warnings {
        outln!("warning: {w}")?;
    }
    for (name, rows) in &results {
        outln!("\n{name}:")?;
        outln!(
            "{:<10} {:>12} {:>28} {:>28}",
            "estimator",
            "estimate",
            "normal 95% CI",
            "bootstrap 95% CI"
        )?;
        for r in rows {
            outln!(
                "{:<10} {:>12.6} {:>28} {:>28}",
                r.estimator,
                r.estimate,
                format!("[{:.6}, {:.6}]", r.normal_ci.0, r.normal_ci.1),
                format!("[{:.6}, {:.6}]", r.bootstrap_ci.0, r.bootstrap_ci.1)
            )?;
        }
    }
    outln!(
        "\nread in {read_seconds:.2} s, evaluated in {:.2} s",
        seconds - read_seconds
    )?;
    Ok(())
}
