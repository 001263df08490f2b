//! Single-observer information-set MCTS (Cowling, Powley & Whitehouse 2012) for games
//! that can resample hidden information. Each iteration draws a determinisation consistent
//! with the searching player's information (`Resample`), walks one shared tree of actions
//! (UCB over the children available in that determinisation, with availability counts),
//! expands one node, plays a rollout (random, or any policy) and backs up the real returns,
//! each node valued
//! from the view of the player who acted there. The tree is rebuilt for every decision, so
//! nothing carries over between decisions or rounds, and no iteration sees the true hidden
//! state: only `resample` of it.

use std::time::Instant;

use super::{Budget, Evaluator, RandomRollout, sample_chance};
use crate::core::game::{Action, Game, Resample, State, Turn};
use crate::core::policy::{Policy, SearchStats};
use crate::core::rng::SimRng;

/// ISMCTS settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsmctsConfig {
    /// Per-decision budget (iterations and/or time).
    pub budget: Budget,
    /// UCB exploration constant on values scaled to [-1, 1] (0.7 in the paper).
    pub exploration: f64,
}

impl Default for IsmctsConfig {
    fn default() -> Self {
        IsmctsConfig {
            budget: Budget::simulations(1000),
            exploration: 0.7,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    action: Action,
    /// The player who chose `action`.
    player: usize,
    visits: u32,
    /// Times this node was available for selection at its parent.
    available: u32,
    total: f64,
    children: Vec<u32>,
}

/// An ISMCTS player.
pub struct Ismcts<G: Game> {
    config: IsmctsConfig,
    rollout: Box<dyn Evaluator<G>>,
    /// Largest absolute return seen in the current search: values are divided by it, so the
    /// exploration constant means the same whatever the game's units.
    scale: f64,
    nodes: Vec<Node>,
    legal: Vec<Action>,
    untried: Vec<Action>,
    last: Option<SearchStats>,
    _game: std::marker::PhantomData<fn() -> G>,
}

impl<G: Game> Ismcts<G>
where
    G::State: Resample,
{
    /// A searcher for `game` with random rollouts (its `max_utility` scales returns into
    /// [-1, 1]).
    pub fn new(game: &G, config: IsmctsConfig) -> Self {
        Self::with_rollout(game, config, Box::new(RandomRollout::default()))
    }

    /// A searcher whose leaves are valued by `rollout` (e.g. a `PolicyRollout`).
    pub fn with_rollout(_game: &G, config: IsmctsConfig, rollout: Box<dyn Evaluator<G>>) -> Self {
        Ismcts {
            config,
            rollout,
            scale: 1.0,
            nodes: Vec::new(),
            legal: Vec::new(),
            untried: Vec::new(),
            last: None,
            _game: std::marker::PhantomData,
        }
    }

    /// Visit counts of the root's children after the last search, by action.
    pub fn root_visits(&self) -> Vec<(Action, u32)> {
        match self.nodes.first() {
            Some(root) => root
                .children
                .iter()
                .map(|c| (self.nodes[*c as usize].action, self.nodes[*c as usize].visits))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Searches `state` from `player`'s point of view and returns the chosen action.
    pub fn search(&mut self, state: &G::State, player: usize, rng: &mut SimRng) -> Action {
        self.scale = f64::MIN_POSITIVE;
        self.nodes.clear();
        self.nodes.push(Node {
            action: 0,
            player,
            visits: 0,
            available: 0,
            total: 0.0,
            children: Vec::new(),
        });
        let started = Instant::now();
        let mut done = 0u64;
        let mut path = Vec::with_capacity(64);
        while self.config.budget.allows(done, started) {
            let determinisation = state.resample(player, rng);
            self.iterate(determinisation, rng, &mut path);
            done += 1;
        }
        let legal = state.legal_actions();
        let root = &self.nodes[0];
        let best = root
            .children
            .iter()
            .map(|c| &self.nodes[*c as usize])
            .filter(|n| legal.contains(&n.action))
            .max_by(|a, b| a.visits.cmp(&b.visits).then(b.action.cmp(&a.action)));
        // The root value is the chosen move's mean return: the search's forecast of its outcome.
        self.last = Some(SearchStats {
            simulations: done,
            root_value: best.map_or(0.0, |n| n.total / f64::from(n.visits.max(1))),
            tree_nodes: self.nodes.len() as u64,
            win_probability: None,
        });
        best.map_or(legal[0], |n| n.action)
    }

    fn iterate(&mut self, mut state: G::State, rng: &mut SimRng, path: &mut Vec<u32>) {
        // Scratch buffers reused across iterations (no allocation per tree step).
        let mut legal = std::mem::take(&mut self.legal);
        let mut untried = std::mem::take(&mut self.untried);
        let mut node = 0u32;
        path.clear();
        path.push(0);
        loop {
            match state.turn() {
                Turn::Terminal => break,
                Turn::Chance => state.apply_action(sample_chance(&state, rng)),
                Turn::Player(p) => {
                    state.legal_actions_into(&mut legal);
                    untried.clear();
                    let children = &self.nodes[node as usize].children;
                    untried.extend(
                        legal
                            .iter()
                            .copied()
                            .filter(|a| !children.iter().any(|c| self.nodes[*c as usize].action == *a)),
                    );
                    // Every legal child existing now is available this iteration.
                    for k in 0..self.nodes[node as usize].children.len() {
                        let c = self.nodes[node as usize].children[k] as usize;
                        if legal.contains(&self.nodes[c].action) {
                            self.nodes[c].available += 1;
                        }
                    }
                    if !untried.is_empty() {
                        let action = untried[rng.below(untried.len())];
                        let idx = self.nodes.len() as u32;
                        self.nodes.push(Node {
                            action,
                            player: p,
                            visits: 0,
                            available: 1,
                            total: 0.0,
                            children: Vec::new(),
                        });
                        self.nodes[node as usize].children.push(idx);
                        state.apply_action(action);
                        path.push(idx);
                        break;
                    }
                    let c = self.config.exploration;
                    let scale = self.scale;
                    let mut best: Option<(f64, u32)> = None;
                    for &i in &self.nodes[node as usize].children {
                        let n = &self.nodes[i as usize];
                        if legal.contains(&n.action) {
                            let s = score(n, c, scale);
                            if best.is_none_or(|(b, _)| s > b) {
                                best = Some((s, i));
                            }
                        }
                    }
                    let next = best.expect("every legal action has a child").1;
                    state.apply_action(self.nodes[next as usize].action);
                    node = next;
                    path.push(node);
                }
            }
        }
        self.legal = legal;
        self.untried = untried;
        let returns = if state.is_terminal() {
            state.returns()
        } else {
            self.rollout.evaluate_owned(state, rng)
        };
        for r in &returns {
            self.scale = self.scale.max(r.abs());
        }
        for i in path.iter() {
            let n = &mut self.nodes[*i as usize];
            n.visits += 1;
            if let Some(r) = returns.get(n.player) {
                n.total += r;
            }
        }
    }
}

/// UCB with availability counts, on mean returns divided by `scale`.
fn score(n: &Node, c: f64, scale: f64) -> f64 {
    let visits = f64::from(n.visits.max(1));
    n.total / visits / scale + c * (f64::from(n.available.max(1)).ln() / visits).sqrt()
}

impl<G: Game> Policy<G> for Ismcts<G>
where
    G::State: Resample,
{
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
    use crate::games::dhumbal::cards::{CALL, NO_CALL, parse_card};
    use crate::games::dhumbal::{Dhumbal, DhumbalRules, DhumbalState, MAX_PLAYERS};
    use crate::games::kuhn_poker::{BET, KuhnPoker, PASS};

    fn set(names: &[&str]) -> u64 {
        names.iter().fold(0, |m, n| m | (1u64 << parse_card(n).unwrap()))
    }

    fn searcher(iterations: u64) -> Ismcts<Dhumbal> {
        let config = IsmctsConfig {
            budget: Budget::simulations(iterations),
            ..IsmctsConfig::default()
        };
        Ismcts::new(&Dhumbal::new(DhumbalRules::paper(), 3), config)
    }

    /// Player 0 holds `mine`; opponents' hands and the stock are the given hidden cards.
    fn position(mine: &[&str], opp1: &[&str], opp2: &[&str], stock_seed: u64) -> DhumbalState {
        let mut hands = [0u64; MAX_PLAYERS];
        hands[0] = set(mine);
        hands[1] = set(opp1);
        hands[2] = set(opp2);
        let used = hands.iter().fold(0, |m, h| m | h) | set(&["9D"]);
        let mut stock: Vec<u8> = (0..52).filter(|c| used & (1u64 << c) == 0).collect();
        SimRng::new(stock_seed).shuffle(&mut stock);
        DhumbalState::from_parts(
            DhumbalRules::paper(),
            hands,
            stock,
            vec![parse_card("9D").unwrap()],
            0,
            &[10_000; 3],
            stock_seed,
        )
    }

    #[test]
    fn never_peeks_at_hidden_cards() {
        // Same view for player 0; opponents' hands swapped and the stock reshuffled.
        let a = position(
            &["AC", "2C", "3D"],
            &["KC", "KD", "QC", "QD", "JC"],
            &["2H", "3H", "AH", "4S", "5S"],
            1,
        );
        let b = position(
            &["AC", "2C", "3D"],
            &["2H", "3H", "AH", "4S", "5S"],
            &["KC", "KD", "QC", "QD", "JC"],
            2,
        );
        assert_eq!(a.information_state_key(0), b.information_state_key(0));
        let mut sa = searcher(400);
        let mut sb = searcher(400);
        let da = sa.search(&a, 0, &mut SimRng::new(7));
        let db = sb.search(&b, 0, &mut SimRng::new(7));
        assert_eq!(da, db);
        assert_eq!(sa.root_visits(), sb.root_visits(), "identical decision distributions");
    }

    #[test]
    fn calls_a_sure_win_and_avoids_a_sure_loss() {
        // Value 3 against five-card hands: calling is strictly lowest whatever they hold.
        let s = position(
            &["AC", "2C"],
            &["KC", "KD", "QC", "QD", "JC"],
            &["10H", "9H", "8H", "7S", "6S"],
            3,
        );
        assert_eq!(searcher(600).search(&s, 0, &mut SimRng::new(1)), CALL);
        // Value 10 when an opponent shows (publicly known) A+2: calling would fail.
        let mut known = position(&["4C", "6C"], &["AD", "2D"], &["10H", "9H", "8H", "7S", "6S"], 4);
        // Make the opponent's low cards public by construction: known cards come from pick-ups.
        known = known_by_pickup(known);
        assert_eq!(known.phase(), crate::games::dhumbal::Phase::Call);
        assert_eq!(searcher(600).search(&known, 0, &mut SimRng::new(2)), NO_CALL);
    }

    /// Marks player 1's hand as publicly known (as if picked up from the pile).
    fn known_by_pickup(s: DhumbalState) -> DhumbalState {
        let hand = s.hand(1);
        s.with_known_cards(1, hand)
    }

    #[test]
    fn kuhn_ismcts_calls_with_the_king_and_folds_the_jack() {
        let game = KuhnPoker::new(2);
        let config = IsmctsConfig {
            budget: Budget::simulations(3000),
            ..IsmctsConfig::default()
        };
        let mut m = Ismcts::new(&game, config);
        // Player 0 holds the king, checked, and faces a bet: calling wins 2, folding loses 1.
        let mut s = game.new_initial_state(&mut SimRng::new(0));
        for a in [2, 0, PASS, BET] {
            s.apply_action(a);
        }
        assert_eq!(m.search(&s, 0, &mut SimRng::new(3)), BET, "the king calls");
        // Player 1 holds the jack and faces a bet: calling loses 2, folding loses 1.
        let mut t = game.new_initial_state(&mut SimRng::new(0));
        for a in [2, 0, BET] {
            t.apply_action(a);
        }
        assert_eq!(m.search(&t, 1, &mut SimRng::new(4)), PASS, "the jack folds");
        let value = m.last_search().unwrap().root_value;
        assert!((value + 1.0).abs() < 0.2, "folding's value is about -1, got {value}");
    }

    #[test]
    fn deterministic_per_seed() {
        let a = position(
            &["AC", "2C", "3D", "9S", "KS"],
            &["KC", "KD", "QC", "QD", "JC"],
            &["2H", "3H", "AH", "4S", "5S"],
            1,
        );
        let x = searcher(300).search(&a, 0, &mut SimRng::new(5));
        let y = searcher(300).search(&a, 0, &mut SimRng::new(5));
        assert_eq!(x, y);
    }
}
