//! `mechsim sweep`: every cell's rows equal the cell run alone, an interrupted sweep resumed
//! with `--resume` ends with the same files, and bad grids get clear errors.

use std::fs;
use std::path::Path;

use crate::support::{mechsim, stderr};

const SWEEP: &str = r#"
name = "s"
kind = "tournament"
seed = 5
seeds = 1
rounds = 6
game = { name = "dhumbal", rules = "paper", players = 3 }

[[seats]]
policy = "random"

[[seats]]
policy = "dhumbal-aggressive"

[[seats]]
policy = "dhumbal-balanced"

[sweep]
seeds = 2

[sweep.grid]
"game.rules" = ["paper", "traditional"]
"rounds" = [6, 9]
"#;

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn cells_equal_their_own_runs_and_resuming_gives_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("s.toml"), SWEEP).unwrap();
    let o = mechsim(dir.path(), &["sweep", "s.toml", "--out", "full", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let full = snapshot(&dir.path().join("full"));
    assert_eq!(full.iter().filter(|(p, _)| p.starts_with("units/")).count(), 8);
    // The cell (traditional, 9 rounds) run alone with 2 seeds gives the same rounds.csv.
    let alone = SWEEP
        .split("[sweep]")
        .next()
        .unwrap()
        .replace("rules = \"paper\"", "rules = \"traditional\"")
        .replace("rounds = 6", "rounds = 9")
        .replace("seeds = 1", "seeds = 2");
    fs::write(dir.path().join("alone.toml"), alone).unwrap();
    let o = mechsim(dir.path(), &["run", "alone.toml", "--out", "alone", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cell = fs::read_dir(dir.path().join("full/cells"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.display().to_string().contains("traditional,rounds=9"))
        .unwrap();
    assert_eq!(
        fs::read(cell.join("rounds.csv")).unwrap(),
        fs::read(dir.path().join("alone/rounds.csv")).unwrap()
    );
    // Interrupt: lose half the units and every merged file, then resume.
    let o = mechsim(dir.path(), &["sweep", "s.toml", "--out", "cut", "--quiet"]);
    assert!(o.status.success());
    let cut = dir.path().join("cut");
    let mut units: Vec<std::path::PathBuf> = fs::read_dir(cut.join("units"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    units.sort();
    for unit in units.iter().step_by(2) {
        fs::remove_file(unit).unwrap();
    }
    fs::remove_dir_all(cut.join("cells")).unwrap();
    fs::remove_file(cut.join("sweep.csv")).unwrap();
    // A killed run leaves a lost unit's staging file half-written: resuming replaces it.
    let stale = units[0].with_extension("csv.partial");
    fs::write(&stale, "half a file").unwrap();
    let o = mechsim(dir.path(), &["sweep", "s.toml", "--out", "cut", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "an existing sweep needs --resume or --force");
    let o = mechsim(dir.path(), &["sweep", "s.toml", "--out", "cut", "--resume", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stale.exists(), "the stale staging file is gone");
    assert_eq!(snapshot(&cut), full);
    // analyze draws each metric against the numeric grid parameter.
    let o = mechsim(dir.path(), &["analyze", "full"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = fs::read_to_string(dir.path().join("full/report/report.md")).unwrap();
    assert!(md.contains("## Sweep:") && md.contains("sweep_win_rate_0.svg"), "{md}");
}

#[test]
fn bad_grids_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            SWEEP.replace("\"rounds\" = [6, 9]", "\"seats[7].policy\" = [\"random\"]"),
            "index [7] is out of range (3 entries)",
        ),
        (
            SWEEP.replace("\"rounds\" = [6, 9]", "\"rounds\" = [0]"),
            "must be in 1..=1000000000, found 0",
        ),
        (
            SWEEP.replace("seeds = 2\n", "seeds = 0\n"),
            "key `sweep.seeds`: must be in 1..=10000",
        ),
        (
            SWEEP.replace("[sweep]", "[sweeep]"),
            "key `sweeep`: unknown key `sweeep`; did you mean `sweep`?",
        ),
        (
            SWEEP.replace("rounds = 6\n", "rounds = 7\nrotation = \"duplicate\"\n"),
            "rounds must be a multiple of tables x seats = 3; found 7 (try 9)",
        ),
    ];
    for (text, expected) in cases {
        fs::write(dir.path().join("bad.toml"), &text).unwrap();
        let o = mechsim(dir.path(), &["sweep", "bad.toml", "--out", "o", "--quiet", "--force"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains(expected),
            "{} does not contain {expected}",
            stderr(&o)
        );
    }
    // `mechsim run` runs the base scenario of a sweep file.
    fs::write(dir.path().join("s.toml"), SWEEP).unwrap();
    let o = mechsim(dir.path(), &["run", "s.toml", "--out", "base", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
