//! Comparing strategies (../shared/specs/scoring.md): per-group means with t intervals,
//! pairwise Welch tests with Bonferroni and Holm corrections and Cohen's d, paired t-tests
//! on matched units (common random numbers) with their intervals, and Bradley-Terry (Elo)
//! ratings fitted by maximum likelihood with bootstrap intervals. Small samples give
//! defined, explained results instead of NaN.

use std::collections::BTreeMap;

use serde::Serialize;

use super::stats::{self, Z95};
use crate::core::rng::SimRng;

/// Holm-adjusted p-values (step-down, monotone, capped at 1), in the input order.
pub fn holm_adjusted(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// A paired t-test on differences a_i - b_i.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Paired {
    /// Matched pairs.
    pub n: usize,
    /// Mean difference.
    pub mean_difference: f64,
    /// 95% t interval of the mean difference.
    pub ci: (f64, f64),
    /// t statistic.
    pub t: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Paired t-test. With fewer than two pairs there is no variance: the interval is the single
/// difference and p = 1 (no evidence). With zero variance, p is 1 if the differences are
/// all 0 and 0 otherwise (t = +-infinity).
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Paired {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    let mean = stats::mean(&d);
    if n < 2 {
        return Paired {
            n,
            mean_difference: mean,
            ci: (mean, mean),
            t: 0.0,
            df: 0.0,
            p: 1.0,
        };
    }
    let se = (stats::variance(&d) / n as f64).sqrt();
    let df = (n - 1) as f64;
    if se == 0.0 {
        return Paired {
            n,
            mean_difference: mean,
            ci: (mean, mean),
            t: if mean == 0.0 { 0.0 } else { f64::INFINITY.copysign(mean) },
            df,
            p: if mean == 0.0 { 1.0 } else { 0.0 },
        };
    }
    let t = mean / se;
    let q = stats::students_t_quantile_975(df);
    Paired {
        n,
        mean_difference: mean,
        ci: (mean - q * se, mean + q * se),
        t,
        df,
        p: stats::two_sided_p(t, df),
    }
}

/// One head-to-head record for ratings: `winner` beat `loser` (`draw`: half a win each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// First player.
    pub winner: usize,
    /// Second player.
    pub loser: usize,
    /// A draw.
    pub draw: bool,
}

/// Head-to-head records aggregated by type: (winner, loser, draw) -> count.
fn tally(matches: &[Match]) -> Vec<((usize, usize, bool), f64)> {
    let mut counts: BTreeMap<(usize, usize, bool), f64> = BTreeMap::new();
    for m in matches.iter().filter(|m| m.winner != m.loser) {
        let key = if m.draw {
            (m.winner.min(m.loser), m.winner.max(m.loser), true)
        } else {
            (m.winner, m.loser, false)
        };
        *counts.entry(key).or_insert(0.0) += 1.0;
    }
    counts.into_iter().collect()
}

/// Bradley-Terry Elo from weighted match types (MM algorithm, Hunter 2004), with one
/// virtual draw between every pair as a weak prior.
fn bt_from_tally(players: usize, tally: &[((usize, usize, bool), f64)]) -> Vec<f64> {
    let mut wins = vec![0.0; players];
    let mut games = vec![vec![0.0; players]; players];
    for &((w, l, draw), c) in tally {
        games[w][l] += c;
        games[l][w] += c;
        if draw {
            wins[w] += 0.5 * c;
            wins[l] += 0.5 * c;
        } else {
            wins[w] += c;
        }
    }
    // The prior: one virtual draw between every pair.
    for (i, row) in games.iter_mut().enumerate() {
        for (j, g) in row.iter_mut().enumerate() {
            if i != j {
                *g += 1.0;
                wins[i] += 0.5;
            }
        }
    }
    let mut strength = vec![1.0; players];
    for _ in 0..2000 {
        let mut next = vec![0.0; players];
        for i in 0..players {
            let denom: f64 = (0..players)
                .filter(|&j| j != i && games[i][j] > 0.0)
                .map(|j| games[i][j] / (strength[i] + strength[j]))
                .sum();
            next[i] = if denom > 0.0 { wins[i] / denom } else { strength[i] };
        }
        let geo = (next.iter().map(|s: &f64| s.ln()).sum::<f64>() / players as f64).exp();
        let change: f64 = next.iter().zip(&strength).map(|(a, b)| (a / geo - b).abs()).sum();
        for (s, v) in strength.iter_mut().zip(next) {
            *s = v / geo;
        }
        if change < 1e-12 {
            break;
        }
    }
    strength.iter().map(|s| 1500.0 + 400.0 * s.log10()).collect()
}

