//! Everything `mechsim mechanism solve` reports about an instance: the optimal IC mechanism
//! with its LP size and time, each baseline, the brute-force IC check of every one of them,
//! and the equilibrium-selection search, as one serialisable value (the `--json` output and
//! the source of the readable table).

use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

use super::MechanismError;
use super::baselines;
use super::design::{Mechanism, Outcome, evaluate_obedient};
use super::equilibria::{self, EquilibriumSearch};
use super::ic::brute_force_ic;
use super::instance::Instance;
use super::lp::{LpStats, optimal_mechanism};
use super::scoring_rules::ScoringRule;

/// Largest IC gain accepted as "IC" (solver round-off).
pub const IC_TOLERANCE: f64 = 1e-6;

/// One mechanism with its evaluation.
#[derive(Debug, Clone)]
pub struct Assessed {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// Expected utilities under obedience.
    pub outcome: Outcome,
    /// Largest deviation gain found by brute force (conditional on the recommendation).
    pub ic_gain: f64,
    /// A readable description of that deviation.
    pub ic_deviation: String,
    /// How it was obtained.
    pub method: String,
}

impl Assessed {
    fn new(inst: &Instance, mechanism: Mechanism, method: String) -> Self {
        let outcome = evaluate_obedient(inst, &mechanism);
        let (ic_gain, ic_deviation) = match brute_force_ic(inst, &mechanism) {
            Some(v) => (v.gain, v.describe(inst)),
            None => (0.0, "no agent can deviate".into()),
        };
        Assessed {
            mechanism,
            outcome,
            ic_gain,
            ic_deviation,
            method,
        }
    }
}

/// The full report on an instance.
#[derive(Debug, Clone)]
pub struct SolveReport {
    /// The optimal IC mechanism.
    pub optimal: Assessed,
    /// The LP's own objective (equals `optimal.outcome.principal` up to round-off).
    pub lp_objective: f64,
    /// LP size and time.
    pub lp: LpStats,
    /// Baselines that exist for this instance, best first is not implied.
    pub baselines: Vec<Assessed>,
    /// Baselines that could not be built, with the reason.
    pub unavailable: Vec<(String, String)>,
    /// Other pure equilibria of the optimal mechanism.
    pub equilibria: EquilibriumSearch,
    /// The principal's utility without hiring anyone.
    pub no_information: f64,
    /// Total wall seconds.
    pub seconds: f64,
}

/// Solves and assesses `inst` (`seed` drives the equilibrium search's random starts).
pub fn solve_report(inst: &Instance, seed: u64) -> Result<SolveReport, MechanismError> {
    solve_report_with_status(inst, seed, &|_| {})
}

