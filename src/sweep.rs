//! Sweeps: a scenario of any kind with a `[sweep]` table runs every cell of its grid (any
//! scenario key, e.g. `"seats[1].iterations" = [100, 1000]`, `"game.rules" = ["paper",
//! "traditional"]`, `"instance.payment_cap" = [1, 2]`) for `seeds` replicates. Each (cell,
//! replicate) unit runs on one of `threads` workers, each taking the next unit when it
//! finishes one, and is written atomically as it finishes, so an interrupted sweep loses at
//! most the units in flight; `resume` skips the units already there, and an interrupted
//! sweep resumed ends with exactly the files of an uninterrupted one. Each unit's
//! fingerprint (what it computes and with which mechsim) is written beside it
//! (`units/<cell>-r0000.fingerprint`): resuming over units of another version of the sweep
//! is refused, naming them. Grids have at most `MAX_CELLS` cells and `MAX_UNITS` units.
//!
//! Tournaments: a unit is one replicate's rows (`units/<cell>-r0000.csv`), exactly that
//! replicate's rows when the cell runs alone; each cell's `cells/<cell>/rounds.csv` merges
//! them and `sweep.csv` has one row per cell and participant (win rate with its Wilson
//! interval, mean payoff with its t interval). Every other kind: a unit is the cell run with
//! the replicate's seed as its scenario seed, written with the kind's own files into
//! `cells/<cell>/r0000/`; `sweep.csv` has one row per cell and replicate with the kind's
//! headline metrics (`ScenarioKind::headline`).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::ProgressBar;
use serde_json::{Value, json};

use crate::analysis::stats::{Z95, mean_interval, wilson_interval};
use crate::core::error::{Error, Result};
use crate::core::rng::replicate_seed;
use crate::core::table::CsvInput;
use crate::kinds::{self, RunRequest, SweepUnits};
use crate::output;
use crate::registry;
use crate::runner::RunOptions;
use crate::scenario::{self, Scenario};

