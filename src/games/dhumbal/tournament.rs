//! Dhumbal at tournament tables: the ledger carried between rounds (coins; under points
//! scoring also cumulative points, eliminations and match wins), seating for each round,
//! and the per-round row of every participant.

use super::rules::Scoring;
use super::{Dhumbal, DhumbalState, Ending};
use crate::core::descriptive;
use crate::core::game::Action;
use crate::core::rng::SimRng;
use crate::core::tournament::{MetricValue, RoundMetrics, SeatMetrics, Tournament};

/// What a Dhumbal table remembers between rounds, indexed by participant.
#[derive(Debug, Clone, PartialEq)]
pub struct DhumbalLedger {
    /// Coin balances (may go negative; total conserved).
    pub coins: Vec<i64>,
    /// Cumulative points in the current match (points scoring).
    pub points: Vec<u32>,
    /// Out of the current match (points scoring).
    pub eliminated: Vec<bool>,
    /// Matches won (points scoring).
    pub matches_won: Vec<u32>,
}

const COLUMNS: &[&str] = &[
    "position",
    "hand_value",
    "coin_change",
    "round_points",
    "total_points",
    "won",
    "called",
    "call_succeeded",
    "forced_showdown",
    "hand_emptied",
    "turns",
    "cards_discarded",
    "eliminated",
    "match_won",
];

impl Tournament for Dhumbal {
    type Ledger = DhumbalLedger;

    fn new_ledger(&self, participants: usize) -> DhumbalLedger {
        DhumbalLedger {
            coins: vec![self.rules.starting_coins; participants],
            points: vec![0; participants],
            eliminated: vec![false; participants],
            matches_won: vec![0; participants],
        }
    }

    fn start_round(
        &self,
        ledger: &DhumbalLedger,
        order: &[usize],
        round: u64,
        rng: &mut SimRng,
    ) -> (DhumbalState, Vec<usize>) {
        let playing: Vec<usize> = order.iter().copied().filter(|p| !ledger.eliminated[*p]).collect();
        let coins: Vec<i64> = playing.iter().map(|p| ledger.coins[*p]).collect();
        let start = if self.rules.rotate_start {
            (round % playing.len() as u64) as usize
        } else {
            0
        };
        (self.deal(playing.len(), start, &coins, rng), playing)
    }

    fn settle_round(
        &self,
        ledger: &mut DhumbalLedger,
        state: &DhumbalState,
        participants: &[usize],
    ) -> Vec<SeatMetrics> {
        let outcome = *state.outcome().expect("settle_round needs a finished round");
        let pay = state.payments();
        let points = state.round_points();
        for (p, who) in participants.iter().enumerate() {
            ledger.coins[*who] += pay[p];
        }
        // Points scoring: accumulate, eliminate, and close the match when one remains.
        let mut match_winner = None;
        if self.rules.scoring == Scoring::Points {
            for (p, who) in participants.iter().enumerate() {
                ledger.points[*who] += points[p];
            }
            let limit = self.rules.elimination_limit;
            let survivors: Vec<usize> = participants
                .iter()
                .copied()
                .filter(|w| ledger.points[*w] < limit)
                .collect();
            match survivors.len() {
                0 => {
                    // Everyone crossed the limit together: the lowest total wins.
                    match_winner = participants.iter().copied().min_by_key(|w| (ledger.points[*w], *w));
                }
                1 => match_winner = Some(survivors[0]),
                _ => {
                    for w in participants {
                        ledger.eliminated[*w] = ledger.points[*w] >= limit;
                    }
                }
            }
        }
        let eliminated_now: Vec<bool> = participants
            .iter()
            .map(|w| ledger.points[*w] >= self.rules.elimination_limit && self.rules.scoring == Scoring::Points)
            .collect();
        let totals: Vec<u32> = participants.iter().map(|w| ledger.points[*w]).collect();
        if let Some(winner) = match_winner {
            ledger.matches_won[winner] += 1;
            ledger.points.iter_mut().for_each(|p| *p = 0);
            ledger.eliminated.iter_mut().for_each(|e| *e = false);
        }
        let turns = i64::from(state.turns());
        (0..participants.len())
            .map(|p| {
                let who = participants[p];
                let called = outcome.caller == p;
                SeatMetrics {
                    won: outcome.winner == p,
                    payoff: pay[p] as f64,
                    values: vec![
                        ("position", MetricValue::Int(p as i64)),
                        ("hand_value", MetricValue::Int(i64::from(outcome.values[p]))),
                        ("coin_change", MetricValue::Int(pay[p])),
                        ("round_points", MetricValue::Int(i64::from(points[p]))),
                        ("total_points", MetricValue::Int(i64::from(totals[p]))),
                        ("won", MetricValue::Bool(outcome.winner == p)),
                        ("called", MetricValue::Bool(called)),
                        ("call_succeeded", MetricValue::Bool(called && outcome.success)),
                        (
                            "forced_showdown",
                            MetricValue::Bool(outcome.ending == Ending::ForcedShowdown),
                        ),
                        (
                            "hand_emptied",
                            MetricValue::Bool(called && outcome.ending == Ending::EmptyHand),
                        ),
                        ("turns", MetricValue::Int(turns)),
                        ("cards_discarded", MetricValue::Int(i64::from(state.cards_discarded(p)))),
                        ("eliminated", MetricValue::Bool(eliminated_now[p])),
                        ("match_won", MetricValue::Bool(match_winner == Some(who))),
                    ],
                }
            })
            .collect()
    }

