//! Information acquisition as a bevy_ecs World: the principal's mechanism and the round in
//! progress are resources (there is one of each), and each agent is an entity whose
//! components split its identity, how it plays, its moves this round and its payoff. A round
//! per schedule run, through the spec's phases as systems in declared order: recommend ->
//! effort -> signal -> report -> decide -> pay -> record. One World per replicate; all
//! randomness comes from the replicate seed (a nature stream for states, recommendations and
//! signals; one stream per learning agent).

use std::sync::Arc;

use bevy_ecs::prelude::*;

use super::{phase_schedule, phase_world, run_phases};
use crate::core::error::{Error, Result};
use crate::core::rng::{SimRng, Stream, derive_seed};
use crate::mechanism::design::{Mechanism, Strategy};
use crate::mechanism::instance::Instance;

/// How an agent plays.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Best-responds to the mechanism, assuming the others obey (obeys an IC mechanism).
    Rational,
    /// Fixed deviation: exert `effort` whatever it is told (None: obey) and report
    /// `reports[signal]` (None: truthfully).
    Scripted {
        /// Effort exerted regardless of the recommendation.
        effort: Option<usize>,
        /// Report for each signal.
        reports: Option<Vec<usize>>,
    },
    /// No-regret learning from its own payments: EXP3 over efforts for each recommendation
    /// (rewarded by payment minus cost) and Hedge over reports for each (recommendation,
    /// effort, signal) with full information; `rate` is EXP3's gamma and Hedge's eta
    /// (default: the horizon-tuned values).
    Learner {
        /// Exploration / learning rate gamma in (0, 1].
        rate: Option<f64>,
    },
}

impl Behaviour {
    /// The name used in scenario files and outputs.
    pub fn name(&self) -> &'static str {
        match self {
            Behaviour::Rational => "rational",
            Behaviour::Scripted { .. } => "scripted",
            Behaviour::Learner { .. } => "learner",
        }
    }
}

/// One agent's round.
#[derive(Debug, Clone, PartialEq)]
pub struct InfoRow {
    /// Round index.
    pub round: u64,
    /// Agent index.
    pub agent: usize,
    /// Recommended effort.
    pub recommended: usize,
    /// Exerted effort.
    pub effort: usize,
    /// Observed signal.
    pub signal: usize,
    /// Reported signal.
    pub report: usize,
    /// The state.
    pub state: usize,
    /// The principal's action.
    pub action: usize,
    /// Payment received.
    pub payment: f64,
    /// Effort cost paid.
    pub cost: f64,
    /// The principal's utility this round (same on every agent's row of the round).
    pub principal_utility: f64,
}

/// EXP3 for one recommendation: arms are efforts.
#[derive(Debug, Clone)]
struct Exp3 {
    log_weights: Vec<f64>,
    gamma: f64,
    probabilities: Vec<f64>,
}

impl Exp3 {
    fn new(arms: usize, gamma: f64) -> Self {
        Exp3 {
            log_weights: vec![0.0; arms],
            gamma,
            probabilities: vec![1.0 / arms as f64; arms],
        }
    }

    fn draw(&mut self, rng: &mut SimRng) -> usize {
        let k = self.log_weights.len() as f64;
        let top = self.log_weights.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = self.log_weights.iter().map(|w| (w - top).exp()).sum();
        for (p, w) in self.probabilities.iter_mut().zip(&self.log_weights) {
            *p = (1.0 - self.gamma) * (w - top).exp() / total + self.gamma / k;
        }
        rng.weighted_index(&self.probabilities)
    }

    fn update(&mut self, arm: usize, reward: f64) {
        let k = self.log_weights.len() as f64;
        self.log_weights[arm] += self.gamma * reward / (self.probabilities[arm] * k);
    }
}

/// Hedge (exponential weights) with full information: every arm's reward is seen.
#[derive(Debug, Clone)]
struct Hedge {
    log_weights: Vec<f64>,
    eta: f64,
}

impl Hedge {
    fn draw(&self, rng: &mut SimRng) -> usize {
        let top = self.log_weights.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = self.log_weights.iter().map(|w| (w - top).exp()).collect();
        rng.weighted_index(&weights)
    }

