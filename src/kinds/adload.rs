//! Scenario files of `kind = "adload"`: the marketplace (users, ticks, response-model
//! overrides in `[market]`), the logging policy, target policies, and what to run:
//! `[evaluation]` (off-policy evaluation against the truth), `[learning]` (off-policy
//! learning over a lambda grid) and/or `[online]` (bandits). Errors name file, line and key.

use serde::Deserialize;
use serde_aux::prelude::serde_introspect;

use crate::bandit::marketplace::MarketConfig;
use crate::core::error::Result;
use crate::core::params::unknown_key_message;
use crate::estimators::EstimatorSettings;
use crate::kinds::{RunRequest, ScenarioKind, wrong_plan};
use crate::output;
use crate::runner::adload::{AdloadPlan, EvaluationSpec, LearningSpec, OnlineSpec, PolicySpec};
use crate::runner::adload::{run_evaluation, run_learning, run_online};
use crate::scenario::source::Seg;
use crate::scenario::{Ctx, key, parse_named, quoted, replicate_seeds};
use crate::scenario::{Plan, Scenario, check_name};

/// Keys of a policy table.
const POLICY_KEYS: &[&str] = &[
    "name",
    "policy",
    "ads",
    "first",
    "later",
    "from_fetch",
    "epsilon",
    "base",
    "temperature",
];
/// Policy names.
const POLICIES: &[&str] = &["uniform", "fixed", "position", "epsilon_greedy", "softmax", "greedy"];
/// Bandit algorithms.
const ALGORITHMS: &[&str] = &["epsilon_greedy", "ucb1", "thompson", "linucb"];

/// `kind = "adload"`.
pub struct Adload;

