//! A tabular policy: action probabilities per information set, e.g. CFR's average policy.
//! It is itself a `Policy` for its game (unknown information sets play uniformly) and can
//! be saved to and loaded from JSON.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::core::game::{Action, Game, State};
use crate::core::policy::Policy;
use crate::core::rng::SimRng;

/// Probabilities per (player, information-state key).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TabularPolicy {
    table: HashMap<(usize, u64), Vec<(Action, f64)>>,
}

/// One row of a saved policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRow {
    /// The acting player.
    pub player: usize,
    /// The information-state key, in hex.
    pub key: String,
    /// Actions.
    pub actions: Vec<Action>,
    /// Their probabilities.
    pub probs: Vec<f64>,
}

impl TabularPolicy {
    /// An empty table (uniform everywhere).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the distribution of one information set.
    pub fn insert(&mut self, player: usize, key: u64, probs: Vec<(Action, f64)>) {
        self.table.insert((player, key), probs);
    }

    /// The distribution at an information set, if known.
    pub fn get(&self, player: usize, key: u64) -> Option<&[(Action, f64)]> {
        self.table.get(&(player, key)).map(Vec::as_slice)
    }

    /// Number of information sets.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The distribution for `player` at `state` (uniform over legal actions if unknown).
    pub fn probs<S: State>(&self, state: &S, player: usize) -> Vec<(Action, f64)> {
        match self.get(player, state.information_state_key(player)) {
            Some(p) => p.to_vec(),
            None => {
                let legal = state.legal_actions();
                let p = 1.0 / legal.len() as f64;
                legal.into_iter().map(|a| (a, p)).collect()
            }
        }
    }

    /// Rows sorted by (player, key), for saving.
    pub fn rows(&self) -> Vec<PolicyRow> {
        let mut rows: Vec<PolicyRow> = self
            .table
            .iter()
            .map(|((player, key), probs)| PolicyRow {
                player: *player,
                key: format!("{key:016x}"),
                actions: probs.iter().map(|(a, _)| *a).collect(),
                probs: probs.iter().map(|(_, p)| *p).collect(),
            })
            .collect();
        rows.sort_by(|a, b| (a.player, &a.key).cmp(&(b.player, &b.key)));
        rows
    }

    /// Rebuilds a policy from saved rows.
    pub fn from_rows(rows: &[PolicyRow]) -> Result<Self, String> {
        let mut policy = TabularPolicy::new();
        for (i, row) in rows.iter().enumerate() {
            let key = u64::from_str_radix(&row.key, 16).map_err(|e| format!("row {i}: key `{}`: {e}", row.key))?;
            if row.actions.len() != row.probs.len() {
                return Err(format!(
                    "row {i}: {} actions but {} probabilities",
                    row.actions.len(),
                    row.probs.len()
                ));
            }
            policy.insert(
                row.player,
                key,
                row.actions.iter().copied().zip(row.probs.iter().copied()).collect(),
            );
        }
        Ok(policy)
    }
}

impl<G: Game> Policy<G> for TabularPolicy {
    fn act(&mut self, state: &G::State, player: usize, rng: &mut SimRng) -> Action {
        let probs = TabularPolicy::probs(self, state, player);
        let weights: Vec<f64> = probs.iter().map(|(_, p)| *p).collect();
        probs[rng.weighted_index(&weights)].0
    }

    fn action_probs(&mut self, state: &G::State, player: usize) -> Option<Vec<(Action, f64)>> {
        Some(TabularPolicy::probs(self, state, player))
    }
}
