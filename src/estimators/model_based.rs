//! Estimators that use a reward model q_hat: the direct method and the doubly robust family
//! (DR with optional clipping, self-normalised DR, Switch-DR, DR with optimistic shrinkage),
//! with obp 0.5's round-wise formulas. q_i(pi_e) averages q_hat over the target's
//! distribution (weighted mean, as numpy's `average`), qf_i is q_hat of the logged action.

use super::{Estimator, OpeError, OpeInput};

fn model<'a>(input: &OpeInput<'a>, name: &str) -> Result<&'a [f64], OpeError> {
    input.q_hat.ok_or_else(|| {
        OpeError::Missing(format!(
            "{name} needs reward-model estimates (q_hat_* columns, or let mechsim fit a model from context_* columns)"
        ))
    })
}

fn mean_weight(input: &OpeInput<'_>) -> Result<f64, OpeError> {
    let mean = (0..input.len()).map(|i| input.weight(i)).sum::<f64>() / input.len().max(1) as f64;
    if mean <= 0.0 {
        return Err(OpeError::Missing(
            "self-normalised estimator: every importance weight is 0".into(),
        ));
    }
    Ok(mean)
}

/// Direct method: rho = q_i(pi_e).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DirectMethod;

impl Estimator for DirectMethod {
    fn round_values(&self, input: &OpeInput<'_>) -> Result<Vec<f64>, OpeError> {
        let q = model(input, "DM")?;
        Ok((0..input.len()).map(|i| input.model_terms(q, i).0).collect())
    }
}

/// Doubly robust: rho = q_i(pi_e) + min(w, clip) (r - qf).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoublyRobust {
    /// Clipping threshold on w (infinity: none).
    pub clip: f64,
}

impl Estimator for DoublyRobust {
    fn round_values(&self, input: &OpeInput<'_>) -> Result<Vec<f64>, OpeError> {
        let q = model(input, "DR")?;
        Ok((0..input.len())
            .map(|i| {
                let (qpi, qf) = input.model_terms(q, i);
                qpi + input.weight(i).min(self.clip) * (input.rewards[i] - qf)
            })
            .collect())
    }
}

/// Self-normalised DR: rho = q_i(pi_e) + w (r - qf) / mean(w).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfNormalizedDr;

impl Estimator for SelfNormalizedDr {
    fn round_values(&self, input: &OpeInput<'_>) -> Result<Vec<f64>, OpeError> {
        let q = model(input, "SNDR")?;
        let mean = mean_weight(input)?;
        Ok((0..input.len())
            .map(|i| {
                let (qpi, qf) = input.model_terms(q, i);
                qpi + input.weight(i) * (input.rewards[i] - qf) / mean
            })
            .collect())
    }
}

/// Switch-DR: rho = q_i(pi_e) + 1[w <= lambda] w (r - qf).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwitchDr {
    /// Weights above it switch to the model alone.
    pub lambda: f64,
}

impl Estimator for SwitchDr {
    fn round_values(&self, input: &OpeInput<'_>) -> Result<Vec<f64>, OpeError> {
        let q = model(input, "Switch-DR")?;
        Ok((0..input.len())
            .map(|i| {
                let (qpi, qf) = input.model_terms(q, i);
                let w = input.weight(i);
                qpi + if w <= self.lambda {
                    w * (input.rewards[i] - qf)
                } else {
                    0.0
                }
            })
            .collect())
    }
}

/// DR with optimistic shrinkage: rho = q_i(pi_e) + lambda w / (w^2 + lambda) (r - qf)
/// (lambda = infinity gives DR, lambda = 0 gives DM).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrShrinkage {
    /// Shrinkage strength.
    pub lambda: f64,
}

impl Estimator for DrShrinkage {
    fn round_values(&self, input: &OpeInput<'_>) -> Result<Vec<f64>, OpeError> {
        let q = model(input, "DR-os")?;
        Ok((0..input.len())
            .map(|i| {
                let (qpi, qf) = input.model_terms(q, i);
                let w = input.weight(i);
                let shrunk = if self.lambda.is_infinite() {
                    w
                } else if self.lambda == 0.0 {
                    0.0
                } else {
                    self.lambda * w / (w * w + self.lambda)
                };
                qpi + shrunk * (input.rewards[i] - qf)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::tests::tiny;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn hand_computed_values() {
        let t = tiny();
        let input = t.input();
        // q(pi_e): 0.2*0.5 + 0.8*1.0 = 0.9; 0.5*0.2 + 0.5*0.4 = 0.3; 1.0*1.0 = 1.0.
        close(&DirectMethod.round_values(&input).unwrap(), &[0.9, 0.3, 1.0]);
        // qf = 0.5, 0.4, 1.5; w = 0.4, 2, 0; r - qf = 0.5, -0.4, 0.5.
        close(
            &DoublyRobust { clip: f64::INFINITY }.round_values(&input).unwrap(),
            &[0.9 + 0.2, 0.3 - 0.8, 1.0],
        );
        close(
            &DoublyRobust { clip: 1.0 }.round_values(&input).unwrap(),
            &[0.9 + 0.2, 0.3 - 0.4, 1.0],
        );
        let m = 0.8;
        close(
            &SelfNormalizedDr.round_values(&input).unwrap(),
            &[0.9 + 0.2 / m, 0.3 - 0.8 / m, 1.0],
        );
        close(
            &SwitchDr { lambda: 1.0 }.round_values(&input).unwrap(),
            &[1.1, 0.3, 1.0],
        );
        // lambda = 1: 0.4 / 1.16 and 2 / 5.
        close(
            &DrShrinkage { lambda: 1.0 }.round_values(&input).unwrap(),
            &[0.9 + 0.4 / 1.16 * 0.5, 0.3 - 0.4 * 0.4, 1.0],
        );
        close(
            &DrShrinkage { lambda: f64::INFINITY }.round_values(&input).unwrap(),
            &DoublyRobust { clip: f64::INFINITY }.round_values(&input).unwrap(),
        );
        let mut no_model = input;
        no_model.q_hat = None;
        assert!(
            DirectMethod
                .round_values(&no_model)
                .unwrap_err()
                .to_string()
                .contains("q_hat_*")
        );
    }
}
