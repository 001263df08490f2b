//! Mechanisms to compare the optimal one against, so the value of correlation is visible:
//! - `uncorrelated`: one effort profile for sure, each agent paid the cheapest rule on its own
//!   report and the state that makes its effort a best response;
//! - `scoring_rule`: the same with a scaled proper scoring rule (quadratic, log, spherical)
//!   on the posterior of the agent's report instead of the cheapest rule;
//! - `single_hire`: the optimal mechanism with one agent only (the others are not paid and
//!   their reports are ignored);
//! - `independent`: product (independent) randomisation of efforts with optimal payments,
//!   found by coordinate search over each agent's distribution on a grid.

use super::MechanismError;
use super::design::{Mechanism, evaluate_obedient};
use super::instance::Instance;
use super::lp::{cheapest_scoring_rule, optimal_mechanism};
use super::scoring_rules::ScoringRule;

/// A baseline mechanism with its principal utility (obedient, truthful agents).
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// Principal's expected utility.
    pub principal: f64,
    /// How it was found.
    pub method: String,
}

/// An own-report payment table `[s * states + theta]` and its expected payment.
type RuleAndCost = (Vec<f64>, f64);

/// Point mass on profile `b`, Bayes decisions, own-report payments `rules[i][s_i * states + theta]`.
fn own_report_mechanism(inst: &Instance, label: &str, b: usize, rules: &[Vec<f64>]) -> Mechanism {
    let (nb, ns, nt) = (inst.efforts().count(), inst.signals().count(), inst.n_states());
    let mut phi = vec![0.0; nb];
    phi[b] = 1.0;
    let mut mech = Mechanism::bayes(inst, label, phi);
    for (i, rule) in rules.iter().enumerate() {
        for s in 0..ns {
            let own = inst.signals().digit(s, i);
            for t in 0..nt {
                mech.payments[i][(b * ns + s) * nt + t] = rule[own * nt + t];
            }
        }
    }
    mech
}

/// Best profile under per-agent own-report rules `rule(i, effort)` (None: not inducible).
fn best_profile(
    inst: &Instance,
    label: &str,
    method: &str,
    mut rule: impl FnMut(usize, usize) -> Result<Option<(Vec<f64>, f64)>, MechanismError>,
) -> Result<Option<Baseline>, MechanismError> {
    let mut cache: Vec<Vec<Option<RuleAndCost>>> = Vec::new();
    for (i, agent) in inst.agents.iter().enumerate() {
        let mut row = Vec::new();
        for e in 0..agent.efforts.len() {
            row.push(rule(i, e)?);
        }
        cache.push(row);
    }
    let mut best: Option<(usize, f64)> = None;
    'profiles: for b in 0..inst.efforts().count() {
        let mut value = inst.decision_value(b);
        for (i, row) in cache.iter().enumerate() {
            match &row[inst.efforts().digit(b, i)] {
                Some((_, cost)) => value -= cost,
                None => continue 'profiles,
            }
        }
        if best.is_none_or(|(_, v)| value > v + 1e-12) {
            best = Some((b, value));
        }
    }
    Ok(best.map(|(b, _)| {
        let rules: Vec<Vec<f64>> = (0..inst.n_agents())
            .map(|i| {
                cache[i][inst.efforts().digit(b, i)]
                    .as_ref()
                    .expect("inducible")
                    .0
                    .clone()
            })
            .collect();
        let mechanism = own_report_mechanism(inst, label, b, &rules);
        let principal = evaluate_obedient(inst, &mechanism).principal;
        Baseline {
            mechanism,
            principal,
            method: method.to_string(),
        }
    }))
}

/// The best uncorrelated mechanism (cheapest own-report rules, best single profile).
pub fn uncorrelated(inst: &Instance) -> Result<Option<Baseline>, MechanismError> {
    best_profile(
        inst,
        "uncorrelated",
        "best effort profile; each agent paid the cheapest rule on its own report and the state (LP per agent and effort)",
        |i, e| cheapest_scoring_rule(inst, i, e),
    )
}

/// Posterior over states of agent `i`'s signal `s` under effort `e` (prior if impossible).
pub fn posterior(inst: &Instance, i: usize, e: usize, s: usize) -> Vec<f64> {
    let acc = &inst.agents[i].accuracy[e];
    let joint: Vec<f64> = (0..inst.n_states()).map(|t| inst.prior[t] * acc[t][s]).collect();
    let total: f64 = joint.iter().sum();
    if total > 0.0 {
        joint.iter().map(|x| x / total).collect()
    } else {
        inst.prior.clone()
    }
}

