//! The brute-force incentive-compatibility check. Deliberately independent of the LP: no z
//! variables, no per-signal decomposition; for every agent, every recommendation it can
//! receive, every effort it could exert instead and EVERY reporting map (|S_i|^|S_i| of
//! them) it sums the expected payment directly from phi, gamma and the joint law, and
//! compares with obeying and reporting truthfully. Gains are conditional on the
//! recommendation (per unit of probability of being told it).

use super::design::Mechanism;
use super::instance::Instance;

/// The most profitable deviation found.
#[derive(Debug, Clone, PartialEq)]
pub struct IcViolation {
    /// Largest conditional gain over obeying (<= 0 up to rounding for an IC mechanism).
    pub gain: f64,
    /// The deviating agent.
    pub agent: usize,
    /// The recommendation it deviates from.
    pub recommended: usize,
    /// The effort it exerts instead.
    pub effort: usize,
    /// Its report for each signal.
    pub reports: Vec<usize>,
    /// Probability of being told `recommended`.
    pub told: f64,
}

impl IcViolation {
    /// A readable description.
    pub fn describe(&self, inst: &Instance) -> String {
        let a = &inst.agents[self.agent];
        let reports: Vec<&str> = self.reports.iter().map(|&r| a.signals[r].as_str()).collect();
        format!(
            "{} told {} (probability {:.3e}) exerts {} and reports [{}]: gain {:.3e}",
            a.name,
            a.efforts[self.recommended],
            self.told,
            a.efforts[self.effort],
            reports.join(", "),
            self.gain
        )
    }
}

/// Checks every deviation of every agent; returns the most profitable one (its gain is 0
/// when obedience is a best response everywhere, and exactly 0 for an agent with a single
/// effort and signal). `None` only when no agent can deviate at all.
pub fn brute_force_ic(inst: &Instance, mech: &Mechanism) -> Option<IcViolation> {
    let mut worst: Option<IcViolation> = None;
    for i in 0..inst.n_agents() {
        let agent = &inst.agents[i];
        let ns_i = agent.signals.len();
        // Instances allow at most MAX_SIGNALS_PER_AGENT signals, so this stays small.
        let maps = ns_i.pow(ns_i as u32);
        for rec in 0..agent.efforts.len() {
            let told = mech.recommendation_probability(inst, i, rec);
            if told <= 1e-12 {
                continue;
            }
            let truthful: Vec<usize> = (0..ns_i).collect();
            let obey = utility(inst, mech, i, rec, rec, &truthful) / told;
            for effort in 0..agent.efforts.len() {
                let mut map = vec![0usize; ns_i];
                for code in 0..maps {
                    let mut c = code;
                    for slot in map.iter_mut() {
                        *slot = c % ns_i;
                        c /= ns_i;
                    }
                    let gain = utility(inst, mech, i, rec, effort, &map) / told - obey;
                    if worst.as_ref().is_none_or(|w| gain > w.gain) {
                        worst = Some(IcViolation {
                            gain,
                            agent: i,
                            recommended: rec,
                            effort,
                            reports: map.clone(),
                            told,
                        });
                    }
                }
            }
        }
    }
    worst
}

/// Unnormalised expected utility of agent `i` told `rec`, exerting `effort` and reporting
/// `map[signal]`, while everyone else obeys and reports truthfully.
fn utility(inst: &Instance, mech: &Mechanism, i: usize, rec: usize, effort: usize, map: &[usize]) -> f64 {
    let (efforts, signals) = (inst.efforts(), inst.signals());
    let cost = inst.agents[i].costs[effort];
    let mut total = 0.0;
    for b in 0..efforts.count() {
        if efforts.digit(b, i) != rec || mech.phi[b] <= 0.0 {
            continue;
        }
        let actual = efforts.with_digit(b, i, effort);
        let mut paid = 0.0;
        for theta in 0..inst.n_states() {
            for s in 0..signals.count() {
                let p = inst.p_signal(actual, theta, s);
                if p == 0.0 {
                    continue;
                }
                let report = signals.with_digit(s, i, map[signals.digit(s, i)]);
                paid += inst.prior[theta] * p * mech.payment(inst, i, b, report, theta);
            }
        }
        total += mech.phi[b] * (paid - cost);
    }
    total
}
