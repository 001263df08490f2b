//! Equilibrium selection: IC makes obedience AN equilibrium of the game the mechanism
//! induces among the agents, not the only one ("everyone shirks and reports the same" may
//! pay more). This module looks for other pure equilibria, whose strategies map each
//! recommendation to an exerted effort and a report per signal, and reports those the
//! agents prefer to obeying. Small games are enumerated exhaustively; larger ones are
//! searched by best-response dynamics from collusive, obedient and seeded random starts.

use std::collections::HashSet;

use super::design::{Mechanism, Outcome, Strategy, best_response, evaluate, evaluate_obedient};
use super::instance::Instance;
use crate::core::rng::SimRng;

/// Profiles up to this many are checked one by one.
pub const EXHAUSTIVE_LIMIT: u64 = 50_000;

/// Random starts of the best-response search.
pub const RANDOM_STARTS: usize = 64;

/// An equilibrium other than obedience.
#[derive(Debug, Clone)]
pub struct Equilibrium {
    /// Each agent's strategy.
    pub strategies: Vec<Strategy>,
    /// Its expected outcome.
    pub outcome: Outcome,
    /// Every agent weakly prefers it to obeying and one strictly.
    pub preferred_by_agents: bool,
}

/// What the search did and found.
#[derive(Debug, Clone)]
pub struct EquilibriumSearch {
    /// `exhaustive` or `best-response dynamics`.
    pub method: String,
    /// Profiles checked (exhaustive) or starts run (dynamics).
    pub examined: u64,
    /// The obedient outcome, for comparison.
    pub obedient: Outcome,
    /// Pure equilibria other than obedience (distinct strategy profiles, canonicalised).
    pub others: Vec<Equilibrium>,
}

impl EquilibriumSearch {
    /// The equilibria the agents prefer to obeying.
    pub fn preferred(&self) -> impl Iterator<Item = &Equilibrium> {
        self.others.iter().filter(|e| e.preferred_by_agents)
    }
}

/// Strategy with unreachable recommendations reset to obedience (so equal play compares equal).
fn canonical(inst: &Instance, mech: &Mechanism, i: usize, mut s: Strategy) -> Strategy {
    let obedient = Strategy::obedient(inst, i);
    for rec in 0..s.effort.len() {
        if mech.recommendation_probability(inst, i, rec) <= 1e-12 {
            s.effort[rec] = obedient.effort[rec];
            s.report[rec] = obedient.report[rec].clone();
        }
    }
    s
}

fn is_equilibrium(inst: &Instance, mech: &Mechanism, profile: &[Strategy], tolerance: f64) -> Option<Outcome> {
    let outcome = evaluate(inst, mech, profile);
    for i in 0..inst.n_agents() {
        let (_, best) = best_response(inst, mech, profile, i, tolerance);
        if best > outcome.agent_utility(i) + tolerance {
            return None;
        }
    }
    Some(outcome)
}

/// All strategies of agent `i` that differ on reachable recommendations.
fn all_strategies(inst: &Instance, mech: &Mechanism, i: usize) -> Vec<Strategy> {
    let agent = &inst.agents[i];
    let (nb, ns) = (agent.efforts.len(), agent.signals.len());
    let maps = ns.pow(ns as u32);
    let per_rec = nb * maps;
    let reachable: Vec<usize> = (0..nb)
        .filter(|&r| mech.recommendation_probability(inst, i, r) > 1e-12)
        .collect();
    let mut out = Vec::new();
    let total = per_rec.pow(reachable.len() as u32);
    for mut code in 0..total {
        let mut s = Strategy::obedient(inst, i);
        for &rec in &reachable {
            let choice = code % per_rec;
            code /= per_rec;
            s.effort[rec] = choice / maps;
            let mut m = choice % maps;
            for slot in s.report[rec].iter_mut() {
                *slot = m % ns;
                m /= ns;
            }
        }
        out.push(s);
    }
    out
}

fn strategy_count(inst: &Instance, mech: &Mechanism, i: usize) -> u64 {
    let agent = &inst.agents[i];
    let ns = agent.signals.len() as u64;
    let per_rec = agent.efforts.len() as u64 * ns.saturating_pow(ns as u32);
    let reachable = (0..agent.efforts.len())
        .filter(|&r| mech.recommendation_probability(inst, i, r) > 1e-12)
        .count();
    per_rec.saturating_pow(reachable as u32)
}

