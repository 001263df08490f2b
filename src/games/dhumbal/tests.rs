//! Hand-built deals with known outcomes for each rule of both rule sets, plus the spec's
//! invariants under proptest (random play).

use super::cards::{self, CALL, DRAW, NO_CALL, PICKUP, parse_card};
use super::rules::{DhumbalRules, EmptyStock, Scoring};
use super::*;
use crate::core::tournament::Tournament;
use proptest::prelude::*;

fn c(name: &str) -> Card {
    parse_card(name).unwrap_or_else(|| panic!("bad card {name}"))
}

fn set(names: &[&str]) -> CardSet {
    names.iter().fold(0, |m, n| m | (1u64 << c(n)))
}

/// A state with the given hands, pile (top last) and an explicit stock (top last); if
/// `stock` is `None`, every remaining card goes to the stock in ascending order.
fn deal(rules: DhumbalRules, hands: &[&[&str]], pile: &[&str], stock: Option<&[&str]>) -> DhumbalState {
    let mut h = [0u64; MAX_PLAYERS];
    for (p, names) in hands.iter().enumerate() {
        h[p] = set(names);
    }
    let pile: Vec<Card> = pile.iter().map(|n| c(n)).collect();
    let used = h.iter().fold(0, |m, x| m | x) | pile.iter().fold(0, |m, x| m | (1u64 << x));
    let stock: Vec<Card> = match stock {
        Some(names) => names.iter().map(|n| c(n)).collect(),
        None => (0..52).filter(|x| used & (1u64 << x) == 0).collect(),
    };
    let coins = vec![rules.starting_coins; hands.len()];
    DhumbalState::from_parts(rules, h, stock, pile, 0, &coins, 99)
}

fn single(name: &str) -> Action {
    cards::SINGLE_BASE + u32::from(c(name))
}

#[test]
fn initial_deal_follows_the_spec() {
    let game = Dhumbal::new(DhumbalRules::paper(), 4);
    let mut rng = SimRng::new(1);
    let s = game.new_initial_state(&mut rng);
    for p in 0..4 {
        assert_eq!(s.hand(p).count_ones(), 5);
    }
    assert_eq!(s.pile().len(), 1);
    assert_eq!(s.stock().len(), 31);
    assert_eq!(s.current_player(), 0);
}

#[test]
fn call_is_offered_only_at_or_under_the_threshold() {
    let rules = DhumbalRules::paper();
    let s = deal(
        rules,
        &[&["AC", "2C", "3D", "4S"], &["KC", "KD", "KH", "KS", "QC"]],
        &["9D"],
        None,
    );
    assert_eq!(s.hand_value(0), 10);
    assert_eq!(s.phase(), Phase::Call);
    assert_eq!(s.legal_actions(), vec![CALL, NO_CALL]);
    let s = deal(
        rules,
        &[&["AC", "2C", "3D", "5S"], &["KC", "KD", "KH", "KS", "QC"]],
        &["9D"],
        None,
    );
    assert_eq!(s.hand_value(0), 11);
    assert_eq!(s.phase(), Phase::Discard);
    let trad = DhumbalRules::traditional();
    let s = deal(
        trad,
        &[&["AC", "2C", "3D"], &["KC", "KD", "KH", "KS", "QC"]],
        &["9D"],
        None,
    );
    assert_eq!(s.phase(), Phase::Discard, "traditional threshold is 5; hand is 6");
}

#[test]
fn successful_call_pays_capped_values_to_the_caller() {
    let mut rules = DhumbalRules::paper();
    rules.payment_cap = 30;
    let mut s = deal(
        rules,
        &[
            &["AC", "2C", "3D"],
            &["KC", "KD", "KH", "QS", "QC"],
            &["2D", "3H", "4H", "5S", "6S"],
        ],
        &["9D"],
        None,
    );
    s.apply_action(CALL);
    let o = *s.outcome().unwrap();
    assert_eq!((o.caller, o.success, o.winner, o.ending), (0, true, 0, Ending::Called));
    // Player 1 holds 63 (capped to 30), player 2 holds 20.
    assert_eq!(&s.payments()[..3], &[50, -30, -20]);
    assert_eq!(s.returns(), vec![50.0, -30.0, -20.0]);
}

