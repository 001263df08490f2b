//! Nothing lost: mechsim writes only where a result can live on its own, replaces only what
//! it wrote, swaps replaced results, cleans up after killed runs, refuses a second run on
//! the same output, and refuses to resume a sweep over units of another version of it.

use std::fs;
use std::path::Path;

use crate::support::{SMALL, mechsim, stderr};

/// Every file under `dir` with a hash of its bytes, sorted (hidden files included).
fn tree(dir: &Path) -> Vec<(String, u64)> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("lists") {
            let p = e.expect("an entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.strip_prefix(dir).expect("inside").display().to_string();
                let mut hasher = DefaultHasher::new();
                fs::read(&p).expect("reads").hash(&mut hasher);
                out.push((name, hasher.finish()));
            }
        }
    }
    out.sort();
    out
}

fn small(dir: &Path) {
    fs::write(dir.join("s.toml"), SMALL).expect("writes");
}

#[test]
fn force_never_deletes_the_working_directory_its_parents_or_inputs() {
    let top = tempfile::tempdir().expect("a temporary directory");
    let dir = top.path().join("work");
    fs::create_dir(&dir).expect("creates");
    small(&dir);
    fs::write(dir.join("w.toml"), SWEEP).expect("writes");
    fs::write(dir.join("notes.txt"), "my notes").expect("writes");
    let before = tree(top.path());
    for out in [".", "..", "./", "res/..", "/", "a/b/../.."] {
        for args in [
            vec!["run", "s.toml", "--out", out, "--force", "--quiet"],
            vec!["sweep", "w.toml", "--out", out, "--force", "--quiet"],
            vec!["analyze", "res", "--out", out, "--force"],
        ] {
            let o = mechsim(&dir, &args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert!(
                stderr(&o).contains("refusing output directory"),
                "{args:?}: {}",
                stderr(&o)
            );
        }
    }
    // A name or `[output] dir` that points at the working directory is refused by `check`.
    for (from, to) in [
        ("name = \"small\"", "name = \"..\""),
        ("name = \"small\"", "name = \".\""),
        ("name = \"small\"", "name = \"a\\u0000b\""),
        ("name = \"small\"", "name = \"small\"\n[output]\ndir = \"..\""),
        ("name = \"small\"", "name = \"small\"\n[output]\ndir = \"\""),
        ("name = \"small\"", "name = \"small\"\n[output]\ndir = \"x/\\u0000\""),
    ] {
        fs::write(dir.join("bad.toml"), SMALL.replacen(from, to, 1)).expect("writes");
        let o = mechsim(&dir, &["check", "bad.toml"]);
        assert_eq!(o.status.code(), Some(2), "{to}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("bad.toml:"),
            "names the file and line: {}",
            stderr(&o)
        );
        let o = mechsim(&dir, &["run", "bad.toml", "--force", "--quiet"]);
        assert_eq!(o.status.code(), Some(2), "{to}");
    }
    // `[output] dir` naming the folder that holds the scenario: `check` refuses it too.
    fs::write(dir.join("own.toml"), format!("{SMALL}\n[output]\ndir = \"../work\"\n")).expect("writes");
    let o = mechsim(&dir, &["check", "own.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    fs::remove_file(dir.join("own.toml")).expect("removes");
    fs::remove_file(dir.join("bad.toml")).expect("removes");
    assert_eq!(tree(top.path()), before, "nothing was written or deleted");
}

#[test]
fn analyze_never_writes_over_its_input_and_force_spares_foreign_files() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    small(dir.path());
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "d", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = tree(&dir.path().join("d"));
    let o = mechsim(dir.path(), &["analyze", "d", "--out", "d", "--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("which this command reads"), "{}", stderr(&o));
    assert_eq!(tree(&dir.path().join("d")), run, "the input is untouched");
    // The report is mechsim's: analyze again with --force replaces it.
    for _ in 0..2 {
        let o = mechsim(dir.path(), &["analyze", "d", "--force"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // A run directory with a file mechsim did not write is not replaced, even with --force.
    fs::write(dir.path().join("d/my-notes.txt"), "keep me").expect("writes");
    let before = tree(&dir.path().join("d"));
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "d", "--force", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("my-notes.txt"), "names the file: {}", stderr(&o));
    assert_eq!(tree(&dir.path().join("d")), before);
    // A directory with no manifest at all is not mechsim's either.
    fs::create_dir(dir.path().join("mine")).expect("creates");
    fs::write(dir.path().join("mine/data.csv"), "a,b\n").expect("writes");
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "mine", "--force", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no manifest.json"), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dir.path().join("mine/data.csv")).expect("reads"),
        "a,b\n"
    );
}

#[test]
fn replacing_swaps_and_leaves_nothing_behind_and_stale_staging_is_cleaned() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    small(dir.path());
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "d", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = fs::read(dir.path().join("d/rounds.csv")).expect("reads");
    // A killed run's staging directory (its pid cannot be alive: above the kernel's limit).
    let stale = dir.path().join(".d.partial-4194312");
    fs::create_dir(&stale).expect("creates");
    fs::write(stale.join(".mechsim-staging"), "").expect("writes");
    fs::write(stale.join("rounds.csv"), "half").expect("writes");
    // Something else with a similar name that mechsim did not write stays.
    let lookalike = dir.path().join(".d.partial-4194313");
    fs::create_dir(&lookalike).expect("creates");
    fs::write(lookalike.join("mine.txt"), "mine").expect("writes");
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "d", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "needs --force: {}", stderr(&o));
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "d", "--force", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(dir.path().join("d/rounds.csv")).expect("reads"), first);
    assert!(!stale.exists(), "the dead run's staging is gone");
    assert!(lookalike.join("mine.txt").is_file(), "the look-alike stays");
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .expect("lists")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".d.partial-4194313", "d", "s.toml"],
        "no lock, staging or old copy left"
    );
}

