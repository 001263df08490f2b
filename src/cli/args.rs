//! The command line as clap reads it (the first of two stages): commands, flags and
//! closed choices as `ValueEnum`s, so a wrong value is refused with the valid ones listed
//! before anything runs. `mod.rs` turns these into validated requests for the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use mechsim_agents::DeviceKind;

use super::ope;
use crate::estimators::reward_model::ModelKind;

/// mechsim: simulate multi-agent games and mechanisms from scenario files.
#[derive(Debug, Parser)]
#[command(name = "mechsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
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
    Score(ScoreArgs),
    /// Compare groups of a numeric column: means with CIs, Welch tests with Bonferroni and
    /// Holm, Cohen's d; paired tests and Elo ratings with --paired-by.
    Compare(CompareArgs),
    /// Run every cell of a scenario's [sweep] grid for its seeds, any kind (resumable).
    Sweep(SweepArgs),
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
pub(super) struct OpeArgs {
    /// The logged data: one row per decision with `action`, reward column(s), `pscore` and
    /// the target policy's `pi_e_<a>` columns (see README, "Off-policy evaluation").
    pub(super) file: PathBuf,
    /// Reward column(s) to evaluate, comma-separated.
    #[arg(long, default_value = "reward", value_delimiter = ',')]
    pub(super) reward: Vec<String>,
    /// Prefix of the target policy's per-action probability columns.
    #[arg(long, default_value = "pi_e_")]
    pub(super) pi_prefix: String,
    /// Prefix of the reward model's per-action columns (used as given when present).
    #[arg(long, default_value = "q_hat_")]
    pub(super) q_prefix: String,
    /// Prefix of context columns (for fitting a reward model).
    #[arg(long, default_value = "context_")]
    pub(super) context_prefix: String,
    /// Reward model when the file has no q_hat columns.
    #[arg(long, value_enum, default_value_t = FitModel::Ridge)]
    pub(super) fit_model: FitModel,
    /// Cross-fitting folds for a fitted reward model.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub(super) folds: u64,
    /// Bootstrap resamples for the bootstrap intervals (0: none).
    #[arg(long, default_value_t = 100)]
    pub(super) bootstrap: usize,
    /// Seed of the bootstrap and of the cross-fitting folds.
    #[arg(long, default_value_t = 0)]
    pub(super) seed: u64,
    /// Clip importance weights of IPS and DR at this value (default: no clipping).
    #[arg(long)]
    pub(super) clip: Option<f64>,
    /// Switch-DR's weight threshold.
    #[arg(long, default_value_t = 10.0)]
    pub(super) switch_lambda: f64,
    /// DR-os's shrinkage lambda.
    #[arg(long, default_value_t = 10.0)]
    pub(super) shrinkage_lambda: f64,
    /// Print JSON instead of the readable report.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, Subcommand)]
pub(super) enum MechanismCommand {
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
pub(super) enum ListWhat {
    /// Games with their rule sets and rule parameters.
    Games,
    /// Policies per game with their parameters.
    Policies,
}

#[derive(Debug, clap::Args)]
pub(super) struct TrainArgs {
    /// Training scenario file (TOML).
    pub(super) file: PathBuf,
    /// Compute device (cuda and wgpu need builds with those features).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub(super) device: Device,
    /// Output directory (overrides the scenario's `[output] dir`).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Replace an existing, non-empty output directory.
    #[arg(long)]
    pub(super) force: bool,
    /// No progress bar and no report.
    #[arg(long, short)]
    pub(super) quiet: bool,
    /// Stop after at most this many learner steps (a quick look).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) steps: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub(super) struct RunArgs {
    /// Scenario file (TOML).
    pub(super) file: PathBuf,
    /// Output directory (overrides the scenario's `[output] dir`).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Worker threads for replicates (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(super) threads: Option<u16>,
    /// Replace an existing, non-empty output directory.
    #[arg(long)]
    pub(super) force: bool,
    /// No progress bar and no report (errors are still printed).
    #[arg(long, short)]
    pub(super) quiet: bool,
    /// Set the rounds per replicate (tournaments), solver iterations (solve) or
    /// [simulation] rounds (information), up or down; nothing else changes. Other kinds
    /// refuse it
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub(super) rounds: Option<u64>,
    /// Set the number of replicates (tournaments, information, ad-load), up or down;
    /// nothing else changes. Other kinds refuse it
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub(super) seeds: Option<u64>,
    /// A quick smoke run: a few rounds and replicates, search budgets capped and the kind's
    /// other costs cut (the test suite's scaling; the numbers are not the scenario's)
    #[arg(long)]
    pub(super) smoke: bool,
}

#[derive(Debug, clap::Args)]
pub(super) struct ScoreArgs {
    /// The CSV file.
    pub(super) file: PathBuf,
    /// Column with the forecast probability that the outcome is 1.
    #[arg(long)]
    pub(super) prob: String,
    /// Column with the outcome (0/1 or true/false).
    #[arg(long)]
    pub(super) outcome: String,
    /// Equal-width bins of the reliability table and ECE.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub(super) bins: u64,
    /// Write the reliability diagram (SVG) here.
    #[arg(long)]
    pub(super) svg: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, clap::Args)]
pub(super) struct CompareArgs {
    /// The CSV file.
    pub(super) file: PathBuf,
    /// Column naming the group (strategy, policy).
    #[arg(long)]
    pub(super) group: String,
    /// Numeric column to compare (true/false count as 1/0).
    #[arg(long)]
    pub(super) value: String,
    /// Column(s) naming the unit two groups share (e.g. seed,table,round) for paired
    /// tests and ratings; comma-separated columns are joined into one key.
    #[arg(long, value_delimiter = ',')]
    pub(super) paired_by: Vec<String>,
    /// Family-wise significance level.
    #[arg(long, default_value_t = 0.05)]
    pub(super) alpha: f64,
    /// Seed of the rating bootstrap.
    #[arg(long, default_value_t = 0)]
    pub(super) seed: u64,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
    /// Compute every pair even with more than 200 groups (n groups make n(n-1)/2 pairs,
    /// about 200 bytes of memory each)
    #[arg(long)]
    pub(super) all_pairs: bool,
}

#[derive(Debug, clap::Args)]
pub(super) struct SweepArgs {
    /// Scenario with a [sweep] table.
    pub(super) file: PathBuf,
    /// Output directory (default results/sweep-<file stem>).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Finish an interrupted sweep: run only the units not written yet.
    #[arg(long)]
    pub(super) resume: bool,
    /// Replace an existing output directory.
    #[arg(long)]
    pub(super) force: bool,
    /// Worker threads (results do not depend on it).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(super) threads: Option<u16>,
    /// No progress bar and no table.
    #[arg(long, short)]
    pub(super) quiet: bool,
}

/// `train --device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Device {
    /// The CPU (every build).
    Cpu,
    /// An NVIDIA GPU (builds with `--features cuda`).
    Cuda,
    /// A GPU through Vulkan, Metal or DirectX (builds with `--features wgpu`).
    Wgpu,
}

impl From<Device> for DeviceKind {
    fn from(d: Device) -> Self {
        match d {
            Device::Cpu => DeviceKind::Cpu,
            Device::Cuda => DeviceKind::Cuda,
            Device::Wgpu => DeviceKind::Wgpu,
        }
    }
}

/// `ope --fit-model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum FitModel {
    /// Ridge regression per action.
    Ridge,
    /// Regularised logistic regression per action (rewards in [0, 1]).
    Logistic,
    /// No reward model: only the weighting estimators run.
    None,
}

impl FitModel {
    fn model(self) -> Option<ModelKind> {
        match self {
            FitModel::Ridge => Some(ModelKind::Ridge { alpha: 1.0 }),
            FitModel::Logistic => Some(ModelKind::Logistic { alpha: 1.0 }),
            FitModel::None => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            FitModel::Ridge => "ridge",
            FitModel::Logistic => "logistic",
            FitModel::None => "none",
        }
    }
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
            fit_model: a.fit_model.model(),
            fit_model_name: a.fit_model.name(),
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
