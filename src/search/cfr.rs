//! Counterfactual regret minimisation. `Cfr` runs vanilla CFR (simultaneous updates) or
//! CFR+ (regret matching+, alternating updates, linear averaging) over a precomputed
//! `GameTree`; `ExternalSamplingMccfr` samples chance and opponents' actions on live states
//! for games too big to walk. Both produce an average policy, itself a `Policy`.

use std::collections::HashMap;

use super::tabular::TabularPolicy;
use super::tree::{GameTree, NodeKind};
use crate::core::game::{Action, Game, State, Turn};
use crate::core::rng::SimRng;

/// Most players the tree solvers handle.
pub const MAX_PLAYERS: usize = 8;

/// Which CFR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CfrVariant {
    /// Vanilla CFR: regret matching, simultaneous updates, uniform averaging.
    Cfr,
    /// CFR+: regret matching+, alternating updates, linear averaging.
    CfrPlus,
}

/// Regret matching: positive regrets normalised, uniform when none is positive.
fn regret_matching(regrets: &[f64], out: &mut [f64]) {
    let positive: f64 = regrets.iter().map(|r| r.max(0.0)).sum();
    if positive > 0.0 {
        for (o, r) in out.iter_mut().zip(regrets) {
            *o = r.max(0.0) / positive;
        }
    } else {
        out.fill(1.0 / regrets.len() as f64);
    }
}

/// Tabular CFR over a full game tree.
pub struct Cfr<S: State> {
    tree: GameTree<S>,
    variant: CfrVariant,
    /// Offset of each information set's actions in the flat arrays.
    offsets: Vec<usize>,
    regrets: Vec<f64>,
    delta: Vec<f64>,
    strategy_sum: Vec<f64>,
    iteration: u64,
}

impl<S: State> Cfr<S> {
    /// A solver for `tree`.
    pub fn new(tree: GameTree<S>, variant: CfrVariant) -> Result<Self, String> {
        if tree.num_players > MAX_PLAYERS {
            return Err(format!("CFR here supports up to {MAX_PLAYERS} players"));
        }
        let mut offsets = Vec::with_capacity(tree.infosets.len());
        let mut total = 0;
        for info in &tree.infosets {
            offsets.push(total);
            total += info.actions.len();
        }
        Ok(Cfr {
            tree,
            variant,
            offsets,
            regrets: vec![0.0; total],
            delta: vec![0.0; total],
            strategy_sum: vec![0.0; total],
            iteration: 0,
        })
    }

    /// Iterations run so far.
    pub fn iterations(&self) -> u64 {
        self.iteration
    }

    /// The tree being solved.
    pub fn tree(&self) -> &GameTree<S> {
        &self.tree
    }

    /// Runs one iteration.
    pub fn iterate(&mut self) {
        self.iteration += 1;
        let n = self.tree.num_players;
        match self.variant {
            CfrVariant::Cfr => {
                self.delta.fill(0.0);
                let mut reach = [1.0; MAX_PLAYERS];
                self.walk(0, &mut reach, 1.0, None, 1.0);
                for (r, d) in self.regrets.iter_mut().zip(&self.delta) {
                    *r += d;
                }
            }
            CfrVariant::CfrPlus => {
                let weight = self.iteration as f64;
                for player in 0..n {
                    self.delta.fill(0.0);
                    let mut reach = [1.0; MAX_PLAYERS];
                    self.walk(0, &mut reach, 1.0, Some(player), weight);
                    for (r, d) in self.regrets.iter_mut().zip(&self.delta) {
                        *r = (*r + d).max(0.0);
                    }
                }
            }
        }
    }

