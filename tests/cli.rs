//! The command line as a user meets it: runs, validation, listings, and one test per kind
//! of bad input asserting the message (file, line, column, key, valid choices).

use crate::support::{SMALL, mechsim, root, stderr, stdout};
use std::fs;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    fs::write(dir.join(name), text).unwrap();
    name.to_string()
}

#[test]
fn run_writes_every_output_and_prints_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.toml", SMALL);
    let clock = std::time::Instant::now();
    let out = mechsim(dir.path(), &["run", &file, "--out", "res"]);
    let elapsed = clock.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "Wilson 95% CI",
        "coin change",
        "pairwise Welch t-tests",
        "Bonferroni alpha = 0.05 / 3",
        "dhumbal-aggressive vs dhumbal-balanced",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    for f in [
        "rounds.csv",
        "timing.csv",
        "summary.json",
        "summary.csv",
        "pairwise.csv",
        "manifest.json",
    ] {
        assert!(dir.path().join("res").join(f).is_file(), "{f}");
    }
    let rounds = fs::read_to_string(dir.path().join("res/rounds.csv")).unwrap();
    assert_eq!(
        rounds.lines().count(),
        1 + 3 * 40 * 3,
        "header + seeds x rounds x seats"
    );
    let header = rounds.lines().next().unwrap();
    for col in [
        "scenario",
        "seed",
        "round",
        "seat",
        "policy",
        "hand_value",
        "coin_change",
        "won",
        "called",
        "call_succeeded",
        "forced_showdown",
        "turns",
        "cards_discarded",
        "decisions",
    ] {
        assert!(header.split(',').any(|c| c == col), "column {col} in {header}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("res/summary.json")).unwrap()).unwrap();
    let first = &summary["participants"][0];
    for key in [
        "policy",
        "rounds",
        "wins",
        "win_rate",
        "win_ci_low",
        "win_ci_high",
        "coin_change_mean",
        "jhyap_calls",
        "jhyap_success_rate",
        "cards_discarded_per_round",
        "risk_corr",
        "ms_per_decision",
        "mean_turns_per_round",
    ] {
        assert!(!first[key].is_null(), "summary key {key}");
    }
    assert_eq!(summary["pairwise"].as_array().unwrap().len(), 6, "3 pairs x 2 metrics");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("res/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["scenario_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(manifest["seeds"].as_array().unwrap().len(), 3);
    // The run's own timing lies inside the time the test saw the command take.
    let wall = manifest["wall_seconds"].as_f64().unwrap();
    assert!(
        wall > 0.0 && wall <= elapsed,
        "wall_seconds {wall}, command took {elapsed} s"
    );
    let time = |key: &str| humantime::parse_rfc3339(manifest[key].as_str().unwrap()).unwrap();
    let (started, finished) = (time("started"), time("finished"));
    assert!(finished >= started, "{started:?} .. {finished:?}");
    assert!(finished.duration_since(started).unwrap().as_secs_f64() <= elapsed + 1.0);
}

#[test]
fn an_existing_output_directory_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.toml", SMALL);
    let out = mechsim(dir.path(), &["run", &file, "--out", "res", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // An older result of the same run, with a file the new one does not write.
    fs::write(dir.path().join("res/decisions.csv"), "old").unwrap();
    let manifest = dir.path().join("res/manifest.json");
    let mut listed: serde_json::Value = serde_json::from_str(&fs::read_to_string(&manifest).unwrap()).unwrap();
    listed["files"].as_array_mut().unwrap().push("decisions.csv".into());
    fs::write(&manifest, listed.to_string()).unwrap();
    let out = mechsim(dir.path(), &["run", &file, "--out", "res", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("res already exists and is not empty; pass --force"),
        "{}",
        stderr(&out)
    );
    assert!(dir.path().join("res/decisions.csv").exists(), "nothing touched");
    let out = mechsim(dir.path(), &["run", &file, "--out", "res", "--quiet", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.path().join("res/decisions.csv").exists(), "replaced, never mixed");
    assert!(dir.path().join("res/rounds.csv").exists());
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "no staging directory left behind");
}

#[test]
fn check_validates_every_shipped_scenario() {
    let mut files: Vec<String> = Vec::new();
    for entry in walk(&root().join("scenarios")) {
        files.push(entry.display().to_string());
    }
    assert!(files.len() >= 4);
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let out = mechsim(&root(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().filter(|l| l.starts_with("ok: ")).count(),
        files.len()
    );
}

pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
    out
}

#[test]
fn list_prints_games_and_policies_with_help() {
    let out = mechsim(&root(), &["list", "games"]);
    let text = stdout(&out);
    assert!(
        text.contains("dhumbal") && text.contains("rule sets: paper, traditional"),
        "{text}"
    );
    assert!(text.contains("jhyap_threshold"), "{text}");
    let out = mechsim(&root(), &["list", "policies"]);
    let text = stdout(&out);
    for p in [
        "random",
        "dhumbal-aggressive",
        "dhumbal-conservative",
        "dhumbal-balanced",
        "dhumbal-opportunistic",
    ] {
        assert!(text.contains(p), "{p} in {text}");
    }
    let out = mechsim(&root(), &["list", "gmaes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("possible values: games, policies"),
        "{}",
        stderr(&out)
    );
}

/// Each kind of bad input: (file text, expected pieces of the message).
#[test]
fn bad_scenarios_get_precise_messages() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            SMALL.replace("rounds = 40", "roundz = 40"),
            vec!["bad.toml:5:1:", "key `roundz`", "did you mean `rounds`?"],
        ),
        (
            SMALL.replace("rounds = 40", "rounds = -4"),
            vec!["bad.toml:5:10:", "key `rounds`"],
        ),
        (
            SMALL.replace("rounds = 40", "rounds = 0"),
            vec!["bad.toml:5:10:", "must be in 1..=1000000000, found 0"],
        ),
        (
            SMALL.replace("tables = 2", "tables = \"two\""),
            vec!["bad.toml:7:10:", "key `tables`", "expected u64"],
        ),
        (
            SMALL.replace("\"dhumbal-balanced\"", "\"dhumbal-balance\""),
            vec![
                "bad.toml:14:10:",
                "key `seats[1].policy`",
                "unknown policy \"dhumbal-balance\"",
                "did you mean \"dhumbal-balanced\"?",
                "valid: \"random\"",
            ],
        ),
        (
            SMALL.replace("name = \"dhumbal\"", "name = \"poker\""),
            vec![
                "bad.toml:8:17:",
                "key `game.name`",
                "unknown game \"poker\"",
                "registered: \"dhumbal\"",
            ],
        ),
        (
            SMALL.replace("rules = \"paper\"", "rules = \"papper\""),
            vec!["key `game.rules`", "did you mean \"paper\"?", "\"traditional\""],
        ),
        (
            SMALL.replace("players = 3 }", "players = 3, turncap = 5 }"),
            vec!["key `game.turncap`", "did you mean `turn_cap`?"],
        ),
        (
            SMALL.replace("players = 3 }", "players = 3, pickup = \"mine\" }"),
            vec!["key `game.pickup`", "one of \"own_discard\", \"previous_discard\""],
        ),
        (
            SMALL.replace("players = 3 }", "players = 3, turn_cap = 0 }"),
            vec!["key `game.turn_cap`", "an integer in 1..=1000000"],
        ),
        (
            SMALL.replace("players = 3", "players = 4"),
            vec!["key `game.players`", "4 players but 3 [[seats]] entries"],
        ),
        (
            SMALL.replace("rotation = \"rotate\"", "rotation = \"rotating\""),
            vec!["key `rotation`", "did you mean \"rotate\"?"],
        ),
        (
            SMALL.replace("kind = \"tournament\"", "kind = \"auction\""),
            vec!["key `kind`", "this build runs: \"tournament\""],
        ),
        (
            SMALL.replace("policy = \"random\"", "policy = \"random\"\niterations = 5"),
            vec![
                "key `seats[2].iterations`",
                "unknown key `iterations`",
                "valid keys: `policy`, `label`",
            ],
        ),
        (
            SMALL.replace("seeds = 3", "seeds = 3.5"),
            vec!["key `seeds`", "number of replicates"],
        ),
        (
            SMALL.replace(
                "policy = \"random\"",
                "policy = \"ismcts\"\nrollout = \"dhumbal-agresive\"",
            ),
            vec![
                "key `seats[2].rollout`",
                "did you mean \"dhumbal-aggressive\"?",
                "valid: \"random\", \"dhumbal-aggressive\"",
            ],
        ),
        (
            SMALL.replace("policy = \"random\"", "policy = \"ismcts\"\nrollout = \"ismcts\""),
            vec!["`rollout` must name a non-search policy of dhumbal"],
        ),
        (
            SMALL.replace("[[seats]]\npolicy = \"random\"\n", "[[seats]]\nlabel = \"x\"\n"),
            vec!["key `seats[2]`", "missing required key `policy`"],
        ),
        (
            SMALL.replace("name = \"small\"\n", ""),
            vec!["missing required key `name`"],
        ),
        (
            "name = \"x\"\nkind = \"tournament\"\ngame = {\n".to_string(),
            vec!["bad.toml:3:", "invalid TOML"],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (text, pieces) in cases {
        let file = write(dir.path(), "bad.toml", &text);
        let out = mechsim(dir.path(), &["check", &file]);
        assert_eq!(out.status.code(), Some(2), "should fail:\n{text}");
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{err}");
        for piece in pieces {
            assert!(err.contains(piece), "expected {piece:?} in\n{err}\nfor\n{text}");
        }
        let out = mechsim(dir.path(), &["run", &file, "--quiet", "--out", "never"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(!dir.path().join("never").exists(), "no output for an invalid scenario");
    }
}

#[test]
fn bad_flags_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = mechsim(dir.path(), &["run", "nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read scenario nope.toml"),
        "{}",
        stderr(&out)
    );
    let file = write(dir.path(), "s.toml", SMALL);
    let out = mechsim(dir.path(), &["run", &file, "--threads", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--threads"), "{}", stderr(&out));
    let out = mechsim(dir.path(), &["run", &file, "--rounds", "abc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid value 'abc'"), "{}", stderr(&out));
    let out = mechsim(dir.path(), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = mechsim(dir.path(), &["check", &file, "nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("1 of 2 file(s) invalid"), "{}", stderr(&out));
}

#[test]
fn rounds_and_seeds_flags_scale_a_run_down() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.toml", SMALL);
    let out = mechsim(
        dir.path(),
        &["run", &file, "--out", "r", "--rounds", "5", "--seeds", "1", "--quiet"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "--quiet prints nothing");
    let rounds = fs::read_to_string(dir.path().join("r/rounds.csv")).unwrap();
    assert_eq!(rounds.lines().count(), 1 + 5 * 3);
}

#[test]
fn solve_runs_write_a_curve_a_policy_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name = \"k\"\nkind = \"solve\"\ngame = { name = \"kuhn_poker\" }\n[solver]\nalgorithm = \"cfr+\"\niterations = 400\neval_every = 100\ncheckpoint_every = 200\n";
    let file = write(dir.path(), "k.toml", text);
    let out = mechsim(dir.path(), &["run", &file, "--out", "res"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("cfr+ on kuhn_poker (2 players), 400 iterations"),
        "{report}"
    );
    assert!(report.contains("NashConv"), "{report}");
    let curve = fs::read_to_string(dir.path().join("res/curve.csv")).unwrap();
    assert_eq!(
        curve.lines().next().unwrap(),
        "iteration,nash_conv,exploitability,value_p0,value_p1"
    );
    assert_eq!(curve.lines().count(), 1 + 5, "iterations 0, 100, 200, 300, 400");
    let policy: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("res/policy.json")).unwrap()).unwrap();
    assert_eq!(policy["infosets"].as_array().unwrap().len(), 12);
    assert!(dir.path().join("res/checkpoints/policy-00000200.json").is_file());
    assert!(
        !dir.path().join("res/checkpoints/policy-00000400.json").exists(),
        "the final policy is policy.json"
    );
    // A second identical run gives the same curve and policy, byte for byte.
    let out = mechsim(dir.path(), &["run", &file, "--out", "res2", "--quiet"]);
    assert!(out.status.success());
    for f in ["curve.csv", "policy.json"] {
        assert_eq!(
            fs::read(dir.path().join("res").join(f)).unwrap(),
            fs::read(dir.path().join("res2").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn search_policies_reject_bad_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name = \"t\"\nkind = \"tournament\"\ngame = { name = \"tic_tac_toe\" }\n[[seats]]\npolicy = \"mcts\"\nsimulations = \"many\"\n[[seats]]\npolicy = \"ismcts\"\n";
    let file = write(dir.path(), "t.toml", text);
    let out = mechsim(dir.path(), &["check", &file]);
    let err = stderr(&out);
    assert!(
        err.contains("t.toml:6:15: key `seats[0].simulations`: `simulations` must be an integer"),
        "{err}"
    );
    let text = text.replace("simulations = \"many\"", "simulations = 10");
    let file = write(dir.path(), "t.toml", &text);
    let out = mechsim(dir.path(), &["check", &file]);
    let err = stderr(&out);
    assert!(
        err.contains("unknown policy \"ismcts\" for tic_tac_toe"),
        "ISMCTS is not offered for perfect-information games: {err}"
    );
}

const TRAIN: &str = r#"name = "kuhn-ppo"
kind = "training"
seed = 3
tables = 4
game = { name = "kuhn_poker", players = 2 }

[training]
steps = 3000
update_every = 512
eval_every = 2
eval_rounds = 300
hidden = 32

[[opponents]]
policy = "random"
"#;

#[test]
fn train_writes_a_curve_and_a_checkpoint_that_plays_in_tournaments() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "t.toml", TRAIN);
    let out = mechsim(dir.path(), &["train", &file, "--out", "res"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(report.contains("ppo on kuhn_poker vs [random] on cpu"), "{report}");
    assert!(report.contains("play it: [[seats]] policy = \"ppo\""), "{report}");
    let curve = fs::read_to_string(dir.path().join("res/curve.csv")).unwrap();
    assert!(
        curve.starts_with("update,steps,episodes,train_payoff,train_win_rate,policy_loss"),
        "{curve}"
    );
    assert!(curve.lines().count() > 6, "a row per update");
    for f in [
        "model.mpk",
        "model.mpk.json",
        "best.mpk",
        "curve.svg",
        "summary.json",
        "manifest.json",
    ] {
        assert!(dir.path().join("res").join(f).is_file(), "{f}");
    }
    let svg = fs::read_to_string(dir.path().join("res/curve.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("evaluation (Wilson 95% band)"),
        "a learning-curve picture"
    );
    // The checkpoint is a policy in any tournament, and its value head is logged per decision.
    let tournament = "name = \"p\"\nkind = \"tournament\"\nrounds = 50\ngame = { name = \"kuhn_poker\" }\n[[seats]]\npolicy = \"ppo\"\ncheckpoint = \"res/model.mpk\"\n[[seats]]\npolicy = \"random\"\n";
    let file = write(dir.path(), "p.toml", tournament);
    let out = mechsim(dir.path(), &["run", &file, "--out", "play", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let decisions = fs::read_to_string(dir.path().join("play/decisions.csv")).unwrap();
    assert!(decisions.lines().count() > 50, "one row per ppo decision");
    // The win head's forecast is logged with every decision, as a probability.
    let header: Vec<&str> = decisions.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|c| *c == "win_probability").unwrap();
    for line in decisions.lines().skip(1) {
        let p: f64 = line.split(',').nth(col).unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&p), "{line}");
    }
}

#[test]
fn train_rejects_bad_devices_kinds_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "t.toml", TRAIN);
    let out = mechsim(dir.path(), &["train", &file, "--device", "tpu"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid value 'tpu' for '--device <DEVICE>'")
            && stderr(&out).contains("[possible values: cpu, cuda, wgpu]"),
        "{}",
        stderr(&out)
    );
    if !cfg!(feature = "cuda") {
        let out = mechsim(dir.path(), &["train", &file, "--device", "cuda"]);
        assert!(
            stderr(&out).contains("rebuild with `cargo build --release --features cuda`"),
            "{}",
            stderr(&out)
        );
    }
    let out = mechsim(dir.path(), &["run", &file]);
    assert!(
        stderr(&out).contains("is a training scenario: run it with `mechsim train"),
        "{}",
        stderr(&out)
    );
    let bad = write(dir.path(), "b.toml", &TRAIN.replace("steps = 3000", "stepz = 3000"));
    let out = mechsim(dir.path(), &["check", &bad]);
    assert!(
        stderr(&out).contains("key `training.stepz`: unknown key `stepz`; did you mean `steps`?"),
        "{}",
        stderr(&out)
    );
    let missing = "name = \"p\"\nkind = \"tournament\"\ngame = { name = \"kuhn_poker\" }\n[[seats]]\npolicy = \"ppo\"\ncheckpoint = \"nope.mpk\"\n[[seats]]\npolicy = \"random\"\n";
    let file = write(dir.path(), "m.toml", missing);
    let out = mechsim(dir.path(), &["check", &file]);
    assert!(
        stderr(&out).contains(
            "key `seats[0].checkpoint`: `checkpoint` must be a path to an existing file, but \"nope.mpk\" is not a file"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_closed_stdout_ends_quietly_with_success() {
    use std::process::{Command, Stdio};
    // The reader is gone before mechsim starts (`mechsim list policies | true`): its first
    // write fails with a broken pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_mechsim"))
        .args(["list", "policies"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "nothing on stderr: {}", stderr(&out));
}

#[test]
fn a_full_disk_on_stdout_is_a_clear_error() {
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("SKIPPED a_full_disk_on_stdout_is_a_clear_error: this system has no /dev/full");
        return;
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mechsim"))
        .args(["list", "games"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error: cannot write to standard output: No space left on device"),
        "{}",
        stderr(&out)
    );
}
