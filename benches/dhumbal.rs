//! Dhumbal speed: random-play and heuristic rounds/s on the bare engine (no world); the whole
//! tournament pipeline (World, settle, summary, and with the output files) for the study's
//! rule-based scenario at one replicate and one thread, side by side with the bare engine and
//! policies playing exactly the same 1024 rounds (same seeds, seating and ledger), so their
//! ratio is the pipeline's overhead; and one replicate of 64 tables at one and two threads.

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mechsim::core::rng::{Stream, derive_seed};
use mechsim::core::{Game, Policy, RoundReport, SimRng, State, Tournament, Turn};
use mechsim::games::dhumbal::{Dhumbal, DhumbalRules, DhumbalState};
use mechsim::output::{self, RunInfo};
use mechsim::policies::dhumbal_heuristic::{HeuristicPolicy, Style};
use mechsim::policies::random::RandomPolicy;
use mechsim::registry;
use mechsim::runner::{RunOptions, TournamentPlan};
use mechsim::scenario::{self, Scenario};
use mechsim::world::Rotation;

fn play(game: &Dhumbal, agents: &mut [Box<dyn Policy<Dhumbal>>], rng: &mut SimRng) -> DhumbalState {
    let mut state = game.new_initial_state(rng);
    while let Turn::Player(p) = state.turn() {
        let a = agents[p].act(&state, p, rng);
        state.apply_action(a);
    }
    state
}

fn heuristics() -> Vec<Box<dyn Policy<Dhumbal>>> {
    [
        Style::Aggressive,
        Style::Conservative,
        Style::Balanced,
        Style::Opportunistic,
    ]
    .into_iter()
    .map(|s| Box::new(HeuristicPolicy::new(s)) as Box<dyn Policy<Dhumbal>>)
    .collect()
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
    let mut agents = heuristics();
    group.bench_function("heuristic_play_4p", |b| {
        b.iter(|| play(&game, &mut agents, &mut rng).returns())
    });
    let state = game.new_initial_state(&mut rng);
    group.bench_function("clone_state", |b| b.iter(|| std::hint::black_box(state.clone())));
    group.bench_function("legal_actions", |b| {
        b.iter(|| std::hint::black_box(state.legal_actions()))
    });
    group.finish();
}

/// The study's rule-based scenario at one replicate of `rounds` rounds over `tables` tables.
fn rule_based(rounds: u64, tables: usize) -> (Scenario, TournamentPlan) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let s = scenario::load(&root.join("scenarios/dhumbal/rule_based.toml"))
        .expect("scenario")
        .scaled_down(rounds, 1);
    let mut plan = s.tournament().expect("a tournament").clone();
    plan.rounds = rounds;
    plan.tables = tables;
    (s, plan)
}

/// The plan's single table played by the bare engine and policies, with the World's seeds,
/// seating and ledger (one table, no rotation): every round's payoffs, by participant.
fn bare(game: &Dhumbal, plan: &TournamentPlan, agents: &mut [Box<dyn Policy<Dhumbal>>]) -> Vec<f64> {
    let table_seed = derive_seed(plan.seeds[0], Stream::Table, 0);
    let mut seat_rngs: Vec<SimRng> = (0..agents.len())
        .map(|p| SimRng::new(derive_seed(table_seed, Stream::Seat, p as u64)))
        .collect();
    let mut ledger = game.new_ledger(agents.len());
    let order: Vec<usize> = (0..agents.len()).collect();
    let mut payoffs = vec![0.0; plan.rounds as usize * agents.len()];
    for round in 0..plan.rounds {
        let mut rng = SimRng::new(derive_seed(table_seed, Stream::Round, round));
        let (mut state, players) = game.start_round(&ledger, &order, round, &mut rng);
        loop {
            let action = match state.turn() {
                Turn::Terminal => break,
                Turn::Chance => {
                    let outcomes = state.chance_outcomes();
                    let weights: Vec<f64> = outcomes.iter().map(|(_, p)| *p).collect();
                    outcomes[rng.weighted_index(&weights)].0
                }
                Turn::Player(p) => agents[players[p]].act(&state, p, &mut seat_rngs[players[p]]),
            };
            state.apply_action(action);
        }
        for (player, m) in game.settle_round(&mut ledger, &state, &players).iter().enumerate() {
            let participant = players[player];
            agents[participant].round_over(&RoundReport {
                table: 0,
                round,
                player,
                metrics: m,
            });
            payoffs[round as usize * agents.len() + participant] = m.payoff;
        }
    }
    payoffs
}

fn tournament(c: &mut Criterion) {
    let (s, plan) = rule_based(1024, 1);
    assert_eq!(
        (plan.tables, plan.seeds.len(), plan.rotation),
        (1, 1, Rotation::None),
        "the bare loop replays one table, unrotated"
    );
    let entry = registry::game("dhumbal").expect("registered");
    let game = Dhumbal::new(DhumbalRules::paper(), 4);
    let options = RunOptions {
        threads: Some(1),
        ..RunOptions::default()
    };
    // Both sides play the same games: the same payoffs, round by round.
    let result = entry.run_tournament(&plan, &options).expect("runs");
    let pipeline: Vec<f64> = result.replicates[0].rows.iter().map(|r| r.payoff).collect();
    assert_eq!(bare(&game, &plan, &mut heuristics()), pipeline, "same games");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let info = RunInfo {
        started: String::new(),
        finished: String::new(),
        wall_seconds: 0.0,
        threads: 1,
        command: Vec::new(),
    };
    let mut group = c.benchmark_group("tournament");
    group.throughput(Throughput::Elements(plan.rounds));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(6));
    group.bench_function("bare_engine_rule_based_1024_rounds_1_seed", |b| {
        b.iter(|| bare(&game, &plan, &mut heuristics()))
    });
    group.bench_function("rule_based_1024_rounds_1_seed", |b| {
        b.iter(|| entry.run_tournament(&plan, &options).expect("runs"))
    });
    group.bench_function("rule_based_1024_rounds_1_seed_with_outputs", |b| {
        b.iter(|| {
            let result = entry.run_tournament(&plan, &options).expect("runs");
            output::write_tournament(&dir.path().join("out"), true, &s, &plan, &result, &info).expect("writes")
        })
    });
    group.finish();
}

fn tables(c: &mut Criterion) {
    let (_, plan) = rule_based(4096, 64);
    let entry = registry::game("dhumbal").expect("registered");
    let mut group = c.benchmark_group("replicate_64_tables");
    group.throughput(Throughput::Elements(plan.rounds));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    for threads in [1, 2] {
        let options = RunOptions {
            threads: Some(threads),
            ..RunOptions::default()
        };
        group.bench_function(format!("rule_based_4096_rounds_{threads}_threads"), |b| {
            b.iter(|| entry.run_tournament(&plan, &options).expect("runs"))
        });
    }
    group.finish();
}

criterion_group!(benches, rounds, tournament, tables);
criterion_main!(benches);
