//! The shared conformance suite over every registered game, every rule set, every player count.

use mechsim::registry;

#[test]
fn every_registered_game_conforms() {
    for game in registry::games() {
        let report = game
            .conformance(60, 0xC0FFEE)
            .unwrap_or_else(|e| panic!("{}: {e}", game.name));
        assert!(
            report.episodes > 0 && report.actions > report.episodes,
            "{}: {report:?}",
            game.name
        );
    }
}
