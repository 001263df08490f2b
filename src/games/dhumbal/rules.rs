//! Dhumbal's rules as data. Every rule where the study's version (`paper`) and the
//! traditional game differ is one field, so a house variant is a scenario edit:
//! `game = { name = "dhumbal", rules = "traditional", jhyap_threshold = 7 }`.

use crate::core::params::{ParamKind, ParamSpec, Params};

/// Which card the pick step may take instead of drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pickup {
    /// The top of the pile after one's own discard: the last card one just discarded
    /// (the study's behaviour).
    OwnDiscard,
    /// The previous player's last discard (top of the pile before one's discard).
    PreviousDiscard,
}

/// What happens when a draw is needed and the stock is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmptyStock {
    /// Keep the pile's top card, shuffle the rest into a new stock (a forced showdown if
    /// the pile holds fewer than two cards).
    Reshuffle,
    /// End the round with a forced showdown at once.
    Showdown,
}

/// How a finished round is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scoring {
    /// The study's coin payments (successful call: others pay the caller their capped
    /// hand value; failed call: the caller pays all capped hands to the winner).
    Coins,
    /// Traditional points: losers score their hand value, a failed caller scores the
    /// penalty; reaching the limit eliminates; the match ends when one player remains.
    /// Each non-winner also pays the round winner its round points (capped) in coins, so
    /// coins stay zero-sum.
    Points,
}

/// What replaces an illegal discard from an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IllegalDiscard {
    /// The single highest-value card (the study's rule; logged as an error event).
    HighestCard,
    /// Abort the run with an error naming the agent.
    Abort,
}

/// The named base rule sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleSet {
    /// Reproduces the study (arXiv 2510.11736).
    Paper,
    /// As commonly played.
    Traditional,
}

/// Every rule of a Dhumbal round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DhumbalRules {
    /// The base set the overrides were applied to.
    pub rule_set: RuleSet,
    /// Values of J, Q, K.
    pub face_values: [u8; 3],
    /// Jhyap may be declared at hand value <= this.
    pub jhyap_threshold: u32,
    /// Whether Q-K-A style runs (ace high) are legal. K-A-2 never is.
    pub ace_high_runs: bool,
    /// Which card may be picked up.
    pub pickup: Pickup,
    /// Coins each participant starts with.
    pub starting_coins: i64,
    /// Player-turns per round before a forced showdown.
    pub turn_cap: u32,
    /// What an empty stock does.
    pub empty_stock: EmptyStock,
    /// Whether a call that ties the lowest other hand succeeds (paper: no, strictly lower).
    pub call_wins_ties: bool,
    /// Coins or points.
    pub scoring: Scoring,
    /// Per-hand cap on payments (coins) and on coins paid per round (points).
    pub payment_cap: u32,
    /// Points a failed caller scores (points scoring).
    pub failed_call_penalty: u32,
    /// Cumulative points at which a player is out (points scoring).
    pub elimination_limit: u32,
    /// Rotate the starting position each round (the study's rerun); else position 0 starts.
    pub rotate_start: bool,
    /// What replaces an illegal discard.
    pub illegal_discard: IllegalDiscard,
}

impl DhumbalRules {
    /// The study's rules.
    pub const fn paper() -> Self {
        DhumbalRules {
            rule_set: RuleSet::Paper,
            face_values: [11, 12, 13],
            jhyap_threshold: 10,
            ace_high_runs: false,
            pickup: Pickup::OwnDiscard,
            starting_coins: 10_000,
            turn_cap: 100,
            empty_stock: EmptyStock::Reshuffle,
            call_wins_ties: false,
            scoring: Scoring::Coins,
            payment_cap: 100,
            failed_call_penalty: 25,
            elimination_limit: 100,
            rotate_start: false,
            illegal_discard: IllegalDiscard::HighestCard,
        }
    }

    /// The traditional game.
    pub const fn traditional() -> Self {
        DhumbalRules {
            rule_set: RuleSet::Traditional,
            face_values: [10, 10, 10],
            jhyap_threshold: 5,
            ace_high_runs: false,
            pickup: Pickup::PreviousDiscard,
            starting_coins: 10_000,
            turn_cap: 100,
            empty_stock: EmptyStock::Reshuffle,
            call_wins_ties: false,
            scoring: Scoring::Points,
            payment_cap: 100,
            failed_call_penalty: 25,
            elimination_limit: 100,
            rotate_start: true,
            illegal_discard: IllegalDiscard::HighestCard,
        }
    }

    /// Card value by rank index (ace = 1).
    pub fn rank_values(&self) -> [u8; 13] {
        let mut v = [0u8; 13];
        for (r, slot) in v.iter_mut().enumerate().take(10) {
            *slot = r as u8 + 1;
        }
        v[10..13].copy_from_slice(&self.face_values);
        v
    }

