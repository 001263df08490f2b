//! Information acquisition end to end: `mechanism solve` (readable and JSON) on the spec's
//! closed form, simulations whose realised utilities fall inside their intervals around the
//! LP's predictions, byte-identical rows across thread counts, the online experiment's
//! outputs, and precise errors for bad information scenarios.

use std::fs;

use mechsim::runner::RunOptions;
use mechsim::runner::information::run_simulation;
use mechsim::scenario::{self, Plan};

use crate::support::{mechsim, root, stderr, stdout};

fn shipped(name: &str) -> std::path::PathBuf {
    root().join("scenarios/mechanism").join(name)
}

#[test]
fn solve_prints_the_closed_form_and_json_for_machines() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped("closed_form.toml");
    let file = file.to_str().unwrap();
    let o = mechsim(dir.path(), &["mechanism", "solve", file]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "principal's expected utility 0.666667",
        "LP: 84 variables",
        "solved by microlp",
        "brute-force IC check",
        "uncorrelated",
        "single_hire",
        "independent",
        "quadratic_rule",
        "value of correlation (optimal - best uncorrelated): 0.000000",
        "equilibrium selection (exhaustive",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let o = mechsim(dir.path(), &["mechanism", "solve", file, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let utility = v["optimal"]["outcome"]["principal_utility"].as_f64().unwrap();
    assert!((utility - 2.0 / 3.0).abs() < 1e-6, "{utility}");
    assert_eq!(v["optimal"]["incentive_compatible"], true);
    assert!(v["lp"]["solve_seconds"].as_f64().unwrap() < 1.0);
    assert_eq!(v["baselines"].as_array().unwrap().len(), 6);
}

#[test]
fn correlation_pays_under_shared_noise() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped("shared_noise.toml");
    let o = mechsim(dir.path(), &["mechanism", "solve", file.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let value = v["value_of_correlation"].as_f64().unwrap();
    assert!(value > 0.02, "value of correlation {value}");
    for b in v["baselines"].as_array().unwrap() {
        assert_eq!(b["incentive_compatible"], true, "{}", b["label"]);
    }
}

#[test]
fn simulated_utilities_fall_inside_their_intervals_around_the_predictions() {
    let s = scenario::load(&shipped("closed_form.toml")).unwrap();
    let Plan::Information(plan) = &s.plan else {
        panic!("information")
    };
    let result = run_simulation(plan, &RunOptions::default()).unwrap();
    let summary = &result.summary;
    assert_eq!(
        summary["principal"]["utility"]["prediction_inside_ci"], true,
        "{summary:#}"
    );
    assert!((summary["principal"]["utility"]["predicted"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-6);
    for agent in summary["agents"].as_array().unwrap() {
        assert_eq!(agent["utility"]["prediction_inside_ci"], true, "{agent:#}");
        assert_eq!(agent["obedient_share"], 1.0, "rational agents obey an IC mechanism");
    }
    // A scripted deviator cannot gain against an IC mechanism: its gain's interval reaches 0 or below.
    let s = scenario::load(&shipped("shared_noise.toml")).unwrap();
    let Plan::Information(plan) = &s.plan else {
        panic!("information")
    };
    let result = run_simulation(plan, &RunOptions::default()).unwrap();
    let bo = &result.summary["agents"][1];
    assert_eq!(bo["behaviour"], "scripted");
    assert!(bo["deviation_gain"]["ci95"][0].as_f64().unwrap() <= 0.0, "{bo:#}");
    assert_eq!(result.summary["principal"]["utility"]["prediction_inside_ci"], true);
}

#[test]
fn information_runs_are_reproducible_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped("three_agents.toml");
    let file = file.to_str().unwrap();
    for (out, threads) in [("a", "1"), ("b", "3")] {
        let o = mechsim(
            dir.path(),
            &[
                "run",
                file,
                "--out",
                out,
                "--threads",
                threads,
                "--rounds",
                "300",
                "--quiet",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let a = fs::read(dir.path().join("a/rows.csv")).unwrap();
    assert_eq!(a, fs::read(dir.path().join("b/rows.csv")).unwrap());
    assert_eq!(
        fs::read(dir.path().join("a/summary.json")).unwrap(),
        fs::read(dir.path().join("b/summary.json")).unwrap()
    );
    let text = String::from_utf8(a).unwrap();
    assert!(text.starts_with("replicate,seed,round,agent,behaviour,recommended,effort,signal,report,state,action,payment,cost,utility,principal_utility\n"));
    assert_eq!(text.lines().count(), 1 + 4 * 300 * 3);
}

#[test]
fn the_online_run_writes_regret_and_its_slope() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(shipped("online_learning.toml"))
        .unwrap()
        .replace(
            "horizons = [1000, 2000, 4000, 8000, 16000, 32000, 64000]",
            "horizons = [1000, 4000, 16000]",
        )
        .replace("seeds = 8", "seeds = 3");
    fs::write(dir.path().join("online.toml"), text).unwrap();
    let o = mechsim(dir.path(), &["run", "online.toml", "--out", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("log-log slope of regret against T"),
        "{}",
        stdout(&o)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("out/summary.json")).unwrap()).unwrap();
    let slope = summary["online"]["log_log_slope"].as_f64().unwrap();
    assert!(slope > 0.3 && slope < 1.0, "slope {slope}");
    let csv = fs::read_to_string(dir.path().join("out/regret.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 3);
    assert!(
        fs::read_to_string(dir.path().join("out/regret.svg"))
            .unwrap()
            .contains("<svg")
    );
}

#[test]
fn bad_information_scenarios_get_precise_messages() {
    let good = fs::read_to_string(shipped("closed_form.toml")).unwrap();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            good.replace(
                "costs = [0.0, 0.05]\nsignals = [\"says_heads\", \"says_tails\"]\n# acc",
                "costs = [0.05]\nsignals = [\"says_heads\", \"says_tails\"]\n# acc",
            ),
            vec![
                "bad.toml:25:9:",
                "key `agents[0].costs`",
                "needs one cost per effort level (2), found 1",
            ],
        ),
        (
            good.replace(
                "[[0.8, 0.2], [0.2, 0.8]],            # work",
                "[[0.8, 0.3], [0.2, 0.8]],            # work",
            ),
            vec!["bad.toml:30:4:", "key `agents[0].accuracy[1][0]`", "must sum to 1"],
        ),
        (
            good.replace("correlation = \"independent\"", "correlation = \"shared\""),
            vec![
                "key `instance.correlation`",
                "unknown correlation model \"shared\"",
                "did you mean \"shared_noise\"?",
            ],
        ),
        (
            good.replace("correlation = \"independent\"", "correlation = \"shared_noise\""),
            vec!["key `instance.correlation`", "needs `rho`"],
        ),
        (
            good.replace("payment_cap = 1.0 ", "payment_cap = \"lots\" "),
            vec!["key `instance.payment_cap`", "\"none\""],
        ),
        (
            good.replace("payment_cap = 1.0 ", "payment_cap = \"none\" "),
            vec!["key `instance.payment_cap`", "a simulation needs a payment cap"],
        ),
        (
            good.replace(
                "behaviour = \"rational\"\n\n[[agents]]",
                "behaviour = \"rationl\"\n\n[[agents]]",
            ),
            vec!["key `agents[0].behaviour`", "did you mean \"rational\"?"],
        ),
        (
            good.replace(
                "behaviour = \"rational\"\n\n[[agents]]",
                "behaviour = \"scripted\"\nscript_effort = \"nap\"\n\n[[agents]]",
            ),
            vec!["key `agents[0].script_effort`", "unknown effort \"nap\"", "\"shirk\""],
        ),
        (
            good.replace("mechanism = \"optimal\"", "mechanism = \"optimum\""),
            vec!["key `simulation.mechanism`", "did you mean \"optimal\"?"],
        ),
        (
            good.replace("rounds = 20000", "roundz = 20000"),
            vec!["key `simulation.roundz`", "did you mean `rounds`?"],
        ),
        (
            good.replace("prior = [0.5, 0.5]", "prior = [0.5, 0.6]"),
            vec!["key `instance.prior`", "must sum to 1"],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (text, needles) in cases {
        assert_ne!(text, good, "the case must change the file: {needles:?}");
        fs::write(dir.path().join("bad.toml"), &text).unwrap();
        let o = mechsim(dir.path(), &["check", "bad.toml"]);
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        for n in needles {
            assert!(err.contains(n), "missing {n:?} in {err}");
        }
    }
    // A tournament file is not an information scenario.
    let o = mechsim(&root(), &["mechanism", "solve", "scenarios/quickstart.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not an information scenario"), "{}", stderr(&o));
}
