//! Kuhn poker (Kuhn 1950) for 2 or 3 players, matching OpenSpiel's `kuhn_poker`: a deck of
//! n + 1 cards (0 is lowest); chance deals one card to each player in turn (action = card
//! id); everyone antes 1; actions 0 = pass (check/fold) and 1 = bet (bet/call); the
//! observation is OpenSpiel's information-state tensor (player one-hot, card one-hot,
//! betting sequence), of length 6n - 1.

use crate::core::facts::GameFacts;
use crate::core::game::{Action, Game, Resample, State, Turn};
use crate::core::params::{GameSpec, ParamSpec};
use crate::core::rng::SimRng;

/// Action: pass (check or fold).
pub const PASS: Action = 0;
/// Action: bet (or call).
pub const BET: Action = 1;

/// Kuhn poker for `players` players (2 or 3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KuhnPoker {
    /// Players (2 or 3).
    pub players: usize,
}

/// A Kuhn poker history.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KuhnState {
    players: usize,
    /// Card of each player (dealt so far).
    cards: Vec<u8>,
    /// Betting actions so far.
    bets: Vec<u8>,
    first_bettor: Option<usize>,
    pot: u32,
    winner: Option<usize>,
}

impl KuhnPoker {
    /// A game for 2 or 3 players.
    pub fn new(players: usize) -> Self {
        assert!((2..=3).contains(&players), "Kuhn poker takes 2 or 3 players");
        KuhnPoker { players }
    }
}

impl GameFacts for KuhnPoker {
    const NAME: &'static str = "kuhn_poker";
    const HELP: &'static str = "Kuhn poker, 2 or 3 players (OpenSpiel conventions); exact game-theoretic checks";
    const RULE_SETS: &'static [&'static str] = &["standard"];
    const PLAYERS: (usize, usize) = (2, 3);
    const PARAMS: &'static [ParamSpec] = &[];

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        Self::players_of(spec).map(KuhnPoker::new)
    }
}

impl Game for KuhnPoker {
    type State = KuhnState;
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn num_players(&self) -> usize {
        self.players
    }
    fn num_distinct_actions(&self) -> usize {
        2
    }
    fn observation_len(&self) -> usize {
        6 * self.players - 1
    }
    /// Everyone else's ante and bet: 2 from each other player.
    fn max_utility(&self) -> f64 {
        2.0 * (self.players - 1) as f64
    }
    fn new_initial_state(&self, _rng: &mut SimRng) -> KuhnState {
        KuhnState {
            players: self.players,
            cards: Vec::with_capacity(self.players),
            bets: Vec::with_capacity(2 * self.players),
            first_bettor: None,
            pot: self.players as u32,
            winner: None,
        }
    }
    fn action_label(&self, action: Action) -> String {
        if action == PASS { "pass" } else { "bet" }.to_string()
    }
}

impl KuhnState {
    /// The card of `player`, once dealt.
    pub fn card(&self, player: usize) -> Option<u8> {
        self.cards.get(player).copied()
    }

    /// Betting actions so far.
    pub fn betting(&self) -> &[u8] {
        &self.bets
    }

    /// Actions applied so far (deals included).
    pub fn moves(&self) -> u32 {
        (self.cards.len() + self.bets.len()) as u32
    }

    fn did_bet(&self, player: usize) -> bool {
        match self.first_bettor {
            None => false,
            Some(f) if player == f => true,
            Some(f) if player > f => self.bets[player] == BET as u8,
            Some(_) => self.bets[self.players + player] == BET as u8,
        }
    }

    fn check_end(&mut self) {
        let n = self.players;
        let acted = self.bets.len();
        match self.first_bettor {
            None if acted == n => {
                // Everyone passed: the highest card wins.
                self.winner = (0..n).max_by_key(|p| self.cards[*p]);
            }
            Some(f) if acted == n + f => {
                // The highest card among those who bet or called wins.
                self.winner = (0..n).filter(|p| self.did_bet(*p)).max_by_key(|p| self.cards[*p]);
            }
            _ => {}
        }
    }
}

impl State for KuhnState {
    fn turn(&self) -> Turn {
        if self.winner.is_some() {
            Turn::Terminal
        } else if self.cards.len() < self.players {
            Turn::Chance
        } else {
            Turn::Player(self.bets.len() % self.players)
        }
    }
    fn legal_actions(&self) -> Vec<Action> {
        match self.turn() {
            Turn::Terminal => Vec::new(),
            Turn::Chance => self.chance_outcomes().into_iter().map(|(a, _)| a).collect(),
            Turn::Player(_) => vec![PASS, BET],
        }
    }
    fn apply_action(&mut self, action: Action) {
        match self.turn() {
            Turn::Chance => {
                assert!(
                    (action as usize) <= self.players && !self.cards.contains(&(action as u8)),
                    "card {action} cannot be dealt"
                );
                self.cards.push(action as u8);
            }
            Turn::Player(p) => {
                assert!(action <= BET, "illegal Kuhn action {action}");
                if action == BET {
                    self.first_bettor.get_or_insert(p);
                    self.pot += 1;
                }
                self.bets.push(action as u8);
                self.check_end();
            }
            Turn::Terminal => panic!("no action after the end"),
        }
    }
    fn returns(&self) -> Vec<f64> {
        let Some(w) = self.winner else {
            return vec![0.0; self.players];
        };
        (0..self.players)
            .map(|p| {
                let bet = if self.did_bet(p) { 2.0 } else { 1.0 };
                if p == w { f64::from(self.pot) - bet } else { -bet }
            })
            .collect()
    }
    /// Own card (J, Q, K, and A with three players), the betting so far, the pot.
    fn observation_view(&self, player: usize) -> serde_json::Value {
        const NAMES: [&str; 4] = ["J", "Q", "K", "A"];
        let bets: Vec<&str> = self
            .bets
            .iter()
            .map(|a| if u32::from(*a) == PASS { "pass" } else { "bet" })
            .collect();
        serde_json::json!({
            "player": player,
            "card": self.card(player).map(|c| NAMES[c as usize]),
            "bets": bets,
            "pot": self.pot,
        })
    }
    fn observation(&self, player: usize, out: &mut [f32]) {
        let n = self.players;
        out.fill(0.0);
        out[player] = 1.0;
        if let Some(c) = self.card(player) {
            out[n + c as usize] = 1.0;
        }
        let base = 2 * n + 1;
        for (i, a) in self.bets.iter().enumerate() {
            out[base + 2 * i + *a as usize] = 1.0;
        }
    }
    fn information_state_key(&self, player: usize) -> u64 {
        // Exact: player, own card, and the betting bits with a length marker.
        let card = self.card(player).map_or(0, |c| u64::from(c) + 1);
        let bets = self.bets.iter().fold(1u64, |k, a| (k << 1) | u64::from(*a));
        (bets << 8) | (card << 4) | player as u64
    }
    fn chance_outcomes(&self) -> Vec<(Action, f64)> {
        if self.cards.len() >= self.players {
            return Vec::new();
        }
        let remaining: Vec<Action> = (0..=self.players as u32)
            .filter(|c| !self.cards.contains(&(*c as u8)))
            .collect();
        let p = 1.0 / remaining.len() as f64;
        remaining.into_iter().map(|c| (c, p)).collect()
    }
}