#[test]
fn failed_call_pays_every_capped_hand_to_the_lowest_non_caller() {
    let rules = DhumbalRules::paper();
    // Caller 0 at 6; players 1 and 2 both at 5: the call fails; the winner is player 1
    // (lowest position among the minimum); nobody else pays.
    let mut s = deal(
        rules,
        &[
            &["AC", "2C", "3D"],
            &["AD", "4C"],
            &["2H", "3H"],
            &["KC", "KD", "KH", "KS", "QC"],
        ],
        &["9D"],
        None,
    );
    s.apply_action(CALL);
    let o = *s.outcome().unwrap();
    assert_eq!((o.caller, o.success, o.winner), (0, false, 1));
    let total = 6 + 5 + 5 + 64;
    assert_eq!(&s.payments()[..4], &[-total, total, 0, 0]);
}

#[test]
fn ties_fail_unless_the_rule_says_otherwise() {
    let mut rules = DhumbalRules::paper();
    let hands: &[&[&str]] = &[&["AC", "2C"], &["3D"], &["KC", "KD"]];
    let mut s = deal(rules, hands, &["9D"], None);
    s.apply_action(CALL);
    assert!(!s.outcome().unwrap().success);
    assert_eq!(s.outcome().unwrap().winner, 1);
    rules.call_wins_ties = true;
    let mut s = deal(rules, hands, &["9D"], None);
    s.apply_action(CALL);
    assert!(s.outcome().unwrap().success);
}

#[test]
fn emptying_the_hand_is_a_successful_call_at_zero() {
    let rules = DhumbalRules::paper();
    let mut s = deal(rules, &[&["7C", "7D"], &["AH", "2H"]], &["9D"], None);
    assert_eq!(s.phase(), Phase::Discard, "value 14 > 10");
    let pair = cards::discard_action(set(&["7C", "7D"]), false).unwrap();
    s.apply_action(pair);
    let o = *s.outcome().unwrap();
    assert_eq!(
        (o.ending, o.caller, o.success, o.values[0]),
        (Ending::EmptyHand, 0, true, 0)
    );
    assert_eq!(&s.payments()[..2], &[3, -3]);
    assert!(s.is_terminal());
    assert!(s.legal_actions().is_empty());
}

#[test]
fn paper_offers_ones_own_discard_traditional_the_previous_one() {
    let hands: &[&[&str]] = &[&["KC", "QC", "JC", "9H", "8H"], &["KD", "QD", "JD", "9S", "8S"]];
    let mut s = deal(DhumbalRules::paper(), hands, &["2D"], None);
    s.apply_action(single("KC"));
    assert_eq!(s.pickup_offer(), Some(c("KC")), "paper: the card just discarded");
    s.apply_action(PICKUP);
    assert_eq!(
        s.hand(0),
        set(&["KC", "QC", "JC", "9H", "8H"]),
        "the quirk: a wasted turn"
    );
    assert_eq!(s.known_cards(0), set(&["KC"]));
    assert_eq!(s.pile(), &[c("2D")]);
    assert_eq!(s.current_player(), 1);

    let mut s = deal(DhumbalRules::traditional(), hands, &["2D"], None);
    s.apply_action(single("KC"));
    assert_eq!(s.pickup_offer(), Some(c("2D")), "traditional: the previous top");
    s.apply_action(PICKUP);
    assert_eq!(s.hand(0), set(&["2D", "QC", "JC", "9H", "8H"]));
    assert_eq!(s.pile(), &[c("KC")]);
}

#[test]
fn a_group_goes_onto_the_pile_highest_card_on_top() {
    let mut s = deal(
        DhumbalRules::paper(),
        &[&["5H", "6H", "7H", "KS", "QS"], &["KD", "QD", "JD", "9S", "8S"]],
        &["2D"],
        None,
    );
    let run = cards::discard_action(set(&["5H", "6H", "7H"]), false).unwrap();
    s.apply_action(run);
    assert_eq!(s.pile(), &[c("2D"), c("5H"), c("6H"), c("7H")]);
    assert_eq!(s.pickup_offer(), Some(c("7H")));
    assert_eq!(s.cards_discarded(0), 3);
}

