//! Runs information scenarios: builds the chosen mechanism (optimal or a baseline), works out
//! how rational and scripted agents play it, simulates replicates in parallel (one World
//! each) and summarises realised against predicted utilities with 95% intervals and the
//! empirical deviation gains; or runs the online explore-then-commit principal over a grid
//! of horizons and fits the regret's log-log slope.

use rayon::prelude::*;
use serde_json::{Value, json};

use super::RunOptions;
use crate::analysis::stats;
use crate::core::error::{Error, Result};
use crate::mechanism::analysis::{IC_TOLERANCE, round};
use crate::mechanism::baselines;
use crate::mechanism::design::{Mechanism, Strategy, best_response, evaluate, evaluate_obedient};
use crate::mechanism::equilibria::{self, EquilibriumSearch};
use crate::mechanism::ic::brute_force_ic;
use crate::mechanism::instance::Instance;
use crate::mechanism::lp::optimal_mechanism;
use crate::mechanism::online::{self, OnlineConfig, OnlineRun};
use crate::mechanism::scoring_rules::ScoringRule;
use crate::world::information::{Behaviour, InfoRow, InformationSetup, run_information};

/// Which mechanism a simulation plays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MechanismChoice {
    /// The optimal IC mechanism (the LP).
    Optimal,
    /// The best uncorrelated mechanism.
    Uncorrelated,
    /// The best single hire.
    SingleHire,
    /// The best product randomisation found.
    Independent,
    /// The best mechanism paying a scaled proper scoring rule.
    Rule(ScoringRule),
}

impl MechanismChoice {
    /// Names in scenario files.
    pub const NAMES: &'static [&'static str] = &[
        "optimal",
        "uncorrelated",
        "single_hire",
        "independent",
        "quadratic_rule",
        "log_rule",
        "spherical_rule",
    ];

    /// Parses a name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "optimal" => MechanismChoice::Optimal,
            "uncorrelated" => MechanismChoice::Uncorrelated,
            "single_hire" => MechanismChoice::SingleHire,
            "independent" => MechanismChoice::Independent,
            other => MechanismChoice::Rule(other.strip_suffix("_rule")?.parse().ok()?),
        })
    }

    /// The name.
    pub fn name(&self) -> String {
        match self {
            MechanismChoice::Optimal => "optimal".into(),
            MechanismChoice::Uncorrelated => "uncorrelated".into(),
            MechanismChoice::SingleHire => "single_hire".into(),
            MechanismChoice::Independent => "independent".into(),
            MechanismChoice::Rule(r) => format!("{}_rule", r.name()),
        }
    }

    /// Builds the mechanism on `inst`.
    pub fn build(&self, inst: &Instance) -> Result<Mechanism> {
        let missing = || {
            Error::Run(format!(
                "no {} mechanism exists for this instance within the payment cap",
                self.name()
            ))
        };
        Ok(match self {
            MechanismChoice::Optimal => optimal_mechanism(inst, None)?.mechanism,
            MechanismChoice::Uncorrelated => baselines::uncorrelated(inst)?.ok_or_else(missing)?.mechanism,
            MechanismChoice::SingleHire => baselines::single_hire(inst)?.ok_or_else(missing)?.mechanism,
            MechanismChoice::Independent => {
                let phi = optimal_mechanism(inst, None)?.mechanism.phi;
                baselines::independent(inst, &phi, baselines::INDEPENDENT_BUDGET)?
                    .ok_or_else(missing)?
                    .mechanism
            }
            MechanismChoice::Rule(r) => baselines::scoring_rule(inst, *r)?.ok_or_else(missing)?.mechanism,
        })
    }
}

/// `[simulation]`: R rounds per replicate of one mechanism.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationPlan {
    /// Rounds per replicate.
    pub rounds: u64,
    /// Replicate seeds.
    pub seeds: Vec<u64>,
    /// The mechanism played.
    pub mechanism: MechanismChoice,
}

/// A validated information scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct InformationPlan {
    /// Scenario name.
    pub scenario: String,
    /// The instance.
    pub instance: Instance,
    /// Each agent's behaviour in simulations.
    pub behaviours: Vec<Behaviour>,
    /// The simulation, if any.
    pub simulation: Option<SimulationPlan>,
    /// The online experiment, if any.
    pub online: Option<OnlineConfig>,
    /// Scenario seed.
    pub seed: u64,
}