/// Searches for pure equilibria other than obedience (seeded for the random starts).
pub fn search(inst: &Instance, mech: &Mechanism, seed: u64, tolerance: f64) -> EquilibriumSearch {
    let n = inst.n_agents();
    let obedient_profile: Vec<Strategy> = (0..n).map(|i| Strategy::obedient(inst, i)).collect();
    let obedient = evaluate_obedient(inst, mech);
    let total = (0..n).fold(1u64, |acc, i| acc.saturating_mul(strategy_count(inst, mech, i)));
    let mut found: Vec<Vec<Strategy>> = Vec::new();
    let mut seen: HashSet<Vec<Strategy>> = HashSet::new();
    seen.insert(obedient_profile.clone());
    let (method, examined);
    if total <= EXHAUSTIVE_LIMIT {
        method = "exhaustive".to_string();
        examined = total;
        let sets: Vec<Vec<Strategy>> = (0..n).map(|i| all_strategies(inst, mech, i)).collect();
        let mut index = vec![0usize; n];
        loop {
            let profile: Vec<Strategy> = (0..n).map(|i| sets[i][index[i]].clone()).collect();
            if !seen.contains(&profile) && is_equilibrium(inst, mech, &profile, tolerance).is_some() {
                seen.insert(profile.clone());
                found.push(profile);
            }
            let mut i = 0;
            loop {
                if i == n {
                    break;
                }
                index[i] += 1;
                if index[i] < sets[i].len() {
                    break;
                }
                index[i] = 0;
                i += 1;
            }
            if i == n {
                break;
            }
        }
    } else {
        method = "best-response dynamics".to_string();
        let mut starts: Vec<Vec<Strategy>> = Vec::new();
        // Collusive starts: cheapest effort, every agent reports one fixed signal.
        let combos: usize = inst.agents.iter().map(|a| a.signals.len()).product();
        for c in 0..combos.min(256) {
            starts.push(
                (0..n)
                    .map(|i| {
                        let a = &inst.agents[i];
                        let r = inst.signals().digit(c, i);
                        Strategy {
                            effort: vec![a.cheapest_effort(); a.efforts.len()],
                            report: vec![vec![r; a.signals.len()]; a.efforts.len()],
                        }
                    })
                    .collect(),
            );
        }
        let mut rng = SimRng::new(seed);
        for _ in 0..RANDOM_STARTS {
            starts.push(
                (0..n)
                    .map(|i| {
                        let a = &inst.agents[i];
                        Strategy {
                            effort: (0..a.efforts.len()).map(|_| rng.below(a.efforts.len())).collect(),
                            report: (0..a.efforts.len())
                                .map(|_| (0..a.signals.len()).map(|_| rng.below(a.signals.len())).collect())
                                .collect(),
                        }
                    })
                    .collect(),
            );
        }
        examined = starts.len() as u64;
        for start in starts {
            let mut profile: Vec<Strategy> = start
                .into_iter()
                .enumerate()
                .map(|(i, s)| canonical(inst, mech, i, s))
                .collect();
            for _pass in 0..100 {
                let mut changed = false;
                for i in 0..n {
                    let current = evaluate(inst, mech, &profile).agent_utility(i);
                    let (br, value) = best_response(inst, mech, &profile, i, tolerance);
                    if value > current + tolerance {
                        profile[i] = canonical(inst, mech, i, br);
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
            if !seen.contains(&profile) && is_equilibrium(inst, mech, &profile, tolerance).is_some() {
                seen.insert(profile.clone());
                found.push(profile);
            }
        }
    }
    let others = found
        .into_iter()
        .map(|strategies| {
            let outcome = evaluate(inst, mech, &strategies);
            let weakly = (0..n).all(|i| outcome.agent_utility(i) >= obedient.agent_utility(i) - tolerance);
            let strictly = (0..n).any(|i| outcome.agent_utility(i) > obedient.agent_utility(i) + tolerance);
            Equilibrium {
                strategies,
                outcome,
                preferred_by_agents: weakly && strictly,
            }
        })
        .collect();
    EquilibriumSearch {
        method,
        examined,
        obedient,
        others,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::Correlation;
    use crate::mechanism::instance::tests::closed_form;
    use crate::mechanism::lp::optimal_mechanism;

    #[test]
    fn obedience_is_found_to_be_an_equilibrium_and_others_are_reported() {
        let inst = closed_form(2, 0.8, 0.05, Correlation::SharedNoise { rho: 0.8 });
        let mech = optimal_mechanism(&inst, None).unwrap().mechanism;
        let obedient: Vec<Strategy> = (0..2).map(|i| Strategy::obedient(&inst, i)).collect();
        assert!(is_equilibrium(&inst, &mech, &obedient, 1e-7).is_some());
        let result = search(&inst, &mech, 1, 1e-7);
        assert_eq!(result.method, "exhaustive");
        for e in &result.others {
            assert!(is_equilibrium(&inst, &mech, &e.strategies, 1e-7).is_some());
        }
    }

    #[test]
    fn collusion_is_detected_when_agents_are_paid_for_agreeing() {
        // A hand-made peer-agreement mechanism: pay 1 whenever both report the same signal,
        // regardless of the state. Obeying "work" is IC-irrelevant here: both shirking and
        // always reporting "says1" is an equilibrium paying 1 at no cost.
        let inst = closed_form(2, 0.8, 0.05, Correlation::Independent);
        let both_work = inst.efforts().encode(&[1, 1]);
        let mut phi = vec![0.0; 4];
        phi[both_work] = 1.0;
        let mut mech = Mechanism::bayes(&inst, "agreement", phi);
        for s in 0..4 {
            if inst.signals().digit(s, 0) == inst.signals().digit(s, 1) {
                for i in 0..2 {
                    for t in 0..2 {
                        mech.payments[i][(both_work * 4 + s) * 2 + t] = 1.0;
                    }
                }
            }
        }
        let result = search(&inst, &mech, 1, 1e-9);
        let preferred: Vec<_> = result.preferred().collect();
        assert!(!preferred.is_empty());
        assert!(
            preferred
                .iter()
                .any(|e| e.strategies.iter().all(|s| s.effort[1] == 0)
                    && (e.outcome.agent_utility(0) - 1.0).abs() < 1e-9)
        );
    }
}
