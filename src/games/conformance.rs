//! The conformance suite every registered game runs: random playouts that check the
//! `Game`/`State` contract (sorted unique legal actions, empty iff terminal, ids in range,
//! observations of the declared length and finite, clones that behave like the original,
//! finite returns, episodes that end). Registering a game puts it under this suite.

use crate::core::game::{Game, State, Turn};
use crate::core::rng::SimRng;

/// What a conformance run saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConformanceReport {
    /// Episodes played.
    pub episodes: usize,
    /// Actions applied in total.
    pub actions: usize,
    /// Longest episode, in actions.
    pub longest: usize,
}

/// Plays `episodes` uniformly random episodes (each capped at `max_actions`) and checks
/// the contract at every step. Returns the first violation as an error.
pub fn check_game<G: Game>(
    game: &G,
    episodes: usize,
    seed: u64,
    max_actions: usize,
) -> Result<ConformanceReport, String> {
    let mut rng = SimRng::new(seed);
    let mut report = ConformanceReport::default();
    let mut obs = vec![0f32; game.observation_len()];
    for episode in 0..episodes {
        let mut state = game.new_initial_state(&mut rng);
        let mut steps = 0usize;
        loop {
            let legal = state.legal_actions();
            let fail = |msg: String| Err(format!("{} episode {episode} step {steps}: {msg}", game.name()));
            match state.turn() {
                Turn::Terminal => {
                    if !legal.is_empty() {
                        return fail("terminal state has legal actions".into());
                    }
                    let returns = state.returns();
                    if returns.len() != game.num_players() && returns.len() > game.num_players() {
                        return fail(format!("{} returns for {} players", returns.len(), game.num_players()));
                    }
                    if returns.iter().any(|r| !r.is_finite()) {
                        return fail(format!("non-finite returns {returns:?}"));
                    }
                    break;
                }
                Turn::Chance => {
                    let outcomes = state.chance_outcomes();
                    let total: f64 = outcomes.iter().map(|(_, p)| p).sum();
                    if outcomes.is_empty() || (total - 1.0).abs() > 1e-9 {
                        return fail(format!("chance outcomes sum to {total}"));
                    }
                    let weights: Vec<f64> = outcomes.iter().map(|(_, p)| *p).collect();
                    state.apply_action(outcomes[rng.weighted_index(&weights)].0);
                }
                Turn::Player(p) => {
                    if legal.is_empty() {
                        return fail("non-terminal state without legal actions".into());
                    }
                    if !legal.windows(2).all(|w| w[0] < w[1]) {
                        return fail(format!("legal actions not sorted and unique: {legal:?}"));
                    }
                    if legal.iter().any(|a| *a as usize >= game.num_distinct_actions()) {
                        return fail(format!("action id out of range in {legal:?}"));
                    }
                    if p >= game.num_players() {
                        return fail(format!("player {p} out of range"));
                    }
                    for viewer in 0..game.num_players().min(p + 1) {
                        state.observation(viewer, &mut obs);
                        if obs.iter().any(|x| !x.is_finite()) {
                            return fail("non-finite observation".into());
                        }
                    }
                    let mut buffer = vec![u32::MAX; 3];
                    state.legal_actions_into(&mut buffer);
                    if buffer != legal {
                        return fail(format!("legal_actions_into gives {buffer:?}, legal_actions {legal:?}"));
                    }
                    for a in 0..game.num_distinct_actions() as u32 {
                        if state.is_legal(a) != legal.binary_search(&a).is_ok() {
                            return fail(format!("is_legal({a}) disagrees with legal_actions {legal:?}"));
                        }
                    }
                    let action = legal[rng.below(legal.len())];
                    let mut twin = state.clone();
                    if twin.legal_actions() != legal || twin.information_state_key(p) != state.information_state_key(p)
                    {
                        return fail("a clone differs from its original".into());
                    }
                    state.apply_action(action);
                    twin.apply_action(action);
                    if twin.legal_actions() != state.legal_actions() || twin.turn() != state.turn() {
                        return fail("a clone diverged after the same action".into());
                    }
                }
            }
            steps += 1;
            report.actions += 1;
            if steps > max_actions {
                return Err(format!(
                    "{}: episode {episode} did not end within {max_actions} actions",
                    game.name()
                ));
            }
        }
        report.longest = report.longest.max(steps);
        report.episodes += 1;
    }
    Ok(report)
}
