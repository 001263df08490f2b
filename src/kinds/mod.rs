//! Scenario kinds: everything that differs between a tournament, a solver run, a training
//! run, an information-acquisition study and an ad-load marketplace lives in one module per
//! kind behind the `ScenarioKind` trait: its raw file type (whose fields are the valid keys),
//! validation into a plan, the test suite's scale-down, the one-line description `check`
//! prints, running it (progress, outputs, the readable report), how a sweep splits it into
//! units and what it tabulates, and its section of `analyze`'s report. The scenario layer,
//! `sweep`, `analyze` and the CLI dispatch through `by_name`/`of` and never match on kind
//! names; adding a kind is one module plus one line in `KINDS` (and its `Plan` variant).

pub mod adload;
pub mod information;
pub mod solve;
pub mod tournament;
pub mod training;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mechsim_agents::DeviceKind;
use serde_json::Value;

use crate::core::error::{Error, Result};
use crate::output::RunInfo;
use crate::runner::RunOptions;
use crate::scenario::{Ctx, Plan, Scenario};

/// Every kind this build runs, in the order `check` and error messages list them; the first
/// is the default.
const KINDS: &[&dyn ScenarioKind] = &[
    &tournament::Tournament,
    &solve::Solve,
    &training::Training,
    &information::Information,
    &adload::Adload,
];

/// One kind of scenario file (`kind = "..."`).
pub trait ScenarioKind: Sync {
    /// The `kind` value in scenario files.
    fn name(&self) -> &'static str;

    /// The valid keys of the table at `table` (`[]`: the top level; `["solver"]`: the
    /// `[solver]` table), read from the kind's raw file types. `None` for a table the kind
    /// does not know.
    fn valid_keys(&self, table: &[&str]) -> Option<&'static [&'static str]>;

    /// Checks a file of this kind and builds its plan. `ctx` holds the file's text and
    /// positions, for errors that name file, line, column and key.
    fn validate(&self, ctx: &Ctx<'_>) -> Result<Scenario>;

    /// The plan's size in the units `scale_down` caps: rounds (or the kind's unit of work)
    /// and replicates.
    fn size(&self, plan: &Plan) -> (u64, usize);

    /// The same plan with at most `rounds` rounds (or the kind's unit of work) and `seeds`
    /// replicates, and the kind's other costs cut to match: a quick look, and how the test
    /// suite smoke-runs every shipped file.
    fn scale_down(&self, plan: &mut Plan, rounds: u64, seeds: usize);

    /// Sets what `--rounds N` names for this kind, up or down, and nothing else; `Err` says
    /// why the kind takes no such flag (or no such value).
    fn set_rounds(&self, _plan: &mut Plan, _rounds: u64) -> std::result::Result<(), String> {
        Err(format!("`--rounds` does not apply to {} scenarios", self.name()))
    }

    /// Sets the number of replicates to `seeds`, up or down (new replicates take the seeds
    /// a count of `seeds` in the file would give), and nothing else.
    fn set_seeds(&self, _plan: &mut Plan, _scenario_seed: u64, _seeds: usize) -> std::result::Result<(), String> {
        Err(format!("`--seeds` does not apply to {} scenarios", self.name()))
    }

    /// Caps every seat's per-decision search budget at `budget` (the test suite's smoke
    /// runs); kinds without seats have nothing to cap.
    fn cap_search(&self, _plan: &mut Plan, _budget: i64) {}

    /// One line for `mechsim check`.
    fn describe(&self, plan: &Plan) -> String;

    /// The command that runs it (`run`, or `train` for training).
    fn command(&self) -> &'static str {
        "run"
    }

    /// Runs the scenario, writes its output files into `request.out_dir` and returns the
    /// readable report (empty when `request.quiet`, but for what the user must hear, such
    /// as where an interrupted run kept its work).
    fn run(&self, scenario: &Scenario, request: &RunRequest) -> Result<String>;

    /// How a sweep splits a cell of this kind into units.
    fn sweep_units(&self) -> SweepUnits {
        SweepUnits::Runs
    }

    /// This run's section of `mechsim analyze`'s report, from its output directory `dir`
    /// (charts are drafted in `scratch`; `index` keeps file names apart): by default its
    /// summary's headline numbers.
    fn section(
        &self,
        dir: &std::path::Path,
        _manifest: &Value,
        _scratch: &std::path::Path,
        index: usize,
    ) -> Result<crate::analyze::Section> {
        crate::analyze::summary_section(dir, self.name(), index)
    }

    /// The numbers a sweep tabulates per cell and replicate (`sweep.csv`), read from the
    /// `summary.json` this kind writes: name and value, in a fixed order.
    fn headline(&self, summary: &Value) -> Vec<(String, Value)>;
}