    fn update(&mut self, rewards: &[f64]) {
        for (w, r) in self.log_weights.iter_mut().zip(rewards) {
            *w += self.eta * r;
        }
    }
}

/// How an agent entity decides.
#[derive(Component)]
enum Play {
    Fixed(Strategy),
    /// EXP3 over efforts per recommendation (bandit feedback: only the played effort's
    /// reward is seen); Hedge over reports per (recommendation, effort, signal) with full
    /// information (the payment rule is public, so after the round the payment every other
    /// report would have earned is known).
    Learning {
        efforts: Vec<Exp3>,
        reports: Vec<Hedge>,
        rng: Box<SimRng>,
        signals: usize,
        reward_offset: f64,
        reward_scale: f64,
    },
}

/// An agent's identity: its index in the instance.
#[derive(Component)]
struct Agent(usize);

/// An agent's moves this round.
#[derive(Component, Default)]
struct Moves {
    recommended: usize,
    effort: usize,
    signal: usize,
    report: usize,
}

/// What an agent was paid this round and what its effort cost.
#[derive(Component, Default)]
struct Payoff {
    payment: f64,
    cost: f64,
}

/// The principal: the mechanism it committed to.
#[derive(Resource)]
struct Principal {
    mechanism: Mechanism,
}

#[derive(Resource)]
struct Model(Instance);

/// The round in progress.
#[derive(Resource)]
struct Round {
    index: u64,
    total: u64,
    nature: SimRng,
    state: usize,
    recommended: usize,
    action: usize,
    principal_utility: f64,
    efforts: Vec<usize>,
    reports: Vec<usize>,
}

#[derive(Resource, Default)]
struct Log(Vec<InfoRow>);

#[derive(Resource)]
struct Progress(Arc<dyn Fn(u64) + Send + Sync>);

fn recommend(
    mut round: ResMut<Round>,
    model: Res<Model>,
    principal: Res<Principal>,
    mut agents: Query<(&Agent, &mut Moves)>,
) {
    let inst = &model.0;
    let round = &mut *round;
    round.state = round.nature.weighted_index(&inst.prior);
    round.recommended = round.nature.weighted_index(&principal.mechanism.phi);
    for (agent, mut moves) in &mut agents {
        moves.recommended = inst.efforts().digit(round.recommended, agent.0);
    }
}

fn exert(model: Res<Model>, mut round: ResMut<Round>, mut agents: Query<(&Agent, &mut Play, &mut Moves, &mut Payoff)>) {
    let inst = &model.0;
    for (agent, mut play, mut moves, mut payoff) in &mut agents {
        let rec = moves.recommended;
        moves.effort = match &mut *play {
            Play::Fixed(s) => s.effort[rec],
            Play::Learning { efforts, rng, .. } => efforts[rec].draw(rng),
        };
        payoff.cost = inst.agents[agent.0].costs[moves.effort];
        round.efforts[agent.0] = moves.effort;
    }
}

fn signal(model: Res<Model>, mut round: ResMut<Round>, mut agents: Query<(&Agent, &mut Moves)>) {
    let inst = &model.0;
    let round = &mut *round;
    let actual = inst.efforts().encode(&round.efforts);
    let s = round.nature.weighted_index(inst.signal_law(actual, round.state));
    for (agent, mut moves) in &mut agents {
        moves.signal = inst.signals().digit(s, agent.0);
    }
}

fn report(model: Res<Model>, mut round: ResMut<Round>, mut agents: Query<(&Agent, &mut Play, &mut Moves)>) {
    let inst = &model.0;
    for (agent, mut play, mut moves) in &mut agents {
        let efforts = inst.agents[agent.0].efforts.len();
        moves.report = match &mut *play {
            Play::Fixed(s) => s.report[moves.recommended][moves.signal],
            Play::Learning {
                reports, rng, signals, ..
            } => reports[(moves.recommended * efforts + moves.effort) * *signals + moves.signal].draw(rng),
        };
        round.reports[agent.0] = moves.report;
    }
}

