//! The linear programs of the mechanism module, and the only user of good_lp: the optimal
//! IC mechanism (the spec's LP over phi, y = phi * gamma and the z "best misreport" bounds,
//! built sparsely), the same LP with phi fixed (product-randomisation baseline), and the
//! cheapest own-report scoring rule that makes one effort an agent's best response
//! (uncorrelated baselines, the online principal). The default solver is microlp (pure
//! Rust); the `highs` cargo feature switches to HiGHS.

use std::time::Instant;

use good_lp::{Constraint, Expression, ProblemVariables, ResolutionError, Solution, SolverModel, Variable, variable};

use super::MechanismError;
use super::analysis::IC_TOLERANCE;
use super::design::Mechanism;
use super::instance::Instance;

/// Recommendation probabilities below this are solver noise and set to zero.
pub const PHI_FLOOR: f64 = 1e-7;

/// Name of the LP solver compiled in.
pub const SOLVER: &str = if cfg!(feature = "highs") { "HiGHS" } else { "microlp" };

/// Size and cost of one LP solve.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LpStats {
    /// Variables.
    pub variables: usize,
    /// Constraints (bounds on single variables not counted).
    pub constraints: usize,
    /// Non-zero coefficients in the constraint matrix.
    pub nonzeros: usize,
    /// Wall seconds to build the model.
    pub build_seconds: f64,
    /// Wall seconds in the solver.
    pub solve_seconds: f64,
    /// The solver.
    pub solver: &'static str,
}

/// An LP under construction: variables, constraints, and the counters for `LpStats`.
struct Model {
    vars: ProblemVariables,
    constraints: Vec<Constraint>,
    nonzeros: usize,
}

impl Model {
    fn new() -> Self {
        Model {
            vars: ProblemVariables::new(),
            constraints: Vec::new(),
            nonzeros: 0,
        }
    }

    fn var(&mut self, upper: Option<f64>) -> Variable {
        match upper {
            Some(u) => self.vars.add(variable().min(0.0).max(u)),
            None => self.vars.add(variable().min(0.0)),
        }
    }

    /// `expr >= 0`.
    fn nonnegative(&mut self, expr: Expression, terms: usize) {
        self.nonzeros += terms;
        self.constraints.push(expr.geq(0.0));
    }

    fn solve(self, objective: Expression, maximise: bool, context: &str) -> Result<(Values, LpStats), MechanismError> {
        let variables = self.vars.len();
        let constraints = self.constraints.len();
        let problem = if maximise {
            self.vars.maximise(objective)
        } else {
            self.vars.minimise(objective)
        };
        let started = Instant::now();
        #[cfg(feature = "highs")]
        let solved = problem.using(good_lp::highs).with_all(self.constraints).solve();
        #[cfg(not(feature = "highs"))]
        let solved = problem.using(good_lp::microlp).with_all(self.constraints).solve();
        let solve_seconds = started.elapsed().as_secs_f64();
        let solution = solved.map_err(|e| match e {
            ResolutionError::Infeasible => MechanismError::Infeasible(context.to_string()),
            ResolutionError::Unbounded => MechanismError::Unbounded(context.to_string()),
            other => MechanismError::Solver(format!("{context}: {other}")),
        })?;
        let stats = LpStats {
            variables,
            constraints,
            nonzeros: self.nonzeros,
            build_seconds: 0.0,
            solve_seconds,
            solver: SOLVER,
        };
        Ok((Values(Box::new(move |v| solution.value(v))), stats))
    }
}

/// Read access to a solution's values.
struct Values(Box<dyn Fn(Variable) -> f64>);

impl Values {
    fn get(&self, v: Variable) -> f64 {
        (self.0)(v)
    }
}

/// A solved optimal mechanism.
#[derive(Debug, Clone)]
pub struct Solved {
    /// The mechanism (gamma = y / phi where phi > 0).
    pub mechanism: Mechanism,
    /// The LP's objective: the principal's expected utility.
    pub objective: f64,
    /// LP size and time.
    pub stats: LpStats,
}