#[test]
fn drawing_takes_the_stock_top_and_passes_the_turn() {
    let mut s = deal(
        DhumbalRules::paper(),
        &[&["KC", "QC", "JC", "9H", "8H"], &["KD", "QD", "JD", "9S", "8S"]],
        &["2D"],
        Some(&["3C", "4C"]),
    );
    s.apply_action(single("KC"));
    s.apply_action(DRAW);
    assert!(s.hand(0) & (1u64 << c("4C")) != 0);
    assert_eq!(s.stock(), &[c("3C")]);
    assert_eq!(s.turns(), 1);
    assert_eq!(s.current_player(), 1);
}

#[test]
fn empty_stock_reshuffles_under_the_top_card_or_forces_a_showdown() {
    let hands: &[&[&str]] = &[&["KC", "QC", "JC", "9H", "8H"], &["KD", "QD", "JD", "9S", "8S"]];
    // Pile 2D 3D + discard KC: three cards; stock empty -> keep KC on top, reshuffle 2D 3D.
    let mut s = deal(DhumbalRules::paper(), hands, &["2D", "3D"], Some(&[]));
    s.apply_action(single("KC"));
    s.apply_action(DRAW);
    assert_eq!(s.pile(), &[c("KC")]);
    assert_eq!(s.stock().len(), 1);
    assert_eq!(s.hand(0).count_ones(), 5);
    assert!(!s.is_terminal());

    // Pile of one card after the pick step is impossible with a discard, so use the
    // `showdown` rule: an empty stock at a draw ends the round at once.
    let mut rules = DhumbalRules::paper();
    rules.empty_stock = EmptyStock::Showdown;
    let mut s = deal(rules, hands, &["2D"], Some(&[]));
    s.apply_action(single("KC"));
    s.apply_action(DRAW);
    let o = *s.outcome().unwrap();
    assert_eq!(o.ending, Ending::ForcedShowdown);
    // Values: player 0 = 12+11+9+8 = 40, player 1 = 13+12+11+9+8 = 53: player 0 calls, wins.
    assert_eq!((o.caller, o.success, o.winner), (0, true, 0));
}

#[test]
fn turn_cap_forces_a_showdown_by_the_lowest_hand_ties_to_lowest_position() {
    let mut rules = DhumbalRules::paper();
    rules.turn_cap = 2;
    let mut s = deal(
        rules,
        &[
            &["KC", "QC", "JC", "9H", "8H"],
            &["KD", "QD", "JD", "9S", "8S"],
            &["KH", "QH", "JH", "9C", "8C"],
        ],
        &["2D"],
        Some(&["3C", "4C", "5C", "6C"]),
    );
    s.apply_action(single("KC")); // 40 left
    s.apply_action(DRAW); // + 6C = 46
    s.apply_action(single("KD")); // 40 left
    s.apply_action(DRAW); // + 5C = 45
    let o = *s.outcome().unwrap();
    assert_eq!(o.ending, Ending::ForcedShowdown);
    assert_eq!(s.turns(), 2);
    // Values 46, 45, 53: player 1 is lowest, strictly: success.
    assert_eq!((o.caller, o.success, o.winner), (1, true, 1));

    // A tie for the lowest: the lower position calls and fails; the other tied player wins.
    let mut s = deal(
        rules,
        &[&["KC", "QC"], &["KD", "QD"], &["KH", "QH", "JH"]],
        &["2D"],
        Some(&["3C", "3D"]),
    );
    s.apply_action(single("KC")); // 12 + draw 3D = 15
    s.apply_action(DRAW);
    s.apply_action(single("KD")); // 12 + draw 3C = 15
    s.apply_action(DRAW);
    let o = *s.outcome().unwrap();
    assert_eq!((o.caller, o.success, o.winner), (0, false, 1));
}

