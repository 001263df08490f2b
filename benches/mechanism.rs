//! Mechanism LP speed: build + solve of the optimal-mechanism LP for n = 2, 3, 4 agents, on
//! binary instances (2 efforts, 2 signals, 2 states) and ternary ones (3 x 3 x 3), with
//! shared noise so that the joint law has no zeros. Before the timings it prints each LP's
//! size (variables, constraints, non-zeros) so the growth with size can be read off.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mechsim::mechanism::lp::{SOLVER, optimal_mechanism};
use mechsim::mechanism::{AgentModel, Correlation, Instance};

/// `n` agents with `levels` efforts, signals and states: effort e is right with probability
/// 1/levels + e * 0.35 / (levels - 1) (e = 0 uninformative), costing 0.03 e^1.5.
fn instance(n: usize, levels: usize) -> Instance {
    let names = |p: &str| (0..levels).map(|k| format!("{p}{k}")).collect::<Vec<_>>();
    let accuracy: Vec<Vec<Vec<f64>>> = (0..levels)
        .map(|e| {
            let right = 1.0 / levels as f64 + e as f64 * 0.35 / (levels - 1) as f64;
            let wrong = (1.0 - right) / (levels - 1) as f64;
            (0..levels)
                .map(|t| (0..levels).map(|s| if s == t { right } else { wrong }).collect())
                .collect()
        })
        .collect();
    let agents = (0..n)
        .map(|i| AgentModel {
            name: format!("agent{i}"),
            efforts: names("e"),
            costs: (0..levels).map(|e| 0.03 * (e as f64).powf(1.5)).collect(),
            signals: names("s"),
            accuracy: accuracy.clone(),
        })
        .collect();
    let prior: Vec<f64> = (0..levels).map(|t| (t + 1) as f64).collect();
    let total: f64 = prior.iter().sum();
    Instance::new(
        names("t"),
        prior.iter().map(|p| p / total).collect(),
        names("a"),
        (0..levels)
            .map(|a| (0..levels).map(|t| if a == t { 1.0 } else { 0.0 }).collect())
            .collect(),
        Some(1.0),
        agents,
        Correlation::SharedNoise { rho: 0.5 },
    )
    .expect("valid bench instance")
}

fn lp(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("mechanism_lp_{SOLVER}"));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for (n, levels) in [(2, 2), (3, 2), (4, 2), (2, 3), (3, 3), (4, 3)] {
        let inst = instance(n, levels);
        let solved = optimal_mechanism(&inst, None).expect("solves");
        eprintln!(
            "n = {n}, {levels} levels: {} variables, {} constraints, {} non-zeros; one solve {:.1} ms (+{:.1} ms build)",
            solved.stats.variables,
            solved.stats.constraints,
            solved.stats.nonzeros,
            solved.stats.solve_seconds * 1e3,
            solved.stats.build_seconds * 1e3
        );
        if solved.stats.solve_seconds > 20.0 {
            eprintln!("  (skipping the repeated measurement: one solve is over 20 s)");
            continue;
        }
        group.bench_function(format!("n{n}_levels{levels}"), |b| {
            b.iter(|| optimal_mechanism(&inst, None).expect("solves"))
        });
    }
    group.finish();
}

criterion_group!(benches, lp);
criterion_main!(benches);