/// The most cells a grid may have.
pub const MAX_CELLS: usize = 100_000;
/// The most units (cells x seeds) a sweep may have.
pub const MAX_UNITS: usize = 10_000_000;

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
fn set(root: &mut toml::Table, path: &[Step], value: toml::Value) -> std::result::Result<(), String> {
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

/// A grid cell: its name, its settings, its scenario text and the validated scenario.
struct Cell {
    name: String,
    settings: Vec<(String, String)>,
    table: toml::Table,
    scenario: Scenario,
}

impl Cell {
    /// What unit `r` of this cell computes, with the mechsim that computes it: a unit
    /// written under another fingerprint belongs to another version of the sweep.
    fn fingerprint(&self, r: usize) -> String {
        let mut table = self.table.clone();
        // The replicate count is not part of a unit: adding seeds keeps the units there.
        table.remove("seeds");
        let text = toml::to_string(&table).unwrap_or_default();
        let key = format!(
            "mechsim {} {}\ncell {}\nreplicate {r}\n{text}",
            env!("CARGO_PKG_VERSION"),
            option_env!("MECHSIM_GIT_COMMIT").unwrap_or(""),
            self.name
        );
        scenario::file_hash(&key)
    }

    fn label(&self) -> String {
        self.settings
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The cell's scenario validated from `table`, with errors that name the cell (positions
    /// would point into the generated text, not the file).
    fn parse(file: &Path, table: &toml::Table, label: &str) -> Result<Scenario> {
        let text = toml::to_string(table).map_err(|e| Error::Run(format!("cannot write a cell as TOML: {e}")))?;
        scenario::parse(file, &text).map_err(|e| {
            let message = match &e {
                Error::Scenario { message, .. } => message.clone(),
                other => other.to_string(),
            };
            Error::Run(format!("{}: in the cell {label}: {message}", file.display()))
        })
    }
}

fn bad(file: &Path, message: String) -> Error {
    Error::Run(format!("{}: {message}", file.display()))
}

fn cells(file: &Path) -> Result<(Vec<Cell>, usize)> {
    // The base scenario first, with the file's own line numbers.
    let base = scenario::load(file)?;
    let text = fs::read_to_string(file).map_err(|e| Error::io("cannot read", file, e))?;
    let mut root: toml::Table = toml::from_str(&text).map_err(|e| bad(file, format!("invalid TOML: {e}")))?;
    let Some(toml::Value::Table(sweep)) = root.remove("sweep") else {
        return Err(bad(
            file,
            "no [sweep] table; a sweep file is a scenario plus [sweep] with `seeds` and a [sweep.grid] of key = [values]"
                .into(),
        ));
    };
    for key in sweep.keys() {
        if key != "seeds" && key != "grid" {
            return Err(bad(
                file,
                format!("key `sweep.{key}`: unknown (valid: `seeds`, `grid`)"),
            ));
        }
    }
    let seeds = match sweep.get("seeds") {
        Some(toml::Value::Integer(n)) if (1..=10_000).contains(n) => *n as usize,
        Some(other) => {
            return Err(bad(
                file,
                format!("key `sweep.seeds`: must be in 1..=10000, found {other}"),
            ));
        }
        None => return Err(bad(file, "key `sweep.seeds`: missing (replicates per cell)".into())),
    };
    let Some(toml::Value::Table(grid)) = sweep.get("grid") else {
        return Err(bad(
            file,
            "key `sweep.grid`: missing; give `\"key.path\" = [value, ...]` entries".into(),
        ));
    };
    let mut axes: Vec<(String, Vec<Step>, Vec<toml::Value>)> = Vec::new();
    for (key, values) in grid {
        if key == "seeds" {
            return Err(bad(
                file,
                "key `sweep.grid.\"seeds\"`: the replicates of every cell are `sweep.seeds`; the grid cannot vary them"
                    .into(),
            ));
        }
        let steps = parse_path(key).ok_or_else(|| {
            bad(
                file,
                format!("key `sweep.grid.\"{key}\"`: not a key path like `seats[1].iterations`"),
            )
        })?;
        let toml::Value::Array(values) = values else {
            return Err(bad(
                file,
                format!("key `sweep.grid.\"{key}\"`: expected a list of values"),
            ));
        };
        if values.is_empty() {
            return Err(bad(file, format!("key `sweep.grid.\"{key}\"`: empty list")));
        }
        axes.push((key.clone(), steps, values.clone()));
    }
    let replicate_rows = kinds::of(&base).sweep_units() == SweepUnits::ReplicateRows;
    let total = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.2.len()))
        .filter(|n| *n <= MAX_CELLS)
        .ok_or_else(|| {
            let sizes: Vec<String> = axes.iter().map(|a| a.2.len().to_string()).collect();
            bad(
                file,
                format!(
                    "the grid has {} cells; a sweep has at most {MAX_CELLS} (split it into several sweep files)",
                    sizes.join(" x ")
                ),
            )
        })?;
    if total.saturating_mul(seeds) > MAX_UNITS {
        return Err(bad(
            file,
            format!(
                "{total} cells x {seeds} seeds is {} units; a sweep has at most {MAX_UNITS}",
                total * seeds
            ),
        ));
    }
    let mut out = Vec::with_capacity(total);
    for code in 0..total {
        let mut c = code;
        let mut table = root.clone();
        let mut settings = Vec::new();
        for (key, steps, values) in &axes {
            let v = &values[c % values.len()];
            c /= values.len();
            set(&mut table, steps, v.clone()).map_err(|m| bad(file, format!("key `sweep.grid.\"{key}\"`: {m}")))?;
            settings.push((key.clone(), short(v)));
        }
        if replicate_rows {
            table.insert("seeds".into(), toml::Value::Integer(seeds as i64));
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
        let mut cell = Cell {
            name: format!("{code:03}-{name}"),
            settings,
            scenario: base.clone(),
            table,
        };
        cell.scenario = Cell::parse(file, &cell.table, &cell.label())?;
        if cell.scenario.kind != base.kind {
            return Err(bad(
                file,
                format!(
                    "the cell {} changes the scenario's kind; a sweep keeps one kind",
                    cell.label()
                ),
            ));
        }
        out.push(cell);
    }
    Ok((out, seeds))
}

/// What `sweep` is asked to do.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    /// The scenario with a `[sweep]` table.
    pub file: PathBuf,
    /// The output directory (`None`: `results/sweep-<file stem>`).
    pub out: Option<PathBuf>,
    /// Run only the units not written yet.
    pub resume: bool,
    /// Replace an existing output directory that mechsim wrote.
    pub force: bool,
    /// Worker threads (results do not depend on it).
    pub threads: Option<usize>,
    /// No progress bar.
    pub quiet: bool,
}

