//! Search and solver speed, with the budgets used for the OpenSpiel comparison: MCTS
//! simulations/s on tic-tac-toe and connect four (from the opening, 1000 simulations per
//! search, random rollouts), ISMCTS iterations/s on Dhumbal and Leduc, and CFR / CFR+
//! iterations/s on Kuhn and Leduc.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mechsim::core::{Game, SimRng, State};
use mechsim::games::connect_four::ConnectFour;
use mechsim::games::dhumbal::{Dhumbal, DhumbalRules};
use mechsim::games::kuhn_poker::KuhnPoker;
use mechsim::games::leduc_poker::LeducPoker;
use mechsim::games::tic_tac_toe::TicTacToe;
use mechsim::search::cfr::{Cfr, CfrVariant};
use mechsim::search::ismcts::{Ismcts, IsmctsConfig};
use mechsim::search::mcts::{Mcts, MctsConfig};
use mechsim::search::tree::GameTree;
use mechsim::search::{Budget, RandomRollout};

const SIMS: u64 = 1000;

fn mcts_bench<G: Game>(c: &mut Criterion, name: &str, game: G) {
    let mut group = c.benchmark_group("mcts");
    group.throughput(Throughput::Elements(SIMS));
    group.measurement_time(Duration::from_secs(5));
    let config = MctsConfig {
        budget: Budget::simulations(SIMS),
        exploration: 2.0,
        reuse_tree: false,
    };
    let mut mcts = Mcts::new(&game, config, RandomRollout::default());
    let mut rng = SimRng::new(1);
    let state = game.new_initial_state(&mut rng);
    group.bench_function(format!("{name}_1000_sims"), |b| {
        b.iter(|| mcts.search(&state, 0, &mut rng))
    });
    group.finish();
}

fn mcts(c: &mut Criterion) {
    mcts_bench(c, "tic_tac_toe", TicTacToe);
    mcts_bench(c, "connect_four", ConnectFour);
}

fn ismcts(c: &mut Criterion) {
    let mut group = c.benchmark_group("ismcts");
    group.throughput(Throughput::Elements(SIMS));
    group.measurement_time(Duration::from_secs(5));
    let config = IsmctsConfig {
        budget: Budget::simulations(SIMS),
        exploration: 0.7,
    };
    let dhumbal = Dhumbal::new(DhumbalRules::paper(), 4);
    let mut rng = SimRng::new(2);
    let state = dhumbal.new_initial_state(&mut rng);
    let mut search = Ismcts::new(&dhumbal, config);
    group.bench_function("dhumbal_4p_1000_iterations", |b| {
        b.iter(|| search.search(&state, 0, &mut rng))
    });
    let leduc = LeducPoker::new(2);
    let mut s = leduc.new_initial_state(&mut rng);
    s.apply_action(0);
    s.apply_action(3);
    let mut search = Ismcts::new(&leduc, config);
    group.bench_function("leduc_1000_iterations", |b| b.iter(|| search.search(&s, 0, &mut rng)));
    group.finish();
}

fn cfr(c: &mut Criterion) {
    let mut group = c.benchmark_group("cfr");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    for (name, variant) in [("cfr", CfrVariant::Cfr), ("cfr_plus", CfrVariant::CfrPlus)] {
        let mut kuhn = Cfr::new(GameTree::build(&KuhnPoker::new(2), 1_000).expect("tree"), variant).expect("solver");
        group.bench_function(format!("kuhn_{name}_iteration"), |b| b.iter(|| kuhn.iterate()));
        let mut leduc =
            Cfr::new(GameTree::build(&LeducPoker::new(2), 100_000).expect("tree"), variant).expect("solver");
        group.bench_function(format!("leduc_{name}_iteration"), |b| b.iter(|| leduc.iterate()));
    }
    group.finish();
}

criterion_group!(benches, mcts, ismcts, cfr);
criterion_main!(benches);
