//! Cards, hands as 52-bit sets, and Dhumbal's fixed action ids.
//!
//! A card is `rank * 4 + suit` (rank 0 = ace ... 12 = king; suits clubs, diamonds,
//! hearts, spades), so a hand is a `u64` bit set and "hand order" is canonical: by rank,
//! then suit. Action ids never depend on the position:
//!
//! | ids | meaning |
//! |---|---|
//! | 0, 1 | declare Jhyap; do not declare |
//! | 2..54 | discard one card (`2 + card`) |
//! | 54..197 | discard a same-rank set: `54 + rank * 11 + k`, k indexing the 11 suit subsets of size >= 2 |
//! | 197..329 | discard a same-suit run: `197 + suit * 33 + k`, k indexing (length 3..=5, start) with ace low, then the 3 ace-high runs (Q-K-A, J-Q-K-A, 10-J-Q-K-A) |
//! | 329, 330 | pick up the offered card; draw from the stock |

use std::sync::LazyLock;

/// A card id in `0..52`.
pub type Card = u8;
/// A set of cards as bits `1 << card`.
pub type CardSet = u64;

/// Number of cards in the deck.
pub const DECK_SIZE: usize = 52;
/// Rank symbols, ace first.
pub const RANK_NAMES: [&str; 13] = ["A", "2", "3", "4", "5", "6", "7", "8", "9", "10", "J", "Q", "K"];
/// Suit symbols.
pub const SUIT_NAMES: [&str; 4] = ["C", "D", "H", "S"];

/// Action: declare Jhyap.
pub const CALL: u32 = 0;
/// Action: continue without declaring.
pub const NO_CALL: u32 = 1;
/// First single-card discard id.
pub const SINGLE_BASE: u32 = 2;
/// First same-rank-set discard id.
pub const SET_BASE: u32 = SINGLE_BASE + 52;
/// First run discard id.
pub const RUN_BASE: u32 = SET_BASE + 13 * 11;
/// Runs per suit (30 ace-low + 3 ace-high).
pub const RUNS_PER_SUIT: u32 = 33;
/// Action: pick up the offered card.
pub const PICKUP: u32 = RUN_BASE + 4 * RUNS_PER_SUIT;
/// Action: draw from the stock.
pub const DRAW: u32 = PICKUP + 1;
/// Size of the action space.
pub const NUM_ACTIONS: usize = DRAW as usize + 1;

/// Every club (bits 0, 4, ..., 48); shift left by a suit index for that suit.
const CLUBS: CardSet = 0x0001_1111_1111_1111;

/// Suit subsets (4-bit masks) of size >= 2, in ascending order: index k of a set action.
pub const SET_SUBSETS: [u8; 11] = [3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15];

/// The card of `rank` and `suit`.
#[inline]
pub const fn card(rank: u8, suit: u8) -> Card {
    rank * 4 + suit
}

/// Rank index (0 = ace ... 12 = king).
#[inline]
pub const fn rank(card: Card) -> u8 {
    card / 4
}

/// Suit index.
#[inline]
pub const fn suit(card: Card) -> u8 {
    card % 4
}

/// "AC", "10H", "KS".
pub fn card_name(card: Card) -> String {
    format!("{}{}", RANK_NAMES[rank(card) as usize], SUIT_NAMES[suit(card) as usize])
}

/// Parses "AC", "10h", "ks" (case-insensitive); `None` if not a card.
pub fn parse_card(text: &str) -> Option<Card> {
    let text = text.trim().to_ascii_uppercase();
    let (r, s) = text.split_at(text.len().checked_sub(1)?);
    let rank = RANK_NAMES.iter().position(|n| *n == r)? as u8;
    let suit = SUIT_NAMES.iter().position(|n| *n == s)? as u8;
    Some(card(rank, suit))
}

/// Iterates the cards of a set in canonical order.
#[inline]
pub fn cards(set: CardSet) -> impl Iterator<Item = Card> {
    let mut rest = set;
    std::iter::from_fn(move || {
        if rest == 0 {
            None
        } else {
            let c = rest.trailing_zeros() as Card;
            rest &= rest - 1;
            Some(c)
        }
    })
}