/// Solves the spec's LP for the optimal IC mechanism. With `fixed_phi`, the recommendation
/// distribution is held at that value and only payments are optimised (the caller assesses
/// that mechanism). Without it, the answer always passes the independent brute-force IC
/// check: when the solver's optimum does not (a huge `payment_cap` mixes magnitudes the
/// solver cannot tell apart), the LP is solved again under tighter caps 1, 10, 100, ...,
/// and the first optimum that is IC and pays strictly below its tighter cap is returned:
/// the tighter cap does not bind it, so (the LP being convex) it is optimal under the
/// original cap too. When none is found, this is an error, never a non-IC "optimum".
pub fn optimal_mechanism(inst: &Instance, fixed_phi: Option<&[f64]>) -> Result<Solved, MechanismError> {
    let solved = solve_lp(inst, fixed_phi)?;
    if fixed_phi.is_some() {
        return Ok(solved);
    }
    let gain = ic_gain(inst, &solved.mechanism);
    if gain <= IC_TOLERANCE {
        return Ok(solved);
    }
    let cap = inst.payment_cap.unwrap_or(f64::INFINITY);
    let mut tight = 1.0;
    while tight < cap && tight <= 1e12 {
        let mut inner = inst.clone();
        inner.payment_cap = Some(tight);
        if let Ok(mut s) = solve_lp(&inner, None) {
            let largest = s.mechanism.payments.iter().flatten().fold(0.0f64, |a, &p| a.max(p));
            if largest < tight * (1.0 - 1e-6) && ic_gain(inst, &s.mechanism) <= IC_TOLERANCE {
                s.stats.solve_seconds += solved.stats.solve_seconds;
                s.stats.build_seconds += solved.stats.build_seconds;
                return Ok(s);
            }
        }
        tight *= 10.0;
    }
    Err(MechanismError::Numerical(format!(
        "the solver's optimal mechanism fails the brute-force IC check (an agent gains {gain:.2e} by deviating), \
         and no tighter payment cap gives an IC optimum that pays below it; lower `payment_cap` (now {cap:e}) \
         toward the scale of the utilities and costs"
    )))
}

/// The largest gain any agent has from deviating (0 when it cannot deviate).
fn ic_gain(inst: &Instance, mechanism: &Mechanism) -> f64 {
    super::ic::brute_force_ic(inst, mechanism).map_or(0.0, |v| v.gain)
}

