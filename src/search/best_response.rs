//! Exact best responses, expected values and NashConv over a `GameTree`, for any policy
//! profile given as action probabilities per decision node (tabular policies, CFR's average,
//! or any black-box `Policy` with `action_probs`, queried once per decision state).
//! NashConv = sum over players of (best-response value - value under the profile);
//! exploitability = NashConv / players (OpenSpiel's definitions).

use std::collections::HashMap;

use super::tree::{GameTree, NodeKind};
use crate::core::game::{Action, Game, State, Turn};
use crate::core::policy::Policy;

/// Probabilities for every decision node's children (empty for other nodes).
pub type Profile = Vec<Vec<f64>>;

/// Builds a profile by asking `probs(state, legal)` at every decision node.
pub fn profile_of<S: State>(tree: &GameTree<S>, probs: &mut dyn FnMut(&S, &[Action]) -> Vec<f64>) -> Profile {
    tree.nodes
        .iter()
        .enumerate()
        .map(|(i, node)| match (node.kind, &tree.states[i]) {
            (NodeKind::Decision, Some(state)) => {
                let legal = &tree.infosets[node.infoset as usize].actions;
                probs(state, legal)
            }
            _ => Vec::new(),
        })
        .collect()
}

/// Builds a profile from one policy per player (its `action_probs`, which must exist).
pub fn profile_of_policies<G: Game>(
    tree: &GameTree<G::State>,
    policies: &mut [Box<dyn Policy<G>>],
) -> Result<Profile, String> {
    let mut missing = None;
    let profile = profile_of(tree, &mut |state, legal| {
        let Turn::Player(p) = state.turn() else {
            return Vec::new();
        };
        match policies[p].action_probs(state, p) {
            Some(dist) => {
                let by_action: HashMap<Action, f64> = dist.into_iter().collect();
                legal.iter().map(|a| by_action.get(a).copied().unwrap_or(0.0)).collect()
            }
            None => {
                missing = Some(p);
                vec![1.0 / legal.len() as f64; legal.len()]
            }
        }
    });
    match missing {
        Some(p) => Err(format!("player {p}'s policy does not expose action probabilities")),
        None => Ok(profile),
    }
}

/// Each player's expected return when everyone follows `profile`.
pub fn value_of<S: State>(tree: &GameTree<S>, profile: &Profile) -> Vec<f64> {
    let mut value = vec![0.0; tree.num_players];
    let mut stack = vec![(0u32, 1.0f64)];
    while let Some((node, reach)) = stack.pop() {
        if reach == 0.0 {
            continue;
        }
        let info = tree.nodes[node as usize];
        match info.kind {
            NodeKind::Terminal => {
                for (v, r) in value.iter_mut().zip(tree.returns_of(node)) {
                    *v += reach * r;
                }
            }
            NodeKind::Chance => {
                for (i, child) in tree.children_of(node).iter().enumerate() {
                    stack.push((*child, reach * tree.edge_prob[info.first_child as usize + i]));
                }
            }
            NodeKind::Decision => {
                for (i, child) in tree.children_of(node).iter().enumerate() {
                    stack.push((*child, reach * profile[node as usize][i]));
                }
            }
        }
    }
    value
}

struct BestResponse<'a, S: State> {
    tree: &'a GameTree<S>,
    profile: &'a Profile,
    player: usize,
    /// Probability that chance and the other players reach each node.
    reach: Vec<f64>,
    best: HashMap<u32, usize>,
    memo: Vec<Option<f64>>,
}

