//! An information-acquisition instance (../shared/specs/information_acquisition.md): states
//! with a prior, the principal's actions and utility, agents with effort levels, costs and
//! signals, and the JOINT signal law P(s | b, theta) built from a correlation model. Plain
//! data with dense tables indexed by mixed-radix profiles, so the LP builder, the IC checker
//! and the simulation all read the same numbers.

use std::fmt;

/// A step of the path to an offending field (`agents[1].costs`), so that the scenario
/// layer can point at the file's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSeg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A validation failure: where, and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path_text(path))]
pub struct InstanceError {
    /// Path of the offending field.
    pub path: Vec<FieldSeg>,
    /// What is wrong.
    pub message: String,
}

fn path_text(path: &[FieldSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            FieldSeg::Key(k) if out.is_empty() => out.push_str(k),
            FieldSeg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            FieldSeg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn fail(path: Vec<FieldSeg>, message: impl Into<String>) -> InstanceError {
    InstanceError {
        path,
        message: message.into(),
    }
}

fn k(name: &str) -> FieldSeg {
    FieldSeg::Key(name.to_string())
}

/// Tolerance for "sums to one" checks on user tables.
pub const PROBABILITY_TOLERANCE: f64 = 1e-6;

/// One agent: effort levels with costs, signals, and its own signal law per effort.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentModel {
    /// Display name.
    pub name: String,
    /// Effort level names.
    pub efforts: Vec<String>,
    /// Cost of each effort level.
    pub costs: Vec<f64>,
    /// Signal names (also the report alphabet).
    pub signals: Vec<String>,
    /// `accuracy[b][theta][s]` = P(s_i = s | b_i = b, theta): the agent's own marginal.
    pub accuracy: Vec<Vec<Vec<f64>>>,
}

impl AgentModel {
    /// Index of the cheapest effort (the first one on ties).
    pub fn cheapest_effort(&self) -> usize {
        let mut best = 0;
        for (b, &c) in self.costs.iter().enumerate() {
            if c < self.costs[best] {
                best = b;
            }
        }
        best
    }
}

/// How the agents' signals are coupled given the effort profile and the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Correlation {
    /// Conditionally independent given theta: P(s | b, theta) = prod_i P_i(s_i | b_i, theta).
    Independent,
    /// With probability `rho` all agents share one uniform noise draw u and each reports the
    /// u-quantile of its own law (signals in their listed order); otherwise independent.
    /// Every agent's marginal is exactly its accuracy table.
    SharedNoise {
        /// Probability of the shared draw, in [0, 1].
        rho: f64,
    },
    /// An explicit table: `table[b][theta][s]` over effort and signal profiles (agent 0's
    /// index varies fastest).
    Joint {
        /// The joint law.
        table: Vec<Vec<Vec<f64>>>,
    },
}

impl Correlation {
    /// The model's name in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Correlation::Independent => "independent",
            Correlation::SharedNoise { .. } => "shared_noise",
            Correlation::Joint { .. } => "joint",
        }
    }
}

impl fmt::Display for Correlation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Correlation::SharedNoise { rho } => write!(f, "shared_noise (rho = {rho})"),
            other => f.write_str(other.name()),
        }
    }
}

/// Mixed-radix enumeration of profiles (agent 0's digit varies fastest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Radix {
    sizes: Vec<usize>,
    strides: Vec<usize>,
    count: usize,
}

impl Radix {
    /// Profiles over digits of the given sizes.
    pub fn new(sizes: Vec<usize>) -> Self {
        let mut strides = Vec::with_capacity(sizes.len());
        let mut count = 1usize;
        for &s in &sizes {
            strides.push(count);
            count = count.saturating_mul(s);
        }
        Radix { sizes, strides, count }
    }

    /// Number of profiles.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Digit `i` of `profile`.
    #[inline]
    pub fn digit(&self, profile: usize, i: usize) -> usize {
        (profile / self.strides[i]) % self.sizes[i]
    }

    /// `profile` with digit `i` replaced by `value`.
    #[inline]
    pub fn with_digit(&self, profile: usize, i: usize, value: usize) -> usize {
        profile - self.digit(profile, i) * self.strides[i] + value * self.strides[i]
    }

    /// All digits of `profile`.
    pub fn digits(&self, profile: usize) -> Vec<usize> {
        (0..self.sizes.len()).map(|i| self.digit(profile, i)).collect()
    }

    /// The profile with these digits.
    pub fn encode(&self, digits: &[usize]) -> usize {
        digits.iter().zip(&self.strides).map(|(d, s)| d * s).sum()
    }

