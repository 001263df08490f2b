//! The readable end-of-run report: one line per participant (win rate with its Wilson 95%
//! interval, mean payoff, the game's own metrics such as Dhumbal's Jhyap calls and success,
//! cards discarded and risk correlation, and ms per decision), then every pairwise test with
//! its Bonferroni and Holm verdicts. Solver runs get their curve and result instead.

use std::fmt::Write;
use std::path::Path;

use crate::core::tournament::MetricValue;
use crate::runner::solve::{SolvePlan, SolveResult};
use crate::runner::training::{TrainingPlan, TrainingResult};
use crate::runner::{TournamentPlan, TournamentResult};
use mechsim_agents::DeviceKind;

/// Short column headers for game metrics (others print their own name).
const HEADERS: &[(&str, &str)] = &[
    ("jhyap_calls", "calls"),
    ("jhyap_success_rate", "call ok"),
    ("cards_discarded_per_round", "discards"),
    ("risk_corr", "risk r"),
    ("mean_turns_per_round", "turns"),
    ("matches_won", "matches"),
];

/// `x` with three significant digits (decision times span nanoseconds to seconds).
fn significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

fn metric_text(key: &str, value: MetricValue) -> String {
    match value {
        MetricValue::Int(i) => i.to_string(),
        MetricValue::Bool(b) => b.to_string(),
        MetricValue::Float(x) if key.ends_with("_rate") => format!("{:.1}%", 100.0 * x),
        MetricValue::Float(x) if key.ends_with("_corr") => format!("{x:.3}"),
        MetricValue::Float(x) => format!("{x:.2}"),
    }
}

