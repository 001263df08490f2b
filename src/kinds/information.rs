//! Scenario files of `kind = "information"`: an information-acquisition instance
//! (`[instance]`, `[[agents]]`), and what to do with it: `[simulation]` (play the chosen
//! mechanism for R rounds against rational, scripted or learning agents) and/or `[online]`
//! (the explore-then-commit principal over a grid of horizons). Validation reuses the
//! mechanism module's checks and maps their field paths back to file lines.

use serde::Deserialize;
use serde_aux::prelude::serde_introspect;

use crate::core::error::Result;
use crate::core::params::value_hint;
use crate::kinds::{RunRequest, ScenarioKind, wrong_plan};
use crate::mechanism::instance::FieldSeg;
use crate::mechanism::online::OnlineConfig;
use crate::mechanism::scoring_rules::ScoringRule;
use crate::mechanism::{AgentModel, Correlation, Instance};
use crate::output;
use crate::runner::information::{InformationPlan, MechanismChoice, SimulationPlan, run_online, run_simulation};
use crate::scenario::source::Seg;
use crate::scenario::{Ctx, key, parse_named, quoted, replicate_seeds};
use crate::scenario::{Plan, Scenario, check_name};
use crate::world::information::Behaviour;

/// The correlation models.
const CORRELATIONS: &[&str] = &["independent", "shared_noise", "joint"];
/// The agent behaviours.
const BEHAVIOURS: &[&str] = &["rational", "scripted", "learner"];

/// `kind = "information"`.
pub struct Information;

/// `mechsim mechanism solve`: the optimal mechanism of an information scenario's instance
/// and its baselines, as the readable report or as JSON. `status` hears each step of a long
/// solve.
pub fn solve_mechanism(scenario: &Scenario, as_json: bool, status: &dyn Fn(&str)) -> Result<String> {
    let Plan::Information(plan) = &scenario.plan else {
        return Err(crate::core::Error::Run(format!(
            "{} is not an information scenario (kind = \"information\"); `mechanism solve` needs one",
            scenario.file.display()
        )));
    };
    let solved = crate::mechanism::analysis::solve_report_with_status(&plan.instance, plan.seed, status)
        .map_err(|e| crate::core::Error::Run(format!("solving {}: {e}", scenario.file.display())))?;
    if as_json {
        serde_json::to_string_pretty(&solved.to_json(&plan.instance))
            .map(|text| format!("{text}\n"))
            .map_err(|e| crate::core::Error::Run(format!("cannot write the report as JSON: {e}")))
    } else {
        Ok(crate::terminal::mechanism::render_mechanism(&plan.instance, &solved))
    }
}

