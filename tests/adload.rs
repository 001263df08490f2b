//! The ad-load marketplace end to end: IPS and DR are unbiased over seeds (their mean error
//! lies inside its interval), DR stays accurate with a deliberately wrong reward model
//! while DM does not, runs are reproducible across thread counts, the log round-trips
//! through `mechsim ope`, and malformed logs get precise errors.

use std::fs;
use std::sync::Arc;

use mechsim::bandit::marketplace::MarketConfig;
use mechsim::bandit::policies::{AdPolicy, EpsilonGreedy, Fixed, Position};
use mechsim::estimators::{DirectMethod, DoublyRobust, Estimator, Ips, OpeInput};
use mechsim::runner::RunOptions;
use mechsim::runner::adload::run_evaluation;
use mechsim::scenario::{self, Plan};
use mechsim::world::adload::{MarketSetup, Platform, run_market};

use crate::support::{mechsim, root, stderr, stdout};

fn logged(seed: u64, users: usize) -> Vec<mechsim::world::adload::FetchRow> {
    let logging = EpsilonGreedy {
        base: Box::new(Position {
            first: 1,
            later: 2,
            from_fetch: 3,
        }),
        epsilon: 0.4,
    };
    run_market(MarketSetup {
        config: MarketConfig::default(),
        users,
        ticks: 20,
        platform: Platform::Policy(Arc::new(logging)),
        seed,
        on_progress: Arc::new(|_| {}),
    })
    .unwrap()
}

/// Mean and standard error.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

#[test]
fn ips_and_dr_are_unbiased_and_dr_survives_a_wrong_model() {
    let target = Fixed { ads: 3 };
    let k = 5;
    let (mut ips_err, mut dr_err, mut dm_err) = (Vec::new(), Vec::new(), Vec::new());
    for seed in 0..30 {
        let rows = logged(seed, 300);
        let n = rows.len();
        let actions: Vec<u32> = rows.iter().map(|r| r.action as u32).collect();
        let rewards: Vec<f64> = rows.iter().map(|r| r.satisfaction + 2.0 * r.revenue).collect();
        let pscore: Vec<f64> = rows.iter().map(|r| r.pscore).collect();
        let mut pi_e = vec![0.0; n * k];
        for (i, r) in rows.iter().enumerate() {
            target.probabilities(&r.context, &mut pi_e[i * k..(i + 1) * k]);
        }
        let truth = rows
            .iter()
            .map(|r| r.true_satisfaction[3] + 2.0 * r.true_revenue[3])
            .sum::<f64>()
            / n as f64;
        // A deliberately wrong model: the truth shifted by +0.5 and scaled by 0.5.
        let q_wrong: Vec<f64> = rows
            .iter()
            .flat_map(|r| {
                (0..k)
                    .map(|a| 0.5 * (r.true_satisfaction[a] + 2.0 * r.true_revenue[a]) + 0.5)
                    .collect::<Vec<_>>()
            })
            .collect();
        let input = OpeInput {
            actions: &actions,
            rewards: &rewards,
            pscore: &pscore,
            pi_e: &pi_e,
            q_hat: Some(&q_wrong),
            k,
        };
        ips_err.push(Ips { clip: f64::INFINITY }.estimate(&input).unwrap() - truth);
        dr_err.push(DoublyRobust { clip: f64::INFINITY }.estimate(&input).unwrap() - truth);
        dm_err.push(DirectMethod.estimate(&input).unwrap() - truth);
    }
    for (name, errors) in [("IPS", &ips_err), ("DR", &dr_err)] {
        let (m, se) = mean_se(errors);
        assert!(m.abs() < 3.0 * se, "{name}: mean error {m} with standard error {se}");
    }
    let (dm_bias, _) = mean_se(&dm_err);
    let (dr_m, _) = mean_se(&dr_err);
    let dr_rmse = (dr_err.iter().map(|e| e * e).sum::<f64>() / dr_err.len() as f64).sqrt();
    assert!(dm_bias.abs() > 0.1, "the wrong model biases DM: {dm_bias}");
    assert!(
        dr_rmse < 0.1 && dr_m.abs() < 0.02,
        "DR stays accurate: rmse {dr_rmse}, bias {dr_m}"
    );
}

