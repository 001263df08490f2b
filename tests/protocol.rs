//! Agents in any language, over the JSON-lines process protocol: the `echo_agent` example
//! (a minimal Rust agent) plays from scenario files, sees only what the scenario gives it
//! (environment, working directory) and its answers are logged; every way an untrusted
//! agent can misbehave (crash, hang, slowness, garbage, illegal answers, floods, stderr
//! noise, a bad handshake) ends in the outcome the scenario chose. The Python example agent
//! plays a whole scenario (python3 is required; see `support::python3_available`).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{example_binary, mechsim, root, stderr, stdout};

fn echo_agent() -> PathBuf {
    example_binary("echo_agent")
}

/// A 3-player Dhumbal tournament with the echo agent in seat 0 (`args` its flags, `keys`
/// extra lines for its seat table), 2 seeds x 2 tables.
fn scenario(args: &[&str], keys: &str, rounds: u64) -> String {
    let mut command = vec![format!("{:?}", echo_agent().display().to_string())];
    command.extend(args.iter().map(|a| format!("{a:?}")));
    format!(
        r#"name = "protocol"
kind = "tournament"
seed = 5
seeds = 2
rounds = {rounds}
tables = 2
rotation = "rotate"
game = {{ name = "dhumbal", rules = "paper", players = 3 }}

[[seats]]
policy = "external"
label = "echo"
command = [{}]
{keys}

[[seats]]
policy = "dhumbal-balanced"

[[seats]]
policy = "random"
"#,
        command.join(", ")
    )
}

fn run_in(dir: &Path, text: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("s.toml"), text).unwrap();
    let mut args = vec!["run", "s.toml", "--out", "out", "--force"];
    args.extend(extra);
    mechsim(dir, &args)
}

/// (fault column, forfeited column) of seat 0's decisions and rounds.
fn faults(dir: &Path) -> (Vec<String>, Vec<(u64, bool)>) {
    let mut decisions = csv::Reader::from_path(dir.join("out/decisions.csv")).unwrap();
    let headers = decisions.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (seat, fault) = (col("seat"), col("fault"));
    let kinds = decisions
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[seat] == "0")
        .map(|r| r[fault].to_string())
        .collect();
    let mut rounds = csv::Reader::from_path(dir.join("out/rounds.csv")).unwrap();
    let headers = rounds.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (seat, count, forfeited) = (col("seat"), col("faults"), col("forfeited"));
    let rows = rounds
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[seat] == "0")
        .map(|r| (r[count].parse().unwrap(), &r[forfeited] == "true"))
        .collect();
    (kinds, rows)
}

