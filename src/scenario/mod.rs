//! Scenario files, in two stages (like ripgrep's low-level and high-level arguments):
//! TOML text -> a kind's raw serde type (types and unknown keys) -> `Scenario` (validated:
//! ranges, registered names, seat counts, derived seeds). Every error names the file,
//! line, column and key, and lists what would be valid or suggests the closest name.
//! This module reads the file, finds its kind (`crate::kinds`) and hands over; it also
//! holds what several kinds share: the error context, the game and seat validators, and
//! the raw type of the kinds that play a game (tournament, solve, training).

mod seats;
pub mod source;

pub(crate) use seats::{validate_game, validate_seat_list, validate_seats};

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::core::error::{Error, Result};
use crate::core::params::{GameSpec, unknown_key_message, value_hint};
use crate::core::rng::replicate_seed;
use crate::kinds::{self, ScenarioKind};
use crate::kinds::{solve::RawSolver, training::RawTraining};
use crate::runner::TournamentPlan;
use crate::runner::adload::AdloadPlan;
use crate::runner::information::InformationPlan;
use crate::runner::solve::SolvePlan;
use crate::runner::training::TrainingPlan;
use source::{Seg, SourceMap, path_string};

/// The file of a kind that plays a game (tournament, solve, training), as serde reads it;
/// each kind rejects the keys that do not apply to it. Its fields are the valid top-level
/// keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub(crate) name: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) description: Option<String>,
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) seed: Option<u64>,
    #[serde(default)]
    pub(crate) seeds: Option<toml::Value>,
    #[serde(default)]
    pub(crate) rounds: Option<u64>,
    #[serde(default)]
    pub(crate) tables: Option<u64>,
    #[serde(default)]
    pub(crate) rotation: Option<String>,
    pub(crate) game: toml::Table,
    #[serde(default)]
    pub(crate) seats: Option<Vec<toml::Table>>,
    #[serde(default)]
    pub(crate) solver: Option<RawSolver>,
    #[serde(default)]
    pub(crate) training: Option<RawTraining>,
    #[serde(default)]
    pub(crate) opponents: Option<Vec<toml::Table>>,
    #[serde(default)]
    pub(crate) output: Option<RawOutput>,
    /// A sweep grid (`mechsim sweep`); `mechsim run` runs the base scenario.
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) sweep: Option<toml::Table>,
}

impl RawScenario {
    /// Reads the file of a game kind, with errors at the offending key.
    pub(crate) fn read(ctx: &Ctx<'_>) -> Result<Self> {
        let raw: RawScenario = toml::from_str(ctx.text).map_err(|e| ctx.serde_error(&e))?;
        check_name(ctx, &raw.name, raw.output.as_ref())?;
        Ok(raw)
    }

    /// The scenario seed (0 when not given).
    pub(crate) fn seed(&self) -> u64 {
        self.seed.unwrap_or(0)
    }

    /// A validated scenario of this file with `game` and `plan`.
    pub(crate) fn scenario(&self, ctx: &Ctx<'_>, game: GameSpec, plan: Plan) -> Scenario {
        Scenario {
            file: ctx.path.to_path_buf(),
            hash: file_hash(ctx.text),
            name: self.name.clone(),
            kind: self.kind.clone(),
            seed: self.seed(),
            game: Some(game),
            plan,
            output_dir: output_dir(&self.name, self.output.as_ref()),
        }
    }
}

/// The valid keys of a game kind's table at `table` (top level, `[solver]`, `[training]`,
/// `[output]`), read from the raw types.
pub(crate) fn game_kind_keys(table: &[&str]) -> Option<&'static [&'static str]> {
    use serde_aux::prelude::serde_introspect;
    match table {
        [] => Some(serde_introspect::<RawScenario>()),
        ["solver"] => Some(serde_introspect::<RawSolver>()),
        ["training"] => Some(serde_introspect::<RawTraining>()),
        ["output"] => Some(serde_introspect::<RawOutput>()),
        _ => None,
    }
}

/// `[output]`: where results go.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutput {
    dir: Option<String>,
}

