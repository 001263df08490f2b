//! The command-line interface: `run`, `train`, `check`, `mechanism solve` and `list`. A thin layer over the library:
//! it parses arguments (clap), drives the progress bar, prints the readable report and
//! prints any error exactly once (exit status 2). Standard output is written through `out!`
//! and `outln!`, never `print!`: a reader that closes the pipe early (`mechsim list | head`)
//! ends the program quietly with success, as ripgrep does, and a full disk is a clear error
//! instead of a panic.

/// Writes to standard output like `print!`; evaluates to `Result<(), StdoutError>`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        write!(stdout, $($arg)*)
            .and_then(|()| stdout.flush())
            .map_err($crate::cli::StdoutError)
    }};
}

/// Writes a line to standard output like `println!`; evaluates to `Result<(), StdoutError>`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, $($arg)*)
            .and_then(|()| stdout.flush())
            .map_err($crate::cli::StdoutError)
    }};
}

mod adload_report;
mod analyze;
mod mechanism_report;
mod ope;
mod report;
mod scoring;
mod sweep;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{self, RunInfo};
use crate::registry;
use crate::runner::RunOptions;
use crate::runner::adload::{self, AdloadPlan};
use crate::runner::information::{self, InformationPlan};
use crate::scenario::{self, Plan};
use mechsim_agents::DeviceKind;

/// Standard output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(pub std::io::Error);