fn decide(model: Res<Model>, mut round: ResMut<Round>, principal: Res<Principal>) {
    let inst = &model.0;
    let r = inst.signals().encode(&round.reports);
    round.action = principal.mechanism.action(inst, round.recommended, r);
}

fn pay(
    model: Res<Model>,
    mut round: ResMut<Round>,
    principal: Res<Principal>,
    mut agents: Query<(&Agent, &mut Play, &Moves, &mut Payoff)>,
) {
    let inst = &model.0;
    let r = inst.signals().encode(&round.reports);
    let mut total = 0.0;
    for (agent, mut play, moves, mut payoff) in &mut agents {
        let index = agent.0;
        payoff.payment = principal
            .mechanism
            .payment(inst, index, round.recommended, r, round.state);
        total += payoff.payment;
        if let Play::Learning {
            efforts,
            reports,
            signals,
            reward_offset,
            reward_scale,
            ..
        } = &mut *play
        {
            let reward = ((payoff.payment - payoff.cost + *reward_offset) / *reward_scale).clamp(0.0, 1.0);
            efforts[moves.recommended].update(moves.effort, reward);
            let cap = *reward_scale - *reward_offset;
            let counterfactual: Vec<f64> = (0..*signals)
                .map(|x| {
                    let alternative = inst.signals().with_digit(r, index, x);
                    principal
                        .mechanism
                        .payment(inst, index, round.recommended, alternative, round.state)
                        / cap
                })
                .collect();
            let n_efforts = efforts.len();
            reports[(moves.recommended * n_efforts + moves.effort) * *signals + moves.signal].update(&counterfactual);
        }
    }
    round.principal_utility = inst.utility[round.action][round.state] - total;
}

fn record(
    mut round: ResMut<Round>,
    mut log: ResMut<Log>,
    agents: Query<(&Agent, &Moves, &Payoff)>,
    progress: Res<Progress>,
) {
    let mut rows: Vec<InfoRow> = agents
        .iter()
        .map(|(agent, moves, payoff)| InfoRow {
            round: round.index,
            agent: agent.0,
            recommended: moves.recommended,
            effort: moves.effort,
            signal: moves.signal,
            report: moves.report,
            state: round.state,
            action: round.action,
            payment: payoff.payment,
            cost: payoff.cost,
            principal_utility: round.principal_utility,
        })
        .collect();
    rows.sort_by_key(|r| r.agent);
    log.0.extend(rows);
    round.index += 1;
    if round.index.is_multiple_of(1024) {
        (progress.0)(1024);
    } else if round.index == round.total {
        (progress.0)(round.index % 1024);
    }
}

/// One replicate's setup.
pub struct InformationSetup {
    /// The instance.
    pub instance: Instance,
    /// The mechanism the principal plays.
    pub mechanism: Mechanism,
    /// Each agent's fixed strategy (rational and scripted agents) or `None` for a learner.
    pub strategies: Vec<Option<Strategy>>,
    /// Each agent's behaviour.
    pub behaviours: Vec<Behaviour>,
    /// Replicate seed.
    pub replicate_seed: u64,
    /// Rounds.
    pub rounds: u64,
    /// Called with rounds finished.
    pub on_progress: Arc<dyn Fn(u64) + Send + Sync>,
}

