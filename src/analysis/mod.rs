//! Statistics shared by every run's live summary (and, later, by `mechsim analyze`):
//! one implementation of each estimator, tested against independently computed values.

pub mod compare;
pub mod forecast;
pub mod stats;
pub mod tournament;
