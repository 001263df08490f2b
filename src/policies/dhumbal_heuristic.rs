//! The study's four rule-based Dhumbal agents (`dhumbal-aggressive`, `-conservative`,
//! `-balanced`, `-opportunistic`), exactly as `shared/specs/dhumbal.md` specifies them.
//! One parameterised implementation; the four styles differ in their parameters and their
//! Jhyap rule. "First" in ties means first in canonical enumeration order (cards by rank,
//! then suit; sets by rank, then size, then suit combination; runs by suit).

use super::PolicyEntry;
use crate::core::game::Action;
use crate::core::policy::Policy;
use crate::core::rng::SimRng;
use crate::games::dhumbal::cards::{self, CALL, Card, CardSet, DRAW, NO_CALL, PICKUP};
use crate::games::dhumbal::{Dhumbal, DhumbalState, Phase};

/// The four playing styles of the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Always calls when allowed.
    Aggressive,
    /// Calls at value <= 7.
    Conservative,
    /// Calls surely at <= 5, often at 6..8, sometimes at 9..10.
    Balanced,
    /// Calls more readily when ahead on coins and late in the round.
    Opportunistic,
}

/// Style parameters (the spec's table).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StyleParams {
    /// Base pick-up threshold.
    pub pickup_threshold: i64,
    /// Weight on the discarded value.
    pub discard_high_preference: f64,
    /// Bonus per card for multi-card discards.
    pub multi_card_bonus: f64,
    /// Bonus for discarding a run.
    pub sequence_bonus: f64,
}

impl Style {
    /// The study's parameters for this style.
    pub fn params(self) -> StyleParams {
        let (pickup_threshold, discard_high_preference) = match self {
            Style::Aggressive => (4, 1.0),
            Style::Conservative => (3, 0.6),
            Style::Balanced | Style::Opportunistic => (4, 0.8),
        };
        StyleParams {
            pickup_threshold,
            discard_high_preference,
            multi_card_bonus: 2.0,
            sequence_bonus: 3.0,
        }
    }
}

/// A rule-based Dhumbal agent.
#[derive(Debug, Clone)]
pub struct HeuristicPolicy {
    style: Style,
    params: StyleParams,
    /// Opportunistic state that persists between decisions (the study's attributes).
    risk_factor: f64,
    base_call_probability: f64,
}

impl HeuristicPolicy {
    /// An agent of `style` with the study's parameters.
    pub fn new(style: Style) -> Self {
        HeuristicPolicy {
            style,
            params: style.params(),
            risk_factor: 1.0,
            base_call_probability: 0.3,
        }
    }

    /// The Jhyap decision (consulted only when calling is allowed).
    pub fn wants_to_call(&mut self, state: &DhumbalState, player: usize, rng: &mut SimRng) -> bool {
        let value = state.hand_value(player);
        match self.style {
            Style::Aggressive => true,
            Style::Conservative => value <= 7,
            Style::Balanced => match value {
                0..=5 => true,
                6..=8 => rng.chance(0.7),
                9..=10 => rng.chance(0.4),
                _ => false,
            },
            Style::Opportunistic => {
                let coins = state.coins();
                let average = coins.iter().sum::<i64>() as f64 / coins.len() as f64;
                if coins[player] as f64 > average {
                    self.risk_factor = 1.2;
                    self.base_call_probability = 0.8;
                } else {
                    self.risk_factor = 0.8;
                    self.base_call_probability = 0.3;
                }
                if value <= 7 {
                    true
                } else {
                    let late = if state.turns() > 20 { 0.15 } else { 0.0 };
                    let p = self.base_call_probability + 0.05 * (10.0 - f64::from(value)) + late;
                    rng.chance(p)
                }
            }
        }
    }

