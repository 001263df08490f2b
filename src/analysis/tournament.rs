//! Summaries of tournament rounds: per participant win rate with Wilson and normal 95%
//! intervals, mean payoff with a t interval, decision cost, the game's own metrics, and
//! pairwise Welch tests with Bonferroni correction and Cohen's d.

use serde::Serialize;

use super::stats;
use crate::core::tournament::{MetricValue, RoundMetrics};

/// One participant's rounds, as the summariser needs them.
pub struct ParticipantRounds<'a> {
    /// Display label.
    pub label: String,
    /// Registry policy name.
    pub policy: String,
    /// Its rounds, in a fixed order.
    pub rounds: Vec<RoundMetrics<'a>>,
    /// Decisions taken.
    pub decisions: u64,
    /// Wall time of those decisions.
    pub decision_ns: u64,
    /// Illegal actions replaced.
    pub illegal_actions: u64,
}

/// A participant's summary line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantSummary {
    /// Index in the scenario's `[[seats]]`.
    pub seat: usize,
    /// Display label.
    pub label: String,
    /// Policy name.
    pub policy: String,
    /// Rounds played.
    pub rounds: u64,
    /// Rounds won.
    pub wins: u64,
    /// wins / rounds.
    pub win_rate: f64,
    /// Wilson 95% interval, lower end.
    pub win_ci_low: f64,
    /// Wilson 95% interval, upper end.
    pub win_ci_high: f64,
    /// Normal-approximation 95% interval (the study's), lower end.
    pub win_normal_ci_low: f64,
    /// Normal-approximation 95% interval, upper end.
    pub win_normal_ci_high: f64,
    /// Mean payoff per round.
    pub payoff_mean: f64,
    /// t interval of the mean payoff, lower end.
    pub payoff_ci_low: f64,
    /// t interval of the mean payoff, upper end.
    pub payoff_ci_high: f64,
    /// Game-specific metrics, in the game's order.
    #[serde(skip)]
    pub extra: Vec<(&'static str, MetricValue)>,
    /// Decisions taken.
    pub decisions: u64,
    /// Mean wall milliseconds per decision (not reproducible by nature).
    pub ms_per_decision: f64,
    /// Illegal actions replaced by the fallback.
    pub illegal_actions: u64,
}

/// One pairwise comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pairwise {
    /// First participant's label.
    pub a: String,
    /// Second participant's label.
    pub b: String,
    /// The per-round series compared.
    pub metric: String,
    /// Welch's t (a minus b).
    pub welch_t: f64,
    /// Welch-Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// 0.05 / number of pairs.
    pub bonferroni_alpha: f64,
    /// p < bonferroni_alpha.
    pub significant: bool,
    /// Holm-adjusted p-value (within the metric's family of pairs).
    pub holm_p: f64,
    /// holm_p < 0.05.
    pub holm_significant: bool,
    /// Cohen's d (pooled), a minus b.
    pub cohens_d: f64,
}

/// Summary of a whole tournament.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TournamentSummary {
    /// Name of the payoff (e.g. `coin_change`).
    pub payoff_name: String,
    /// Per participant.
    pub participants: Vec<ParticipantSummary>,
    /// Every pair, for the payoff and for the win indicator.
    pub pairwise: Vec<Pairwise>,
}