#[test]
fn an_external_agent_plays_sees_only_what_it_is_given_and_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("agent_home")).unwrap();
    let text = scenario(
        &["--random", "--probs", "--dump", "dump.json"],
        // A generous deadline: a loaded test machine must not turn this into a timeout.
        "env = { FOO = \"bar\" }\nworking_dir = \"agent_home\"\ntimeout_ms = 30000",
        12,
    );
    let o = run_in(dir.path(), &text, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("external agents:"), "{}", stdout(&o));
    assert!(stdout(&o).contains("no faults"), "{}", stdout(&o));

    // Every child (2 seeds x 2 tables) saw only the scenario's environment, ran in its
    // working directory and got the documented handshake.
    let home = dir.path().join("agent_home");
    let dumps: Vec<PathBuf> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("dump.json."))
        .collect();
    assert_eq!(dumps.len(), 4, "{dumps:?}");
    let mut tables = Vec::new();
    for path in dumps {
        let dump: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(dump["env"], serde_json::json!({"FOO": "bar"}));
        let cwd = PathBuf::from(dump["cwd"].as_str().unwrap());
        assert_eq!(cwd.canonicalize().unwrap(), home.canonicalize().unwrap());
        let hello = &dump["hello"];
        assert_eq!(hello["protocol"], 1);
        assert_eq!(hello["game"]["name"], "dhumbal");
        assert_eq!(hello["game"]["rules"]["jhyap_threshold"], 10);
        assert_eq!(hello["seat"]["label"], "echo");
        tables.push(hello["seat"]["table"].as_u64().unwrap());
    }
    tables.sort_unstable();
    assert_eq!(tables, [0, 0, 1, 1]);

    // Its probabilities, value and win probability are logged per decision.
    let mut reader = csv::Reader::from_path(dir.path().join("out/decisions.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(&r[col("seat")], "0");
        assert_eq!(&r[col("root_value")], "0.5");
        assert_eq!(&r[col("win_probability")], "0.25");
        assert_eq!(&r[col("fault")], "");
        let probs: Vec<&str> = r[col("probabilities")].split(';').collect();
        assert!(probs.iter().any(|p| p.starts_with(&format!("{}:", &r[col("action")]))));
    }
    let (_, rounds) = faults(dir.path());
    assert!(rounds.iter().all(|(n, forfeited)| *n == 0 && !forfeited));

    // A seeded agent gives byte-identical results at any thread count.
    let first = std::fs::read(dir.path().join("out/rounds.csv")).unwrap();
    let o = run_in(dir.path(), &text, &["--threads", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(first, std::fs::read(dir.path().join("out/rounds.csv")).unwrap());
}

#[test]
fn a_crash_aborts_naming_the_agent_or_is_replaced_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        dir.path(),
        &scenario(&["--misbehave", "crash", "--after", "3"], "", 6),
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(e.contains("external agent `echo`"), "{e}");
    assert!(e.contains("exited (exit status: 3)"), "{e}");
    assert!(e.contains("crashing on purpose"), "{e}");
    assert!(!dir.path().join("out/rounds.csv").exists(), "no half-written results");

    let o = run_in(
        dir.path(),
        &scenario(&["--misbehave", "crash", "--after", "3"], "on_error = \"fallback\"", 6),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (kinds, rounds) = faults(dir.path());
    assert!(kinds.iter().any(|k| k == "exited"));
    // Restarted at the next round: a fresh process answers its first three decisions.
    assert!(rounds.iter().filter(|(n, _)| *n > 0).count() >= 2);
    assert!(kinds.iter().filter(|k| k.is_empty()).count() >= 6, "{kinds:?}");
    assert!(rounds.iter().all(|(_, forfeited)| !forfeited));
}

#[test]
fn hangs_and_slow_answers_time_out_without_stalling_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        dir.path(),
        &scenario(
            &["--misbehave", "hang", "--after", "2"],
            "on_error = \"forfeit_round\"\ntimeout_ms = 100",
            4,
        ),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (kinds, rounds) = faults(dir.path());
    assert!(kinds.iter().any(|k| k == "timeout"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "forfeited"), "{kinds:?}");
    assert!(rounds.iter().any(|(_, forfeited)| *forfeited));

    // Answers that arrive after their deadline are skipped, not taken for later requests.
    let o = run_in(
        dir.path(),
        &scenario(
            &["--misbehave", "slow", "--after", "1", "--delay-ms", "120"],
            "on_error = \"fallback\"\ntimeout_ms = 40",
            2,
        ),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (kinds, _) = faults(dir.path());
    assert!(kinds.iter().any(|k| k == "timeout"), "{kinds:?}");
    assert!(kinds.iter().all(|k| k.is_empty() || k == "timeout"), "{kinds:?}");
}

#[test]
fn malformed_illegal_and_flooding_answers_have_their_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    // Garbage: the round is forfeited, the next round asks again.
    let o = run_in(
        dir.path(),
        &scenario(
            &["--misbehave", "garbage", "--after", "1"],
            "on_error = \"forfeit_round\"",
            4,
        ),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (kinds, rounds) = faults(dir.path());
    assert!(kinds.iter().any(|k| k == "malformed"), "{kinds:?}");
    assert!(rounds.iter().all(|(n, forfeited)| *forfeited == (*n > 0)));
    // max_faults counts the failed answers (one per round and table here: 2 per table),
    // not the forfeited decisions after them.
    let o = run_in(
        dir.path(),
        &scenario(
            &["--misbehave", "garbage", "--after", "1"],
            "on_error = \"forfeit_round\"\nmax_faults = 2",
            4,
        ),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(faults(dir.path()).0.iter().filter(|k| *k == "forfeited").count() > 2);

    // An illegal action aborts by default, naming the agent and the action.
    let o = run_in(dir.path(), &scenario(&["--misbehave", "illegal"], "", 4), &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("external agent `echo` (\"echo\""), "{e}");
    assert!(e.contains("which is not legal here"), "{e}");

    // A 2 MiB line is refused without reading it into memory whole.
    let o = run_in(
        dir.path(),
        &scenario(&["--misbehave", "flood", "--after", "2"], "on_error = \"fallback\"", 2),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (kinds, _) = faults(dir.path());
    assert!(kinds.iter().any(|k| k == "malformed"), "{kinds:?}");

    // A fallback agent that keeps failing is stopped by max_faults.
    let o = run_in(
        dir.path(),
        &scenario(
            &["--misbehave", "illegal"],
            "on_error = \"fallback\"\nmax_faults = 5",
            4,
        ),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("more than max_faults = 5"), "{}", stderr(&o));
}

#[test]
fn stderr_noise_is_harmless_and_handshake_failures_abort() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        dir.path(),
        &scenario(&["--misbehave", "chatty"], "timeout_ms = 30000", 4),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no faults"), "{}", stdout(&o));

    let o = run_in(
        dir.path(),
        &scenario(&["--misbehave", "no-hello"], "startup_timeout_ms = 300", 4),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("could not start: did not answer the hello within 300 ms"),
        "{}",
        stderr(&o)
    );
    let o = run_in(dir.path(), &scenario(&["--misbehave", "bad-hello"], "", 4), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("speaks protocol 99"), "{}", stderr(&o));
}

#[test]
fn bad_external_seats_are_refused_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let check = |text: &str| {
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        let o = mechsim(dir.path(), &["check", "bad.toml"]);
        assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
        stderr(&o)
    };
    let good = scenario(&[], "", 4);
    let no_command = good.replace(&format!("command = [{:?}]\n", echo_agent().display().to_string()), "");
    assert_ne!(no_command, good);
    let e = check(&no_command);
    assert!(
        e.contains("bad.toml:10:1: key `seats[0]`: an external seat needs `command`"),
        "{e}"
    );
    let e = check(&good.replace(&echo_agent().display().to_string(), "no-such-agent-xyz"));
    assert!(
        e.contains("key `seats[0].command`: program \"no-such-agent-xyz\" was not found on PATH"),
        "{e}"
    );
    let e = check(&good.replace("label = \"echo\"", "label = \"echo\"\nworking_dir = \"nowhere\""));
    assert!(e.contains("key `seats[0].working_dir`"), "{e}");
    assert!(e.contains("is not a directory"), "{e}");
    let e = check(&good.replace("label = \"echo\"", "label = \"echo\"\non_error = \"retry\""));
    assert!(e.contains("one of \"abort\", \"fallback\", \"forfeit_round\""), "{e}");
    let e = check(&good.replace("label = \"echo\"", "label = \"echo\"\nenv = { N = 1 }"));
    assert!(e.contains("`N` must be a string, found integer"), "{e}");
}

#[test]
fn the_python_example_agent_plays_its_scenario() {
    if !crate::support::python3_available("the_python_example_agent_plays_its_scenario") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The shipped file, with a deadline a loaded test machine cannot miss.
    let agents = root().join("examples/agents");
    let text = std::fs::read_to_string(root().join("scenarios/plugins/python_agent.toml"))
        .unwrap()
        .replace("timeout_ms = 2000", "timeout_ms = 30000")
        .replace(
            "\"../../examples/agents\"",
            &format!("{:?}", agents.display().to_string()),
        );
    assert!(text.contains("timeout_ms = 30000"));
    std::fs::write(dir.path().join("python.toml"), text).unwrap();
    let o = mechsim(dir.path(), &["run", "python.toml", "--out", "out", "--rounds", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("python-greedy"), "{}", stdout(&o));
    assert!(stdout(&o).contains("no faults"), "{}", stdout(&o));
    let (_, rounds) = faults(dir.path());
    assert_eq!(rounds.len(), 60);
}

#[test]
fn any_game_can_seat_an_agent_found_relative_to_its_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("bots");
    std::fs::create_dir(&home).unwrap();
    let script = home.join("run.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec {:?} --probs \"$@\"\n",
            echo_agent().display().to_string()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for game in ["kuhn_poker", "leduc_poker", "tic_tac_toe", "connect_four"] {
        let text = format!(
            r#"name = "any-game"
kind = "tournament"
seed = 2
seeds = 1
rounds = 20
rotation = "rotate"
game = {{ name = "{game}", players = 2 }}

[[seats]]
policy = "external"
command = ["./run.sh", "--random"]
working_dir = "bots"
inherit_env = ["PATH"]
timeout_ms = 30000

[[seats]]
policy = "random"
"#
        );
        let o = run_in(dir.path(), &text, &[]);
        assert!(o.status.success(), "{game}: {}", stderr(&o));
        let (kinds, rounds) = faults(dir.path());
        assert_eq!(rounds.len(), 20, "{game}");
        assert!(
            !kinds.is_empty() && kinds.iter().all(String::is_empty),
            "{game}: {kinds:?}"
        );
    }
}

/// Whether process `pid` still runs (zombies count as gone), polling up to two seconds.
#[cfg(target_os = "linux")]
fn gone(pid: u32) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(2) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        if stat.is_empty() || state == Some(Some('Z')) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

#[cfg(target_os = "linux")]
#[test]
fn what_an_agent_starts_ends_with_it_and_an_exit_is_not_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // The agent's shell leaves a background child behind, then becomes the echo agent.
    let wrapper = format!("/bin/sleep 1000 & echo $! > child.pid; exec {}", echo_agent().display());
    let text = scenario(&[], "", 4).replace(
        &format!("command = [{:?}]", echo_agent().display().to_string()),
        &format!("command = [\"/bin/sh\", \"-c\", {wrapper:?}]"),
    );
    let o = run_in(dir.path(), &text, &["--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pids = std::fs::read_to_string(dir.path().join("child.pid")).unwrap();
    for pid in pids.lines() {
        assert!(
            gone(pid.trim().parse().unwrap()),
            "the agent's child {pid} outlived the run"
        );
    }
    // An agent that exits while its child still holds its stdout: reported as an exit.
    let text = scenario(&[], "startup_timeout_ms = 300", 4).replace(
        &format!("command = [{:?}]", echo_agent().display().to_string()),
        "command = [\"/bin/sh\", \"-c\", \"/bin/sleep 1000 & exit 3\"]",
    );
    let o = run_in(dir.path(), &text, &["--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let message = stderr(&o);
    assert!(message.contains("exit") && !message.contains("timed out"), "{message}");
}