/// What a scenario runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Rounds of a game between seated policies (`kind = "tournament"`).
    Tournament(TournamentPlan),
    /// A solver run (`kind = "solve"`).
    Solve(SolvePlan),
    /// A training run (`kind = "training"`).
    Training(Box<TrainingPlan>),
    /// An information-acquisition instance to simulate or learn (`kind = "information"`).
    Information(Box<InformationPlan>),
    /// An ad-load marketplace: off-policy evaluation, learning, bandits (`kind = "adload"`).
    Adload(Box<AdloadPlan>),
}

/// A validated scenario, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file it came from.
    pub file: PathBuf,
    /// SHA-256 of the file's bytes (hex), for the manifest.
    pub hash: String,
    /// The scenario's name.
    pub name: String,
    /// The kind (`tournament`, `solve`, `training` or `information`).
    pub kind: String,
    /// The scenario seed (replicate and sampling seeds derive from it).
    pub seed: u64,
    /// The game (`None` for kinds without one, like `information`).
    pub game: Option<GameSpec>,
    /// The run plan.
    pub plan: Plan,
    /// Output directory (from `[output] dir`, default `results/<name>`).
    pub output_dir: PathBuf,
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read scenario", path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at - bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        Error::Run(format!(
            "{}:{line}:{column}: the scenario is not UTF-8 text (invalid byte 0x{:02x} at byte {} of the file)",
            path.display(),
            bytes[at],
            at + 1
        ))
    })?;
    parse(path, &text)
}

/// Validates scenario `text` read from `path` (the path is used in messages only).
pub fn parse(path: &Path, text: &str) -> Result<Scenario> {
    let map = SourceMap::parse(text).map_err(|(message, span)| {
        let (line, column) = span.map_or((1, 1), |s| source::line_col(text, s.start));
        Error::Scenario {
            file: path.to_path_buf(),
            line,
            column,
            message: format!("invalid TOML: {}", message.trim_end()),
        }
    })?;
    let table: toml::Table = toml::from_str(text).unwrap_or_default();
    let ctx = |kind| Ctx {
        path,
        map: &map,
        text,
        kind,
    };
    let kind = match table.get("kind") {
        // Without a `kind`, the game kinds' file type reports what is missing.
        None => kinds::default_kind(),
        Some(toml::Value::String(name)) => kinds::by_name(name).ok_or_else(|| {
            let names = kinds::names();
            let hint = value_hint(name, names.iter().copied());
            ctx(kinds::default_kind()).error_at(
                &[key("kind")],
                false,
                format!(
                    "unknown scenario kind \"{name}\"{hint} (this build runs: {})",
                    quoted(&names)
                ),
            )
        })?,
        Some(other) => {
            return Err(ctx(kinds::default_kind()).error_at(
                &[key("kind")],
                false,
                format!(
                    "must be a string naming the kind ({}), found {}",
                    quoted(&kinds::names()),
                    other.type_str()
                ),
            ));
        }
    };
    kind.validate(&ctx(kind))
}

pub(crate) fn file_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks the scenario's `name` (a plain file name: it names the default output directory
/// `results/<name>`) and `[output] dir` (a directory of its own).
pub(crate) fn check_name(ctx: &Ctx<'_>, name: &str, output: Option<&RawOutput>) -> Result<()> {
    if name.trim().is_empty()
        || name.len() > crate::output::guard::MAX_NAME
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
        || name == "."
        || name == ".."
    {
        return Err(ctx.error_at(
            &[key("name")],
            false,
            format!(
                "must be a non-empty name of at most {} bytes without path separators or control characters, and not `.` or `..`",
                crate::output::guard::MAX_NAME
            ),
        ));
    }
    if let Some(dir) = output.and_then(|o| o.dir.as_deref()) {
        let path = Path::new(dir);
        let own = path
            .file_name()
            .is_some_and(|n| n.len() <= crate::output::guard::MAX_NAME)
            && !matches!(path.components().next_back(), Some(Component::CurDir));
        if dir.trim().is_empty() || dir.contains('\0') || !own {
            return Err(ctx.error_at(
                &[key("output"), key("dir")],
                false,
                format!(
                    "must name a directory of its own: not empty, no NUL byte, a last part of at most {} bytes, and not `.`, `..` or a root",
                    crate::output::guard::MAX_NAME
                ),
            ));
        }
    }
    Ok(())
}

