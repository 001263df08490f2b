//! A mechanism (phi, pi, gamma) on an instance, agents' strategies against it, and exact
//! expected utilities: the principal's, and each agent's payment, cost and utility, for
//! obedient truthful play or any profile of (effort, report map) strategies. Everything
//! here is plain summation over the instance's tables: the simulation's predictions, the
//! equilibrium search and the online principal's regret all come from `evaluate`.

use super::instance::Instance;

/// A mechanism: correlated effort recommendations, a decision rule and payments.
#[derive(Debug, Clone, PartialEq)]
pub struct Mechanism {
    /// What it is ("optimal", "uncorrelated", ...).
    pub label: String,
    /// phi: probability of recommending each effort profile.
    pub phi: Vec<f64>,
    /// pi: action for (recommended profile b, reported profile s) at `b * signal_profiles + s`.
    pub decision: Vec<usize>,
    /// gamma_i: payment to agent i at `(b * signal_profiles + s) * states + theta`, in [0, M].
    pub payments: Vec<Vec<f64>>,
}

impl Mechanism {
    /// A mechanism that recommends `phi`, decides Bayes-optimally on truthful reports and pays
    /// nothing yet (payments are filled in by the caller).
    pub fn bayes(inst: &Instance, label: &str, phi: Vec<f64>) -> Self {
        let ns = inst.signals().count();
        let nb = inst.efforts().count();
        let mut decision = vec![0; nb * ns];
        for b in 0..nb {
            for s in 0..ns {
                decision[b * ns + s] = inst.bayes_action(b, s).0;
            }
        }
        let cells = nb * ns * inst.n_states();
        Mechanism {
            label: label.to_string(),
            phi,
            decision,
            payments: vec![vec![0.0; cells]; inst.n_agents()],
        }
    }

    /// Payment to agent `i` for recommendation `b`, reports `s`, state `theta`.
    #[inline]
    pub fn payment(&self, inst: &Instance, i: usize, b: usize, s: usize, theta: usize) -> f64 {
        self.payments[i][(b * inst.signals().count() + s) * inst.n_states() + theta]
    }

    /// The action for recommendation `b` and reports `s`.
    #[inline]
    pub fn action(&self, inst: &Instance, b: usize, s: usize) -> usize {
        self.decision[b * inst.signals().count() + s]
    }

    /// phi_i(b_i): probability that agent `i` is told `effort`.
    pub fn recommendation_probability(&self, inst: &Instance, i: usize, effort: usize) -> f64 {
        (0..inst.efforts().count())
            .filter(|&b| inst.efforts().digit(b, i) == effort)
            .map(|b| self.phi[b])
            .sum()
    }

    /// The largest payment anywhere.
    pub fn max_payment(&self) -> f64 {
        self.payments.iter().flatten().copied().fold(0.0, f64::max)
    }
}

/// One agent's pure strategy: for each effort it may be told, the effort it actually exerts
/// and the report it sends for each signal it may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Strategy {
    /// `effort[recommended]` = exerted effort.
    pub effort: Vec<usize>,
    /// `report[recommended][signal]` = reported signal.
    pub report: Vec<Vec<usize>>,
}

impl Strategy {
    /// Obey every recommendation and report truthfully.
    pub fn obedient(inst: &Instance, i: usize) -> Self {
        let a = &inst.agents[i];
        Strategy {
            effort: (0..a.efforts.len()).collect(),
            report: vec![(0..a.signals.len()).collect(); a.efforts.len()],
        }
    }

    /// Whether this is obedient and truthful for every recommendation.
    pub fn is_obedient(&self) -> bool {
        self.effort.iter().enumerate().all(|(r, &e)| r == e)
            && self.report.iter().all(|m| m.iter().enumerate().all(|(s, &x)| s == x))
    }

    /// A readable description with the instance's names.
    pub fn describe(&self, inst: &Instance, i: usize) -> String {
        if self.is_obedient() {
            return "obey, report truthfully".into();
        }
        let a = &inst.agents[i];
        let parts: Vec<String> = self
            .effort
            .iter()
            .enumerate()
            .map(|(r, &e)| {
                let reports: Vec<&str> = self.report[r].iter().map(|&x| a.signals[x].as_str()).collect();
                format!(
                    "told {} -> {} reporting [{}]",
                    a.efforts[r],
                    a.efforts[e],
                    reports.join(", ")
                )
            })
            .collect();
        parts.join("; ")
    }
}

/// Expected outcome of a mechanism under a strategy profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The principal's expected utility (decision value minus all payments).
    pub principal: f64,
    /// The principal's expected decision value alone.
    pub decision_value: f64,
    /// Each agent's expected payment.
    pub payments: Vec<f64>,
    /// Each agent's expected effort cost.
    pub costs: Vec<f64>,
}

impl Outcome {
    /// Agent `i`'s expected utility (payment minus cost).
    pub fn agent_utility(&self, i: usize) -> f64 {
        self.payments[i] - self.costs[i]
    }

    /// Total expected payment.
    pub fn total_payment(&self) -> f64 {
        self.payments.iter().sum()
    }
}