/// The values of `summary` at each field's JSON pointer, under the field's name; a missing
/// one is null, so every replicate of a sweep has the same columns.
fn pick(summary: &Value, fields: &[(&str, &str)]) -> Vec<(String, Value)> {
    fields
        .iter()
        .map(|(name, pointer)| {
            (
                (*name).to_string(),
                summary.pointer(pointer).cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// How a sweep splits a cell into (cell, replicate) units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepUnits {
    /// Each unit is the cell run whole with the replicate's seed as its scenario seed, with
    /// the kind's own files; `sweep.csv` has a row per cell and replicate (`headline`).
    Runs,
    /// Each unit is one of the cell's own replicates, its rows merged into the cell's
    /// rows file, exactly as the cell run alone writes it; `sweep.csv` has a row per cell
    /// and participant (tournaments).
    ReplicateRows,
}

/// The kind a file gets when it says none (the game kinds' file type then reports the
/// missing key).
pub fn default_kind() -> &'static dyn ScenarioKind {
    KINDS[0]
}

/// The kind named `name`.
pub fn by_name(name: &str) -> Option<&'static dyn ScenarioKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

/// The kind of a validated scenario.
pub fn of(scenario: &Scenario) -> &'static dyn ScenarioKind {
    by_name(&scenario.kind).unwrap_or(KINDS[0])
}

/// The names of every kind.
/// Runs `scenario` into `request.out_dir` and returns its report, after claiming the output
/// directory (see `output::claim`): the whole run holds its lock.
pub fn run(scenario: &Scenario, request: &RunRequest) -> Result<String> {
    let inputs = scenario.inputs();
    let inputs: Vec<&std::path::Path> = inputs.iter().map(PathBuf::as_path).collect();
    let _lock = crate::output::claim(&request.out_dir, request.force, &inputs)?;
    of(scenario).run(scenario, request)
}

/// `list` resized to `n` replicate seeds: the first `n`, or more derived from the scenario
/// seed as a count in the file would give them (refused if one repeats a listed seed).
pub(crate) fn resize_seeds(
    list: &mut Vec<u64>,
    scenario_seed: u64,
    n: usize,
    max: usize,
) -> std::result::Result<(), String> {
    if n > max {
        return Err(format!(
            "`--seeds {n}`: this scenario takes at most {max} replicates (as in its file)"
        ));
    }
    if n <= list.len() {
        list.truncate(n.max(1));
        return Ok(());
    }
    let mut listed: std::collections::HashSet<u64> = list.iter().copied().collect();
    for r in list.len()..n {
        let seed = crate::core::rng::replicate_seed(scenario_seed, r as u64);
        if !listed.insert(seed) {
            return Err(format!(
                "`--seeds {n}` would add replicate seed {seed}, which the scenario already lists; list the seeds in the file instead"
            ));
        }
        list.push(seed);
    }
    Ok(())
}

/// Resizes the replicate seeds of every table present (`tables` names them for the error).
pub(crate) fn resize_replicates(
    lists: [(Option<&mut Vec<u64>>, usize); 2],
    scenario_seed: u64,
    n: usize,
    tables: &str,
) -> std::result::Result<(), String> {
    if lists.iter().all(|(list, _)| list.is_none()) {
        return Err(format!(
            "`--seeds` sets the replicates of {tables}, and this scenario has neither"
        ));
    }
    lists
        .into_iter()
        .filter_map(|(list, max)| list.map(|l| (l, max)))
        .try_for_each(|(list, max)| resize_seeds(list, scenario_seed, n, max))
}

pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name()).collect()
}