/// Bradley-Terry strengths by maximum likelihood (MM algorithm), with one virtual draw
/// between every pair as a weak prior (so that a player who never won has a finite
/// rating); returned as Elo ratings (400 log10 strength), centred on 1500.
pub fn bradley_terry_elo(players: usize, matches: &[Match]) -> Vec<f64> {
    if players == 0 {
        return Vec::new();
    }
    bt_from_tally(players, &tally(matches))
}

/// A Poisson(lambda) draw: inversion below 30, the normal approximation above.
fn poisson(rng: &mut SimRng, lambda: f64) -> f64 {
    if lambda >= 30.0 {
        return (lambda + lambda.sqrt() * rng.normal()).round().max(0.0);
    }
    let (mut k, mut p) = (0.0, (-lambda).exp());
    let mut cumulative = p;
    let u = rng.unit();
    while u > cumulative && k < 1000.0 {
        k += 1.0;
        p *= lambda / k;
        cumulative += p;
    }
    k
}

/// Elo ratings with 95% bootstrap intervals. The bootstrap is the Poisson bootstrap over
/// match types (each type's count redrawn as Poisson(count)), which approximates resampling
/// the matches with replacement and costs nothing per match.
pub fn elo_with_intervals(players: usize, matches: &[Match], resamples: usize, seed: u64) -> Vec<(f64, (f64, f64))> {
    let counts = tally(matches);
    let point = if players == 0 {
        Vec::new()
    } else {
        bt_from_tally(players, &counts)
    };
    if counts.is_empty() || resamples == 0 {
        return point.into_iter().map(|e| (e, (e, e))).collect();
    }
    let mut rng = SimRng::new(seed);
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); players];
    for _ in 0..resamples {
        let sample: Vec<((usize, usize, bool), f64)> = counts.iter().map(|&(k, c)| (k, poisson(&mut rng, c))).collect();
        for (p, e) in bt_from_tally(players, &sample).into_iter().enumerate() {
            draws[p].push(e);
        }
    }
    point
        .into_iter()
        .zip(draws)
        .map(|(e, mut d)| {
            d.sort_by(f64::total_cmp);
            let at = |q: f64| d[((q * (d.len() - 1) as f64).round() as usize).min(d.len() - 1)];
            (e, (at(0.025), at(0.975)))
        })
        .collect()
}

/// One group's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    /// Group name.
    pub group: String,
    /// Values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 below two values).
    pub sd: f64,
    /// 95% t interval (the mean itself below two values).
    pub ci: (f64, f64),
    /// Rank by mean (1 = highest).
    pub rank: usize,
    /// Bradley-Terry Elo from paired units, with its bootstrap interval.
    pub elo: Option<(f64, (f64, f64))>,
}

/// One pair of groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairComparison {
    /// First group.
    pub a: String,
    /// Second group.
    pub b: String,
    /// Mean of a minus mean of b.
    pub difference: f64,
    /// Welch's t.
    pub welch_t: f64,
    /// Welch-Satterthwaite df.
    pub df: f64,
    /// Two-sided p.
    pub p: f64,
    /// Significant at alpha / pairs.
    pub bonferroni: bool,
    /// Holm-adjusted p.
    pub holm_p: f64,
    /// Significant by Holm at alpha.
    pub holm: bool,
    /// Cohen's d (pooled sd).
    pub cohens_d: f64,
    /// Paired test on units both groups have, when units are given.
    pub paired: Option<Paired>,
}

/// Everything `compare` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Groups, ranked.
    pub groups: Vec<GroupSummary>,
    /// Every pair.
    pub pairs: Vec<PairComparison>,
    /// Family-wise alpha.
    pub alpha: f64,
    /// Notes on the design and small samples.
    pub notes: Vec<String>,
}

/// Compares groups of values; `units[g][i]` optionally names the unit (seed, deal) of value
/// i of group g, making paired tests and ratings possible.
pub fn compare_groups(
    names: &[String],
    values: &[Vec<f64>],
    units: Option<&[Vec<String>]>,
    alpha: f64,
    seed: u64,
) -> Comparison {
    let mut notes = Vec::new();
    let mut groups = summaries(names, values, &mut notes);
    compare_pairs(names, values, units, alpha, seed, &mut groups, notes)
}

/// Above this many groups `mechsim compare` ranks them and skips the pairwise table unless
/// asked (n groups make n(n-1)/2 pairs: 20,000 groups make 2e8).
pub const MAX_PAIRWISE_GROUPS: usize = 200;