/// Exact expected utilities of `mech` when agents play `strategies`.
pub fn evaluate(inst: &Instance, mech: &Mechanism, strategies: &[Strategy]) -> Outcome {
    let n = inst.n_agents();
    let (efforts, signals) = (inst.efforts(), inst.signals());
    let mut out = Outcome {
        principal: 0.0,
        decision_value: 0.0,
        payments: vec![0.0; n],
        costs: vec![0.0; n],
    };
    let mut exerted = vec![0usize; n];
    let mut reported = vec![0usize; n];
    for b in 0..efforts.count() {
        let weight = mech.phi[b];
        if weight <= 0.0 {
            continue;
        }
        for (i, st) in strategies.iter().enumerate() {
            exerted[i] = st.effort[efforts.digit(b, i)];
            out.costs[i] += weight * inst.agents[i].costs[exerted[i]];
        }
        let actual = efforts.encode(&exerted);
        for theta in 0..inst.n_states() {
            let w = weight * inst.prior[theta];
            if w <= 0.0 {
                continue;
            }
            for (s, &p) in inst.signal_law(actual, theta).iter().enumerate() {
                if p <= 0.0 {
                    continue;
                }
                for (i, st) in strategies.iter().enumerate() {
                    reported[i] = st.report[efforts.digit(b, i)][signals.digit(s, i)];
                }
                let r = signals.encode(&reported);
                let value = inst.utility[mech.action(inst, b, r)][theta];
                out.decision_value += w * p * value;
                for i in 0..n {
                    out.payments[i] += w * p * mech.payment(inst, i, b, r, theta);
                }
            }
        }
    }
    out.principal = out.decision_value - out.total_payment();
    out
}

/// Expected outcome when every agent obeys and reports truthfully.
pub fn evaluate_obedient(inst: &Instance, mech: &Mechanism) -> Outcome {
    let strategies: Vec<Strategy> = (0..inst.n_agents()).map(|i| Strategy::obedient(inst, i)).collect();
    evaluate(inst, mech, &strategies)
}

/// Agent `i`'s best response to `mech` when the others play `others[j]` (entry `i` ignored):
/// for each recommendation, the effort and the report per signal that maximise its expected
/// payment minus cost. Ties keep obedience and truth (within `tolerance`). Returns the
/// strategy and its expected utility.
pub fn best_response(
    inst: &Instance,
    mech: &Mechanism,
    others: &[Strategy],
    i: usize,
    tolerance: f64,
) -> (Strategy, f64) {
    let (efforts, signals) = (inst.efforts(), inst.signals());
    let agent = &inst.agents[i];
    let (nb_i, ns_i) = (agent.efforts.len(), agent.signals.len());
    let mut strategy = Strategy::obedient(inst, i);
    let mut total = 0.0;
    let mut exerted = vec![0usize; inst.n_agents()];
    let mut reported = vec![0usize; inst.n_agents()];
    for rec in 0..nb_i {
        // value[e][signal][report]: expected payment for exerting e, seeing signal, reporting.
        let mut value = vec![0.0; nb_i * ns_i * ns_i];
        let mut told = 0.0;
        for b in (0..efforts.count()).filter(|&b| efforts.digit(b, i) == rec) {
            let weight = mech.phi[b];
            if weight <= 0.0 {
                continue;
            }
            told += weight;
            for (j, st) in others.iter().enumerate() {
                if j != i {
                    exerted[j] = st.effort[efforts.digit(b, j)];
                }
            }
            for e in 0..nb_i {
                exerted[i] = e;
                let actual = efforts.encode(&exerted);
                for theta in 0..inst.n_states() {
                    let w = weight * inst.prior[theta];
                    for (s, &p) in inst.signal_law(actual, theta).iter().enumerate() {
                        if p <= 0.0 || w <= 0.0 {
                            continue;
                        }
                        for (j, st) in others.iter().enumerate() {
                            if j != i {
                                reported[j] = st.report[efforts.digit(b, j)][signals.digit(s, j)];
                            }
                        }
                        let own = signals.digit(s, i);
                        for r in 0..ns_i {
                            reported[i] = r;
                            let rs = signals.encode(&reported);
                            value[(e * ns_i + own) * ns_i + r] += w * p * mech.payment(inst, i, b, rs, theta);
                        }
                    }
                }
            }
        }
        let mut best: Option<(usize, Vec<usize>, f64)> = None;
        for e in 0..nb_i {
            let mut map = Vec::with_capacity(ns_i);
            let mut u = -told * agent.costs[e];
            for own in 0..ns_i {
                let row = &value[(e * ns_i + own) * ns_i..(e * ns_i + own + 1) * ns_i];
                let mut pick = own;
                for (r, &v) in row.iter().enumerate() {
                    if v > row[pick] + tolerance {
                        pick = r;
                    }
                }
                u += row[pick];
                map.push(pick);
            }
            let better = match &best {
                None => true,
                Some((be, _, bu)) => {
                    if e == rec {
                        u >= *bu - tolerance
                    } else if *be == rec {
                        u > *bu + tolerance
                    } else {
                        u > *bu
                    }
                }
            };
            if better {
                best = Some((e, map, u));
            }
        }
        let (e, map, u) = best.expect("at least one effort");
        strategy.effort[rec] = e;
        strategy.report[rec] = map;
        total += u;
    }
    (strategy, total)
}
