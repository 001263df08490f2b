//! Analysis speed: scoring 10,000,000 forecasts (the streaming accumulator `mechsim score`
//! feeds row by row) and comparing four groups of 250,000 values with paired tests and
//! Bradley-Terry ratings (`mechsim compare --paired-by`).

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mechsim::analysis::compare::compare_groups;
use mechsim::analysis::forecast::ForecastAccumulator;
use mechsim::core::SimRng;

fn forecasts(c: &mut Criterion) {
    let mut rng = SimRng::new(1);
    let n = 10_000_000;
    let p: Vec<f64> = (0..n).map(|_| rng.unit()).collect();
    let y: Vec<f64> = p.iter().map(|&q| f64::from(u8::from(rng.chance(q)))).collect();
    let mut group = c.benchmark_group("analysis");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("score_10m_forecasts", |b| {
        b.iter(|| {
            let mut acc = ForecastAccumulator::new(10);
            for (pi, yi) in p.iter().zip(&y) {
                acc.add(*pi, *yi).unwrap();
            }
            acc.finish()
        })
    });
    let names: Vec<String> = (0..4).map(|g| format!("policy{g}")).collect();
    let per = 250_000;
    let values: Vec<Vec<f64>> = (0..4)
        .map(|g| (0..per).map(|_| rng.unit() + 0.01 * g as f64).collect())
        .collect();
    let units: Vec<Vec<String>> = (0..4).map(|_| (0..per).map(|u| u.to_string()).collect()).collect();
    group.throughput(Throughput::Elements(4 * per as u64));
    group.bench_function("compare_4x250k_paired", |b| {
        b.iter(|| compare_groups(&names, &values, Some(&units), 0.05, 1))
    });
    group.finish();
}

criterion_group!(benches, forecasts);
criterion_main!(benches);