/// The groups ranked with their intervals, and no pairwise table (see `MAX_PAIRWISE_GROUPS`).
pub fn rank_groups(names: &[String], values: &[Vec<f64>], alpha: f64) -> Comparison {
    let mut notes = Vec::new();
    let groups = summaries(names, values, &mut notes);
    let n = names.len();
    notes.push(format!(
        "{n} groups make {} pairs: the pairwise table and the ratings are skipped (pass --all-pairs to compute them; \
         they take about 200 bytes of memory per pair)",
        n * n.saturating_sub(1) / 2
    ));
    Comparison {
        groups,
        pairs: Vec::new(),
        alpha,
        notes,
    }
}

/// Each group's size, mean, spread and interval, ranked by mean.
fn summaries(names: &[String], values: &[Vec<f64>], notes: &mut Vec<String>) -> Vec<GroupSummary> {
    let mut groups: Vec<GroupSummary> = names
        .iter()
        .zip(values)
        .map(|(name, v)| {
            let sd = stats::variance(v).sqrt();
            if v.len() < 2 {
                notes.push(format!(
                    "group {name} has {} value(s): no spread, its interval is the mean itself",
                    v.len()
                ));
            } else if sd == 0.0 {
                notes.push(format!(
                    "group {name} has zero variance: its interval is the mean itself"
                ));
            }
            GroupSummary {
                group: name.clone(),
                n: v.len(),
                mean: stats::mean(v),
                sd,
                ci: stats::mean_interval(v),
                rank: 0,
                elo: None,
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| groups[b].mean.total_cmp(&groups[a].mean));
    for (r, &g) in order.iter().enumerate() {
        groups[g].rank = r + 1;
    }
    groups
}

/// The pairwise tests (Welch, paired when `units`, Bonferroni and Holm) and the ratings.
fn compare_pairs(
    names: &[String],
    values: &[Vec<f64>],
    units: Option<&[Vec<String>]>,
    alpha: f64,
    seed: u64,
    groups: &mut [GroupSummary],
    mut notes: Vec<String>,
) -> Comparison {
    // Units: value per (group, unit), averaged when a unit repeats.
    let by_unit: Option<Vec<BTreeMap<&str, f64>>> = units.map(|u| {
        u.iter()
            .zip(values)
            .map(|(keys, v)| {
                let mut sums: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
                for (k, x) in keys.iter().zip(v) {
                    let e = sums.entry(k.as_str()).or_insert((0.0, 0.0));
                    e.0 += x;
                    e.1 += 1.0;
                }
                sums.into_iter().map(|(k, (s, c))| (k, s / c)).collect()
            })
            .collect()
    });
    let mut pairs = Vec::new();
    for i in 0..names.len() {
        for j in i + 1..names.len() {
            let w = stats::welch_t_test(&values[i], &values[j]);
            let paired = by_unit.as_ref().map(|m| {
                // In unit order (BTreeMap), so the sums do not depend on the input order.
                let (a, b): (Vec<f64>, Vec<f64>) =
                    m[i].iter().filter_map(|(k, x)| m[j].get(k).map(|y| (*x, *y))).unzip();
                paired_t_test(&a, &b)
            });
            pairs.push(PairComparison {
                a: names[i].clone(),
                b: names[j].clone(),
                difference: stats::mean(&values[i]) - stats::mean(&values[j]),
                welch_t: w.t,
                df: w.df,
                p: w.p,
                bonferroni: w.p < stats::bonferroni_alpha(alpha, names.len() * (names.len() - 1) / 2),
                holm_p: 0.0,
                holm: false,
                cohens_d: stats::cohens_d(&values[i], &values[j]),
                paired,
            });
        }
    }
    let holm = holm_adjusted(&pairs.iter().map(|p| p.p).collect::<Vec<_>>());
    for (p, h) in pairs.iter_mut().zip(holm) {
        p.holm_p = h;
        p.holm = h < alpha;
    }
    if let Some(m) = &by_unit {
        let mut matches = Vec::new();
        // Sorted, so the matches (and the seeded bootstrap over them) are in a fixed order.
        let all_units: std::collections::BTreeSet<&str> = m.iter().flat_map(|g| g.keys().copied()).collect();
        for unit in all_units {
            for i in 0..names.len() {
                for j in i + 1..names.len() {
                    if let (Some(x), Some(y)) = (m[i].get(unit), m[j].get(unit)) {
                        matches.push(if x > y {
                            Match {
                                winner: i,
                                loser: j,
                                draw: false,
                            }
                        } else if y > x {
                            Match {
                                winner: j,
                                loser: i,
                                draw: false,
                            }
                        } else {
                            Match {
                                winner: i,
                                loser: j,
                                draw: true,
                            }
                        });
                    }
                }
            }
        }
        for (g, e) in groups
            .iter_mut()
            .zip(elo_with_intervals(names.len(), &matches, 200, seed))
        {
            g.elo = Some(e);
        }
        notes.push(
            "paired tests use the units both groups share; Elo (Bradley-Terry, one virtual draw per pair as a prior) \
             counts a win for the higher value on each shared unit, with 200 Poisson-bootstrap resamples of those matches"
                .into(),
        );
    } else {
        notes.push(
            "values are treated as independent; rounds at one table or in one seed are not, so prefer per-seed \
             aggregates or a paired design (--paired-by)"
                .into(),
        );
    }
    let _ = Z95;
    Comparison {
        groups: groups.to_vec(),
        pairs,
        alpha,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} != {b}");
    }

    #[test]
    fn holm_by_hand() {
        // Sorted p: 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.06 (monotone).
        let adj = holm_adjusted(&[0.01, 0.04, 0.03, 0.005]);
        for (a, b) in adj.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            close(*a, b, 1e-15);
        }
        assert_eq!(holm_adjusted(&[0.9, 0.8]), vec![1.0, 1.0]);
    }

    #[test]
    fn paired_matches_scipy() {
        // scipy.stats.ttest_rel([3.1,2.9,3.5,4.0,3.3], [2.8,2.9,3.0,3.6,3.1])
        let p = paired_t_test(&[3.1, 2.9, 3.5, 4.0, 3.3], &[2.8, 2.9, 3.0, 3.6, 3.1]);
        close(p.t, 3.254_933_884_826_939, 1e-9);
        close(p.p, 0.031_229_813_927_076_577, 1e-9);
        let half = 2.776_445_105_197_793_4 * 0.192_353_840_616_713_48 / 5f64.sqrt();
        close(p.ci.0, 0.28 - half, 1e-9);
        // Edge cases: one pair, identical pairs, constant non-zero differences.
        assert_eq!(paired_t_test(&[1.0], &[0.0]).p, 1.0);
        assert_eq!(paired_t_test(&[1.0, 2.0], &[1.0, 2.0]).p, 1.0);
        assert_eq!(paired_t_test(&[2.0, 3.0], &[1.0, 2.0]).p, 0.0);
    }

    #[test]
    fn bradley_terry_orders_players_and_stays_finite() {
        // 0 beats 1 three times out of four; 1 beats 2 always; 2 never wins.
        let mut matches = vec![];
        for k in 0..4 {
            matches.push(if k < 3 {
                Match {
                    winner: 0,
                    loser: 1,
                    draw: false,
                }
            } else {
                Match {
                    winner: 1,
                    loser: 0,
                    draw: false,
                }
            });
            matches.push(Match {
                winner: 1,
                loser: 2,
                draw: false,
            });
        }
        let elo = bradley_terry_elo(3, &matches);
        assert!(elo[0] > elo[1] && elo[1] > elo[2], "{elo:?}");
        assert!(elo.iter().all(|e| e.is_finite()));
        close(elo.iter().map(|e| e - 1500.0).sum::<f64>(), 0.0, 1e-6);
        let with = elo_with_intervals(3, &matches, 100, 1);
        assert!(with.iter().all(|(e, (lo, hi))| lo <= e && e <= hi));
    }

    #[test]
    fn compare_reports_every_pair_and_explains_small_samples() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let values = vec![vec![1.0, 2.0, 3.0, 4.0], vec![2.0, 3.0, 4.0, 5.0], vec![7.0]];
        let units: Vec<Vec<String>> = vec![
            ["s1", "s2", "s3", "s4"].map(String::from).to_vec(),
            ["s1", "s2", "s3", "s4"].map(String::from).to_vec(),
            vec!["s1".into()],
        ];
        let c = compare_groups(&names, &values, Some(&units), 0.05, 3);
        assert_eq!(c.pairs.len(), 3);
        assert_eq!(c.groups[2].rank, 1);
        let ab = &c.pairs[0];
        let paired = ab.paired.unwrap();
        assert_eq!((paired.n, paired.mean_difference, paired.p), (4, -1.0, 0.0));
        assert!(c.notes.iter().any(|n| n.contains("group c has 1 value")));
        assert!(c.groups.iter().all(|g| g.elo.is_some()));
    }
}
