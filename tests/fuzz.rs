//! Fuzz targets, on the stable toolchain: proptest generators feed the scenario parser and
//! validator, the logged-bandit CSV reader (and the estimators behind it) and the external
//! agent protocol decoder with random input and with structured mutations of valid input
//! (shipped scenario files, valid logs, valid answers). Each must answer with a value or a
//! clear error, never a panic, and the errors must name what they are about.
//!
//! CI runs a short pass (`MECHSIM_FUZZ_CASES`, default 2,000 per target). A long run:
//! `MECHSIM_FUZZ_CASES=1000000 cargo test --release --test tests fuzz:: -- --nocapture`.
//! A failure prints the smallest input proptest found; keep it as a regression test.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mechsim::estimators::logged_csv::{Columns, read};
use mechsim::estimators::{OpeInput, evaluate_all, validate};
use mechsim::policies::external::protocol::{parse_answer, parse_hello};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Cases per target: `MECHSIM_FUZZ_CASES`, or 2,000.
fn cases() -> u32 {
    std::env::var("MECHSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// Runs `check` on `cases()` inputs from `strategy`, reporting the count.
fn fuzz<S: Strategy>(target: &str, strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let n = cases();
    let config = Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let started = std::time::Instant::now();
    if let Err(e) = runner.run(&strategy, check) {
        panic!("fuzz target {target}: {e}");
    }
    eprintln!(
        "fuzz target {target}: {n} cases, no failure, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Values that sit on the edges of what the readers accept.
const EDGE_VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "1.5",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "true",
    "false",
    "\"\"",
    "\"..\"",
    "\".\"",
    "\"a/b\"",
    "\"\\u0000\"",
    "\"random\"",
    "\"ppo\"",
    "\"ismcts\"",
    "\"dhumbal\"",
    "\"paper\"",
    "[]",
    "[1, 1, 1]",
    "{}",
    "{ name = \"dhumbal\" }",
    "'''\nx'''",
];

fn shipped_scenarios() -> &'static [(PathBuf, String)] {
    static FILES: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut out = Vec::new();
        let mut stack = vec![crate::support::root().join("scenarios")];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).expect("lists") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "toml") {
                    let text = fs::read_to_string(&path).expect("reads");
                    out.push((path, text));
                }
            }
        }
        out.sort();
        out
    })
}

/// One edit of a file's lines.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    ReplaceValue(usize, String),
    Insert(usize, String),
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(EDGE_VALUES).prop_map(String::from),
        1 => any::<i64>().prop_map(|v| v.to_string()),
        1 => any::<f64>().prop_map(|v| format!("{v:?}")),
        1 => "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let line = || {
        prop_oneof![
            Just("[[seats]]".to_string()),
            Just("[sweep]".to_string()),
            Just("[sweep.grid]".to_string()),
            Just("[output]".to_string()),
            Just("[training]".to_string()),
            Just("[solver]".to_string()),
            (
                proptest::sample::select(
                    &[
                        "name",
                        "kind",
                        "seed",
                        "seeds",
                        "rounds",
                        "tables",
                        "rotation",
                        "policy",
                        "label",
                        "iterations",
                        "time_ms",
                        "checkpoint",
                        "dir",
                        "steps",
                        "payment_cap",
                        "\"rounds\"",
                        "\"seats[0].policy\"",
                        "users",
                        "ticks",
                        "bootstrap",
                        "game.rules",
                    ][..]
                ),
                value()
            )
                .prop_map(|(k, v)| format!("{k} = {v}")),
            "[ -~]{0,30}",
        ]
    };
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), value()).prop_map(|(i, v)| Edit::ReplaceValue(i, v)),
        (any::<usize>(), line()).prop_map(|(i, l)| Edit::Insert(i, l)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Delete(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::ReplaceValue(i, v) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                if let Some((k, _)) = l.split_once('=') {
                    *l = format!("{k}= {v}");
                }
            }
            Edit::Insert(i, l) => lines.insert(i % (lines.len() + 1), l.clone()),
            _ => {}
        }
    }
    lines.join("\n")
}

