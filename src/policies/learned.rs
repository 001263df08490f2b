//! `ppo`: a trained checkpoint as a policy in any scenario. It encodes the state with the
//! game's own observation vector and legal-action mask, the very code path training uses
//! (the study's PPO failed because play and training disagreed here), and reports its value
//! head's estimate (`root_value`) and its win head's probability of winning the round
//! (`win_probability`) per decision in decisions.csv, so the forecasts can be scored.

use std::path::PathBuf;

use mechsim_agents::{Batch, DeviceKind, DqnConfig, Learner, PpoConfig, load_learner, read_meta};

use super::{PolicyEntry, PolicyRole};
use crate::core::game::{Action, Game, State};
use crate::core::params::{ParamKind, ParamSpec, Params};
use crate::core::policy::{Policy, SearchStats};
use crate::core::rng::SimRng;

/// A learner playing one seat.
pub struct LearnedPolicy {
    learner: Box<dyn Learner>,
    batch: Batch,
    observation: Vec<f32>,
    legal: Vec<Action>,
    greedy: bool,
    last_value: Option<f64>,
    last_win: Option<f64>,
}

impl LearnedPolicy {
    /// Wraps `learner` for a game with observations of `obs_len` and `num_actions` actions.
    pub fn new(learner: Box<dyn Learner>, obs_len: usize, num_actions: usize, greedy: bool) -> Self {
        LearnedPolicy {
            learner,
            batch: Batch::new(obs_len, num_actions),
            observation: vec![0.0; obs_len],
            legal: Vec::new(),
            greedy,
            last_value: None,
            last_win: None,
        }
    }

    /// The observation and mask this policy feeds its network for `player` at `state`.
    pub fn encode<S: State>(&mut self, state: &S, player: usize) -> &Batch {
        self.batch.clear();
        // Shapes were checked against the game when the policy was built.
        let _ = encode_decision(state, player, &mut self.observation, &mut self.legal, &mut self.batch);
        &self.batch
    }
}

/// Appends `player`'s decision at `state` to `batch`: the game's observation vector and its
/// legal-action mask. Training (the batched World) and play (`LearnedPolicy`) both call this,
/// so the two can never disagree on layout.
/// `observation` and `legal` are scratch buffers reused across calls.
pub fn encode_decision<S: State>(
    state: &S,
    player: usize,
    observation: &mut [f32],
    legal: &mut Vec<Action>,
    batch: &mut Batch,
) -> Result<(), mechsim_agents::AgentError> {
    state.observation(player, observation);
    state.legal_actions_into(legal);
    batch.push(observation, legal)
}

impl<G: Game> Policy<G> for LearnedPolicy {
    fn act(&mut self, state: &G::State, player: usize, rng: &mut SimRng) -> Action {
        let u = rng.unit();
        self.encode(state, player);
        match self.learner.act(&self.batch, &[u], self.greedy) {
            Ok(decisions) => {
                self.last_value = Some(f64::from(decisions[0].value));
                self.last_win = decisions[0].win_probability.map(f64::from);
                decisions[0].action
            }
            Err(_) => {
                self.last_value = None;
                state.legal_actions()[0]
            }
        }
    }

    fn last_search(&self) -> Option<SearchStats> {
        self.last_value.map(|v| SearchStats {
            simulations: 0,
            root_value: v,
            tree_nodes: 0,
            win_probability: self.last_win,
        })
    }
}

const PPO_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "checkpoint",
        kind: ParamKind::Path,
        help: "the .mpk checkpoint written by `mechsim train` (its .mpk.json side file must sit beside it)",
    },
    ParamSpec {
        name: "greedy",
        kind: ParamKind::Bool,
        help: "play the best action instead of sampling (default: false for ppo, true for dqn)",
    },
];

fn build<G: Game>(algorithm: &str, game: &G, params: &Params) -> Result<Box<dyn Policy<G>>, String> {
    let path = PathBuf::from(
        params
            .str("checkpoint")
            .ok_or_else(|| format!("`{algorithm}` needs `checkpoint = \"path/to/file.mpk\"`"))?,
    );
    let meta = read_meta(&path).map_err(|e| e.to_string())?;
    if meta.algorithm != algorithm {
        return Err(format!(
            "checkpoint {} holds a `{}` network; seat it with `policy = \"{}\"`",
            path.display(),
            meta.algorithm,
            meta.algorithm
        ));
    }
    if meta.obs_len != game.observation_len() || meta.num_actions != game.num_distinct_actions() {
        return Err(format!(
            "checkpoint {} was trained on observations of length {} with {} actions, but {} has {} and {}",
            path.display(),
            meta.obs_len,
            meta.num_actions,
            game.name(),
            game.observation_len(),
            game.num_distinct_actions()
        ));
    }
    let learner = load_learner(DeviceKind::Cpu, &path).map_err(|e| e.to_string())?;
    Ok(Box::new(LearnedPolicy::new(
        learner,
        meta.obs_len,
        meta.num_actions,
        // DQN's exploration belongs to training: it plays greedily unless told otherwise.
        params.bool("greedy").unwrap_or(algorithm == DqnConfig::ALGORITHM),
    )))
}

/// Registry entries (any game: the networks see only observations and masks).
pub fn entries<G: Game>() -> Vec<PolicyEntry<G>> {
    vec![
        PolicyEntry::new(
            PpoConfig::ALGORITHM,
            "a PPO checkpoint trained with `mechsim train` (plays on the CPU)",
            |seat| build(PpoConfig::ALGORITHM, seat.game, seat.params),
        )
        .with_params(PPO_PARAMS)
        .with_role(PolicyRole::Learned),
        PolicyEntry::new(
            DqnConfig::ALGORITHM,
            "a DQN checkpoint trained with `mechsim train` (greedy on its Q-values unless greedy = false)",
            |seat| build(DqnConfig::ALGORITHM, seat.game, seat.params),
        )
        .with_params(PPO_PARAMS)
        .with_role(PolicyRole::Learned),
    ]
}

/// The `ppo` entry.
pub fn entry<G: Game>() -> PolicyEntry<G> {
    entries::<G>().remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::SimRng;
    use crate::games::dhumbal::{Dhumbal, DhumbalRules};
    use mechsim_agents::UniformLearner;

    /// Training (the batched World) and play (this policy) both encode through
    /// `encode_decision`; here the play path is checked against the game itself on states
    /// from random rounds: the row is the game's observation and the mask its legal actions.
    #[test]
    fn play_encodes_exactly_the_game_observation_and_legal_mask() {
        let game = Dhumbal::new(DhumbalRules::paper(), 4);
        let mut policy = LearnedPolicy::new(
            Box::new(UniformLearner),
            game.observation_len(),
            game.num_distinct_actions(),
            false,
        );
        let mut rng = SimRng::new(8);
        let mut expected = vec![0f32; game.observation_len()];
        for _ in 0..20 {
            let mut state = game.new_initial_state(&mut rng);
            while let crate::core::game::Turn::Player(p) = state.turn() {
                state.observation(p, &mut expected);
                let legal = state.legal_actions();
                let batch = policy.encode(&state, p);
                assert_eq!(batch.len(), 1);
                assert_eq!(batch.observation(0), expected.as_slice());
                let mask: Vec<u32> = (0..game.num_distinct_actions() as u32)
                    .filter(|a| batch.mask(0)[*a as usize])
                    .collect();
                assert_eq!(mask, legal);
                let a = legal[rng.below(legal.len())];
                state.apply_action(a);
            }
        }
    }
}
