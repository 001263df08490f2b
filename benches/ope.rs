//! Off-policy evaluation and marketplace speed: IPS and DR on 1,000,000 logged rounds in
//! memory, `mechsim ope`'s path end to end (CSV parse + every estimator, no bootstrap) on a
//! 1,000,000-row file, and simulated marketplace fetches per second.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mechsim::bandit::marketplace::MarketConfig;
use mechsim::bandit::policies::Uniform;
use mechsim::core::SimRng;
use mechsim::estimators::logged_csv::{self, Columns};
use mechsim::estimators::{DoublyRobust, Estimator, EstimatorSettings, Ips, OpeInput, evaluate_all};
use mechsim::world::adload::{MarketSetup, Platform, run_market};

const N: usize = 1_000_000;
const K: usize = 5;

struct Log {
    actions: Vec<u32>,
    rewards: Vec<f64>,
    pscore: Vec<f64>,
    pi_e: Vec<f64>,
    q_hat: Vec<f64>,
}

fn synthetic() -> Log {
    let mut rng = SimRng::new(1);
    let mut log = Log {
        actions: Vec::with_capacity(N),
        rewards: Vec::with_capacity(N),
        pscore: Vec::with_capacity(N),
        pi_e: Vec::with_capacity(N * K),
        q_hat: Vec::with_capacity(N * K),
    };
    for _ in 0..N {
        let a = rng.below(K);
        log.actions.push(a as u32);
        log.pscore.push(1.0 / K as f64);
        log.rewards.push(f64::from(u8::from(rng.chance(0.3 + 0.1 * a as f64))));
        let raw: Vec<f64> = (0..K).map(|_| rng.unit() + 0.01).collect();
        let total: f64 = raw.iter().sum();
        log.pi_e.extend(raw.iter().map(|r| r / total));
        log.q_hat.extend((0..K).map(|b| 0.3 + 0.1 * b as f64));
    }
    log
}

fn estimators(c: &mut Criterion) {
    let log = synthetic();
    let input = OpeInput {
        actions: &log.actions,
        rewards: &log.rewards,
        pscore: &log.pscore,
        pi_e: &log.pi_e,
        q_hat: Some(&log.q_hat),
        k: K,
    };
    let mut group = c.benchmark_group("ope_1m");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    group.bench_function("ips", |b| {
        b.iter(|| Ips { clip: f64::INFINITY }.estimate(&input).unwrap())
    });
    group.bench_function("dr", |b| {
        b.iter(|| DoublyRobust { clip: f64::INFINITY }.estimate(&input).unwrap())
    });
    group.finish();

    // The same log as a CSV file, then parse + every estimator (what `mechsim ope` does).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut header = vec!["action".to_string(), "reward".into(), "pscore".into()];
    header.extend((0..K).map(|a| format!("pi_e_{a}")));
    header.extend((0..K).map(|a| format!("q_hat_{a}")));
    writeln!(out, "{}", header.join(",")).unwrap();
    for i in 0..N {
        write!(out, "{},{},{}", log.actions[i], log.rewards[i], log.pscore[i]).unwrap();
        for v in &log.pi_e[i * K..(i + 1) * K] {
            write!(out, ",{v:.6}").unwrap();
        }
        for v in &log.q_hat[i * K..(i + 1) * K] {
            write!(out, ",{v}").unwrap();
        }
        writeln!(out).unwrap();
    }
    drop(out);
    let mut group = c.benchmark_group("ope_csv_end_to_end_1m");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("parse_and_all_estimators", |b| {
        b.iter(|| {
            let parsed = logged_csv::read(&path, &Columns::default()).unwrap();
            let input = OpeInput {
                actions: &parsed.actions,
                rewards: &parsed.rewards[0].1,
                pscore: &parsed.pscore,
                pi_e: &parsed.pi_e,
                q_hat: parsed.q_hat.as_deref(),
                k: parsed.k,
            };
            evaluate_all(&input, EstimatorSettings::default(), 0, 0).unwrap()
        })
    });
    group.finish();
}

fn marketplace(c: &mut Criterion) {
    let fetches = run_market(MarketSetup {
        config: MarketConfig::default(),
        users: 2000,
        ticks: 20,
        platform: Platform::Policy(Arc::new(Uniform)),
        seed: 1,
        on_progress: Arc::new(|_| {}),
    })
    .unwrap()
    .len();
    let mut group = c.benchmark_group("marketplace");
    group.throughput(Throughput::Elements(fetches as u64));
    group.sample_size(10);
    group.bench_function("uniform_logging_2000_users_20_ticks", |b| {
        b.iter(|| {
            run_market(MarketSetup {
                config: MarketConfig::default(),
                users: 2000,
                ticks: 20,
                platform: Platform::Policy(Arc::new(Uniform)),
                seed: 1,
                on_progress: Arc::new(|_| {}),
            })
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, estimators, marketplace);
criterion_main!(benches);