    /// The discard choice, as a card set.
    pub fn choose_discard(&self, state: &DhumbalState, player: usize) -> CardSet {
        let hand = state.hand(player);
        let total = state.hand_value(player);
        let value = |c: Card| state.card_value(c);
        if total <= 10 {
            // Near the threshold: shed a card that brings the hand within 5 points.
            let best_single = cards::cards(hand)
                .filter(|c| total - value(*c) <= 5)
                .fold(None::<Card>, |best, c| match best {
                    Some(b) if value(b) >= value(c) => Some(b),
                    _ => Some(c),
                });
            if let Some(c) = best_single {
                return 1u64 << c;
            }
            for r in 0..13u32 {
                let group = hand & (0xFu64 << (r * 4));
                if group.count_ones() >= 2 && total - state.set_value(group) <= 5 {
                    return group;
                }
            }
            let lowest = cards::cards(hand)
                .fold(None::<Card>, |best, c| match best {
                    Some(b) if value(b) <= value(c) => Some(b),
                    _ => Some(c),
                })
                .expect("non-empty hand");
            return 1u64 << lowest;
        }
        let mut best: Option<(f64, CardSet)> = None;
        for option in discard_options(hand, state.rules().ace_high_runs) {
            let score = self.score(state, option, total);
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, option));
            }
        }
        best.expect("at least one single card").1
    }

    fn score(&self, state: &DhumbalState, option: CardSet, total: u32) -> f64 {
        let p = &self.params;
        let discarded = state.set_value(option);
        let len = option.count_ones();
        let remaining = total - discarded;
        let mut score = f64::from(discarded) * p.discard_high_preference;
        if len > 1 {
            score += f64::from(len) * p.multi_card_bonus;
        }
        if len >= 3 && one_suit(option) {
            score += p.sequence_bonus;
        }
        if remaining <= 10 {
            score += 50.0;
        }
        if total > 0 {
            score += 10.0 * (f64::from(total - remaining) / f64::from(total)).max(0.0);
        }
        score
    }

    /// The pick decision: take the offered card iff its value is at most the threshold.
    pub fn wants_pickup(&self, state: &DhumbalState, player: usize) -> bool {
        let Some(offer) = state.pickup_offer() else {
            return false;
        };
        let after_discard = state.hand_value(player);
        let mut threshold = self.params.pickup_threshold;
        if after_discard > 15 {
            threshold += 2;
        }
        if after_discard <= 12 {
            threshold -= 1;
        }
        i64::from(state.card_value(offer)) <= threshold
    }
}

fn one_suit(set: CardSet) -> bool {
    let first = cards::suit(set.trailing_zeros() as Card);
    cards::cards(set).all(|c| cards::suit(c) == first)
}

/// Options in the study's order: singles; same-rank subsets of size >= 2 (by rank, size,
/// then suit combination); maximal same-suit runs of length >= 3 (by suit, then start).
pub fn discard_options(hand: CardSet, ace_high_runs: bool) -> Vec<CardSet> {
    let mut options: Vec<CardSet> = cards::cards(hand).map(|c| 1u64 << c).collect();
    for r in 0..13u32 {
        let of_rank: Vec<Card> = cards::cards(hand & (0xFu64 << (r * 4))).collect();
        for size in 2..=of_rank.len() {
            for_each_combination(of_rank.len(), size, &mut |idx| {
                options.push(idx.iter().fold(0u64, |m, i| m | (1u64 << of_rank[*i])));
            });
        }
    }
    for s in 0..4u8 {
        // Rank positions 0..13, with position 13 an ace played high where allowed.
        let has = |pos: u8| -> bool {
            let r = if pos == 13 { 0 } else { pos };
            (pos < 13 || ace_high_runs) && hand & (1u64 << cards::card(r, s)) != 0
        };
        let mut pos = 0u8;
        while pos <= 13 {
            if !has(pos) {
                pos += 1;
                continue;
            }
            let start = pos;
            while pos <= 13 && has(pos) {
                pos += 1;
            }
            if pos - start >= 3 {
                let run = (start..pos).fold(0u64, |m, p| m | (1u64 << cards::card(if p == 13 { 0 } else { p }, s)));
                // An A-2-...-K-A wrap cannot happen with five cards; guard anyway.
                if run.count_ones() == u32::from(pos - start) {
                    options.push(run);
                }
            }
        }
    }
    options
}