    /// Size of digit `i`.
    pub fn size(&self, i: usize) -> usize {
        self.sizes[i]
    }
}

/// A validated instance with its joint signal law precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// State names.
    pub states: Vec<String>,
    /// Prior over states.
    pub prior: Vec<f64>,
    /// The principal's action names.
    pub actions: Vec<String>,
    /// `utility[a][theta]`.
    pub utility: Vec<Vec<f64>>,
    /// The payment cap M; `None` when the user removed it (the LP is then a relaxation).
    pub payment_cap: Option<f64>,
    /// The agents.
    pub agents: Vec<AgentModel>,
    /// The correlation model the joint law came from.
    pub correlation: Correlation,
    efforts: Radix,
    signals: Radix,
    /// `joint[(b * states + theta) * signal_profiles + s]`.
    joint: Vec<f64>,
}

/// Most signals one agent may have: the brute-force IC check enumerates all |S|^|S|
/// reporting maps (46656 at six signals).
pub const MAX_SIGNALS_PER_AGENT: usize = 6;

/// Largest number of (effort profile x state x signal profile) cells an instance may have:
/// the LP grows with it, and past this a run would take minutes to hours.
pub const MAX_JOINT_CELLS: usize = 2_000_000;

impl Instance {
    /// Validates the parts and builds the joint law.
    pub fn new(
        states: Vec<String>,
        prior: Vec<f64>,
        actions: Vec<String>,
        utility: Vec<Vec<f64>>,
        payment_cap: Option<f64>,
        agents: Vec<AgentModel>,
        correlation: Correlation,
    ) -> Result<Self, InstanceError> {
        let n_states = states.len();
        if n_states < 2 {
            return Err(fail(vec![k("states")], "needs at least two states"));
        }
        check_distinct(&states, vec![k("states")])?;
        check_distribution(&prior, n_states, vec![k("prior")], "one probability per state")?;
        if actions.is_empty() {
            return Err(fail(vec![k("actions")], "needs at least one action"));
        }
        check_distinct(&actions, vec![k("actions")])?;
        if utility.len() != actions.len() {
            return Err(fail(
                vec![k("utility")],
                format!(
                    "needs one row per action ({}), found {} rows",
                    actions.len(),
                    utility.len()
                ),
            ));
        }
        for (a, row) in utility.iter().enumerate() {
            let at = vec![k("utility"), FieldSeg::Index(a)];
            if row.len() != n_states {
                return Err(fail(
                    at,
                    format!("needs one value per state ({n_states}), found {}", row.len()),
                ));
            }
            if row.iter().any(|u| !u.is_finite()) {
                return Err(fail(at, "utilities must be finite numbers"));
            }
        }
        if let Some(m) = payment_cap
            && !(m.is_finite() && m > 0.0)
        {
            return Err(fail(
                vec![k("payment_cap")],
                format!("must be a positive number (or \"none\"), found {m}"),
            ));
        }
        if agents.is_empty() {
            return Err(fail(vec![k("agents")], "needs at least one agent"));
        }
        let names: Vec<String> = agents.iter().map(|a| a.name.clone()).collect();
        check_distinct(&names, vec![k("agents")])?;
        for (i, agent) in agents.iter().enumerate() {
            check_agent(agent, i, n_states)?;
        }
        let efforts = Radix::new(agents.iter().map(|a| a.efforts.len()).collect());
        let signals = Radix::new(agents.iter().map(|a| a.signals.len()).collect());
        let cells = efforts.count().saturating_mul(n_states).saturating_mul(signals.count());
        if cells > MAX_JOINT_CELLS {
            return Err(fail(
                vec![k("agents")],
                format!(
                    "{} effort profiles x {n_states} states x {} signal profiles = {cells} cells is more than \
                     {MAX_JOINT_CELLS}: the LP is exponential in the number of agents; use fewer agents, \
                     efforts or signals",
                    efforts.count(),
                    signals.count()
                ),
            ));
        }
        let joint = match &correlation {
            Correlation::Independent => build_coupled(&agents, &efforts, &signals, n_states, 0.0),
            Correlation::SharedNoise { rho } => {
                if !(0.0..=1.0).contains(rho) {
                    return Err(fail(
                        vec![k("correlation"), k("rho")],
                        format!("must be a probability in [0, 1], found {rho}"),
                    ));
                }
                build_coupled(&agents, &efforts, &signals, n_states, *rho)
            }
            Correlation::Joint { table } => check_joint(table, &agents, &efforts, &signals, n_states)?,
        };
        Ok(Instance {
            states,
            prior,
            actions,
            utility,
            payment_cap,
            agents,
            correlation,
            efforts,
            signals,
            joint,
        })
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.states.len()
    }