impl<S: State> BestResponse<'_, S> {
    fn value(&mut self, node: u32) -> f64 {
        if let Some(v) = self.memo[node as usize] {
            return v;
        }
        let info = self.tree.nodes[node as usize];
        let v = match info.kind {
            NodeKind::Terminal => self.tree.returns_of(node)[self.player],
            NodeKind::Chance => {
                let mut v = 0.0;
                for i in 0..info.num_children as usize {
                    let edge = info.first_child as usize + i;
                    v += self.tree.edge_prob[edge] * self.value(self.tree.children[edge]);
                }
                v
            }
            NodeKind::Decision if info.player as usize == self.player => {
                let a = self.best_action(info.infoset);
                self.value(self.tree.children[info.first_child as usize + a])
            }
            NodeKind::Decision => {
                let mut v = 0.0;
                for i in 0..info.num_children as usize {
                    let p = self.profile[node as usize][i];
                    if p > 0.0 {
                        v += p * self.value(self.tree.children[info.first_child as usize + i]);
                    }
                }
                v
            }
        };
        self.memo[node as usize] = Some(v);
        v
    }

    /// The action maximising the reach-weighted value summed over the information set.
    fn best_action(&mut self, infoset: u32) -> usize {
        if let Some(a) = self.best.get(&infoset) {
            return *a;
        }
        let members = self.tree.infosets[infoset as usize].nodes.clone();
        let k = self.tree.infosets[infoset as usize].actions.len();
        let mut totals = vec![0.0; k];
        for node in members {
            let reach = self.reach[node as usize];
            let first = self.tree.nodes[node as usize].first_child as usize;
            for (a, total) in totals.iter_mut().enumerate() {
                *total += reach * self.value(self.tree.children[first + a]);
            }
        }
        let best = (0..k).fold(0, |b, a| if totals[a] > totals[b] + 1e-12 { a } else { b });
        self.best.insert(infoset, best);
        best
    }
}

fn opponent_reach<S: State>(tree: &GameTree<S>, profile: &Profile, player: usize) -> Vec<f64> {
    let mut reach = vec![0.0; tree.nodes.len()];
    reach[0] = 1.0;
    // Children always come after their parent, so one forward pass suffices.
    for node in 0..tree.nodes.len() {
        let info = tree.nodes[node];
        let r = reach[node];
        let first = info.first_child as usize;
        for (i, child) in tree.children_of(node as u32).iter().enumerate() {
            let factor = match info.kind {
                NodeKind::Chance => tree.edge_prob[first + i],
                NodeKind::Decision if info.player as usize == player => 1.0,
                NodeKind::Decision => profile[node][i],
                NodeKind::Terminal => 0.0,
            };
            reach[*child as usize] = r * factor;
        }
    }
    reach
}

/// `player`'s best-response value against the others playing `profile`.
pub fn best_response_value<S: State>(tree: &GameTree<S>, profile: &Profile, player: usize) -> f64 {
    let mut br = BestResponse {
        tree,
        profile,
        player,
        reach: opponent_reach(tree, profile, player),
        best: HashMap::new(),
        memo: vec![None; tree.nodes.len()],
    };
    br.value(0)
}

/// Sum over players of best-response value minus on-profile value.
pub fn nash_conv<S: State>(tree: &GameTree<S>, profile: &Profile) -> f64 {
    let on_policy = value_of(tree, profile);
    (0..tree.num_players)
        .map(|p| best_response_value(tree, profile, p) - on_policy[p])
        .sum()
}

