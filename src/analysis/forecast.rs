//! Scoring probability forecasts p that y = 1 (../shared/specs/scoring.md): Brier, log
//! loss, ECE in both forms (positive-class and top-label), MCE, the Balance score and the
//! reliability table. An accumulator streams any number of (p, y) pairs in O(bins) memory,
//! so a ten-million-row file is scored in one pass.

use serde::Serialize;

/// Clipping of p in the log loss (sklearn's default).
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// One reliability bin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Bin {
    /// Lower edge.
    pub low: f64,
    /// Upper edge.
    pub high: f64,
    /// Forecasts in the bin.
    pub count: u64,
    /// Mean forecast (positive-class form) or mean confidence (top-label form).
    pub mean_forecast: f64,
    /// Observed frequency of y = 1 (positive-class) or accuracy (top-label).
    pub observed: f64,
}

/// Streaming sums.
#[derive(Debug, Clone)]
pub struct ForecastAccumulator {
    bins: usize,
    n: u64,
    brier: f64,
    log_loss: f64,
    balance: f64,
    correct: u64,
    // per bin: count, sum p, sum y (positive-class); count, sum confidence, sum correct (top-label)
    positive: Vec<(u64, f64, f64)>,
    top: Vec<(u64, f64, f64)>,
}

/// Why a forecast is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// p outside [0, 1] or not a number.
    #[error("forecast must be a probability in [0, 1], found {0}")]
    Probability(f64),
    /// y not 0 or 1.
    #[error("outcome must be 0 or 1 (or false/true), found {0}")]
    Outcome(f64),
}

fn bin_of(v: f64, bins: usize) -> usize {
    ((v * bins as f64).floor() as usize).min(bins - 1)
}

impl ForecastAccumulator {
    /// With `bins` equal-width bins (at least 1).
    pub fn new(bins: usize) -> Self {
        let bins = bins.max(1);
        ForecastAccumulator {
            bins,
            n: 0,
            brier: 0.0,
            log_loss: 0.0,
            balance: 0.0,
            correct: 0,
            positive: vec![(0, 0.0, 0.0); bins],
            top: vec![(0, 0.0, 0.0); bins],
        }
    }

    /// Adds one forecast.
    pub fn add(&mut self, p: f64, y: f64) -> Result<(), ForecastError> {
        if !(0.0..=1.0).contains(&p) {
            return Err(ForecastError::Probability(p));
        }
        if y != 0.0 && y != 1.0 {
            return Err(ForecastError::Outcome(y));
        }
        self.n += 1;
        self.brier += (p - y) * (p - y);
        let pc = p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
        self.log_loss -= y * pc.ln() + (1.0 - y) * (1.0 - pc).ln();
        let b = bin_of(p, self.bins);
        self.positive[b].0 += 1;
        self.positive[b].1 += p;
        self.positive[b].2 += y;
        let confidence = p.max(1.0 - p);
        let predicted = if p >= 0.5 { 1.0 } else { 0.0 };
        let right = predicted == y;
        self.correct += u64::from(right);
        self.balance += if right { 1.0 - confidence } else { -confidence };
        let t = bin_of(confidence, self.bins);
        self.top[t].0 += 1;
        self.top[t].1 += confidence;
        self.top[t].2 += f64::from(u8::from(right));
        Ok(())
    }

    /// Merges another accumulator with the same bins (parallel scoring).
    pub fn merge(&mut self, other: &ForecastAccumulator) {
        self.n += other.n;
        self.brier += other.brier;
        self.log_loss += other.log_loss;
        self.balance += other.balance;
        self.correct += other.correct;
        for (a, b) in self
            .positive
            .iter_mut()
            .zip(&other.positive)
            .chain(self.top.iter_mut().zip(&other.top))
        {
            a.0 += b.0;
            a.1 += b.1;
            a.2 += b.2;
        }
    }

    /// The scores (`None` without any forecast).
    pub fn finish(&self) -> Option<ForecastScores> {
        if self.n == 0 {
            return None;
        }
        let n = self.n as f64;
        let table = |sums: &[(u64, f64, f64)]| -> Vec<Bin> {
            sums.iter()
                .enumerate()
                .map(|(b, &(count, sp, sy))| Bin {
                    low: b as f64 / self.bins as f64,
                    high: (b + 1) as f64 / self.bins as f64,
                    count,
                    mean_forecast: if count > 0 { sp / count as f64 } else { 0.0 },
                    observed: if count > 0 { sy / count as f64 } else { 0.0 },
                })
                .collect()
        };
        let positive = table(&self.positive);
        let top = table(&self.top);
        let gaps = |bins: &[Bin]| -> (f64, f64) {
            let mut ece = 0.0;
            let mut mce: f64 = 0.0;
            for b in bins.iter().filter(|b| b.count > 0) {
                let gap = (b.observed - b.mean_forecast).abs();
                ece += b.count as f64 / n * gap;
                mce = mce.max(gap);
            }
            (ece, mce)
        };
        let (ece, mce) = gaps(&positive);
        let (ece_top, mce_top) = gaps(&top);
        Some(ForecastScores {
            n: self.n,
            brier: self.brier / n,
            log_loss: self.log_loss / n,
            ece,
            mce,
            ece_top_label: ece_top,
            mce_top_label: mce_top,
            balance: self.balance / n,
            accuracy: self.correct as f64 / n,
            reliability: positive,
            reliability_top_label: top,
        })
    }
}

