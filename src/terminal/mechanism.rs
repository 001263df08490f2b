//! The readable reports of information scenarios: `mechanism solve` (the optimal mechanism,
//! what each party expects, the LP's size and time, the brute-force IC check, the baselines
//! with the value of correlation, other equilibria) and `run` (realised against predicted
//! utilities with 95% intervals, deviation gains, and the online principal's regret).

use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use crate::mechanism::analysis::{IC_TOLERANCE, SolveReport};
use crate::mechanism::design::{Mechanism, Outcome};
use crate::mechanism::instance::Instance;
use crate::runner::information::{InformationPlan, OnlineResult, SimulationResult};

fn describe_mechanism(out: &mut String, inst: &Instance, mech: &Mechanism) {
    let (efforts, signals) = (inst.efforts(), inst.signals());
    for b in 0..efforts.count() {
        if mech.phi[b] <= 1e-9 {
            continue;
        }
        let profile: Vec<String> = (0..inst.n_agents())
            .map(|i| {
                format!(
                    "{}={}",
                    inst.agents[i].name,
                    inst.agents[i].efforts[efforts.digit(b, i)]
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  with probability {:.4}: recommend {}",
            mech.phi[b],
            profile.join(", ")
        );
        if signals.count() > 9 {
            let _ = writeln!(
                out,
                "    (report profiles that pay nothing are left out; the full rule is in --json)"
            );
        }
        for s in 0..signals.count() {
            let reports: Vec<&str> = (0..inst.n_agents())
                .map(|i| inst.agents[i].signals[signals.digit(s, i)].as_str())
                .collect();
            let mut pays = Vec::new();
            for (i, agent) in inst.agents.iter().enumerate() {
                let cells: Vec<String> = (0..inst.n_states())
                    .filter_map(|t| {
                        let p = mech.payment(inst, i, b, s, t);
                        (p > 1e-9).then(|| format!("{:.4} if {}", p, inst.states[t]))
                    })
                    .collect();
                if !cells.is_empty() {
                    pays.push(format!("{}: {}", agent.name, cells.join(", ")));
                }
            }
            if pays.is_empty() && signals.count() > 9 {
                continue;
            }
            let _ = writeln!(
                out,
                "    reports [{}] -> {}; pay {}",
                reports.join(", "),
                inst.actions[mech.action(inst, b, s)],
                if pays.is_empty() {
                    "nothing".to_string()
                } else {
                    pays.join("; ")
                }
            );
        }
    }
}

fn outcome_line(inst: &Instance, o: &Outcome) -> String {
    let agents: Vec<String> = inst
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            format!(
                "{} paid {:.4}, utility {:.4}",
                a.name,
                o.payments[i],
                o.agent_utility(i)
            )
        })
        .collect();
    agents.join("; ")
}

