//! Dhumbal (Jhyap), a Nepali rummy-type game close to Yaniv, as specified in
//! `shared/specs/dhumbal.md`: both rule sets (`paper`, reproducing the study, and
//! `traditional`), a turn split into decision points (call? -> discard which group? ->
//! pick up or draw?) with fixed action ids, and a fixed-length observation vector.
//!
//! Conventions the spec leaves open, fixed here and documented for users:
//! - a discarded group goes onto the pile in canonical card order (rank, then suit), so the
//!   top card after a multi-card discard is its highest card;
//! - players are numbered by position; "lowest seat" in tie-breaks means lowest position;
//! - a forced showdown's success test is the same strict comparison as a call (its caller
//!   may hold more than the threshold).

pub mod cards;
pub mod rules;
mod tournament;

pub use tournament::DhumbalLedger;

use crate::core::facts::GameFacts;
use crate::core::game::{Action, Game, Resample, State, Turn};
use crate::core::params::{GameSpec, ParamSpec};
use crate::core::rng::{SimRng, Stream, derive_seed, mix64};
use cards::{CALL, Card, CardSet, DRAW, NO_CALL, PICKUP};
pub use rules::DhumbalRules;
use rules::{EmptyStock, Pickup, Scoring};

/// Most players at one table.
pub const MAX_PLAYERS: usize = 5;
/// Fewest players at one table.
pub const MIN_PLAYERS: usize = 2;
/// Cards dealt to each player.
pub const HAND_SIZE: usize = 5;

/// Observation layout (all offsets into the vector of length `OBS_LEN`).
pub mod obs {
    /// Own hand, 52 one-hot.
    pub const HAND: usize = 0;
    /// Top card of the discard pile, 52 one-hot.
    pub const PILE_TOP: usize = 52;
    /// The card offered for pick-up (pick step only), 52 one-hot.
    pub const OFFER: usize = 104;
    /// Every card in the discard pile, 52.
    pub const PILE: usize = 156;
    /// For opponents at offsets 1..=4: hand size / 5, then 52 publicly known cards.
    pub const OPPONENTS: usize = 208;
    /// Width of one opponent block.
    pub const OPPONENT_WIDTH: usize = 53;
    /// Phase one-hot: call, discard, pick.
    pub const PHASE: usize = 420;
    /// Own hand value / 65.
    pub const HAND_VALUE: usize = 423;
    /// 1 if own hand value is at or under the Jhyap threshold.
    pub const CAN_CALL: usize = 424;
    /// Turns played / turn cap.
    pub const TURNS: usize = 425;
    /// Stock size / 52.
    pub const STOCK: usize = 426;
    /// Coins relative to the table mean / starting coins, offsets 0..5.
    pub const COINS: usize = 427;
    /// 1 where a player sits at offset 0..5.
    pub const PRESENT: usize = 432;
    /// Total length.
    pub const LEN: usize = 437;
}

/// Where a player is within its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// May declare Jhyap (offered only when the hand is at or under the threshold).
    Call,
    /// Must discard one legal group.
    Discard,
    /// Picks up the offered card or draws.
    Pick,
    /// The round is over.
    Over,
}

/// How a round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ending {
    /// A player declared Jhyap.
    Called,
    /// Turn cap reached or the stock could not be refilled: the lowest hand calls.
    ForcedShowdown,
    /// A player emptied its hand by discarding (a successful call at value 0).
    EmptyHand,
}

/// The settled result of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// How the round ended.
    pub ending: Ending,
    /// The (possibly forced) caller.
    pub caller: usize,
    /// Whether the call succeeded.
    pub success: bool,
    /// The round's winner.
    pub winner: usize,
    /// Each player's hand value at the end.
    pub values: [u32; MAX_PLAYERS],
}

/// The Dhumbal game: rules and number of players.
///
/// ```
/// use mechsim::core::{Game, SimRng, State};
/// use mechsim::games::dhumbal::{Dhumbal, DhumbalRules};
/// let game = Dhumbal::new(DhumbalRules::paper(), 4);
/// let mut rng = SimRng::new(7);
/// let mut state = game.new_initial_state(&mut rng);
/// while !state.is_terminal() {
///     let legal = state.legal_actions();
///     state.apply_action(legal[rng.below(legal.len())]);
/// }
/// assert_eq!(state.returns().iter().sum::<f64>(), 0.0); // coins are zero-sum
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dhumbal {
    /// The rules of every round.
    pub rules: DhumbalRules,
    /// Players at the table (2..=5).
    pub players: usize,
}