/// Every score of a set of forecasts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastScores {
    /// Forecasts.
    pub n: u64,
    /// Mean squared error.
    pub brier: f64,
    /// Mean negative log likelihood (p clipped to [1e-15, 1 - 1e-15]).
    pub log_loss: f64,
    /// Positive-class ECE.
    pub ece: f64,
    /// Positive-class MCE (largest bin gap).
    pub mce: f64,
    /// Top-label ECE.
    pub ece_top_label: f64,
    /// Top-label MCE.
    pub mce_top_label: f64,
    /// Balance score: accuracy minus mean confidence (ideal 0; < 0 over-confident). Not a
    /// proper scoring rule.
    pub balance: f64,
    /// Accuracy of 1[p >= 0.5].
    pub accuracy: f64,
    /// Positive-class reliability table.
    pub reliability: Vec<Bin>,
    /// Top-label reliability table.
    pub reliability_top_label: Vec<Bin>,
}

/// Scores a slice of forecasts.
pub fn score(p: &[f64], y: &[f64], bins: usize) -> Result<Option<ForecastScores>, ForecastError> {
    let mut acc = ForecastAccumulator::new(bins);
    for (pi, yi) in p.iter().zip(y) {
        acc.add(*pi, *yi)?;
    }
    Ok(acc.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn matches_numpy_by_hand() {
        // Reference values computed with numpy from the definitions in the spec.
        let p = [0.9, 0.8, 0.3, 0.6, 0.2, 0.55, 0.1, 0.7];
        let y = [1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let s = score(&p, &y, 10).unwrap().unwrap();
        close(s.brier, 0.205_312_5);
        close(s.log_loss, 0.635_213_791_473_441_5);
        close(s.ece, 0.381_25);
        close(s.mce, 0.9);
        close(s.ece_top_label, 0.356_25);
        close(s.mce_top_label, 0.6);
        close(s.balance, 0.006_25);
        close(
            s.balance,
            s.accuracy - p.iter().map(|v: &f64| v.max(1.0 - v)).sum::<f64>() / 8.0,
        );
        assert_eq!(s.reliability.iter().map(|b| b.count).sum::<u64>(), 8);
    }

    #[test]
    fn edge_cases_are_defined() {
        assert_eq!(score(&[], &[], 10).unwrap(), None);
        // One forecast, certain and right: every error is 0; p = 1 goes to the last bin.
        let s = score(&[1.0], &[1.0], 10).unwrap().unwrap();
        assert_eq!((s.brier, s.ece, s.balance), (0.0, 0.0, 0.0));
        assert!(s.log_loss < 1e-14);
        assert_eq!(s.reliability[9].count, 1);
        // Certain and wrong: log loss is finite thanks to clipping.
        let s = score(&[0.0], &[1.0], 10).unwrap().unwrap();
        assert!((s.log_loss - (1e15f64).ln()).abs() < 1e-6 && s.balance == -1.0);
        assert!(matches!(score(&[1.2], &[1.0], 10), Err(ForecastError::Probability(_))));
        assert!(matches!(score(&[0.2], &[2.0], 10), Err(ForecastError::Outcome(_))));
        // Merging two halves equals scoring the whole.
        let (p, y) = ([0.1, 0.4, 0.8, 0.95], [0.0, 1.0, 1.0, 1.0]);
        let mut a = ForecastAccumulator::new(5);
        let mut b = ForecastAccumulator::new(5);
        for i in 0..2 {
            a.add(p[i], y[i]).unwrap();
            b.add(p[i + 2], y[i + 2]).unwrap();
        }
        a.merge(&b);
        let (merged, whole) = (a.finish().unwrap(), score(&p, &y, 5).unwrap().unwrap());
        close(merged.brier, whole.brier);
        close(merged.ece_top_label, whole.ece_top_label);
        assert_eq!(
            merged.reliability.iter().map(|b| b.count).collect::<Vec<_>>(),
            whole.reliability.iter().map(|b| b.count).collect::<Vec<_>>()
        );
    }
}
