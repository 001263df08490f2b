//! The online principal of the spec: explore-then-commit against agents whose signal laws and
//! effort costs it does not know, over T rounds, with regret measured against the optimal
//! IC mechanism of the true instance.
//!
//! What the principal knows: states, prior, actions, utilities, the agents' effort and
//! signal labels, the cap M. What it learns:
//! 1. Which efforts a scaled proper scoring rule alpha * S (S in [0, 1]) induces, and the
//!    switching points alpha* between them, by bisection over alpha (one round per query).
//!    During exploration agents report their posterior belief, scored by S; a rational agent
//!    reports it truthfully (properness), and the belief reveals the signal and the effort
//!    exerted (we assume distinct efforts give distinct posteriors, as in every shipped
//!    scenario; the simulation hands the principal the signal label and effort directly).
//! 2. The joint signal law of every profile of induced efforts, from N rounds each at the
//!    alpha in the middle of each agent's interval (counts with add-1/2 smoothing).
//! 3. Cost differences: at a switching point the agent is indifferent, so
//!    c(b') - c(b) = alpha* (G(b') - G(b)) with G the expected score, estimated from step 2.
//!    The cheapest induced effort is given cost 0 (costs only matter through differences).
//!    Efforts no scaled rule induces are modelled as uninformative with cost M.
//!
//! Then it commits: the LP on the estimates (costs inflated by 1 + delta, delta = delta0
//! T^(-1/3), an IC margin against estimation error), mixed with weight eps = eps0 T^(-1/3) with the
//! strictly IC scaled rules, for the remaining rounds. Exploration takes ceil(c T^(2/3))
//! rounds (at least what steps 1-2 need). During exploration the principal acts on its prior.
//! Regret is pseudo-regret: each round's EXPECTED utility (given the mechanism played and
//! the agents' best responses on the true instance) against the optimum.

use rayon::prelude::*;

use super::MechanismError;
use super::baselines::posterior;
use super::design::{Mechanism, Strategy, best_response, evaluate};
use super::ic::brute_force_ic;
use super::instance::Instance;
use super::lp::optimal_mechanism;
use super::scoring_rules::ScoringRule;
use crate::core::rng::SimRng;

/// Settings of the online experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineConfig {
    /// Horizons T to run.
    pub horizons: Vec<u64>,
    /// Replicate seeds (one run per horizon and seed).
    pub seeds: Vec<u64>,
    /// c in ceil(c T^(2/3)) exploration rounds.
    pub explore_constant: f64,
    /// eps0 in eps = eps0 T^(-1/3), the weight of the strictly IC rule after committing.
    pub mix_constant: f64,
    /// delta0 in delta = delta0 T^(-1/3): the committed LP plans for costs (1 + delta) times
    /// the estimates, an IC margin against estimation error.
    pub margin_constant: f64,
    /// Bisection steps per switching point.
    pub search_steps: u32,
    /// The proper scoring rule used to explore.
    pub rule: ScoringRule,
}

/// One run's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OnlineRun {
    /// Horizon.
    pub horizon: u64,
    /// Replicate index.
    pub replicate: usize,
    /// Replicate seed.
    pub seed: u64,
    /// Rounds spent exploring.
    pub explore_rounds: u64,
    /// Of which, bisection queries.
    pub search_rounds: u64,
    /// Profiles estimated.
    pub profiles: usize,
    /// Rounds per profile.
    pub rounds_per_profile: u64,
    /// Mixing weight after committing.
    pub mix_weight: f64,
    /// Cumulative pseudo-regret over T rounds.
    pub regret: f64,
    /// Of which, during exploration.
    pub explore_regret: f64,
    /// The committed mechanism's expected utility per round against the agents' responses.
    pub committed_utility: f64,
    /// The optimum per round.
    pub optimal_utility: f64,
    /// The committed mechanism's largest IC gain on the TRUE instance.
    pub committed_ic_gain: f64,
    /// Whether every agent obeyed the committed mechanism.
    pub agents_obeyed: bool,
}

/// Expected score G(e) = E[S(posterior, theta)] of agent `i` at effort `e` (truthful belief).
fn expected_score(inst: &Instance, rule: ScoringRule, i: usize, e: usize) -> f64 {
    let acc = &inst.agents[i].accuracy[e];
    (0..inst.agents[i].signals.len())
        .map(|s| {
            let q = posterior(inst, i, e, s);
            (0..inst.n_states())
                .map(|t| inst.prior[t] * acc[t][s] * rule.bounded(&q, t, 1.0))
                .sum::<f64>()
        })
        .sum()
}

