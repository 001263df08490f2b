//! Monte Carlo tree search with UCT for perfect-information games (it searches the true
//! state, so it must not be used where players hide information: use ISMCTS there).
//! Chance nodes are sampled; leaves are expanded fully and valued by an `Evaluator`
//! (random rollouts by default). The subtree under the move actually played is kept for the
//! next decision when the new position is found in it.

use std::collections::VecDeque;
use std::time::Instant;

use super::{Budget, Evaluator, sample_chance};
use crate::core::game::{Action, Game, State, Turn};
use crate::core::policy::{Policy, SearchStats};
use crate::core::rng::SimRng;

/// MCTS settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MctsConfig {
    /// Per-decision budget.
    pub budget: Budget,
    /// UCT exploration constant (on values scaled to [-1, 1]).
    pub exploration: f64,
    /// Keep the subtree of the move played for the next decision.
    pub reuse_tree: bool,
}

impl Default for MctsConfig {
    fn default() -> Self {
        MctsConfig {
            budget: Budget::simulations(1000),
            exploration: 2.0,
            reuse_tree: true,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    /// Action from the parent.
    action: Action,
    /// Player who chose `action` (values are from this player's point of view).
    player: usize,
    visits: u32,
    total: f64,
    children: Vec<u32>,
    expanded: bool,
    /// Key of the state at this node (set when first visited).
    key: Option<u64>,
}

impl Node {
    fn new(action: Action, player: usize) -> Self {
        Node {
            action,
            player,
            visits: 0,
            total: 0.0,
            children: Vec::new(),
            expanded: false,
            key: None,
        }
    }
}

/// An MCTS player.
pub struct Mcts<G: Game, E: Evaluator<G>> {
    config: MctsConfig,
    evaluator: E,
    scale: f64,
    nodes: Vec<Node>,
    root: u32,
    last: Option<SearchStats>,
    _game: std::marker::PhantomData<fn() -> G>,
}

impl<G: Game, E: Evaluator<G>> Mcts<G, E> {
    /// A searcher for `game` (its `max_utility` scales values into [-1, 1]).
    pub fn new(game: &G, config: MctsConfig, evaluator: E) -> Self {
        Mcts {
            config,
            evaluator,
            scale: game.max_utility().max(f64::MIN_POSITIVE),
            nodes: Vec::new(),
            root: 0,
            last: None,
            _game: std::marker::PhantomData,
        }
    }

    /// Finds `key` within a few plies below the current root (the opponents' replies to the
    /// move we played) and makes it the root, dropping everything else.
    fn reroot(&mut self, key: u64) -> bool {
        if self.nodes.is_empty() {
            return false;
        }
        let mut queue = VecDeque::from([(self.root, 0u32)]);
        while let Some((i, depth)) = queue.pop_front() {
            if self.nodes[i as usize].key == Some(key) && self.nodes[i as usize].visits > 0 {
                self.compact(i);
                return true;
            }
            if depth < 4 {
                queue.extend(self.nodes[i as usize].children.iter().map(|c| (*c, depth + 1)));
            }
        }
        false
    }

    fn compact(&mut self, new_root: u32) {
        let mut kept = Vec::with_capacity(self.nodes.len() / 2);
        let mut stack = vec![(new_root, None::<usize>)];
        while let Some((old, parent)) = stack.pop() {
            let idx = kept.len();
            let mut node = self.nodes[old as usize].clone();
            let children = std::mem::take(&mut node.children);
            kept.push(node);
            if let Some(p) = parent {
                kept[p].children.push(idx as u32);
            }
            for c in children.into_iter().rev() {
                stack.push((c, Some(idx)));
            }
        }
        self.nodes = kept;
        self.root = 0;
    }

    /// Runs the search from `state` for `player` and returns the chosen action.
    pub fn search(&mut self, state: &G::State, player: usize, rng: &mut SimRng) -> Action {
        let key = state.information_state_key(player);
        if !(self.config.reuse_tree && self.reroot(key)) {
            self.nodes.clear();
            self.nodes.push(Node::new(0, player));
            self.root = 0;
        }
        let started = Instant::now();
        let mut done = 0u64;
        let mut path: Vec<u32> = Vec::with_capacity(64);
        while self.config.budget.allows(done, started) {
            self.simulate(state, rng, &mut path);
            done += 1;
        }
        let root = &self.nodes[self.root as usize];
        let best = root
            .children
            .iter()
            .map(|c| &self.nodes[*c as usize])
            .max_by(|a, b| a.visits.cmp(&b.visits).then(b.action.cmp(&a.action)))
            .expect("a decision has legal actions");
        // The root value is the chosen move's mean return: the search's forecast of its outcome.
        self.last = Some(SearchStats {
            simulations: done,
            root_value: if best.visits == 0 {
                0.0
            } else {
                best.total / f64::from(best.visits) * self.scale
            },
            tree_nodes: self.nodes.len() as u64,
            win_probability: None,
        });
        best.action
    }

    /// UCT selection at an expanded node: an unvisited child if any (chosen at random),
    /// else the child with the best UCB1 score (each score computed once).
    fn select(&self, node: u32, rng: &mut SimRng) -> u32 {
        let children = &self.nodes[node as usize].children;
        let unvisited = children.iter().filter(|i| self.nodes[**i as usize].visits == 0).count();
        if unvisited > 0 {
            let pick = rng.below(unvisited);
            return *children
                .iter()
                .filter(|i| self.nodes[**i as usize].visits == 0)
                .nth(pick)
                .expect("counted");
        }
        let log_parent = f64::from(self.nodes[node as usize].visits.max(1)).ln();
        let c = self.config.exploration;
        let mut best = (f64::NEG_INFINITY, children[0]);
        for &i in children {
            let n = &self.nodes[i as usize];
            let visits = f64::from(n.visits);
            let score = n.total / visits + c * (log_parent / visits).sqrt();
            if score > best.0 {
                best = (score, i);
            }
        }
        best.1
    }

    fn simulate(&mut self, root_state: &G::State, rng: &mut SimRng, path: &mut Vec<u32>) {
        let mut state = root_state.clone();
        let mut node = self.root;
        path.clear();
        path.push(node);
        loop {
            if self.nodes[node as usize].key.is_none() {
                self.nodes[node as usize].key = Some(state.information_state_key(0));
            }
            match state.turn() {
                Turn::Terminal => break,
                Turn::Chance => {
                    let outcome = sample_chance(&state, rng);
                    state.apply_action(outcome);
                    let existing = self.nodes[node as usize]
                        .children
                        .iter()
                        .copied()
                        .find(|c| self.nodes[*c as usize].action == outcome);
                    node = match existing {
                        Some(c) => c,
                        None => {
                            let idx = self.nodes.len() as u32;
                            self.nodes.push(Node::new(outcome, usize::MAX));
                            self.nodes[node as usize].children.push(idx);
                            idx
                        }
                    };
                    path.push(node);
                }
                Turn::Player(p) => {
                    if !self.nodes[node as usize].expanded {
                        for a in state.legal_actions() {
                            let idx = self.nodes.len() as u32;
                            self.nodes.push(Node::new(a, p));
                            self.nodes[node as usize].children.push(idx);
                        }
                        self.nodes[node as usize].expanded = true;
                        break;
                    }
                    let next = self.select(node, rng);
                    state.apply_action(self.nodes[next as usize].action);
                    node = next;
                    path.push(node);
                }
            }
        }
        let values = if state.is_terminal() {
            state.returns()
        } else {
            self.evaluator.evaluate(&state, rng)
        };
        for i in path.iter() {
            let n = &mut self.nodes[*i as usize];
            n.visits += 1;
            if n.player < values.len() {
                n.total += values[n.player] / self.scale;
            }
        }
    }
}

impl<G: Game, E: Evaluator<G>> Policy<G> for Mcts<G, E> {
    fn act(&mut self, state: &G::State, player: usize, rng: &mut SimRng) -> Action {
        self.search(state, player, rng)
    }

    fn last_search(&self) -> Option<SearchStats> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::connect_four::{ConnectFour, ConnectFourState};
    use crate::games::tic_tac_toe::{TicTacToe, TicTacToeState};
    use crate::search::RandomRollout;

    fn mcts(sims: u64) -> Mcts<TicTacToe, RandomRollout> {
        let config = MctsConfig {
            budget: Budget::simulations(sims),
            ..MctsConfig::default()
        };
        Mcts::new(&TicTacToe, config, RandomRollout::default())
    }

    /// Exact minimax value for the player to move (+1 win, 0 draw, -1 loss).
    fn minimax(s: &TicTacToeState) -> i32 {
        match s.turn() {
            Turn::Terminal => {
                // The player to move at a terminal state is the one who did not just win.
                let mover = s.moves() as usize % 2;
                s.returns()[mover] as i32
            }
            _ => s
                .legal_actions()
                .into_iter()
                .map(|a| {
                    let mut c = s.clone();
                    c.apply_action(a);
                    -minimax(&c)
                })
                .max()
                .expect("moves exist"),
        }
    }

    #[test]
    fn finds_forced_wins_and_blocks() {
        // x wins at once with cell 2; o must block x's column at cell 6.
        let win = TicTacToeState::from_board("xx. oo. ...");
        assert_eq!(mcts(2000).search(&win, 0, &mut SimRng::new(1)), 2);
        let block = TicTacToeState::from_board("x.. xo. ...");
        assert_eq!(mcts(4000).search(&block, 1, &mut SimRng::new(2)), 6);
        // Forced wins with no immediate win and exactly one winning move (found by brute
        // force over all positions): the search must find that move.
        let positions = ["... ..o ox x", "... o.x ox.", "... oox x..", "... x.. oxo"];
        for (i, text) in positions.iter().enumerate() {
            let s = TicTacToeState::from_board(text);
            let Turn::Player(p) = s.turn() else {
                panic!("{text} is over")
            };
            assert_eq!(minimax(&s), 1, "{text}: the side to move has a forced win");
            let a = mcts(20_000).search(&s, p, &mut SimRng::new(10 + i as u64));
            let winning: Vec<Action> = s
                .legal_actions()
                .into_iter()
                .filter(|m| {
                    let mut c = s.clone();
                    c.apply_action(*m);
                    -minimax(&c) == 1
                })
                .collect();
            assert_eq!(winning.len(), 1, "{text}: one winning move");
            let mut after = s.clone();
            after.apply_action(a);
            assert_eq!(
                -minimax(&after),
                1,
                "{text}: MCTS played {a}, which throws the win away"
            );
        }
    }

    #[test]
    fn connect_four_takes_the_immediate_win() {
        // x has three in column 0's bottom row run 0,1,2: playing column 3 wins.
        let s = ConnectFourState::from_moves(&[0, 0, 1, 1, 2, 2]);
        let config = MctsConfig {
            budget: Budget::simulations(3000),
            ..MctsConfig::default()
        };
        let mut m = Mcts::new(&ConnectFour, config, RandomRollout::default());
        assert_eq!(m.search(&s, 0, &mut SimRng::new(4)), 3);
        assert!(m.last_search().unwrap().root_value > 0.5);
    }

    #[test]
    fn same_seed_same_decisions_and_the_tree_is_reused() {
        let s = TicTacToeState::new();
        let a = mcts(500).search(&s, 0, &mut SimRng::new(9));
        let b = mcts(500).search(&s, 0, &mut SimRng::new(9));
        assert_eq!(a, b);
        let mut m = mcts(500);
        let mut state = TicTacToeState::new();
        let mut rng = SimRng::new(5);
        let first = m.search(&state, 0, &mut rng);
        state.apply_action(first);
        let reply = state.legal_actions()[0];
        state.apply_action(reply);
        let nodes_before = m.nodes.len();
        m.search(&state, 0, &mut rng);
        assert!(
            m.nodes[m.root as usize].visits > 500,
            "the reused subtree keeps its visits ({nodes_before} nodes before)"
        );
    }

    #[test]
    fn mcts_beats_random_at_tic_tac_toe() {
        let mut rng = SimRng::new(11);
        let mut score = 0.0;
        for game in 0..20 {
            let mut m = mcts(300);
            let me = game % 2;
            let mut s = TicTacToeState::new();
            while let Turn::Player(p) = s.turn() {
                let a = if p == me {
                    m.search(&s, p, &mut rng)
                } else {
                    let legal = s.legal_actions();
                    legal[rng.below(legal.len())]
                };
                s.apply_action(a);
            }
            score += s.returns()[me];
        }
        assert!(score >= 14.0, "score {score} over 20 games");
    }
}
