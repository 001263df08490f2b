//! External agents: one decision through the JSON-lines process protocol (build the
//! message from a Dhumbal state, send it, wait for and check the answer), with the minimal
//! Rust agent (`examples/echo_agent.rs`) and the Python example agent, each with the
//! readable view only and with the observation vector too. The echo agent must be built
//! first (`cargo build --release --example echo_agent`); the Python cases need `python3`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mechsim::core::params::{ParamValue, Params};
use mechsim::core::{Game, Policy, SeatInfo, SimRng, State};
use mechsim::games::dhumbal::{Dhumbal, DhumbalRules, DhumbalState};
use mechsim::policies::external::{ExternalConfig, ExternalPolicy, PARAMS};

/// Decision points from random play, to replay through the agent.
fn positions(game: &Dhumbal, count: usize) -> Vec<(DhumbalState, usize)> {
    let mut rng = SimRng::new(3);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let mut state = game.new_initial_state(&mut rng);
        while let mechsim::core::Turn::Player(p) = state.turn() {
            out.push((state.clone(), p));
            let legal = state.legal_actions();
            state.apply_action(legal[rng.below(legal.len())]);
        }
    }
    out.truncate(count);
    out
}

fn agent(game: &Dhumbal, command: Vec<String>, dir: &Path, observation: &str) -> ExternalPolicy {
    let mut params = Params::new();
    params.set(PARAMS, "command", ParamValue::List(command)).unwrap();
    params
        .set(PARAMS, "observation", ParamValue::Str(observation.into()))
        .unwrap();
    params
        .set(PARAMS, "inherit_env", ParamValue::List(vec!["PATH".into()]))
        .unwrap();
    let config = ExternalConfig::from_params(&params, dir).unwrap();
    let mut policy = ExternalPolicy::new(game, config);
    Policy::<Dhumbal>::start(
        &mut policy,
        &SeatInfo {
            participant: 0,
            label: "bench",
            table: 0,
            seed: 1,
        },
    )
    .unwrap();
    policy
}

fn protocol(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let echo = root.join("target/release/examples/echo_agent");
    let game = Dhumbal::new(DhumbalRules::paper(), 3);
    let states = positions(&game, 4096);
    let mut agents: Vec<(&str, Vec<String>, PathBuf)> = Vec::new();
    if echo.is_file() {
        agents.push(("rust_echo", vec![echo.display().to_string()], root.clone()));
    } else {
        eprintln!("skipping the Rust agent: build it with `cargo build --release --example echo_agent`");
    }
    let python =
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("python3").is_file()));
    if python {
        agents.push((
            "python_greedy",
            vec!["python3".into(), "dhumbal_agent.py".into()],
            root.join("examples/agents"),
        ));
    }
    let mut group = c.benchmark_group("protocol_decision");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));
    for (name, command, dir) in &agents {
        for observation in ["view", "both"] {
            let mut policy = agent(&game, command.clone(), dir, observation);
            let mut rng = SimRng::new(1);
            let mut i = 0;
            group.bench_function(format!("{name}_{observation}"), |b| {
                b.iter(|| {
                    let (state, player) = &states[i % states.len()];
                    i += 1;
                    let action = Policy::<Dhumbal>::act(&mut policy, state, *player, &mut rng);
                    assert!(
                        Policy::<Dhumbal>::last_note(&mut policy).is_some_and(|n| n.fault.is_none()),
                        "the agent answered"
                    );
                    action
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, protocol);
criterion_main!(benches);