impl ScenarioKind for Adload {
    fn name(&self) -> &'static str {
        "adload"
    }

    fn valid_keys(&self, table: &[&str]) -> Option<&'static [&'static str]> {
        match table {
            [] => Some(serde_introspect::<RawAdload>()),
            ["market"] => Some(serde_introspect::<MarketConfig>()),
            ["evaluation"] => Some(serde_introspect::<RawEvaluation>()),
            ["learning"] => Some(serde_introspect::<RawLearning>()),
            ["online"] => Some(serde_introspect::<RawOnline>()),
            ["output"] => Some(serde_introspect::<crate::scenario::RawOutput>()),
            _ => None,
        }
    }

    fn validate(&self, ctx: &Ctx<'_>) -> Result<Scenario> {
        let raw: RawAdload = ctx.read()?;
        check_name(ctx, raw.name(), raw.output.as_ref())?;
        let seed = raw.seed();
        let plan = validate(ctx, &raw, seed)?;
        Ok(ctx.scenario(raw.name(), seed, Plan::Adload(Box::new(plan)), raw.output_dir()))
    }

    fn size(&self, plan: &Plan) -> (u64, usize) {
        match plan {
            Plan::Adload(p) => (p.users as u64 / 10, p.evaluation.as_ref().map_or(1, |e| e.seeds.len())),
            _ => (0, 1),
        }
    }

    fn scale_down(&self, plan: &mut Plan, rounds: u64, seeds: usize) {
        if let Plan::Adload(p) = plan {
            p.users = p.users.min(rounds as usize * 10).max(20);
            p.online_users = p.online_users.min(p.users);
            p.ticks = p.ticks.min(10);
            if let Some(e) = &mut p.evaluation {
                e.seeds.truncate(seeds.max(1));
                e.bootstrap = e.bootstrap.min(20);
            }
            if let Some(l) = &mut p.learning {
                l.lambdas.truncate(2);
                l.iterations = l.iterations.min(20);
            }
            if let Some(o) = &mut p.online {
                o.seeds.truncate(seeds.max(1));
            }
        }
    }

    fn set_seeds(&self, plan: &mut Plan, scenario_seed: u64, seeds: usize) -> std::result::Result<(), String> {
        let Plan::Adload(p) = plan else {
            return Err("not an ad-load scenario".into());
        };
        let lists = [
            (p.evaluation.as_mut().map(|t| &mut t.seeds), 10_000),
            (p.online.as_mut().map(|t| &mut t.seeds), 1000),
        ];
        super::resize_replicates(lists, scenario_seed, seeds, "[evaluation] or [online]")
    }

    fn describe(&self, plan: &Plan) -> String {
        match plan {
            Plan::Adload(p) => format!(
                "adload: {} users x {} ticks, {} target(s){}{}{}",
                p.users,
                p.ticks,
                p.targets.len(),
                p.evaluation.as_ref().map_or(String::new(), |e| format!(
                    ", evaluation over {} seed(s)",
                    e.seeds.len()
                )),
                p.learning.as_ref().map_or(String::new(), |l| format!(
                    ", learning over {} lambda(s)",
                    l.lambdas.len()
                )),
                p.online.as_ref().map_or(String::new(), |o| format!(
                    ", {} online algorithm(s)",
                    o.algorithms.len()
                )),
            ),
            _ => String::new(),
        }
    }

    fn headline(&self, summary: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        let mut out = Vec::new();
        let mean = |values: &[f64]| {
            if values.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::json!(values.iter().sum::<f64>() / values.len() as f64)
            }
        };
        // Each estimator's RMSE, averaged over targets and objectives.
        let scores = summary
            .pointer("/evaluation/estimator_scores")
            .and_then(|v| v.as_array());
        let mut estimators: Vec<&str> = Vec::new();
        for s in scores.into_iter().flatten() {
            if let Some(e) = s["estimator"].as_str().filter(|e| !estimators.contains(e)) {
                estimators.push(e);
            }
        }
        for e in estimators {
            let rmse: Vec<f64> = scores
                .into_iter()
                .flatten()
                .filter(|s| s["estimator"].as_str() == Some(e))
                .filter_map(|s| s["rmse"].as_f64())
                .collect();
            out.push((format!("rmse_{e}"), mean(&rmse)));
        }
        // The best online reward a learned policy reached, and the frontier's size.
        if let Some(policies) = summary.pointer("/learning/policies").and_then(|v| v.as_array()) {
            let best = policies
                .iter()
                .filter(|p| !p["lambda"].is_null())
                .filter_map(|p| p.pointer("/online/reward").and_then(|v| v.as_f64()))
                .fold(f64::NEG_INFINITY, f64::max);
            out.push((
                "best_learned_online_reward".into(),
                if best.is_finite() {
                    serde_json::json!(best)
                } else {
                    serde_json::Value::Null
                },
            ));
            out.push((
                "pareto_policies".into(),
                summary
                    .pointer("/learning/pareto_frontier")
                    .map_or(serde_json::Value::Null, |f| {
                        serde_json::json!(f.as_array().map_or(0, Vec::len))
                    }),
            ));
        }
        // Each bandit's regret against the best fixed load, averaged over its replicates.
        let runs = summary.pointer("/online").and_then(|v| v.as_array());
        let mut algorithms: Vec<&str> = Vec::new();
        for r in runs.into_iter().flatten() {
            if let Some(a) = r["algorithm"].as_str().filter(|a| !algorithms.contains(a)) {
                algorithms.push(a);
            }
        }
        for a in algorithms {
            let regret: Vec<f64> = runs
                .into_iter()
                .flatten()
                .filter(|r| r["algorithm"].as_str() == Some(a))
                .filter_map(|r| r["regret_vs_best_fixed"].as_f64())
                .collect();
            out.push((format!("regret_{a}"), mean(&regret)));
        }
        out
    }

    fn run(&self, scenario: &Scenario, request: &RunRequest) -> Result<String> {
        let Plan::Adload(plan) = &scenario.plan else {
            return Err(wrong_plan(self.name(), scenario));
        };
        let clock = super::Clock::start();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(request.threads.unwrap_or(0))
            .build()
            .map_err(|e| crate::core::Error::Run(format!("cannot start worker threads: {e}")))?;
        // Each part the scenario asks for, with its own spinner, on the sized pool.
        let phase = |what: &str, doing: &str, work: &(dyn Fn(&crate::runner::RunOptions) -> Result<()> + Sync)| {
            let bar = request.spinner(&format!("{} {what}", scenario.name), "fetches");
            pool.install(|| work(&request.options(&bar)))
                .map_err(|e| request.context(doing, e))?;
            bar.finish_and_clear();
            Ok::<(), crate::core::Error>(())
        };
        let evaluation = std::sync::Mutex::new(None);
        let learning = std::sync::Mutex::new(None);
        let online = std::sync::Mutex::new(None);
        // A slot is only poisoned by a panic, which ends the run before it is read.
        if plan.evaluation.is_some() {
            phase("evaluation", "evaluating", &|o| {
                *evaluation.lock().unwrap_or_else(|p| p.into_inner()) = Some(run_evaluation(plan, o)?);
                Ok(())
            })?;
        }
        if plan.learning.is_some() {
            phase("learning", "learning from", &|o| {
                *learning.lock().unwrap_or_else(|p| p.into_inner()) = Some(run_learning(plan, o)?);
                Ok(())
            })?;
        }
        if plan.online.is_some() {
            phase("bandits", "running bandits of", &|o| {
                *online.lock().unwrap_or_else(|p| p.into_inner()) = Some(run_online(plan, o)?);
                Ok(())
            })?;
        }
        let (evaluation, learning, online) = (
            evaluation.into_inner().unwrap_or_else(|p| p.into_inner()),
            learning.into_inner().unwrap_or_else(|p| p.into_inner()),
            online.into_inner().unwrap_or_else(|p| p.into_inner()),
        );
        let wall = clock.seconds();
        output::adload::write_adload(
            &request.out_dir,
            request.force,
            scenario,
            plan,
            evaluation.as_ref(),
            learning.as_ref(),
            online.as_deref(),
            &clock.info(pool.current_num_threads()),
        )?;
        Ok(if request.quiet {
            String::new()
        } else {
            crate::terminal::adload::render(
                plan,
                evaluation.as_ref(),
                learning.as_ref(),
                online.as_deref(),
                wall,
                &request.out_dir,
            )
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdload {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    seed: Option<u64>,
    users: Option<u64>,
    ticks: Option<u64>,
    online_users: Option<u64>,
    lambda: Option<f64>,
    #[serde(default)]
    market: Option<MarketConfig>,
    logging: toml::Table,
    #[serde(default)]
    targets: Vec<toml::Table>,
    #[serde(default)]
    evaluation: Option<RawEvaluation>,
    #[serde(default)]
    learning: Option<RawLearning>,
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
struct RawEvaluation {
    seeds: Option<u64>,
    bootstrap: Option<u64>,
    folds: Option<u64>,
    clip: Option<f64>,
    switch_lambda: Option<f64>,
    shrinkage_lambda: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLearning {
    lambdas: Vec<f64>,
    iterations: Option<u64>,
    revenue_uplift: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOnline {
    algorithms: Vec<String>,
    epsilon: Option<f64>,
    alpha: Option<f64>,
    seeds: Option<u64>,
}

impl RawAdload {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed.unwrap_or(0)
    }

    pub(crate) fn output_dir(&self) -> std::path::PathBuf {
        crate::scenario::output_dir(&self.name, self.output.as_ref())
    }
}

fn count(ctx: &Ctx<'_>, at: &[Seg], value: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ctx.error_at(
            at,
            false,
            format!("must be in {}..={}, found {value}", range.start(), range.end()),
        ))
    }
}

fn policy(ctx: &Ctx<'_>, table: &toml::Table, at: &[Seg], max_ads: usize) -> Result<PolicySpec> {
    let here = |k: &str| {
        let mut p = at.to_vec();
        p.push(key(k));
        p
    };
    for k in table.keys() {
        if !POLICY_KEYS.contains(&k.as_str()) {
            return Err(ctx.error_at(&here(k), true, unknown_key_message(k, POLICY_KEYS.iter().copied())));
        }
    }
    let int = |k: &str, default: Option<u64>| -> Result<usize> {
        match table.get(k) {
            Some(toml::Value::Integer(i)) if *i >= 0 => Ok(*i as usize),
            Some(other) => Err(ctx.error_at(
                &here(k),
                false,
                format!("expected a non-negative integer, found {other}"),
            )),
            None => default
                .map(|d| d as usize)
                .ok_or_else(|| ctx.error_at(at, false, format!("this policy needs `{k}`"))),
        }
    };
    let float = |k: &str, default: f64| -> Result<f64> {
        match table.get(k) {
            Some(toml::Value::Float(f)) => Ok(*f),
            Some(toml::Value::Integer(i)) => Ok(*i as f64),
            Some(other) => Err(ctx.error_at(&here(k), false, format!("expected a number, found {other}"))),
            None => Ok(default),
        }
    };
    let ads = |k: &str, default: Option<u64>| -> Result<usize> {
        let a = int(k, default)?;
        if a > max_ads {
            return Err(ctx.error_at(
                &here(k),
                false,
                format!("ad load {a} is more than market.max_ads = {max_ads}"),
            ));
        }
        Ok(a)
    };
    let name = match table.get("policy") {
        Some(toml::Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(ctx.error_at(&here("policy"), false, format!("expected a policy name, found {other}")));
        }
        None => return Err(ctx.error_at(at, false, format!("needs `policy` (one of {})", quoted(POLICIES)))),
    };
    let name = parse_named(ctx, &here("policy"), "policy", name, POLICIES, |n| {
        POLICIES.iter().copied().find(|p| *p == n)
    })?;
    Ok(match name {
        "uniform" => PolicySpec::Uniform,
        "fixed" => PolicySpec::Fixed(ads("ads", None)?),
        "position" => PolicySpec::Position {
            first: ads("first", None)?,
            later: ads("later", None)?,
            from_fetch: int("from_fetch", None)?,
        },
        "epsilon_greedy" => {
            let epsilon = float("epsilon", 0.1)?;
            if !(0.0..=1.0).contains(&epsilon) {
                return Err(ctx.error_at(&here("epsilon"), false, format!("must be in [0, 1], found {epsilon}")));
            }
            let base = match table.get("base") {
                Some(toml::Value::Table(t)) => policy(ctx, t, &here("base"), max_ads)?,
                Some(other) => {
                    return Err(ctx.error_at(&here("base"), false, format!("expected a policy table, found {other}")));
                }
                None => {
                    return Err(ctx.error_at(at, false, "epsilon_greedy needs `base`, the production policy".into()));
                }
            };
            PolicySpec::EpsilonGreedy {
                epsilon,
                base: Box::new(base),
            }
        }
        "softmax" => {
            let temperature = float("temperature", 0.2)?;
            if temperature.is_nan() || temperature <= 0.0 {
                return Err(ctx.error_at(&here("temperature"), false, format!("must be > 0, found {temperature}")));
            }
            PolicySpec::Softmax { temperature }
        }
        _ => PolicySpec::Greedy,
    })
}

/// Validates an ad-load scenario.
pub(crate) fn validate(ctx: &Ctx<'_>, raw: &RawAdload, seed: u64) -> Result<AdloadPlan> {
    let market = raw.market.clone().unwrap_or_default();
    market
        .validate()
        .map_err(|(k, message)| ctx.error_at(&[key("market"), key(&k)], false, message))?;
    let users = count(ctx, &[key("users")], raw.users.unwrap_or(2000), 1..=10_000_000)? as usize;
    let ticks = count(ctx, &[key("ticks")], raw.ticks.unwrap_or(40), 1..=100_000)?;
    let online_users = count(
        ctx,
        &[key("online_users")],
        raw.online_users.unwrap_or(users as u64),
        1..=10_000_000,
    )? as usize;
    let lambda = raw.lambda.unwrap_or(1.0);
    if !(lambda.is_finite() && lambda >= 0.0) {
        return Err(ctx.error_at(&[key("lambda")], false, format!("must be >= 0, found {lambda}")));
    }
    let logging = policy(ctx, &raw.logging, &[key("logging")], market.max_ads)?;
    if matches!(logging, PolicySpec::Greedy) {
        return Err(ctx.error_at(
            &[key("logging"), key("policy")],
            false,
            "the logging policy cannot be \"greedy\" (it is fitted on the log it would produce)".into(),
        ));
    }
    let mut targets = Vec::new();
    for (i, t) in raw.targets.iter().enumerate() {
        let at = vec![key("targets"), Seg::Index(i)];
        let spec = policy(ctx, t, &at, market.max_ads)?;
        let name = match t.get("name") {
            Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
            _ => format!("target{i}"),
        };
        if targets.iter().any(|(n, _)| *n == name) {
            let mut p = at.clone();
            p.push(key("name"));
            return Err(ctx.error_at(&p, false, format!("target name \"{name}\" is used twice")));
        }
        targets.push((name, spec));
    }
    let seeds = |n: u64| replicate_seeds(seed, n);
    let evaluation = match &raw.evaluation {
        None => None,
        Some(e) => {
            if targets.is_empty() {
                return Err(ctx.error_at(
                    &[key("evaluation")],
                    true,
                    "[evaluation] needs at least one [[targets]] entry".into(),
                ));
            }
            let at = |k: &str| vec![key("evaluation"), key(k)];
            let positive = |k: &str, v: Option<f64>, default: f64| -> Result<f64> {
                let v = v.unwrap_or(default);
                if v > 0.0 {
                    Ok(v)
                } else {
                    Err(ctx.error_at(&at(k), false, format!("must be > 0, found {v}")))
                }
            };
            Some(EvaluationSpec {
                seeds: seeds(count(ctx, &at("seeds"), e.seeds.unwrap_or(1), 1..=10_000)?),
                bootstrap: count(ctx, &at("bootstrap"), e.bootstrap.unwrap_or(100), 0..=100_000)? as usize,
                folds: count(ctx, &at("folds"), e.folds.unwrap_or(5), 1..=100)? as usize,
                settings: EstimatorSettings {
                    clip: positive("clip", e.clip, f64::INFINITY)?,
                    switch_lambda: positive("switch_lambda", e.switch_lambda, 10.0)?,
                    shrinkage_lambda: positive("shrinkage_lambda", e.shrinkage_lambda, 10.0)?,
                },
            })
        }
    };
    let learning = match &raw.learning {
        None => None,
        Some(l) => {
            if l.lambdas.is_empty() || l.lambdas.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
                return Err(ctx.error_at(
                    &[key("learning"), key("lambdas")],
                    false,
                    "needs a list of revenue weights >= 0".into(),
                ));
            }
            let revenue_uplift = l.revenue_uplift.unwrap_or(0.1);
            if !(revenue_uplift.is_finite() && revenue_uplift > -1.0) {
                return Err(ctx.error_at(
                    &[key("learning"), key("revenue_uplift")],
                    false,
                    format!(
                        "must be a number > -1 (0.1 = 10% more revenue than the logging policy), found {revenue_uplift}"
                    ),
                ));
            }
            Some(LearningSpec {
                revenue_uplift,
                lambdas: l.lambdas.clone(),
                iterations: count(
                    ctx,
                    &[key("learning"), key("iterations")],
                    l.iterations.unwrap_or(200),
                    1..=100_000,
                )? as usize,
            })
        }
    };
    let online = match &raw.online {
        None => None,
        Some(o) => {
            let mut algorithms = Vec::new();
            for (i, name) in o.algorithms.iter().enumerate() {
                let at = vec![key("online"), key("algorithms"), Seg::Index(i)];
                let found = parse_named(ctx, &at, "algorithm", name, ALGORITHMS, |n| {
                    ALGORITHMS.iter().copied().find(|a| *a == n)
                })?;
                algorithms.push(found.to_string());
            }
            if algorithms.is_empty() {
                return Err(ctx.error_at(
                    &[key("online"), key("algorithms")],
                    false,
                    format!("needs at least one algorithm ({})", quoted(ALGORITHMS)),
                ));
            }
            Some(OnlineSpec {
                algorithms,
                epsilon: o.epsilon.unwrap_or(0.1).clamp(0.0, 1.0),
                alpha: o.alpha.unwrap_or(0.5).max(0.0),
                seeds: seeds(count(
                    ctx,
                    &[key("online"), key("seeds")],
                    o.seeds.unwrap_or(1),
                    1..=1000,
                )?),
            })
        }
    };
    if evaluation.is_none() && learning.is_none() && online.is_none() {
        return Err(ctx.error_at(
            &[],
            false,
            "an adload scenario needs [evaluation], [learning] and/or [online]: nothing to run".into(),
        ));
    }
    Ok(AdloadPlan {
        scenario: raw.name.clone(),
        seed,
        market,
        users,
        ticks,
        online_users,
        lambda,
        logging,
        targets,
        evaluation,
        learning,
        online,
    })
}
