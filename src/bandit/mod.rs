//! The ad-load marketplace (../shared/specs/adload.md): its response model, ad-load
//! policies (logging and target), offline policy learning from logs, and online bandit
//! algorithms. The World that runs users and sessions lives in `world::adload`.

pub mod learning;
pub mod marketplace;
pub mod online;
pub mod policies;