    fn record_columns(&self) -> &'static [&'static str] {
        COLUMNS
    }

    fn payoff_name(&self) -> &'static str {
        "coin_change"
    }

    fn fallback_action(&self, state: &DhumbalState) -> Action {
        match state.phase() {
            super::Phase::Call => super::cards::NO_CALL,
            super::Phase::Discard => state.highest_card_discard(),
            super::Phase::Pick | super::Phase::Over => super::cards::DRAW,
        }
    }

    fn abort_on_illegal(&self) -> bool {
        self.rules.illegal_discard == super::rules::IllegalDiscard::Abort
    }

    fn summary_metrics(&self, rounds: &[RoundMetrics<'_>]) -> Vec<(&'static str, MetricValue)> {
        // Every row has the same columns: find each one once, not once per row.
        let column = |name: &str| COLUMNS.iter().position(|c| *c == name);
        let value = |at: Option<usize>| {
            move |m: &RoundMetrics<'_>| at.and_then(|i| m.values.get(i)).map_or(0.0, |v| v.as_f64())
        };
        let called = value(column("called"));
        let succeeded = value(column("call_succeeded"));
        let hand_value = value(column("hand_value"));
        let discarded = value(column("cards_discarded"));
        let turns = value(column("turns"));
        let match_won = value(column("match_won"));
        let n = rounds.len().max(1) as f64;
        let calls: Vec<&RoundMetrics<'_>> = rounds.iter().filter(|m| called(m) > 0.0).collect();
        let successes = calls.iter().filter(|m| succeeded(m) > 0.0).count();
        let call_values: Vec<f64> = calls.iter().map(|m| hand_value(m)).collect();
        let call_success: Vec<f64> = calls.iter().map(|m| succeeded(m)).collect();
        let success_rate = if calls.is_empty() {
            0.0
        } else {
            successes as f64 / calls.len() as f64
        };
        let mut out = vec![
            ("jhyap_calls", MetricValue::Int(calls.len() as i64)),
            ("jhyap_success_rate", MetricValue::Float(success_rate)),
            (
                "cards_discarded_per_round",
                MetricValue::Float(rounds.iter().map(discarded).sum::<f64>() / n),
            ),
            (
                "risk_corr",
                MetricValue::Float(descriptive::pearson(&call_values, &call_success)),
            ),
            (
                "mean_turns_per_round",
                MetricValue::Float(rounds.iter().map(turns).sum::<f64>() / n),
            ),
        ];
        if self.rules.scoring == Scoring::Points {
            let matches = rounds.iter().filter(|m| match_won(m) > 0.0).count();
            out.push(("matches_won", MetricValue::Int(matches as i64)));
        }
        out
    }
}
