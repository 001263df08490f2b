//! Estimators that reweight logged rewards: IPS (optionally clipped), self-normalised IPS
//! and the replay method, exactly as obp 0.5 computes their round-wise values.

use super::{Estimator, OpeError, OpeInput};

/// Inverse propensity scoring: rho = min(w, clip) r.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ips {
    /// Clipping threshold on w (infinity: none, obp's default).
    pub clip: f64,
}

impl Estimator for Ips {
    fn round_values(&self, input: &OpeInput<'_>) -> Result<Vec<f64>, OpeError> {
        Ok((0..input.len())
            .map(|i| input.weight(i).min(self.clip) * input.rewards[i])
            .collect())
    }
}

/// Self-normalised IPS: rho = w r / mean(w). Invariant to shifting all rewards by a
/// constant c in the sense that the estimate shifts by exactly c (the weights average 1
/// after normalising), unlike IPS whose shift is c * mean(w).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snips;

impl Estimator for Snips {
    fn round_values(&self, input: &OpeInput<'_>) -> Result<Vec<f64>, OpeError> {
        let weights: Vec<f64> = (0..input.len()).map(|i| input.weight(i)).collect();
        let mean = crate::analysis::stats::mean(&weights);
        if mean <= 0.0 {
            return Err(OpeError::Missing(
                "SNIPS: every importance weight is 0 (the target never takes a logged action)".into(),
            ));
        }
        Ok(weights.iter().zip(input.rewards).map(|(w, r)| w * r / mean).collect())
    }
}

/// Replay (for deterministic targets): rho = 1[pi_e(a_i|x_i) = 1] r / mean(1[...]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replay;

impl Estimator for Replay {
    fn round_values(&self, input: &OpeInput<'_>) -> Result<Vec<f64>, OpeError> {
        let matches: Vec<f64> = (0..input.len())
            .map(|i| f64::from(u8::from(input.pi_e[i * input.k + input.actions[i] as usize] == 1.0)))
            .collect();
        let mean = crate::analysis::stats::mean(&matches);
        if mean == 0.0 {
            return Ok(vec![0.0; input.len()]);
        }
        Ok(matches.iter().zip(input.rewards).map(|(m, r)| m * r / mean).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::tests::tiny;

    #[test]
    fn hand_computed_values() {
        let t = tiny();
        let input = t.input();
        // w = 0.4, 2, 0; r = 1, 0, 2.
        assert_eq!(
            Ips { clip: f64::INFINITY }.round_values(&input).unwrap(),
            vec![0.4, 0.0, 0.0]
        );
        assert_eq!(Ips { clip: 0.3 }.round_values(&input).unwrap(), vec![0.3, 0.0, 0.0]);
        let snips = Snips.round_values(&input).unwrap();
        let mean_w = 2.4 / 3.0;
        assert!((snips[0] - 0.4 / mean_w).abs() < 1e-12);
        // Replay: no round's target puts probability 1 on its logged action, so no round
        // matches and every value is 0.
        assert_eq!(Replay.round_values(&input).unwrap(), vec![0.0; 3]);
    }

    #[test]
    fn replay_averages_the_rewards_of_the_matching_rounds() {
        let mut t = tiny();
        // Deterministic target: action 0, action 0, action 1; logged actions 0, 1, 1.
        t.pi_e = vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let input = t.input();
        // Rounds 0 and 2 match (share 2/3): their rewards 1 and 2 are scaled by 3/2.
        assert_eq!(Replay.round_values(&input).unwrap(), vec![1.5, 0.0, 3.0]);
        assert_eq!(Replay.estimate(&input).unwrap(), 1.5);
    }

    #[test]
    fn snips_shifts_exactly_with_the_rewards() {
        let t = tiny();
        let shifted: Vec<f64> = t.rewards.iter().map(|r| r + 5.0).collect();
        let mut input = t.input();
        let base = Snips.estimate(&input).unwrap();
        let ips_base = Ips { clip: f64::INFINITY }.estimate(&input).unwrap();
        input.rewards = &shifted;
        assert!((Snips.estimate(&input).unwrap() - base - 5.0).abs() < 1e-12);
        // IPS shifts by 5 * mean(w) = 5 * 0.8 instead.
        assert!((Ips { clip: f64::INFINITY }.estimate(&input).unwrap() - ips_base - 4.0).abs() < 1e-12);
    }
}