#[test]
fn scenario_parser_and_validator() {
    let files = shipped_scenarios();
    let strategy = prop_oneof![
        1 => ".{0,200}".prop_map(|t| (0usize, t, true)),
        6 => (0..files.len(), proptest::collection::vec(edit(), 1..5))
            .prop_map(|(f, edits)| (f, apply(&files[f].1, &edits), false)),
    ];
    fuzz("scenario", strategy, |(f, text, random)| {
        let path: &Path = &files[f].0;
        if let Err(e) = mechsim::scenario::parse(path, &text) {
            let message = e.to_string();
            let name = path.file_name().expect("a name").to_string_lossy();
            prop_assert!(
                random || message.contains(name.as_ref()) || message.contains("sweep"),
                "an error that does not name the file: {message}"
            );
        }
        Ok(())
    });
}

const CSV_COLUMNS: &[&str] = &[
    "action",
    "reward",
    "pscore",
    "pi_e_0",
    "pi_e_1",
    "pi_e_2",
    "q_hat_0",
    "q_hat_1",
    "context_x",
    "other",
];

fn cell() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::sample::select(&["0", "1", "2", "0.5", "0.25", "1e-320", "1e-12", "1e300", "-1e308", "nan", "inf", "", "-0", "1.0000001", "\"1\"", "\"a,b\"", "3e-5"][..])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => any::<f64>().prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..6),
    ]
}

fn logged_csv() -> impl Strategy<Value = Vec<u8>> {
    let header = proptest::sample::subsequence(CSV_COLUMNS, 1..CSV_COLUMNS.len());
    (header, 0..6usize).prop_flat_map(|(columns, rows)| {
        let width = columns.len();
        proptest::collection::vec(proptest::collection::vec(cell(), width..=width + 1), rows).prop_map(move |rows| {
            let mut text = columns.join(",").into_bytes();
            text.push(b'\n');
            for row in rows {
                text.extend(row.join(&b","[..]));
                text.push(b'\n');
            }
            text
        })
    })
}

#[test]
fn logged_csv_reader_and_estimators() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("log.csv");
    fuzz("logged_csv", logged_csv(), |bytes| {
        fs::write(&path, &bytes).expect("writes");
        let Ok(log) = read(&path, &Columns::default()) else {
            return Ok(());
        };
        for (_, rewards) in &log.rewards {
            let input = OpeInput {
                actions: &log.actions,
                rewards,
                pscore: &log.pscore,
                pi_e: &log.pi_e,
                q_hat: None,
                k: log.k,
            };
            if validate(&input).is_err() || input.is_empty() {
                continue;
            }
            if let Ok(rows) = evaluate_all(&input, Default::default(), 20, 1) {
                for r in rows {
                    prop_assert!(r.estimate.is_finite(), "{} printed a non-finite estimate", r.estimator);
                }
            }
        }
        Ok(())
    });
}

fn answer_line() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("\"type\": \"action\"".to_string()),
        Just("\"type\": \"hello\"".to_string()),
        Just("\"protocol\": 1".to_string()),
        Just("\"name\": \"x\"".to_string()),
        value().prop_map(|v| format!("\"id\": {v}")),
        value().prop_map(|v| format!("\"action\": {v}")),
        value().prop_map(|v| format!("\"value\": {v}")),
        value().prop_map(|v| format!("\"win_probability\": {v}")),
        (value(), value()).prop_map(|(a, p)| format!("\"probabilities\": {{\"{a}\": {p}}}")),
        Just("\"probabilities\": [[[[[[[[[[[[]]]]]]]]]]]]".to_string()),
    ];
    prop_oneof![
        6 => proptest::collection::vec(field, 0..6).prop_map(|f| format!("{{{}}}", f.join(", "))),
        1 => ".{0,80}",
        1 => (1..2000usize).prop_map(|depth| "[".repeat(depth)),
    ]
}

#[test]
fn agent_protocol_decoder() {
    fuzz(
        "protocol",
        (answer_line(), any::<u64>(), proptest::collection::vec(0u32..400, 0..5)),
        |(line, id, legal)| {
            let _ = parse_hello(&line);
            let _ = parse_answer(&line, id % 4, &legal);
            Ok(())
        },
    );
}
