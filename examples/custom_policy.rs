//! Bringing your own policy in Rust: implement `Policy` for a game, register it under a
//! name, and hand over to mechsim's CLI, so `run`, `sweep`, `analyze`, `list` and every other
//! command know it. A program of your own would do exactly this in its `main`.
//!
//! ```text
//! cargo run --release --example custom_policy -- run examples/custom_policy.toml
//! cargo run --release --example custom_policy -- list policies
//! ```

use std::process::ExitCode;

use mechsim::core::params::{ParamKind, ParamSpec};
use mechsim::core::{Action, Policy, SimRng, State};
use mechsim::games::dhumbal::{Dhumbal, DhumbalState};
use mechsim::policies::PolicyEntry;
use mechsim::registry::register_policy;

/// Plays a random legal action with probability `noise`, otherwise the lowest action id
/// (in Dhumbal: call when allowed, else discard the lowest-id card group).
struct LowestFirst {
    noise: f64,
}

impl Policy<Dhumbal> for LowestFirst {
    fn act(&mut self, state: &DhumbalState, _player: usize, rng: &mut SimRng) -> Action {
        let legal = state.legal_actions();
        if rng.chance(self.noise) {
            legal[rng.below(legal.len())]
        } else {
            legal[0]
        }
    }
}

/// Its parameters, checked by mechsim like any built-in policy's.
const PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "noise",
    kind: ParamKind::Float { min: 0.0, max: 1.0 },
    help: "probability of a random legal action instead of the lowest id (default 0.1)",
}];

fn main() -> ExitCode {
    let entry = PolicyEntry::<Dhumbal>::new(
        "lowest-first",
        "example policy from examples/custom_policy.rs: the lowest legal action id, with some noise",
        |seat| {
            Ok(Box::new(LowestFirst {
                noise: seat.params.float("noise").unwrap_or(0.1),
            }))
        },
    )
    .with_params(PARAMS);
    if let Err(e) = register_policy(entry) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    mechsim::cli::main()
}