/// Runs one replicate; rows ordered by (round, agent).
pub fn run_information(setup: InformationSetup) -> Result<Vec<InfoRow>> {
    let inst = setup.instance;
    let n = inst.n_agents();
    let mut world = phase_world();
    world.insert_resource(Principal {
        mechanism: setup.mechanism,
    });
    let max_cost = inst
        .agents
        .iter()
        .flat_map(|a| a.costs.iter().copied())
        .fold(0.0, f64::max);
    let cap = inst.payment_cap.unwrap_or(1.0);
    for (i, (strategy, behaviour)) in setup.strategies.into_iter().zip(&setup.behaviours).enumerate() {
        let a = &inst.agents[i];
        let play = match (strategy, behaviour) {
            (Some(s), _) => Play::Fixed(s),
            (None, Behaviour::Learner { rate }) => {
                let (nb, ns) = (a.efforts.len(), a.signals.len());
                let rounds = setup.rounds.max(2) as f64;
                let k = nb.max(2) as f64;
                // Horizon-tuned defaults (Auer et al. 2002; Freund and Schapire 1997).
                let gamma =
                    rate.unwrap_or_else(|| (k * k.ln() / ((std::f64::consts::E - 1.0) * rounds)).sqrt().min(1.0));
                let eta = rate.unwrap_or_else(|| (8.0 * (ns.max(2) as f64).ln() / rounds).sqrt());
                Play::Learning {
                    efforts: vec![Exp3::new(nb, gamma); nb],
                    reports: vec![
                        Hedge {
                            log_weights: vec![0.0; ns],
                            eta,
                        };
                        nb * nb * ns
                    ],
                    rng: Box::new(SimRng::new(derive_seed(setup.replicate_seed, Stream::Seat, i as u64))),
                    signals: ns,
                    reward_offset: max_cost,
                    reward_scale: cap + max_cost,
                }
            }
            (None, other) => {
                return Err(Error::Run(format!(
                    "agent {} ({}) has no strategy",
                    a.name,
                    other.name()
                )));
            }
        };
        world.spawn((Agent(i), play, Moves::default(), Payoff::default()));
    }
    world.insert_resource(Round {
        index: 0,
        total: setup.rounds,
        nature: SimRng::new(derive_seed(setup.replicate_seed, Stream::Round, 0)),
        state: 0,
        recommended: 0,
        action: 0,
        principal_utility: 0.0,
        efforts: vec![0; n],
        reports: vec![0; n],
    });
    world.insert_resource(Model(inst));
    world.insert_resource(Log(Vec::with_capacity(setup.rounds as usize * n)));
    world.insert_resource(Progress(setup.on_progress));
    let mut schedule = phase_schedule();
    schedule.add_systems((recommend, exert, signal, report, decide, pay, record).chain());
    schedule
        .initialize(&mut world)
        .map_err(|e| Error::Run(format!("information schedule did not build: {e}")))?;
    for _ in 0..setup.rounds {
        run_phases(&mut schedule, &mut world)?;
    }
    Ok(std::mem::take(&mut world.resource_mut::<Log>().0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bernoulli arms with these means: the third is best.
    const MEANS: [f64; 3] = [0.2, 0.5, 0.8];

    #[test]
    fn exp3_learns_the_best_arm_from_bandit_feedback() {
        let mut rng = SimRng::new(7);
        let mut exp3 = Exp3::new(MEANS.len(), 0.1);
        let mut late_best = 0;
        for round in 0..6000 {
            let arm = exp3.draw(&mut rng);
            let reward = f64::from(u8::from(rng.chance(MEANS[arm])));
            exp3.update(arm, reward);
            if round >= 5000 && arm == 2 {
                late_best += 1;
            }
        }
        // At most 1 - gamma + gamma / k = 0.933 of the draws can go to one arm.
        assert!(exp3.probabilities[2] > 0.9, "{:?}", exp3.probabilities);
        assert!(late_best > 850, "best arm drawn {late_best} of the last 1000 rounds");
    }

    #[test]
    fn hedge_learns_the_best_arm_from_full_information() {
        let mut rng = SimRng::new(11);
        let mut hedge = Hedge {
            log_weights: vec![0.0; MEANS.len()],
            eta: 0.1,
        };
        for _ in 0..500 {
            let rewards: Vec<f64> = MEANS.iter().map(|m| f64::from(u8::from(rng.chance(*m)))).collect();
            hedge.update(&rewards);
        }
        let draws = (0..1000).filter(|_| hedge.draw(&mut rng) == 2).count();
        assert!(draws > 990, "best arm drawn {draws} of 1000 times");
        // And it does not learn the wrong arm when every arm pays the same.
        let mut even = Hedge {
            log_weights: vec![0.0; 3],
            eta: 0.1,
        };
        for _ in 0..500 {
            even.update(&[0.5, 0.5, 0.5]);
        }
        let counts = (0..3000).fold([0usize; 3], |mut c, _| {
            c[even.draw(&mut rng)] += 1;
            c
        });
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }
}