/// The set holding exactly `cards`.
pub fn set_of(cards: &[Card]) -> CardSet {
    cards.iter().fold(0, |acc, c| acc | (1u64 << c))
}

/// One run action: its card set per suit is `mask << suit`.
#[derive(Debug, Clone, Copy)]
struct RunShape {
    /// Card set for clubs (shift left by the suit index for other suits).
    clubs_mask: CardSet,
    ace_high: bool,
}

static RUN_SHAPES: LazyLock<Vec<RunShape>> = LazyLock::new(|| {
    let mut shapes = Vec::with_capacity(RUNS_PER_SUIT as usize);
    for len in 3..=5u8 {
        for start in 0..=(13 - len) {
            let mask = (start..start + len).fold(0u64, |m, r| m | (1u64 << card(r, 0)));
            shapes.push(RunShape {
                clubs_mask: mask,
                ace_high: false,
            });
        }
    }
    for len in 3..=5u8 {
        // Ranks 13 - len + 1 ..= 12, then the ace.
        let mask = ((13 - (len - 1))..13).fold(1u64 << card(0, 0), |m, r| m | (1u64 << card(r, 0)));
        shapes.push(RunShape {
            clubs_mask: mask,
            ace_high: true,
        });
    }
    assert_eq!(shapes.len(), RUNS_PER_SUIT as usize);
    shapes
});

/// The cards an action discards (empty for non-discard actions).
static ACTION_GROUPS: LazyLock<Vec<CardSet>> = LazyLock::new(|| {
    let mut groups = vec![0u64; NUM_ACTIONS];
    for c in 0..52u8 {
        groups[(SINGLE_BASE + u32::from(c)) as usize] = 1u64 << c;
    }
    for r in 0..13u8 {
        for (k, subset) in SET_SUBSETS.iter().enumerate() {
            let mask = (0..4u8)
                .filter(|s| subset & (1 << s) != 0)
                .fold(0u64, |m, s| m | (1u64 << card(r, s)));
            groups[(SET_BASE + u32::from(r) * 11 + k as u32) as usize] = mask;
        }
    }
    for s in 0..4u8 {
        for (k, shape) in RUN_SHAPES.iter().enumerate() {
            groups[(RUN_BASE + u32::from(s) * RUNS_PER_SUIT + k as u32) as usize] = shape.clubs_mask << s;
        }
    }
    groups
});

/// Cards discarded by `action` (0 if it is not a discard).
#[inline]
pub fn discard_group(action: u32) -> CardSet {
    ACTION_GROUPS.get(action as usize).copied().unwrap_or(0)
}

/// True if `action` is a discard.
#[inline]
pub fn is_discard(action: u32) -> bool {
    (SINGLE_BASE..PICKUP).contains(&action)
}

/// True if `action` is one of the ace-high runs (Q-K-A, J-Q-K-A, 10-J-Q-K-A).
pub fn is_ace_high_run(action: u32) -> bool {
    (RUN_BASE..PICKUP).contains(&action) && (action - RUN_BASE) % RUNS_PER_SUIT >= 30
}

/// The action that discards exactly `group`, if `group` is a legal shape.
pub fn discard_action(group: CardSet, ace_high_runs: bool) -> Option<u32> {
    let n = group.count_ones();
    if n == 0 || group >> 52 != 0 {
        return None;
    }
    let first = group.trailing_zeros() as Card;
    if n == 1 {
        return Some(SINGLE_BASE + u32::from(first));
    }
    let r = u32::from(rank(first));
    let suits = (group >> (r * 4)) & 0xF;
    if suits << (r * 4) == group {
        let k = SET_SUBSETS.iter().position(|s| u64::from(*s) == suits)?;
        return Some(SET_BASE + r * 11 + k as u32);
    }
    let s = u32::from(suit(first));
    RUN_SHAPES
        .iter()
        .position(|shape| shape.clubs_mask << s == group && (ace_high_runs || !shape.ace_high))
        .map(|k| RUN_BASE + s * RUNS_PER_SUIT + k as u32)
}