impl ScenarioKind for Information {
    fn name(&self) -> &'static str {
        "information"
    }

    fn valid_keys(&self, table: &[&str]) -> Option<&'static [&'static str]> {
        match table {
            [] => Some(serde_introspect::<RawInformation>()),
            ["instance"] => Some(serde_introspect::<RawInstance>()),
            ["agents"] => Some(serde_introspect::<RawAgent>()),
            ["simulation"] => Some(serde_introspect::<RawSimulation>()),
            ["online"] => Some(serde_introspect::<RawOnline>()),
            ["output"] => Some(serde_introspect::<crate::scenario::RawOutput>()),
            _ => None,
        }
    }

    fn validate(&self, ctx: &Ctx<'_>) -> Result<Scenario> {
        let raw: RawInformation = ctx.read()?;
        check_name(ctx, raw.name(), raw.output.as_ref())?;
        let seed = raw.seed();
        let plan = validate(ctx, &raw, seed)?;
        Ok(ctx.scenario(raw.name(), seed, Plan::Information(Box::new(plan)), raw.output_dir()))
    }

    fn size(&self, plan: &Plan) -> (u64, usize) {
        match plan {
            Plan::Information(p) => match (&p.simulation, &p.online) {
                (Some(sim), _) => (sim.rounds, sim.seeds.len()),
                (None, Some(on)) => (on.horizons.iter().copied().max().unwrap_or(10), on.seeds.len()),
                (None, None) => (0, 1),
            },
            _ => (0, 1),
        }
    }

    fn scale_down(&self, plan: &mut Plan, rounds: u64, seeds: usize) {
        if let Plan::Information(p) = plan {
            if let Some(sim) = &mut p.simulation {
                sim.rounds = sim.rounds.min(rounds);
                sim.seeds.truncate(seeds.max(1));
            }
            if let Some(on) = &mut p.online {
                for h in &mut on.horizons {
                    *h = (*h).min(rounds.max(10));
                }
                on.horizons.dedup();
                on.seeds.truncate(seeds.max(1));
            }
        }
    }

    fn set_rounds(&self, plan: &mut Plan, rounds: u64) -> std::result::Result<(), String> {
        match plan {
            Plan::Information(p) => match &mut p.simulation {
                Some(sim) => {
                    if rounds > 100_000_000 {
                        return Err(format!(
                            "`--rounds {rounds}`: [simulation] takes at most 100000000 rounds (as in its file)"
                        ));
                    }
                    sim.rounds = rounds;
                    Ok(())
                }
                None => Err(
                    "`--rounds` sets the rounds of [simulation], and this information scenario has none (its online horizons are a list in the file)"
                        .into(),
                ),
            },
            _ => Err("not an information scenario".into()),
        }
    }

    fn set_seeds(&self, plan: &mut Plan, scenario_seed: u64, seeds: usize) -> std::result::Result<(), String> {
        let Plan::Information(p) = plan else {
            return Err("not an information scenario".into());
        };
        let lists = [
            (p.simulation.as_mut().map(|t| &mut t.seeds), 10_000),
            (p.online.as_mut().map(|t| &mut t.seeds), 10_000),
        ];
        super::resize_replicates(lists, scenario_seed, seeds, "[simulation] or [online]")
    }

    fn describe(&self, plan: &Plan) -> String {
        match plan {
            Plan::Information(p) => format!(
                "information: {} agent(s), {} state(s){}{}",
                p.instance.n_agents(),
                p.instance.n_states(),
                p.simulation.as_ref().map_or(String::new(), |s| format!(
                    ", simulate {} x {} rounds",
                    s.seeds.len(),
                    s.rounds
                )),
                p.online.as_ref().map_or(String::new(), |o| format!(
                    ", online over {} horizon(s)",
                    o.horizons.len()
                )),
            ),
            _ => String::new(),
        }
    }

    fn headline(&self, summary: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        let mut out = super::pick(
            summary,
            &[
                ("principal_utility", "/simulation/principal/utility/realised_mean"),
                ("principal_utility_predicted", "/simulation/principal/utility/predicted"),
                ("largest_ic_gain", "/simulation/largest_ic_gain"),
                ("incentive_compatible", "/simulation/incentive_compatible"),
                ("online_log_log_slope", "/online/log_log_slope"),
            ],
        );
        // The online principal's regret at its longest horizon.
        let last = summary
            .pointer("/online/horizons")
            .and_then(|h| h.as_array())
            .and_then(|h| h.last());
        out.push((
            "online_mean_regret".into(),
            last.map_or(serde_json::Value::Null, |h| h["mean_regret"].clone()),
        ));
        out
    }

    fn run(&self, scenario: &Scenario, request: &RunRequest) -> Result<String> {
        let Plan::Information(plan) = &scenario.plan else {
            return Err(wrong_plan(self.name(), scenario));
        };
        let file = request.file.display();
        if plan.simulation.is_none() && plan.online.is_none() {
            return Err(crate::core::Error::Run(format!(
                "{file} has neither [simulation] nor [online]: nothing to run (to see its optimal mechanism: `mechsim \
                 mechanism solve {file}`)"
            )));
        }
        let clock = super::Clock::start();
        let mut threads = 1;
        let simulation = match &plan.simulation {
            Some(sim) => {
                let bar = request.bar(sim.rounds * sim.seeds.len() as u64, &scenario.name, "rounds");
                let result =
                    run_simulation(plan, &request.options(&bar)).map_err(|e| request.context("simulating", e))?;
                bar.finish_and_clear();
                threads = result.threads;
                Some(result)
            }
            None => None,
        };
        let online = match &plan.online {
            Some(on) => {
                let runs = (on.horizons.len() * on.seeds.len()) as u64;
                let bar = request.bar(runs, &format!("{} online", scenario.name), "runs");
                let result = run_online(plan, &request.options(&bar))
                    .map_err(|e| request.context("running the online principal of", e))?;
                bar.finish_and_clear();
                Some(result)
            }
            None => None,
        };
        let wall = clock.seconds();
        output::write_information(
            &request.out_dir,
            request.force,
            scenario,
            plan,
            simulation.as_ref(),
            online.as_ref(),
            &clock.info(threads),
        )?;
        Ok(if request.quiet {
            String::new()
        } else {
            crate::terminal::mechanism::render_information(
                plan,
                simulation.as_ref(),
                online.as_ref(),
                wall,
                &request.out_dir,
            )
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInformation {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    kind: String,
    #[serde(default)]
    seed: Option<u64>,
    instance: RawInstance,
    agents: Vec<RawAgent>,
    #[serde(default)]
    simulation: Option<RawSimulation>,
    #[serde(default)]
    online: Option<RawOnline>,
    #[serde(default)]
    output: Option<crate::scenario::RawOutput>,
    /// A sweep grid (`mechsim sweep`); `mechsim run` runs the base scenario.
    #[serde(default)]
    #[allow(dead_code)]
    sweep: Option<toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    states: Vec<String>,
    prior: Option<Vec<f64>>,
    actions: Vec<String>,
    utility: Vec<Vec<f64>>,
    payment_cap: toml::Value,
    #[serde(default)]
    correlation: Option<String>,
    #[serde(default)]
    rho: Option<f64>,
    #[serde(default)]
    joint_table: Option<Vec<Vec<Vec<f64>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    name: String,
    efforts: Vec<String>,
    costs: Vec<f64>,
    signals: Vec<String>,
    accuracy: Vec<Vec<Vec<f64>>>,
    #[serde(default)]
    behaviour: Option<String>,
    #[serde(default)]
    script_effort: Option<String>,
    #[serde(default)]
    script_reports: Option<toml::Value>,
    #[serde(default)]
    learning_rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSimulation {
    rounds: Option<u64>,
    seeds: Option<u64>,
    mechanism: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOnline {
    horizons: Vec<u64>,
    seeds: Option<u64>,
    explore_constant: Option<f64>,
    mix_constant: Option<f64>,
    margin_constant: Option<f64>,
    search_steps: Option<u64>,
    rule: Option<String>,
}

impl RawInformation {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn seed(&self) -> u64 {
        let _ = &self.kind;
        self.seed.unwrap_or(0)
    }

    pub(crate) fn output_dir(&self) -> std::path::PathBuf {
        crate::scenario::output_dir(&self.name, self.output.as_ref())
    }
}

fn segs(path: &[FieldSeg]) -> Vec<Seg> {
    let mut out = Vec::with_capacity(path.len() + 1);
    // Instance fields live under [instance]; agents are top-level [[agents]].
    if !matches!(path.first(), Some(FieldSeg::Key(k)) if k == "agents") {
        out.push(key("instance"));
    }
    out.extend(path.iter().map(|s| match s {
        FieldSeg::Key(k) => Seg::Key(k.clone()),
        FieldSeg::Index(i) => Seg::Index(*i),
    }));
    out
}

fn positive(ctx: &Ctx<'_>, at: &[Seg], value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ctx.error_at(at, false, format!("must be a positive number, found {value}")))
    }
}

/// Validates an information scenario into a plan.
pub(crate) fn validate(ctx: &Ctx<'_>, raw: &RawInformation, seed: u64) -> Result<InformationPlan> {
    let inst = &raw.instance;
    let payment_cap = match &inst.payment_cap {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::String(s) if s == "none" => None,
        other => {
            return Err(ctx.error_at(
                &[key("instance"), key("payment_cap")],
                false,
                format!("expected a positive number (the cap M) or \"none\", found {}", other),
            ));
        }
    };
    let correlation_name = inst.correlation.as_deref().unwrap_or("independent");
    let correlation = match parse_named(
        ctx,
        &[key("instance"), key("correlation")],
        "correlation model",
        correlation_name,
        CORRELATIONS,
        |n| CORRELATIONS.iter().copied().find(|c| *c == n),
    )? {
        "shared_noise" => {
            let Some(rho) = inst.rho else {
                return Err(ctx.error_at(
                    &[key("instance"), key("correlation")],
                    false,
                    "correlation = \"shared_noise\" needs `rho`, the probability in [0, 1] that the agents share one noise draw".into(),
                ));
            };
            Correlation::SharedNoise { rho }
        }
        "joint" => {
            let Some(table) = inst.joint_table.clone() else {
                return Err(ctx.error_at(
                    &[key("instance"), key("correlation")],
                    false,
                    "correlation = \"joint\" needs `joint_table`: for each effort profile (agent 0's effort varying \
                     fastest) one row per state of probabilities over signal profiles (agent 0's signal varying fastest)"
                        .into(),
                ));
            };
            Correlation::Joint { table }
        }
        _ => Correlation::Independent,
    };
    if inst.rho.is_some() && correlation_name != "shared_noise" {
        return Err(ctx.error_at(
            &[key("instance"), key("rho")],
            true,
            format!("`rho` applies to correlation = \"shared_noise\", not \"{correlation_name}\""),
        ));
    }
    if inst.joint_table.is_some() && correlation_name != "joint" {
        return Err(ctx.error_at(
            &[key("instance"), key("joint_table")],
            true,
            format!("`joint_table` applies to correlation = \"joint\", not \"{correlation_name}\""),
        ));
    }
    let prior = inst
        .prior
        .clone()
        .unwrap_or_else(|| vec![1.0 / inst.states.len().max(1) as f64; inst.states.len()]);
    let agents: Vec<AgentModel> = raw
        .agents
        .iter()
        .map(|a| AgentModel {
            name: a.name.clone(),
            efforts: a.efforts.clone(),
            costs: a.costs.clone(),
            signals: a.signals.clone(),
            accuracy: a.accuracy.clone(),
        })
        .collect();
    let instance = Instance::new(
        inst.states.clone(),
        prior,
        inst.actions.clone(),
        inst.utility.clone(),
        payment_cap,
        agents,
        correlation,
    )
    .map_err(|e| ctx.error_at(&segs(&e.path), false, e.message))?;

    let mut behaviours = Vec::with_capacity(raw.agents.len());
    for (i, a) in raw.agents.iter().enumerate() {
        let at = |k: &str| vec![key("agents"), Seg::Index(i), key(k)];
        let name = a.behaviour.as_deref().unwrap_or("rational");
        let reject = |present: bool, k: &str| -> Result<()> {
            if present {
                Err(ctx.error_at(&at(k), true, format!("`{k}` does not apply to behaviour = \"{name}\"")))
            } else {
                Ok(())
            }
        };
        let behaviour = match name {
            "rational" => {
                reject(a.script_effort.is_some(), "script_effort")?;
                reject(a.script_reports.is_some(), "script_reports")?;
                reject(a.learning_rate.is_some(), "learning_rate")?;
                Behaviour::Rational
            }
            "scripted" => {
                reject(a.learning_rate.is_some(), "learning_rate")?;
                let effort = match a.script_effort.as_deref() {
                    None | Some("obey") => None,
                    Some(e) => Some(a.efforts.iter().position(|x| x == e).ok_or_else(|| {
                        let hint = value_hint(e, a.efforts.iter().map(String::as_str));
                        ctx.error_at(
                            &at("script_effort"),
                            false,
                            format!(
                                "unknown effort \"{e}\"{hint} (valid: \"obey\", {})",
                                quoted(&a.efforts.iter().map(String::as_str).collect::<Vec<_>>())
                            ),
                        )
                    })?),
                };
                let reports = match &a.script_reports {
                    None => None,
                    Some(toml::Value::String(s)) if s == "truthful" => None,
                    Some(toml::Value::Array(items)) if items.len() == a.signals.len() => {
                        let mut map = Vec::with_capacity(items.len());
                        for (j, item) in items.iter().enumerate() {
                            let found = item.as_str().and_then(|s| a.signals.iter().position(|x| x == s));
                            let Some(found) = found else {
                                let mut p = at("script_reports");
                                p.push(Seg::Index(j));
                                return Err(ctx.error_at(
                                    &p,
                                    false,
                                    format!(
                                        "expected one of the agent's signals ({}), found {item}",
                                        quoted(&a.signals.iter().map(String::as_str).collect::<Vec<_>>())
                                    ),
                                ));
                            };
                            map.push(found);
                        }
                        Some(map)
                    }
                    Some(other) => {
                        return Err(ctx.error_at(
                            &at("script_reports"),
                            false,
                            format!(
                                "expected \"truthful\" or a list of {} signal names (the report for each signal in \
                                 order), found {other}",
                                a.signals.len()
                            ),
                        ));
                    }
                };
                Behaviour::Scripted { effort, reports }
            }
            "learner" => {
                reject(a.script_effort.is_some(), "script_effort")?;
                reject(a.script_reports.is_some(), "script_reports")?;
                let rate = match a.learning_rate {
                    None => None,
                    Some(r) if r > 0.0 && r <= 1.0 => Some(r),
                    Some(r) => {
                        return Err(ctx.error_at(&at("learning_rate"), false, format!("must be in (0, 1], found {r}")));
                    }
                };
                Behaviour::Learner { rate }
            }
            other => {
                let hint = value_hint(other, BEHAVIOURS.iter().copied());
                return Err(ctx.error_at(
                    &at("behaviour"),
                    false,
                    format!("unknown behaviour \"{other}\"{hint} (valid: {})", quoted(BEHAVIOURS)),
                ));
            }
        };
        behaviours.push(behaviour);
    }

    let simulation = match &raw.simulation {
        None => None,
        Some(sim) => {
            let at = |k: &str| vec![key("simulation"), key(k)];
            let rounds = sim.rounds.unwrap_or(10_000);
            if !(1..=100_000_000).contains(&rounds) {
                return Err(ctx.error_at(
                    &at("rounds"),
                    false,
                    format!("must be in 1..=100000000, found {rounds}"),
                ));
            }
            let seeds = sim.seeds.unwrap_or(4);
            if !(1..=10_000).contains(&seeds) {
                return Err(ctx.error_at(&at("seeds"), false, format!("must be in 1..=10000, found {seeds}")));
            }
            let mechanism = match sim.mechanism.as_deref() {
                None => MechanismChoice::Optimal,
                Some(name) => parse_named(
                    ctx,
                    &at("mechanism"),
                    "mechanism",
                    name,
                    MechanismChoice::NAMES,
                    MechanismChoice::parse,
                )?,
            };
            if payment_cap.is_none() {
                return Err(ctx.error_at(
                    &[key("instance"), key("payment_cap")],
                    false,
                    "a simulation needs a payment cap: without one the LP is a relaxation whose value is only a \
                     supremum, not a mechanism that can be played (set a number, or drop [simulation])"
                        .into(),
                ));
            }
            Some(SimulationPlan {
                rounds,
                seeds: replicate_seeds(seed, seeds),
                mechanism,
            })
        }
    };
    let online = match &raw.online {
        None => None,
        Some(on) => {
            let at = |k: &str| vec![key("online"), key(k)];
            if on.horizons.is_empty() || on.horizons.iter().any(|&h| !(10..=100_000_000).contains(&h)) {
                return Err(ctx.error_at(
                    &at("horizons"),
                    false,
                    "needs a list of horizons T, each in 10..=100000000".into(),
                ));
            }
            let seeds = on.seeds.unwrap_or(8);
            if !(1..=10_000).contains(&seeds) {
                return Err(ctx.error_at(&at("seeds"), false, format!("must be in 1..=10000, found {seeds}")));
            }
            let search_steps = on.search_steps.unwrap_or(12);
            if !(1..=40).contains(&search_steps) {
                return Err(ctx.error_at(
                    &at("search_steps"),
                    false,
                    format!("must be in 1..=40, found {search_steps}"),
                ));
            }
            let rule = match on.rule.as_deref() {
                None => ScoringRule::Quadratic,
                Some(name) => name
                    .parse::<ScoringRule>()
                    .map_err(|message| ctx.error_at(&at("rule"), false, message))?,
            };
            if payment_cap.is_none() {
                return Err(ctx.error_at(
                    &[key("instance"), key("payment_cap")],
                    false,
                    "the online principal needs a payment cap (its scoring rules are scaled within [0, M])".into(),
                ));
            }
            Some(OnlineConfig {
                horizons: on.horizons.clone(),
                seeds: replicate_seeds(seed, seeds),
                explore_constant: positive(ctx, &at("explore_constant"), on.explore_constant.unwrap_or(4.0))?,
                mix_constant: positive(ctx, &at("mix_constant"), on.mix_constant.unwrap_or(1.0))?,
                margin_constant: positive(ctx, &at("margin_constant"), on.margin_constant.unwrap_or(8.0))?,
                search_steps: search_steps as u32,
                rule,
            })
        }
    };
    Ok(InformationPlan {
        scenario: raw.name.clone(),
        instance,
        behaviours,
        simulation,
        online,
        seed,
    })
}