/// Agent `i`'s payment table `[s * states + theta]` for the scaled rule that makes `effort`
/// its best response: alpha * (S(posterior(s), theta) - min), with the smallest such alpha
/// (times `1 + margin`, for a strict best response); `None` when no alpha within the cap does.
pub fn scaled_rule(
    inst: &Instance,
    rule: ScoringRule,
    i: usize,
    effort: usize,
    margin: f64,
) -> Option<(Vec<f64>, f64, f64)> {
    let agent = &inst.agents[i];
    let (ns_i, nt) = (agent.signals.len(), inst.n_states());
    let mut score = vec![0.0; ns_i * nt];
    for s in 0..ns_i {
        let q = posterior(inst, i, effort, s);
        for t in 0..nt {
            score[s * nt + t] = rule.raw(&q, t);
        }
    }
    let lowest = score.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = score.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for v in &mut score {
        *v -= lowest;
    }
    // Expected score with the best report after exerting e.
    let best_score = |e: usize| -> f64 {
        (0..ns_i)
            .map(|own| {
                (0..ns_i)
                    .map(|r| {
                        (0..nt)
                            .map(|t| inst.prior[t] * agent.accuracy[e][t][own] * score[r * nt + t])
                            .sum::<f64>()
                    })
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .sum()
    };
    let truthful = best_score(effort);
    let (mut low, mut high) = (0.0f64, f64::INFINITY);
    for e in 0..agent.efforts.len() {
        if e == effort {
            continue;
        }
        let gap = truthful - best_score(e);
        let cost = agent.costs[effort] - agent.costs[e];
        if gap > 1e-12 {
            low = low.max(cost / gap);
        } else if gap < -1e-12 {
            high = high.min(cost / gap);
        } else if cost > 0.0 {
            return None;
        }
    }
    let alpha = low * (1.0 + margin);
    let max_alpha = match inst.payment_cap {
        Some(cap) if highest > lowest => cap / (highest - lowest),
        _ => f64::INFINITY,
    };
    if alpha > high + 1e-12 || alpha > max_alpha + 1e-12 {
        return None;
    }
    let table: Vec<f64> = score.iter().map(|v| alpha * v).collect();
    Some((table, alpha * truthful, alpha))
}

/// The best mechanism paying every agent a scaled proper scoring rule.
pub fn scoring_rule(inst: &Instance, rule: ScoringRule) -> Result<Option<Baseline>, MechanismError> {
    best_profile(
        inst,
        &format!("{}_rule", rule.name()),
        &format!(
            "best effort profile; each agent paid the {} rule on its report's posterior, scaled as little as inducing its effort allows",
            rule.name()
        ),
        |i, e| Ok(scaled_rule(inst, rule, i, e, 0.0).map(|(t, pay, _)| (t, pay))),
    )
}

/// The best mechanism that hires one agent only.
pub fn single_hire(inst: &Instance) -> Result<Option<Baseline>, MechanismError> {
    let (efforts, signals) = (inst.efforts(), inst.signals());
    let (ns, nt) = (signals.count(), inst.n_states());
    let mut best: Option<Baseline> = None;
    for i in 0..inst.n_agents() {
        let sub = inst.single_agent(i);
        let solved = optimal_mechanism(&sub, None)?;
        let rest: Vec<usize> = inst.agents.iter().map(|a| a.cheapest_effort()).collect();
        let mut phi = vec![0.0; efforts.count()];
        for (e, &p) in solved.mechanism.phi.iter().enumerate() {
            let mut digits = rest.clone();
            digits[i] = e;
            phi[efforts.encode(&digits)] += p;
        }
        let mut mech = Mechanism::bayes(inst, "single_hire", phi);
        for b in 0..efforts.count() {
            let e = efforts.digit(b, i);
            for s in 0..ns {
                let own = signals.digit(s, i);
                mech.decision[b * ns + s] = solved.mechanism.action(&sub, e, own);
                for t in 0..nt {
                    mech.payments[i][(b * ns + s) * nt + t] = solved.mechanism.payment(&sub, 0, e, own, t);
                }
            }
        }
        let principal = evaluate_obedient(inst, &mech).principal;
        if best.as_ref().is_none_or(|b| principal > b.principal + 1e-12) {
            best = Some(Baseline {
                mechanism: mech,
                principal,
                method: format!(
                    "optimal mechanism for {} alone (best of {} agents); the others are not paid and not heard",
                    inst.agents[i].name,
                    inst.n_agents()
                ),
            });
        }
    }
    Ok(best)
}

/// Grid points of the simplex over `k` outcomes with step 1/`steps`.
fn simplex_grid(k: usize, steps: usize) -> Vec<Vec<f64>> {
    fn rec(k: usize, left: usize, steps: usize, prefix: &mut Vec<usize>, out: &mut Vec<Vec<f64>>) {
        if k == 1 {
            prefix.push(left);
            out.push(prefix.iter().map(|&x| x as f64 / steps as f64).collect());
            prefix.pop();
            return;
        }
        for x in 0..=left {
            prefix.push(x);
            rec(k - 1, left - x, steps, prefix, out);
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    rec(k, steps, steps, &mut Vec::new(), &mut out);
    out
}

/// Wall-clock budget of the product-randomisation search (each step is a full LP solve).
pub const INDEPENDENT_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// The best product randomisation found: coordinate ascent over each agent's effort
/// distribution on a simplex grid (step 1/10 for two efforts, coarser for more), the LP
/// with phi fixed giving the payments. Starts from the best pure profile and from the
/// product of the optimal phi's marginals. Stops at `budget` (reported in the method);
/// `None` when the budget ran out before any product was evaluated.
pub fn independent(
    inst: &Instance,
    optimal_phi: &[f64],
    budget: std::time::Duration,
) -> Result<Option<Baseline>, MechanismError> {
    let started = std::time::Instant::now();
    let (efforts, n) = (inst.efforts(), inst.n_agents());
    let product = |marginals: &[Vec<f64>]| -> Vec<f64> {
        (0..efforts.count())
            .map(|b| (0..n).map(|i| marginals[i][efforts.digit(b, i)]).product())
            .collect()
    };
    let solves = std::cell::Cell::new(0usize);
    let value_of_phi = |phi: &[f64]| -> Result<Option<(f64, Mechanism)>, MechanismError> {
        solves.set(solves.get() + 1);
        match optimal_mechanism(inst, Some(phi)) {
            Ok(s) => Ok(Some((s.objective, s.mechanism))),
            Err(MechanismError::Infeasible(_)) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let value = |marginals: &[Vec<f64>]| value_of_phi(&product(marginals));
    let out_of_time = || started.elapsed() > budget;
    let grids: Vec<Vec<Vec<f64>>> = inst
        .agents
        .iter()
        .map(|a| simplex_grid(a.efforts.len(), if a.efforts.len() <= 2 { 10 } else { 4 }))
        .collect();
    let marginal_of = |phi: &[f64], i: usize| -> Vec<f64> {
        let mut m = vec![0.0; inst.agents[i].efforts.len()];
        for (b, p) in phi.iter().enumerate() {
            m[efforts.digit(b, i)] += p;
        }
        m
    };
    let mut starts = vec![(0..n).map(|i| marginal_of(optimal_phi, i)).collect::<Vec<_>>()];
    let mut best_pure: Option<(usize, f64)> = None;
    for b in 0..efforts.count() {
        if out_of_time() {
            break;
        }
        let mut phi = vec![0.0; efforts.count()];
        phi[b] = 1.0;
        if let Some((v, _)) = value_of_phi(&phi)?
            && best_pure.is_none_or(|(_, bv)| v > bv)
        {
            best_pure = Some((b, v));
        }
    }
    if let Some((b, _)) = best_pure {
        let mut pure = vec![0.0; efforts.count()];
        pure[b] = 1.0;
        starts.insert(0, (0..n).map(|i| marginal_of(&pure, i)).collect());
    }
    let mut best: Option<(f64, Mechanism)> = None;
    let mut stopped = false;
    'starts: for start in starts {
        // At least one product is always evaluated, whatever the budget.
        if out_of_time() && best.is_some() {
            stopped = true;
            break;
        }
        let mut current = start;
        let Some(mut here) = value(&current)? else { continue };
        for _sweep in 0..4 {
            let mut improved = false;
            for i in 0..n {
                for point in &grids[i] {
                    if out_of_time() {
                        stopped = true;
                        let here = here.clone();
                        if best.as_ref().is_none_or(|b| here.0 > b.0 + 1e-12) {
                            best = Some(here);
                        }
                        break 'starts;
                    }
                    let mut trial = current.clone();
                    trial[i] = point.clone();
                    if let Some(candidate) = value(&trial)?
                        && candidate.0 > here.0 + 1e-9
                    {
                        here = candidate;
                        current = trial;
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
        if best.as_ref().is_none_or(|b| here.0 > b.0 + 1e-12) {
            best = Some(here);
        }
    }
    let Some((_, mut mechanism)) = best else {
        return Ok(None);
    };
    mechanism.label = "independent".into();
    let principal = evaluate_obedient(inst, &mechanism).principal;
    Ok(Some(Baseline {
        mechanism,
        principal,
        method: format!(
            "product of per-agent effort distributions, payments by the LP with phi fixed; coordinate search on a simplex \
             grid ({} LP solves; a local optimum{})",
            solves.get(),
            if stopped {
                format!(", stopped at the {} s budget", budget.as_secs())
            } else {
                String::new()
            }
        ),
    }))
}