/// A scenario file being validated: its path, text and positions, and its kind (which
/// says what keys are valid). Every validation error is made here, so each names the file,
/// line, column and key.
pub struct Ctx<'a> {
    path: &'a Path,
    map: &'a SourceMap<'a>,
    text: &'a str,
    kind: &'static dyn ScenarioKind,
}

impl Ctx<'_> {
    /// The file's path (for paths given relative to it).
    pub fn path(&self) -> &Path {
        self.path
    }

    /// The file as `T` (a kind's raw type), with serde's errors placed at their key.
    pub(crate) fn read<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        toml::from_str(self.text).map_err(|e| self.serde_error(&e))
    }

    /// A validated scenario of this file.
    pub(crate) fn scenario(&self, name: &str, seed: u64, plan: Plan, output_dir: PathBuf) -> Scenario {
        Scenario {
            file: self.path.to_path_buf(),
            hash: file_hash(self.text),
            name: name.to_string(),
            kind: self.kind.name().to_string(),
            seed,
            game: None,
            plan,
            output_dir,
        }
    }

    /// An error at `path` (the key itself when `key_span`, else its value).
    pub(crate) fn error_at(&self, path: &[Seg], key_span: bool, message: String) -> Error {
        // The innermost part of the path that is in the file (a missing key points at its table).
        let (line, column) = (0..=path.len())
            .rev()
            .find_map(|n| self.map.span(&path[..n], key_span || n < path.len()))
            .map_or((1, 1), |s| self.map.line_col(s.start));
        let key = path_string(path);
        Error::Scenario {
            file: self.path.to_path_buf(),
            line,
            column,
            message: if key.is_empty() {
                message
            } else {
                format!("key `{key}`: {message}")
            },
        }
    }

    pub(crate) fn serde_error(&self, e: &toml::de::Error) -> Error {
        let message = e.message().trim_end().to_string();
        let offset = e.span().map_or(0, |s| s.start);
        let (line, column) = self.map.line_col(offset);
        let mut path = self.map.path_at(offset);
        let message = if let Some(field) = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
        {
            // The span covers the key; report it with the valid keys of that table.
            if path.last() != Some(&Seg::Key(field.to_string())) {
                path.push(Seg::Key(field.to_string()));
            }
            let tables: Vec<&str> = path[..path.len() - 1]
                .iter()
                .filter_map(|seg| match seg {
                    Seg::Key(k) => Some(k.as_str()),
                    Seg::Index(_) => None,
                })
                .collect();
            let valid = self.kind.valid_keys(&tables).unwrap_or(&[]);
            unknown_key_message(field, valid.iter().copied())
        } else if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            path.clear();
            format!("missing required key `{field}`")
        } else {
            message
        };
        let key = path_string(&path);
        Error::Scenario {
            file: self.path.to_path_buf(),
            line,
            column,
            message: if key.is_empty() {
                message
            } else {
                format!("key `{key}`: {message}")
            },
        }
    }
}

pub(crate) fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

/// Keys that make no sense for `kind` are errors, not silently ignored.
pub(crate) fn reject(ctx: &Ctx<'_>, present: bool, key_name: &str, kind: &str) -> Result<()> {
    if present {
        return Err(ctx.error_at(
            &[key(key_name)],
            true,
            format!("`{key_name}` does not apply to kind = \"{kind}\""),
        ));
    }
    Ok(())
}

pub(crate) fn in_range(ctx: &Ctx<'_>, name: &str, value: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ctx.error_at(
            &[key(name)],
            false,
            format!("must be in {}..={}, found {value}", range.start(), range.end()),
        ))
    }
}