impl Dhumbal {
    /// A game with `players` players; `players` must be in 2..=5.
    pub fn new(rules: DhumbalRules, players: usize) -> Self {
        assert!(
            (MIN_PLAYERS..=MAX_PLAYERS).contains(&players),
            "Dhumbal takes 2 to 5 players"
        );
        Dhumbal { rules, players }
    }

    /// Deals a round: `players` players, `start` moves first, `coins` their balances.
    pub fn deal(&self, players: usize, start: usize, coins: &[i64], rng: &mut SimRng) -> DhumbalState {
        let mut deck: Vec<Card> = (0..52).collect();
        rng.shuffle(&mut deck);
        let shuffle_seed = rng.next_u64();
        // Deal from the end of the shuffled deck: one card at a time, round-robin from `start`.
        let mut hands = [0u64; MAX_PLAYERS];
        for i in 0..players * HAND_SIZE {
            let c = deck.pop().expect("52 cards suffice for 5 players");
            hands[(start + i) % players] |= 1u64 << c;
        }
        let pile = vec![deck.pop().expect("deck not empty")];
        DhumbalState::from_parts(self.rules, hands, deck, pile, start, coins, shuffle_seed)
    }
}

impl GameFacts for Dhumbal {
    const NAME: &'static str = "dhumbal";
    const HELP: &'static str =
        "Nepali rummy-type card game (Jhyap), 2-5 players; rule sets paper (the study) and traditional";
    const RULE_SETS: &'static [&'static str] = &["paper", "traditional"];
    const PLAYERS: (usize, usize) = (MIN_PLAYERS, MAX_PLAYERS);
    const PARAMS: &'static [ParamSpec] = rules::PARAMS;

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        let players = Self::players_of(spec)?;
        let rules = DhumbalRules::from_params(&spec.rules, &spec.params)?;
        Ok(Dhumbal::new(rules, players))
    }
}

impl Game for Dhumbal {
    type State = DhumbalState;

    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn num_players(&self) -> usize {
        self.players
    }
    fn num_distinct_actions(&self) -> usize {
        cards::NUM_ACTIONS
    }
    fn observation_len(&self) -> usize {
        obs::LEN
    }
    fn new_initial_state(&self, rng: &mut SimRng) -> DhumbalState {
        let coins = vec![self.rules.starting_coins; self.players];
        self.deal(self.players, 0, &coins, rng)
    }
    fn action_label(&self, action: Action) -> String {
        cards::action_label(action)
    }
    fn rules_json(&self) -> serde_json::Value {
        self.rules.to_json()
    }
    fn max_utility(&self) -> f64 {
        // The largest transfer: every hand at its maximum, capped, paid by one player.
        let max_hand = u32::from(self.rules.rank_values().iter().copied().max().unwrap_or(13)) * HAND_SIZE as u32;
        f64::from(
            max_hand
                .min(self.rules.payment_cap)
                .max(self.rules.failed_call_penalty.min(self.rules.payment_cap)),
        ) * self.players as f64
    }
}

/// A Dhumbal round in progress. Cloning is cheap (two short card vectors).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DhumbalState {
    rules: DhumbalRules,
    values: [u8; 13],
    num_players: usize,
    hands: [CardSet; MAX_PLAYERS],
    /// Cards in each hand that every player has seen (picked up from the pile).
    known: [CardSet; MAX_PLAYERS],
    /// Stock, top at the end.
    stock: Vec<Card>,
    /// Discard pile, top at the end.
    pile: Vec<Card>,
    current: usize,
    phase: Phase,
    offer: Option<Card>,
    turns: u32,
    coins: [i64; MAX_PLAYERS],
    discarded: [u32; MAX_PLAYERS],
    reshuffles: u32,
    shuffle_seed: u64,
    public_history: u64,
    outcome: Option<Outcome>,
}

