//! The command-line interface, a thin layer over the library in two stages: clap reads the
//! arguments (`args.rs`), then each command becomes a request for the library (`run` and
//! `train` a `kinds::RunRequest`, `sweep` a `sweep::SweepRequest`, `analyze`, `ope`,
//! `score`, `compare`, `check`, `list`), whose report is printed here; any error is
//! printed exactly once (exit status 2). Standard output is written through `out!`
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

mod args;
mod ope;
mod scoring;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::kinds::{self, RunRequest};
use crate::output;
use crate::registry;
use crate::scenario::{self, Scenario};
pub use args::Cli;
use args::{Command, ListWhat, MechanismCommand, RunArgs, TrainArgs};
use mechsim_agents::DeviceKind;

/// Standard output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(pub std::io::Error);

/// Parses the process arguments and runs; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = crate::interrupt::install() {
        eprintln!("warning: {e}; Ctrl-C will stop mechsim at once");
    }
    match execute(cli) {
        // Interrupted work that kept what it had (a training run) still ends as interrupted.
        Ok(()) if crate::interrupt::requested() => ExitCode::from(130),
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
            // Whatever stopped it, work the user interrupted ends as interrupted.
            let interrupted = crate::interrupt::requested();
            // If even standard error is closed there is no one to tell.
            let _ = writeln!(std::io::stderr().lock(), "error: {e:#}");
            ExitCode::from(if interrupted { 130 } else { 2 })
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
        Command::Analyze { dirs, out, force } => {
            let written = crate::analyze::run(&dirs, out, force)?;
            outln!("{written}")?;
            Ok(())
        }
        Command::Sweep(args) => {
            let summary = crate::sweep::run(&crate::sweep::SweepRequest {
                file: args.file,
                out: args.out,
                resume: args.resume,
                force: args.force,
                threads: args.threads.map(usize::from),
                quiet: args.quiet,
            })?;
            if !args.quiet {
                out!("{}", crate::sweep::render(&summary))?;
            }
            Ok(())
        }
        Command::Score(args) => scoring::score(&args),
        Command::Compare(args) => scoring::compare(&args),
        Command::List { what } => {
            out!("{}", list(what))?;
            Ok(())
        }
    }
}

/// The output directory a run writes: `--out`, else the scenario's own.
fn output_dir(out: Option<PathBuf>, scenario: &Scenario) -> PathBuf {
    out.unwrap_or_else(|| scenario.output_dir.clone())
}

/// Runs a validated scenario with `command` (`run` or `train`) and prints its report.
fn run_scenario(command: &str, scenario: &Scenario, request: &RunRequest) -> anyhow::Result<()> {
    let kind = kinds::of(scenario);
    let file = request.file.display();
    if kind.command() != command {
        bail!(
            "{file} is a {} scenario: run it with `mechsim {} {file}`",
            kind.name(),
            kind.command()
        );
    }
    // Kinds return an empty report when quiet, unless there is news (an interrupt).
    let report = kinds::run(scenario, request)?;
    if !report.is_empty() {
        out!("{report}")?;
    }
    Ok(())
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut scenario = scenario::load(&args.file)?;
    // `--smoke` first; `--rounds`/`--seeds` then set exactly what they name.
    if args.smoke {
        scenario = scenario.smoke();
    }
    if let Some(rounds) = args.rounds {
        scenario = scenario.with_rounds(rounds)?;
    }
    if let Some(seeds) = args.seeds {
        scenario = scenario.with_seeds(usize::try_from(seeds).unwrap_or(usize::MAX))?;
    }
    let request = RunRequest {
        out_dir: output_dir(args.out, &scenario),
        file: args.file,
        force: args.force,
        threads: args.threads.map(usize::from),
        quiet: args.quiet,
        device: DeviceKind::Cpu,
        max_steps: None,
    };
    run_scenario("run", &scenario, &request)
}

fn mechanism_solve(file: &std::path::Path, as_json: bool) -> anyhow::Result<()> {
    let scenario = scenario::load(file)?;
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    spinner.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").context("spinner template")?);
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let status = spinner.clone();
    let report = kinds::information::solve_mechanism(&scenario, as_json, &move |m| status.set_message(m.to_string()));
    spinner.finish_and_clear();
    out!("{}", report?)?;
    Ok(())
}

fn train(args: TrainArgs) -> anyhow::Result<()> {
    let device = DeviceKind::from(args.device);
    device.ensure_compiled_in()?;
    let scenario = scenario::load(&args.file)?;
    let request = RunRequest {
        out_dir: output_dir(args.out, &scenario),
        file: args.file,
        force: args.force,
        threads: Some(1),
        quiet: args.quiet,
        device,
        max_steps: args.steps,
    };
    run_scenario("train", &scenario, &request)
}

fn check(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for file in files {
        match scenario::load(file) {
            Ok(s) => {
                let inputs = s.inputs();
                let inputs: Vec<&std::path::Path> = inputs.iter().map(PathBuf::as_path).collect();
                match output::guard::validate_target(&s.output_dir, &inputs) {
                    Ok(()) => outln!("ok: {} ({})", file.display(), kinds::of(&s).describe(&s.plan))?,
                    Err(e) => failures.push(format!("{}: {e}", file.display())),
                }
            }
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
                    game.rule_sets.first().copied().unwrap_or_default(),
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