/// NashConv divided by the number of players.
pub fn exploitability<S: State>(tree: &GameTree<S>, profile: &Profile) -> f64 {
    nash_conv(tree, profile) / tree.num_players as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::kuhn_poker::{KuhnPoker, KuhnState};
    use crate::games::leduc_poker::LeducPoker;

    fn uniform<S: State>(tree: &GameTree<S>) -> Profile {
        profile_of(tree, &mut |_, legal| vec![1.0 / legal.len() as f64; legal.len()])
    }

    #[test]
    fn uniform_play_nash_conv_matches_openspiel() {
        let kuhn = GameTree::build(&KuhnPoker::new(2), 1_000).unwrap();
        assert!((nash_conv(&kuhn, &uniform(&kuhn)) - 11.0 / 12.0).abs() < 1e-12);
        let leduc = GameTree::build(&LeducPoker::new(2), 100_000).unwrap();
        assert!((nash_conv(&leduc, &uniform(&leduc)) - 4.747_222_222_222_222).abs() < 1e-9);
    }

    /// Independent brute force: the best pure strategy against uniform play, found by trying
    /// all 2^6 pure strategies of the responder (6 information sets each in Kuhn).
    #[test]
    fn best_response_agrees_with_brute_force_over_pure_strategies() {
        let game = KuhnPoker::new(2);
        let tree = GameTree::build(&game, 1_000).unwrap();
        let profile = uniform(&tree);
        for player in 0..2 {
            let mine: Vec<u64> = tree
                .infosets
                .iter()
                .filter(|i| i.player == player)
                .map(|i| i.key)
                .collect();
            assert_eq!(mine.len(), 6);
            let mut best = f64::NEG_INFINITY;
            for bits in 0..64u32 {
                let pure = profile_of(&tree, &mut |s: &KuhnState, legal| {
                    let Turn::Player(p) = s.turn() else { unreachable!() };
                    if p != player {
                        return vec![0.5; legal.len()];
                    }
                    let idx = mine.iter().position(|k| *k == s.information_state_key(p)).unwrap();
                    let bet = (bits >> idx) & 1;
                    vec![f64::from(1 - bet), f64::from(bet)]
                });
                best = best.max(value_of(&tree, &pure)[player]);
            }
            assert!(
                (best - best_response_value(&tree, &profile, player)).abs() < 1e-12,
                "player {player}"
            );
        }
    }

    /// OpenSpiel's closed-form equilibrium family (parameter alpha in [0, 1/3]) is unexploitable.
    #[test]
    fn known_kuhn_equilibria_have_zero_nash_conv() {
        let tree = GameTree::build(&KuhnPoker::new(2), 1_000).unwrap();
        for alpha in [0.0, 0.1, 1.0 / 3.0] {
            let profile = profile_of(&tree, &mut |s: &KuhnState, _| {
                let Turn::Player(p) = s.turn() else { unreachable!() };
                let card = s.card(p).unwrap();
                let history: String = s.betting().iter().map(|a| if *a == 1 { 'b' } else { 'p' }).collect();
                let bet = match (p, card, history.as_str()) {
                    (0, 0, "") => alpha,
                    (0, 0, "pb") => 0.0,
                    (0, 1, "") => 0.0,
                    (0, 1, "pb") => 1.0 / 3.0 + alpha,
                    (0, 2, "") => 3.0 * alpha,
                    (0, 2, "pb") => 1.0,
                    (1, 0, "p") => 1.0 / 3.0,
                    (1, 0, "b") => 0.0,
                    (1, 1, "p") => 0.0,
                    (1, 1, "b") => 1.0 / 3.0,
                    (1, 2, _) => 1.0,
                    other => panic!("unexpected information set {other:?}"),
                };
                vec![1.0 - bet, bet]
            });
            assert!(nash_conv(&tree, &profile).abs() < 1e-12, "alpha {alpha}");
            assert!(
                (value_of(&tree, &profile)[0] + 1.0 / 18.0).abs() < 1e-12,
                "game value -1/18"
            );
        }
    }

    #[test]
    fn black_box_policies_are_evaluated_through_action_probs() {
        use crate::policies::random::RandomPolicy;
        let game = KuhnPoker::new(2);
        let tree = GameTree::build(&game, 1_000).unwrap();
        let mut players: Vec<Box<dyn Policy<KuhnPoker>>> = vec![Box::new(RandomPolicy), Box::new(RandomPolicy)];
        let profile = profile_of_policies(&tree, &mut players).unwrap();
        assert!((exploitability(&tree, &profile) - 11.0 / 24.0).abs() < 1e-12);

        /// A policy that only samples: it cannot be evaluated exactly, and says so.
        struct SamplesOnly;
        impl Policy<KuhnPoker> for SamplesOnly {
            fn act(&mut self, _: &KuhnState, _: usize, _: &mut crate::core::rng::SimRng) -> Action {
                0
            }
        }
        let mut players: Vec<Box<dyn Policy<KuhnPoker>>> = vec![Box::new(RandomPolicy), Box::new(SamplesOnly)];
        let err = profile_of_policies(&tree, &mut players).unwrap_err();
        assert!(
            err.contains("player 1's policy does not expose action probabilities"),
            "{err}"
        );
    }
}
