//! Dhumbal speed: random-play rounds/s, heuristic rounds/s (game engine plus policies,
//! no world), and the whole tournament pipeline (ECS world, settle, summary) for the study's
//! rule-based scenario at one replicate.

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mechsim::core::{Game, Policy, SimRng, State, Turn};
use mechsim::games::dhumbal::{Dhumbal, DhumbalRules, DhumbalState};
use mechsim::policies::dhumbal_heuristic::{HeuristicPolicy, Style};
use mechsim::policies::random::RandomPolicy;
use mechsim::registry;
use mechsim::runner::RunOptions;
use mechsim::scenario;

fn play(game: &Dhumbal, agents: &mut [Box<dyn Policy<Dhumbal>>], rng: &mut SimRng) -> DhumbalState {
    let mut state = game.new_initial_state(rng);
    while let Turn::Player(p) = state.turn() {
        let a = agents[p].act(&state, p, rng);
        state.apply_action(a);
    }
    state
}

fn rounds(c: &mut Criterion) {
    let game = Dhumbal::new(DhumbalRules::paper(), 4);
    let mut group = c.benchmark_group("dhumbal_round");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));
    let mut rng = SimRng::new(1);
    let mut random: Vec<Box<dyn Policy<Dhumbal>>> = (0..4)
        .map(|_| Box::new(RandomPolicy) as Box<dyn Policy<Dhumbal>>)
        .collect();
    group.bench_function("random_play_4p", |b| {
        b.iter(|| play(&game, &mut random, &mut rng).returns())
    });
    let mut heuristics: Vec<Box<dyn Policy<Dhumbal>>> = [
        Style::Aggressive,
        Style::Conservative,
        Style::Balanced,
        Style::Opportunistic,
    ]
    .into_iter()
    .map(|s| Box::new(HeuristicPolicy::new(s)) as Box<dyn Policy<Dhumbal>>)
    .collect();
    group.bench_function("heuristic_play_4p", |b| {
        b.iter(|| play(&game, &mut heuristics, &mut rng).returns())
    });
    let state = game.new_initial_state(&mut rng);
    group.bench_function("clone_state", |b| b.iter(|| std::hint::black_box(state.clone())));
    group.bench_function("legal_actions", |b| {
        b.iter(|| std::hint::black_box(state.legal_actions()))
    });
    group.finish();
}

fn tournament(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let s = scenario::load(&root.join("scenarios/dhumbal/rule_based.toml"))
        .expect("scenario")
        .scaled_down(1024, 1);
    let plan = s.tournament().expect("a tournament").clone();
    let entry = registry::game("dhumbal").expect("registered");
    let mut group = c.benchmark_group("tournament");
    group.throughput(Throughput::Elements(plan.rounds));
    group.sample_size(20);
    let options = RunOptions {
        threads: Some(1),
        ..RunOptions::default()
    };
    group.bench_function("rule_based_1024_rounds_1_seed", |b| {
        b.iter(|| entry.run_tournament(&plan, &options).expect("runs"))
    });
    group.finish();
}

criterion_group!(benches, rounds, tournament);
criterion_main!(benches);