/// What a sweep did and its table (`sweep.csv`).
#[derive(Debug, Clone)]
pub struct SweepSummary {
    /// The sweep file's stem.
    pub name: String,
    /// The output directory.
    pub dir: PathBuf,
    /// The scenario kind.
    pub kind: String,
    /// Cells in the grid.
    pub cells: usize,
    /// Replicates per cell.
    pub seeds: usize,
    /// Units in all.
    pub units: usize,
    /// Units run now (the others were already there).
    pub ran: usize,
    /// The grid's keys.
    pub settings: Vec<String>,
    /// `sweep.csv`'s header.
    pub header: Vec<String>,
    /// `sweep.csv`'s rows.
    pub rows: Vec<Vec<String>>,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    output::guard::write_atomic(path, bytes)
}

/// The shared progress bar, saying how many of the units are left to run.
fn progress(quiet: bool, total: u64, prefix: &str, unit: &'static str, todo: usize, all: usize) -> ProgressBar {
    let bar = kinds::progress_bar(quiet, total, prefix, unit);
    bar.set_message(format!("{todo} of {all} units to run"));
    bar
}

/// Runs every unit not written yet, then writes `sweep.csv` and the manifest.
pub fn run(request: &SweepRequest) -> Result<SweepSummary> {
    let file = request.file.as_path();
    let (cells, seeds) = cells(file)?;
    let stem = file
        .file_stem()
        .map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
    let dir = request
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(format!("sweep-{stem}")));
    let Some(first) = cells.first() else {
        return Err(bad(file, "the grid has no cells".into()));
    };
    let _lock = claim(request, &dir, &first.scenario)?;
    let units: Vec<(usize, usize)> = (0..cells.len()).flat_map(|c| (0..seeds).map(move |r| (c, r))).collect();
    let kind = first.scenario.kind.clone();
    check_fingerprints(&dir, &cells, seeds)?;
    // The manifest comes first: it marks the directory as this sweep's while units arrive.
    write_manifest(&dir, file, &kind, &cells, seeds, units.len())?;
    let units_dir = dir.join("units");
    fs::create_dir_all(&units_dir).map_err(|e| Error::io("cannot create", &units_dir, e))?;
    let threads = request
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let replicate_rows = kinds::of(&first.scenario).sweep_units() == SweepUnits::ReplicateRows;
    let outcome = if replicate_rows {
        run_replicate_units(request, &stem, &dir, &cells, seeds, &units, threads)
    } else {
        run_kind_units(request, &stem, &dir, &cells, &units, threads)
    };
    if crate::interrupt::requested() {
        let written = units
            .iter()
            .filter(|&&(c, r)| {
                let cell = &cells[c];
                let result = if replicate_rows {
                    dir.join("units").join(format!("{}-r{r:04}.csv", cell.name))
                } else {
                    dir.join("cells")
                        .join(&cell.name)
                        .join(format!("r{r:04}"))
                        .join("manifest.json")
                };
                result.is_file() && fingerprint_matches(&dir, cell, r)
            })
            .count();
        return Err(Error::Interrupted(format!(
            "{written} of {} units are written in {}; run the same command with --resume to finish the sweep",
            units.len(),
            dir.display()
        )));
    }
    let (ran, header, rows) = outcome?;
    write_atomic(&dir.join("sweep.csv"), &csv_bytes(&header, &rows)?)?;
    write_manifest(&dir, file, &kind, &cells, seeds, units.len())?;
    Ok(SweepSummary {
        name: stem,
        dir,
        kind,
        cells: cells.len(),
        seeds,
        units: units.len(),
        ran,
        settings: cells
            .first()
            .map_or(Vec::new(), |c| c.settings.iter().map(|s| s.0.clone()).collect()),
        header,
        rows,
    })
}