/// The true agent's effort under the scaled rule alpha * S (ties: the lower cost).
fn respond(inst: &Instance, scores: &[f64], i: usize, alpha: f64) -> usize {
    let costs = &inst.agents[i].costs;
    let mut best = 0;
    for e in 1..costs.len() {
        let u = alpha * scores[e] - costs[e];
        let b = alpha * scores[best] - costs[best];
        if u > b + 1e-12 || (u > b - 1e-12 && costs[e] < costs[best]) {
            best = e;
        }
    }
    best
}

/// An induced effort and the alpha interval that induces it.
#[derive(Debug, Clone)]
struct Induced {
    effort: usize,
    low: f64,
    high: f64,
}

/// Bisection over alpha for one agent: the induced efforts in alpha order, with intervals,
/// and the number of queries (rounds) used.
fn discover(cap: f64, steps: u32, mut query: impl FnMut(f64) -> usize) -> (Vec<Induced>, u64) {
    let mut queries = 0u64;
    let mut ask = |alpha: f64| {
        queries += 1;
        query(alpha)
    };
    let low = cap * 1e-6;
    let e_low = ask(low);
    let e_high = ask(cap);
    // (alpha, effort) breakpoints found, in increasing alpha.
    let mut points = vec![(low, e_low), (cap, e_high)];
    let mut stack = vec![(low, e_low, cap, e_high, 0u32)];
    while let Some((lo, e_lo, hi, e_hi, depth)) = stack.pop() {
        if e_lo == e_hi || depth >= steps {
            continue;
        }
        let mid = 0.5 * (lo + hi);
        let e_mid = ask(mid);
        points.push((mid, e_mid));
        stack.push((lo, e_lo, mid, e_mid, depth + 1));
        stack.push((mid, e_mid, hi, e_hi, depth + 1));
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut induced: Vec<Induced> = Vec::new();
    for (idx, &(alpha, effort)) in points.iter().enumerate() {
        match induced.last_mut() {
            Some(last) if last.effort == effort => last.high = alpha,
            _ => {
                let boundary = if idx == 0 {
                    alpha
                } else {
                    0.5 * (points[idx - 1].0 + alpha)
                };
                if let Some(last) = induced.last_mut() {
                    last.high = boundary;
                }
                induced.push(Induced {
                    effort,
                    low: boundary,
                    high: alpha,
                });
            }
        }
    }
    if let Some(last) = induced.last_mut() {
        last.high = cap;
    }
    (induced, queries)
}

impl Induced {
    /// An alpha well inside the interval.
    fn alpha(&self) -> f64 {
        0.5 * (self.low + self.high)
    }
}

/// One explore-then-commit run for horizon `horizon` on the true instance `truth`.
pub fn run(
    truth: &Instance,
    config: &OnlineConfig,
    horizon: u64,
    replicate: usize,
    optimum: f64,
) -> Result<OnlineRun, MechanismError> {
    let seed = config.seeds[replicate];
    let mut rng = SimRng::new(seed ^ horizon.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let cap = truth.payment_cap.unwrap_or(1.0);
    let n = truth.n_agents();
    let rule = config.rule;
    let true_scores: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..truth.agents[i].efforts.len())
                .map(|e| expected_score(truth, rule, i, e))
                .collect()
        })
        .collect();
    let prior_value = truth.prior_value();
    let mut explore_regret = 0.0;

    // 1. Switching points, all agents queried in parallel rounds.
    let mut induced = Vec::with_capacity(n);
    let mut per_agent_queries: Vec<Vec<f64>> = Vec::with_capacity(n);
    for (i, scores) in true_scores.iter().enumerate() {
        let mut alphas = Vec::new();
        let (found, _) = discover(cap, config.search_steps, |alpha| {
            alphas.push(alpha);
            respond(truth, scores, i, alpha)
        });
        induced.push(found);
        per_agent_queries.push(alphas);
    }
    let search_rounds = per_agent_queries.iter().map(Vec::len).max().unwrap_or(0) as u64;
    // Regret is only counted for rounds within the horizon (a tiny T may end mid-exploration).
    let mut rounds_left = horizon;
    for round in 0..search_rounds as usize {
        if rounds_left == 0 {
            break;
        }
        rounds_left -= 1;
        let mut paid = 0.0;
        for i in 0..n {
            if let Some(&alpha) = per_agent_queries[i].get(round) {
                paid += alpha * true_scores[i][respond(truth, &true_scores[i], i, alpha)];
            }
        }
        explore_regret += optimum - (prior_value - paid);
    }

    // 2. Joint law of every profile of induced efforts.
    let efforts = truth.efforts();
    let (ns, nt) = (truth.signals().count(), truth.n_states());
    let choices: Vec<Vec<usize>> = induced.iter().map(|v| (0..v.len()).collect()).collect();
    let profile_count: usize = choices.iter().map(Vec::len).product();
    let budget = ((config.explore_constant * (horizon as f64).powf(2.0 / 3.0)).ceil() as u64).min(horizon / 2);
    let rounds_per_profile = (budget.saturating_sub(search_rounds) / profile_count as u64).max(1);
    let mut counts = vec![0.0f64; efforts.count() * nt * ns];
    let mut state_counts = vec![0.0f64; efforts.count() * nt];
    let mut estimated_profiles = vec![false; efforts.count()];
    for code in 0..profile_count {
        let mut c = code;
        let picks: Vec<&Induced> = induced
            .iter()
            .map(|v| {
                let p = &v[c % v.len()];
                c /= v.len();
                p
            })
            .collect();
        let digits: Vec<usize> = picks.iter().map(|p| p.effort).collect();
        let b = efforts.encode(&digits);
        estimated_profiles[b] = true;
        let paid: f64 = picks
            .iter()
            .enumerate()
            .map(|(i, p)| p.alpha() * true_scores[i][p.effort])
            .sum();
        for _ in 0..rounds_per_profile {
            let theta = rng.weighted_index(&truth.prior);
            let s = rng.weighted_index(truth.signal_law(b, theta));
            counts[(b * nt + theta) * ns + s] += 1.0;
            state_counts[b * nt + theta] += 1.0;
        }
        let counted = rounds_per_profile.min(rounds_left);
        rounds_left -= counted;
        explore_regret += counted as f64 * (optimum - (prior_value - paid));
    }
    let explore_rounds = (search_rounds + rounds_per_profile * profile_count as u64).min(horizon);

    // The principal's model: estimated joint law (uninformative for profiles it never saw),
    // estimated marginals, estimated costs.
    let mut joint = vec![0.0; efforts.count() * nt * ns];
    for b in 0..efforts.count() {
        for t in 0..nt {
            let base = (b * nt + t) * ns;
            if estimated_profiles[b] {
                let total = state_counts[b * nt + t] + 0.5 * ns as f64;
                for s in 0..ns {
                    joint[base + s] = (counts[base + s] + 0.5) / total;
                }
            } else {
                joint[base..base + ns].fill(1.0 / ns as f64);
            }
        }
    }
    let mut model = truth.with_joint(joint);
    for i in 0..n {
        let ns_i = truth.agents[i].signals.len();
        for e in 0..truth.agents[i].efforts.len() {
            for t in 0..nt {
                let mut row = vec![0.0; ns_i];
                let mut weight = 0.0;
                for b in (0..efforts.count()).filter(|&b| efforts.digit(b, i) == e && estimated_profiles[b]) {
                    let w = state_counts[b * nt + t];
                    weight += w;
                    for s in 0..ns {
                        row[truth.signals().digit(s, i)] += w * model.p_signal(b, t, s);
                    }
                }
                model.agents[i].accuracy[e][t] = if weight > 0.0 {
                    row.iter().map(|x| x / weight).collect()
                } else {
                    vec![1.0 / ns_i as f64; ns_i]
                };
            }
        }
    }
    let mut costs = Vec::with_capacity(n);
    for i in 0..n {
        let scores: Vec<f64> = (0..truth.agents[i].efforts.len())
            .map(|e| expected_score(&model, rule, i, e))
            .collect();
        let mut c = vec![cap; truth.agents[i].efforts.len()];
        c[induced[i][0].effort] = 0.0;
        for w in induced[i].windows(2) {
            let switch = w[0].high;
            c[w[1].effort] = c[w[0].effort] + switch * (scores[w[1].effort] - scores[w[0].effort]);
        }
        costs.push(c);
    }
    // Robustness: plan for costs above the estimates by a factor 1 + delta (an IC margin
    // that shrinks like the estimation error, T^(-1/3)).
    let delta = config.margin_constant * (horizon as f64).powf(-1.0 / 3.0);
    let costs = costs
        .into_iter()
        .map(|c| c.into_iter().map(|x| x * (1.0 + delta)).collect())
        .collect();
    let model = model.with_costs(costs);

    // 3. Commit: the LP on the model, mixed with the strictly IC scaled rules.
    let committed_rounds = horizon - explore_rounds;
    let mix = (config.mix_constant * (horizon as f64).powf(-1.0 / 3.0)).clamp(0.0, 1.0);
    let planned = optimal_mechanism(&model, None)?.mechanism;
    let mut mech = Mechanism {
        label: "committed".into(),
        ..planned
    };
    for (i, agent_induced) in induced.iter().enumerate() {
        let alpha_of = |e: usize| agent_induced.iter().find(|p| p.effort == e).map(Induced::alpha);
        for b in 0..efforts.count() {
            let e = efforts.digit(b, i);
            let alpha = alpha_of(e).unwrap_or(0.0);
            for s in 0..ns {
                let q = posterior(&model, i, e, truth.signals().digit(s, i));
                for t in 0..nt {
                    let cell = (b * ns + s) * nt + t;
                    let strict = alpha * rule.bounded(&q, t, 1.0);
                    mech.payments[i][cell] = (1.0 - mix) * mech.payments[i][cell] + mix * strict;
                }
            }
        }
    }
    let obedient: Vec<Strategy> = (0..n).map(|i| Strategy::obedient(truth, i)).collect();
    let responses: Vec<Strategy> = (0..n)
        .map(|i| best_response(truth, &mech, &obedient, i, 1e-6).0)
        .collect();
    let agents_obeyed = responses.iter().all(Strategy::is_obedient);
    let committed_utility = evaluate(truth, &mech, &responses).principal;
    let committed_ic_gain = brute_force_ic(truth, &mech).map_or(0.0, |v| v.gain);
    let regret = explore_regret + committed_rounds as f64 * (optimum - committed_utility);
    Ok(OnlineRun {
        horizon,
        replicate,
        seed,
        explore_rounds,
        search_rounds,
        profiles: profile_count,
        rounds_per_profile,
        mix_weight: mix,
        regret,
        explore_regret,
        committed_utility,
        optimal_utility: optimum,
        committed_ic_gain,
        agents_obeyed,
    })
}