#[test]
fn face_cards_and_runs_follow_the_rule_set() {
    let s = deal(
        DhumbalRules::traditional(),
        &[&["KC", "QC", "JC", "AH"], &["2D"]],
        &["9D"],
        None,
    );
    assert_eq!(s.hand_value(0), 31);
    let s = deal(
        DhumbalRules::paper(),
        &[&["KC", "QC", "JC", "AH"], &["2D"]],
        &["9D"],
        None,
    );
    assert_eq!(s.hand_value(0), 37);
    let s = deal(
        DhumbalRules::paper(),
        &[&["QS", "KS", "AS", "9H", "9D"], &["2D"]],
        &["9C"],
        None,
    );
    let labels: Vec<String> = s.legal_actions().iter().map(|a| cards::action_label(*a)).collect();
    assert!(!labels.iter().any(|l| l.contains("AS+QS+KS")), "{labels:?}");
}

#[test]
fn traditional_points_eliminate_and_close_matches() {
    let game = Dhumbal::new(DhumbalRules::traditional(), 3);
    let mut ledger = game.new_ledger(3);
    // A failed call: caller scores the penalty, winner 0, the other its hand value.
    let mut s = deal(
        game.rules,
        &[&["AC", "4C"], &["2D", "2H"], &["KC", "KD", "KH"]],
        &["9D"],
        None,
    );
    s.apply_action(CALL);
    assert_eq!(&s.round_points()[..3], &[25, 0, 30]);
    assert_eq!(&s.payments()[..3], &[-25, 55, -30]);
    let rows = game.settle_round(&mut ledger, &s, &[0, 1, 2]);
    assert_eq!(ledger.points, vec![25, 0, 30]);
    assert!(rows[1].won);
    // Push participant 2 over the limit: it sits out the next round.
    ledger.points[2] = 95;
    let mut s = deal(
        game.rules,
        &[&["AC", "2C"], &["KD", "QD"], &["KC", "QC"]],
        &["9D"],
        None,
    );
    s.apply_action(CALL);
    game.settle_round(&mut ledger, &s, &[0, 1, 2]);
    assert!(ledger.eliminated[2] && !ledger.eliminated[0] && !ledger.eliminated[1]);
    let (next, players) = game.start_round(&ledger, &[0, 1, 2], 7, &mut SimRng::new(3));
    assert_eq!(players, vec![0, 1]);
    assert_eq!(next.num_players(), 2);
    // Participant 1 crosses too: participant 0 wins the match; points reset.
    ledger.points[1] = 99;
    let mut s = deal(game.rules, &[&["AC", "2C"], &["KD", "QD"]], &["9D"], None);
    s.apply_action(CALL);
    let rows = game.settle_round(&mut ledger, &s, &[0, 1]);
    assert_eq!(ledger.matches_won, vec![1, 0, 0]);
    assert_eq!(ledger.points, vec![0, 0, 0]);
    assert!(rows[0].get("match_won") == Some(crate::core::tournament::MetricValue::Bool(true)));
}

#[test]
fn observation_has_the_fixed_layout() {
    let s = deal(
        DhumbalRules::paper(),
        &[&["5H", "6H", "7H", "KS", "QS"], &["KD", "QD", "JD", "9S", "8S"]],
        &["2D"],
        None,
    );
    let mut out = vec![0f32; obs::LEN];
    s.observation(0, &mut out);
    assert_eq!(out[obs::HAND..obs::HAND + 52].iter().sum::<f32>(), 5.0);
    assert_eq!(out[obs::PILE_TOP + c("2D") as usize], 1.0);
    assert_eq!(out[obs::OPPONENTS], 1.0, "opponent holds 5 cards");
    assert_eq!(out[obs::PHASE + 1], 1.0, "discard phase");
    assert!((out[obs::HAND_VALUE] - 43.0 / 65.0).abs() < 1e-6);
    let mut other = vec![0f32; obs::LEN];
    s.observation(1, &mut other);
    assert_eq!(
        other[obs::PHASE..obs::PHASE + 3].iter().sum::<f32>(),
        0.0,
        "not player 1's move"
    );
}

