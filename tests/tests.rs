//! The one integration test binary: each module tests one user-facing capability through
//! the public library API or the `mechsim` binary.

mod adload;
mod cli;
mod conformance;
mod determinism;
mod extending;
mod fuzz;
mod mechanism;
mod plugins;
mod protocol;
mod scenarios;
mod scoring;
mod support;
mod sweep;
mod trust;