    /// Number of agents.
    pub fn n_agents(&self) -> usize {
        self.agents.len()
    }

    /// Effort profiles.
    pub fn efforts(&self) -> &Radix {
        &self.efforts
    }

    /// Signal (and report) profiles.
    pub fn signals(&self) -> &Radix {
        &self.signals
    }

    /// P(s | b, theta).
    #[inline]
    pub fn p_signal(&self, b: usize, theta: usize, s: usize) -> f64 {
        self.joint[(b * self.n_states() + theta) * self.signals.count() + s]
    }

    /// P(. | b, theta) over signal profiles.
    #[inline]
    pub fn signal_law(&self, b: usize, theta: usize) -> &[f64] {
        let n = self.signals.count();
        let start = (b * self.n_states() + theta) * n;
        &self.joint[start..start + n]
    }

    /// The principal's Bayes-optimal action after seeing signal profile `s` under effort
    /// profile `b`, and the unnormalised expected utility sum_theta mu P(s|b,theta) u(a,theta)
    /// of taking it (ties go to the lowest action index).
    pub fn bayes_action(&self, b: usize, s: usize) -> (usize, f64) {
        let mut best = (0, f64::NEG_INFINITY);
        for (a, row) in self.utility.iter().enumerate() {
            let value: f64 = (0..self.n_states())
                .map(|t| self.prior[t] * self.p_signal(b, t, s) * row[t])
                .sum();
            if value > best.1 + 1e-12 {
                best = (a, value);
            }
        }
        best
    }

    /// V(b): the principal's expected utility from deciding on truthful signals of profile `b`.
    pub fn decision_value(&self, b: usize) -> f64 {
        (0..self.signals.count()).map(|s| self.bayes_action(b, s).1).sum()
    }

    /// The principal's best expected utility without any information.
    pub fn prior_value(&self) -> f64 {
        self.utility
            .iter()
            .map(|row| row.iter().zip(&self.prior).map(|(u, p)| u * p).sum::<f64>())
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// The instance with only agent `i` (its marginal law), for single-hire baselines.
    pub fn single_agent(&self, i: usize) -> Instance {
        Instance::new(
            self.states.clone(),
            self.prior.clone(),
            self.actions.clone(),
            self.utility.clone(),
            self.payment_cap,
            vec![self.agents[i].clone()],
            Correlation::Independent,
        )
        .expect("a sub-instance of a valid instance is valid")
    }

    /// The same instance with a different joint law (same agents and marginals), e.g. the
    /// online principal's estimate.
    pub fn with_joint(&self, joint: Vec<f64>) -> Instance {
        assert_eq!(joint.len(), self.joint.len(), "joint law of the same shape");
        Instance { joint, ..self.clone() }
    }

    /// The same instance with different effort costs.
    pub fn with_costs(&self, costs: Vec<Vec<f64>>) -> Instance {
        let mut out = self.clone();
        for (agent, c) in out.agents.iter_mut().zip(costs) {
            agent.costs = c;
        }
        out
    }
}

fn check_distinct(names: &[String], at: Vec<FieldSeg>) -> Result<(), InstanceError> {
    for (i, n) in names.iter().enumerate() {
        if n.trim().is_empty() {
            let mut p = at.clone();
            p.push(FieldSeg::Index(i));
            return Err(fail(p, "names must not be empty"));
        }
        if names[..i].contains(n) {
            let mut p = at.clone();
            p.push(FieldSeg::Index(i));
            return Err(fail(p, format!("\"{n}\" appears twice; names must be distinct")));
        }
    }
    Ok(())
}

fn check_distribution(p: &[f64], len: usize, at: Vec<FieldSeg>, what: &str) -> Result<(), InstanceError> {
    if p.len() != len {
        return Err(fail(at, format!("needs {what} ({len} values), found {}", p.len())));
    }
    if let Some(bad) = p.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
        return Err(fail(at, format!("probabilities must be >= 0, found {bad}")));
    }
    let sum: f64 = p.iter().sum();
    if (sum - 1.0).abs() > PROBABILITY_TOLERANCE {
        return Err(fail(at, format!("probabilities must sum to 1, they sum to {sum}")));
    }
    Ok(())
}

