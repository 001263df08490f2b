//! Leduc hold'em (Southey et al. 2005), matching OpenSpiel's `leduc_poker`: a deck of
//! (n + 1) x 2 cards (card c has rank c / 2); everyone antes 1; chance deals one private
//! card to each player, then, after the first betting round, one public card; actions
//! 0 = fold, 1 = call/check, 2 = raise; raises are 2 in round 1 and 4 in round 2, at most
//! two per round; folding is legal only when facing a bet. A pair with the public card
//! beats any high card; ties split the pot. The observation is OpenSpiel's
//! information-state tensor (player, private card, public card, betting sequence).

use crate::core::facts::GameFacts;
use crate::core::game::{Action, Game, Resample, State, Turn};
use crate::core::params::{GameSpec, ParamSpec};
use crate::core::rng::{SimRng, mix64};

/// Action: fold.
pub const FOLD: Action = 0;
/// Action: call (or check).
pub const CALL: Action = 1;
/// Action: raise.
pub const RAISE: Action = 2;
const MAX_RAISES: u32 = 2;
const RAISE_AMOUNTS: [u32; 2] = [2, 4];

/// Leduc poker for `players` players (2 to 5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeducPoker {
    /// Players.
    pub players: usize,
}

/// A Leduc history.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeducState {
    players: usize,
    /// Private card per player (dealt so far).
    private: Vec<u8>,
    public: Option<u8>,
    /// Betting actions of round 1 and round 2.
    sequences: [Vec<u8>; 2],
    round: usize,
    current: usize,
    stakes: u32,
    contributions: Vec<u32>,
    folded: Vec<bool>,
    raises: u32,
    calls: u32,
    terminal: bool,
}

impl LeducPoker {
    /// A game for 2 to 5 players.
    pub fn new(players: usize) -> Self {
        assert!((2..=5).contains(&players), "Leduc poker here takes 2 to 5 players");
        LeducPoker { players }
    }

    fn deck_size(&self) -> usize {
        (self.players + 1) * 2
    }

    fn bets_per_round(&self) -> usize {
        3 * self.players - 2
    }
}

impl GameFacts for LeducPoker {
    const NAME: &'static str = "leduc_poker";
    const HELP: &'static str = "Leduc hold'em, 2-5 players (OpenSpiel conventions); exact game-theoretic checks";
    const RULE_SETS: &'static [&'static str] = &["standard"];
    const PLAYERS: (usize, usize) = (2, 5);
    const PARAMS: &'static [ParamSpec] = &[];

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        Self::players_of(spec).map(LeducPoker::new)
    }
}

impl Game for LeducPoker {
    type State = LeducState;
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn num_players(&self) -> usize {
        self.players
    }
    fn num_distinct_actions(&self) -> usize {
        3
    }
    fn observation_len(&self) -> usize {
        self.players + 2 * self.deck_size() + 2 * self.bets_per_round() * 2
    }
    /// Everyone else's largest stake (the ante plus two raises in each round: 13).
    fn max_utility(&self) -> f64 {
        let stake = 1 + MAX_RAISES * RAISE_AMOUNTS.iter().sum::<u32>();
        f64::from(stake) * (self.players - 1) as f64
    }
    fn new_initial_state(&self, _rng: &mut SimRng) -> LeducState {
        LeducState {
            players: self.players,
            private: Vec::with_capacity(self.players),
            public: None,
            sequences: [Vec::new(), Vec::new()],
            round: 0,
            current: 0,
            stakes: 1,
            contributions: vec![1; self.players],
            folded: vec![false; self.players],
            raises: 0,
            calls: 0,
            terminal: false,
        }
    }
    fn action_label(&self, action: Action) -> String {
        match action {
            FOLD => "fold",
            CALL => "call",
            _ => "raise",
        }
        .to_string()
    }
}

impl LeducState {
    fn deck_size(&self) -> usize {
        (self.players + 1) * 2
    }

    fn remaining(&self) -> u32 {
        self.folded.iter().filter(|f| !**f).count() as u32
    }

    fn dealing(&self) -> bool {
        self.private.len() < self.players || (self.round == 1 && self.public.is_none())
    }

    /// A player's private card, once dealt.
    pub fn private_card(&self, player: usize) -> Option<u8> {
        self.private.get(player).copied()
    }

    /// The public card, once dealt.
    pub fn public_card(&self) -> Option<u8> {
        self.public
    }

    /// Actions applied so far (deals included).
    pub fn moves(&self) -> u32 {
        (self.private.len() + usize::from(self.public.is_some()) + self.sequences[0].len() + self.sequences[1].len())
            as u32
    }