/// Claims the sweep's directory: refuses one mechsim did not write, locks it for the whole
/// sweep, and without `resume` replaces (with `force`) or refuses what is there.
fn claim(request: &SweepRequest, dir: &Path, base: &Scenario) -> Result<output::guard::OutputLock> {
    use output::guard::{self, Holding};
    let mut inputs = base.inputs();
    inputs.push(request.file.clone());
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    guard::validate_target(dir, &inputs)?;
    let lock = guard::OutputLock::acquire(dir)?;
    match guard::holding(dir) {
        Holding::Foreign(why) => {
            return Err(Error::UnsafeOutput(
                dir.to_path_buf(),
                format!("{why}; mechsim only writes into directories it wrote (choose another --out)"),
            ));
        }
        Holding::Ours if !request.resume => {
            if !request.force {
                return Err(Error::OutputExists(dir.to_path_buf()));
            }
            guard::remove_ours(dir)?;
        }
        Holding::Ours if !is_sweep(dir) => {
            return Err(Error::UnsafeOutput(
                dir.to_path_buf(),
                "--resume continues a sweep, and this directory holds another kind of result (choose another --out)"
                    .into(),
            ));
        }
        Holding::Ours | Holding::Nothing => {}
    }
    guard::remove_stale(dir);
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    Ok(lock)
}

/// Whether `dir`'s manifest is a sweep's.
fn is_sweep(dir: &Path) -> bool {
    fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .is_some_and(|m| m.get("kind").and_then(Value::as_str) == Some("sweep"))
}

fn write_manifest(dir: &Path, file: &Path, kind: &str, cells: &[Cell], seeds: usize, units: usize) -> Result<()> {
    let manifest = json!({
        "kind": "sweep",
        "scenario_kind": kind,
        "sweep_file": file.display().to_string(),
        "cells": cells.iter().map(|c| json!({
            "cell": c.name,
            "settings": c.settings.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "seeds": match c.scenario.tournament() {
                Some(t) => json!(t.seeds),
                None => json!((0..seeds).map(|r| replicate_seed(c.scenario.seed, r as u64)).collect::<Vec<_>>()),
            },
        })).collect::<Vec<_>>(),
        "replicates_per_cell": seeds,
        "units": units,
        "mechsim_version": env!("CARGO_PKG_VERSION"),
        "files": ["sweep.csv", "cells", "units"],
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Run(format!("manifest: {e}")))? + "\n";
    write_atomic(&dir.join("manifest.json"), text.as_bytes())
}

/// `units/<cell>-r0000.fingerprint`: written before the unit's result is put in place.
fn fingerprint_path(dir: &Path, cell: &Cell, r: usize) -> PathBuf {
    dir.join("units").join(format!("{}-r{r:04}.fingerprint", cell.name))
}

/// Whether unit (cell, r) was written by this version of the sweep.
fn fingerprint_matches(dir: &Path, cell: &Cell, r: usize) -> bool {
    fs::read_to_string(fingerprint_path(dir, cell, r)).is_ok_and(|f| f.trim() == cell.fingerprint(r))
}

/// Refuses to resume over units that another version of the sweep (another scenario or
/// another mechsim) wrote, naming them.
fn check_fingerprints(dir: &Path, cells: &[Cell], seeds: usize) -> Result<()> {
    let units_dir = dir.join("units");
    let mut expected = std::collections::HashMap::new();
    for cell in cells {
        for r in 0..seeds {
            expected.insert(format!("{}-r{r:04}", cell.name), (cell, r));
        }
    }
    let mut foreign = Vec::new();
    let mut results = Vec::new();
    let entries = match fs::read_dir(&units_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("cannot read", &units_dir, e)),
    };
    for entry in entries {
        let name = entry
            .map_err(|e| Error::io("cannot read", &units_dir, e))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(unit) = name.strip_suffix(".fingerprint") {
            match expected.get(unit) {
                Some((cell, r)) if fingerprint_matches(dir, cell, *r) => {}
                _ => foreign.push(unit.to_string()),
            }
        } else if let Some(unit) = name.strip_suffix(".csv") {
            results.push(unit.to_string());
        }
    }
    // A result with no fingerprint was written before fingerprints existed.
    for unit in results {
        if !units_dir.join(format!("{unit}.fingerprint")).is_file() && !foreign.contains(&unit) {
            foreign.push(unit);
        }
    }
    for cell in cells {
        for r in 0..seeds {
            let unit = dir.join("cells").join(&cell.name).join(format!("r{r:04}"));
            let name = format!("{}-r{r:04}", cell.name);
            if unit.join("manifest.json").is_file()
                && !fingerprint_path(dir, cell, r).is_file()
                && !foreign.contains(&name)
            {
                foreign.push(name);
            }
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
    let more = if foreign.len() > shown.len() {
        format!(" and {} more", foreign.len() - shown.len())
    } else {
        String::new()
    };
    Err(Error::Run(format!(
        "{}: units {}{more} were written by another version of this sweep (its scenario, grid or mechsim changed); \
         resume it into a new --out, or pass --force to start over",
        dir.display(),
        shown.join(", ")
    )))
}

/// Runs `unit` for every (cell, replicate) of `todo` on `threads` threads, each taking the
/// next unit when it finishes one (no nesting, so any number of units fits the stack, and
/// each is written as it finishes). Stops at the first failure and returns it.
fn run_each(threads: usize, todo: &[(usize, usize)], unit: impl Fn(usize, usize) -> Result<()> + Sync) -> Result<()> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<(usize, Error)>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(todo.len()).max(1) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) && !crate::interrupt::requested() {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(c, r)) = todo.get(i) else {
                        break;
                    };
                    if let Err(e) = unit(c, r) {
                        failed.store(true, Ordering::Relaxed);
                        let mut slot = first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        // The earliest unit's failure, whichever thread saw its own first.
                        if slot.as_ref().is_none_or(|(at, _)| i < *at) {
                            *slot = Some((i, e));
                        }
                    }
                }
            });
        }
    });
    match first_error
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

