//! Runs a validated tournament plan: one World per replicate seed, replicates in parallel
//! on a rayon pool of `--threads` workers, which also steps each World's tables in parallel
//! (so one replicate with many tables uses every worker). Replicate seeds, table seeds and
//! seat seeds are derived (see `core::rng`), so output never depends on the thread count.

pub mod adload;
pub mod information;
pub mod solve;
pub mod training;

use std::sync::Arc;

use rayon::prelude::*;

use crate::analysis::tournament::{ParticipantRounds, TournamentSummary, summarize};
use crate::core::error::{Error, Result};
use crate::core::facts::GameFacts;
use crate::core::game::Game;
use crate::core::params::{GameSpec, Params};
use crate::core::policy::Policy;
use crate::core::tournament::{MetricValue, RoundMetrics, Tournament};
use crate::policies::{PolicyEntry, PolicyRole, SeatContext};
use crate::world::{DecisionRow, Rotation, RoundRow, TournamentSetup, run_tournament};

/// One seat of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatPlan {
    /// Registry policy name.
    pub policy: String,
    /// Display label (defaults to the policy name, numbered when repeated).
    pub label: String,
    /// Validated policy parameters.
    pub params: Params,
}

/// Everything needed to run a tournament, independent of how it was specified.
#[derive(Debug, Clone, PartialEq)]
pub struct TournamentPlan {
    /// Scenario name (written into every row).
    pub scenario: String,
    /// The game.
    pub game: GameSpec,
    /// The participants.
    pub seats: Vec<SeatPlan>,
    /// Replicate seeds, one World each.
    pub seeds: Vec<u64>,
    /// Rounds per replicate.
    pub rounds: u64,
    /// Tables per replicate.
    pub tables: usize,
    /// Seating rule.
    pub rotation: Rotation,
}

/// How to run (not part of the results).
#[derive(Clone)]
pub struct RunOptions {
    /// Worker threads (`None`: all cores).
    pub threads: Option<usize>,
    /// Called with the units of work just finished (rounds, or solver iterations).
    pub on_progress: Arc<dyn Fn(u64) + Send + Sync>,
    /// Called with a one-line status of long runs (e.g. a training run's latest returns).
    pub on_status: Arc<dyn Fn(String) + Send + Sync>,
    /// Whether the user's interrupt stops the run between rounds (`crate::interrupt`).
    pub interruptible: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: None,
            on_progress: Arc::new(|_| {}),
            on_status: Arc::new(|_| {}),
            interruptible: true,
        }
    }
}

/// One replicate's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicate {
    /// The replicate seed.
    pub seed: u64,
    /// Its rows, sorted by (table, round, participant).
    pub rows: Vec<RoundRow>,
    /// The game's values of every row (its `record_columns`, in order), row after row.
    pub values: Vec<MetricValue>,
    /// Search decisions, sorted by (table, round, participant, decision).
    pub decisions: Vec<DecisionRow>,
}

impl Replicate {
    /// Every row with its game values, named by `columns` (the game's `record_columns`).
    pub fn rounds<'a>(
        &'a self,
        columns: &'static [&'static str],
    ) -> impl Iterator<Item = (&'a RoundRow, RoundMetrics<'a>)> + 'a {
        let width = columns.len();
        self.rows.iter().enumerate().map(move |(i, row)| {
            let values = self.values.get(i * width..(i + 1) * width).unwrap_or(&[]);
            let metrics = RoundMetrics {
                columns,
                won: row.won,
                payoff: row.payoff,
                values,
            };
            (row, metrics)
        })
    }
}

/// The result of a tournament run.
#[derive(Debug, Clone, PartialEq)]
pub struct TournamentResult {
    /// Game-specific row columns.
    pub columns: &'static [&'static str],
    /// Per replicate, in seed order.
    pub replicates: Vec<Replicate>,
    /// Per-participant and pairwise statistics over all replicates.
    pub summary: TournamentSummary,
    /// Worker threads used.
    pub threads: usize,
}

/// The registered entry and parameters of every seat, in order, with the game's whole
/// policy list (a seat's constructor may build helper policies from it).
pub struct SeatBuilders<G: Game> {
    seats: Vec<(PolicyEntry<G>, Params)>,
    policies: Vec<PolicyEntry<G>>,
}

