//! Outputs of an ad-load run, written atomically like every run: `logged.csv` (the first
//! replicate's log in the `mechsim ope` column conventions, with each target's
//! probabilities as `pi_<target>_<a>` columns), `estimates.csv` (every target
//! x objective x estimator x replicate with its truth and error), `estimator_scores.csv`
//! (bias, RMSE and coverage over replicates), `learned.csv` and `pareto.svg` (off-policy
//! learning), `regret.csv` and `regret.svg` (bandits), `summary.json` and `manifest.json`.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::{RunInfo, Staging, manifest, plot, write_csv, write_json};
use crate::bandit::marketplace::FEATURES;
use crate::core::error::Result;
use crate::runner::adload::{AdloadPlan, EvaluationResult, LearningResult, RegretCurve};
use crate::scenario::Scenario;

fn strings<const N: usize>(items: [&str; N]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Writes an ad-load run into `dir`.
#[allow(clippy::too_many_arguments)]
pub fn write_adload(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    plan: &AdloadPlan,
    evaluation: Option<&EvaluationResult>,
    learning: Option<&LearningResult>,
    online: Option<&[RegretCurve]>,
    info: &RunInfo,
) -> Result<()> {
    let staging = Staging::new(dir)?;
    let at = |name: &str| staging.path.join(name);
    let mut files = Vec::new();
    let mut summary = Map::new();
    summary.insert("scenario".into(), json!(plan.scenario));
    summary.insert("lambda".into(), json!(plan.lambda));
    if let Some(ev) = evaluation {
        let mut header = strings(["session", "fetch", "user"]);
        header.extend(FEATURES.iter().map(|f| format!("context_{f}")));
        header.extend(strings(["action", "pscore", "satisfaction", "revenue"]));
        let k = plan.market.actions();
        for (name, _) in &ev.target_probabilities {
            header.extend((0..k).map(|a| format!("pi_{name}_{a}")));
        }
        write_csv(
            &at("logged.csv"),
            &header,
            ev.log.iter().enumerate().map(|(i, r)| {
                let mut row = vec![r.session.to_string(), r.fetch.to_string(), r.user.to_string()];
                row.extend(r.context.iter().map(|v| v.to_string()));
                row.extend([
                    r.action.to_string(),
                    r.pscore.to_string(),
                    r.satisfaction.to_string(),
                    r.revenue.to_string(),
                ]);
                for (_, pi) in &ev.target_probabilities {
                    row.extend(pi[i * k..(i + 1) * k].iter().map(|p| p.to_string()));
                }
                row
            }),
        )?;
        write_csv(
            &at("estimates.csv"),
            &strings([
                "replicate",
                "target",
                "objective",
                "estimator",
                "estimate",
                "true_value",
                "error",
                "normal_ci_low",
                "normal_ci_high",
                "bootstrap_ci_low",
                "bootstrap_ci_high",
                "effective_sample_size",
                "max_weight",
            ]),
            ev.evaluations.iter().flat_map(|e| {
                e.estimates.iter().map(move |x| {
                    vec![
                        e.replicate.to_string(),
                        e.target.clone(),
                        e.objective.clone(),
                        x.estimator.clone(),
                        x.estimate.to_string(),
                        e.true_value.to_string(),
                        (x.estimate - e.true_value).to_string(),
                        x.normal_ci.0.to_string(),
                        x.normal_ci.1.to_string(),
                        x.bootstrap_ci.0.to_string(),
                        x.bootstrap_ci.1.to_string(),
                        e.diagnostics.effective_sample_size.to_string(),
                        e.diagnostics.max_weight.to_string(),
                    ]
                })
            }),
        )?;
        write_csv(
            &at("estimator_scores.csv"),
            &strings([
                "target",
                "objective",
                "estimator",
                "bias",
                "rmse",
                "coverage",
                "replicates",
            ]),
            ev.scores.iter().map(|s| {
                vec![
                    s.target.clone(),
                    s.objective.clone(),
                    s.estimator.clone(),
                    s.bias.to_string(),
                    s.rmse.to_string(),
                    s.coverage.to_string(),
                    s.replicates.to_string(),
                ]
            }),
        )?;
        files.extend(["logged.csv", "estimates.csv", "estimator_scores.csv"]);
        let first: Vec<Value> = ev
            .evaluations
            .iter()
            .filter(|e| e.replicate == 0)
            .map(|e| json!(e))
            .collect();
        summary.insert(
            "evaluation".into(),
            json!({
                "logged_fetches": ev.log.len(),
                "replicates": ev.evaluations.iter().map(|e| e.replicate).max().map_or(0, |m| m + 1),
                "targets_first_replicate": first,
                "online_values": ev.online.iter().map(|(n, v)| json!({"target": n, "online": v})).collect::<Vec<_>>(),
                "estimator_scores": ev.scores,
                "truth_note": "true_value = mean over logged fetches of sum_a pi(a|x) E[objective | x, a] from the response model (what the estimators target); online values run the policy with fresh users",
            }),
        );
    }
    if let Some(l) = learning {
        write_csv(
            &at("learned.csv"),
            &strings([
                "learner",
                "lambda",
                "estimated_satisfaction",
                "estimated_revenue",
                "true_satisfaction",
                "true_revenue",
                "online_satisfaction",
                "online_revenue",
                "online_fetches_per_session",
                "pareto",
            ]),
            l.policies.iter().map(|p| {
                vec![
                    p.learner.clone(),
                    if p.lambda.is_nan() {
                        String::new()
                    } else {
                        p.lambda.to_string()
                    },
                    p.estimated_satisfaction.to_string(),
                    p.estimated_revenue.to_string(),
                    p.true_satisfaction.to_string(),
                    p.true_revenue.to_string(),
                    p.online.satisfaction.to_string(),
                    p.online.revenue.to_string(),
                    p.online.fetches_per_session.to_string(),
                    p.pareto.to_string(),
                ]
            }),
        )?;
        let points: Vec<(String, f64, f64, bool)> = l
            .policies
            .iter()
            .map(|p| (p.learner.clone(), p.online.satisfaction, p.online.revenue, p.pareto))
            .collect();
        plot::pareto_svg(&at("pareto.svg"), &plan.scenario, &points)?;
        files.extend(["learned.csv", "pareto.svg"]);
        summary.insert(
            "learning".into(),
            json!({
                "logged_fetches": l.logged,
                "policies": l.policies,
                "revenue_uplift": l.revenue_uplift,
                "constrained_choice": l.constrained_choice.map(|i| json!({"learner": l.policies[i].learner, "lambda": l.policies[i].lambda, "online": l.policies[i].online})),
                "pareto_frontier": l.policies.iter().filter(|p| p.pareto).map(|p| json!({"learner": p.learner, "lambda": if p.lambda.is_nan() { Value::Null } else { json!(p.lambda) }})).collect::<Vec<_>>(),
            }),
        );
    }
    if let Some(curves) = online {
        write_csv(
            &at("regret.csv"),
            &strings([
                "algorithm",
                "replicate",
                "fetches",
                "regret_vs_best_fixed",
                "regret_vs_best_contextual",
            ]),
            curves.iter().flat_map(|c| {
                c.points.iter().map(move |(t, f, x)| {
                    vec![
                        c.algorithm.clone(),
                        c.replicate.to_string(),
                        t.to_string(),
                        f.to_string(),
                        x.to_string(),
                    ]
                })
            }),
        )?;
        plot::regret_curves_svg(&at("regret.svg"), &plan.scenario, curves)?;
        files.extend(["regret.csv", "regret.svg"]);
        summary.insert(
            "online".into(),
            json!(
                curves
                    .iter()
                    .map(|c| {
                        let last = c.points.last().copied().unwrap_or((0, 0.0, 0.0));
                        json!({
                            "algorithm": c.algorithm,
                            "replicate": c.replicate,
                            "fetches": last.0,
                            "regret_vs_best_fixed": last.1,
                            "regret_vs_best_contextual": last.2,
                            "mean_reward": c.mean_reward,
                        })
                    })
                    .collect::<Vec<_>>()
            ),
        );
    }
    write_json(&at("summary.json"), &Value::Object(summary))?;
    files.extend(["summary.json", "manifest.json"]);
    let extra = json!({
        "users": plan.users,
        "ticks": plan.ticks,
        "evaluation_seeds": plan.evaluation.as_ref().map(|e| e.seeds.clone()),
        "online_seeds": plan.online.as_ref().map(|o| o.seeds.clone()),
    });
    write_json(&at("manifest.json"), &manifest(scenario, info, &files, extra))?;
    staging.commit(force)
}
