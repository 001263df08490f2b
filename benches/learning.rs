//! Learning speed: environment steps per second through the batched ECS path (32 Dhumbal
//! tables, a uniform learner, three random opponents: the cost of the simulator alone), and
//! PPO update throughput in samples per second on the CPU backend.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mechsim::core::Policy;
use mechsim::games::dhumbal::{Dhumbal, DhumbalRules};
use mechsim::policies::random::RandomPolicy;
use mechsim::world::Rotation;
use mechsim::world::training::{TrainingSetup, TrainingWorld};
use mechsim_agents::{DeviceKind, Learner, LearnerConfig, PpoConfig, UniformLearner, new_learner};

fn world(learner: Box<dyn Learner>) -> TrainingWorld {
    let setup = TrainingSetup {
        game: Dhumbal::new(DhumbalRules::paper(), 4),
        seed: 1,
        tables: 32,
        rotation: Rotation::Rotate,
        learner_participant: 0,
        make_policies: Box::new(|| {
            Ok((0..4)
                .map(|_| Box::new(RandomPolicy) as Box<dyn Policy<Dhumbal>>)
                .collect())
        }),
        labels: (0..4).map(|i| format!("p{i}")).collect(),
    };
    TrainingWorld::new(setup, learner).expect("world")
}

fn environment(c: &mut Criterion) {
    let mut group = c.benchmark_group("training");
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(4096));
    let mut w = world(Box::new(UniformLearner));
    group.bench_function("dhumbal_env_steps_uniform_learner_4096", |b| {
        b.iter(|| w.collect(4096).expect("collect"))
    });
    let ppo = new_learner(DeviceKind::Cpu, 437, 331, LearnerConfig::Ppo(PpoConfig::default())).expect("ppo");
    let mut w = world(ppo);
    group.bench_function("dhumbal_env_steps_ppo_acting_4096", |b| {
        b.iter(|| w.collect(4096).expect("collect"))
    });
    let (rollout, _) = w.collect(4096).expect("collect");
    let samples = rollout.len() as u64 * PpoConfig::default().epochs as u64;
    group.throughput(Throughput::Elements(samples));
    group.sample_size(10);
    group.bench_function("ppo_update_4096_transitions_x4_epochs", |b| {
        b.iter(|| w.learner().update(&rollout).expect("update"))
    });
    group.finish();
}

criterion_group!(benches, environment);
criterion_main!(benches);