impl<G: Game> SeatBuilders<G> {
    /// Finds every seat's policy among `policies`.
    pub fn resolve(game: &str, seats: &[SeatPlan], policies: &[PolicyEntry<G>]) -> Result<Self> {
        let seats = seats
            .iter()
            .map(|seat| {
                let entry = policies
                    .iter()
                    .find(|e| e.name == seat.policy)
                    .ok_or_else(|| Error::Run(format!("policy `{}` cannot play `{game}`", seat.policy)))?;
                Ok((*entry, seat.params.clone()))
            })
            .collect::<Result<_>>()?;
        Ok(SeatBuilders {
            seats,
            policies: policies.to_vec(),
        })
    }

    /// Whether each seat's policy runs outside mechsim (the World asks such seats at every
    /// table before waiting for any).
    pub fn remote(&self) -> Vec<bool> {
        self.seats
            .iter()
            .map(|(entry, _)| entry.role == PolicyRole::External)
            .collect()
    }

    /// Builds a fresh policy for every seat.
    pub fn build(&self, game: &G) -> Result<Vec<Box<dyn Policy<G>>>> {
        self.seats
            .iter()
            .map(|(entry, params)| (entry.build)(&SeatContext::new(game, params, &self.policies)).map_err(Error::Run))
            .collect()
    }
}

/// Runs `plan` for game `G`, whose seats are found among `policies`.
pub fn run_plan<G: GameFacts>(
    plan: &TournamentPlan,
    options: &RunOptions,
    policies: &[PolicyEntry<G>],
) -> Result<TournamentResult> {
    let game = G::from_spec(&plan.game).map_err(|e| Error::Run(format!("game `{}`: {e}", plan.game.name)))?;
    let builders = Arc::new(SeatBuilders::resolve(&plan.game.name, &plan.seats, policies)?);
    let labels: Vec<String> = plan.seats.iter().map(|s| s.label.clone()).collect();
    let remote = builders.remote();
    let threads = options
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Run(format!("cannot start {threads} worker threads: {e}")))?;
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let replicates: Vec<Result<Replicate>> = pool.install(|| {
        plan.seeds
            .par_iter()
            .map(|seed| {
                let builders = Arc::clone(&builders);
                let policy_game = game.clone();
                let setup = TournamentSetup {
                    game: game.clone(),
                    replicate_seed: *seed,
                    rounds: plan.rounds,
                    tables: plan.tables,
                    rotation: plan.rotation,
                    make_policies: Box::new(move || builders.build(&policy_game)),
                    labels: labels.clone(),
                    remote: remote.clone(),
                    abort_on_illegal: game.abort_on_illegal(),
                    on_progress: Arc::clone(&options.on_progress),
                    cancel: Arc::clone(&cancel),
                    interruptible: options.interruptible,
                };
                run_tournament(setup).map(|out| Replicate {
                    seed: *seed,
                    rows: out.rounds,
                    values: out.values,
                    decisions: out.decisions,
                })
            })
            .collect()
    });
    // Report the failure itself, not a replicate it cancelled.
    let mut replicates = replicates;
    if let Some(at) = replicates
        .iter()
        .position(|r| r.as_ref().is_err_and(|e| !matches!(e, Error::Cancelled)))
    {
        return Err(replicates.swap_remove(at).expect_err("an error at this index"));
    }
    let replicates = replicates.into_iter().collect::<Result<Vec<_>>>()?;
    let summary = summarize_replicates(&game, plan, &replicates);
    Ok(TournamentResult {
        columns: game.record_columns(),
        replicates,
        summary,
        threads,
    })
}

fn summarize_replicates<G: Tournament>(game: &G, plan: &TournamentPlan, replicates: &[Replicate]) -> TournamentSummary {
    let columns = game.record_columns();
    let mut participants: Vec<ParticipantRounds<'_>> = plan
        .seats
        .iter()
        .map(|seat| ParticipantRounds {
            label: seat.label.clone(),
            policy: seat.policy.clone(),
            rounds: Vec::new(),
            decisions: 0,
            decision_ns: 0,
            illegal_actions: 0,
        })
        .collect();
    for (row, metrics) in replicates.iter().flat_map(|r| r.rounds(columns)) {
        let Some(p) = participants.get_mut(row.participant) else {
            continue;
        };
        p.rounds.push(metrics);
        p.decisions += u64::from(row.decisions);
        p.decision_ns += row.decision_ns;
        p.illegal_actions += u64::from(row.illegal_actions);
    }
    summarize(game.payoff_name(), &participants, &|rounds| {
        game.summary_metrics(rounds)
    })
}
