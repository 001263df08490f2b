//! Reading a logged-bandit CSV that a user brings (../shared/specs/adload.md): one row per
//! logged decision with `action`, one or more reward columns, `pscore`, the target policy's
//! `pi_e_<a>` columns and optionally reward-model `q_hat_<a>` and context `context_*`
//! columns (prefixes configurable); every other column is ignored and not kept in memory.
//! Errors name the file, the line and the column.

use crate::core::table::CsvInput;
use std::path::Path;

/// The smallest propensity accepted: importance weights stay below 1e12.
pub const MIN_PSCORE: f64 = 1e-12;
/// The largest reward (and reward-model or context value) magnitude accepted: weighted
/// squares stay finite.
pub const MAX_REWARD: f64 = 1e100;

/// Whether `v` is a number (not NaN) of magnitude at most `limit`.
fn within(v: f64, limit: f64) -> bool {
    v.abs() <= limit
}

/// Column conventions.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    /// Reward columns to evaluate (each gets its own estimates).
    pub rewards: Vec<String>,
    /// Prefix of the target policy's per-action probabilities.
    pub pi_prefix: String,
    /// Prefix of the reward model's per-action estimates.
    pub q_prefix: String,
    /// Prefix of context features.
    pub context_prefix: String,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            rewards: vec!["reward".into()],
            pi_prefix: "pi_e_".into(),
            q_prefix: "q_hat_".into(),
            context_prefix: "context_".into(),
        }
    }
}

/// A parsed log, column-wise.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedLog {
    /// Actions.
    pub actions: Vec<u32>,
    /// Reward columns, by name.
    pub rewards: Vec<(String, Vec<f64>)>,
    /// Propensities.
    pub pscore: Vec<f64>,
    /// Number of actions (from the `pi_e_*` columns).
    pub k: usize,
    /// Target probabilities, row-major n x k.
    pub pi_e: Vec<f64>,
    /// Reward-model values, row-major n x k, if the file has them.
    pub q_hat: Option<Vec<f64>>,
    /// Context feature names.
    pub context_names: Vec<String>,
    /// Context features, row-major n x d.
    pub contexts: Vec<f64>,
}

pub use crate::core::table::CsvError;

fn per_action(header: &[String], prefix: &str) -> Result<Vec<usize>, String> {
    let mut found: Vec<(usize, usize)> = header
        .iter()
        .enumerate()
        .filter_map(|(col, h)| h.strip_prefix(prefix).map(|rest| (col, rest)))
        .map(|(col, rest)| {
            rest.parse::<usize>()
                .map(|a| (a, col))
                .map_err(|_| format!("column `{}`: expected `{prefix}<action number>`", header[col]))
        })
        .collect::<Result<_, _>>()?;
    found.sort();
    for (expected, (a, col)) in found.iter().enumerate() {
        if *a != expected {
            return Err(format!(
                "columns `{prefix}*` must be numbered 0..K-1 without gaps; `{}` breaks the sequence",
                header[*col]
            ));
        }
    }
    Ok(found.into_iter().map(|(_, col)| col).collect())
}

/// Reads and checks a log. Only the needed columns are kept.
pub fn read(path: &Path, columns: &Columns) -> Result<LoggedLog, CsvError> {
    let err = |line: usize, message: String| CsvError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| err(0, format!("cannot read {}: {e}", path.display())))?;
    let mut input = CsvInput::new(path, bytes.as_slice())?;
    let header: Vec<String> = input.header().to_vec();
    let find = |name: &str| input.require(name, "");
    let action_col = find("action")?;
    let pscore_col = find("pscore")?;
    let reward_cols: Vec<usize> = columns.rewards.iter().map(|r| find(r)).collect::<Result<_, _>>()?;
    let pi_cols = per_action(&header, &columns.pi_prefix).map_err(|m| err(1, m))?;
    if pi_cols.is_empty() {
        return Err(err(
            1,
            format!(
                "no target-policy columns `{}0`, `{}1`, ...: the file must give the evaluated policy's probability \
                 of every action",
                columns.pi_prefix, columns.pi_prefix
            ),
        ));
    }
    let k = pi_cols.len();
    let q_cols = per_action(&header, &columns.q_prefix).map_err(|m| err(1, m))?;
    if !q_cols.is_empty() && q_cols.len() != k {
        return Err(err(
            1,
            format!(
                "{} `{}*` columns but {k} `{}*` columns: one reward-model value per action",
                q_cols.len(),
                columns.q_prefix,
                columns.pi_prefix
            ),
        ));
    }
    let context_cols: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.starts_with(&columns.context_prefix))
        .map(|(c, _)| c)
        .collect();
    let layout = Layout {
        header,
        action: action_col,
        pscore: pscore_col,
        rewards: reward_cols,
        pi: pi_cols,
        q: q_cols,
        context: context_cols,
        pi_prefix: columns.pi_prefix.clone(),
    };
    let body_start = input.position() as usize;
    let body = &bytes[body_start.min(bytes.len())..];
    let part = if memchr::memchr(b'"', body).is_none() {
        parse_parallel(&layout, body).map_err(|(line, message)| err(line, message))?
    } else {
        // Quoted fields: the csv crate's full parser, one thread.
        let mut part = Part::default();
        let mut record = csv::ByteRecord::new();
        while let Some(line) = input.next_row(&mut record)? {
            let fields: Vec<&[u8]> = record.iter().collect();
            layout.parse_row(&mut part, &fields, line).map_err(|(l, m)| err(l, m))?;
        }
        part
    };
    if part.actions.is_empty() {
        return Err(err(1, "no data rows".into()));
    }
    Ok(LoggedLog {
        actions: part.actions,
        rewards: columns.rewards.iter().cloned().zip(part.rewards).collect(),
        pscore: part.pscore,
        k,
        pi_e: part.pi_e,
        q_hat: (!layout.q.is_empty()).then_some(part.q_hat),
        context_names: layout.context.iter().map(|&c| layout.header[c].clone()).collect(),
        contexts: part.contexts,
    })
}

