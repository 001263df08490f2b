//! Information acquisition (../shared/specs/information_acquisition.md): a principal hires
//! agents who exert hidden effort to observe signals about the state, and pays them so that
//! obeying its (correlated) effort recommendations and reporting truthfully is a best
//! response. The optimal mechanism is an LP (`lp`, the only good_lp user); `ic` checks any
//! mechanism by brute force; `baselines` gives the mechanisms without correlation;
//! `equilibria` looks for other equilibria the agents prefer; `online` learns a mechanism
//! against unknown agents (explore-then-commit).

pub mod analysis;
pub mod baselines;
pub mod design;
pub mod equilibria;
pub mod ic;
pub mod instance;
pub mod lp;
pub mod online;
pub mod scoring_rules;

pub use design::{Mechanism, Outcome, Strategy, evaluate, evaluate_obedient};
pub use instance::{AgentModel, Correlation, Instance};

/// Why a mechanism could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MechanismError {
    /// The LP has no feasible point.
    #[error("{0}: the LP is infeasible (no payments within the cap make the recommendation a best response)")]
    Infeasible(String),
    /// The LP is unbounded.
    #[error("{0}: the LP is unbounded (remove nothing from the cap; check the utilities are finite)")]
    Unbounded(String),
    /// The solver failed.
    #[error("LP solver failed on {0}")]
    Solver(String),
    /// The solver returned something numerically unusable.
    #[error("numerically troubled LP: {0}")]
    Numerical(String),
}

impl From<MechanismError> for crate::core::Error {
    fn from(e: MechanismError) -> Self {
        crate::core::Error::Run(e.to_string())
    }
}
