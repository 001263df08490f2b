//! The readable report of an ad-load run: per target and objective, the TRUE value next to
//! every estimator's estimate with its interval and error, with weight diagnostics;
//! estimator scores over replicates; learned policies with estimated, true and online
//! values and the Pareto frontier; bandits' final regrets.

use std::fmt::Write;
use std::path::Path;

use crate::runner::adload::{AdloadPlan, EvaluationResult, LearningResult, RegretCurve};

/// Renders the report.
pub fn render(
    plan: &AdloadPlan,
    evaluation: Option<&EvaluationResult>,
    learning: Option<&LearningResult>,
    online: Option<&[RegretCurve]>,
    wall_seconds: f64,
    out_dir: &Path,
) -> String {
    let mut out = String::new();
    if let Some(ev) = evaluation {
        let replicates = ev.evaluations.iter().map(|e| e.replicate).max().map_or(0, |m| m + 1);
        let _ = writeln!(
            out,
            "{}: {} logged fetches (first of {replicates} replicate(s)), {} users, lambda = {}\n",
            plan.scenario,
            ev.log.len(),
            plan.users,
            plan.lambda
        );
        for e in ev
            .evaluations
            .iter()
            .filter(|e| e.replicate == 0 && e.objective == "reward")
        {
            let _ = writeln!(
                out,
                "target {} (reward = satisfaction + {} x revenue): TRUE {:.5}; ESS {:.0}, max weight {:.2}",
                e.target, plan.lambda, e.true_value, e.diagnostics.effective_sample_size, e.diagnostics.max_weight
            );
            for w in &e.diagnostics.warnings {
                let _ = writeln!(out, "  warning: {w}");
            }
            for x in &e.estimates {
                let _ = writeln!(
                    out,
                    "  {:<10} {:>9.5} [{:.5}, {:.5}]  error {:+.5}{}",
                    x.estimator,
                    x.estimate,
                    x.normal_ci.0,
                    x.normal_ci.1,
                    x.estimate - e.true_value,
                    if x.normal_ci.0 <= e.true_value && e.true_value <= x.normal_ci.1 {
                        ""
                    } else {
                        "  (truth outside)"
                    }
                );
            }
        }
        let _ = writeln!(
            out,
            "\nonline (fresh users, per fetch): target, satisfaction, revenue, reward, fetches/session"
        );
        for (name, v) in &ev.online {
            let _ = writeln!(
                out,
                "  {name:<16} {:.4} {:.4} {:.4} {:.2}",
                v.satisfaction, v.revenue, v.reward, v.fetches_per_session
            );
        }
        if replicates > 1 {
            let _ = writeln!(
                out,
                "\nestimators over {replicates} replicates (objective = reward): bias, RMSE, 95% coverage"
            );
            for s in ev.scores.iter().filter(|s| s.objective == "reward") {
                let _ = writeln!(
                    out,
                    "  {:<16} {:<10} {:+.5} {:.5} {:.0}%",
                    s.target,
                    s.estimator,
                    s.bias,
                    s.rmse,
                    100.0 * s.coverage
                );
            }
        }
    }
    if let Some(l) = learning {
        let _ = writeln!(
            out,
            "\n{}: policies learned from {} logged fetches (even sessions train, odd sessions estimate)",
            plan.scenario, l.logged
        );
        let _ = writeln!(
            out,
            "  {:<20} {:>7} {:>22} {:>22} {:>22}",
            "policy", "lambda", "DR estimate sat/rev", "TRUE sat/rev", "online sat/rev"
        );
        for p in &l.policies {
            let _ = writeln!(
                out,
                "  {:<20} {:>7} {:>22} {:>22} {:>22}{}",
                p.learner,
                if p.lambda.is_nan() {
                    "-".to_string()
                } else {
                    format!("{}", p.lambda)
                },
                format!("{:.4} / {:.4}", p.estimated_satisfaction, p.estimated_revenue),
                format!("{:.4} / {:.4}", p.true_satisfaction, p.true_revenue),
                format!("{:.4} / {:.4}", p.online.satisfaction, p.online.revenue),
                if p.pareto { "  * Pareto" } else { "" }
            );
        }
        match l.constrained_choice {
            Some(i) => {
                let p = &l.policies[i];
                let _ = writeln!(
                    out,
                    "  most satisfaction with estimated revenue >= {:.0}% of logging: {} (lambda {}): online {:.4} / {:.4}",
                    100.0 * (1.0 + l.revenue_uplift),
                    p.learner,
                    p.lambda,
                    p.online.satisfaction,
                    p.online.revenue
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  no learned policy reaches {:.0}% of the logging policy's estimated revenue",
                    100.0 * (1.0 + l.revenue_uplift)
                );
            }
        }
    }
    if let Some(curves) = online {
        let _ = writeln!(out, "\n{}: online bandits (regret in expected reward)", plan.scenario);
        for c in curves {
            let last = c.points.last().copied().unwrap_or((0, 0.0, 0.0));
            let _ = writeln!(
                out,
                "  {:<16} seed {} {:>8} fetches: regret vs best fixed {:>9.2}, vs best contextual {:>9.2}; mean reward {:.4}",
                c.algorithm, c.replicate, last.0, last.1, last.2, c.mean_reward
            );
        }
    }
    let _ = writeln!(out, "\nwrote {} in {:.1} s", out_dir.display(), wall_seconds);
    out
}