/// `mechsim mechanism solve`'s report.
pub fn render_mechanism(inst: &Instance, report: &SolveReport) -> String {
    let mut out = String::new();
    let opt = &report.optimal;
    let _ = writeln!(
        out,
        "{} agent(s), {} state(s), signals {}, payment cap {}\n",
        inst.n_agents(),
        inst.n_states(),
        inst.correlation,
        inst.payment_cap.map_or("none".to_string(), |m| m.to_string())
    );
    if inst.payment_cap.is_none() {
        let _ = writeln!(
            out,
            "warning: no payment cap. The LP is then only a relaxation: its value is a supremum that payments \
             concentrated on ever rarer events approach; set instance.payment_cap to get an attainable mechanism.\n"
        );
        let _ = writeln!(
            out,
            "LP value (supremum of the principal's utility, not attained): {:.6}\nThe mechanism below is what the \
             LP's solution gives where recommendations have positive probability; payments it places on \
             never-recommended profiles are lost, so it need not be IC.\n",
            report.lp_objective
        );
    }
    let _ = writeln!(out, "optimal IC mechanism:");
    describe_mechanism(&mut out, inst, &opt.mechanism);
    let _ = writeln!(
        out,
        "\nprincipal's expected utility {:.6} (decision value {:.6} - payments {:.6}; no information: {:.6})",
        opt.outcome.principal,
        opt.outcome.decision_value,
        opt.outcome.total_payment(),
        report.no_information
    );
    let _ = writeln!(out, "agents: {}", outcome_line(inst, &opt.outcome));
    let _ = writeln!(
        out,
        "LP: {} variables, {} constraints, {} non-zeros; built in {:.1} ms, solved by {} in {:.1} ms",
        report.lp.variables,
        report.lp.constraints,
        report.lp.nonzeros,
        report.lp.build_seconds * 1e3,
        report.lp.solver,
        report.lp.solve_seconds * 1e3
    );
    let _ = writeln!(
        out,
        "brute-force IC check: largest deviation gain {:.2e} ({})",
        opt.ic_gain,
        if opt.ic_gain <= IC_TOLERANCE { "IC" } else { "NOT IC" }
    );
    let _ = writeln!(
        out,
        "\n{:<16} {:>12} {:>10} {:>12}  how",
        "mechanism", "principal", "vs optimal", "IC gain"
    );
    let _ = writeln!(
        out,
        "{:<16} {:>12.6} {:>10} {:>12.2e}  {}",
        "optimal", opt.outcome.principal, "", opt.ic_gain, opt.method
    );
    for b in &report.baselines {
        let _ = writeln!(
            out,
            "{:<16} {:>12.6} {:>+10.6} {:>12.2e}  {}",
            b.mechanism.label,
            b.outcome.principal,
            b.outcome.principal - opt.outcome.principal,
            b.ic_gain,
            b.method
        );
    }
    for (name, why) in &report.unavailable {
        let _ = writeln!(out, "{name:<16} {:>12}  {why}", "-");
    }
    if let Some(unc) = report.baselines.iter().find(|b| b.mechanism.label == "uncorrelated") {
        let _ = writeln!(
            out,
            "\nvalue of correlation (optimal - best uncorrelated): {:.6}",
            opt.outcome.principal - unc.outcome.principal
        );
    }
    let eq = &report.equilibria;
    let preferred: Vec<_> = eq.preferred().collect();
    let _ = writeln!(
        out,
        "\nequilibrium selection ({}, {} examined): {} other pure equilibri{} of the optimal mechanism, {} preferred by the agents",
        eq.method,
        eq.examined,
        eq.others.len(),
        if eq.others.len() == 1 { "um" } else { "a" },
        preferred.len()
    );
    for e in preferred.iter().take(3) {
        let plays: Vec<String> = e
            .strategies
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}: {}", inst.agents[i].name, s.describe(inst, i)))
            .collect();
        let _ = writeln!(
            out,
            "  {} -> {}; principal {:.4}",
            plays.join(" | "),
            outcome_line(inst, &e.outcome),
            e.outcome.principal
        );
    }
    if preferred.len() > 3 {
        let _ = writeln!(out, "  ... and {} more (all of them in --json)", preferred.len() - 3);
    }
    out
}

fn ci(v: &Value) -> String {
    format!(
        "{:.4} [{:.4}, {:.4}] predicted {:.4}{}",
        v["realised_mean"].as_f64().unwrap_or(f64::NAN),
        v["ci95"][0].as_f64().unwrap_or(f64::NAN),
        v["ci95"][1].as_f64().unwrap_or(f64::NAN),
        v["predicted"].as_f64().unwrap_or(f64::NAN),
        if v["prediction_inside_ci"].as_bool() == Some(true) {
            ""
        } else {
            " (outside)"
        }
    )
}