impl Resample for KuhnState {
    fn resample(&self, player: usize, rng: &mut SimRng) -> Self {
        let mut s = self.clone();
        if let Some(own) = self.card(player) {
            let mut others: Vec<u8> = (0..=self.players as u8).filter(|c| *c != own).collect();
            rng.shuffle(&mut others);
            for (p, slot) in s.cards.iter_mut().enumerate() {
                if p != player {
                    *slot = others.pop().expect("enough cards");
                }
            }
            s.winner = None;
            if s.bets.len() >= self.players {
                s.check_end();
            }
        }
        s
    }
}

crate::episodic_tournament!(KuhnPoker);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn walk(s: &KuhnState, nodes: &mut usize, infosets: &mut HashSet<(usize, u64)>, terminals: &mut usize) {
        *nodes += 1;
        match s.turn() {
            Turn::Terminal => {
                *terminals += 1;
                assert!(s.returns().iter().sum::<f64>().abs() < 1e-12, "zero-sum");
            }
            Turn::Chance | Turn::Player(_) => {
                if let Turn::Player(p) = s.turn() {
                    infosets.insert((p, s.information_state_key(p)));
                }
                for a in s.legal_actions() {
                    let mut c = s.clone();
                    c.apply_action(a);
                    walk(&c, nodes, infosets, terminals);
                }
            }
        }
    }

    #[test]
    fn exact_sizes_match_openspiel() {
        for (players, nodes_expected, infosets_expected, terminals_expected) in [(2, 58, 12, 30), (3, 617, 48, 312)] {
            let g = KuhnPoker::new(players);
            let (mut nodes, mut infosets, mut terminals) = (0, HashSet::new(), 0);
            walk(
                &g.new_initial_state(&mut SimRng::new(0)),
                &mut nodes,
                &mut infosets,
                &mut terminals,
            );
            assert_eq!(nodes, nodes_expected, "{players} players: histories");
            assert_eq!(infosets.len(), infosets_expected, "{players} players: information sets");
            assert_eq!(terminals, terminals_expected, "{players} players: terminal histories");
        }
    }

    #[test]
    fn payoffs_by_hand() {
        let g = KuhnPoker::new(2);
        let play = |actions: &[Action]| {
            let mut s = g.new_initial_state(&mut SimRng::new(0));
            for a in actions {
                s.apply_action(*a);
            }
            s
        };
        // Cards: player 0 holds 2 (king), player 1 holds 0 (jack).
        assert_eq!(play(&[2, 0, PASS, PASS]).returns(), vec![1.0, -1.0]);
        assert_eq!(play(&[2, 0, BET, BET]).returns(), vec![2.0, -2.0]);
        assert_eq!(play(&[2, 0, BET, PASS]).returns(), vec![1.0, -1.0]);
        assert_eq!(play(&[0, 2, PASS, BET, PASS]).returns(), vec![-1.0, 1.0]);
        assert_eq!(play(&[0, 2, PASS, BET, BET]).returns(), vec![-2.0, 2.0]);
    }

    #[test]
    fn information_state_tensor_layout() {
        let g = KuhnPoker::new(2);
        let mut s = g.new_initial_state(&mut SimRng::new(0));
        for a in [1, 2, PASS, BET] {
            s.apply_action(a);
        }
        let mut out = vec![0.0; 11];
        s.observation(0, &mut out);
        assert_eq!(out, vec![1., 0., 0., 1., 0., 1., 0., 0., 1., 0., 0.]);
    }

    #[test]
    fn resampling_keeps_own_card_and_history() {
        let g = KuhnPoker::new(3);
        let mut s = g.new_initial_state(&mut SimRng::new(0));
        for a in [3, 1, 0, PASS] {
            s.apply_action(a);
        }
        let mut rng = SimRng::new(4);
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let r = s.resample(1, &mut rng);
            assert_eq!(r.card(1), Some(1));
            assert_eq!(r.betting(), s.betting());
            assert_eq!(r.information_state_key(1), s.information_state_key(1));
            seen.insert((r.card(0), r.card(2)));
        }
        assert_eq!(seen.len(), 6, "every consistent deal appears");
    }
}
