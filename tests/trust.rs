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
    let o = mechsim(&dir, &["run", "s.toml", "--out", "res", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
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

/// Starts `mechsim args` in `dir`, waits until it holds the lock on `out` (the work has
/// started) and `settle` more, then sends SIGINT; returns its output.
#[cfg(unix)]
fn interrupted(dir: &Path, args: &[&str], out: &str, settle: std::time::Duration) -> std::process::Output {
    use std::process::{Command, Stdio};
    let child = Command::new(env!("CARGO_BIN_EXE_mechsim"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let started = std::time::Instant::now();
    let lock = dir.join(format!(".{out}.lock"));
    while !lock.exists() {
        assert!(started.elapsed().as_secs() < 120, "the run never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(settle);
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("signals");
    child.wait_with_output().expect("ends")
}

#[cfg(unix)]
#[test]
fn an_interrupted_training_run_keeps_its_model_best_checkpoint_curve_and_summary() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = fs::read_to_string(crate::support::root().join("scenarios/training/dhumbal_ppo_vs_random.toml"))
        .expect("reads")
        .replace("update_every = 4096", "update_every = 128")
        .replace("eval_rounds = 400", "eval_rounds = 8")
        .replace("tables = 32", "tables = 4");
    fs::write(dir.path().join("t.toml"), text).expect("writes");
    let o = interrupted(
        dir.path(),
        &["train", "t.toml", "--out", "o", "--quiet"],
        "o",
        std::time::Duration::from_secs(2),
    );
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("interrupted after") && said.contains("o"),
        "says where: {said}"
    );
    for file in [
        "model.mpk",
        "model.mpk.json",
        "best.mpk",
        "curve.csv",
        "summary.json",
        "manifest.json",
    ] {
        assert!(dir.path().join("o").join(file).is_file(), "{file} is kept");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("o/summary.json")).expect("reads")).expect("json");
    assert_eq!(summary["interrupted"], true);
    assert!(summary["steps"].as_u64().expect("steps") < 200_000);
}

#[cfg(unix)]
#[test]
fn interrupted_runs_write_nothing_and_interrupted_sweeps_resume() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let long = SMALL
        .replace("rounds = 40", "rounds = 1000000")
        .replace("seeds = 3", "seeds = 1");
    fs::write(dir.path().join("s.toml"), long).expect("writes");
    let o = interrupted(
        dir.path(),
        &["run", "s.toml", "--out", "o", "--quiet"],
        "o",
        std::time::Duration::from_millis(300),
    );
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("interrupted: the run stopped before its end and wrote nothing"),
        "{}",
        stderr(&o)
    );
    let names: Vec<String> = fs::read_dir(dir.path())
        .expect("lists")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["s.toml"], "no output, staging or lock left");
    // A sweep of many small units: stopped between units, then resumed to the end.
    let text = SWEEP.replace("seeds = 2\n", "seeds = 400\n");
    fs::write(dir.path().join("w.toml"), &text).expect("writes");
    let o = interrupted(
        dir.path(),
        &["sweep", "w.toml", "--out", "w", "--quiet", "--threads", "1"],
        "w",
        std::time::Duration::from_millis(300),
    );
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let message = stderr(&o);
    assert!(
        message.contains("of 800 units are written in w") && message.contains("--resume"),
        "{message}"
    );
    let o = mechsim(dir.path(), &["sweep", "w.toml", "--out", "w", "--resume", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    fs::write(dir.path().join("w2.toml"), &text).expect("writes");
    let o = mechsim(dir.path(), &["sweep", "w2.toml", "--out", "w2", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let strip =
        |t: Vec<(String, u64)>| -> Vec<(String, u64)> { t.into_iter().filter(|(n, _)| n != "manifest.json").collect() };
    assert_eq!(
        strip(tree(&dir.path().join("w"))),
        strip(tree(&dir.path().join("w2"))),
        "the resumed sweep equals an uninterrupted one"
    );
}

#[cfg(unix)]
#[test]
fn lock_and_chart_paths_never_write_through_links_or_over_other_files() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("a temporary directory");
    small(dir.path());
    fs::write(dir.path().join("precious.txt"), "precious").expect("writes");
    fs::create_dir(dir.path().join("results")).expect("creates");
    symlink("../precious.txt", dir.path().join("results/.q.lock")).expect("links");
    fs::write(dir.path().join("results/.r.lock"), "my notes").expect("writes");
    for out in ["results/q", "results/r"] {
        let o = mechsim(dir.path(), &["run", "s.toml", "--out", out, "--quiet"]);
        assert_eq!(o.status.code(), Some(2), "{out}: {}", stderr(&o));
        assert!(stderr(&o).contains("lock file"), "{}", stderr(&o));
    }
    assert_eq!(
        fs::read_to_string(dir.path().join("precious.txt")).expect("reads"),
        "precious"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("results/.r.lock")).expect("reads"),
        "my notes"
    );
    assert!(
        fs::symlink_metadata(dir.path().join("results/.q.lock"))
            .expect("kept")
            .is_symlink()
    );
    // score --svg: never over its input, a file that is not a chart, or a link.
    fs::write(dir.path().join("f.csv"), "p,y\n0.2,0\n0.9,1\n").expect("writes");
    symlink("precious.txt", dir.path().join("link.svg")).expect("links");
    for (svg, says) in [
        ("f.csv", "that is the input file"),
        ("./f.csv", "that is the input file"),
        ("precious.txt", "not an SVG picture"),
        ("link.svg", "not a regular file"),
        ("results", "not a regular file"),
    ] {
        let o = mechsim(
            dir.path(),
            &["score", "f.csv", "--prob", "p", "--outcome", "y", "--svg", svg],
        );
        assert_eq!(o.status.code(), Some(2), "{svg}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{svg}: {}", stderr(&o));
    }
    assert_eq!(
        fs::read_to_string(dir.path().join("f.csv")).expect("reads"),
        "p,y\n0.2,0\n0.9,1\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("precious.txt")).expect("reads"),
        "precious"
    );
    for _ in 0..2 {
        let o = mechsim(
            dir.path(),
            &["score", "f.csv", "--prob", "p", "--outcome", "y", "--svg", "chart.svg"],
        );
        assert!(o.status.success(), "a chart is written, then replaced: {}", stderr(&o));
    }
}

#[test]
fn files_users_add_inside_mechsim_folders_are_never_replaced() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fs::write(dir.path().join("w.toml"), SWEEP).expect("writes");
    let o = mechsim(dir.path(), &["sweep", "w.toml", "--out", "sw", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (file, text) in [("sw/cells/NOTES.md", "notes"), ("sw/units/mywork/data.txt", "data")] {
        let path = dir.path().join(file);
        fs::create_dir_all(path.parent().expect("a parent")).expect("creates");
        fs::write(&path, text).expect("writes");
        let before = tree(&dir.path().join("sw"));
        for args in [
            vec!["sweep", "w.toml", "--out", "sw", "--force", "--quiet"],
            vec!["sweep", "w.toml", "--out", "sw", "--resume", "--quiet"],
        ] {
            let o = mechsim(dir.path(), &args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert!(stderr(&o).contains("mechsim did not write"), "{args:?}: {}", stderr(&o));
        }
        assert_eq!(tree(&dir.path().join("sw")), before, "{file} and everything else kept");
        fs::remove_file(&path).expect("removes");
    }
    // A run folder is not a sweep to resume into.
    small(dir.path());
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "run1", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = tree(&dir.path().join("run1"));
    let o = mechsim(dir.path(), &["sweep", "w.toml", "--out", "run1", "--resume", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(tree(&dir.path().join("run1")), before);
    // A solver run with checkpoints in a sub-folder is replaced whole.
    let kuhn = crate::support::root().join("scenarios/search/kuhn_cfr.toml");
    let kuhn = kuhn.to_str().expect("a UTF-8 path");
    for force in [false, true] {
        let mut args = vec!["run", kuhn, "--out", "k", "--quiet", "--rounds", "50"];
        if force {
            args.push("--force");
        }
        let o = mechsim(dir.path(), &args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

#[cfg(unix)]
#[test]
fn a_linked_manifest_proves_nothing_and_odd_arguments_do_not_panic() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("a temporary directory");
    small(dir.path());
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "d1", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    fs::create_dir(dir.path().join("u")).expect("creates");
    fs::write(dir.path().join("u/rounds.csv"), "mine").expect("writes");
    symlink("../d1/manifest.json", dir.path().join("u/manifest.json")).expect("links");
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "u", "--force", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dir.path().join("u/rounds.csv")).expect("kept"),
        "mine"
    );
    // A non-UTF-8 output name runs (the manifest records it lossily) instead of panicking.
    let odd = std::ffi::OsStr::from_bytes(b"x\xffy");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mechsim"))
        .args([
            "run".as_ref(),
            "s.toml".as_ref(),
            "--quiet".as_ref(),
            "--out".as_ref(),
            odd,
        ])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    // Too long a name is refused by check, before any work.
    let long = SMALL.replacen("name = \"small\"", &format!("name = \"{}\"", "n".repeat(240)), 1);
    fs::write(dir.path().join("long.toml"), long).expect("writes");
    let o = mechsim(dir.path(), &["check", "long.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("at most 200 bytes"), "{}", stderr(&o));
    // Wrong inputs to analyze leave nothing behind and say what they are.
    fs::write(dir.path().join("afile"), "x").expect("writes");
    for (input, says) in [("missing/deep/x", "it does not exist"), ("afile", "it is a file")] {
        let o = mechsim(dir.path(), &["analyze", input]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
    }
    assert!(!dir.path().join("missing").exists(), "no folder created");
    // An I/O error names its cause once.
    let o = mechsim(dir.path(), &["score", "nofile.csv", "--prob", "p", "--outcome", "y"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).matches("No such file").count(), 1, "{}", stderr(&o));
}

#[test]
fn rounds_and_seeds_change_what_they_name_and_nothing_else() {
    let root = crate::support::root();
    for (file, rounds, seeds) in [
        ("scenarios/dhumbal/rule_based.toml", true, true),
        ("scenarios/adload/ope_benchmark.toml", false, true),
        ("scenarios/mechanism/closed_form.toml", true, true),
        ("scenarios/search/kuhn_cfr.toml", true, false),
        ("scenarios/training/dhumbal_ppo.toml", false, false),
    ] {
        let s = mechsim::scenario::load(&root.join(file)).expect("loads");
        let (n_rounds, n_seeds) = mechsim::kinds::of(&s).size(&s.plan);
        // Up and back down: the same scenario (nothing else was touched on the way).
        let there = s.clone().with_seeds(n_seeds + 3).and_then(|t| t.with_seeds(n_seeds));
        assert_eq!(there.is_ok(), seeds, "{file}: --seeds");
        if let Ok(back) = there {
            assert_eq!(back, s, "{file}: --seeds changed something else");
        }
        let there = s
            .clone()
            .with_rounds(n_rounds * 2)
            .and_then(|t| t.with_rounds(n_rounds));
        assert_eq!(there.is_ok(), rounds, "{file}: --rounds");
        if let Ok(back) = there {
            assert_eq!(back, s, "{file}: --rounds changed something else");
        }
    }
    // Through the command line: raising works, and a kind that has no rounds says so.
    let dir = tempfile::tempdir().expect("a temporary directory");
    small(dir.path());
    let o = mechsim(
        dir.path(),
        &[
            "run", "s.toml", "--out", "o", "--rounds", "60", "--seeds", "4", "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = fs::read_to_string(dir.path().join("o/rounds.csv"))
        .expect("reads")
        .lines()
        .count();
    assert_eq!(rows, 1 + 60 * 4 * 3, "60 rounds x 4 seeds x 3 seats");
    let training = root.join("scenarios/training/dhumbal_ppo.toml");
    let o = mechsim(dir.path(), &["run", training.to_str().expect("utf-8"), "--rounds", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("`--rounds` does not apply to training scenarios"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn steps_are_a_true_upper_bound_on_training() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = fs::read_to_string(crate::support::root().join("scenarios/training/dhumbal_ppo_vs_random.toml"))
        .expect("reads")
        .replace("update_every = 4096", "update_every = 128")
        .replace("eval_rounds = 400", "eval_rounds = 4");
    fs::write(dir.path().join("t.toml"), text).expect("writes");
    let o = mechsim(
        dir.path(),
        &["train", "t.toml", "--out", "o", "--steps", "300", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("o/summary.json")).expect("reads")).expect("json");
    let steps = summary["steps"].as_u64().expect("steps");
    assert!(
        (200..=300).contains(&steps),
        "32 tables answer together, yet the bound holds: {steps}"
    );
    assert!(
        summary["final_eval"]["rounds"].as_u64().is_some(),
        "the last update is evaluated: {summary}"
    );
    // A budget with room for no whole trajectory trains nothing: an error, not a silent success.
    let o = mechsim(
        dir.path(),
        &["train", "t.toml", "--out", "o2", "--steps", "1", "--quiet"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("room for no whole trajectory"), "{}", stderr(&o));
    assert!(!dir.path().join("o2").exists());
}

#[test]
fn flags_keep_to_the_limits_of_the_file() {
    let root = crate::support::root();
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (file, args, says) in [
        (
            "scenarios/adload/bandits.toml",
            vec!["--seeds", "1001"],
            "at most 1000 replicates",
        ),
        (
            "scenarios/mechanism/closed_form.toml",
            vec!["--rounds", "1000000000"],
            "at most 100000000 rounds",
        ),
        (
            "scenarios/mechanism/closed_form.toml",
            vec!["--seeds", "10001"],
            "at most 10000 replicates",
        ),
    ] {
        let path = root.join(file);
        let mut all = vec!["run", path.to_str().expect("utf-8"), "--out", "o", "--quiet"];
        all.extend(args);
        let o = mechsim(dir.path(), &all);
        assert_eq!(o.status.code(), Some(2), "{file}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{file}: {}", stderr(&o));
    }
}

#[cfg(unix)]
#[test]
fn an_interrupted_solve_stops_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kuhn = crate::support::root().join("scenarios/search/kuhn_cfr.toml");
    let o = interrupted(
        dir.path(),
        &[
            "run",
            kuhn.to_str().expect("utf-8"),
            "--rounds",
            "100000000",
            "--out",
            "k",
            "--quiet",
        ],
        "k",
        std::time::Duration::from_millis(300),
    );
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote nothing"), "{}", stderr(&o));
    assert!(!dir.path().join("k").exists());
}

#[test]
fn extreme_numbers_get_clear_errors_not_panics_or_nan_estimates() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // compare: values whose squares overflow (statrs panicked on the NaN t they made).
    fs::write(
        dir.path().join("big.csv"),
        "g,v,k\na,1e308,1\nb,-1e308,1\na,1.7e308,2\nb,-1.7e308,2\na,1e308,3\nb,1e300,3\n",
    )
    .expect("writes");
    for args in [
        vec!["compare", "big.csv", "--group", "g", "--value", "v"],
        vec!["compare", "big.csv", "--group", "g", "--value", "v", "--paired-by", "k"],
    ] {
        let o = mechsim(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("big.csv:2: column `v`: expected a finite number within ±1e150"),
            "{}",
            stderr(&o)
        );
    }
    // analyze: a rounds.csv holding nan or inf.
    small(dir.path());
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "d", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rounds = fs::read_to_string(dir.path().join("d/rounds.csv")).expect("reads");
    let header: Vec<&str> = rounds.lines().next().expect("a header").split(',').collect();
    let at = header
        .iter()
        .position(|c| *c == "coin_change")
        .expect("a payoff column");
    for bad in ["nan", "inf", "-inf", "1e200"] {
        let mut lines: Vec<String> = rounds.lines().map(String::from).collect();
        let mut fields: Vec<String> = lines[2].split(',').map(String::from).collect();
        fields[at] = bad.into();
        lines[2] = fields.join(",");
        fs::write(dir.path().join("d/rounds.csv"), lines.join("\n") + "\n").expect("writes");
        let o = mechsim(dir.path(), &["analyze", "d", "--force"]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("rounds.csv:3: column `coin_change`: expected a finite number"),
            "{bad}: {}",
            stderr(&o)
        );
    }
    // ope: a subnormal propensity, rewards near the largest float, a NaN context.
    let cases = [
        (
            "action,reward,pscore,pi_e_0,pi_e_1\n0,1,1e-320,1,0\n1,0,0.5,0,1\n",
            "log.csv:2: column `pscore`: propensity 1e-320 is below 1e-12",
        ),
        (
            "action,reward,pscore,pi_e_0,pi_e_1\n0,1e308,0.5,1,0\n1,-1e308,0.5,0,1\n",
            "log.csv:2: column `reward`: must be a finite number within ±1e100",
        ),
        (
            "action,reward,pscore,pi_e_0,pi_e_1,context_x\n0,1,0.5,1,0,1\n1,0,0.5,0,1,nan\n",
            "log.csv:3: column `context_x`: must be a finite number",
        ),
    ];
    for (text, says) in cases {
        fs::write(dir.path().join("log.csv"), text).expect("writes");
        let o = mechsim(dir.path(), &["ope", "log.csv"]);
        assert_eq!(o.status.code(), Some(2), "{says}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{says}: {}", stderr(&o));
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("NaN"),
            "no NaN estimate is printed"
        );
    }
}

#[test]
fn check_refuses_the_seats_a_run_would_refuse() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let base = "name = \"p\"\nkind = \"tournament\"\nseeds = 1\nrounds = 3\ngame = { name = \"dhumbal\", rules = \"paper\", players = 2 }\n[[seats]]\npolicy = \"random\"\n";
    for (seat, says) in [
        ("[[seats]]\npolicy = \"ppo\"\n", "seats[1].policy"),
        (
            "[[seats]]\npolicy = \"ismcts\"\niterations = 0\n",
            "`iterations = 0` needs a `time_ms` budget",
        ),
    ] {
        fs::write(dir.path().join("p.toml"), format!("{base}{seat}")).expect("writes");
        let o = mechsim(dir.path(), &["check", "p.toml"]);
        assert_eq!(o.status.code(), Some(2), "{seat}: {}", stderr(&o));
        let message = stderr(&o);
        assert!(
            message.contains("p.toml:") && message.contains(says),
            "{seat}: {message}"
        );
    }
}

#[test]
fn compare_ranks_many_groups_without_holding_every_pair() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut text = String::from("g,v\n");
    for g in 0..250 {
        for r in 0..3 {
            text.push_str(&format!("g{g},{}\n", g * 10 + r));
        }
    }
    fs::write(dir.path().join("many.csv"), &text).expect("writes");
    let o = mechsim(dir.path(), &["compare", "many.csv", "--group", "g", "--value", "v"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("250 groups make 31125 pairs") && out.contains("--all-pairs"),
        "{out}"
    );
    assert!(out.contains("   1 g249"), "ranked: {out}");
    assert!(!out.contains(" - g"), "no pair rows");
    let o = mechsim(
        dir.path(),
        &["compare", "many.csv", "--group", "g", "--value", "v", "--all-pairs"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).matches(" - g").count(), 31125);
}

#[test]
fn broken_bytes_get_their_position_and_a_plain_message() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fs::write(dir.path().join("nu.toml"), b"name = \"ok\"\nkind = \"a\xffb\"\n").expect("writes");
    let o = mechsim(dir.path(), &["check", "nu.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nu.toml:2:10: the scenario is not UTF-8 text (invalid byte 0xff at byte 22"),
        "{}",
        stderr(&o)
    );
    fs::write(dir.path().join("nu.csv"), b"g,v\na,1\nx\xffb,2\n").expect("writes");
    let o = mechsim(dir.path(), &["compare", "nu.csv", "--group", "g", "--value", "v"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nu.csv:3: column `g` is not UTF-8 (byte 2 of the field"),
        "{}",
        stderr(&o)
    );
    // A truncated checkpoint says so, without burn's advice about its own old versions.
    let shipped = crate::support::root().join("agents/checkpoints/dhumbal-ppo-4p.mpk");
    let bytes = fs::read(&shipped).expect("reads");
    fs::create_dir(dir.path().join("ck")).expect("creates");
    fs::write(dir.path().join("ck/t.mpk"), &bytes[..1000]).expect("writes");
    fs::copy(shipped.with_extension("mpk.json"), dir.path().join("ck/t.mpk.json")).expect("copies");
    let scenario = SMALL.replacen("players = 3", "players = 4", 1).replacen(
        "policy = \"random\"",
        "policy = \"random\"\n\n[[seats]]\npolicy = \"ppo\"\ncheckpoint = \"ck/t.mpk\"",
        1,
    );
    fs::write(dir.path().join("tp.toml"), scenario).expect("writes");
    let o = mechsim(dir.path(), &["check", "tp.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let message = stderr(&o);
    assert!(
        message.contains("the file is truncated") && !message.contains("feature flag"),
        "{message}"
    );
}