/// Renders a tournament's report as text.
pub fn render(plan: &TournamentPlan, result: &TournamentResult, wall_seconds: f64, out_dir: &Path) -> String {
    let s = &result.summary;
    let rounds: u64 = plan.rounds * plan.seeds.len() as u64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} ({} rules), {} seats, {} seed(s) x {} rounds = {} rounds in {:.2} s on {} thread(s)\n",
        plan.scenario,
        plan.game.name,
        plan.game.rules,
        plan.seats.len(),
        plan.seeds.len(),
        plan.rounds,
        rounds,
        wall_seconds,
        result.threads
    );
    let label_width = plan.seats.iter().map(|p| p.label.len()).max().unwrap_or(6).max(6);
    let metrics: Vec<&'static str> = s
        .participants
        .first()
        .map(|p| p.extra.iter().map(|(k, _)| *k).collect())
        .unwrap_or_default();
    let header = |k: &str| {
        HEADERS
            .iter()
            .find(|(key, _)| *key == k)
            .map_or_else(|| k.replace('_', " "), |(_, h)| h.to_string())
    };
    let widths: Vec<usize> = metrics.iter().map(|k| header(k).len().max(8)).collect();
    let _ = write!(
        out,
        "{:<4} {:<lw$} {:>7} {:>17} {:>10}",
        "seat",
        "policy",
        "win %",
        "Wilson 95% CI",
        s.payoff_name.replace('_', " "),
        lw = label_width
    );
    for (k, w) in metrics.iter().zip(&widths) {
        let _ = write!(out, " {:>w$}", header(k), w = *w);
    }
    let _ = writeln!(out, " {:>9}", "ms/dec");
    for p in &s.participants {
        let ci = format!("[{:.1}, {:.1}]", 100.0 * p.win_ci_low, 100.0 * p.win_ci_high);
        let _ = write!(
            out,
            "{:<4} {:<lw$} {:>7.1} {:>17} {:>+10.2}",
            p.seat,
            p.label,
            100.0 * p.win_rate,
            ci,
            p.payoff_mean,
            lw = label_width
        );
        for ((k, v), w) in p.extra.iter().zip(&widths) {
            let _ = write!(out, " {:>w$}", metric_text(k, *v), w = *w);
        }
        let _ = writeln!(out, " {:>9}", significant(p.ms_per_decision));
    }
    let illegal: u64 = s.participants.iter().map(|p| p.illegal_actions).sum();
    if illegal > 0 {
        let _ = writeln!(
            out,
            "\nwarning: {illegal} illegal action(s) were replaced by the rule set's fallback"
        );
    }
    if let Some(first) = s.pairwise.first() {
        let _ = writeln!(
            out,
            "\npairwise Welch t-tests (Bonferroni alpha = 0.05 / {} = {:.4})",
            (0.05 / first.bonferroni_alpha).round(),
            first.bonferroni_alpha
        );
        let pair_width = s.pairwise.iter().map(|p| p.a.len() + p.b.len() + 4).max().unwrap_or(10);
        let _ = writeln!(
            out,
            "{:<12} {:<pw$} {:>9} {:>9} {:>10} {:>9} {:<16} {:>10} {:<5}",
            "metric",
            "pair",
            "t",
            "df",
            "p",
            "Cohen d",
            "Bonferroni",
            "Holm p",
            "Holm",
            pw = pair_width
        );
        for p in &s.pairwise {
            let verdict = if p.significant {
                "significant"
            } else {
                "not significant"
            };
            let _ = writeln!(
                out,
                "{:<12} {:<pw$} {:>9.3} {:>9.1} {:>10.3e} {:>9.3} {:<16} {:>10.3e} {:<5}",
                p.metric,
                format!("{} vs {}", p.a, p.b),
                p.welch_t,
                p.df,
                p.p,
                p.cohens_d,
                verdict,
                p.holm_p,
                if p.holm_significant { "yes" } else { "no" },
                pw = pair_width
            );
        }
    }
    let decisions: usize = result.replicates.iter().map(|r| r.decisions.len()).sum();
    let logged = || result.replicates.iter().flat_map(|r| &r.decisions);
    let searched: Vec<_> = logged().filter_map(|d| d.stats.map(|s| (s, d.wall_ns))).collect();
    if !searched.is_empty() {
        let sims: u64 = searched.iter().map(|(s, _)| s.simulations).sum();
        let ns: u64 = searched.iter().map(|(_, ns)| ns).sum();
        let n = searched.len() as f64;
        let _ = writeln!(
            out,
            "\nsearch: {} decisions, {:.0} simulations per decision, {:.0} simulations/s",
            searched.len(),
            sims as f64 / n,
            if ns == 0 { 0.0 } else { sims as f64 / (ns as f64 / 1e9) }
        );
    }
    let external: Vec<_> = logged()
        .filter_map(|d| d.note.as_ref().map(|n| (n, d.wall_ns)))
        .collect();
    if !external.is_empty() {
        // Throughput over the decisions the agents answered (faults are not round trips).
        let answered: Vec<u64> = external
            .iter()
            .filter(|(n, _)| n.fault.is_none())
            .map(|(_, ns)| *ns)
            .collect();
        let ns: u64 = answered.iter().sum();
        let mut faults: std::collections::BTreeMap<&str, usize> = Default::default();
        for (n, _) in &external {
            if let Some(f) = &n.fault {
                *faults.entry(f.kind).or_default() += 1;
            }
        }
        let faults = if faults.is_empty() {
            "no faults".to_string()
        } else {
            let parts: Vec<String> = faults.iter().map(|(k, n)| format!("{n} {k}")).collect();
            format!("faults: {}", parts.join(", "))
        };
        let _ = writeln!(
            out,
            "\nexternal agents: {} decisions ({:.0}/s over the run), {} answered with a mean wait of {:.1} us; {faults}",
            external.len(),
            external.len() as f64 / wall_seconds.max(1e-9),
            answered.len(),
            ns as f64 / answered.len().max(1) as f64 / 1e3
        );
    }
    let _ = writeln!(
        out,
        "\nwrote {}/{{rounds.csv, summary.json, summary.csv, pairwise.csv, timing.csv, {}manifest.json}}",
        out_dir.display(),
        if decisions > 0 { "decisions.csv, " } else { "" }
    );
    out
}

/// Renders a solver run's report as text: the curve at about ten points, then the result.
pub fn render_solve(plan: &SolvePlan, result: &SolveResult, wall_seconds: f64, out_dir: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} on {} ({} players), {} iterations in {:.2} s ({:.0} iterations/s); {} information sets{}\n",
        plan.scenario,
        plan.algorithm.name(),
        plan.game.name,
        result.players,
        plan.iterations,
        wall_seconds,
        plan.iterations as f64 / wall_seconds.max(1e-9),
        result.infosets,
        if result.tree_nodes > 0 {
            format!(", {} tree nodes", result.tree_nodes)
        } else {
            String::new()
        }
    );
    if result.curve.is_empty() {
        let _ = writeln!(out, "no evaluation (eval_every = 0)");
    } else {
        let _ = write!(out, "{:>12} {:>14} {:>14}", "iteration", "NashConv", "exploitability");
        for p in 0..result.players {
            let _ = write!(out, " {:>10}", format!("value p{p}"));
        }
        out.push('\n');
        let step = (result.curve.len() / 10).max(1);
        let last = result.curve.len() - 1;
        for (i, point) in result.curve.iter().enumerate() {
            if i % step != 0 && i != last {
                continue;
            }
            let _ = write!(
                out,
                "{:>12} {:>14.6} {:>14.6}",
                point.iteration, point.nash_conv, point.exploitability
            );
            for v in &point.values {
                let _ = write!(out, " {v:>10.5}");
            }
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "\nwrote {}/{{curve.csv, policy.json, summary.json, manifest.json{}}}",
        out_dir.display(),
        if result.checkpoints.is_empty() {
            ""
        } else {
            ", checkpoints/"
        }
    );
    out
}

