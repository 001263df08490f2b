//! The conformance suite every registered game runs, after OpenSpiel's random-simulation
//! test: random playouts that check the `Game`/`State` contract (sorted unique legal
//! actions, empty iff terminal, ids in range; chance outcomes distinct with probabilities
//! in (0, 1] summing to 1; every viewer's observation written in full and finite; clones
//! that behave like the original; finite returns within `max_utility`; episodes that end),
//! and for games with hidden information, that a resampled state looks exactly the same to
//! the player it was drawn for (so nothing hidden leaks into that player's observation or
//! information-state key). It runs over every rule set, player count and one-at-a-time
//! rule override (`variants`). Registering a game puts it under this suite.

use crate::core::facts::GameFacts;
use crate::core::game::{Game, Resample, State, Turn};
use crate::core::params::{GameSpec, ParamKind, ParamValue, Params};
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
                    if returns.len() > game.num_players() {
                        return fail(format!("{} returns for {} players", returns.len(), game.num_players()));
                    }
                    if returns.iter().any(|r| !r.is_finite()) {
                        return fail(format!("non-finite returns {returns:?}"));
                    }
                    let bound = game.max_utility() * (1.0 + 1e-9);
                    if returns.iter().any(|r| r.abs() > bound) {
                        return fail(format!("returns {returns:?} exceed max_utility {}", game.max_utility()));
                    }
                    break;
                }
                Turn::Chance => {
                    let outcomes = state.chance_outcomes();
                    let total: f64 = outcomes.iter().map(|(_, p)| p).sum();
                    if outcomes.is_empty() || (total - 1.0).abs() > 1e-9 {
                        return fail(format!("chance outcomes sum to {total}"));
                    }
                    if outcomes.iter().any(|(_, p)| !(*p > 0.0 && *p <= 1.0)) {
                        return fail(format!("a chance probability outside (0, 1] in {outcomes:?}"));
                    }
                    let mut ids: Vec<_> = outcomes.iter().map(|(a, _)| *a).collect();
                    ids.sort_unstable();
                    if ids.windows(2).any(|w| w[0] == w[1]) {
                        return fail(format!("repeated chance outcome in {outcomes:?}"));
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
                    for viewer in 0..game.num_players() {
                        // NaN marks every entry the game leaves unwritten.
                        obs.fill(f32::NAN);
                        state.observation(viewer, &mut obs);
                        if let Some(i) = obs.iter().position(|x| !x.is_finite()) {
                            return fail(format!(
                                "player {viewer}'s observation entry {i} is not written or not finite"
                            ));
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
                    let same_keys = (0..game.num_players())
                        .all(|v| twin.information_state_key(v) == state.information_state_key(v));
                    if twin.legal_actions() != legal || !same_keys {
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

/// Plays `episodes` random episodes of a game with hidden information and, at every
/// decision, redraws the state for every player: the redrawn state must look exactly the
/// same to that player (observation, information-state key, whose turn, and the legal
/// actions when it is that player's turn). A game whose observation or key carried
/// something the player cannot know fails here, since the redraw changes exactly that.
pub fn check_resample<G: Game>(game: &G, episodes: usize, seed: u64, max_actions: usize) -> Result<usize, String>
where
    G::State: Resample,
{
    let mut rng = SimRng::new(seed);
    let (mut seen, mut redrawn) = (vec![0f32; game.observation_len()], vec![0f32; game.observation_len()]);
    let mut checks = 0;
    for episode in 0..episodes {
        let mut state = game.new_initial_state(&mut rng);
        for step in 0..max_actions {
            let fail = |msg: String| Err(format!("{} episode {episode} step {step}: {msg}", game.name()));
            let action = match state.turn() {
                Turn::Terminal => break,
                Turn::Chance => {
                    let outcomes = state.chance_outcomes();
                    let weights: Vec<f64> = outcomes.iter().map(|(_, p)| *p).collect();
                    outcomes[rng.weighted_index(&weights)].0
                }
                Turn::Player(p) => {
                    let legal = state.legal_actions();
                    for viewer in 0..game.num_players() {
                        let other = state.resample(viewer, &mut rng);
                        state.observation(viewer, &mut seen);
                        other.observation(viewer, &mut redrawn);
                        if seen != redrawn {
                            return fail(format!(
                                "player {viewer}'s observation changes when hidden information is redrawn"
                            ));
                        }
                        if other.information_state_key(viewer) != state.information_state_key(viewer) {
                            return fail(format!(
                                "player {viewer}'s information-state key changes when hidden information is redrawn"
                            ));
                        }
                        if other.turn() != state.turn() || (viewer == p && other.legal_actions() != legal) {
                            return fail(format!(
                                "a state redrawn for player {viewer} differs in whose turn it is or in the mover's legal actions"
                            ));
                        }
                        checks += 1;
                    }
                    legal[rng.below(legal.len())]
                }
            };
            state.apply_action(action);
        }
    }
    Ok(checks)
}

/// The specs the suite plays: every rule set at every player count, then, with the first
/// rule set and the fewest players, each rule override alone at each of its edge values
/// (both ends of a range, both booleans, every choice). A game may refuse a combination
/// (its constructor's error); at least one value of every override must be accepted.
pub fn variants<G: GameFacts>() -> Result<Vec<GameSpec>, String> {
    let spec = |rules: &str, players: usize, params: Params| GameSpec {
        name: G::NAME.to_string(),
        rules: rules.to_string(),
        players,
        params,
    };
    let mut out = Vec::new();
    for rules in G::RULE_SETS {
        for players in G::PLAYERS.0..=G::PLAYERS.1 {
            out.push(spec(rules, players, Params::new()));
        }
    }
    let base_rules = G::RULE_SETS.first().copied().unwrap_or("standard");
    for param in G::PARAMS {
        let values: Vec<ParamValue> = match param.kind {
            ParamKind::Int { min, max } => vec![ParamValue::Int(min), ParamValue::Int(max)],
            ParamKind::Float { min, max } => vec![ParamValue::Float(min), ParamValue::Float(max)],
            ParamKind::Bool => vec![ParamValue::Bool(false), ParamValue::Bool(true)],
            ParamKind::Choice(choices) => choices.iter().map(|c| ParamValue::Str((*c).to_string())).collect(),
            // Names, paths and free text are not rules a random playout can vary.
            _ => continue,
        };
        let mut accepted = 0;
        for value in values {
            let mut params = Params::new();
            params.set(G::PARAMS, param.name, value)?;
            let candidate = spec(base_rules, G::PLAYERS.0, params);
            if G::from_spec(&candidate).is_ok() {
                accepted += 1;
                out.push(candidate);
            }
        }
        if accepted == 0 {
            return Err(format!("{}: no edge value of `{}` builds a game", G::NAME, param.name));
        }
    }
    Ok(out)
}