fn csv_bytes(header: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Run(format!("sweep.csv: {e}"));
    w.write_record(header).map_err(fail)?;
    for r in rows {
        w.write_record(r).map_err(fail)?;
    }
    w.into_inner().map_err(|e| Error::Run(format!("sweep.csv: {e}")))
}

type Table = (usize, Vec<String>, Vec<Vec<String>>);

/// A unit's headline metrics, named.
type Headline = Vec<(String, Value)>;

/// Units that are one replicate's rows each (tournaments), merged per cell; one sweep row
/// per cell and participant.
fn run_replicate_units(
    request: &SweepRequest,
    stem: &str,
    dir: &Path,
    cells: &[Cell],
    seeds: usize,
    units: &[(usize, usize)],
    threads: usize,
) -> Result<Table> {
    let units_dir = dir.join("units");
    let unit_path = |c: usize, r: usize| units_dir.join(format!("{}-r{r:04}.csv", cells[c].name));
    let partial_path = |c: usize, r: usize| unit_path(c, r).with_extension("csv.partial");
    let todo: Vec<(usize, usize)> = units
        .iter()
        .copied()
        .filter(|&(c, r)| !(unit_path(c, r).is_file() && fingerprint_matches(dir, &cells[c], r)))
        .collect();
    // A unit's staging file left by a killed run is mechsim's own (named after the unit):
    // it is rewritten from scratch, so remove it first.
    for &(c, r) in &todo {
        let partial = partial_path(c, r);
        if partial.is_file() {
            fs::remove_file(&partial).map_err(|e| Error::io("cannot remove stale", &partial, e))?;
        }
    }
    let rounds = |c: usize| cells[c].scenario.tournament().map_or(0, |t| t.rounds);
    let total: u64 = todo.iter().map(|&(c, _)| rounds(c)).sum();
    let bar = progress(
        request.quiet,
        total,
        &format!("sweep {stem}"),
        "rounds",
        todo.len(),
        units.len(),
    );
    let progress = bar.clone();
    run_each(threads, &todo, |c, r| {
        let cell = &cells[c];
        let Some(plan) = cell.scenario.tournament() else {
            return Err(Error::Run(format!(
                "cell {} does not split into replicate rows",
                cell.name
            )));
        };
        let mut unit = plan.clone();
        unit.seeds = vec![plan.seeds[r]];
        let entry = registry::game(&unit.game.name)
            .ok_or_else(|| Error::Run(format!("game `{}` is not registered", unit.game.name)))?;
        let progress = progress.clone();
        let options = RunOptions {
            threads: Some(1),
            on_progress: Arc::new(move |n| progress.inc(n)),
            ..RunOptions::default()
        };
        let result = entry.run_tournament(&unit, &options).map_err(|e| Error::Context {
            context: format!("cell {} replicate {r}", cell.name),
            cause: Box::new(e),
        })?;
        let (target, partial) = (unit_path(c, r), partial_path(c, r));
        write_atomic(&fingerprint_path(dir, cell, r), cell.fingerprint(r).as_bytes())?;
        output::write_rounds_csv(&partial, &unit, &result)?;
        fs::rename(&partial, &target).map_err(|e| Error::io("cannot move into place", &target, e))
    })?;
    bar.finish_and_clear();
    // Merge: each cell's rounds.csv (header once, replicates in order) and the sweep table.
    let mut rows = Vec::new();
    for (c, cell) in cells.iter().enumerate() {
        let mut merged = String::new();
        for r in 0..seeds {
            let path = unit_path(c, r);
            let text = fs::read_to_string(&path).map_err(|e| Error::io("cannot read unit", &path, e))?;
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
        fs::create_dir_all(&cell_dir).map_err(|e| Error::io("cannot create", &cell_dir, e))?;
        write_atomic(&cell_dir.join("rounds.csv"), merged.as_bytes())?;
        rows.extend(participant_rows(cell, &merged, &cell_dir.join("rounds.csv"))?);
    }
    let mut header = vec!["cell".to_string()];
    header.extend(
        cells
            .first()
            .map_or(Vec::new(), |c| c.settings.iter().map(|s| s.0.clone()).collect()),
    );
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
    Ok((todo.len(), header, rows))
}

/// Per participant of a cell's merged rounds: win rate (Wilson) and mean payoff (t interval).
fn participant_rows(cell: &Cell, merged: &str, path: &Path) -> Result<Vec<Vec<String>>> {
    let mut input = CsvInput::new(path, merged.as_bytes())?;
    let label = input.require("label", "")?;
    let payoff = match input.column("coin_change").or_else(|| input.column("return")) {
        Some(c) => c,
        None => input.require("return", " (the payoff)")?,
    };
    let won = input.column("won");
    let mut stats: Vec<(String, Vec<f64>, u64)> = Vec::new();
    let mut record = csv::ByteRecord::new();
    while let Some(line) = input.next_row(&mut record)? {
        let name = crate::core::table::field(&record, label, path, line, "label")?.to_string();
        let text = crate::core::table::field(&record, payoff, path, line, "payoff")?;
        let v: f64 = text
            .parse()
            .map_err(|_| input.error(line, format!("payoff \"{text}\" is not a number")))?;
        let w = match won {
            Some(i) => u64::from(record.get(i) == Some(b"true")),
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
    Ok(stats
        .into_iter()
        .map(|(name, values, wins)| {
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
            row
        })
        .collect())
}

/// Units of every other kind: the cell run with the replicate's seed, written with the
/// kind's own files; one sweep row per cell and replicate with the kind's headline metrics.
fn run_kind_units(
    request: &SweepRequest,
    stem: &str,
    dir: &Path,
    cells: &[Cell],
    units: &[(usize, usize)],
    threads: usize,
) -> Result<Table> {
    let unit_dir = |c: usize, r: usize| dir.join("cells").join(&cells[c].name).join(format!("r{r:04}"));
    // A unit is complete when its directory is (the kind writes it through a staging
    // directory and a rename; `Staging` removes what killed runs left of one).
    let todo: Vec<(usize, usize)> = units
        .iter()
        .copied()
        .filter(|&(c, r)| !(unit_dir(c, r).join("manifest.json").is_file() && fingerprint_matches(dir, &cells[c], r)))
        .collect();
    for &(c, r) in &todo {
        let unit = unit_dir(c, r);
        if fs::symlink_metadata(&unit).is_ok() && !unit.join("manifest.json").is_file() {
            return Err(Error::UnsafeOutput(
                unit,
                "it is where a unit of this sweep goes, and mechsim did not write it (move it away)".into(),
            ));
        }
    }
    let bar = progress(
        request.quiet,
        todo.len() as u64,
        &format!("sweep {stem}"),
        "units",
        todo.len(),
        units.len(),
    );
    let progress = bar.clone();
    run_each(threads, &todo, |c, r| {
        let cell = &cells[c];
        let mut table = cell.table.clone();
        let seed = replicate_seed(cell.scenario.seed, r as u64);
        table.insert("seed".into(), toml::Value::Integer(seed as i64));
        let scenario = Cell::parse(&request.file, &table, &cell.label())?;
        let out_dir = unit_dir(c, r);
        if let Some(parent) = out_dir.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        let unit = RunRequest {
            file: request.file.clone(),
            out_dir,
            force: false,
            threads: Some(1),
            quiet: true,
            device: mechsim_agents::DeviceKind::Cpu,
            max_steps: None,
        };
        write_atomic(&fingerprint_path(dir, cell, r), cell.fingerprint(r).as_bytes())?;
        let out_dir = unit.out_dir.clone();
        kinds::of(&scenario).run(&scenario, &unit).map_err(|e| Error::Context {
            context: format!("cell {} replicate {r}", cell.name),
            cause: Box::new(e),
        })?;
        if crate::interrupt::requested() {
            // A unit that finished on an interrupt may hold less than its budget (an
            // interrupted training keeps what it had): resume runs it again.
            output::guard::remove_ours(&out_dir)?;
            return Err(Error::Interrupted("a unit was stopped".into()));
        }
        progress.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    let mut names: Vec<String> = Vec::new();
    // (cell, replicate, seed, headline)
    let mut records: Vec<(usize, usize, u64, Headline)> = Vec::new();
    for &(c, r) in units {
        let cell = &cells[c];
        let path = unit_dir(c, r).join("summary.json");
        let text = fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
        let summary: Value =
            serde_json::from_str(&text).map_err(|e| Error::Run(format!("{}: not JSON: {e}", path.display())))?;
        let headline = kinds::of(&cell.scenario).headline(&summary);
        for (name, _) in &headline {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        records.push((c, r, replicate_seed(cell.scenario.seed, r as u64), headline));
    }
    let mut header = vec!["cell".to_string()];
    header.extend(
        cells
            .first()
            .map_or(Vec::new(), |c| c.settings.iter().map(|s| s.0.clone()).collect()),
    );
    header.extend(["replicate", "seed"].map(String::from));
    header.extend(names.iter().cloned());
    let rows = records
        .into_iter()
        .map(|(c, r, seed, headline)| {
            let mut row = vec![cells[c].name.clone()];
            row.extend(cells[c].settings.iter().map(|s| s.1.clone()));
            row.extend([r.to_string(), seed.to_string()]);
            for name in &names {
                row.push(
                    headline
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or_else(String::new, |(_, v)| match v {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        }),
                );
            }
            row
        })
        .collect();
    Ok((todo.len(), header, rows))
}

/// The readable summary of a sweep.
pub fn render(s: &SweepSummary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sweep {}: {} cell(s) x {} replicate(s) = {} units ({} run now, {} already done)",
        s.name,
        s.cells,
        s.seeds,
        s.units,
        s.ran,
        s.units - s.ran
    );
    let k = s.settings.len();
    let text = |r: &[String], i: usize| r.get(i).cloned().unwrap_or_default();
    if s.header.iter().any(|h| h == "win_rate") {
        let _ = writeln!(
            out,
            "\n{:<50} {:<22} {:>8} {:>26} {:>12}",
            "cell", "player", "rounds", "win rate [Wilson 95%]", "payoff"
        );
        let num = |r: &[String], i: usize| r.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
        for r in &s.rows {
            let _ = writeln!(
                out,
                "{:<50} {:<22} {:>8} {:>26} {:>12}",
                text(r, 0),
                text(r, k + 1),
                text(r, k + 2),
                format!("{:.3} [{:.3}, {:.3}]", num(r, k + 3), num(r, k + 4), num(r, k + 5)),
                format!("{:.3}", num(r, k + 6))
            );
        }
        let _ = writeln!(
            out,
            "\nwrote {}/{{sweep.csv, manifest.json, cells/*/rounds.csv, units/}}",
            s.dir.display()
        );
    } else {
        // The cell, the replicate and each headline metric, numbers to 4 significant digits.
        let columns: Vec<usize> = std::iter::once(0).chain(k + 1..s.header.len()).collect();
        let cell = |v: &str| match v.parse::<f64>() {
            Ok(x) if v.contains('.') || v.contains('e') => format!("{x:.4}"),
            _ => v.to_string(),
        };
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            columns
                .iter()
                .map(|&i| s.header[i].clone())
                .collect::<Vec<_>>()
                .join("  ")
        );
        for r in &s.rows {
            let _ = writeln!(
                out,
                "{}",
                columns.iter().map(|&i| cell(&r[i])).collect::<Vec<_>>().join("  ")
            );
        }
        let _ = writeln!(
            out,
            "\nwrote {}/{{sweep.csv, manifest.json, cells/*/r*/}}",
            s.dir.display()
        );
    }
    out
}