/// Renders a training run's report: the curve at about ten points, the final evaluation and
/// how to seat the trained policy in a scenario.
/// The line that says an interrupted training run kept what it had, and where.
pub fn interrupted_training(result: &TrainingResult, out_dir: &Path) -> String {
    format!(
        "interrupted after {} steps ({} updates): the model, the best checkpoint so far, the curve and a summary marked \"interrupted\" are in {}",
        result.steps,
        result.updates,
        out_dir.display()
    )
}

pub fn render_training(
    plan: &TrainingPlan,
    result: &TrainingResult,
    wall_seconds: f64,
    out_dir: &Path,
    device: DeviceKind,
) -> String {
    let mut out = String::new();
    if result.interrupted {
        let _ = writeln!(out, "{}\n", interrupted_training(result, out_dir));
    }
    let opponents: Vec<&str> = plan.opponents.iter().map(|o| o.label.as_str()).collect();
    let _ = writeln!(
        out,
        "{}: {} on {} vs [{}] on {device}: {} steps, {} rounds, {} updates in {:.1} s ({:.0} steps/s collecting, {:.0} transitions/s updating)\n",
        plan.scenario,
        plan.learner.name(),
        plan.game.name,
        opponents.join(", "),
        result.steps,
        result.episodes,
        result.updates,
        wall_seconds,
        result.steps as f64 / result.collect_seconds.max(1e-9),
        result.steps as f64 / result.update_seconds.max(1e-9),
    );
    let _ = writeln!(
        out,
        "{:>7} {:>10} {:>9} {:>8} {:>9} {:>8} {:>8}   evaluation: win % [Wilson 95%], payoff",
        "update", "steps", "train $", "train %", "entropy", "kl", "clip"
    );
    let evaluated: Vec<_> = result.curve.iter().filter(|c| c.eval.is_some()).collect();
    let rows: Vec<_> = if evaluated.len() > 1 {
        evaluated
    } else {
        result.curve.iter().collect()
    };
    let step = (rows.len() / 10).max(1);
    for (i, c) in rows.iter().enumerate() {
        if i % step != 0 && i + 1 != rows.len() {
            continue;
        }
        let eval = c.eval.as_ref().map_or_else(String::new, |e| {
            format!(
                "{:.1} [{:.1}, {:.1}], {:+.2}",
                100.0 * e.win_rate,
                100.0 * e.win_ci.0,
                100.0 * e.win_ci.1,
                e.payoff_mean
            )
        });
        let _ = writeln!(
            out,
            "{:>7} {:>10} {:>+9.2} {:>7.1}% {:>9.3} {:>8.4} {:>8.3}   {}",
            c.update,
            c.steps,
            c.train_payoff,
            100.0 * c.train_win_rate,
            c.stats.entropy,
            c.stats.approx_kl,
            c.stats.clip_fraction,
            eval
        );
    }
    let _ = writeln!(
        out,
        "\nwrote {dir}/{{curve.csv, curve.svg, model.mpk, {best}summary.json, manifest.json}}\nplay it: [[seats]] policy = \"{algorithm}\", checkpoint = \"{dir}/{file}\"",
        dir = out_dir.display(),
        algorithm = plan.learner.name(),
        best = if result.best_update.is_some() {
            "best.mpk (best evaluation), "
        } else {
            ""
        },
        file = if result.best_update.is_some() {
            "best.mpk"
        } else {
            "model.mpk"
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::significant;

    #[test]
    fn three_significant_digits() {
        assert_eq!(significant(0.000_123_4), "0.000123");
        assert_eq!(significant(12.345), "12.3");
        assert_eq!(significant(1234.5), "1234");
        assert_eq!(significant(0.0), "0");
    }
}