impl DhumbalState {
    /// A state from explicit parts (hand-built deals in tests and tools): `hands[p]` for
    /// players `0..coins.len()`, stock and pile with their tops at the end, `start` to move.
    pub fn from_parts(
        rules: DhumbalRules,
        hands: [CardSet; MAX_PLAYERS],
        stock: Vec<Card>,
        pile: Vec<Card>,
        start: usize,
        coins: &[i64],
        shuffle_seed: u64,
    ) -> Self {
        let num_players = coins.len();
        assert!((MIN_PLAYERS..=MAX_PLAYERS).contains(&num_players));
        let mut c = [0i64; MAX_PLAYERS];
        c[..num_players].copy_from_slice(coins);
        // Only public facts seed the history: the opening pile, the balances, the start.
        let mut public_history = mix64(0x5EED ^ pile.iter().fold(0u64, |h, x| mix64(h ^ u64::from(*x))));
        for (p, balance) in coins.iter().enumerate() {
            public_history = mix64(public_history ^ (*balance as u64).rotate_left(p as u32 * 7));
        }
        public_history = mix64(public_history ^ start as u64);
        let mut state = DhumbalState {
            rules,
            values: rules.rank_values(),
            num_players,
            hands,
            known: [0; MAX_PLAYERS],
            stock,
            pile,
            current: start % num_players,
            phase: Phase::Discard,
            offer: None,
            turns: 0,
            coins: c,
            discarded: [0; MAX_PLAYERS],
            reshuffles: 0,
            shuffle_seed,
            public_history,
            outcome: None,
        };
        state.begin_turn();
        state
    }