/// The LP itself, as solved (`optimal_mechanism` checks what it returns).
fn solve_lp(inst: &Instance, fixed_phi: Option<&[f64]>) -> Result<Solved, MechanismError> {
    let built = Instant::now();
    let (efforts, signals) = (inst.efforts(), inst.signals());
    let (nb, ns, nt, n) = (efforts.count(), signals.count(), inst.n_states(), inst.n_agents());
    let cap = inst.payment_cap;
    let mut m = Model::new();
    let phi: Vec<Variable> = (0..nb).map(|_| m.var(Some(1.0))).collect();
    // y[i][(b * ns + s) * nt + theta]
    let y: Vec<Vec<Variable>> = (0..n)
        .map(|_| (0..nb * ns * nt).map(|_| m.var(cap)).collect())
        .collect();
    let yi = |b: usize, s: usize, t: usize| (b * ns + s) * nt + t;

    let mut total = Expression::with_capacity(nb);
    for &v in &phi {
        total.add_mul(1.0, v);
    }
    m.nonzeros += nb;
    m.constraints.push(total.eq(1.0));
    if let Some(fixed) = fixed_phi {
        for (&v, &p) in phi.iter().zip(fixed) {
            m.nonzeros += 1;
            m.constraints.push(Expression::from(v).eq(p));
        }
    }

    // Objective: sum_b phi(b) V(b) - expected payments.
    let mut objective = Expression::with_capacity(nb + n * nb * ns * nt);
    for (b, &v) in phi.iter().enumerate() {
        objective.add_mul(inst.decision_value(b), v);
    }
    for yv in &y {
        for b in 0..nb {
            for t in 0..nt {
                let w = inst.prior[t];
                for (s, &p) in inst.signal_law(b, t).iter().enumerate() {
                    if p > 0.0 && w > 0.0 {
                        objective.add_mul(-w * p, yv[yi(b, s, t)]);
                    }
                }
            }
        }
    }

    // CAP: y <= M phi(b).
    if let Some(cap) = cap {
        for yv in &y {
            for b in 0..nb {
                for st in 0..ns * nt {
                    let mut e = Expression::with_capacity(2);
                    e.add_mul(cap, phi[b]);
                    e.add_mul(-1.0, yv[b * ns * nt + st]);
                    m.nonnegative(e, 2);
                }
            }
        }
    }

    for i in 0..n {
        let agent = &inst.agents[i];
        let (nb_i, ns_i) = (agent.efforts.len(), agent.signals.len());
        let others: Vec<usize> = (0..nb).filter(|&b| efforts.digit(b, i) == 0).collect();
        let others_s: Vec<usize> = (0..ns).filter(|&s| signals.digit(s, i) == 0).collect();
        // z[(rec * nb_i + dev) * ns_i + own]
        let z: Vec<Variable> = (0..nb_i * nb_i * ns_i).map(|_| m.var(None)).collect();
        for rec in 0..nb_i {
            // Pay_i(rec) and phi_i(rec) as expressions.
            let mut pay = Expression::with_capacity(nb * ns * nt / nb_i.max(1));
            let mut pay_terms = 0;
            for &b0 in &others {
                let b = efforts.with_digit(b0, i, rec);
                for t in 0..nt {
                    for (s, &p) in inst.signal_law(b, t).iter().enumerate() {
                        if p > 0.0 && inst.prior[t] > 0.0 {
                            pay.add_mul(inst.prior[t] * p, y[i][yi(b, s, t)]);
                            pay_terms += 1;
                        }
                    }
                }
            }
            for dev in 0..nb_i {
                // (Z) z[rec, dev, own] >= payment expected from reporting `report` after
                // exerting `dev` and seeing `own`.
                for own in 0..ns_i {
                    let zv = z[(rec * nb_i + dev) * ns_i + own];
                    for report in 0..ns_i {
                        let mut e = Expression::with_capacity(1 + others.len() * nt * others_s.len());
                        e.add_mul(1.0, zv);
                        let mut terms = 1;
                        for &b0 in &others {
                            let b = efforts.with_digit(b0, i, rec);
                            let actual = efforts.with_digit(b0, i, dev);
                            for t in 0..nt {
                                for &s0 in &others_s {
                                    let p = inst.p_signal(actual, t, signals.with_digit(s0, i, own));
                                    if p > 0.0 && inst.prior[t] > 0.0 {
                                        let r = signals.with_digit(s0, i, report);
                                        e.add_mul(-inst.prior[t] * p, y[i][yi(b, r, t)]);
                                        terms += 1;
                                    }
                                }
                            }
                        }
                        m.nonnegative(e, terms);
                    }
                }
                // (IC) Pay_i(rec) - c(rec) phi_i(rec) >= sum_own z[rec, dev, own] - c(dev) phi_i(rec).
                let mut e = pay.clone();
                let cost_gap = agent.costs[dev] - agent.costs[rec];
                if cost_gap != 0.0 {
                    for &b0 in &others {
                        e.add_mul(cost_gap, phi[efforts.with_digit(b0, i, rec)]);
                    }
                }
                for own in 0..ns_i {
                    e.add_mul(-1.0, z[(rec * nb_i + dev) * ns_i + own]);
                }
                m.nonnegative(e, pay_terms + others.len() + ns_i);
            }
        }
    }
    let build_seconds = built.elapsed().as_secs_f64();
    let (values, mut stats) = m.solve(objective.clone(), true, "optimal-mechanism LP")?;
    stats.build_seconds = build_seconds;
    let phi_values: Vec<f64> = phi.iter().map(|&v| values.get(v).max(0.0)).collect();
    let phi_sum: f64 = phi_values.iter().sum();
    if !(phi_sum > 0.5 && phi_sum < 1.5) {
        return Err(MechanismError::Numerical(format!(
            "the solver returned recommendation probabilities summing to {phi_sum}"
        )));
    }
    // Probabilities at the solver's noise level are zero: keeping a recommendation made with
    // probability 1e-9 would divide noise by noise when recovering its payments. When any
    // was dropped, the payments are solved again with phi fixed at the cleaned values, so
    // that they satisfy IC exactly for the mechanism actually returned.
    let floored = phi_values.iter().any(|&p| p > 0.0 && p / phi_sum < PHI_FLOOR);
    let phi_values: Vec<f64> = phi_values
        .iter()
        .map(|&p| if p / phi_sum < PHI_FLOOR { 0.0 } else { p })
        .collect();
    let phi_sum: f64 = phi_values.iter().sum();
    let phi_values: Vec<f64> = phi_values.iter().map(|p| p / phi_sum).collect();
    if floored && fixed_phi.is_none() {
        let mut polished = solve_lp(inst, Some(&phi_values))?;
        polished.stats.solve_seconds += stats.solve_seconds;
        polished.stats.build_seconds += stats.build_seconds;
        return Ok(polished);
    }
    let mut mechanism = Mechanism::bayes(inst, "optimal", phi_values.clone());
    for (i, yv) in y.iter().enumerate() {
        for b in 0..nb {
            if phi_values[b] == 0.0 {
                continue;
            }
            for cell in 0..ns * nt {
                let value = values.get(yv[b * ns * nt + cell]).max(0.0) / phi_values[b];
                mechanism.payments[i][b * ns * nt + cell] = match cap {
                    Some(c) => value.min(c),
                    None => value,
                };
            }
        }
    }
    let objective = objective.eval_with(&SolutionView(&values));
    Ok(Solved {
        mechanism,
        objective,
        stats,
    })
}