    /// Every rule as JSON, keyed like the scenario overrides (plus `rule_set` and the card
    /// values), for external agents.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "rule_set": match self.rule_set { RuleSet::Paper => "paper", RuleSet::Traditional => "traditional" },
            "face_cards": if self.face_values == [10, 10, 10] { "ten" } else { "rank" },
            "card_values": self.rank_values(),
            "jhyap_threshold": self.jhyap_threshold,
            "ace_high_runs": self.ace_high_runs,
            "pickup": match self.pickup { Pickup::OwnDiscard => "own_discard", Pickup::PreviousDiscard => "previous_discard" },
            "starting_coins": self.starting_coins,
            "turn_cap": self.turn_cap,
            "empty_stock": match self.empty_stock { EmptyStock::Reshuffle => "reshuffle", EmptyStock::Showdown => "showdown" },
            "call_wins_ties": self.call_wins_ties,
            "scoring": match self.scoring { Scoring::Coins => "coins", Scoring::Points => "points" },
            "payment_cap": self.payment_cap,
            "failed_call_penalty": self.failed_call_penalty,
            "elimination_limit": self.elimination_limit,
            "rotate_start": self.rotate_start,
            "illegal_discard": match self.illegal_discard { IllegalDiscard::HighestCard => "highest_card", IllegalDiscard::Abort => "abort" },
        })
    }

    /// Named base set plus overrides (already checked against `PARAMS`).
    pub fn from_params(base: &str, params: &Params) -> Result<Self, String> {
        let mut r = match base {
            "paper" => Self::paper(),
            "traditional" => Self::traditional(),
            other => {
                return Err(format!(
                    "unknown rule set \"{other}\"; valid: \"paper\", \"traditional\""
                ));
            }
        };
        if let Some(f) = params.str("face_cards") {
            r.face_values = if f == "ten" { [10, 10, 10] } else { [11, 12, 13] };
        }
        if let Some(v) = params.int("jhyap_threshold") {
            r.jhyap_threshold = v as u32;
        }
        if let Some(v) = params.bool("ace_high_runs") {
            r.ace_high_runs = v;
        }
        if let Some(v) = params.str("pickup") {
            r.pickup = if v == "own_discard" {
                Pickup::OwnDiscard
            } else {
                Pickup::PreviousDiscard
            };
        }
        if let Some(v) = params.int("starting_coins") {
            r.starting_coins = v;
        }
        if let Some(v) = params.int("turn_cap") {
            r.turn_cap = v as u32;
        }
        if let Some(v) = params.str("empty_stock") {
            r.empty_stock = if v == "reshuffle" {
                EmptyStock::Reshuffle
            } else {
                EmptyStock::Showdown
            };
        }
        if let Some(v) = params.bool("call_wins_ties") {
            r.call_wins_ties = v;
        }
        if let Some(v) = params.str("scoring") {
            r.scoring = if v == "coins" { Scoring::Coins } else { Scoring::Points };
        }
        if let Some(v) = params.int("payment_cap") {
            r.payment_cap = v as u32;
        }
        if let Some(v) = params.int("failed_call_penalty") {
            r.failed_call_penalty = v as u32;
        }
        if let Some(v) = params.int("elimination_limit") {
            r.elimination_limit = v as u32;
        }
        if let Some(v) = params.bool("rotate_start") {
            r.rotate_start = v;
        }
        if let Some(v) = params.str("illegal_discard") {
            r.illegal_discard = if v == "abort" {
                IllegalDiscard::Abort
            } else {
                IllegalDiscard::HighestCard
            };
        }
        Ok(r)
    }
}

/// Rule overrides accepted in a scenario's `game` table (besides `name`, `rules`, `players`).
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "face_cards",
        kind: ParamKind::Choice(&["rank", "ten"]),
        help: "J/Q/K worth 11/12/13 (\"rank\", paper) or 10 each (\"ten\", traditional)",
    },
    ParamSpec {
        name: "jhyap_threshold",
        kind: ParamKind::Int { min: 0, max: 65 },
        help: "Jhyap may be declared at hand value <= this (paper 10, traditional 5)",
    },
    ParamSpec {
        name: "ace_high_runs",
        kind: ParamKind::Bool,
        help: "allow Q-K-A runs (K-A-2 is never legal); default false",
    },
    ParamSpec {
        name: "pickup",
        kind: ParamKind::Choice(&["own_discard", "previous_discard"]),
        help: "pick-up card: one's own last discard (paper) or the previous player's (traditional)",
    },
    ParamSpec {
        name: "starting_coins",
        kind: ParamKind::Int {
            min: 0,
            max: 1_000_000_000,
        },
        help: "coins per participant at the start (10000)",
    },
    ParamSpec {
        name: "turn_cap",
        kind: ParamKind::Int { min: 1, max: 1_000_000 },
        help: "player-turns per round before a forced showdown (100)",
    },
    ParamSpec {
        name: "empty_stock",
        kind: ParamKind::Choice(&["reshuffle", "showdown"]),
        help: "empty stock: reshuffle the pile under its top card, or force a showdown",
    },
    ParamSpec {
        name: "call_wins_ties",
        kind: ParamKind::Bool,
        help: "a call tying the lowest other hand succeeds (default false: strictly lower)",
    },
    ParamSpec {
        name: "scoring",
        kind: ParamKind::Choice(&["coins", "points"]),
        help: "coin payments per round (paper) or cumulative points with elimination (traditional)",
    },
    ParamSpec {
        name: "payment_cap",
        kind: ParamKind::Int { min: 1, max: 1_000_000 },
        help: "cap on each hand's payment in coins (100)",
    },
    ParamSpec {
        name: "failed_call_penalty",
        kind: ParamKind::Int { min: 0, max: 10_000 },
        help: "points a failed caller scores under points scoring (25)",
    },
    ParamSpec {
        name: "elimination_limit",
        kind: ParamKind::Int { min: 1, max: 1_000_000 },
        help: "cumulative points that eliminate a player under points scoring (100)",
    },
    ParamSpec {
        name: "rotate_start",
        kind: ParamKind::Bool,
        help: "rotate the starting position each round (paper: false, position 0 always starts)",
    },
    ParamSpec {
        name: "illegal_discard",
        kind: ParamKind::Choice(&["highest_card", "abort"]),
        help: "an agent's illegal discard becomes the highest card (paper) or aborts the run",
    },
];