    /// Returns each player's expected value at `node` under the current strategy, and
    /// accumulates regret deltas and average-strategy sums for `update` (all if `None`).
    fn walk(
        &mut self,
        node: u32,
        reach: &mut [f64; MAX_PLAYERS],
        chance: f64,
        update: Option<usize>,
        weight: f64,
    ) -> [f64; MAX_PLAYERS] {
        let n = self.tree.num_players;
        let info = self.tree.nodes[node as usize];
        let mut value = [0.0; MAX_PLAYERS];
        match info.kind {
            NodeKind::Terminal => {
                value[..n].copy_from_slice(self.tree.returns_of(node));
            }
            NodeKind::Chance => {
                for i in 0..info.num_children as usize {
                    let edge = info.first_child as usize + i;
                    let (child, p) = (self.tree.children[edge], self.tree.edge_prob[edge]);
                    let v = self.walk(child, reach, chance * p, update, weight);
                    for q in 0..n {
                        value[q] += p * v[q];
                    }
                }
            }
            NodeKind::Decision => {
                let player = info.player as usize;
                let k = info.num_children as usize;
                let offset = self.offsets[info.infoset as usize];
                // Nodes of up to 16 actions (nearly all) keep their scratch on the stack.
                let (mut sigma_stack, mut sigma_heap) = ([0.0; 16], Vec::new());
                let (mut values_stack, mut values_heap) = ([[0.0; MAX_PLAYERS]; 16], Vec::new());
                let (sigma, child_values): (&mut [f64], &mut [[f64; MAX_PLAYERS]]) = if k <= 16 {
                    (&mut sigma_stack[..k], &mut values_stack[..k])
                } else {
                    sigma_heap.resize(k, 0.0);
                    values_heap.resize(k, [0.0; MAX_PLAYERS]);
                    (&mut sigma_heap, &mut values_heap)
                };
                regret_matching(&self.regrets[offset..offset + k], sigma);
                let own = reach[player];
                for a in 0..k {
                    let child = self.tree.children[info.first_child as usize + a];
                    reach[player] = own * sigma[a];
                    child_values[a] = self.walk(child, reach, chance, update, weight);
                    for q in 0..n {
                        value[q] += sigma[a] * child_values[a][q];
                    }
                }
                reach[player] = own;
                if update.is_none_or(|u| u == player) {
                    let others: f64 = chance * (0..n).filter(|q| *q != player).map(|q| reach[q]).product::<f64>();
                    for a in 0..k {
                        self.delta[offset + a] += others * (child_values[a][player] - value[player]);
                        self.strategy_sum[offset + a] += weight * own * sigma[a];
                    }
                }
            }
        }
        value
    }

    /// The average policy so far.
    pub fn average_policy(&self) -> TabularPolicy {
        let mut policy = TabularPolicy::new();
        for (i, info) in self.tree.infosets.iter().enumerate() {
            let k = info.actions.len();
            let sums = &self.strategy_sum[self.offsets[i]..self.offsets[i] + k];
            let total: f64 = sums.iter().sum();
            let probs = info
                .actions
                .iter()
                .zip(sums)
                .map(|(a, s)| (*a, if total > 0.0 { s / total } else { 1.0 / k as f64 }))
                .collect();
            policy.insert(info.player, info.key, probs);
        }
        policy
    }