/// mechsim: simulate multi-agent games and mechanisms from scenario files.
#[derive(Debug, Parser)]
#[command(name = "mechsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario file and print its summary.
    Run(RunArgs),
    /// Train a learner from a training scenario (`kind = "training"`).
    Train(TrainArgs),
    /// Validate scenario files without running them.
    Check {
        /// Scenario files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Mechanism design on information scenarios (`kind = "information"`).
    #[command(subcommand)]
    Mechanism(MechanismCommand),
    /// Off-policy evaluation of a target policy on a logged-bandit CSV.
    Ope(OpeArgs),
    /// Score probability forecasts in a CSV: Brier, log loss, ECE (both forms), MCE, Balance,
    /// reliability table (and diagram with --svg).
    Score {
        /// The CSV file.
        file: PathBuf,
        /// Column with the forecast probability that the outcome is 1.
        #[arg(long)]
        prob: String,
        /// Column with the outcome (0/1 or true/false).
        #[arg(long)]
        outcome: String,
        /// Equal-width bins of the reliability table and ECE.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
        bins: u64,
        /// Write the reliability diagram (SVG) here.
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare groups of a numeric column: means with CIs, Welch tests with Bonferroni and
    /// Holm, Cohen's d; paired tests and Elo ratings with --paired-by.
    Compare {
        /// The CSV file.
        file: PathBuf,
        /// Column naming the group (strategy, policy).
        #[arg(long)]
        group: String,
        /// Numeric column to compare (true/false count as 1/0).
        #[arg(long)]
        value: String,
        /// Column(s) naming the unit two groups share (e.g. seed,table,round) for paired
        /// tests and ratings; comma-separated columns are joined into one key.
        #[arg(long, value_delimiter = ',')]
        paired_by: Vec<String>,
        /// Family-wise significance level.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Seed of the rating bootstrap.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run every cell of a tournament scenario's [sweep] grid for its seeds (resumable).
    Sweep {
        /// Scenario with a [sweep] table.
        file: PathBuf,
        /// Output directory (default results/sweep-<file stem>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Finish an interrupted sweep: run only the units not written yet.
        #[arg(long)]
        resume: bool,
        /// Replace an existing output directory.
        #[arg(long)]
        force: bool,
        /// Worker threads (results do not depend on it).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
        threads: Option<u16>,
        /// No progress bar and no table.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Analyse output directories: report.md, a self-contained report.html and report.json.
    Analyze {
        /// mechsim output directories (tournament, solve, training, information, adload).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write the report (default: DIR/report of the first directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing report directory.
        #[arg(long)]
        force: bool,
    },
    /// List what is registered.
    List {
        /// What to list.
        what: ListWhat,
    },
}

#[derive(Debug, clap::Args)]
struct OpeArgs {
    /// The logged data: one row per decision with `action`, reward column(s), `pscore` and
    /// the target policy's `pi_e_<a>` columns (see README, "Off-policy evaluation").
    file: PathBuf,
    /// Reward column(s) to evaluate, comma-separated.
    #[arg(long, default_value = "reward", value_delimiter = ',')]
    reward: Vec<String>,
    /// Prefix of the target policy's per-action probability columns.
    #[arg(long, default_value = "pi_e_")]
    pi_prefix: String,
    /// Prefix of the reward model's per-action columns (used as given when present).
    #[arg(long, default_value = "q_hat_")]
    q_prefix: String,
    /// Prefix of context columns (for fitting a reward model).
    #[arg(long, default_value = "context_")]
    context_prefix: String,
    /// Reward model when the file has no q_hat columns: ridge, logistic or none.
    #[arg(long, default_value = "ridge")]
    fit_model: String,
    /// Cross-fitting folds for a fitted reward model.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    folds: u64,
    /// Bootstrap resamples for the bootstrap intervals (0: none).
    #[arg(long, default_value_t = 100)]
    bootstrap: usize,
    /// Seed of the bootstrap and of the cross-fitting folds.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Clip importance weights of IPS and DR at this value (default: no clipping).
    #[arg(long)]
    clip: Option<f64>,
    /// Switch-DR's weight threshold.
    #[arg(long, default_value_t = 10.0)]
    switch_lambda: f64,
    /// DR-os's shrinkage lambda.
    #[arg(long, default_value_t = 10.0)]
    shrinkage_lambda: f64,
    /// Print JSON instead of the readable report.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum MechanismCommand {
    /// Solve for the optimal IC mechanism and compare it with the baselines.
    Solve {
        /// Information scenario file (TOML).
        file: PathBuf,
        /// Print JSON instead of the readable report.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ListWhat {
    /// Games with their rule sets and rule parameters.
    Games,
    /// Policies per game with their parameters.
    Policies,
}

#[derive(Debug, clap::Args)]
struct TrainArgs {
    /// Training scenario file (TOML).
    file: PathBuf,
    /// Compute device: cpu (default build), cuda or wgpu (builds with those features).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Output directory (overrides the scenario's `[output] dir`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an existing, non-empty output directory.
    #[arg(long)]
    force: bool,
    /// No progress bar and no report.
    #[arg(long, short)]
    quiet: bool,
    /// Stop after at most this many learner steps (a quick look).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    steps: Option<u64>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario file (TOML).
    file: PathBuf,
    /// Output directory (overrides the scenario's `[output] dir`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads for replicates (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Replace an existing, non-empty output directory.
    #[arg(long)]
    force: bool,
    /// No progress bar and no report (errors are still printed).
    #[arg(long, short)]
    quiet: bool,
    /// Run at most this many rounds per replicate, or solver iterations (a quick look).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: Option<u64>,
    /// Run at most this many replicates.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: Option<u64>,
}

/// Parses the process arguments and runs; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader has gone (`| head`): nothing is left to say to anyone.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<StdoutError>()
                    .is_some_and(|s| s.0.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            use std::io::Write as _;
            // If even standard error is closed there is no one to tell.
            let _ = writeln!(std::io::stderr().lock(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Train(args) => train(args),
        Command::Check { files } => check(&files),
        Command::Mechanism(MechanismCommand::Solve { file, json }) => mechanism_solve(&file, json),
        Command::Ope(args) => ope::run(&args.into()),
        Command::Analyze { dirs, out, force } => analyze::run(&dirs, out, force),
        Command::Sweep {
            file,
            out,
            resume,
            force,
            threads,
            quiet,
        } => sweep::run(&file, out, resume, force, threads.map(usize::from), quiet),
        Command::Score {
            file,
            prob,
            outcome,
            bins,
            svg,
            json,
        } => scoring::score(&file, &prob, &outcome, bins as usize, json, svg),
        Command::Compare {
            file,
            group,
            value,
            paired_by,
            alpha,
            seed,
            json,
        } => scoring::compare(&file, &group, &value, &paired_by, alpha, seed, json),
        Command::List { what } => {
            out!("{}", list(what))?;
            Ok(())
        }
    }
}

fn progress_bar(quiet: bool, total: u64, prefix: &str, unit: &'static str) -> anyhow::Result<ProgressBar> {
    if quiet {
        return Ok(ProgressBar::hidden());
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template = format!("{{prefix}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit}, {{rate}}, eta {{eta}} {{msg}}");
    bar.set_style(
        ProgressStyle::with_template(&template)
            .context("progress bar template")?
            .with_key(
                "rate",
                move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} {unit}/s", state.per_sec());
                },
            )
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_string());
    Ok(bar)
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut scenario = scenario::load(&args.file)?;
    if args.rounds.is_some() || args.seeds.is_some() {
        let (rounds, seeds) = match &scenario.plan {
            Plan::Tournament(t) => (t.rounds, t.seeds.len()),
            Plan::Solve(s) => (s.iterations, 1),
            Plan::Training(_) => (0, 1),
            Plan::Adload(p) => (p.users as u64 / 10, p.evaluation.as_ref().map_or(1, |e| e.seeds.len())),
            Plan::Information(p) => match (&p.simulation, &p.online) {
                (Some(sim), _) => (sim.rounds, sim.seeds.len()),
                (None, Some(on)) => (on.horizons.iter().copied().max().unwrap_or(10), on.seeds.len()),
                (None, None) => (0, 1),
            },
        };
        let rounds = args.rounds.unwrap_or(rounds);
        let seeds = args.seeds.map_or(seeds, |s| s as usize);
        scenario = scenario.scaled_down(rounds, seeds);
    }
    if matches!(scenario.plan, Plan::Training(_)) {
        bail!(
            "{} is a training scenario: run it with `mechsim train {}`",
            args.file.display(),
            args.file.display()
        );
    }
    let out_dir = args.out.clone().unwrap_or_else(|| scenario.output_dir.clone());
    output::check_output_dir(&out_dir, args.force)?;
    if let Plan::Information(plan) = &scenario.plan {
        return run_information(&args, &scenario, plan, &out_dir);
    }
    if let Plan::Adload(plan) = &scenario.plan {
        return run_adload(&args, &scenario, plan, &out_dir);
    }
    let entry = game_entry(&scenario)?;
    let started = SystemTime::now();
    let clock = Instant::now();
    let (total, unit) = match &scenario.plan {
        Plan::Tournament(t) => (t.rounds * t.seeds.len() as u64, "rounds"),
        Plan::Solve(s) => (s.iterations, "iterations"),
        Plan::Training(_) | Plan::Information(_) | Plan::Adload(_) => (0, "steps"),
    };
    let bar = progress_bar(args.quiet, total, &scenario.name, unit)?;
    let progress = bar.clone();
    let options = RunOptions {
        threads: args.threads.map(usize::from),
        on_progress: Arc::new(move |n| progress.inc(n)),
        ..RunOptions::default()
    };
    let info = |threads: usize, wall: f64| RunInfo {
        started: humantime::format_rfc3339_seconds(started).to_string(),
        finished: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        wall_seconds: wall,
        threads,
        command: std::env::args().collect(),
    };
    match &scenario.plan {
        Plan::Training(_) | Plan::Information(_) | Plan::Adload(_) => unreachable!("handled above"),
        Plan::Tournament(plan) => {
            let result = entry
                .run_tournament(plan, &options)
                .with_context(|| format!("running {}", args.file.display()))?;
            let wall = clock.elapsed().as_secs_f64();
            bar.finish_and_clear();
            output::write_tournament(
                &out_dir,
                args.force,
                &scenario,
                plan,
                &result,
                &info(result.threads, wall),
            )?;
            if !args.quiet {
                out!("{}", report::render(plan, &result, wall, &out_dir))?;
            }
        }
        Plan::Solve(plan) => {
            let result = entry
                .run_solve(plan, &options)
                .with_context(|| format!("running {}", args.file.display()))?;
            let wall = clock.elapsed().as_secs_f64();
            bar.finish_and_clear();
            output::write_solve(&out_dir, args.force, &scenario, plan, &result, &info(1, wall))?;
            if !args.quiet {
                out!("{}", report::render_solve(plan, &result, wall, &out_dir))?;
            }
        }
    }
    Ok(())
}

fn game_entry(scenario: &scenario::Scenario) -> anyhow::Result<registry::GameEntry> {
    let game = scenario
        .game
        .as_ref()
        .with_context(|| format!("{} has no game", scenario.file.display()))?;
    registry::game(&game.name).with_context(|| format!("game `{}` is not registered", game.name))
}

fn run_information(
    args: &RunArgs,
    scenario: &scenario::Scenario,
    plan: &InformationPlan,
    out_dir: &std::path::Path,
) -> anyhow::Result<()> {
    if plan.simulation.is_none() && plan.online.is_none() {
        bail!(
            "{} has neither [simulation] nor [online]: nothing to run (to see its optimal mechanism: `mechsim \
             mechanism solve {}`)",
            args.file.display(),
            args.file.display()
        );
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    let options = |bar: &ProgressBar| {
        let progress = bar.clone();
        RunOptions {
            threads: args.threads.map(usize::from),
            on_progress: Arc::new(move |n| progress.inc(n)),
            ..RunOptions::default()
        }
    };
    let mut threads = 1;
    let simulation = match &plan.simulation {
        Some(sim) => {
            let bar = progress_bar(
                args.quiet,
                sim.rounds * sim.seeds.len() as u64,
                &scenario.name,
                "rounds",
            )?;
            let result = information::run_simulation(plan, &options(&bar))
                .with_context(|| format!("simulating {}", args.file.display()))?;
            bar.finish_and_clear();
            threads = result.threads;
            Some(result)
        }
        None => None,
    };
    let online = match &plan.online {
        Some(on) => {
            let runs = (on.horizons.len() * on.seeds.len()) as u64;
            let bar = progress_bar(args.quiet, runs, &format!("{} online", scenario.name), "runs")?;
            let result = information::run_online(plan, &options(&bar))
                .with_context(|| format!("running the online principal of {}", args.file.display()))?;
            bar.finish_and_clear();
            Some(result)
        }
        None => None,
    };
    let wall = clock.elapsed().as_secs_f64();
    let info = RunInfo {
        started: humantime::format_rfc3339_seconds(started).to_string(),
        finished: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        wall_seconds: wall,
        threads,
        command: std::env::args().collect(),
    };
    output::write_information(
        out_dir,
        args.force,
        scenario,
        plan,
        simulation.as_ref(),
        online.as_ref(),
        &info,
    )?;
    if !args.quiet {
        out!(
            "{}",
            mechanism_report::render_information(plan, simulation.as_ref(), online.as_ref(), wall, out_dir)
        )?;
    }
    Ok(())
}

fn run_adload(
    args: &RunArgs,
    scenario: &scenario::Scenario,
    plan: &AdloadPlan,
    out_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let options = |bar: &ProgressBar| {
        let progress = bar.clone();
        RunOptions {
            threads: args.threads.map(usize::from),
            on_progress: Arc::new(move |n| progress.inc(n)),
            ..RunOptions::default()
        }
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map_or(0, usize::from))
        .build()
        .context("starting worker threads")?;
    let spinner = |what: &str| -> anyhow::Result<ProgressBar> {
        if args.quiet {
            return Ok(ProgressBar::hidden());
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {human_pos} fetches, {per_sec} {msg}")
                .context("template")?,
        );
        bar.set_prefix(format!("{} {what}", scenario.name));
        Ok(bar)
    };
    // Each part the scenario asks for, with its own spinner, on the sized pool.
    let phase =
        |present: bool, what: &str, doing: &str, work: &(dyn Fn(&RunOptions) -> crate::core::Result<()> + Sync)| {
            if !present {
                return anyhow::Ok(());
            }
            let bar = spinner(what)?;
            pool.install(|| work(&options(&bar)))
                .with_context(|| format!("{doing} {}", args.file.display()))?;
            bar.finish_and_clear();
            anyhow::Ok(())
        };
    let evaluation = std::sync::Mutex::new(None);
    let learning = std::sync::Mutex::new(None);
    let online = std::sync::Mutex::new(None);
    phase(plan.evaluation.is_some(), "evaluation", "evaluating", &|o| {
        *evaluation.lock().expect("not poisoned") = Some(adload::run_evaluation(plan, o)?);
        Ok(())
    })?;
    phase(plan.learning.is_some(), "learning", "learning from", &|o| {
        *learning.lock().expect("not poisoned") = Some(adload::run_learning(plan, o)?);
        Ok(())
    })?;
    phase(plan.online.is_some(), "bandits", "running bandits of", &|o| {
        *online.lock().expect("not poisoned") = Some(adload::run_online(plan, o)?);
        Ok(())
    })?;
    let (evaluation, learning, online) = (
        evaluation.into_inner().expect("not poisoned"),
        learning.into_inner().expect("not poisoned"),
        online.into_inner().expect("not poisoned"),
    );
    let wall = clock.elapsed().as_secs_f64();
    let info = RunInfo {
        started: humantime::format_rfc3339_seconds(started).to_string(),
        finished: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        wall_seconds: wall,
        threads: pool.current_num_threads(),
        command: std::env::args().collect(),
    };
    output::adload::write_adload(
        out_dir,
        args.force,
        scenario,
        plan,
        evaluation.as_ref(),
        learning.as_ref(),
        online.as_deref(),
        &info,
    )?;
    if !args.quiet {
        out!(
            "{}",
            adload_report::render(
                plan,
                evaluation.as_ref(),
                learning.as_ref(),
                online.as_deref(),
                wall,
                out_dir
            )
        )?;
    }
    Ok(())
}

fn mechanism_solve(file: &std::path::Path, as_json: bool) -> anyhow::Result<()> {
    let scenario = scenario::load(file)?;
    let Plan::Information(plan) = &scenario.plan else {
        bail!(
            "{} is not an information scenario (kind = \"information\"); `mechanism solve` needs one",
            file.display()
        );
    };
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    spinner.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").context("spinner template")?);
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let status = spinner.clone();
    let solved = crate::mechanism::analysis::solve_report_with_status(&plan.instance, plan.seed, &move |m| {
        status.set_message(m.to_string())
    })
    .with_context(|| format!("solving {}", file.display()))?;
    spinner.finish_and_clear();
    if as_json {
        let text = serde_json::to_string_pretty(&solved.to_json(&plan.instance)).context("JSON")?;
        outln!("{text}")?;
    } else {
        out!("{}", mechanism_report::render_mechanism(&plan.instance, &solved))?;
    }
    Ok(())
}

fn train(args: TrainArgs) -> anyhow::Result<()> {
    let device: DeviceKind = args.device.parse()?;
    device.ensure_compiled_in()?;
    let scenario = scenario::load(&args.file)?;
    let Plan::Training(mut plan) = scenario.plan.clone() else {
        bail!(
            "{} is not a training scenario (kind = \"training\"); run it with `mechsim run`",
            args.file.display()
        );
    };
    if let Some(steps) = args.steps {
        plan.budget.steps = Some(plan.budget.steps.map_or(steps, |s| s.min(steps)));
    }
    let out_dir = args.out.clone().unwrap_or_else(|| scenario.output_dir.clone());
    output::check_output_dir(&out_dir, args.force)?;
    let entry = game_entry(&scenario)?;
    let total = plan.budget.steps.unwrap_or(0);
    let bar = progress_bar(args.quiet || total == 0, total, &scenario.name, "steps")?;
    let progress = bar.clone();
    let status = bar.clone();
    let options = RunOptions {
        threads: Some(1),
        on_progress: Arc::new(move |n| progress.inc(n)),
        on_status: Arc::new(move |message| status.set_message(message)),
    };
    let staging = output::Staging::new(&out_dir)?;
    let started = SystemTime::now();
    let clock = Instant::now();
    let result = entry
        .run_training(&plan, device, staging.path(), &options)
        .with_context(|| format!("training {}", args.file.display()))?;
    let wall = clock.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let info = RunInfo {
        started: humantime::format_rfc3339_seconds(started).to_string(),
        finished: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        wall_seconds: wall,
        threads: 1,
        command: std::env::args().collect(),
    };
    output::write_training(
        staging,
        args.force,
        &scenario,
        &plan,
        &result,
        &info,
        &device.to_string(),
    )?;
    if !args.quiet {
        out!("{}", report::render_training(&plan, &result, wall, &out_dir, device))?;
    }
    Ok(())
}

fn check(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for file in files {
        match scenario::load(file) {
            Ok(s) => match &s.plan {
                Plan::Tournament(t) => outln!(
                    "ok: {} (tournament of `{}`, {} seats, {} seed(s) x {} rounds)",
                    file.display(),
                    t.game.name,
                    t.seats.len(),
                    t.seeds.len(),
                    t.rounds
                )?,
                Plan::Solve(p) => outln!(
                    "ok: {} (solve `{}` with {}, {} iterations)",
                    file.display(),
                    p.game.name,
                    p.algorithm.name(),
                    p.iterations
                )?,
                Plan::Adload(p) => outln!(
                    "ok: {} (adload: {} users x {} ticks, {} target(s){}{}{})",
                    file.display(),
                    p.users,
                    p.ticks,
                    p.targets.len(),
                    p.evaluation.as_ref().map_or(String::new(), |e| format!(
                        ", evaluation over {} seed(s)",
                        e.seeds.len()
                    )),
                    p.learning.as_ref().map_or(String::new(), |l| format!(
                        ", learning over {} lambda(s)",
                        l.lambdas.len()
                    )),
                    p.online.as_ref().map_or(String::new(), |o| format!(
                        ", {} online algorithm(s)",
                        o.algorithms.len()
                    )),
                )?,
                Plan::Information(p) => outln!(
                    "ok: {} (information: {} agent(s), {} state(s){}{})",
                    file.display(),
                    p.instance.n_agents(),
                    p.instance.n_states(),
                    p.simulation.as_ref().map_or(String::new(), |s| format!(
                        ", simulate {} x {} rounds",
                        s.seeds.len(),
                        s.rounds
                    )),
                    p.online.as_ref().map_or(String::new(), |o| format!(
                        ", online over {} horizon(s)",
                        o.horizons.len()
                    )),
                )?,
                Plan::Training(p) => outln!(
                    "ok: {} (train {} on `{}` against {} opponent(s), {} tables)",
                    file.display(),
                    p.learner.name(),
                    p.game.name,
                    p.opponents.len(),
                    p.tables
                )?,
            },
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        bail!(
            "{} of {} file(s) invalid:\n{}",
            failures.len(),
            files.len(),
            failures.join("\n")
        )
    }
}

fn list(what: ListWhat) -> String {
    let mut out = String::new();
    for game in registry::games() {
        match what {
            ListWhat::Games => {
                out.push_str(&format!("{:<24} {}\n", game.name, game.help));
                out.push_str(&format!(
                    "{:<24} rule sets: {} (default {}); players {}..={}\n",
                    "",
                    game.rule_sets.join(", "),
                    game.rule_sets[0],
                    game.players.0,
                    game.players.1
                ));
                for p in game.params {
                    out.push_str(&format!("{:<4}{:<20} {}: {}\n", "", p.name, p.kind, p.help));
                }
            }
            ListWhat::Policies => {
                out.push_str(&format!("{}:\n", game.name));
                for p in game.policies() {
                    out.push_str(&format!("  {:<24} [{}] {}\n", p.name, p.role, p.help));
                    for param in p.params {
                        out.push_str(&format!(
                            "  {:<4}{:<20} {}: {}\n",
                            "", param.name, param.kind, param.help
                        ));
                    }
                }
            }
        }
    }
    out
}

impl From<OpeArgs> for ope::OpeCommand {
    fn from(a: OpeArgs) -> Self {
        ope::OpeCommand {
            file: a.file,
            columns: crate::estimators::logged_csv::Columns {
                rewards: a.reward,
                pi_prefix: a.pi_prefix,
                q_prefix: a.q_prefix,
                context_prefix: a.context_prefix,
            },
            fit_model: a.fit_model,
            folds: a.folds as usize,
            bootstrap: a.bootstrap,
            seed: a.seed,
            settings: crate::estimators::EstimatorSettings {
                clip: a.clip.unwrap_or(f64::INFINITY),
                switch_lambda: a.switch_lambda,
                shrinkage_lambda: a.shrinkage_lambda,
            },
            json: a.json,
        }
    }
}
