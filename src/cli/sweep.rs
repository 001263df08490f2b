//! `mechsim sweep FILE`: a tournament scenario with a `[sweep]` table runs every cell of its
//! grid (any scenario key, e.g. `"seats[1].iterations" = [100, 1000]`, `"game.rules" =
//! ["paper", "traditional"]`) for `seeds` replicates. Each (cell, replicate) unit runs on the
//! rayon pool and is written atomically to `units/`; `--resume` skips the units already
//! there, so an interrupted sweep finishes with exactly the files of an uninterrupted one.
//! A unit's rows are those of that replicate when the cell runs alone (replicates depend on
//! their own seed only), so each cell's `cells/<cell>/rounds.csv` equals the cell's own run.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde_json::json;

use crate::analysis::stats::{Z95, mean_interval, wilson_interval};
use crate::output;
use crate::registry;
use crate::runner::RunOptions;
use crate::scenario::{self, Plan};

/// One step of a key path.
enum Step {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() {
            return None;
        }
        steps.push(Step::Key(name.to_string()));
        let mut rest = rest;
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            steps.push(Step::Index(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(steps)
}

/// Sets `value` at `path` in `root`, creating the last key if missing.
fn set(root: &mut toml::Table, path: &[Step], value: toml::Value) -> Result<(), String> {
    let mut slot: Option<&mut toml::Value> = None;
    let mut table: Option<&mut toml::Table> = Some(root);
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match step {
            Step::Key(k) => {
                let t = match (table.take(), slot.take()) {
                    (Some(t), _) => t,
                    (None, Some(toml::Value::Table(t))) => t,
                    _ => return Err(format!("`{k}` is not inside a table")),
                };
                if last {
                    t.insert(k.clone(), value);
                    return Ok(());
                }
                slot = Some(t.get_mut(k).ok_or_else(|| format!("the scenario has no `{k}`"))?);
            }
            Step::Index(n) => match slot.take() {
                Some(toml::Value::Array(items)) => {
                    let len = items.len();
                    let item = items
                        .get_mut(*n)
                        .ok_or_else(|| format!("index [{n}] is out of range ({len} entries)"))?;
                    if last {
                        *item = value;
                        return Ok(());
                    }
                    slot = Some(item);
                }
                _ => return Err(format!("[{n}] applies to an array")),
            },
        }
    }
    Ok(())
}

fn short(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A grid cell: its name, its settings and its validated scenario.
struct Cell {
    name: String,
    settings: Vec<(String, String)>,
    scenario: scenario::Scenario,
}

fn cells(file: &Path) -> anyhow::Result<(Vec<Cell>, usize)> {
    // The base scenario first, with the file's own line numbers.
    scenario::load(file)?;
    let text = fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut root: toml::Table = toml::from_str(&text).with_context(|| format!("{}: invalid TOML", file.display()))?;
    let Some(toml::Value::Table(sweep)) = root.remove("sweep") else {
        bail!(
            "{}: no [sweep] table; a sweep file is a scenario plus [sweep] with `seeds` and a [sweep.grid] of key = [values]",
            file.display()
        );
    };
    for key in sweep.keys() {
        if key != "seeds" && key != "grid" {
            bail!(
                "{}: key `sweep.{key}`: unknown (valid: `seeds`, `grid`)",
                file.display()
            );
        }
    }
    let seeds = match sweep.get("seeds") {
        Some(toml::Value::Integer(n)) if (1..=10_000).contains(n) => *n as usize,
        Some(other) => bail!(
            "{}: key `sweep.seeds`: must be in 1..=10000, found {other}",
            file.display()
        ),
        None => bail!("{}: key `sweep.seeds`: missing (replicates per cell)", file.display()),
    };
    let Some(toml::Value::Table(grid)) = sweep.get("grid") else {
        bail!(
            "{}: key `sweep.grid`: missing; give `\"key.path\" = [value, ...]` entries",
            file.display()
        );
    };
    let mut axes: Vec<(String, Vec<Step>, Vec<toml::Value>)> = Vec::new();
    for (key, values) in grid {
        let steps = parse_path(key).with_context(|| {
            format!(
                "{}: key `sweep.grid.\"{key}\"`: not a key path like `seats[1].iterations`",
                file.display()
            )
        })?;
        let toml::Value::Array(values) = values else {
            bail!(
                "{}: key `sweep.grid.\"{key}\"`: expected a list of values",
                file.display()
            );
        };
        if values.is_empty() {
            bail!("{}: key `sweep.grid.\"{key}\"`: empty list", file.display());
        }
        axes.push((key.clone(), steps, values.clone()));
    }
    let total: usize = axes.iter().map(|a| a.2.len()).product();
    let mut out = Vec::with_capacity(total);
    for code in 0..total {
        let mut c = code;
        let mut table = root.clone();
        let mut settings = Vec::new();
        for (key, steps, values) in &axes {
            let v = &values[c % values.len()];
            c /= values.len();
            set(&mut table, steps, v.clone())
                .map_err(|m| anyhow::anyhow!("{}: key `sweep.grid.\"{key}\"`: {m}", file.display()))?;
            settings.push((key.clone(), short(v)));
        }
        table.insert("seeds".into(), toml::Value::Integer(seeds as i64));
        let cell_text = toml::to_string(&table).context("serialising a cell")?;
        let scenario = scenario::parse(file, &cell_text).map_err(|e| {
            // Positions would point into the generated cell, not the file: keep the message.
            let message = match &e {
                crate::core::Error::Scenario { message, .. } => message.clone(),
                other => other.to_string(),
            };
            anyhow::anyhow!(
                "{}: in the cell {}: {message}",
                file.display(),
                settings
                    .iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        if !matches!(scenario.plan, Plan::Tournament(_)) {
            bail!(
                "{}: sweeps run tournament scenarios (kind = \"tournament\")",
                file.display()
            );
        }
        let name: String = settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || "=,.-_".contains(ch) {
                    ch
                } else {
                    '_'
                }
            })
            .collect();
        out.push(Cell {
            name: format!("{code:03}-{name}"),
            settings,
            scenario,
        });
    }
    Ok((out, seeds))
}

/// Runs `mechsim sweep`.
pub fn run(
    file: &Path,
    out: Option<PathBuf>,
    resume: bool,
    force: bool,
    threads: Option<usize>,
    quiet: bool,
) -> anyhow::Result<()> {
    let (cells, seeds) = cells(file)?;
    let stem = file
        .file_stem()
        .map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
    let dir = out.unwrap_or_else(|| PathBuf::from("results").join(format!("sweep-{stem}")));
    if dir.exists() && !resume {
        output::check_output_dir(&dir, force)?;
        if force {
            fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
    }
    let units_dir = dir.join("units");
    fs::create_dir_all(&units_dir).with_context(|| format!("cannot create {}", units_dir.display()))?;
    let units: Vec<(usize, usize)> = (0..cells.len()).flat_map(|c| (0..seeds).map(move |r| (c, r))).collect();
    let unit_path = |c: usize, r: usize| units_dir.join(format!("{}-r{r:04}.csv", cells[c].name));
    let partial_path = |c: usize, r: usize| unit_path(c, r).with_extension("csv.partial");
    let todo: Vec<(usize, usize)> = units
        .iter()
        .copied()
        .filter(|&(c, r)| !unit_path(c, r).is_file())
        .collect();
    // A unit's staging file left by a killed run is mechsim's own (named after the unit):
    // it is rewritten from scratch, so remove it first.
    for &(c, r) in &todo {
        let partial = partial_path(c, r);
        if partial.is_file() {
            fs::remove_file(&partial).with_context(|| format!("cannot remove stale {}", partial.display()))?;
        }
    }
    let rounds_per_unit = |c: usize| match &cells[c].scenario.plan {
        Plan::Tournament(t) => t.rounds,
        _ => 0,
    };
    let total: u64 = todo.iter().map(|&(c, _)| rounds_per_unit(c)).sum();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {human_pos}/{human_len} rounds, eta {eta} {msg}")
                .context("template")?
                .progress_chars("=> "),
        );
        b.set_prefix(format!("sweep {stem}"));
        b.set_message(format!("{} of {} units to run", todo.len(), units.len()));
        b
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let progress = bar.clone();
    pool.install(|| {
        todo.par_iter().try_for_each(|&(c, r)| -> anyhow::Result<()> {
            let cell = &cells[c];
            let Plan::Tournament(plan) = &cell.scenario.plan else {
                unreachable!("checked")
            };
            let mut unit = plan.clone();
            unit.seeds = vec![plan.seeds[r]];
            let entry = registry::game(&unit.game.name).with_context(|| format!("game `{}`", unit.game.name))?;
            let progress = progress.clone();
            let options = RunOptions {
                threads: Some(1),
                on_progress: Arc::new(move |n| progress.inc(n)),
                ..RunOptions::default()
            };
            let result = entry
                .run_tournament(&unit, &options)
                .with_context(|| format!("cell {} replicate {r}", cell.name))?;
            let target = unit_path(c, r);
            let partial = partial_path(c, r);
            output::write_rounds_csv(&partial, &unit, &result)?;
            fs::rename(&partial, &target).with_context(|| format!("cannot move {} into place", target.display()))?;
            Ok(())
        })
    })?;
    bar.finish_and_clear();
    // Merge: each cell's rounds.csv (header once, replicates in order) and the sweep table.
    let mut table_rows = Vec::new();
    let setting_names: Vec<String> = cells
        .first()
        .map_or(Vec::new(), |c| c.settings.iter().map(|s| s.0.clone()).collect());
    for (c, cell) in cells.iter().enumerate() {
        let mut merged = String::new();
        for r in 0..seeds {
            let text =
                fs::read_to_string(unit_path(c, r)).with_context(|| format!("reading unit {} r{r}", cell.name))?;
            let mut lines = text.split_inclusive('\n');
            let header = lines.next().unwrap_or("");
            if r == 0 {
                merged.push_str(header);
            }
            for l in lines {
                merged.push_str(l);
            }
        }
        let cell_dir = dir.join("cells").join(&cell.name);
        fs::create_dir_all(&cell_dir)?;
        let tmp = cell_dir.join("rounds.csv.partial");
        fs::write(&tmp, &merged)?;
        fs::rename(&tmp, cell_dir.join("rounds.csv"))?;
        // Per participant: win rate (Wilson) and mean payoff (t interval).
        let mut reader = csv::Reader::from_reader(merged.as_bytes());
        let header: Vec<String> = reader.headers()?.iter().map(String::from).collect();
        let label = header
            .iter()
            .position(|h| h == "label")
            .context("rounds.csv without `label`")?;
        let (payoff, won) = super::analyze::outcome_columns(&header).context("rounds.csv without a payoff column")?;
        let mut stats: Vec<(String, Vec<f64>, u64)> = Vec::new();
        for rec in reader.records() {
            let rec = rec?;
            let name = rec.get(label).unwrap_or("").to_string();
            let text = rec.get(payoff).unwrap_or("");
            let v: f64 = text
                .parse()
                .with_context(|| format!("cell {}: payoff \"{text}\" is not a number", cell.name))?;
            let w = match won {
                Some(i) => u64::from(rec.get(i) == Some("true")),
                None => u64::from(v > 0.0),
            };
            match stats.iter_mut().find(|s| s.0 == name) {
                Some(s) => {
                    s.1.push(v);
                    s.2 += w;
                }
                None => stats.push((name, vec![v], w)),
            }
        }
        for (name, values, wins) in stats {
            let n = values.len() as u64;
            let (lo, hi) = wilson_interval(wins, n, Z95);
            let (plo, phi) = mean_interval(&values);
            let mut row: Vec<String> = vec![cell.name.clone()];
            row.extend(cell.settings.iter().map(|s| s.1.clone()));
            row.extend([
                name,
                n.to_string(),
                (wins as f64 / n.max(1) as f64).to_string(),
                lo.to_string(),
                hi.to_string(),
                crate::analysis::stats::mean(&values).to_string(),
                plo.to_string(),
                phi.to_string(),
            ]);
            table_rows.push(row);
        }
    }
    let mut header = vec!["cell".to_string()];
    header.extend(setting_names.iter().cloned());
    header.extend(
        [
            "label",
            "rounds",
            "win_rate",
            "win_ci_low",
            "win_ci_high",
            "payoff_mean",
            "payoff_ci_low",
            "payoff_ci_high",
        ]
        .map(String::from),
    );
    let tmp = dir.join("sweep.csv.partial");
    {
        let mut w = csv::Writer::from_path(&tmp)?;
        w.write_record(&header)?;
        for r in &table_rows {
            w.write_record(r)?;
        }
        w.flush()?;
    }
    fs::rename(&tmp, dir.join("sweep.csv"))?;
    let manifest = json!({
        "kind": "sweep",
        "sweep_file": file.display().to_string(),
        "cells": cells.iter().map(|c| json!({"cell": c.name, "settings": c.settings.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(), "seeds": match &c.scenario.plan { Plan::Tournament(t) => json!(t.seeds), _ => json!(null) }})).collect::<Vec<_>>(),
        "replicates_per_cell": seeds,
        "units": units.len(),
        "mechsim_version": env!("CARGO_PKG_VERSION"),
    });
    let tmp = dir.join("manifest.json.partial");
    fs::write(&tmp, serde_json::to_string_pretty(&manifest)? + "\n")?;
    fs::rename(&tmp, dir.join("manifest.json"))?;
    if !quiet {
        outln!(
            "sweep {stem}: {} cell(s) x {seeds} replicate(s) = {} units ({} run now, {} already done)",
            cells.len(),
            units.len(),
            todo.len(),
            units.len() - todo.len()
        )?;
        outln!(
            "\n{:<50} {:<22} {:>8} {:>26} {:>12}",
            "cell",
            "player",
            "rounds",
            "win rate [Wilson 95%]",
            "payoff"
        )?;
        for r in &table_rows {
            let k = setting_names.len();
            outln!(
                "{:<50} {:<22} {:>8} {:>26} {:>12}",
                r[0],
                r[k + 1],
                r[k + 2],
                format!(
                    "{:.3} [{:.3}, {:.3}]",
                    r[k + 3].parse::<f64>().unwrap_or(0.0),
                    r[k + 4].parse::<f64>().unwrap_or(0.0),
                    r[k + 5].parse::<f64>().unwrap_or(0.0)
                ),
                format!("{:.3}", r[k + 6].parse::<f64>().unwrap_or(0.0))
            )?;
        }
        outln!(
            "\nwrote {}/{{sweep.csv, manifest.json, cells/*/rounds.csv, units/}}",
            dir.display()
        )?;
    }
    Ok(())
}
