//! Every shipped scenario runs, scaled down to a few rounds, replicates and search
//! iterations, so none goes stale: tournaments produce a row per round and seat and a
//! summary that adds up; solver runs produce a falling curve.

use mechsim::policies::PolicyRole;
use mechsim::registry;
use mechsim::runner::RunOptions;
use mechsim::scenario::{self, Plan};

use crate::cli::walk;
use crate::support::root;

#[test]
fn every_shipped_scenario_runs_scaled_down() {
    let files = walk(&root().join("scenarios"));
    for required in [
        "dhumbal/rule_based.toml",
        "quickstart.toml",
        "dhumbal/championship.toml",
        "search/kuhn_cfr.toml",
        "mechanism/closed_form.toml",
        "mechanism/shared_noise.toml",
        "mechanism/three_agents.toml",
        "mechanism/online_learning.toml",
        "adload/marketplace.toml",
        "adload/learn.toml",
        "adload/bandits.toml",
        "adload/ope_benchmark.toml",
        "plugins/python_agent.toml",
    ] {
        assert!(files.iter().any(|f| f.ends_with(required)), "{required} is shipped");
    }
    let python = crate::support::python3_available("every_shipped_scenario_runs_scaled_down (Python agents)");
    for file in files {
        if !python && file.ends_with("plugins/python_agent.toml") {
            continue;
        }
        let s = scenario::load(&file).unwrap_or_else(|e| panic!("{e}")).smoke();
        if let Plan::Information(plan) = &s.plan {
            check_information(&file, plan);
            continue;
        }
        if let Plan::Adload(plan) = &s.plan {
            check_adload(&file, plan);
            continue;
        }
        let entry = registry::game(&s.game.as_ref().unwrap().name).unwrap();
        match &s.plan {
            Plan::Information(_) | Plan::Adload(_) => unreachable!("handled above"),
            Plan::Tournament(plan) => {
                let result = entry
                    .run_tournament(plan, &RunOptions::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                let rows: usize = result.replicates.iter().map(|r| r.rows.len()).sum();
                let seats = plan.seats.len();
                let rounds = plan.rounds * plan.seeds.len() as u64;
                assert!(
                    rows as u64 <= rounds * seats as u64 && rows as u64 >= rounds * 2,
                    "{}: {rows} rows",
                    file.display()
                );
                let wins: u64 = result.summary.participants.iter().map(|p| p.wins).sum();
                assert!(wins <= rounds, "{}: at most one winner per round", file.display());
                let payoff: f64 = result
                    .summary
                    .participants
                    .iter()
                    .map(|p| p.payoff_mean * p.rounds as f64)
                    .sum();
                assert!(
                    payoff.abs() < 1e-6,
                    "{}: zero-sum payoffs, got {payoff}",
                    file.display()
                );
                // Policies that search, learned or run outside mechsim report every decision
                // (statistics, value, answer or fault); plain policies and solved strategies
                // report none.
                for (i, seat) in plan.seats.iter().enumerate() {
                    let role = entry.policy(&seat.policy).expect("validated policy").role;
                    let logged = result
                        .replicates
                        .iter()
                        .flat_map(|r| &r.decisions)
                        .filter(|d| d.participant == i)
                        .count();
                    let expected = matches!(role, PolicyRole::Search | PolicyRole::Learned | PolicyRole::External);
                    assert_eq!(
                        logged > 0,
                        expected,
                        "{}: seat {i} ({}, {role}) logged {logged} decisions",
                        file.display(),
                        seat.policy
                    );
                }
            }
            Plan::Training(plan) => {
                let dir = tempfile::tempdir().unwrap();
                let device = mechsim_agents::DeviceKind::Cpu;
                let result = entry
                    .run_training(plan, device, dir.path(), &RunOptions::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                assert!(result.steps > 0 && result.updates > 0, "{}", file.display());
                assert!(
                    result.curve.last().unwrap().eval.is_some(),
                    "{}: evaluated at the end",
                    file.display()
                );
                assert!(dir.path().join("model.mpk").is_file());
            }
            Plan::Solve(plan) => {
                let result = entry
                    .run_solve(plan, &RunOptions::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                assert!(!result.curve.is_empty(), "{}", file.display());
                let (first, last) = (&result.curve[0], result.curve.last().unwrap());
                assert!(last.nash_conv < first.nash_conv, "{}: NashConv falls", file.display());
            }
        }
    }
}

/// An information scenario scaled down: its simulation writes one row per round and agent
/// and plays an IC mechanism; its online experiment produces a run per horizon and seed.
fn check_information(file: &std::path::Path, plan: &mechsim::runner::information::InformationPlan) {
    use mechsim::runner::information::{run_online, run_simulation};
    if let Some(sim) = &plan.simulation {
        let result = run_simulation(plan, &RunOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let rows: usize = result.replicates.iter().map(Vec::len).sum();
        assert_eq!(
            rows as u64,
            sim.rounds * sim.seeds.len() as u64 * plan.instance.n_agents() as u64,
            "{}",
            file.display()
        );
        assert_eq!(result.summary["incentive_compatible"], true, "{}", file.display());
    }
    if let Some(online) = &plan.online {
        let result = run_online(plan, &RunOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            result.runs.len(),
            online.horizons.len() * online.seeds.len(),
            "{}",
            file.display()
        );
        assert!(result.runs.iter().all(|r| r.regret.is_finite()), "{}", file.display());
    }
}

/// An ad-load scenario scaled down: evaluation scores every target, learning produces a
/// frontier, bandits produce a regret curve per algorithm and seed.
fn check_adload(file: &std::path::Path, plan: &mechsim::runner::adload::AdloadPlan) {
    use mechsim::runner::adload::{run_evaluation, run_learning, run_online};
    let options = RunOptions::default();
    if plan.evaluation.is_some() {
        let r = run_evaluation(plan, &options).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(r.evaluations.len() % (plan.targets.len() * 3), 0, "{}", file.display());
        assert!(!r.log.is_empty(), "{}", file.display());
    }
    if plan.learning.is_some() {
        let r = run_learning(plan, &options).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(r.policies.iter().any(|p| p.pareto), "{}", file.display());
    }
    if let Some(online) = &plan.online {
        let r = run_online(plan, &options).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            r.len(),
            online.algorithms.len() * online.seeds.len(),
            "{}",
            file.display()
        );
    }
}
