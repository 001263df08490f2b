//! The vocabulary every other module speaks: games and states, policies, actions, turns,
//! seeded random streams, typed parameters and the library's error type. No heavy
//! dependencies live here, so games and algorithms can be written against it alone.

pub mod descriptive;
pub mod error;
pub mod facts;
pub mod game;
pub mod params;
pub mod policy;
pub mod rng;
pub mod table;
pub mod tournament;

pub use error::{Error, Result};
pub use facts::GameFacts;
pub use game::{Action, Game, Resample, State, Turn};
pub use params::{GameSpec, ParamKind, ParamSpec, ParamValue, Params};
pub use policy::{DecisionNote, FaultOutcome, Policy, PolicyFault, RoundReport, SearchStats, SeatInfo};
pub use rng::SimRng;
pub use tournament::{MetricValue, RoundMetrics, SeatMetrics, Tournament};
