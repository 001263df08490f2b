//! The games, one file (or folder) each. A game implements `core::Game` (rules),
//! `core::Tournament` (rounds at a table) and `core::GameFacts` (name, rule sets, player
//! range, overrides, constructor) in its own file and imports nothing but `core`; listing
//! it in `crate::registry` makes it playable from scenario files and puts it under the
//! shared conformance suite (`conformance`).

pub mod conformance;
pub mod connect_four;
pub mod dhumbal;
pub mod episodic;
pub mod kuhn_poker;
pub mod leduc_poker;
pub mod tic_tac_toe;