/// Computes a game's own summary metrics from one participant's rounds.
pub type ExtraMetrics<'a> = dyn Fn(&[RoundMetrics<'_>]) -> Vec<(&'static str, MetricValue)> + 'a;

/// Summarises participants' rounds; `extra` computes the game's own metrics.
pub fn summarize(
    payoff_name: &str,
    participants: &[ParticipantRounds<'_>],
    extra: &ExtraMetrics<'_>,
) -> TournamentSummary {
    let summaries = participants
        .iter()
        .enumerate()
        .map(|(seat, p)| {
            let n = p.rounds.len() as u64;
            let wins = p.rounds.iter().filter(|m| m.won).count() as u64;
            let payoffs: Vec<f64> = p.rounds.iter().map(|m| m.payoff).collect();
            let (wl, wh) = stats::wilson_interval(wins, n, stats::Z95);
            let (nl, nh) = stats::normal_proportion_interval(wins, n, stats::Z95);
            let (pl, ph) = stats::mean_interval(&payoffs);
            ParticipantSummary {
                seat,
                label: p.label.clone(),
                policy: p.policy.clone(),
                rounds: n,
                wins,
                win_rate: if n == 0 { 0.0 } else { wins as f64 / n as f64 },
                win_ci_low: wl,
                win_ci_high: wh,
                win_normal_ci_low: nl,
                win_normal_ci_high: nh,
                payoff_mean: stats::mean(&payoffs),
                payoff_ci_low: pl,
                payoff_ci_high: ph,
                extra: extra(&p.rounds),
                decisions: p.decisions,
                ms_per_decision: if p.decisions == 0 {
                    0.0
                } else {
                    p.decision_ns as f64 / p.decisions as f64 / 1e6
                },
                illegal_actions: p.illegal_actions,
            }
        })
        .collect();
    let pairs = participants.len() * participants.len().saturating_sub(1) / 2;
    let alpha = stats::bonferroni_alpha(0.05, pairs);
    let mut pairwise: Vec<Pairwise> = Vec::new();
    for metric in [payoff_name, "won"] {
        let first = pairwise.len();
        let series: Vec<Vec<f64>> = participants
            .iter()
            .map(|p| {
                p.rounds
                    .iter()
                    .map(|m| {
                        if metric == "won" {
                            f64::from(u8::from(m.won))
                        } else {
                            m.payoff
                        }
                    })
                    .collect()
            })
            .collect();
        for a in 0..participants.len() {
            for b in a + 1..participants.len() {
                let w = stats::welch_t_test(&series[a], &series[b]);
                pairwise.push(Pairwise {
                    a: participants[a].label.clone(),
                    b: participants[b].label.clone(),
                    metric: metric.to_string(),
                    welch_t: w.t,
                    df: w.df,
                    p: w.p,
                    bonferroni_alpha: alpha,
                    significant: w.p < alpha,
                    holm_p: 1.0,
                    holm_significant: false,
                    cohens_d: stats::cohens_d(&series[a], &series[b]),
                });
            }
        }
        let family = &mut pairwise[first..];
        let adjusted = super::compare::holm_adjusted(&family.iter().map(|p| p.p).collect::<Vec<_>>());
        for (p, h) in family.iter_mut().zip(adjusted) {
            p.holm_p = h;
            p.holm_significant = h < 0.05;
        }
    }
    TournamentSummary {
        payoff_name: payoff_name.to_string(),
        participants: summaries,
        pairwise,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(won: bool, payoff: f64) -> RoundMetrics<'static> {
        RoundMetrics {
            columns: &[],
            won,
            payoff,
            values: &[],
        }
    }

    #[test]
    fn summary_by_hand() {
        let a = [
            round(true, 10.0),
            round(false, -4.0),
            round(true, 6.0),
            round(false, -2.0),
        ];
        let b = [
            round(false, -10.0),
            round(true, 4.0),
            round(false, -6.0),
            round(true, 2.0),
        ];
        let parts = vec![
            ParticipantRounds {
                label: "a".into(),
                policy: "x".into(),
                rounds: a.to_vec(),
                decisions: 8,
                decision_ns: 4_000_000,
                illegal_actions: 0,
            },
            ParticipantRounds {
                label: "b".into(),
                policy: "y".into(),
                rounds: b.to_vec(),
                decisions: 0,
                decision_ns: 0,
                illegal_actions: 0,
            },
        ];
        let s = summarize("coins", &parts, &|_| vec![("k", MetricValue::Int(1))]);
        let pa = &s.participants[0];
        assert_eq!((pa.rounds, pa.wins, pa.win_rate), (4, 2, 0.5));
        assert_eq!(pa.payoff_mean, 2.5);
        assert_eq!(pa.ms_per_decision, 0.5);
        assert_eq!(pa.extra, vec![("k", MetricValue::Int(1))]);
        assert_eq!(s.participants[1].ms_per_decision, 0.0);
        assert_eq!(s.pairwise.len(), 2);
        let coins = &s.pairwise[0];
        assert_eq!((coins.metric.as_str(), coins.bonferroni_alpha), ("coins", 0.05));
        // a = [10,-4,6,-2] mean 2.5 var 43.67; b = [-10,4,-6,2] mean -2.5 var 43.67:
        // t = 5 / sqrt(2 * 43.6667 / 4) = 1.0700, df = 6.
        assert!(
            (coins.welch_t - 1.070_064_562_509_632_6).abs() < 1e-9,
            "{}",
            coins.welch_t
        );
        assert!((coins.df - 6.0).abs() < 1e-9);
        assert!(!coins.significant);
    }
}
