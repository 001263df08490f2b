//! A minimal external agent in Rust, speaking mechsim's JSON-lines protocol
//! (docs/protocol.md): it answers every decision with the lowest legal action id, or a
//! seeded uniform one with `--random`. It measures the protocol's own cost (nothing to
//! think about), and with `--misbehave` it is the deliberately broken agent the
//! reliability tests use.
//!
//! ```text
//! cargo build --release --example echo_agent
//! # in a scenario: [[seats]] policy = "external", command = ["/path/to/target/release/examples/echo_agent"]
//! ```
//!
//! Flags: `--random`, `--probs` (also send probabilities, a value and a win probability),
//! `--dump FILE` (write the hello, the working directory and the environment to
//! FILE.<seed>),
//! `--misbehave MODE --after N` (from the N-th decision on, counting from 0, per process):
//! `crash` (exit 3), `hang` (stop answering), `slow` (answer `--delay-ms` late), `garbage`
//! (a non-JSON line), `illegal` (an action that is not legal), `flood` (a 2 MiB line),
//! `chatty` (64 KiB of stderr per decision, answers correctly), `no-hello` (never answers
//! the hello), `bad-hello` (claims protocol version 99).

use std::io::{BufRead, Write};
use std::time::Duration;

use serde_json::{Value, json};

struct Options {
    random: bool,
    probs: bool,
    dump: Option<String>,
    misbehave: Option<String>,
    after: u64,
    delay_ms: u64,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        random: false,
        probs: false,
        dump: None,
        misbehave: None,
        after: 0,
        delay_ms: 200,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--random" => o.random = true,
            "--probs" => o.probs = true,
            "--dump" => o.dump = Some(value("--dump")?),
            "--misbehave" => o.misbehave = Some(value("--misbehave")?),
            "--after" => o.after = value("--after")?.parse().map_err(|e| format!("--after: {e}"))?,
            "--delay-ms" => o.delay_ms = value("--delay-ms")?.parse().map_err(|e| format!("--delay-ms: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(o)
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("echo_agent: {e}");
            std::process::exit(2);
        }
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut decisions: u64 = 0;
    let bad = |mode: &str, n: u64| o.misbehave.as_deref() == Some(mode) && n >= o.after;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            eprintln!("echo_agent: cannot parse {line}");
            continue;
        };
        match message["type"].as_str() {
            Some("hello") => {
                state ^= message["seed"].as_u64().unwrap_or(0);
                if let Some(path) = &o.dump {
                    let env: serde_json::Map<String, Value> =
                        std::env::vars().map(|(k, v)| (k, Value::String(v))).collect();
                    let cwd = std::env::current_dir()
                        .map(|d| d.display().to_string())
                        .unwrap_or_default();
                    let dump = json!({"hello": message, "cwd": cwd, "env": env});
                    // One file per process (the seed differs per seat, table and replicate).
                    let seed = message["seed"].as_u64().unwrap_or(0);
                    std::fs::write(format!("{path}.{seed}"), dump.to_string()).expect("dump file is writable");
                }
                if o.misbehave.as_deref() == Some("no-hello") {
                    std::thread::sleep(Duration::from_secs(3600));
                }
                let version = if o.misbehave.as_deref() == Some("bad-hello") {
                    99
                } else {
                    1
                };
                writeln!(out, "{}", json!({"type": "hello", "name": "echo", "protocol": version})).unwrap();
                out.flush().unwrap();
            }
            Some("decide") => {
                let n = decisions;
                decisions += 1;
                let legal: Vec<u64> = message["legal"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|l| l["id"].as_u64()).collect())
                    .unwrap_or_default();
                let id = message["id"].as_u64().unwrap_or(0);
                if bad("crash", n) {
                    eprintln!("echo_agent: crashing on purpose at decision {n}");
                    std::process::exit(3);
                }
                if bad("hang", n) {
                    std::thread::sleep(Duration::from_secs(3600));
                }
                if bad("slow", n) {
                    std::thread::sleep(Duration::from_millis(o.delay_ms));
                }
                if bad("chatty", n) {
                    let noise = "noise ".repeat(64 * 1024 / 6);
                    eprintln!("{noise}");
                }
                if bad("garbage", n) {
                    writeln!(out, "I think I'll discard the king").unwrap();
                    out.flush().unwrap();
                    continue;
                }
                if bad("flood", n) {
                    writeln!(out, "{}", "x".repeat(2 << 20)).unwrap();
                    out.flush().unwrap();
                    continue;
                }
                let action = if bad("illegal", n) {
                    (0..).find(|a| !legal.contains(a)).unwrap_or(0)
                } else if o.random && !legal.is_empty() {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    legal[(state % legal.len() as u64) as usize]
                } else {
                    legal.first().copied().unwrap_or(0)
                };
                let mut answer = json!({"type": "action", "id": id, "action": action});
                if o.probs && !legal.is_empty() {
                    let p = 1.0 / legal.len() as f64;
                    let probs: serde_json::Map<String, Value> =
                        legal.iter().map(|a| (a.to_string(), json!(p))).collect();
                    answer["probabilities"] = Value::Object(probs);
                    answer["value"] = json!(0.5);
                    answer["win_probability"] = json!(0.25);
                }
                writeln!(out, "{answer}").unwrap();
                out.flush().unwrap();
            }
            Some("round_over") => {}
            Some("shutdown") => break,
            _ => eprintln!("echo_agent: unexpected message {line}"),
        }
    }
}