#[test]
fn information_state_key_ignores_hidden_cards_of_others() {
    let a = deal(
        DhumbalRules::paper(),
        &[&["5H", "6H", "7H", "KS", "QS"], &["KD", "QD", "JD", "9S", "8S"]],
        &["2D"],
        None,
    );
    let b = deal(
        DhumbalRules::paper(),
        &[&["5H", "6H", "7H", "KS", "QS"], &["KC", "QD", "JD", "9S", "8S"]],
        &["2D"],
        None,
    );
    assert_eq!(a.information_state_key(0), b.information_state_key(0));
    assert_ne!(a.information_state_key(1), b.information_state_key(1));
}

#[test]
fn information_state_key_ignores_the_hidden_reshuffle_seed() {
    let hands = {
        let mut h = [0u64; MAX_PLAYERS];
        h[0] = set(&["5H", "6H", "7H", "KS", "QS"]);
        h[1] = set(&["KD", "QD", "JD", "9S", "8S"]);
        h
    };
    let a = DhumbalState::from_parts(
        DhumbalRules::paper(),
        hands,
        vec![c("2C")],
        vec![c("2D")],
        0,
        &[10_000, 10_000],
        1,
    );
    let b = DhumbalState::from_parts(
        DhumbalRules::paper(),
        hands,
        vec![c("2C")],
        vec![c("2D")],
        0,
        &[10_000, 10_000],
        2,
    );
    assert_eq!(a.information_state_key(0), b.information_state_key(0));
}

#[test]
fn resampling_respects_everything_the_player_knows() {
    let game = Dhumbal::new(DhumbalRules::paper(), 4);
    let mut rng = SimRng::new(21);
    let mut s = game.new_initial_state(&mut rng);
    // Play a while so that pick-ups make some opponent cards public.
    for _ in 0..40 {
        if s.is_terminal() {
            break;
        }
        let legal = s.legal_actions();
        let a = if legal.contains(&PICKUP) {
            PICKUP
        } else {
            legal[rng.below(legal.len())]
        };
        s.apply_action(a);
    }
    if s.is_terminal() {
        return;
    }
    let Turn::Player(me) = s.turn() else { unreachable!() };
    let full: Vec<Card> = (0..52).collect();
    for _ in 0..50 {
        let r = s.resample(me, &mut rng);
        assert_eq!(all_cards(&r), full, "still one deck");
        assert_eq!(r.hand(me), s.hand(me));
        assert_eq!(r.pile(), s.pile());
        assert_eq!(r.stock().len(), s.stock().len());
        for q in 0..4 {
            assert_eq!(r.hand(q).count_ones(), s.hand(q).count_ones(), "hand sizes");
            assert_eq!(r.known_cards(q), s.known_cards(q));
            assert_eq!(r.hand(q) & s.known_cards(q), s.known_cards(q), "known cards stay put");
        }
        assert_eq!(r.information_state_key(me), s.information_state_key(me));
        assert_eq!(r.legal_actions(), s.legal_actions());
        // What external agents and learners get is the player's own information only: it
        // cannot tell this state from any redraw of what the player cannot see.
        assert_eq!(r.observation_view(me), s.observation_view(me));
        let (mut a, mut b) = (vec![0f32; obs::LEN], vec![0f32; obs::LEN]);
        r.observation(me, &mut a);
        s.observation(me, &mut b);
        assert_eq!(a, b);
    }
    let view = s.observation_view(me);
    assert_eq!(view["hand"].as_array().unwrap().len(), s.hand(me).count_ones() as usize);
    assert_eq!(view["opponents"].as_array().unwrap().len(), s.num_players() - 1);
}

fn all_cards(s: &DhumbalState) -> Vec<Card> {
    let mut v: Vec<Card> = s.stock().to_vec();
    v.extend_from_slice(s.pile());
    for p in 0..s.num_players() {
        v.extend(cards::cards(s.hand(p)));
    }
    v.sort_unstable();
    v
}