/// Where the needed columns are.
struct Layout {
    header: Vec<String>,
    action: usize,
    pscore: usize,
    rewards: Vec<usize>,
    pi: Vec<usize>,
    q: Vec<usize>,
    context: Vec<usize>,
    pi_prefix: String,
}

/// Parsed rows of one chunk.
#[derive(Default)]
struct Part {
    actions: Vec<u32>,
    rewards: Vec<Vec<f64>>,
    pscore: Vec<f64>,
    pi_e: Vec<f64>,
    q_hat: Vec<f64>,
    contexts: Vec<f64>,
}

impl Layout {
    fn parse_row(&self, part: &mut Part, fields: &[&[u8]], line: usize) -> Result<(), (usize, String)> {
        let header = &self.header;
        let k = self.pi.len();
        if fields.len() != header.len() {
            return Err((
                line,
                format!("{} fields, the header has {}", fields.len(), header.len()),
            ));
        }
        let text = |col: usize| std::str::from_utf8(fields[col]).unwrap_or("").trim();
        let number = |col: usize| -> Result<f64, (usize, String)> {
            // fast-float2 parses the bytes directly (numbers are ASCII; no UTF-8 pass).
            let raw = fields[col].trim_ascii();
            fast_float2::parse::<f64, _>(raw).map_err(|_| {
                (
                    line,
                    format!("column `{}`: expected a number, found \"{}\"", header[col], text(col)),
                )
            })
        };
        let raw_action = text(self.action);
        let action: u32 = raw_action.parse().map_err(|_| {
            (
                line,
                format!(
                    "column `action`: expected an action number in 0..{}, found \"{raw_action}\"",
                    k - 1
                ),
            )
        })?;
        if action as usize >= k {
            return Err((
                line,
                format!(
                    "column `action`: action {action} is not in 0..{} (there are {k} `{}*` columns)",
                    k - 1,
                    self.pi_prefix
                ),
            ));
        }
        let p = number(self.pscore)?;
        if !(p > 0.0 && p <= 1.0) {
            return Err((
                line,
                format!("column `pscore`: propensity must be in (0, 1], found {p}"),
            ));
        }
        if p < MIN_PSCORE {
            return Err((
                line,
                format!(
                    "column `pscore`: propensity {p:e} is below {MIN_PSCORE:e}; importance weights above {:e} leave no estimate finite",
                    1.0 / MIN_PSCORE
                ),
            ));
        }
        if part.rewards.len() < self.rewards.len() {
            part.rewards.resize(self.rewards.len(), Vec::new());
        }
        // Rewards, reward-model values and contexts: finite and small enough that weighted
        // squares stay finite.
        let bounded = |col: usize| -> Result<f64, (usize, String)> {
            let v = number(col)?;
            if within(v, MAX_REWARD) {
                Ok(v)
            } else {
                Err((
                    line,
                    format!(
                        "column `{}`: must be a finite number within ±{MAX_REWARD:e} (weighted squares of larger ones overflow), found {v}",
                        header[col]
                    ),
                ))
            }
        };
        for (values, &col) in part.rewards.iter_mut().zip(&self.rewards) {
            values.push(bounded(col)?);
        }
        let mut sum = 0.0;
        for &col in &self.pi {
            let v = number(col)?;
            if !(v.is_finite() && v >= 0.0) {
                return Err((
                    line,
                    format!("column `{}`: probability must be >= 0, found {v}", header[col]),
                ));
            }
            sum += v;
            part.pi_e.push(v);
        }
        if (sum - 1.0).abs() > 1e-5 {
            return Err((
                line,
                format!(
                    "columns `{}*`: target probabilities must sum to 1 (relative tolerance 1e-5), they sum to {sum}",
                    self.pi_prefix
                ),
            ));
        }
        for &col in &self.q {
            part.q_hat.push(bounded(col)?);
        }
        for &col in &self.context {
            part.contexts.push(bounded(col)?);
        }
        part.actions.push(action);
        part.pscore.push(p);
        Ok(())
    }
}