    /// The rules in force.
    pub fn rules(&self) -> &DhumbalRules {
        &self.rules
    }
    /// Players in this round.
    pub fn num_players(&self) -> usize {
        self.num_players
    }
    /// The player to move (meaningless once over).
    pub fn current_player(&self) -> usize {
        self.current
    }
    /// The current decision point.
    pub fn phase(&self) -> Phase {
        self.phase
    }
    /// A player's hand.
    pub fn hand(&self, player: usize) -> CardSet {
        self.hands[player]
    }
    /// Cards of `player`'s hand that everyone has seen.
    pub fn known_cards(&self, player: usize) -> CardSet {
        self.known[player]
    }
    /// Value of one card under these rules.
    pub fn card_value(&self, card: Card) -> u32 {
        u32::from(self.values[cards::rank(card) as usize])
    }
    /// Value of a set of cards.
    pub fn set_value(&self, set: CardSet) -> u32 {
        cards::cards(set).map(|c| self.card_value(c)).sum()
    }
    /// A player's hand value.
    pub fn hand_value(&self, player: usize) -> u32 {
        self.set_value(self.hands[player])
    }
    /// The stock, top at the end.
    pub fn stock(&self) -> &[Card] {
        &self.stock
    }
    /// The discard pile, top at the end.
    pub fn pile(&self) -> &[Card] {
        &self.pile
    }
    /// The card that may be picked up now (pick step only).
    pub fn pickup_offer(&self) -> Option<Card> {
        self.offer
    }
    /// Player-turns completed this round.
    pub fn turns(&self) -> u32 {
        self.turns
    }
    /// Balances at the start of the round.
    pub fn coins(&self) -> &[i64] {
        &self.coins[..self.num_players]
    }
    /// Cards each player has discarded this round.
    pub fn cards_discarded(&self, player: usize) -> u32 {
        self.discarded[player]
    }
    /// The outcome, once over.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    fn record(&mut self, event: u64) {
        self.public_history = mix64(self.public_history ^ event);
    }

    fn begin_turn(&mut self) {
        if self.turns >= self.rules.turn_cap {
            self.resolve(Ending::ForcedShowdown, None);
        } else if self.hand_value(self.current) <= self.rules.jhyap_threshold {
            self.phase = Phase::Call;
        } else {
            self.phase = Phase::Discard;
        }
    }

    fn end_turn(&mut self) {
        self.offer = None;
        self.turns += 1;
        self.current = (self.current + 1) % self.num_players;
        self.begin_turn();
    }

    fn discard(&mut self, group: CardSet) {
        let p = self.current;
        debug_assert_eq!(self.hands[p] & group, group, "discard of cards not in hand");
        let previous_top = self.pile.last().copied();
        self.hands[p] &= !group;
        self.known[p] &= !group;
        self.pile.extend(cards::cards(group));
        self.discarded[p] += group.count_ones();
        if self.hands[p] == 0 {
            self.resolve(Ending::EmptyHand, Some(p));
            return;
        }
        self.offer = match self.rules.pickup {
            Pickup::OwnDiscard => self.pile.last().copied(),
            Pickup::PreviousDiscard => previous_top,
        };
        self.phase = Phase::Pick;
    }

    fn pick_up(&mut self) {
        let card = self.offer.expect("pick-up offered");
        let at = self
            .pile
            .iter()
            .rposition(|c| *c == card)
            .expect("offered card on the pile");
        self.pile.remove(at);
        self.hands[self.current] |= 1u64 << card;
        self.known[self.current] |= 1u64 << card;
        self.end_turn();
    }

    fn draw(&mut self) {
        if self.stock.is_empty() {
            let can_reshuffle = self.rules.empty_stock == EmptyStock::Reshuffle && self.pile.len() >= 2;
            if !can_reshuffle {
                self.resolve(Ending::ForcedShowdown, None);
                return;
            }
            let top = self.pile.pop().expect("pile has >= 2 cards");
            let mut rest = std::mem::take(&mut self.pile);
            let mut rng = SimRng::new(derive_seed(
                self.shuffle_seed,
                Stream::Reshuffle,
                u64::from(self.reshuffles),
            ));
            rng.shuffle(&mut rest);
            self.reshuffles += 1;
            self.stock = rest;
            self.pile.push(top);
            self.record(0xDEC4);
        }
        let card = self.stock.pop().expect("stock refilled");
        self.hands[self.current] |= 1u64 << card;
        self.end_turn();
    }

    fn resolve(&mut self, ending: Ending, caller: Option<usize>) {
        let n = self.num_players;
        let mut values = [0u32; MAX_PLAYERS];
        for (p, v) in values.iter_mut().enumerate().take(n) {
            *v = self.hand_value(p);
        }
        // Forced showdown: the lowest hand calls (ties: lowest position).
        let caller = caller.unwrap_or_else(|| (0..n).min_by_key(|p| (values[*p], *p)).expect("players"));
        let others_min = (0..n)
            .filter(|p| *p != caller)
            .map(|p| values[p])
            .min()
            .expect("2+ players");
        let success = if self.rules.call_wins_ties {
            values[caller] <= others_min
        } else {
            values[caller] < others_min
        };
        let winner = if success {
            caller
        } else {
            (0..n)
                .find(|p| *p != caller && values[*p] == others_min)
                .expect("a minimum exists")
        };
        self.outcome = Some(Outcome {
            ending,
            caller,
            success,
            winner,
            values,
        });
        self.phase = Phase::Over;
        self.offer = None;
    }

    /// Points each player scores this round (points scoring; zero under coins).
    pub fn round_points(&self) -> [u32; MAX_PLAYERS] {
        let mut points = [0u32; MAX_PLAYERS];
        let Some(o) = self.outcome else { return points };
        if self.rules.scoring != Scoring::Points {
            return points;
        }
        for (p, slot) in points.iter_mut().enumerate().take(self.num_players) {
            *slot = if p == o.winner {
                0
            } else if p == o.caller {
                self.rules.failed_call_penalty
            } else {
                o.values[p]
            };
        }
        points
    }

    /// Coin change of each player this round (zero-sum; zeros before the end).
    pub fn payments(&self) -> [i64; MAX_PLAYERS] {
        let mut pay = [0i64; MAX_PLAYERS];
        let Some(o) = self.outcome else { return pay };
        let cap = self.rules.payment_cap;
        let capped = |v: u32| i64::from(v.min(cap));
        match self.rules.scoring {
            Scoring::Coins => {
                if o.success {
                    for p in (0..self.num_players).filter(|p| *p != o.caller) {
                        pay[p] -= capped(o.values[p]);
                        pay[o.caller] += capped(o.values[p]);
                    }
                } else {
                    let total: i64 = (0..self.num_players).map(|p| capped(o.values[p])).sum();
                    pay[o.caller] -= total;
                    pay[o.winner] += total;
                }
            }
            Scoring::Points => {
                let points = self.round_points();
                for p in (0..self.num_players).filter(|p| *p != o.winner) {
                    pay[p] -= capped(points[p]);
                    pay[o.winner] += capped(points[p]);
                }
            }
        }
        pay
    }

    /// The same state with `cards` of `player`'s hand marked as publicly known (as if they
    /// had been picked up from the pile): for hand-built positions in tests and tools.
    pub fn with_known_cards(mut self, player: usize, cards: CardSet) -> Self {
        self.known[player] |= cards & self.hands[player];
        self
    }

    /// The single highest-value card of the current hand (the illegal-discard fallback;
    /// ties: the first in canonical order).
    pub fn highest_card_discard(&self) -> Action {
        let hand = self.hands[self.current];
        let best = cards::cards(hand)
            .fold(None::<(u32, Card)>, |best, c| {
                let v = self.card_value(c);
                match best {
                    Some((bv, _)) if bv >= v => best,
                    _ => Some((v, c)),
                }
            })
            .map(|(_, c)| c)
            .expect("a hand is never empty mid-round");
        cards::SINGLE_BASE + u32::from(best)
    }
}