/// A simulation's results.
#[derive(Debug, Clone)]
pub struct SimulationResult {
    /// The mechanism played.
    pub mechanism: Mechanism,
    /// Rows per replicate, ordered by (round, agent).
    pub replicates: Vec<Vec<InfoRow>>,
    /// The fixed strategies (None for learners).
    pub strategies: Vec<Option<Strategy>>,
    /// Other equilibria of the mechanism.
    pub equilibria: EquilibriumSearch,
    /// The summary (summary.json).
    pub summary: Value,
    /// Worker threads used.
    pub threads: usize,
}

fn interval_json(values: &[f64], predicted: f64) -> Value {
    let mean = stats::mean(values);
    let (lo, hi) = stats::mean_interval(values);
    json!({
        "realised_mean": mean,
        "ci95": [lo, hi],
        "predicted": round(predicted),
        "prediction_inside_ci": lo <= predicted + 1e-12 && predicted <= hi + 1e-12,
    })
}

/// Plays the plan's simulation.
pub fn run_simulation(plan: &InformationPlan, options: &RunOptions) -> Result<SimulationResult> {
    let sim = plan
        .simulation
        .as_ref()
        .ok_or_else(|| Error::Run("the scenario has no [simulation] table".into()))?;
    let inst = &plan.instance;
    let n = inst.n_agents();
    let mechanism = sim.mechanism.build(inst)?;
    let obedient: Vec<Strategy> = (0..n).map(|i| Strategy::obedient(inst, i)).collect();
    let strategies: Vec<Option<Strategy>> = plan
        .behaviours
        .iter()
        .enumerate()
        .map(|(i, b)| match b {
            Behaviour::Rational => Some(best_response(inst, &mechanism, &obedient, i, 1e-9).0),
            Behaviour::Scripted { effort, reports } => {
                let a = &inst.agents[i];
                Some(Strategy {
                    effort: (0..a.efforts.len()).map(|r| effort.unwrap_or(r)).collect(),
                    report: vec![reports.clone().unwrap_or_else(|| (0..a.signals.len()).collect()); a.efforts.len()],
                })
            }
            Behaviour::Learner { .. } => None,
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::Run(format!("cannot start worker threads: {e}")))?;
    let threads = pool.current_num_threads();
    let replicates: Vec<Vec<InfoRow>> = pool.install(|| {
        sim.seeds
            .par_iter()
            .map(|&seed| {
                run_information(InformationSetup {
                    instance: inst.clone(),
                    mechanism: mechanism.clone(),
                    strategies: strategies.clone(),
                    behaviours: plan.behaviours.clone(),
                    replicate_seed: seed,
                    rounds: sim.rounds,
                    on_progress: options.on_progress.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let equilibria = equilibria::search(inst, &mechanism, plan.seed, 1e-7);
    let summary = summarize(plan, sim, &mechanism, &strategies, &replicates, &equilibria);
    Ok(SimulationResult {
        mechanism,
        replicates,
        strategies,
        equilibria,
        summary,
        threads,
    })
}

fn summarize(
    plan: &InformationPlan,
    sim: &SimulationPlan,
    mechanism: &Mechanism,
    strategies: &[Option<Strategy>],
    replicates: &[Vec<InfoRow>],
    equilibria: &EquilibriumSearch,
) -> Value {
    let inst = &plan.instance;
    let n = inst.n_agents();
    let predicted = evaluate_obedient(inst, mechanism);
    let played_profile: Vec<Strategy> = (0..n)
        .map(|i| strategies[i].clone().unwrap_or_else(|| Strategy::obedient(inst, i)))
        .collect();
    let played = evaluate(inst, mechanism, &played_profile);
    let principal: Vec<f64> = replicates
        .iter()
        .flat_map(|rows| rows.iter().filter(|r| r.agent == 0).map(|r| r.principal_utility))
        .collect();
    let ic = brute_force_ic(inst, mechanism);
    let late_from = sim.rounds - sim.rounds / 10;
    let agents: Vec<Value> = (0..n)
        .map(|i| {
            let rows: Vec<&InfoRow> = replicates.iter().flat_map(|r| r.iter().filter(move |x| x.agent == i)).collect();
            let utility: Vec<f64> = rows.iter().map(|r| r.payment - r.cost).collect();
            let payment: Vec<f64> = rows.iter().map(|r| r.payment).collect();
            let gain: Vec<f64> = utility.iter().map(|u| u - predicted.agent_utility(i)).collect();
            let (glo, ghi) = stats::mean_interval(&gain);
            let obeyed = |r: &&&InfoRow| r.effort == r.recommended && r.report == r.signal;
            let late: Vec<&&InfoRow> = rows.iter().filter(|r| r.round >= late_from).collect();
            json!({
                "agent": inst.agents[i].name,
                "behaviour": plan.behaviours[i].name(),
                "strategy": strategies[i].as_ref().map_or("learning (EXP3 over efforts, Hedge over reports)".to_string(), |s| s.describe(inst, i)),
                "utility": interval_json(&utility, played.agent_utility(i)),
                "payment": interval_json(&payment, played.payments[i]),
                "predicted_utility_if_all_obey": round(predicted.agent_utility(i)),
                "deviation_gain": {
                    "mean": stats::mean(&gain),
                    "ci95": [glo, ghi],
                    "meaning": "realised utility minus the utility predicted for obeying and reporting truthfully",
                },
                "obedient_share": rows.iter().filter(obeyed).count() as f64 / rows.len().max(1) as f64,
                "effort_obeyed_share": rows.iter().filter(|r| r.effort == r.recommended).count() as f64 / rows.len().max(1) as f64,
                "truthful_report_share": rows.iter().filter(|r| r.report == r.signal).count() as f64 / rows.len().max(1) as f64,
                "effort_obeyed_share_last_tenth": late.iter().filter(|r| r.effort == r.recommended).count() as f64 / late.len().max(1) as f64,
                "obedient_share_last_tenth": late.iter().filter(|r| r.effort == r.recommended && r.report == r.signal).count() as f64 / late.len().max(1) as f64,
            })
        })
        .collect();
    let preferred: Vec<Value> = equilibria
        .preferred()
        .map(|e| {
            json!({
                "strategies": e.strategies.iter().enumerate().map(|(i, s)| s.describe(inst, i)).collect::<Vec<_>>(),
                "agent_utilities": (0..n).map(|i| round(e.outcome.agent_utility(i))).collect::<Vec<_>>(),
                "principal_utility": round(e.outcome.principal),
            })
        })
        .collect();
    json!({
        "scenario": plan.scenario,
        "kind": "information",
        "mechanism": mechanism.label,
        "rounds": sim.rounds,
        "replicates": sim.seeds.len(),
        "largest_ic_gain": ic.as_ref().map_or(0.0, |v| v.gain),
        "incentive_compatible": ic.as_ref().is_none_or(|v| v.gain <= IC_TOLERANCE),
        "principal": {
            "utility": interval_json(&principal, played.principal),
            "predicted_utility_if_all_obey": round(predicted.principal),
        },
        "prediction_note": "predictions are exact expectations under the strategies the agents play (learners counted as obeying); deviation gains compare with obeying",
        "agents": agents,
        "equilibrium_search": {
            "method": equilibria.method,
            "examined": equilibria.examined,
            "other_equilibria": equilibria.others.len(),
            "preferred_by_agents": preferred,
        },
        "interval_note": "95% t intervals over rounds pooled across replicates (rounds are independent for rational and scripted agents; for learners they are indicative)",
    })
}

/// The online experiment's results.
#[derive(Debug, Clone)]
pub struct OnlineResult {
    /// Every run, horizon-major.
    pub runs: Vec<OnlineRun>,
    /// Per horizon: (T, mean regret, 95% interval).
    pub points: Vec<(u64, f64, (f64, f64))>,
    /// Least-squares (slope, intercept) of log mean regret on log T.
    pub fit: Option<(f64, f64)>,
}

/// Runs the plan's online experiment.
pub fn run_online(plan: &InformationPlan, options: &RunOptions) -> Result<OnlineResult> {
    let config = plan
        .online
        .as_ref()
        .ok_or_else(|| Error::Run("the scenario has no [online] table".into()))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::Run(format!("cannot start worker threads: {e}")))?;
    let progress = options.on_progress.clone();
    let runs = pool.install(|| online::run_all(&plan.instance, config, &|| progress(1)))?;
    let points: Vec<(u64, f64, (f64, f64))> = config
        .horizons
        .iter()
        .map(|&h| {
            let r: Vec<f64> = runs.iter().filter(|x| x.horizon == h).map(|x| x.regret).collect();
            (h, stats::mean(&r), stats::mean_interval(&r))
        })
        .collect();
    let fit = online::fit_slope(&points.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>());
    Ok(OnlineResult { runs, points, fit })
}