struct SolutionView<'a>(&'a Values);

impl Solution for SolutionView<'_> {
    fn status(&self) -> good_lp::SolutionStatus {
        good_lp::SolutionStatus::Optimal
    }

    fn value(&self, variable: Variable) -> f64 {
        self.0.get(variable)
    }
}

/// The cheapest own-report payment rule gamma(report, theta) in [0, M] under which exerting
/// `effort` and reporting truthfully is agent `i`'s best response (against every other
/// effort and every reporting map). Returns `(gamma[s * states + theta], expected payment)`,
/// or `None` when no such rule exists within the cap.
pub fn cheapest_scoring_rule(
    inst: &Instance,
    i: usize,
    effort: usize,
) -> Result<Option<(Vec<f64>, f64)>, MechanismError> {
    let agent = &inst.agents[i];
    let (nb_i, ns_i, nt) = (agent.efforts.len(), agent.signals.len(), inst.n_states());
    let mut m = Model::new();
    let gamma: Vec<Variable> = (0..ns_i * nt).map(|_| m.var(inst.payment_cap)).collect();
    let acc = &agent.accuracy;
    let mut pay = Expression::with_capacity(ns_i * nt);
    for t in 0..nt {
        for s in 0..ns_i {
            let w = inst.prior[t] * acc[effort][t][s];
            if w > 0.0 {
                pay.add_mul(w, gamma[s * nt + t]);
            }
        }
    }
    for (dev, dev_accuracy) in acc.iter().enumerate().take(nb_i) {
        let z: Vec<Variable> = (0..ns_i).map(|_| m.var(None)).collect();
        for own in 0..ns_i {
            for report in 0..ns_i {
                let mut e = Expression::with_capacity(1 + nt);
                e.add_mul(1.0, z[own]);
                for t in 0..nt {
                    let w = inst.prior[t] * dev_accuracy[t][own];
                    if w > 0.0 {
                        e.add_mul(-w, gamma[report * nt + t]);
                    }
                }
                m.nonnegative(e, 1 + nt);
            }
        }
        let mut e = pay.clone();
        for &zv in &z {
            e.add_mul(-1.0, zv);
        }
        let rhs = agent.costs[effort] - agent.costs[dev];
        m.nonzeros += ns_i * nt + ns_i;
        m.constraints.push(e.geq(rhs));
    }
    match m.solve(pay.clone(), false, "scoring-rule LP") {
        Ok((values, _)) => {
            let g: Vec<f64> = gamma.iter().map(|&v| values.get(v).max(0.0)).collect();
            let cost = pay.eval_with(&SolutionView(&values));
            Ok(Some((g, cost)))
        }
        Err(MechanismError::Infeasible(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::Correlation;
    use crate::mechanism::design::evaluate_obedient;
    use crate::mechanism::ic::brute_force_ic;
    use crate::mechanism::instance::tests::closed_form;

    #[test]
    fn closed_form_two_agents() {
        let inst = closed_form(2, 0.8, 0.05, Correlation::Independent);
        let solved = optimal_mechanism(&inst, None).unwrap();
        assert!((solved.objective - 2.0 / 3.0).abs() < 1e-6, "{}", solved.objective);
        let out = evaluate_obedient(&inst, &solved.mechanism);
        assert!((out.principal - 2.0 / 3.0).abs() < 1e-6, "{}", out.principal);
        let v = brute_force_ic(&inst, &solved.mechanism).unwrap();
        assert!(v.gain < 1e-7, "{}", v.describe(&inst));
    }

    #[test]
    fn a_huge_payment_cap_still_gives_the_ic_optimum() {
        // With M = 1e10 microlp's optimum pays nothing and is worth 0.8, which is not IC;
        // the true optimum is 2/3.
        for cap in [1e6, 1e10, 1e14] {
            let mut inst = closed_form(2, 0.8, 0.05, Correlation::Independent);
            inst.payment_cap = Some(cap);
            let solved = optimal_mechanism(&inst, None).unwrap();
            assert!(
                (solved.objective - 2.0 / 3.0).abs() < 1e-6,
                "cap {cap}: {}",
                solved.objective
            );
            let v = brute_force_ic(&inst, &solved.mechanism).unwrap();
            assert!(v.gain <= IC_TOLERANCE, "cap {cap}: {}", v.describe(&inst));
        }
    }

    #[test]
    fn infeasible_programs_are_errors_not_panics() {
        // Recommending work for sure with a cap below c / (q - 1/2) cannot be made IC.
        let mut inst = closed_form(1, 0.8, 0.05, Correlation::Independent);
        inst.payment_cap = Some(0.1);
        let e = optimal_mechanism(&inst, Some(&[0.0, 1.0])).unwrap_err();
        assert!(matches!(e, MechanismError::Infeasible(_)), "{e}");
        assert!(e.to_string().contains("infeasible"), "{e}");
        assert_eq!(cheapest_scoring_rule(&inst, 0, 1).unwrap(), None);
        // Without the cap it is feasible (a relaxation), and the cheapest rule pays 1/6.
        inst.payment_cap = None;
        let (_, cost) = cheapest_scoring_rule(&inst, 0, 1).unwrap().unwrap();
        assert!((cost - 0.8 / 6.0).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn three_agents_three_levels_solve_to_an_ic_mechanism() {
        let agent = |i: usize| crate::mechanism::AgentModel {
            name: format!("a{i}"),
            efforts: vec!["none".into(), "some".into(), "lots".into()],
            costs: vec![0.0, 0.02, 0.06],
            signals: vec!["x".into(), "y".into(), "z".into()],
            accuracy: vec![
                vec![vec![1.0 / 3.0; 3]; 3],
                vec![vec![0.6, 0.2, 0.2], vec![0.2, 0.6, 0.2], vec![0.2, 0.2, 0.6]],
                vec![vec![0.8, 0.1, 0.1], vec![0.1, 0.8, 0.1], vec![0.1, 0.1, 0.8]],
            ],
        };
        let inst = Instance::new(
            vec!["a".into(), "b".into(), "c".into()],
            vec![0.5, 0.3, 0.2],
            vec!["A".into(), "B".into(), "C".into()],
            vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0]],
            Some(1.0),
            (0..3).map(agent).collect(),
            Correlation::SharedNoise { rho: 0.4 },
        )
        .unwrap();
        let solved = optimal_mechanism(&inst, None).unwrap();
        assert!(solved.stats.variables > 6000);
        let v = brute_force_ic(&inst, &solved.mechanism).unwrap();
        assert!(v.gain < 1e-6, "{}", v.describe(&inst));
    }
}
