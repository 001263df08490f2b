//! Prints one Dhumbal round move by move (hands, pile, actions, payments): a quick way to
//! see the rules at work. `cargo run --example trace_round -- [seed] [paper|traditional]`.

use mechsim::core::{Game, Policy, SimRng, State, Turn};
use mechsim::games::dhumbal::cards::{card_name, cards};
use mechsim::games::dhumbal::{Dhumbal, DhumbalRules};
use mechsim::policies::dhumbal_heuristic::{HeuristicPolicy, Style};

fn main() {
    let mut args = std::env::args().skip(1);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let rules = match args.next().as_deref() {
        Some("traditional") => DhumbalRules::traditional(),
        _ => DhumbalRules::paper(),
    };
    let game = Dhumbal::new(rules, 4);
    let mut rng = SimRng::new(seed);
    let mut state = game.new_initial_state(&mut rng);
    let mut agents: Vec<HeuristicPolicy> = [
        Style::Aggressive,
        Style::Conservative,
        Style::Balanced,
        Style::Opportunistic,
    ]
    .into_iter()
    .map(HeuristicPolicy::new)
    .collect();
    let show = |s: &mechsim::games::dhumbal::DhumbalState| {
        for p in 0..s.num_players() {
            let hand: Vec<String> = cards(s.hand(p)).map(card_name).collect();
            println!("    player {p}: {:<24} value {}", hand.join(" "), s.hand_value(p));
        }
        let pile: Vec<String> = s.pile().iter().map(|c| card_name(*c)).collect();
        println!("    pile (top last): {}   stock: {}", pile.join(" "), s.stock().len());
    };
    show(&state);
    while let Turn::Player(p) = state.turn() {
        let action = agents[p].act(&state, p, &mut rng);
        println!(
            "turn {:>3} player {p} {:?}: {}",
            state.turns(),
            state.phase(),
            game.action_label(action)
        );
        state.apply_action(action);
        if state.phase() == mechsim::games::dhumbal::Phase::Call
            || state.phase() == mechsim::games::dhumbal::Phase::Discard
        {
            show(&state);
        }
    }
    println!("outcome: {:?}", state.outcome());
    println!("coin changes: {:?}", state.returns());
}
