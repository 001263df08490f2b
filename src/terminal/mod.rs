//! The readable summaries a run prints on the terminal, one renderer per kind of result:
//! plain text with aligned tables and intervals, pointing at the files written. Machine
//! files keep full precision; these round for people.

pub mod adload;
pub mod games;
pub mod mechanism;