/// Every (horizon, seed) run, in a fixed order (horizon-major), computed in parallel.
pub fn run_all(
    truth: &Instance,
    config: &OnlineConfig,
    on_done: &(dyn Fn() + Sync),
) -> Result<Vec<OnlineRun>, MechanismError> {
    let optimum = optimal_mechanism(truth, None)?.objective;
    let jobs: Vec<(u64, usize)> = config
        .horizons
        .iter()
        .flat_map(|&h| (0..config.seeds.len()).map(move |r| (h, r)))
        .collect();
    jobs.par_iter()
        .map(|&(h, r)| {
            let out = run(truth, config, h, r, optimum);
            on_done();
            out
        })
        .collect()
}

/// Least-squares fit of log(mean regret) on log(T): (slope, intercept), over horizons whose
/// mean regret is positive; `None` with fewer than two such horizons.
pub fn fit_slope(points: &[(u64, f64)]) -> Option<(f64, f64)> {
    let xy: Vec<(f64, f64)> = points
        .iter()
        .filter(|(_, r)| *r > 0.0)
        .map(|&(t, r)| ((t as f64).ln(), r.ln()))
        .collect();
    if xy.len() < 2 {
        return None;
    }
    let n = xy.len() as f64;
    let mx = xy.iter().map(|p| p.0).sum::<f64>() / n;
    let my = xy.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = xy.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::Correlation;
    use crate::mechanism::instance::tests::closed_form;

    #[test]
    fn bisection_finds_the_switching_point() {
        // Agent switches to effort 1 at alpha = 0.3.
        let (induced, queries) = discover(1.0, 12, |a| usize::from(a > 0.3));
        assert_eq!(induced.len(), 2);
        assert!((induced[0].high - 0.3).abs() < 1e-3, "{:?}", induced);
        assert!(queries <= 14);
    }

    #[test]
    fn slope_of_a_power_law() {
        let pts: Vec<(u64, f64)> = [100u64, 1000, 10000]
            .iter()
            .map(|&t| (t, 3.0 * (t as f64).powf(0.66)))
            .collect();
        let (slope, _) = fit_slope(&pts).unwrap();
        assert!((slope - 0.66).abs() < 1e-9);
    }

    #[test]
    fn regret_grows_sublinearly_on_a_small_grid() {
        let truth = closed_form(2, 0.8, 0.05, Correlation::Independent);
        let config = OnlineConfig {
            horizons: vec![1000, 4000, 16000],
            seeds: vec![1, 2, 3],
            explore_constant: 4.0,
            mix_constant: 1.0,
            margin_constant: 8.0,
            search_steps: 10,
            rule: ScoringRule::Quadratic,
        };
        let runs = run_all(&truth, &config, &|| ()).unwrap();
        let points: Vec<(u64, f64)> = config
            .horizons
            .iter()
            .map(|&h| {
                let r: Vec<f64> = runs.iter().filter(|x| x.horizon == h).map(|x| x.regret).collect();
                (h, r.iter().sum::<f64>() / r.len() as f64)
            })
            .collect();
        let (slope, _) = fit_slope(&points).unwrap();
        assert!(slope < 1.0 && slope > 0.3, "slope {slope}: {points:?}");
        // With enough exploration the committed mechanism is obeyed despite estimation error.
        assert!(
            runs.iter().filter(|r| r.horizon == 16000).all(|r| r.agents_obeyed),
            "{runs:?}"
        );
    }
}