/// `solve_report`, telling `status` which step it is on (the steps can take seconds each
/// on large instances).
pub fn solve_report_with_status(
    inst: &Instance,
    seed: u64,
    status: &dyn Fn(&str),
) -> Result<SolveReport, MechanismError> {
    let started = Instant::now();
    status("solving the optimal-mechanism LP");
    let solved = optimal_mechanism(inst, None)?;
    status("checking IC by brute force");
    let optimal = Assessed::new(
        inst,
        solved.mechanism.clone(),
        "LP over correlated recommendations and report-contingent payments".into(),
    );
    status("baselines: uncorrelated, single hire, independent randomisation");
    let not_inducible = "no effort profile can be induced within the payment cap".to_string();
    let candidates = vec![
        ("uncorrelated", baselines::uncorrelated(inst)?, not_inducible.clone()),
        ("single_hire", baselines::single_hire(inst)?, not_inducible.clone()),
        (
            "independent",
            baselines::independent(inst, &solved.mechanism.phi, baselines::INDEPENDENT_BUDGET)?,
            format!(
                "the {} s search budget ran out before a product distribution was evaluated (one LP solve takes {:.1} s)",
                baselines::INDEPENDENT_BUDGET.as_secs(),
                solved.stats.solve_seconds
            ),
        ),
    ];
    let rules = ScoringRule::ALL
        .into_iter()
        .map(|rule| Ok((rule.name(), baselines::scoring_rule(inst, rule)?)))
        .collect::<Result<Vec<_>, MechanismError>>()?;
    let mut baselines: Vec<Assessed> = Vec::new();
    let mut unavailable: Vec<(String, String)> = Vec::new();
    let rule_candidates = rules.into_iter().map(|(name, b)| (name, b, not_inducible.clone()));
    for (name, candidate, reason) in candidates.into_iter().chain(rule_candidates) {
        match candidate {
            Some(b) => baselines.push(Assessed::new(inst, b.mechanism, b.method)),
            None => unavailable.push((name.to_string(), reason)),
        }
    }
    status("searching for other equilibria");
    let equilibria = equilibria::search(inst, &solved.mechanism, seed, 1e-7);
    Ok(SolveReport {
        optimal,
        lp_objective: solved.objective,
        lp: solved.stats,
        baselines,
        unavailable,
        equilibria,
        no_information: inst.prior_value(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The mechanism in named, sparse form: recommendations with positive probability, the
/// decision rule and the non-zero payments under each.
pub fn mechanism_json(inst: &Instance, mech: &Mechanism) -> Value {
    let (efforts, signals) = (inst.efforts(), inst.signals());
    let mut recommendations = Vec::new();
    for b in 0..efforts.count() {
        if mech.phi[b] <= 1e-9 {
            continue;
        }
        let profile: Vec<&str> = (0..inst.n_agents())
            .map(|i| inst.agents[i].efforts[efforts.digit(b, i)].as_str())
            .collect();
        let mut rows = Vec::new();
        for s in 0..signals.count() {
            let reports: Vec<&str> = (0..inst.n_agents())
                .map(|i| inst.agents[i].signals[signals.digit(s, i)].as_str())
                .collect();
            let mut payments = serde_json::Map::new();
            for (i, agent) in inst.agents.iter().enumerate() {
                let by_state: serde_json::Map<String, Value> = (0..inst.n_states())
                    .filter_map(|t| {
                        let p = mech.payment(inst, i, b, s, t);
                        (p > 1e-9).then(|| (inst.states[t].clone(), json!(round(p))))
                    })
                    .collect();
                if !by_state.is_empty() {
                    payments.insert(agent.name.clone(), Value::Object(by_state));
                }
            }
            rows.push(json!({
                "reports": reports,
                "action": inst.actions[mech.action(inst, b, s)],
                "payments": payments,
            }));
        }
        recommendations.push(json!({
            "efforts": profile,
            "probability": round(mech.phi[b]),
            "rules": rows,
        }));
    }
    Value::Array(recommendations)
}

/// Rounds to 9 significant decimals for output (solver noise below that is meaningless).
pub fn round(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

fn outcome_json(inst: &Instance, o: &Outcome) -> Value {
    let agents: Vec<Value> = inst
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({
                "agent": a.name,
                "expected_payment": round(o.payments[i]),
                "expected_cost": round(o.costs[i]),
                "expected_utility": round(o.agent_utility(i)),
            })
        })
        .collect();
    json!({
        "principal_utility": round(o.principal),
        "decision_value": round(o.decision_value),
        "total_payment": round(o.total_payment()),
        "agents": agents,
    })
}

#[derive(Serialize)]
struct StrategyJson {
    agent: String,
    strategy: String,
}

impl SolveReport {
    /// The report as JSON (the `--json` output, also written by simulation runs).
    pub fn to_json(&self, inst: &Instance) -> Value {
        let assessed = |a: &Assessed| {
            json!({
                "label": a.mechanism.label,
                "method": a.method,
                "outcome": outcome_json(inst, &a.outcome),
                "largest_ic_gain": a.ic_gain,
                "largest_ic_deviation": a.ic_deviation,
                "incentive_compatible": a.ic_gain <= IC_TOLERANCE,
                "mechanism": mechanism_json(inst, &a.mechanism),
            })
        };
        let best_uncorrelated = self
            .baselines
            .iter()
            .find(|b| b.mechanism.label == "uncorrelated")
            .map(|b| b.outcome.principal);
        let equilibria: Vec<Value> = self
            .equilibria
            .others
            .iter()
            .map(|e| {
                let strategies: Vec<StrategyJson> = e
                    .strategies
                    .iter()
                    .enumerate()
                    .map(|(i, s)| StrategyJson {
                        agent: inst.agents[i].name.clone(),
                        strategy: s.describe(inst, i),
                    })
                    .collect();
                json!({
                    "preferred_by_agents": e.preferred_by_agents,
                    "strategies": strategies,
                    "outcome": outcome_json(inst, &e.outcome),
                })
            })
            .collect();
        json!({
            "states": inst.states,
            "agents": inst.agents.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
            "correlation": inst.correlation.to_string(),
            "payment_cap": inst.payment_cap,
            "no_information_utility": round(self.no_information),
            "optimal": assessed(&self.optimal),
            "lp": {
                "objective": round(self.lp_objective),
                "relaxation": inst.payment_cap.is_none(),
                "variables": self.lp.variables,
                "constraints": self.lp.constraints,
                "nonzeros": self.lp.nonzeros,
                "build_seconds": self.lp.build_seconds,
                "solve_seconds": self.lp.solve_seconds,
                "solver": self.lp.solver,
            },
            "value_of_correlation": best_uncorrelated.map(|u| round(self.optimal.outcome.principal - u)),
            "baselines": self.baselines.iter().map(assessed).collect::<Vec<_>>(),
            "unavailable_baselines": self.unavailable.iter().map(|(n, why)| json!({"label": n, "reason": why})).collect::<Vec<_>>(),
            "equilibrium_search": {
                "method": self.equilibria.method,
                "examined": self.equilibria.examined,
                "other_equilibria": equilibria,
                "preferred_by_agents": self.equilibria.preferred().count(),
            },
            "seconds": self.seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::mechanism::baselines::uncorrelated;
    use crate::mechanism::instance::tests::closed_form;
    use crate::mechanism::{AgentModel, Correlation};

    fn normalised(raw: &[f64]) -> Vec<f64> {
        let s: f64 = raw.iter().sum();
        raw.iter().map(|x| x / s).collect()
    }

    prop_compose! {
        /// Two or three agents: a free uninformative effort and one or two costly informative
        /// ones; 2-3 states, 2-3 signals, random prior and utilities.
        fn random_instance(correlated: bool)(
            states in 2usize..=3,
            agents in 2usize..=3,
            seed in any::<u64>(),
            rho in 0.0f64..1.0,
        ) -> Instance {
            let mut rng = crate::core::rng::SimRng::new(seed);
            let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.unit();
            let prior = normalised(&(0..states).map(|_| u(0.2, 1.0)).collect::<Vec<_>>());
            let actions = states;
            let utility: Vec<Vec<f64>> = (0..actions).map(|_| (0..states).map(|_| u(0.0, 1.0)).collect()).collect();
            let agent_models: Vec<AgentModel> = (0..agents).map(|i| {
                let signals = 2 + (i + states) % 2;
                let efforts = if agents == 3 { 2 } else { 3 };
                let mut accuracy = vec![vec![vec![1.0 / signals as f64; signals]; states]];
                let mut costs = vec![0.0];
                for _ in 1..efforts {
                    accuracy.push((0..states).map(|_| normalised(&(0..signals).map(|_| u(0.05, 1.0)).collect::<Vec<_>>())).collect());
                    costs.push(u(0.0, 0.1));
                }
                AgentModel {
                    name: format!("a{i}"),
                    efforts: (0..efforts).map(|e| format!("e{e}")).collect(),
                    costs,
                    signals: (0..signals).map(|s| format!("s{s}")).collect(),
                    accuracy,
                }
            }).collect();
            let correlation = if correlated { Correlation::SharedNoise { rho } } else { Correlation::Independent };
            Instance::new(
                (0..states).map(|s| format!("t{s}")).collect(),
                prior,
                (0..actions).map(|a| format!("a{a}")).collect(),
                utility,
                Some(1.0),
                agent_models,
                correlation,
            ).unwrap()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Spec: correlation has no value when signals are conditionally independent.
        #[test]
        fn correlation_has_no_value_under_conditional_independence(inst in random_instance(false)) {
            let opt = optimal_mechanism(&inst, None).unwrap();
            let unc = uncorrelated(&inst).unwrap().expect("the all-free profile is always inducible");
            prop_assert!((opt.objective - unc.principal).abs() < 1e-6, "optimal {} vs uncorrelated {}", opt.objective, unc.principal);
            let v = brute_force_ic(&inst, &opt.mechanism).unwrap();
            prop_assert!(v.gain < IC_TOLERANCE, "{}", v.describe(&inst));
        }

        /// Every solved mechanism passes the independent brute-force IC check, and the LP's
        /// objective is the principal's utility computed by plain summation.
        #[test]
        fn solved_mechanisms_are_incentive_compatible(inst in random_instance(true)) {
            let opt = optimal_mechanism(&inst, None).unwrap();
            let v = brute_force_ic(&inst, &opt.mechanism).unwrap();
            prop_assert!(v.gain < IC_TOLERANCE, "{}", v.describe(&inst));
            let out = evaluate_obedient(&inst, &opt.mechanism);
            prop_assert!((out.principal - opt.objective).abs() < 1e-6);
            prop_assert!(opt.mechanism.max_payment() <= 1.0 + 1e-9);
            let unc = uncorrelated(&inst).unwrap().unwrap();
            prop_assert!(opt.objective >= unc.principal - 1e-6, "optimal is at least uncorrelated");
        }
    }

    #[test]
    fn the_closed_form_report() {
        let inst = closed_form(2, 0.8, 0.05, Correlation::Independent);
        let report = solve_report(&inst, 7).unwrap();
        assert!((report.optimal.outcome.principal - 2.0 / 3.0).abs() < 1e-6);
        // One agent hired, paid c / (q - 1/2) when right: expected payment q c / (q - 1/2).
        let paid = report.optimal.outcome.total_payment();
        assert!((paid - 0.8 * 0.05 / 0.3).abs() < 1e-6, "{paid}");
        for b in &report.baselines {
            assert!(b.ic_gain <= IC_TOLERANCE, "{}: {}", b.mechanism.label, b.ic_deviation);
            assert!(
                b.outcome.principal <= report.optimal.outcome.principal + 1e-6,
                "{}",
                b.mechanism.label
            );
        }
        let single = report
            .baselines
            .iter()
            .find(|b| b.mechanism.label == "single_hire")
            .unwrap();
        assert!((single.outcome.principal - 2.0 / 3.0).abs() < 1e-6);
        let json = report.to_json(&inst);
        assert_eq!(json["optimal"]["incentive_compatible"], true);
        assert!(json["value_of_correlation"].as_f64().unwrap().abs() < 1e-6);
    }
}