/// How to run a scenario: where its outputs go and what may be used (not part of results).
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The scenario file (for messages).
    pub file: PathBuf,
    /// The output directory.
    pub out_dir: PathBuf,
    /// Replace an existing output directory that mechsim wrote.
    pub force: bool,
    /// Worker threads (`None`: all cores). Results do not depend on it.
    pub threads: Option<usize>,
    /// No progress bar and no report.
    pub quiet: bool,
    /// The compute device of learners (training).
    pub device: DeviceKind,
    /// Stop after at most this many learner steps (training).
    pub max_steps: Option<u64>,
}

impl RunRequest {
    /// Run options whose progress goes to `bar`.
    fn options(&self, bar: &ProgressBar) -> RunOptions {
        let progress = bar.clone();
        RunOptions {
            threads: self.threads,
            on_progress: Arc::new(move |n| progress.inc(n)),
            ..RunOptions::default()
        }
    }

    /// An error of this run: `doing` the file, then the cause.
    fn context(&self, doing: &str, e: Error) -> Error {
        Error::Context {
            context: format!("{doing} {}", self.file.display()),
            cause: Box::new(e),
        }
    }

    /// A progress bar on standard error (hidden when quiet or when the total is unknown).
    fn bar(&self, total: u64, prefix: &str, unit: &'static str) -> ProgressBar {
        progress_bar(self.quiet || total == 0, total, prefix, unit)
    }

    /// A spinner for work of unknown length, counting `unit`.
    fn spinner(&self, prefix: &str, unit: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "{{spinner}} {{prefix}} {{human_pos}} {unit}, {{per_sec}} {{msg}}"
        )) {
            bar.set_style(style);
        }
        bar.set_prefix(prefix.to_string());
        bar
    }
}

/// A bar counting `unit`s up to `total`, with rate and ETA (hidden when `hidden`).
pub fn progress_bar(hidden: bool, total: u64, prefix: &str, unit: &'static str) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template = format!("{{prefix}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit}, {{rate}}, eta {{eta}} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(
            style
                .with_key(
                    "rate",
                    move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} {unit}/s", state.per_sec());
                    },
                )
                .progress_chars("=> "),
        );
    }
    bar.set_prefix(prefix.to_string());
    bar
}

/// Wall-clock facts of a run, for its manifest.
struct Clock {
    started: SystemTime,
    clock: Instant,
}

impl Clock {
    fn start() -> Self {
        Clock {
            started: SystemTime::now(),
            clock: Instant::now(),
        }
    }

    fn seconds(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }

    /// The manifest's run facts, finished now.
    fn info(&self, threads: usize) -> RunInfo {
        RunInfo {
            started: humantime::format_rfc3339_seconds(self.started).to_string(),
            finished: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            wall_seconds: self.seconds(),
            threads,
            command: std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect(),
        }
    }
}

/// The registered game of a scenario that plays one.
fn game_entry(scenario: &Scenario) -> Result<crate::registry::GameEntry> {
    let game = scenario
        .game
        .as_ref()
        .ok_or_else(|| Error::Run(format!("{} has no game", scenario.file.display())))?;
    crate::registry::game(&game.name).ok_or_else(|| Error::Run(format!("game `{}` is not registered", game.name)))
}

/// The plan of the wrong kind: a bug in dispatch, reported rather than panicking.
fn wrong_plan(kind: &str, scenario: &Scenario) -> Error {
    Error::Run(format!(
        "{} is a {} scenario, not {kind}",
        scenario.file.display(),
        scenario.kind
    ))
}