#[test]
fn evaluation_scores_are_reproducible_and_cover_the_truth() {
    let s = scenario::load(&root().join("scenarios/adload/ope_benchmark.toml"))
        .unwrap()
        .scaled_down(40, 12);
    let Plan::Adload(plan) = &s.plan else { panic!("adload") };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let a = one.install(|| run_evaluation(plan, &RunOptions::default())).unwrap();
    let b = run_evaluation(plan, &RunOptions::default()).unwrap();
    assert_eq!(a.log, b.log);
    let estimates = |r: &mechsim::runner::adload::EvaluationResult| serde_json::to_string(&r.evaluations).unwrap();
    assert_eq!(estimates(&a), estimates(&b), "threads do not change results");
    let dr = a
        .scores
        .iter()
        .find(|s| s.target == "uniform" && s.objective == "reward" && s.estimator == "dr")
        .unwrap();
    assert!(dr.coverage >= 0.75, "{dr:?}");
}

#[test]
fn the_log_round_trips_through_the_ope_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("scenarios/adload/marketplace.toml");
    let o = mechsim(
        dir.path(),
        &["run", file.to_str().unwrap(), "--out", "out", "--smoke", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = mechsim(
        dir.path(),
        &[
            "ope",
            "out/logged.csv",
            "--reward",
            "satisfaction,revenue",
            "--pi-prefix",
            "pi_two_ads_",
            "--json",
            "--bootstrap",
            "10",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["rewards"].as_array().unwrap().len(), 2);
    let names: Vec<&str> = v["rewards"][0]["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["estimator"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["ips", "snips", "replay", "dm", "dr", "sndr", "switch_dr", "dr_os"]
    );
    // The default prefix is not in this file: the error lists the header.
    let o = mechsim(dir.path(), &["ope", "out/logged.csv", "--reward", "satisfaction"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no target-policy columns `pi_e_0`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn malformed_logs_get_precise_errors() {
    let dir = tempfile::tempdir().unwrap();
    let header = "action,reward,pscore,pi_e_0,pi_e_1\n";
    let cases = [
        (
            format!("{header}0,1,0.5,0.5,0.5\n1,oops,0.5,0.5,0.5\n"),
            "bad.csv:3: column `reward`: expected a number, found \"oops\"",
        ),
        (
            format!("{header}0,1,1.5,0.5,0.5\n"),
            "bad.csv:2: column `pscore`: propensity must be in (0, 1], found 1.5",
        ),
        (
            format!("{header}3,1,0.5,0.5,0.5\n"),
            "bad.csv:2: column `action`: action 3 is not in 0..1",
        ),
        (
            format!("{header}0,1,0.5,0.7,0.5\n"),
            "target probabilities must sum to 1",
        ),
        (
            "action,pscore,pi_e_0\n0,1,1\n".to_string(),
            "bad.csv:1: no column `reward`; the header has:",
        ),
    ];
    for (text, expected) in cases {
        fs::write(dir.path().join("bad.csv"), &text).unwrap();
        let o = mechsim(dir.path(), &["ope", "bad.csv"]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        assert!(
            stderr(&o).contains(expected),
            "{} does not contain {expected}",
            stderr(&o)
        );
    }
    let o = mechsim(dir.path(), &["ope", "missing.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.csv"), "{}", stderr(&o));
    fs::write(
        dir.path().join("ok.csv"),
        format!("{header}0,1,0.5,0.5,0.5\n1,0,0.5,0.5,0.5\n"),
    )
    .unwrap();
    let o = mechsim(dir.path(), &["ope", "ok.csv", "--fit-model", "forest"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value 'forest' for '--fit-model <FIT_MODEL>'")
            && stderr(&o).contains("[possible values: ridge, logistic, none]"),
        "{}",
        stderr(&o)
    );
}