/// Unquoted CSV body: split into chunks at line ends, parse the chunks on the rayon pool,
/// concatenate in order (the first error in file order wins).
fn parse_parallel(layout: &Layout, body: &[u8]) -> Result<Part, (usize, String)> {
    use rayon::prelude::*;
    let chunks = (rayon::current_num_threads() * 4).max(1);
    let target = body.len() / chunks + 1;
    let mut bounds = vec![0usize];
    while *bounds.last().expect("non-empty") < body.len() {
        let from = (bounds.last().expect("non-empty") + target).min(body.len());
        let end = memchr::memchr(b'\n', &body[from..]).map_or(body.len(), |p| from + p + 1);
        bounds.push(end);
    }
    let pieces: Vec<&[u8]> = bounds.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    let first_lines: Vec<usize> = pieces
        .iter()
        .scan(2usize, |line, piece| {
            let here = *line;
            *line += memchr::memchr_iter(b'\n', piece).count();
            Some(here)
        })
        .collect();
    let parts: Vec<Result<Part, (usize, String)>> = pieces
        .par_iter()
        .zip(first_lines.par_iter())
        .map(|(piece, &first)| {
            let mut part = Part::default();
            let mut fields: Vec<&[u8]> = Vec::with_capacity(layout.header.len());
            for (offset, raw) in piece.split(|b| *b == b'\n').enumerate() {
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                if raw.is_empty() {
                    continue;
                }
                fields.clear();
                let mut start = 0;
                for comma in memchr::memchr_iter(b',', raw) {
                    fields.push(&raw[start..comma]);
                    start = comma + 1;
                }
                fields.push(&raw[start..]);
                layout.parse_row(&mut part, &fields, first + offset)?;
            }
            Ok(part)
        })
        .collect();
    let mut out = Part::default();
    for part in parts {
        let part = part?;
        out.actions.extend(part.actions);
        if out.rewards.len() < part.rewards.len() {
            out.rewards.resize(part.rewards.len(), Vec::new());
        }
        for (o, p) in out.rewards.iter_mut().zip(part.rewards) {
            o.extend(p);
        }
        out.pscore.extend(part.pscore);
        out.pi_e.extend(part.pi_e);
        out.q_hat.extend(part.q_hat);
        out.contexts.extend(part.contexts);
    }
    if out.rewards.len() < layout.rewards.len() {
        out.rewards.resize(layout.rewards.len(), Vec::new());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<LoggedLog, CsvError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        std::fs::write(&path, text).unwrap();
        read(&path, &Columns::default()).map_err(|mut e| {
            e.file = std::path::PathBuf::from("log.csv");
            e
        })
    }

    #[test]
    fn reads_the_needed_columns_and_ignores_the_rest() {
        let log = read_text(
            "session,action,reward,pscore,pi_e_1,pi_e_0,q_hat_0,q_hat_1,context_age\n\
             s1,0,1.5,0.5,0.25,0.75,1,2,30\n\
             s2,1,0,0.5,1,0,0.5,0.5,41\n",
        )
        .unwrap();
        assert_eq!(log.k, 2);
        assert_eq!(log.actions, vec![0, 1]);
        assert_eq!(log.pi_e, vec![0.75, 0.25, 0.0, 1.0], "ordered by action number");
        assert_eq!(log.q_hat, Some(vec![1.0, 2.0, 0.5, 0.5]));
        assert_eq!(log.contexts, vec![30.0, 41.0]);
    }

    #[test]
    fn malformed_rows_name_the_line_and_column() {
        let header = "action,reward,pscore,pi_e_0,pi_e_1\n";
        let cases = [
            (
                format!("{header}0,1,0.5,0.5,0.5\n1,x,0.5,0.5,0.5\n"),
                "log.csv:3: column `reward`: expected a number, found \"x\"",
            ),
            (
                format!("{header}0,1,0,0.5,0.5\n"),
                "log.csv:2: column `pscore`: propensity must be in (0, 1], found 0",
            ),
            (
                format!("{header}2,1,0.5,0.5,0.5\n"),
                "log.csv:2: column `action`: action 2 is not in 0..1",
            ),
            (
                format!("{header}0,1,0.5,0.5,0.6\n"),
                "log.csv:2: columns `pi_e_*`: target probabilities must sum to 1",
            ),
            (format!("{header}0,1,0.5\n"), "log.csv:2: 3 fields, the header has 5"),
            (
                "action,reward,pi_e_0\n0,1,1\n".to_string(),
                "log.csv:1: no column `pscore`; the header has:",
            ),
            (
                "action,reward,pscore,pi_e_0,pi_e_2\n".to_string(),
                "numbered 0..K-1 without gaps",
            ),
            (header.to_string(), "log.csv:1: no data rows"),
        ];
        for (text, expected) in cases {
            let e = read_text(&text).unwrap_err().to_string();
            assert!(e.contains(expected), "{e} does not contain {expected}");
        }
    }
}
