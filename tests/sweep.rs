//! `mechsim sweep`: every cell's rows equal the cell run alone, an interrupted sweep resumed
//! with `--resume` ends with the same files, and bad grids get clear errors.

use std::fs;
use std::path::Path;

use crate::support::{mechsim, stderr, stdout};

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
    let units = full.iter().filter(|(p, _)| p.starts_with("units/"));
    assert_eq!(units.clone().filter(|(p, _)| p.ends_with(".csv")).count(), 8);
    assert_eq!(units.filter(|(p, _)| p.ends_with(".fingerprint")).count(), 8);
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

/// An information scenario: the simulated principal's utility against the payment cap.
const INFORMATION_SWEEP: &str = r#"
name = "info"
kind = "information"
seed = 3

[instance]
states = ["heads", "tails"]
prior = [0.5, 0.5]
actions = ["guess_heads", "guess_tails"]
utility = [[1.0, 0.0], [0.0, 1.0]]
payment_cap = 1.0
correlation = "independent"

[[agents]]
name = "ada"
efforts = ["shirk", "work"]
costs = [0.0, 0.05]
signals = ["says_heads", "says_tails"]
accuracy = [[[0.5, 0.5], [0.5, 0.5]], [[0.8, 0.2], [0.2, 0.8]]]

[simulation]
rounds = 50
seeds = 1

[sweep]
seeds = 2

[sweep.grid]
"instance.payment_cap" = [0.5, 1.0]
"simulation.rounds" = [50, 80]
"#;

#[test]
fn sweeps_of_other_kinds_keep_their_files_resume_and_tabulate_headlines() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("i.toml"), INFORMATION_SWEEP).unwrap();
    let o = mechsim(dir.path(), &["sweep", "i.toml", "--out", "full", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let full = snapshot(&dir.path().join("full"));
    // Four cells x two replicates, each with the kind's own files.
    let units: Vec<&String> = full
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("cells/") && p.ends_with("/rows.csv"))
        .collect();
    assert_eq!(units.len(), 8, "{units:?}");
    let table = fs::read_to_string(dir.path().join("full/sweep.csv")).unwrap();
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("cell,instance.payment_cap,simulation.rounds,replicate,seed,principal_utility,"),
        "{header}"
    );
    assert_eq!(lines.count(), 8, "one row per cell and replicate");
    // A unit equals the cell run alone with the replicate's seed.
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("full/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["scenario_kind"], "information");
    let cell = &manifest["cells"][3];
    let seed = cell["seeds"][1].as_u64().unwrap();
    let alone = INFORMATION_SWEEP
        .split("[sweep]")
        .next()
        .unwrap()
        .replace("seed = 3", &format!("seed = {seed}"))
        .replace("rounds = 50", "rounds = 80");
    fs::write(dir.path().join("alone.toml"), alone).unwrap();
    let o = mechsim(dir.path(), &["run", "alone.toml", "--out", "alone", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let name = cell["cell"].as_str().unwrap();
    assert!(name.contains("payment_cap=1.0,simulation.rounds=80"), "{name}");
    assert_eq!(
        fs::read(dir.path().join(format!("full/cells/{name}/r0001/rows.csv"))).unwrap(),
        fs::read(dir.path().join("alone/rows.csv")).unwrap()
    );
    // Interrupt: lose some units and the table, then resume.
    let o = mechsim(dir.path(), &["sweep", "i.toml", "--out", "cut", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cut = dir.path().join("cut");
    fs::remove_dir_all(cut.join(format!("cells/{name}/r0001"))).unwrap();
    fs::remove_file(cut.join("sweep.csv")).unwrap();
    // A killed run leaves a unit's staging directory (marked as mechsim's; its process,
    // above the kernel's largest pid, is gone).
    let stale = cut.join(format!("cells/{name}/.r0001.partial-4194399"));
    fs::create_dir_all(&stale).unwrap();
    fs::write(stale.join(".mechsim-staging"), "").unwrap();
    fs::write(stale.join("rows.csv"), "half a file").unwrap();
    // A unit directory mechsim did not write (no manifest) is never deleted: refused.
    let first = manifest["cells"][0]["cell"].as_str().unwrap();
    let unit = cut.join(format!("cells/{first}/r0000"));
    let kept = cut.join("kept-r0000");
    fs::rename(&unit, &kept).unwrap();
    fs::create_dir(&unit).unwrap();
    fs::write(unit.join("mine.txt"), "mine").unwrap();
    let o = mechsim(dir.path(), &["sweep", "i.toml", "--out", "cut", "--resume"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("mechsim did not write"), "{}", stderr(&o));
    assert!(unit.join("mine.txt").is_file());
    fs::remove_dir_all(&unit).unwrap();
    fs::rename(&kept, &unit).unwrap();
    fs::remove_dir_all(cut.join(format!("cells/{first}/r0000"))).unwrap();
    let o = mechsim(dir.path(), &["sweep", "i.toml", "--out", "cut", "--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("8 units (2 run now, 6 already done)"),
        "{}",
        stdout(&o)
    );
    assert!(!stale.exists(), "the stale staging directory is gone");
    let strip = |files: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        // Wall-clock facts live in the units' manifests and timing files only.
        files
            .into_iter()
            .filter(|(p, _)| p == "manifest.json" || !(p.ends_with("manifest.json") || p.ends_with("timing.csv")))
            .collect()
    };
    assert_eq!(strip(snapshot(&cut)), strip(full));
    // analyze draws each headline metric against the numeric grid parameter.
    let o = mechsim(dir.path(), &["analyze", "full"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = fs::read_to_string(dir.path().join("full/report/report.md")).unwrap();
    assert!(
        md.contains("## Sweep:") && md.contains("sweep_principal_utility_0.svg"),
        "{md}"
    );
}