fn for_each_combination(n: usize, k: usize, visit: &mut dyn FnMut(&[usize])) {
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        visit(&idx);
        let Some(i) = (0..k).rev().find(|i| idx[*i] != i + n - k) else {
            return;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

impl Policy<Dhumbal> for HeuristicPolicy {
    fn act(&mut self, state: &DhumbalState, player: usize, rng: &mut SimRng) -> Action {
        match state.phase() {
            Phase::Call => {
                if self.wants_to_call(state, player, rng) {
                    CALL
                } else {
                    NO_CALL
                }
            }
            Phase::Discard => {
                let group = self.choose_discard(state, player);
                cards::discard_action(group, state.rules().ace_high_runs).expect("heuristic options are legal discards")
            }
            Phase::Pick => {
                if self.wants_pickup(state, player) {
                    PICKUP
                } else {
                    DRAW
                }
            }
            Phase::Over => unreachable!("no decision in a finished round"),
        }
    }
}

fn build(style: Style) -> Result<Box<dyn Policy<Dhumbal>>, String> {
    Ok(Box::new(HeuristicPolicy::new(style)))
}

/// Registry entries for the four styles.
pub fn entries() -> Vec<PolicyEntry<Dhumbal>> {
    vec![
        PolicyEntry::new(
            "dhumbal-aggressive",
            "study heuristic: always calls Jhyap when allowed; sheds high cards (pick-up threshold 4)",
            |_| build(Style::Aggressive),
        ),
        PolicyEntry::new(
            "dhumbal-conservative",
            "study heuristic: calls at value <= 7; pick-up threshold 3, discard preference 0.6",
            |_| build(Style::Conservative),
        ),
        PolicyEntry::new(
            "dhumbal-balanced",
            "study heuristic: calls at <= 5, with p 0.7 at 6-8 and p 0.4 at 9-10",
            |_| build(Style::Balanced),
        ),
        PolicyEntry::new(
            "dhumbal-opportunistic",
            "study heuristic: calls more when ahead on coins and after turn 20",
            |_| build(Style::Opportunistic),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::game::State;
    use crate::games::dhumbal::MAX_PLAYERS;
    use crate::games::dhumbal::cards::parse_card;
    use crate::games::dhumbal::rules::DhumbalRules;

    fn set(names: &[&str]) -> CardSet {
        names.iter().fold(0, |m, n| m | (1u64 << parse_card(n).unwrap()))
    }

    /// Player 0 holds `hand`; players 1..3 hold filler high cards; pile top 9D.
    fn state_with(hand: &[&str], coins: [i64; 4]) -> DhumbalState {
        let mut hands = [0u64; MAX_PLAYERS];
        hands[0] = set(hand);
        hands[1] = set(&["KC", "KD", "QC", "QD", "JC"]);
        hands[2] = set(&["KH", "KS", "QH", "QS", "JD"]);
        hands[3] = set(&["JH", "JS", "10C", "10D", "10H"]);
        let used = hands.iter().fold(0, |m, h| m | h) | set(&["9D"]);
        let stock: Vec<Card> = (0..52).filter(|c| used & (1u64 << c) == 0).collect();
        DhumbalState::from_parts(
            DhumbalRules::paper(),
            hands,
            stock,
            vec![parse_card("9D").unwrap()],
            0,
            &coins,
            1,
        )
    }

    #[test]
    fn high_hand_prefers_runs_and_high_cards_by_score() {
        // 8H 9H 10H KS 2C: total 8+9+10+13+2 = 42.
        // run 8-9-10H: 27*1.0 + 3*2 + 3 + 0 + 10*27/42 = 42.43; KS single: 13 + 10*13/42 = 16.1.
        let s = state_with(&["8H", "9H", "10H", "KS", "2C"], [10_000; 4]);
        let agg = HeuristicPolicy::new(Style::Aggressive);
        assert_eq!(agg.choose_discard(&s, 0), set(&["8H", "9H", "10H"]));
    }

    #[test]
    fn fifty_point_bonus_drives_towards_the_threshold() {
        // 9C 9S 3D AD 2H: total 24. Pair of 9s leaves 6 (<= 10): 18*0.6 + 4 + 50 + 10*18/24.
        let s = state_with(&["9C", "9S", "3D", "AD", "2H"], [10_000; 4]);
        let con = HeuristicPolicy::new(Style::Conservative);
        assert_eq!(con.choose_discard(&s, 0), set(&["9C", "9S"]));
    }

    #[test]
    fn low_hand_rules() {
        // Total 9 (AC 2C 3D 3S): singles with 9 - v <= 5 are v >= 4: none -> the first
        // same-rank group with 9 - sum <= 5 is the 3s (9 - 6 = 3).
        let s = state_with(&["AC", "2C", "3D", "3S"], [10_000; 4]);
        let bal = HeuristicPolicy::new(Style::Balanced);
        assert_eq!(bal.choose_discard(&s, 0), set(&["3D", "3S"]));
        // Total 10 (AC 2D 7S): a single with 10 - v <= 5 is 7S.
        let s = state_with(&["AC", "2D", "7S"], [10_000; 4]);
        assert_eq!(bal.choose_discard(&s, 0), set(&["7S"]));
        // Total 9 (AC 2D 2H 4S)? singles need v >= 4: 4S.
        let s = state_with(&["AC", "2D", "3H", "3S"], [10_000; 4]);
        // total 9: singles need v >= 4: none; 3s sum 6 -> 9 - 6 = 3 <= 5.
        assert_eq!(bal.choose_discard(&s, 0), set(&["3H", "3S"]));
        // Total 6 (AC 2D 3H): single 3H leaves 3 <= 5 -> highest qualifying single 3H.
        let s = state_with(&["AC", "2D", "3H"], [10_000; 4]);
        assert_eq!(bal.choose_discard(&s, 0), set(&["3H"]));
    }

    #[test]
    fn jhyap_rules_per_style() {
        let mut rng = SimRng::new(5);
        let s = state_with(&["AC", "2D", "3H", "2S"], [10_000; 4]); // value 8
        assert!(HeuristicPolicy::new(Style::Aggressive).wants_to_call(&s, 0, &mut rng));
        assert!(!HeuristicPolicy::new(Style::Conservative).wants_to_call(&s, 0, &mut rng));
        let s7 = state_with(&["AC", "2D", "4H"], [10_000; 4]); // value 7
        assert!(HeuristicPolicy::new(Style::Conservative).wants_to_call(&s7, 0, &mut rng));
        assert!(HeuristicPolicy::new(Style::Opportunistic).wants_to_call(&s7, 0, &mut rng));
        // Balanced at 8 calls about 70% of the time.
        let mut bal = HeuristicPolicy::new(Style::Balanced);
        let calls = (0..4000).filter(|_| bal.wants_to_call(&s, 0, &mut rng)).count();
        assert!((2650..=2950).contains(&calls), "{calls}");
        // Opportunistic behind on coins at value 8, early: p = 0.3 + 0.1 = 0.4.
        let behind = state_with(&["AC", "2D", "3H", "2S"], [9_000, 10_000, 10_500, 10_500]);
        let mut opp = HeuristicPolicy::new(Style::Opportunistic);
        let calls = (0..4000).filter(|_| opp.wants_to_call(&behind, 0, &mut rng)).count();
        assert!((1450..=1750).contains(&calls), "{calls}");
        // Ahead: p = 0.8 + 0.1 = 0.9.
        let ahead = state_with(&["AC", "2D", "3H", "2S"], [11_000, 10_000, 9_500, 9_500]);
        let calls = (0..4000).filter(|_| opp.wants_to_call(&ahead, 0, &mut rng)).count();
        assert!((3500..=3700).contains(&calls), "{calls}");
    }

    #[test]
    fn pickup_threshold_adjusts_with_hand_value() {
        let agg = HeuristicPolicy::new(Style::Aggressive);
        // After discarding KS from KS QH 2C 3D 5C the hand is 22 (> 15): threshold 6.
        let mut s = state_with(&["KS", "QH", "2C", "3D", "5C"], [10_000; 4]);
        s.apply_action(cards::SINGLE_BASE + u32::from(parse_card("KS").unwrap()));
        assert_eq!(s.pickup_offer(), parse_card("KS"));
        assert!(!agg.wants_pickup(&s, 0), "a king is never picked up");
        // Discarding 5C from 5C 9H 8D QS 2C leaves 31: threshold 6, offer 5 -> take.
        let mut s = state_with(&["5C", "9H", "8D", "QS", "2C"], [10_000; 4]);
        s.apply_action(cards::SINGLE_BASE + u32::from(parse_card("5C").unwrap()));
        assert!(agg.wants_pickup(&s, 0));
        // Conservative: discarding QC leaves 17 (> 15): threshold 3 + 2 = 5; a queen -> draw.
        let con = HeuristicPolicy::new(Style::Conservative);
        let mut s = state_with(&["5C", "9H", "AD", "2S", "QC"], [10_000; 4]);
        s.apply_action(cards::SINGLE_BASE + u32::from(parse_card("QC").unwrap()));
        assert!(!con.wants_pickup(&s, 0));
        // Conservative at 12 after discarding: threshold 3 - 1 = 2, so a 3 is refused.
        let mut s = state_with(&["3C", "9H", "AD", "2S", "KC"], [10_000; 4]);
        s.apply_action(cards::SINGLE_BASE + u32::from(parse_card("KC").unwrap()));
        let mut s2 = s.clone();
        assert_eq!(s.hand_value(0), 15);
        assert!(!con.wants_pickup(&s, 0), "own discard K refused");
        // Traditional pick-up offers the previous top (9D here): refused at threshold 3.
        s2 = s2.clone();
        assert!(!con.wants_pickup(&s2, 0));
    }

    #[test]
    fn discard_options_enumerate_sets_and_maximal_runs() {
        let hand = set(&["5C", "5D", "5H", "6H", "7H"]);
        let options = discard_options(hand, false);
        // 5 singles + C(3,2)+C(3,3)=4 sets + 1 maximal run.
        assert_eq!(options.len(), 10);
        assert_eq!(*options.last().unwrap(), set(&["5H", "6H", "7H"]));
        let high = set(&["QS", "KS", "AS", "2D", "3D"]);
        assert!(discard_options(high, true).contains(&set(&["QS", "KS", "AS"])));
        assert!(!discard_options(high, false).contains(&set(&["QS", "KS", "AS"])));
    }
}
