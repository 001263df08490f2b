//! Every shipped scenario runs, scaled down to a few rounds and replicates, so none goes
//! stale; each produces one row per round and seat and a summary that adds up.

use mechsim::runner::{RunOptions, registry};
use mechsim::scenario;

use crate::cli::walk;
use crate::support::root;

#[test]
fn every_shipped_scenario_runs_scaled_down() {
    let files = walk(&root().join("scenarios"));
    assert!(files.iter().any(|f| f.ends_with("dhumbal/rule_based.toml")));
    assert!(files.iter().any(|f| f.ends_with("quickstart.toml")));
    for file in files {
        let s = scenario::load(&file)
            .unwrap_or_else(|e| panic!("{e}"))
            .scaled_down(12, 2);
        let entry = registry::game(&s.plan.game.name).unwrap();
        let result = (entry.run_tournament)(&s.plan, &RunOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let rows: usize = result.replicates.iter().map(|r| r.rows.len()).sum();
        let seats = s.plan.seats.len();
        assert!(
            rows <= 12 * 2 * seats && rows >= 12 * 2 * 2,
            "{}: {rows} rows",
            file.display()
        );
        let wins: u64 = result.summary.participants.iter().map(|p| p.wins).sum();
        assert_eq!(wins, 12 * 2, "{}: one winner per round", file.display());
        let coins: f64 = result
            .summary
            .participants
            .iter()
            .map(|p| p.payoff_mean * p.rounds as f64)
            .sum();
        assert!(coins.abs() < 1e-6, "{}: zero-sum payoffs, got {coins}", file.display());
    }
}
