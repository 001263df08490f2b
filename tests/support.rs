//! Helpers shared by the integration tests: running the binary, temporary scenario files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (scenario paths are relative to it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `mechsim` with `args` in `dir`.
pub fn mechsim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mechsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the mechsim binary runs")
}

/// The built `examples/<name>` binary (`cargo test` builds the examples next to the
/// binaries).
pub fn example_binary(name: &str) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_mechsim"));
    let exe = bin
        .parent()
        .unwrap()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(exe.is_file(), "{} is built by cargo test", exe.display());
    exe
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A small valid tournament scenario.
pub const SMALL: &str = r#"name = "small"
kind = "tournament"
seed = 3
seeds = 3
rounds = 40
rotation = "rotate"
tables = 2
game = { name = "dhumbal", rules = "paper", players = 3 }

[[seats]]
policy = "dhumbal-aggressive"

[[seats]]
policy = "dhumbal-balanced"

[[seats]]
policy = "random"
"#;

/// Whether the tests that run a Python agent should run. python3 is required: without
/// it they fail, unless `MECHSIM_SKIP_PYTHON=1` asks to skip them, which is said loudly.
pub fn python3_available(test: &str) -> bool {
    let found =
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("python3").is_file()));
    if found {
        return true;
    }
    if std::env::var_os("MECHSIM_SKIP_PYTHON").is_some_and(|v| v == "1") {
        eprintln!("SKIPPED {test}: python3 is not on PATH and MECHSIM_SKIP_PYTHON=1");
        return false;
    }
    panic!("{test} needs python3 on PATH (install it, or set MECHSIM_SKIP_PYTHON=1 to skip this test)");
}