/// Plays a random round, checking every invariant of the spec along the way.
fn check_random_round(rules: DhumbalRules, players: usize, seed: u64) {
    let game = Dhumbal::new(rules, players);
    let mut rng = SimRng::new(seed);
    let mut s = game.new_initial_state(&mut rng);
    let full: Vec<Card> = (0..52).collect();
    assert_eq!(s.stock().len(), 52 - 5 * players - 1);
    let mut turn_start_size: Option<u32> = None;
    while !s.is_terminal() {
        assert_eq!(all_cards(&s), full, "52 distinct cards at all times");
        let Turn::Player(p) = s.turn() else {
            panic!("Dhumbal has no chance turns")
        };
        let legal = s.legal_actions();
        assert!(!legal.is_empty());
        assert!(legal.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
        for a in &legal {
            if cards::is_discard(*a) {
                let g = cards::discard_group(*a);
                assert_eq!(s.hand(p) & g, g, "discard of held cards only");
            }
        }
        let phase = s.phase();
        if phase != Phase::Pick && turn_start_size.is_none() {
            turn_start_size = Some(s.hand(p).count_ones());
        }
        let turns = s.turns();
        let a = legal[rng.below(legal.len())];
        s.apply_action(a);
        for q in 0..players {
            assert!(s.hand(q).count_ones() <= 5, "hand size <= 5");
        }
        if phase == Phase::Pick {
            let start = turn_start_size.take().expect("a pick follows a discard");
            assert!(s.hand(p).count_ones() <= start, "a hand never grows over a turn");
            if !s.is_terminal() {
                assert_eq!(s.turns(), turns + 1, "exactly one pick per turn");
            }
        }
    }
    assert_eq!(all_cards(&s), full);
    let pay = s.payments();
    assert_eq!(pay.iter().sum::<i64>(), 0, "zero-sum");
    let o = *s.outcome().unwrap();
    if o.success {
        let others_min = (0..players)
            .filter(|q| *q != o.caller)
            .map(|q| o.values[q])
            .min()
            .unwrap();
        assert!(o.values[o.caller] < others_min || rules.call_wins_ties);
        if o.ending == Ending::Called {
            assert!(o.values[o.caller] <= rules.jhyap_threshold);
        }
        assert_eq!(o.winner, o.caller);
    } else {
        assert_ne!(o.winner, o.caller);
    }
    if rules.scoring == Scoring::Coins {
        let cap = i64::from(rules.payment_cap);
        if o.success {
            for q in (0..players).filter(|q| *q != o.caller) {
                assert_eq!(pay[q], -i64::from(o.values[q]).min(cap));
            }
        } else {
            let total: i64 = (0..players).map(|q| i64::from(o.values[q]).min(cap)).sum();
            assert_eq!(pay[o.caller], -total);
            assert_eq!(pay[o.winner], total);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn paper_rounds_hold_every_invariant(seed in any::<u64>(), players in 2usize..=5) {
        check_random_round(DhumbalRules::paper(), players, seed);
    }

    #[test]
    fn traditional_rounds_hold_every_invariant(seed in any::<u64>(), players in 2usize..=5) {
        check_random_round(DhumbalRules::traditional(), players, seed);
    }

    #[test]
    fn short_stock_variants_hold_every_invariant(seed in any::<u64>(), cap in 1u32..400, showdown in any::<bool>()) {
        let mut rules = DhumbalRules::paper();
        rules.turn_cap = cap;
        rules.empty_stock = if showdown { EmptyStock::Showdown } else { EmptyStock::Reshuffle };
        rules.ace_high_runs = seed % 2 == 0;
        check_random_round(rules, 5, seed);
    }

    #[test]
    fn tables_conserve_coins_over_many_rounds(seed in any::<u64>(), players in 2usize..=5, points in any::<bool>()) {
        let rules = if points { DhumbalRules::traditional() } else { DhumbalRules::paper() };
        let game = Dhumbal::new(rules, players);
        let mut ledger = game.new_ledger(players);
        let order: Vec<usize> = (0..players).collect();
        let mut rng = SimRng::new(seed);
        for round in 0..20 {
            let (mut s, who) = game.start_round(&ledger, &order, round, &mut rng);
            while !s.is_terminal() {
                let legal = s.legal_actions();
                s.apply_action(legal[rng.below(legal.len())]);
            }
            game.settle_round(&mut ledger, &s, &who);
            prop_assert_eq!(ledger.coins.iter().sum::<i64>(), players as i64 * rules.starting_coins);
        }
    }
}