    fn next_player(&self, from: usize) -> usize {
        (1..=self.players)
            .map(|i| (from + i) % self.players)
            .find(|p| !self.folded[*p])
            .expect("someone has not folded")
    }

    fn ready_for_next_round(&self) -> bool {
        let remaining = self.remaining();
        (self.raises == 0 && self.calls == remaining) || (self.raises > 0 && self.calls == remaining - 1)
    }

    fn rank(&self, player: usize) -> u32 {
        let n = self.deck_size() as u32;
        let (a, b) = (
            u32::from(self.private[player]),
            u32::from(self.public.expect("showdown after the flop")),
        );
        let (lo, hi) = (a.min(b), a.max(b));
        if lo / 2 == hi / 2 {
            n * n + lo
        } else {
            (hi / 2) * n + lo / 2
        }
    }

    fn after_bet(&mut self) {
        if self.remaining() == 1 || (self.round == 1 && self.ready_for_next_round()) {
            self.terminal = true;
        } else if self.ready_for_next_round() {
            self.round = 1;
            self.raises = 0;
            self.calls = 0;
        } else {
            self.current = self.next_player(self.current);
        }
    }
}

impl State for LeducState {
    fn turn(&self) -> Turn {
        if self.terminal {
            Turn::Terminal
        } else if self.dealing() {
            Turn::Chance
        } else {
            Turn::Player(self.current)
        }
    }
    fn legal_actions(&self) -> Vec<Action> {
        match self.turn() {
            Turn::Terminal => Vec::new(),
            Turn::Chance => self.chance_outcomes().into_iter().map(|(a, _)| a).collect(),
            Turn::Player(p) => {
                let mut v = Vec::with_capacity(3);
                if self.stakes > self.contributions[p] {
                    v.push(FOLD);
                }
                v.push(CALL);
                if self.raises < MAX_RAISES {
                    v.push(RAISE);
                }
                v
            }
        }
    }
    fn apply_action(&mut self, action: Action) {
        match self.turn() {
            Turn::Chance => {
                let card = action as u8;
                assert!(
                    (action as usize) < self.deck_size() && !self.private.contains(&card) && self.public != Some(card),
                    "card {action} cannot be dealt"
                );
                if self.private.len() < self.players {
                    self.private.push(card);
                    self.current = 0;
                } else {
                    self.public = Some(card);
                    self.current = self.next_player(self.players - 1);
                }
            }
            Turn::Player(p) => {
                assert!(self.legal_actions().contains(&action), "illegal Leduc action {action}");
                self.sequences[self.round].push(action as u8);
                match action {
                    FOLD => {
                        self.folded[p] = true;
                    }
                    CALL => {
                        self.contributions[p] = self.stakes;
                        self.calls += 1;
                    }
                    _ => {
                        self.stakes += RAISE_AMOUNTS[self.round];
                        self.contributions[p] = self.stakes;
                        self.raises += 1;
                        self.calls = 0;
                    }
                }
                self.after_bet();
            }
            Turn::Terminal => panic!("no action after the end"),
        }
    }
    fn returns(&self) -> Vec<f64> {
        if !self.terminal {
            return vec![0.0; self.players];
        }
        let pot: u32 = self.contributions.iter().sum();
        let live: Vec<usize> = (0..self.players).filter(|p| !self.folded[*p]).collect();
        let winners: Vec<usize> = if live.len() == 1 {
            live
        } else {
            let best = live.iter().map(|p| self.rank(*p)).max().expect("live players");
            live.into_iter().filter(|p| self.rank(*p) == best).collect()
        };
        let share = f64::from(pot) / winners.len() as f64;
        (0..self.players)
            .map(|p| {
                let won = if winners.contains(&p) { share } else { 0.0 };
                won - f64::from(self.contributions[p])
            })
            .collect()
    }
    /// Own private card and the public card by rank index (0 = J, 1 = Q, 2 = K, ...; two
    /// suits each), the betting of both rounds, own contribution and the stakes.
    fn observation_view(&self, player: usize) -> serde_json::Value {
        let name = |a: &u8| match u32::from(*a) {
            FOLD => "fold",
            CALL => "call",
            _ => "raise",
        };
        let rounds: Vec<Vec<&str>> = self.sequences.iter().map(|s| s.iter().map(name).collect()).collect();
        serde_json::json!({
            "player": player,
            "private_card": self.private_card(player),
            "public_card": self.public,
            "betting_round": self.round,
            "betting": rounds,
            "contribution": self.contributions.get(player),
            "stakes": self.stakes,
            "folded": self.folded,
        })
    }
    fn observation(&self, player: usize, out: &mut [f32]) {
        let n = self.players;
        let deck = self.deck_size();
        let per_round = 3 * n - 2;
        out.fill(0.0);
        out[player] = 1.0;
        if let Some(c) = self.private_card(player) {
            out[n + c as usize] = 1.0;
        }
        if let Some(c) = self.public {
            out[n + deck + c as usize] = 1.0;
        }
        let base = n + 2 * deck;
        for (round, seq) in self.sequences.iter().enumerate() {
            for (i, a) in seq.iter().enumerate() {
                // OpenSpiel: call as 10, raise as 01, fold as 00.
                match u32::from(*a) {
                    CALL => out[base + (round * per_round + i) * 2] = 1.0,
                    RAISE => out[base + (round * per_round + i) * 2 + 1] = 1.0,
                    _ => {}
                }
            }
        }
    }
    fn information_state_key(&self, player: usize) -> u64 {
        // A hash of exactly what the player knows: own card, public card, both rounds.
        let mut k = mix64(player as u64 + 1);
        k = mix64(k ^ self.private_card(player).map_or(0xFF, u64::from));
        k = mix64(k ^ self.public.map_or(0xFF, u64::from) << 8);
        for (round, seq) in self.sequences.iter().enumerate() {
            k = mix64(k ^ (0xA0 + round as u64));
            for a in seq {
                k = mix64(k ^ u64::from(*a));
            }
        }
        k
    }
    fn chance_outcomes(&self) -> Vec<(Action, f64)> {
        if !self.dealing() {
            return Vec::new();
        }
        let remaining: Vec<Action> = (0..self.deck_size() as u32)
            .filter(|c| !self.private.contains(&(*c as u8)) && self.public != Some(*c as u8))
            .collect();
        let p = 1.0 / remaining.len() as f64;
        remaining.into_iter().map(|c| (c, p)).collect()
    }
}