fn check_agent(agent: &AgentModel, i: usize, n_states: usize) -> Result<(), InstanceError> {
    let at = |key: &str| vec![k("agents"), FieldSeg::Index(i), k(key)];
    if agent.efforts.is_empty() {
        return Err(fail(at("efforts"), "needs at least one effort level"));
    }
    check_distinct(&agent.efforts, at("efforts"))?;
    if agent.signals.is_empty() {
        return Err(fail(at("signals"), "needs at least one signal"));
    }
    check_distinct(&agent.signals, at("signals"))?;
    if agent.signals.len() > MAX_SIGNALS_PER_AGENT {
        return Err(fail(
            at("signals"),
            format!(
                "{} signals is more than {MAX_SIGNALS_PER_AGENT}: the brute-force IC check enumerates all |S|^|S| \
                 reporting maps",
                agent.signals.len()
            ),
        ));
    }
    if agent.costs.len() != agent.efforts.len() {
        return Err(fail(
            at("costs"),
            format!(
                "needs one cost per effort level ({}), found {}",
                agent.efforts.len(),
                agent.costs.len()
            ),
        ));
    }
    if let Some(c) = agent.costs.iter().find(|c| !(c.is_finite() && **c >= 0.0)) {
        return Err(fail(at("costs"), format!("costs must be finite and >= 0, found {c}")));
    }
    if agent.accuracy.len() != agent.efforts.len() {
        return Err(fail(
            at("accuracy"),
            format!(
                "needs one table per effort level ({}), found {}",
                agent.efforts.len(),
                agent.accuracy.len()
            ),
        ));
    }
    for (b, table) in agent.accuracy.iter().enumerate() {
        let mut here = at("accuracy");
        here.push(FieldSeg::Index(b));
        if table.len() != n_states {
            return Err(fail(
                here,
                format!(
                    "needs one row per state ({n_states}) for effort \"{}\", found {}",
                    agent.efforts[b],
                    table.len()
                ),
            ));
        }
        for (t, row) in table.iter().enumerate() {
            let mut cell = here.clone();
            cell.push(FieldSeg::Index(t));
            check_distribution(row, agent.signals.len(), cell, "one probability per signal")?;
        }
    }
    Ok(())
}

/// The coupled law: (1 - rho) x product + rho x comonotone (shared uniform draw).
fn build_coupled(agents: &[AgentModel], efforts: &Radix, signals: &Radix, n_states: usize, rho: f64) -> Vec<f64> {
    let ns = signals.count();
    let mut joint = vec![0.0; efforts.count() * n_states * ns];
    for b in 0..efforts.count() {
        for t in 0..n_states {
            let rows: Vec<&[f64]> = agents
                .iter()
                .enumerate()
                .map(|(i, a)| a.accuracy[efforts.digit(b, i)][t].as_slice())
                .collect();
            let base = (b * n_states + t) * ns;
            for s in 0..ns {
                let product: f64 = rows
                    .iter()
                    .enumerate()
                    .map(|(i, row)| row[signals.digit(s, i)])
                    .product();
                let shared = if rho > 0.0 {
                    // Length of the intersection of each agent's quantile interval.
                    let mut lo: f64 = 0.0;
                    let mut hi: f64 = 1.0;
                    for (i, row) in rows.iter().enumerate() {
                        let d = signals.digit(s, i);
                        let start: f64 = row[..d].iter().sum();
                        lo = lo.max(start);
                        hi = hi.min(start + row[d]);
                    }
                    (hi - lo).max(0.0)
                } else {
                    0.0
                };
                joint[base + s] = (1.0 - rho) * product + rho * shared;
            }
        }
    }
    joint
}

