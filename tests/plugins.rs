//! Policies brought in Rust: the `custom_policy` example registers a policy and hands over
//! to mechsim's CLI; its scenario runs with it, `list` shows it, its parameters are checked,
//! and the plain `mechsim` binary does not know it.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{example_binary, mechsim, root, stderr, stdout};

fn example() -> PathBuf {
    example_binary("custom_policy")
}

#[test]
fn a_registered_policy_plays_from_scenario_files() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = root().join("examples/custom_policy.toml");
    let o = Command::new(example())
        .args(["run", scenario.to_str().unwrap(), "--out", "out", "--rounds", "20"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("lowest-first"), "{}", stdout(&o));
    let rows = std::fs::read_to_string(dir.path().join("out/rounds.csv")).unwrap();
    assert!(rows.lines().filter(|l| l.contains(",lowest-first,")).count() == 40);
    let o = Command::new(example()).args(["list", "policies"]).output().unwrap();
    assert!(stdout(&o).contains("lowest-first"), "{}", stdout(&o));
    // Its parameters are validated like a built-in policy's.
    let bad = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace("noise = 0.2", "noise = 2.0");
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let o = Command::new(example())
        .args(["check", "bad.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("seats[0].noise"), "{}", stderr(&o));
    // The stock binary does not know it.
    let o = mechsim(dir.path(), &["check", scenario.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown policy \"lowest-first\""), "{}", stderr(&o));
}