/// `mechsim run`'s report on an information scenario.
pub fn render_information(
    plan: &InformationPlan,
    simulation: Option<&SimulationResult>,
    online: Option<&OnlineResult>,
    wall_seconds: f64,
    out_dir: &Path,
) -> String {
    let mut out = String::new();
    let inst = &plan.instance;
    let mut files = Vec::new();
    if let (Some(sim), Some(sp)) = (simulation, &plan.simulation) {
        let s = &sim.summary;
        let _ = writeln!(
            out,
            "{}: {} mechanism, {} replicate(s) x {} rounds (IC: {}, largest gain {:.2e})\n",
            plan.scenario,
            sim.mechanism.label,
            sp.seeds.len(),
            sp.rounds,
            s["incentive_compatible"],
            s["largest_ic_gain"].as_f64().unwrap_or(f64::NAN)
        );
        let _ = writeln!(out, "principal utility   {}", ci(&s["principal"]["utility"]));
        for a in s["agents"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "{:<10} {:<9} utility {}; deviation gain {:+.4} [{:+.4}, {:+.4}]\n           obeyed and truthful {:.1}% (last tenth {:.1}%), effort as told {:.1}% (last tenth {:.1}%)\n           plays: {}",
                a["agent"].as_str().unwrap_or("?"),
                a["behaviour"].as_str().unwrap_or("?"),
                ci(&a["utility"]),
                a["deviation_gain"]["mean"].as_f64().unwrap_or(f64::NAN),
                a["deviation_gain"]["ci95"][0].as_f64().unwrap_or(f64::NAN),
                a["deviation_gain"]["ci95"][1].as_f64().unwrap_or(f64::NAN),
                100.0 * a["obedient_share"].as_f64().unwrap_or(f64::NAN),
                100.0 * a["obedient_share_last_tenth"].as_f64().unwrap_or(f64::NAN),
                100.0 * a["effort_obeyed_share"].as_f64().unwrap_or(f64::NAN),
                100.0 * a["effort_obeyed_share_last_tenth"].as_f64().unwrap_or(f64::NAN),
                a["strategy"].as_str().unwrap_or("?"),
            );
        }
        let preferred = s["equilibrium_search"]["preferred_by_agents"]
            .as_array()
            .map_or(0, Vec::len);
        let _ = writeln!(
            out,
            "other equilibria the agents prefer to obeying: {preferred} ({} search){}",
            s["equilibrium_search"]["method"].as_str().unwrap_or("?"),
            if preferred > 0 { ": see summary.json" } else { "" }
        );
        files.extend(["rows.csv", "mechanism.json"]);
    }
    if let (Some(result), Some(config)) = (online, &plan.online) {
        if simulation.is_some() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{}: explore-then-commit over {} horizon(s) x {} seed(s), {} rule; optimum {:.6} per round\n",
            plan.scenario,
            config.horizons.len(),
            config.seeds.len(),
            config.rule.name(),
            result.runs.first().map_or(f64::NAN, |r| r.optimal_utility)
        );
        let _ = writeln!(
            out,
            "{:>10} {:>12} {:>24} {:>12} {:>10} {:>8}",
            "T", "explore", "mean regret [95% CI]", "regret/T", "obeyed", "IC gain"
        );
        for (t, mean, (lo, hi)) in &result.points {
            let runs: Vec<_> = result.runs.iter().filter(|r| r.horizon == *t).collect();
            let explore = runs.iter().map(|r| r.explore_rounds).sum::<u64>() / runs.len().max(1) as u64;
            let obeyed = runs.iter().filter(|r| r.agents_obeyed).count();
            let gain = runs.iter().map(|r| r.committed_ic_gain).fold(0.0, f64::max);
            let _ = writeln!(
                out,
                "{t:>10} {explore:>12} {:>24} {:>12.5} {:>10} {gain:>8.1e}",
                format!("{mean:.1} [{lo:.1}, {hi:.1}]"),
                mean / *t as f64,
                format!("{obeyed}/{}", runs.len()),
            );
        }
        match result.fit {
            Some((slope, _)) => {
                let _ = writeln!(out, "\nlog-log slope of regret against T: {slope:.3} (theory: 2/3)");
            }
            None => {
                let _ = writeln!(out, "\nlog-log slope: needs two horizons with positive regret");
            }
        }
        files.extend(["regret.csv", "regret.svg"]);
    }
    let _ = inst;
    files.extend(["summary.json", "manifest.json"]);
    let _ = writeln!(
        out,
        "\nwrote {}/{{{}}} in {:.2} s",
        out_dir.display(),
        files.join(", "),
        wall_seconds
    );
    out
}