/// `name` parsed by `parse`, or an error at `at`: unknown `what`, the closest valid name and
/// all of them.
pub(crate) fn parse_named<T>(
    ctx: &Ctx<'_>,
    at: &[Seg],
    what: &str,
    name: &str,
    names: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T> {
    parse(name).ok_or_else(|| {
        let hint = value_hint(name, names.iter().copied());
        ctx.error_at(
            at,
            false,
            format!("unknown {what} \"{name}\"{hint} (valid: {})", quoted(names)),
        )
    })
}

fn collect_strings(value: &toml::Value, out: &mut Vec<String>) {
    match value {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        toml::Value::Table(table) => table.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// `[output] dir`, or `results/<name>`.
pub(crate) fn output_dir(name: &str, output: Option<&RawOutput>) -> PathBuf {
    PathBuf::from(
        output
            .and_then(|o| o.dir.clone())
            .unwrap_or_else(|| format!("results/{name}")),
    )
}

/// The seeds of replicates 0..count of a scenario seeded `seed`.
pub(crate) fn replicate_seeds(seed: u64, count: u64) -> Vec<u64> {
    (0..count).map(|r| replicate_seed(seed, r)).collect()
}

pub(crate) fn quoted(items: &[&str]) -> String {
    items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
}

/// Rounds (or the kind's unit of work) under `--smoke`.
pub const SMOKE_ROUNDS: u64 = 6;
/// Replicates under `--smoke`.
pub const SMOKE_SEEDS: usize = 2;
/// The per-decision search budget under `--smoke`.
pub const SMOKE_BUDGET: i64 = 16;

impl Scenario {
    /// The files this scenario reads: the file itself, and every string value in it that
    /// names an existing file (relative to the scenario's folder or to the working
    /// directory): checkpoints, `init` files, agents' scripts, logged data. An output
    /// directory must not hold any of them.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let mut found = vec![self.file.clone()];
        let Ok(text) = std::fs::read_to_string(&self.file) else {
            return found;
        };
        let Ok(value) = text.parse::<toml::Table>() else {
            return found;
        };
        let base = self.file.parent().unwrap_or(Path::new(""));
        let mut strings = Vec::new();
        collect_strings(&toml::Value::Table(value), &mut strings);
        for s in strings {
            if s.trim().is_empty() || s.contains('\0') {
                continue;
            }
            for candidate in [base.join(&s), PathBuf::from(&s)] {
                if candidate.is_file() && !found.contains(&candidate) {
                    found.push(candidate);
                }
            }
        }
        found
    }

    /// The same scenario with at most `rounds` rounds (or the kind's unit of work) and
    /// `seeds` replicates: a quick look. Search budgets are left alone.
    pub fn scaled_down(mut self, rounds: u64, seeds: usize) -> Self {
        kinds::of(&self).scale_down(&mut self.plan, rounds, seeds);
        self
    }

    /// The same scenario with `rounds` as its count of rounds, up or down: rounds per
    /// replicate (tournaments), iterations (solve), `[simulation]` rounds (information).
    /// Other kinds refuse it. Nothing else changes.
    pub fn with_rounds(mut self, rounds: u64) -> Result<Self> {
        let kind = kinds::of(&self);
        kind.set_rounds(&mut self.plan, rounds)
            .map_err(|m| Error::Run(format!("{}: {m}", self.file.display())))?;
        Ok(self)
    }

    /// The same scenario with `seeds` replicates, up or down (tournaments, information and
    /// ad-load scenarios; others refuse it). Nothing else changes.
    pub fn with_seeds(mut self, seeds: usize) -> Result<Self> {
        let kind = kinds::of(&self);
        kind.set_seeds(&mut self.plan, self.seed, seeds)
            .map_err(|m| Error::Run(format!("{}: {m}", self.file.display())))?;
        Ok(self)
    }

    /// The smoke scaling `--smoke` applies (and the test suite runs every shipped file
    /// with): `SMOKE_ROUNDS` rounds, `SMOKE_SEEDS` replicates, search budgets capped at
    /// `SMOKE_BUDGET`, and each kind's other costs cut to match. Results are a quick look,
    /// not the scenario's.
    pub fn smoke(self) -> Self {
        self.smoke_test(SMOKE_ROUNDS, SMOKE_SEEDS, SMOKE_BUDGET)
    }

    /// Like `scaled_down`, and also caps every seat's per-decision budget (the parameter
    /// its policy declares as `budget`, e.g. `iterations` of ismcts) at `budget`: how the
    /// test suite smoke-runs every shipped file.
    pub fn smoke_test(self, rounds: u64, seeds: usize, budget: i64) -> Self {
        let mut s = self.scaled_down(rounds, seeds);
        kinds::of(&s).cap_search(&mut s.plan, budget);
        s
    }

    /// The tournament plan, if this is a tournament.
    pub fn tournament(&self) -> Option<&TournamentPlan> {
        match &self.plan {
            Plan::Tournament(t) => Some(t),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
