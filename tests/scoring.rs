//! `mechsim score` and `mechsim compare` on users' CSV files: numbers that match the
//! definitions, a reliability diagram, paired statistics, and precise errors.

use std::fs;

use crate::support::{mechsim, stderr, stdout};

#[test]
fn score_prints_every_metric_and_draws_the_diagram() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("f.csv"),
        "id,p,won\na,0.9,1\nb,0.8,true\nc,0.3,0\nd,0.6,0\ne,0.2,false\nf,0.55,1\ng,0.1,1\nh,0.7,1\n",
    )
    .unwrap();
    let o = mechsim(
        dir.path(),
        &[
            "score",
            "f.csv",
            "--prob",
            "p",
            "--outcome",
            "won",
            "--json",
            "--svg",
            "rel.svg",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let close = |k: &str, x: f64| assert!((v[k].as_f64().unwrap() - x).abs() < 1e-12, "{k}: {}", v[k]);
    close("brier", 0.205_312_5);
    close("ece", 0.381_25);
    close("ece_top_label", 0.356_25);
    close("balance", 0.006_25);
    assert!(fs::read_to_string(dir.path().join("rel.svg")).unwrap().contains("<svg"));
    let o = mechsim(dir.path(), &["score", "f.csv", "--prob", "p", "--outcome", "won"]);
    assert!(stdout(&o).contains("not a proper scoring rule"), "{}", stdout(&o));
}

#[test]
fn compare_reports_paired_tests_and_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("seed,policy,payoff\n");
    for seed in 0..20 {
        let base = (seed % 5) as f64;
        text.push_str(&format!(
            "{seed},a,{}\n{seed},b,{}\n",
            base + 1.0,
            base + 0.5 + 0.01 * seed as f64
        ));
    }
    fs::write(dir.path().join("r.csv"), text).unwrap();
    let o = mechsim(
        dir.path(),
        &[
            "compare",
            "r.csv",
            "--group",
            "policy",
            "--value",
            "payoff",
            "--paired-by",
            "seed",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let pair = &v["pairs"][0];
    // Unpaired, the seed-to-seed spread hides the difference; paired, it is clear.
    assert!(pair["p"].as_f64().unwrap() > 0.05, "{pair}");
    assert!(pair["paired"]["p"].as_f64().unwrap() < 1e-6, "{pair}");
    assert_eq!(v["groups"][0]["rank"], 1);
    assert!(v["groups"][0]["elo"][0].as_f64().unwrap() > v["groups"][1]["elo"][0].as_f64().unwrap());
}

#[test]
fn bad_inputs_name_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f.csv"), "p,y\n0.2,0\n1.3,1\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["score", "f.csv", "--prob", "p", "--outcome", "y"],
            "f.csv:3: column `p`: forecast must be a probability in [0, 1], found 1.3",
        ),
        (
            vec!["score", "f.csv", "--prob", "q", "--outcome", "y"],
            "f.csv:1: no column `q` (given by --prob); the header has: `p`, `y`",
        ),
        (
            vec!["compare", "f.csv", "--group", "y", "--value", "p", "--alpha", "2"],
            "--alpha must be in (0, 1)",
        ),
        (
            vec!["score", "nothere.csv", "--prob", "p", "--outcome", "y"],
            "cannot read nothere.csv",
        ),
    ];
    for (args, expected) in cases {
        let o = mechsim(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains(expected),
            "{} does not contain {expected}",
            stderr(&o)
        );
    }
    fs::write(dir.path().join("g.csv"), "p,y\n0.2,maybe\n").unwrap();
    let o = mechsim(dir.path(), &["score", "g.csv", "--prob", "p", "--outcome", "y"]);
    assert!(
        stderr(&o).contains("g.csv:2: column `y`: expected 0/1 or true/false, found \"maybe\""),
        "{}",
        stderr(&o)
    );
    fs::write(dir.path().join("h.csv"), "g,v\na,1\na,2\n").unwrap();
    let o = mechsim(dir.path(), &["compare", "h.csv", "--group", "g", "--value", "v"]);
    assert!(
        stderr(&o).contains("has 1 group(s); comparing needs at least two"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn analyze_writes_a_self_contained_report() {
    let dir = tempfile::tempdir().unwrap();
    let root = crate::support::root();
    for (scenario, out, size) in [
        ("scenarios/dhumbal/rule_based.toml", "t", &["--rounds", "30"][..]),
        // Online learning has horizons, not rounds: the smoke scaling shortens them.
        ("scenarios/mechanism/online_learning.toml", "m", &["--smoke"][..]),
    ] {
        let file = root.join(scenario);
        let mut args = vec!["run", file.to_str().unwrap(), "--out", out, "--seeds", "2", "--quiet"];
        args.extend_from_slice(size);
        let o = mechsim(dir.path(), &args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = mechsim(dir.path(), &["analyze", "t", "m"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = dir.path().join("t/report");
    let html = fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("src=\"http") && !html.contains("<script"));
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    let players = json["sections"][0]["players"].as_array().unwrap();
    assert_eq!(players.len(), 4);
    assert!(json["sections"][0]["comparison"]["pairs"].as_array().unwrap().len() == 6);
    assert_eq!(json["sections"][1]["kind"], "information");
    assert!(
        fs::read_to_string(report.join("report.md"))
            .unwrap()
            .contains("| rank (payoff) | player |")
    );
    // A directory that is not a mechsim output, and a rounds.csv without its columns.
    fs::create_dir(dir.path().join("empty")).unwrap();
    let o = mechsim(dir.path(), &["analyze", "empty"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not a mechsim output directory (no manifest.json)"),
        "{}",
        stderr(&o)
    );
    fs::write(dir.path().join("t/rounds.csv"), "seed,round\n1,2\n").unwrap();
    let o = mechsim(dir.path(), &["analyze", "t", "--out", "r2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no column `table`"), "{}", stderr(&o));
}