impl Resample for LeducState {
    fn resample(&self, player: usize, rng: &mut SimRng) -> Self {
        let mut s = self.clone();
        let Some(own) = self.private_card(player) else { return s };
        let mut unseen: Vec<u8> = (0..self.deck_size() as u8)
            .filter(|c| *c != own && self.public != Some(*c))
            .collect();
        rng.shuffle(&mut unseen);
        for (p, slot) in s.private.iter_mut().enumerate() {
            if p != player {
                *slot = unseen.pop().expect("enough cards");
            }
        }
        s
    }
}

crate::episodic_tournament!(LeducPoker);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn walk(s: &LeducState, nodes: &mut usize, infosets: &mut HashSet<u64>) {
        *nodes += 1;
        if let Turn::Player(p) = s.turn() {
            infosets.insert(s.information_state_key(p));
        }
        if s.is_terminal() {
            assert!(s.returns().iter().sum::<f64>().abs() < 1e-12, "zero-sum");
        }
        for a in s.legal_actions() {
            let mut c = s.clone();
            c.apply_action(a);
            walk(&c, nodes, infosets);
        }
    }

    #[test]
    fn exact_sizes_match_openspiel() {
        let g = LeducPoker::new(2);
        let (mut nodes, mut infosets) = (0, HashSet::new());
        walk(&g.new_initial_state(&mut SimRng::new(0)), &mut nodes, &mut infosets);
        assert_eq!(nodes, 9457, "histories");
        assert_eq!(infosets.len(), 936, "information sets");
        assert_eq!(g.observation_len(), 30);
    }

    fn play(actions: &[Action]) -> LeducState {
        let mut s = LeducPoker::new(2).new_initial_state(&mut SimRng::new(0));
        for a in actions {
            s.apply_action(*a);
        }
        s
    }

    #[test]
    fn payoffs_by_hand() {
        // Private: player 0 holds card 0 (J), player 1 card 4 (K).
        assert_eq!(play(&[0, 4, RAISE, FOLD]).returns(), vec![1.0, -1.0]);
        // Check-check, public 1 (J): player 0 pairs. Check-check again.
        assert_eq!(play(&[0, 4, CALL, CALL, 1, CALL, CALL]).returns(), vec![1.0, -1.0]);
        // Raise, call (3 each), public 5 (K): player 1 pairs; raise 4, call: 7 each.
        assert_eq!(play(&[0, 4, RAISE, CALL, 5, RAISE, CALL]).returns(), vec![-7.0, 7.0]);
        // Same ranks split: 0 (J) vs 1 (J), public Q.
        assert_eq!(play(&[0, 1, CALL, CALL, 2, CALL, CALL]).returns(), vec![0.0, 0.0]);
        // Raise limits: two raises per round, then only fold/call.
        let s = play(&[0, 4, RAISE, RAISE]);
        assert_eq!(s.legal_actions(), vec![FOLD, CALL]);
    }
}