impl State for DhumbalState {
    fn turn(&self) -> Turn {
        if self.phase == Phase::Over {
            Turn::Terminal
        } else {
            Turn::Player(self.current)
        }
    }

    fn legal_actions(&self) -> Vec<Action> {
        match self.phase {
            Phase::Call => vec![CALL, NO_CALL],
            Phase::Discard => {
                let mut out = Vec::with_capacity(16);
                cards::push_discards(self.hands[self.current], self.rules.ace_high_runs, &mut out);
                out
            }
            Phase::Pick => {
                if self.offer.is_some() {
                    vec![PICKUP, DRAW]
                } else {
                    vec![DRAW]
                }
            }
            Phase::Over => Vec::new(),
        }
    }

    fn apply_action(&mut self, action: Action) {
        let event = mix64(u64::from(action) ^ ((self.current as u64) << 32));
        match (self.phase, action) {
            (Phase::Call, CALL) => {
                self.record(event);
                self.resolve(Ending::Called, Some(self.current));
            }
            (Phase::Call, NO_CALL) => {
                self.record(event);
                self.phase = Phase::Discard;
            }
            (Phase::Discard, a) if cards::is_discard(a) => {
                self.record(event);
                self.discard(cards::discard_group(a));
            }
            (Phase::Pick, PICKUP) if self.offer.is_some() => {
                self.record(event ^ mix64(u64::from(self.offer.unwrap_or(0)) + 1));
                self.pick_up();
            }
            (Phase::Pick, DRAW) => {
                self.record(event);
                self.draw();
            }
            (phase, a) => panic!(
                "illegal action {a} ({}) in phase {phase:?}; callers must pass a legal action",
                cards::action_label(a)
            ),
        }
    }

    fn legal_actions_into(&self, out: &mut Vec<Action>) {
        out.clear();
        match self.phase {
            Phase::Call => out.extend([CALL, NO_CALL]),
            Phase::Discard => cards::push_discards(self.hands[self.current], self.rules.ace_high_runs, out),
            Phase::Pick => {
                if self.offer.is_some() {
                    out.push(PICKUP);
                }
                out.push(DRAW);
            }
            Phase::Over => {}
        }
    }

    fn is_legal(&self, action: Action) -> bool {
        match self.phase {
            Phase::Call => action == CALL || action == NO_CALL,
            Phase::Discard => {
                let group = cards::discard_group(action);
                cards::is_discard(action)
                    && self.hands[self.current] & group == group
                    && (self.rules.ace_high_runs || !cards::is_ace_high_run(action))
            }
            Phase::Pick => action == DRAW || (action == PICKUP && self.offer.is_some()),
            Phase::Over => false,
        }
    }

    fn returns(&self) -> Vec<f64> {
        self.payments()[..self.num_players].iter().map(|x| *x as f64).collect()
    }

    /// What `player` sees, by card name: own hand and its value, the pile, the offer (to the
    /// player picking), stock size, turns, each opponent's hand size, publicly known cards
    /// and discards, and every balance at the start of the round. Opponents are listed by
    /// offset from `player` (1 = next to act after it), as in the observation vector.
    fn observation_view(&self, player: usize) -> serde_json::Value {
        let names = |set: CardSet| -> Vec<String> { cards::cards(set).map(cards::card_name).collect() };
        let pile: Vec<String> = self.pile.iter().map(|c| cards::card_name(*c)).collect();
        let n = self.num_players;
        let opponents: Vec<serde_json::Value> = (1..n)
            .map(|offset| {
                let other = (player + offset) % n;
                serde_json::json!({
                    "offset": offset,
                    "position": other,
                    "hand_size": self.hands[other].count_ones(),
                    "known_cards": names(self.known[other]),
                    "cards_discarded": self.discarded[other],
                    "coins": self.coins[other],
                })
            })
            .collect();
        let to_move = self.phase != Phase::Over && self.current == player;
        let phase = match (to_move, self.phase) {
            (false, Phase::Over) => "over",
            (false, _) => "waiting",
            (true, Phase::Call) => "call",
            (true, Phase::Discard) => "discard",
            (true, Phase::Pick) => "pick",
            (true, Phase::Over) => "over",
        };
        let value = self.hand_value(player);
        serde_json::json!({
            "position": player,
            "players": n,
            "to_move": self.current,
            "phase": phase,
            "hand": names(self.hands[player]),
            "hand_value": value,
            "can_call": value <= self.rules.jhyap_threshold,
            "pile_top": self.pile.last().map(|c| cards::card_name(*c)),
            "pickup_offer": if to_move { self.offer.map(cards::card_name) } else { None },
            "discard_pile": pile,
            "stock_size": self.stock.len(),
            "turns": self.turns,
            "turn_cap": self.rules.turn_cap,
            "coins": self.coins[player],
            "cards_discarded": self.discarded[player],
            "opponents": opponents,
        })
    }