    /// The average policy's probabilities per decision node (for best responses).
    pub fn average_profile(&self) -> Vec<Vec<f64>> {
        let avg = self.average_policy();
        self.tree
            .nodes
            .iter()
            .map(|node| match node.kind {
                NodeKind::Decision => {
                    let info = &self.tree.infosets[node.infoset as usize];
                    avg.get(info.player, info.key)
                        .map(|p| p.iter().map(|(_, x)| *x).collect())
                        .unwrap_or_default()
                }
                _ => Vec::new(),
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
struct SampledInfo {
    actions: Vec<Action>,
    regrets: Vec<f64>,
    strategy_sum: Vec<f64>,
}

/// External-sampling Monte Carlo CFR on live states: one traversal per player per
/// iteration, sampling chance and the other players' actions, enumerating the traverser's.
pub struct ExternalSamplingMccfr<G: Game> {
    game: G,
    table: HashMap<(usize, u64), SampledInfo>,
    iteration: u64,
}

impl<G: Game> ExternalSamplingMccfr<G> {
    /// A solver for `game`.
    pub fn new(game: G) -> Self {
        ExternalSamplingMccfr {
            game,
            table: HashMap::new(),
            iteration: 0,
        }
    }

    /// Iterations run so far.
    pub fn iterations(&self) -> u64 {
        self.iteration
    }

    /// Runs one iteration (a traversal for every player).
    pub fn iterate(&mut self, rng: &mut SimRng) {
        self.iteration += 1;
        for player in 0..self.game.num_players() {
            let state = self.game.new_initial_state(rng);
            self.traverse(state, player, rng);
        }
    }

    fn strategy(&mut self, state: &G::State, player: usize) -> (&mut SampledInfo, Vec<f64>) {
        let key = state.information_state_key(player);
        let info = self.table.entry((player, key)).or_insert_with(|| {
            let actions = state.legal_actions();
            let k = actions.len();
            SampledInfo {
                actions,
                regrets: vec![0.0; k],
                strategy_sum: vec![0.0; k],
            }
        });
        let mut sigma = vec![0.0; info.actions.len()];
        regret_matching(&info.regrets, &mut sigma);
        (info, sigma)
    }

    fn traverse(&mut self, mut state: G::State, traverser: usize, rng: &mut SimRng) -> f64 {
        match state.turn() {
            Turn::Terminal => state.returns().get(traverser).copied().unwrap_or(0.0),
            Turn::Chance => {
                state.apply_action(super::sample_chance(&state, rng));
                self.traverse(state, traverser, rng)
            }
            Turn::Player(p) if p == traverser => {
                let (info, sigma) = self.strategy(&state, p);
                let actions = info.actions.clone();
                let mut values = Vec::with_capacity(actions.len());
                for a in &actions {
                    let mut child = state.clone();
                    child.apply_action(*a);
                    values.push(self.traverse(child, traverser, rng));
                }
                let v: f64 = sigma.iter().zip(&values).map(|(s, x)| s * x).sum();
                let info = self
                    .table
                    .get_mut(&(p, state.information_state_key(p)))
                    .expect("just inserted");
                for (r, x) in info.regrets.iter_mut().zip(&values) {
                    *r += x - v;
                }
                v
            }
            Turn::Player(p) => {
                let (info, sigma) = self.strategy(&state, p);
                for (s, x) in info.strategy_sum.iter_mut().zip(&sigma) {
                    *s += x;
                }
                let a = info.actions[rng.weighted_index(&sigma)];
                state.apply_action(a);
                self.traverse(state, traverser, rng)
            }
        }
    }

    /// The average policy so far.
    pub fn average_policy(&self) -> TabularPolicy {
        let mut policy = TabularPolicy::new();
        for ((player, key), info) in &self.table {
            let total: f64 = info.strategy_sum.iter().sum();
            let k = info.actions.len() as f64;
            let probs = info
                .actions
                .iter()
                .zip(&info.strategy_sum)
                .map(|(a, s)| (*a, if total > 0.0 { s / total } else { 1.0 / k }))
                .collect();
            policy.insert(*player, *key, probs);
        }
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::kuhn_poker::KuhnPoker;
    use crate::games::leduc_poker::LeducPoker;
    use crate::search::best_response::{nash_conv, profile_of, value_of};

    /// A guessing game with more actions per node than the walk's stack scratch holds:
    /// player 0 hides one of `N` numbers, player 1 guesses without seeing it; a right guess
    /// of `h` pays player 1 `h + 1`, a wrong one pays player 0 one. In the unique
    /// equilibrium both play `h` with probability proportional to `1 / (h + 2)` (that makes
    /// the other indifferent), so CFR must move away from its uniform start.
    #[derive(Clone)]
    struct Guess;
    const N: u32 = 20;

    #[derive(Clone)]
    struct GuessState(Vec<Action>);

    impl Game for Guess {
        type State = GuessState;
        fn name(&self) -> &'static str {
            "guess"
        }
        fn num_players(&self) -> usize {
            2
        }
        fn num_distinct_actions(&self) -> usize {
            N as usize
        }
        fn observation_len(&self) -> usize {
            1
        }
        fn new_initial_state(&self, _: &mut SimRng) -> GuessState {
            GuessState(Vec::new())
        }
        fn max_utility(&self) -> f64 {
            f64::from(N)
        }
    }

    impl State for GuessState {
        fn turn(&self) -> Turn {
            if self.0.len() < 2 {
                Turn::Player(self.0.len())
            } else {
                Turn::Terminal
            }
        }
        fn legal_actions(&self) -> Vec<Action> {
            if self.0.len() < 2 { (0..N).collect() } else { Vec::new() }
        }
        fn apply_action(&mut self, action: Action) {
            self.0.push(action);
        }
        fn returns(&self) -> Vec<f64> {
            match self.0.as_slice() {
                [hidden, guess] if hidden == guess => vec![-f64::from(hidden + 1), f64::from(hidden + 1)],
                [_, _] => vec![1.0, -1.0],
                _ => vec![0.0, 0.0],
            }
        }
        fn observation(&self, player: usize, out: &mut [f32]) {
            out[0] = self.0.get(player).map_or(-1.0, |a| *a as f32);
        }
        fn information_state_key(&self, player: usize) -> u64 {
            // Each player knows only its own choice and how many have been made.
            (self.0.len() as u64) << 32 | u64::from(self.0.get(player).map_or(u32::MAX, |a| *a))
        }
    }

    #[test]
    fn cfr_solves_a_game_with_more_than_16_actions_per_node() {
        let tree = GameTree::build(&Guess, 10_000).unwrap();
        let mut cfr = Cfr::new(tree, CfrVariant::CfrPlus).unwrap();
        let start = nash_conv(cfr.tree(), &cfr.average_profile());
        for _ in 0..500 {
            cfr.iterate();
        }
        let profile = cfr.average_profile();
        let nc = nash_conv(cfr.tree(), &profile);
        assert!(start > 0.1, "the uniform start is exploitable: {start}");
        assert!(nc < 1e-2, "NashConv {nc} (from {start})");
        let norm: f64 = (0..N).map(|h| 1.0 / f64::from(h + 2)).sum();
        let avg = cfr.average_policy();
        let hider = avg.get(0, GuessState(Vec::new()).information_state_key(0)).unwrap();
        assert_eq!(hider.len(), N as usize);
        for (h, p) in hider {
            let expected = 1.0 / f64::from(h + 2) / norm;
            assert!((p - expected).abs() < 1e-2, "hide {h}: {p} vs {expected}");
        }
    }

    #[test]
    fn cfr_plus_solves_kuhn_to_its_known_value() {
        let tree = GameTree::build(&KuhnPoker::new(2), 1_000).unwrap();
        let mut cfr = Cfr::new(tree, CfrVariant::CfrPlus).unwrap();
        for _ in 0..2000 {
            cfr.iterate();
        }
        let profile = cfr.average_profile();
        let nc = nash_conv(cfr.tree(), &profile);
        assert!(nc / 2.0 < 1e-3, "exploitability {}", nc / 2.0);
        let v = value_of(cfr.tree(), &profile);
        assert!((v[0] + 1.0 / 18.0).abs() < 2e-3, "game value {} vs -1/18", v[0]);
    }

    #[test]
    fn vanilla_cfr_converges_on_kuhn_and_3_player_kuhn() {
        let tree = GameTree::build(&KuhnPoker::new(2), 1_000).unwrap();
        let mut cfr = Cfr::new(tree, CfrVariant::Cfr).unwrap();
        let mut last = f64::INFINITY;
        for round in 0..4 {
            for _ in 0..500 {
                cfr.iterate();
            }
            let nc = nash_conv(cfr.tree(), &cfr.average_profile());
            assert!(
                nc < last * 1.05 || round == 0,
                "NashConv should shrink: {nc} after {last}"
            );
            last = nc;
        }
        assert!(last < 0.015, "NashConv {last} (uniform play: 0.917)");
        let tree3 = GameTree::build(&KuhnPoker::new(3), 10_000).unwrap();
        let mut cfr3 = Cfr::new(tree3, CfrVariant::CfrPlus).unwrap();
        for _ in 0..1000 {
            cfr3.iterate();
        }
        assert!(nash_conv(cfr3.tree(), &cfr3.average_profile()) < 0.05);
    }

    #[test]
    fn cfr_plus_makes_leduc_much_less_exploitable() {
        let tree = GameTree::build(&LeducPoker::new(2), 100_000).unwrap();
        let uniform = profile_of(&tree, &mut |_, legal: &[Action]| {
            vec![1.0 / legal.len() as f64; legal.len()]
        });
        let start = nash_conv(&tree, &uniform);
        let mut cfr = Cfr::new(tree, CfrVariant::CfrPlus).unwrap();
        for _ in 0..100 {
            cfr.iterate();
        }
        let nc = nash_conv(cfr.tree(), &cfr.average_profile());
        assert!(nc < 0.1 && nc < start / 40.0, "NashConv {nc} (uniform {start})");
    }

    #[test]
    fn external_sampling_mccfr_learns_kuhn() {
        let mut solver = ExternalSamplingMccfr::new(KuhnPoker::new(2));
        let mut rng = SimRng::new(3);
        for _ in 0..20_000 {
            solver.iterate(&mut rng);
        }
        let tree = GameTree::build(&KuhnPoker::new(2), 1_000).unwrap();
        let avg = solver.average_policy();
        let profile = profile_of(&tree, &mut |s: &crate::games::kuhn_poker::KuhnState, _: &[Action]| {
            let Turn::Player(p) = s.turn() else { unreachable!() };
            avg.probs(s, p).into_iter().map(|(_, x)| x).collect()
        });
        let nc = nash_conv(&tree, &profile);
        assert!(nc < 0.05, "NashConv {nc} (uniform play: 0.917)");
    }
}
