//! mechsim: a simulator for multi-agent games and mechanism design.
//!
//! Layers, from the bottom: `core` (vocabulary) <- `games`, `search`, `policies`,
//! `analysis` (rules, algorithms, agents, statistics) <- `world` (the bevy_ecs worlds) and
//! `runner` (replicates in parallel) <- `registry` (which games exist and which policies
//! play them) <- `scenario` (files -> validated runs), `output` (CSV, summaries, manifests)
//! and `terminal` (readable reports) <- `kinds` (what each kind of scenario validates, runs,
//! writes and reports), `analyze` (reports from output directories) and `sweep` (grids of
//! any kind) <- `cli`. Two hand-overs go back up, through traits: `scenario` finds a file's
//! kind in `kinds` to validate it, and `analyze` asks a run's kind for its section.

pub mod analysis;
pub mod analyze;
pub mod bandit;
pub mod cli;
pub mod core;
pub mod estimators;
pub mod games;
pub mod interrupt;
pub mod kinds;
pub mod mechanism;
pub mod output;
pub mod policies;
pub mod registry;
pub mod runner;
pub mod scenario;
pub mod search;
pub mod sweep;
pub mod terminal;
pub mod world;