    fn observation(&self, player: usize, out: &mut [f32]) {
        debug_assert_eq!(out.len(), obs::LEN);
        out.fill(0.0);
        for c in cards::cards(self.hands[player]) {
            out[obs::HAND + c as usize] = 1.0;
        }
        if let Some(top) = self.pile.last() {
            out[obs::PILE_TOP + *top as usize] = 1.0;
        }
        if let (true, Some(offer)) = (player == self.current, self.offer) {
            out[obs::OFFER + offer as usize] = 1.0;
        }
        for c in &self.pile {
            out[obs::PILE + *c as usize] = 1.0;
        }
        let n = self.num_players;
        for offset in 1..n {
            let other = (player + offset) % n;
            let base = obs::OPPONENTS + (offset - 1) * obs::OPPONENT_WIDTH;
            out[base] = self.hands[other].count_ones() as f32 / HAND_SIZE as f32;
            for c in cards::cards(self.known[other]) {
                out[base + 1 + c as usize] = 1.0;
            }
        }
        if player == self.current {
            match self.phase {
                Phase::Call => out[obs::PHASE] = 1.0,
                Phase::Discard => out[obs::PHASE + 1] = 1.0,
                Phase::Pick => out[obs::PHASE + 2] = 1.0,
                Phase::Over => {}
            }
        }
        let value = self.hand_value(player);
        out[obs::HAND_VALUE] = value as f32 / 65.0;
        out[obs::CAN_CALL] = f32::from(u8::from(value <= self.rules.jhyap_threshold));
        out[obs::TURNS] = self.turns as f32 / self.rules.turn_cap as f32;
        out[obs::STOCK] = self.stock.len() as f32 / 52.0;
        let mean = self.coins[..n].iter().sum::<i64>() as f64 / n as f64;
        let scale = self.rules.starting_coins.max(1) as f64;
        for offset in 0..n {
            let other = (player + offset) % n;
            out[obs::COINS + offset] = ((self.coins[other] as f64 - mean) / scale) as f32;
            out[obs::PRESENT + offset] = 1.0;
        }
    }

    fn information_state_key(&self, player: usize) -> u64 {
        mix64(self.public_history ^ mix64(self.hands[player] ^ ((player as u64) << 56)))
    }
}

impl Resample for DhumbalState {
    /// Redraws everything `player` cannot see: opponents' unknown cards and the stock's
    /// order come uniformly from the unseen cards (the deck minus the player's hand, the
    /// pile and the cards known to be in other hands); hand sizes, known cards, the pile
    /// and all public history stay; the future reshuffle seed is redrawn too.
    fn resample(&self, player: usize, rng: &mut SimRng) -> Self {
        let mut s = self.clone();
        let mut seen = self.hands[player] | self.pile.iter().fold(0u64, |m, c| m | (1u64 << c));
        for q in 0..self.num_players {
            seen |= self.known[q];
        }
        let mut unseen: Vec<Card> = (0..52).filter(|c| seen & (1u64 << c) == 0).collect();
        rng.shuffle(&mut unseen);
        for q in (0..self.num_players).filter(|q| *q != player) {
            let hidden = (self.hands[q] & !self.known[q]).count_ones() as usize;
            let mut hand = self.known[q];
            for _ in 0..hidden {
                hand |= 1u64 << unseen.pop().expect("enough unseen cards");
            }
            s.hands[q] = hand;
        }
        s.stock = unseen;
        s.shuffle_seed = rng.next_u64();
        s
    }
}

#[cfg(test)]
mod tests;