fn check_joint(
    table: &[Vec<Vec<f64>>],
    agents: &[AgentModel],
    efforts: &Radix,
    signals: &Radix,
    n_states: usize,
) -> Result<Vec<f64>, InstanceError> {
    let at = || vec![k("correlation"), k("table")];
    if table.len() != efforts.count() {
        return Err(fail(
            at(),
            format!(
                "needs one block per effort profile ({}, agent 0's effort varying fastest), found {}",
                efforts.count(),
                table.len()
            ),
        ));
    }
    let ns = signals.count();
    let mut joint = Vec::with_capacity(efforts.count() * n_states * ns);
    for (b, block) in table.iter().enumerate() {
        if block.len() != n_states {
            let mut p = at();
            p.push(FieldSeg::Index(b));
            return Err(fail(
                p,
                format!("needs one row per state ({n_states}), found {}", block.len()),
            ));
        }
        for (t, row) in block.iter().enumerate() {
            let mut p = at();
            p.push(FieldSeg::Index(b));
            p.push(FieldSeg::Index(t));
            check_distribution(row, ns, p, "one probability per signal profile")?;
            joint.extend_from_slice(row);
        }
    }
    // Each agent's marginal must depend on its own effort only and match its table.
    for (i, agent) in agents.iter().enumerate() {
        for b in 0..efforts.count() {
            for t in 0..n_states {
                for own in 0..agent.signals.len() {
                    let marginal: f64 = (0..ns)
                        .filter(|&s| signals.digit(s, i) == own)
                        .map(|s| joint[(b * n_states + t) * ns + s])
                        .sum();
                    let expected = agent.accuracy[efforts.digit(b, i)][t][own];
                    if (marginal - expected).abs() > 1e-6 {
                        let mut p = at();
                        p.push(FieldSeg::Index(b));
                        p.push(FieldSeg::Index(t));
                        return Err(fail(
                            p,
                            format!(
                                "agent \"{}\"'s marginal P({} | {}, {}) is {marginal:.6} here but {expected:.6} in its \
                                 accuracy table: an agent's own signal law may depend only on its own effort",
                                agent.name,
                                agent.signals[own],
                                agent.efforts[efforts.digit(b, i)],
                                t
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(joint)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The spec's closed-form instance: two states, uniform prior, guess the state; agents
    /// that shirk (uniform bit, cost 0) or work (right with probability q, cost c).
    pub fn closed_form(n_agents: usize, q: f64, c: f64, correlation: Correlation) -> Instance {
        let agent = |i: usize| AgentModel {
            name: format!("agent{i}"),
            efforts: vec!["shirk".into(), "work".into()],
            costs: vec![0.0, c],
            signals: vec!["says0".into(), "says1".into()],
            accuracy: vec![
                vec![vec![0.5, 0.5], vec![0.5, 0.5]],
                vec![vec![q, 1.0 - q], vec![1.0 - q, q]],
            ],
        };
        Instance::new(
            vec!["0".into(), "1".into()],
            vec![0.5, 0.5],
            vec!["guess0".into(), "guess1".into()],
            vec![vec![1.0, 0.0], vec![0.0, 1.0]],
            Some(1.0),
            (0..n_agents).map(agent).collect(),
            correlation,
        )
        .unwrap()
    }

    #[test]
    fn joint_laws_are_distributions_with_the_right_marginals() {
        for rho in [0.0, 0.3, 1.0] {
            let inst = closed_form(3, 0.8, 0.05, Correlation::SharedNoise { rho });
            for b in 0..inst.efforts().count() {
                for t in 0..2 {
                    let law = inst.signal_law(b, t);
                    assert!((law.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                    for i in 0..3 {
                        let own = inst.efforts().digit(b, i);
                        let m: f64 = (0..law.len())
                            .filter(|&s| inst.signals().digit(s, i) == 1)
                            .map(|s| law[s])
                            .sum();
                        assert!((m - inst.agents[i].accuracy[own][t][1]).abs() < 1e-12);
                    }
                }
            }
        }
        // Full sharing between two identical workers: they always agree.
        let inst = closed_form(2, 0.8, 0.05, Correlation::SharedNoise { rho: 1.0 });
        let both_work = inst.efforts().encode(&[1, 1]);
        let disagree = inst.signals().encode(&[0, 1]);
        assert_eq!(inst.p_signal(both_work, 0, disagree), 0.0);
    }

    #[test]
    fn decision_values_match_hand_computation() {
        let inst = closed_form(2, 0.8, 0.05, Correlation::Independent);
        assert!((inst.prior_value() - 0.5).abs() < 1e-12);
        assert!((inst.decision_value(inst.efforts().encode(&[1, 0])) - 0.8).abs() < 1e-12);
        // Two independent 0.8 signals: agreeing pairs are right, ties are coin flips.
        assert!((inst.decision_value(inst.efforts().encode(&[1, 1])) - 0.8).abs() < 1e-12);
    }

    #[test]
    fn bad_tables_name_the_field() {
        let mut agent = closed_form(1, 0.8, 0.05, Correlation::Independent).agents[0].clone();
        agent.accuracy[1][0] = vec![0.7, 0.2];
        let e = Instance::new(
            vec!["0".into(), "1".into()],
            vec![0.5, 0.5],
            vec!["a".into()],
            vec![vec![1.0, 0.0]],
            Some(1.0),
            vec![agent],
            Correlation::Independent,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "agents[0].accuracy[1][0]: probabilities must sum to 1, they sum to 0.8999999999999999"
        );
    }
}