#[test]
fn a_second_run_on_the_same_output_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    small(dir.path());
    let held = mechsim::output::guard::OutputLock::acquire(&dir.path().join("d")).expect("locks");
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "d", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let message = stderr(&o);
    assert!(
        message.contains("is being written by") && message.contains(&std::process::id().to_string()),
        "names the holder: {message}"
    );
    assert!(!dir.path().join("d").exists(), "the refused run wrote nothing");
    drop(held);
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "d", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

const SWEEP: &str = r#"
name = "s"
kind = "tournament"
seed = 5
seeds = 1
rounds = 3
game = { name = "tic_tac_toe" }

[[seats]]
policy = "random"

[[seats]]
policy = "random"

[sweep]
seeds = 2

[sweep.grid]
"seed" = [1, 2]
"#;

#[test]
fn resuming_over_another_version_of_a_sweep_is_refused_naming_the_units() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fs::write(dir.path().join("s.toml"), SWEEP).expect("writes");
    let o = mechsim(dir.path(), &["sweep", "s.toml", "--out", "o", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let done = tree(&dir.path().join("o"));
    // More replicates: the units already there are kept and only the new ones run.
    fs::write(dir.path().join("s.toml"), SWEEP.replace("seeds = 2", "seeds = 3")).expect("writes");
    let o = mechsim(dir.path(), &["sweep", "s.toml", "--out", "o", "--resume", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let now = tree(&dir.path().join("o"));
    for unit in done.iter().filter(|(n, _)| n.starts_with("units/")) {
        assert!(now.contains(unit), "{} is kept as it was", unit.0);
    }
    // Another scenario: refused, naming units, and nothing is merged.
    fs::write(dir.path().join("s.toml"), SWEEP.replace("rounds = 3", "rounds = 4")).expect("writes");
    let before = tree(&dir.path().join("o"));
    let o = mechsim(dir.path(), &["sweep", "s.toml", "--out", "o", "--resume", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let message = stderr(&o);
    assert!(
        message.contains("another version of this sweep") && message.contains("-r0000") && message.contains("--force"),
        "{message}"
    );
    assert_eq!(tree(&dir.path().join("o")), before, "nothing changed");
    let o = mechsim(dir.path(), &["sweep", "s.toml", "--out", "o", "--force", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn sweep_grids_that_cannot_run_are_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let huge: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let axis = format!("[{}]", huge.join(", "));
    let cases = [
        (
            SWEEP.replace(
                "\"seed\" = [1, 2]",
                &(0..7)
                    .map(|i| format!("\"a{i}\" = {axis}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            "a sweep has at most 100000",
        ),
        (
            SWEEP.replace("\"seed\" = [1, 2]", &format!("\"rounds\" = {axis}\n\"seed\" = {axis}")),
            "a sweep has at most 100000",
        ),
        (
            SWEEP.replace("\"seed\" = [1, 2]", "\"seeds\" = [1, 2]"),
            "the grid cannot vary them",
        ),
    ];
    for (text, expected) in cases {
        fs::write(dir.path().join("bad.toml"), &text).expect("writes");
        let o = mechsim(dir.path(), &["sweep", "bad.toml", "--out", "o", "--quiet"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{expected}: {}", stderr(&o));
        assert!(!dir.path().join("o").exists(), "no work started");
    }
}

#[test]
fn thousands_of_units_run_one_after_another_without_nesting() {
    // 2 cells x 2,500 seeds: this overflowed the stack when units nested rayon pools.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = SWEEP
        .replace("seeds = 2\n", "seeds = 2500\n")
        .replace("rounds = 3", "rounds = 1");
    fs::write(dir.path().join("s.toml"), text).expect("writes");
    let o = mechsim(
        dir.path(),
        &["sweep", "s.toml", "--out", "o", "--quiet", "--threads", "2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let units = fs::read_dir(dir.path().join("o/units"))
        .expect("lists")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "csv"))
        })
        .count();
    assert_eq!(units, 5000);
}

#[test]
fn every_shipped_scenario_writes_to_its_own_directory() {
    let root = crate::support::root();
    let mut seen: std::collections::HashMap<std::path::PathBuf, String> = std::collections::HashMap::new();
    let mut stack = vec![root.join("scenarios")];
    let mut count = 0;
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("lists") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let text = fs::read_to_string(&path).expect("reads");
            let out = if text.contains("\n[sweep]") {
                let stem = path.file_stem().expect("a stem").to_string_lossy().into_owned();
                std::path::PathBuf::from("results").join(format!("sweep-{stem}"))
            } else {
                mechsim::scenario::load(&path).expect("loads").output_dir
            };
            let name = path.strip_prefix(&root).expect("inside").display().to_string();
            if let Some(other) = seen.insert(out.clone(), name.clone()) {
                panic!("{name} and {other} both write to {}", out.display());
            }
            count += 1;
        }
    }
    assert!(count >= 20, "found {count} scenarios");
}

#[test]
fn a_seed_listed_twice_is_refused_at_its_position() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = SMALL.replacen("seeds = 3", "seeds = [4, 9, 4]", 1);
    fs::write(dir.path().join("d.toml"), text).expect("writes");
    let o = mechsim(dir.path(), &["check", "d.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let message = stderr(&o);
    assert!(
        message.contains("d.toml:") && message.contains("seeds[2]") && message.contains("listed twice (also at [0])"),
        "{message}"
    );
}