/// Appends every legal discard of `hand` (ascending ids) to `out`.
pub fn push_discards(hand: CardSet, ace_high_runs: bool, out: &mut Vec<u32>) {
    for c in cards(hand) {
        out.push(SINGLE_BASE + u32::from(c));
    }
    for r in 0..13u32 {
        let suits = ((hand >> (r * 4)) & 0xF) as u8;
        if suits.count_ones() < 2 {
            continue;
        }
        for (k, subset) in SET_SUBSETS.iter().enumerate() {
            if subset & suits == *subset {
                out.push(SET_BASE + r * 11 + k as u32);
            }
        }
    }
    for s in 0..4u32 {
        let suit_cards = hand & (CLUBS << s);
        if suit_cards.count_ones() < 3 {
            continue;
        }
        for (k, shape) in RUN_SHAPES.iter().enumerate() {
            if shape.ace_high && !ace_high_runs {
                continue;
            }
            let mask = shape.clubs_mask << s;
            if hand & mask == mask {
                out.push(RUN_BASE + s * RUNS_PER_SUIT + k as u32);
            }
        }
    }
}

/// Readable label of an action id.
pub fn action_label(action: u32) -> String {
    match action {
        CALL => "jhyap".to_string(),
        NO_CALL => "no-jhyap".to_string(),
        PICKUP => "pick-up".to_string(),
        DRAW => "draw".to_string(),
        a if is_discard(a) => {
            let names: Vec<String> = cards(discard_group(a)).map(card_name).collect();
            format!("discard {}", names.join("+"))
        }
        other => format!("invalid action {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_space_layout() {
        assert_eq!(SET_BASE, 54);
        assert_eq!(RUN_BASE, 197);
        assert_eq!(PICKUP, 329);
        assert_eq!(NUM_ACTIONS, 331);
        // Every discard id has a distinct, non-empty group.
        let mut seen = std::collections::HashSet::new();
        for a in SINGLE_BASE..PICKUP {
            let g = discard_group(a);
            assert_ne!(g, 0, "action {a}");
            assert!(seen.insert(g), "duplicate group for action {a}");
        }
    }

    #[test]
    fn card_names_round_trip() {
        for c in 0..52u8 {
            assert_eq!(parse_card(&card_name(c)), Some(c));
        }
        assert_eq!(parse_card("10h"), Some(card(9, 2)));
        assert_eq!(parse_card("1H"), None);
        assert_eq!(parse_card(""), None);
    }

    #[test]
    fn discards_of_a_hand_with_set_and_run() {
        let h = |s: &str| parse_card(s).unwrap();
        // 3H 4H 5H 5S 5C: singles, the 5s in pairs and a triple, runs 3-4-5 hearts.
        let hand = set_of(&[h("3H"), h("4H"), h("5H"), h("5S"), h("5C")]);
        let mut legal = Vec::new();
        push_discards(hand, false, &mut legal);
        let mut sorted = legal.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(legal, sorted, "ascending and unique");
        let groups: Vec<String> = legal.iter().map(|a| action_label(*a)).collect();
        assert_eq!(legal.len(), 5 + 4 + 1, "{groups:?}");
        assert!(groups.contains(&"discard 3H+4H+5H".to_string()));
        assert!(groups.contains(&"discard 5C+5H+5S".to_string()));
    }

    #[test]
    fn discard_action_inverts_discard_group() {
        for a in SINGLE_BASE..PICKUP {
            let g = discard_group(a);
            assert_eq!(discard_action(g, true), Some(a), "{}", action_label(a));
            assert_eq!(discard_action(g, false).is_some(), !is_ace_high_run(a));
        }
        assert_eq!(discard_action(set_of(&[0, 5]), true), None, "AC + 2D is no group");
        assert_eq!(discard_action(0, true), None);
    }

    #[test]
    fn ace_runs_follow_the_rule() {
        let h = |s: &str| parse_card(s).unwrap();
        let low = set_of(&[h("AS"), h("2S"), h("3S")]);
        let high = set_of(&[h("QS"), h("KS"), h("AS")]);
        let wrap = set_of(&[h("KS"), h("AS"), h("2S")]);
        assert!(discard_action(low, false).is_some());
        assert!(discard_action(high, false).is_none());
        assert!(discard_action(high, true).is_some());
        assert!(discard_action(wrap, true).is_none());
        assert!(discard_action(wrap, false).is_none());
    }
}
