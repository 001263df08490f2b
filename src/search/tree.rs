//! The whole game tree of a small game, walked once and stored as flat arrays: every node's
//! kind, player, information set and children (with chance probabilities), every terminal's
//! returns. CFR iterations and exact best responses then run over arrays instead of cloning
//! states, which is what makes them fast.

use std::collections::HashMap;

use crate::core::game::{Action, Game, State, Turn};
use crate::core::rng::SimRng;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The game is over; returns at `TreeNode::data`.
    Terminal,
    /// Nature moves; children's probabilities at `edge_prob`.
    Chance,
    /// `player` chooses; `infoset` indexes `GameTree::infosets`.
    Decision,
}

/// One node of the tree.
#[derive(Debug, Clone, Copy)]
pub struct TreeNode {
    /// The node's kind.
    pub kind: NodeKind,
    /// The acting player (decision nodes).
    pub player: u32,
    /// The information set (decision nodes).
    pub infoset: u32,
    /// Index of the first child in `GameTree::children`.
    pub first_child: u32,
    /// Number of children.
    pub num_children: u32,
    /// Offset of the returns in `GameTree::returns` (terminal nodes).
    pub data: u32,
}

/// An information set: who acts, its key, its actions and the nodes in it.
#[derive(Debug, Clone)]
pub struct Infoset {
    /// The acting player.
    pub player: usize,
    /// `State::information_state_key(player)`.
    pub key: u64,
    /// Legal actions (the order of every member node's children).
    pub actions: Vec<Action>,
    /// Decision nodes in this information set.
    pub nodes: Vec<u32>,
}

/// A fully expanded game tree. Node 0 is the root; children of a node are contiguous.
#[derive(Debug, Clone)]
pub struct GameTree<S: State> {
    /// Players.
    pub num_players: usize,
    /// All nodes.
    pub nodes: Vec<TreeNode>,
    /// Child node indices.
    pub children: Vec<u32>,
    /// Probability of each child edge (chance nodes; 1 elsewhere).
    pub edge_prob: Vec<f64>,
    /// Terminal returns, `num_players` per terminal.
    pub returns: Vec<f64>,
    /// Information sets.
    pub infosets: Vec<Infoset>,
    /// The state at every decision node (`None` elsewhere), for querying black-box policies.
    pub states: Vec<Option<S>>,
}

impl<S: State> GameTree<S> {
    /// Walks the whole tree of `game` from its initial state. Fails if it has more than
    /// `max_nodes` nodes, or if two states of one information set offer different actions.
    pub fn build<G: Game<State = S>>(game: &G, max_nodes: usize) -> Result<Self, String> {
        let mut tree = GameTree {
            num_players: game.num_players(),
            nodes: Vec::new(),
            children: Vec::new(),
            edge_prob: Vec::new(),
            returns: Vec::new(),
            infosets: Vec::new(),
            states: Vec::new(),
        };
        let mut index: HashMap<(usize, u64), u32> = HashMap::new();
        let root = game.new_initial_state(&mut SimRng::new(0));
        tree.add(root, &mut index, max_nodes)?;
        Ok(tree)
    }

    fn add(&mut self, state: S, index: &mut HashMap<(usize, u64), u32>, max_nodes: usize) -> Result<u32, String> {
        if self.nodes.len() >= max_nodes {
            return Err(format!(
                "the game tree has more than {max_nodes} nodes; use a sampling solver"
            ));
        }
        let id = self.nodes.len() as u32;
        let turn = state.turn();
        let mut node = TreeNode {
            kind: NodeKind::Terminal,
            player: 0,
            infoset: 0,
            first_child: 0,
            num_children: 0,
            data: 0,
        };
        let edges: Vec<(Action, f64)> = match turn {
            Turn::Terminal => {
                node.data = self.returns.len() as u32;
                let r = state.returns();
                self.returns
                    .extend((0..self.num_players).map(|p| r.get(p).copied().unwrap_or(0.0)));
                Vec::new()
            }
            Turn::Chance => {
                node.kind = NodeKind::Chance;
                state.chance_outcomes()
            }
            Turn::Player(p) => {
                node.kind = NodeKind::Decision;
                node.player = p as u32;
                let legal = state.legal_actions();
                let key = state.information_state_key(p);
                let next = self.infosets.len() as u32;
                let infoset = *index.entry((p, key)).or_insert(next);
                if infoset == next {
                    self.infosets.push(Infoset {
                        player: p,
                        key,
                        actions: legal.clone(),
                        nodes: Vec::new(),
                    });
                } else if self.infosets[infoset as usize].actions != legal {
                    return Err(format!(
                        "information set {key:#x} of player {p} offers different actions in different states"
                    ));
                }
                self.infosets[infoset as usize].nodes.push(id);
                node.infoset = infoset;
                legal.into_iter().map(|a| (a, 1.0)).collect()
            }
        };
        node.first_child = self.children.len() as u32;
        node.num_children = edges.len() as u32;
        self.nodes.push(node);
        self.states.push(if node.kind == NodeKind::Decision {
            Some(state.clone())
        } else {
            None
        });
        let first = self.children.len();
        self.children.extend(std::iter::repeat_n(0, edges.len()));
        self.edge_prob.extend(edges.iter().map(|(_, p)| *p));
        for (i, (action, _)) in edges.into_iter().enumerate() {
            let mut child = state.clone();
            child.apply_action(action);
            let c = self.add(child, index, max_nodes)?;
            self.children[first + i] = c;
        }
        Ok(id)
    }

    /// Children of node `n`.
    #[inline]
    pub fn children_of(&self, n: u32) -> &[u32] {
        let node = &self.nodes[n as usize];
        &self.children[node.first_child as usize..(node.first_child + node.num_children) as usize]
    }

    /// Returns at terminal node `n`.
    #[inline]
    pub fn returns_of(&self, n: u32) -> &[f64] {
        let at = self.nodes[n as usize].data as usize;
        &self.returns[at..at + self.num_players]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::kuhn_poker::KuhnPoker;
    use crate::games::leduc_poker::LeducPoker;

    #[test]
    fn sizes_match_the_known_counts() {
        let kuhn = GameTree::build(&KuhnPoker::new(2), 1_000).unwrap();
        assert_eq!((kuhn.nodes.len(), kuhn.infosets.len()), (58, 12));
        let leduc = GameTree::build(&LeducPoker::new(2), 100_000).unwrap();
        assert_eq!((leduc.nodes.len(), leduc.infosets.len()), (9457, 936));
        assert!(GameTree::build(&LeducPoker::new(2), 100).is_err());
    }
}
