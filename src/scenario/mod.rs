//! Scenario files, in two stages (like ripgrep's low-level and high-level arguments):
//! TOML text -> `RawScenario` (serde: types and unknown keys) -> `Scenario` (validated:
//! ranges, registered names, seat counts, derived seeds). Every error names the file,
//! line, column and key, and lists what would be valid or suggests the closest name.

pub mod adload;
pub mod information;
pub mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::core::error::{Error, Result};
use crate::core::params::{GameSpec, ParamKind, ParamValue, Params, unknown_key_message, value_hint};
use crate::core::rng::{MAX_REPLICATE_SEED, replicate_seed};
use crate::policies::PolicyRole;
use crate::registry::{self, GameEntry, PolicyInfo};
use crate::runner::adload::AdloadPlan;
use crate::runner::information::InformationPlan;
use crate::runner::solve::{SolvePlan, SolverAlgorithm};
use crate::runner::training::{TrainingBudget, TrainingPlan};
use crate::runner::{SeatPlan, TournamentPlan};
use crate::world::Rotation;
use mechsim_agents::{DqnConfig, LearnerConfig, PpoConfig};
use source::{Seg, SourceMap, path_string};

/// Scenario kinds this build can run.
pub const KINDS: &[&str] = &["tournament", "solve", "training", "information", "adload"];

/// Keys of the `[training]` table.
const TRAINING_KEYS: &[&str] = &[
    "algorithm",
    "steps",
    "episodes",
    "minutes",
    "update_every",
    "eval_every",
    "eval_rounds",
    "checkpoint_every",
    "learning_rate",
    "gamma",
    "gae_lambda",
    "clip",
    "value_coef",
    "entropy_coef",
    "epochs",
    "minibatch",
    "max_grad_norm",
    "hidden",
    "init",
    "buffer",
    "target_sync",
    "epsilon_start",
    "epsilon_end",
    "epsilon_steps",
    "replay_ratio",
    "win_coef",
];

/// Keys of the `[solver]` table.
const SOLVER_KEYS: &[&str] = &["algorithm", "iterations", "eval_every", "checkpoint_every"];

/// Top-level keys, for suggestions.
const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "kind",
    "seed",
    "seeds",
    "rounds",
    "tables",
    "rotation",
    "game",
    "seats",
    "solver",
    "training",
    "opponents",
    "output",
    "sweep",
];

/// What serde reads; checked further by `validate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    kind: String,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    seeds: Option<toml::Value>,
    #[serde(default)]
    rounds: Option<u64>,
    #[serde(default)]
    tables: Option<u64>,
    #[serde(default)]
    rotation: Option<String>,
    game: toml::Table,
    #[serde(default)]
    seats: Option<Vec<toml::Table>>,
    #[serde(default)]
    solver: Option<RawSolver>,
    #[serde(default)]
    training: Option<RawTraining>,
    #[serde(default)]
    opponents: Option<Vec<toml::Table>>,
    #[serde(default)]
    output: Option<RawOutput>,
    /// A sweep grid (`mechsim sweep`); `mechsim run` runs the base scenario.
    #[serde(default)]
    #[allow(dead_code)]
    sweep: Option<toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraining {
    algorithm: Option<String>,
    steps: Option<u64>,
    episodes: Option<u64>,
    minutes: Option<f64>,
    update_every: Option<u64>,
    eval_every: Option<u64>,
    eval_rounds: Option<u64>,
    checkpoint_every: Option<u64>,
    learning_rate: Option<f64>,
    gamma: Option<f32>,
    gae_lambda: Option<f32>,
    clip: Option<f32>,
    value_coef: Option<f32>,
    entropy_coef: Option<f32>,
    epochs: Option<u64>,
    minibatch: Option<u64>,
    max_grad_norm: Option<f32>,
    hidden: Option<u64>,
    init: Option<String>,
    buffer: Option<u64>,
    target_sync: Option<u64>,
    epsilon_start: Option<f32>,
    epsilon_end: Option<f32>,
    epsilon_steps: Option<u64>,
    replay_ratio: Option<f32>,
    win_coef: Option<f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSolver {
    algorithm: Option<String>,
    iterations: Option<u64>,
    eval_every: Option<u64>,
    checkpoint_every: Option<u64>,
}

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
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read scenario", path, e))?;
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
    let kind = match toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("kind").cloned())
    {
        Some(toml::Value::String(k)) if k == "information" => "information",
        Some(toml::Value::String(k)) if k == "adload" => "adload",
        _ => "game",
    };
    let ctx = Ctx { path, map: &map, kind };
    if kind == "information" {
        let raw: information::RawInformation = toml::from_str(text).map_err(|e| ctx.serde_error(&e))?;
        return validate_information(&ctx, raw, text);
    }
    if kind == "adload" {
        let raw: adload::RawAdload = toml::from_str(text).map_err(|e| ctx.serde_error(&e))?;
        check_name(&ctx, raw.name())?;
        let seed = raw.seed();
        let plan = adload::validate(&ctx, &raw, seed)?;
        return Ok(Scenario {
            file: path.to_path_buf(),
            hash: file_hash(text),
            name: raw.name().to_string(),
            kind: "adload".into(),
            seed,
            game: None,
            plan: Plan::Adload(Box::new(plan)),
            output_dir: raw.output_dir(),
        });
    }
    let raw: RawScenario = toml::from_str(text).map_err(|e| ctx.serde_error(&e))?;
    validate(&ctx, raw, text)
}

fn file_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_name(ctx: &Ctx<'_>, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.contains(['/', '\\']) {
        return Err(ctx.error_at(
            &[key("name")],
            false,
            "must be a non-empty name without path separators".into(),
        ));
    }
    Ok(())
}

fn validate_information(ctx: &Ctx<'_>, raw: information::RawInformation, text: &str) -> Result<Scenario> {
    check_name(ctx, raw.name())?;
    let seed = raw.seed();
    let plan = information::validate(ctx, &raw, seed)?;
    Ok(Scenario {
        file: ctx.path.to_path_buf(),
        hash: file_hash(text),
        name: raw.name().to_string(),
        kind: "information".into(),
        seed,
        game: None,
        plan: Plan::Information(Box::new(plan)),
        output_dir: raw.output_dir(),
    })
}

struct Ctx<'a> {
    path: &'a Path,
    map: &'a SourceMap<'a>,
    /// `information`, `adload` or `game` (the other kinds): which keys are valid in messages.
    kind: &'static str,
}

impl Ctx<'_> {
    fn error_at(&self, path: &[Seg], key_span: bool, message: String) -> Error {
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

    fn serde_error(&self, e: &toml::de::Error) -> Error {
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
            let valid: Vec<&str> = match path.first() {
                Some(Seg::Key(k)) if self.kind == "information" && path.len() > 1 => match k.as_str() {
                    "instance" => information::INSTANCE_KEYS.to_vec(),
                    "agents" => information::AGENT_KEYS.to_vec(),
                    "simulation" => information::SIMULATION_KEYS.to_vec(),
                    "online" => information::ONLINE_KEYS.to_vec(),
                    _ => vec!["dir"],
                },
                _ if self.kind == "information" => information::TOP_KEYS.to_vec(),
                Some(Seg::Key(k)) if self.kind == "adload" && path.len() > 1 => match k.as_str() {
                    "market" => adload::MARKET_KEYS.to_vec(),
                    "evaluation" => adload::EVALUATION_KEYS.to_vec(),
                    "learning" => adload::LEARNING_KEYS.to_vec(),
                    "online" => adload::ONLINE_KEYS.to_vec(),
                    _ => vec!["dir"],
                },
                _ if self.kind == "adload" => adload::TOP_KEYS.to_vec(),
                Some(Seg::Key(k)) if path.len() > 1 && k == "solver" => SOLVER_KEYS.to_vec(),
                Some(Seg::Key(k)) if path.len() > 1 && k == "training" => TRAINING_KEYS.to_vec(),
                Some(_) if path.len() > 1 => vec!["dir"],
                _ => TOP_KEYS.to_vec(),
            };
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

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

fn to_param(value: &toml::Value) -> std::result::Result<ParamValue, String> {
    match value {
        toml::Value::Integer(i) => Ok(ParamValue::Int(*i)),
        toml::Value::Float(f) => Ok(ParamValue::Float(*f)),
        toml::Value::Boolean(b) => Ok(ParamValue::Bool(*b)),
        toml::Value::String(s) => Ok(ParamValue::Str(s.clone())),
        toml::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                toml::Value::String(s) => Ok(s.clone()),
                other => Err(format!("item {i} must be a string, found {}", other.type_str())),
            })
            .collect::<std::result::Result<Vec<String>, String>>()
            .map(ParamValue::List),
        toml::Value::Table(table) => table
            .iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!("`{k}` must be a string, found {}", other.type_str())),
            })
            .collect::<std::result::Result<BTreeMap<String, String>, String>>()
            .map(ParamValue::Map),
        other => Err(format!(
            "expected a string, number, boolean, array or table, found {}",
            other.type_str()
        )),
    }
}

fn validate(ctx: &Ctx<'_>, raw: RawScenario, text: &str) -> Result<Scenario> {
    check_name(ctx, &raw.name)?;
    if !KINDS.contains(&raw.kind.as_str()) {
        let hint = value_hint(&raw.kind, KINDS.iter().copied());
        return Err(ctx.error_at(
            &[key("kind")],
            false,
            format!(
                "unknown scenario kind \"{}\"{hint} (this build runs: {})",
                raw.kind,
                quoted(KINDS)
            ),
        ));
    }
    let seed = raw.seed.unwrap_or(0);
    let output_dir = output_dir(&raw.name, raw.output.as_ref());
    let hash = file_hash(text);
    let (game, plan) = match raw.kind.as_str() {
        "solve" => validate_solve(ctx, &raw, seed)?,
        "training" => validate_training(ctx, &raw, seed)?,
        _ => validate_tournament(ctx, &raw, seed)?,
    };
    Ok(Scenario {
        file: ctx.path.to_path_buf(),
        hash,
        name: raw.name,
        kind: raw.kind,
        seed,
        game: Some(game),
        plan,
        output_dir,
    })
}

/// Keys that make no sense for `kind` are errors, not silently ignored.
fn reject(ctx: &Ctx<'_>, present: bool, key_name: &str, kind: &str) -> Result<()> {
    if present {
        return Err(ctx.error_at(
            &[key(key_name)],
            true,
            format!("`{key_name}` does not apply to kind = \"{kind}\""),
        ));
    }
    Ok(())
}

fn validate_training(ctx: &Ctx<'_>, raw: &RawScenario, seed: u64) -> Result<(GameSpec, Plan)> {
    reject(ctx, raw.solver.is_some(), "solver", "training")?;
    reject(
        ctx,
        raw.seats.is_some(),
        "seats",
        "training (the learner takes one seat; list the others as [[opponents]])",
    )?;
    reject(ctx, raw.seeds.is_some(), "seeds", "training")?;
    reject(ctx, raw.rounds.is_some(), "rounds", "training")?;
    reject(
        ctx,
        raw.rotation.is_some(),
        "rotation",
        "training (the learner always rotates through the positions)",
    )?;
    let Some(t) = &raw.training else {
        return Err(ctx.error_at(
            &[],
            false,
            "a training scenario needs a [training] table (algorithm, budget)".into(),
        ));
    };
    let at = |k: &str| vec![key("training"), key(k)];
    // Both configs are validated below; the algorithm picks the one the plan carries.
    let pick: fn(PpoConfig, DqnConfig) -> LearnerConfig = match t.algorithm.as_deref() {
        None | Some(PpoConfig::ALGORITHM) => |ppo, _| LearnerConfig::Ppo(ppo),
        Some(DqnConfig::ALGORITHM) => |_, dqn| LearnerConfig::Dqn(dqn),
        Some(other) => {
            let hint = value_hint(other, LearnerConfig::NAMES.iter().copied());
            let names: Vec<String> = LearnerConfig::NAMES.iter().map(|n| format!("\"{n}\"")).collect();
            return Err(ctx.error_at(
                &at("algorithm"),
                false,
                format!(
                    "unknown algorithm \"{other}\"{hint} (this build trains: {})",
                    names.join(", ")
                ),
            ));
        }
    };
    if t.steps.is_none() && t.episodes.is_none() && t.minutes.is_none() {
        return Err(ctx.error_at(
            &[key("training")],
            true,
            "give a budget: `steps`, `episodes` or `minutes`".into(),
        ));
    }
    if let Some(m) = t.minutes.filter(|m| !(m.is_finite() && *m > 0.0)) {
        return Err(ctx.error_at(&at("minutes"), false, format!("must be a positive number, found {m}")));
    }
    let positive = |name: &str, v: Option<u64>, default: u64, max: u64| -> Result<u64> {
        let v = v.unwrap_or(default);
        if (1..=max).contains(&v) {
            Ok(v)
        } else {
            Err(ctx.error_at(&at(name), false, format!("must be in 1..={max}, found {v}")))
        }
    };
    let unit = |name: &str, v: Option<f32>, default: f32, lo: f32, hi: f32| -> Result<f32> {
        let v = v.unwrap_or(default);
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(ctx.error_at(&at(name), false, format!("must be in [{lo}, {hi}], found {v}")))
        }
    };
    let defaults = PpoConfig::default();
    let learning_rate = t.learning_rate.unwrap_or(defaults.learning_rate);
    if !(learning_rate.is_finite() && learning_rate > 0.0 && learning_rate < 1.0) {
        return Err(ctx.error_at(
            &at("learning_rate"),
            false,
            format!("must be in (0, 1), found {learning_rate}"),
        ));
    }
    let ppo = PpoConfig {
        learning_rate,
        gamma: unit("gamma", t.gamma, defaults.gamma, 0.0, 1.0)?,
        gae_lambda: unit("gae_lambda", t.gae_lambda, defaults.gae_lambda, 0.0, 1.0)?,
        clip: unit("clip", t.clip, defaults.clip, 0.01, 1.0)?,
        value_coef: unit("value_coef", t.value_coef, defaults.value_coef, 0.0, 100.0)?,
        entropy_coef: unit("entropy_coef", t.entropy_coef, defaults.entropy_coef, 0.0, 10.0)?,
        epochs: positive("epochs", t.epochs, defaults.epochs as u64, 1000)? as usize,
        minibatch: positive("minibatch", t.minibatch, defaults.minibatch as u64, 1_000_000)? as usize,
        max_grad_norm: unit("max_grad_norm", t.max_grad_norm, defaults.max_grad_norm, 0.0001, 1000.0)?,
        hidden: positive("hidden", t.hidden, defaults.hidden as u64, 65_536)? as usize,
        seed,
        win_coef: unit("win_coef", t.win_coef, defaults.win_coef, 0.0, 100.0)?,
    };
    let Some(opponent_tables) = raw.opponents.as_ref().filter(|s| !s.is_empty()) else {
        return Err(ctx.error_at(
            &[],
            false,
            "a training scenario needs [[opponents]] entries for the other seats".into(),
        ));
    };
    let (entry, game) = validate_game(ctx, &raw.game, Some(opponent_tables.len() + 1))?;
    let opponents = validate_seat_list(ctx, &entry, opponent_tables, "opponents")?;
    let dqn_defaults = DqnConfig::default();
    let dqn = DqnConfig {
        learning_rate: t.learning_rate.unwrap_or(dqn_defaults.learning_rate),
        gamma: ppo.gamma,
        buffer: positive("buffer", t.buffer, dqn_defaults.buffer as u64, 100_000_000)? as usize,
        minibatch: positive("minibatch", t.minibatch, dqn_defaults.minibatch as u64, 1_000_000)? as usize,
        target_sync: positive("target_sync", t.target_sync, dqn_defaults.target_sync, 100_000_000)?,
        replay_ratio: unit("replay_ratio", t.replay_ratio, dqn_defaults.replay_ratio, 0.01, 1000.0)?,
        epsilon_start: unit("epsilon_start", t.epsilon_start, dqn_defaults.epsilon_start, 0.0, 1.0)?,
        epsilon_end: unit("epsilon_end", t.epsilon_end, dqn_defaults.epsilon_end, 0.0, 1.0)?,
        epsilon_steps: positive("epsilon_steps", t.epsilon_steps, dqn_defaults.epsilon_steps, u64::MAX)?,
        hidden: ppo.hidden,
        max_grad_norm: t.max_grad_norm.unwrap_or(dqn_defaults.max_grad_norm),
        seed,
    };
    let plan = TrainingPlan {
        scenario: raw.name.clone(),
        game: game.clone(),
        opponents,
        learner: pick(ppo, dqn),
        tables: in_range(ctx, "tables", raw.tables.unwrap_or(16), 1..=100_000)? as usize,
        budget: TrainingBudget {
            steps: t.steps,
            episodes: t.episodes,
            minutes: t.minutes,
        },
        update_every: positive("update_every", t.update_every, 4096, 100_000_000)? as usize,
        eval_every: t.eval_every.unwrap_or(10),
        eval_rounds: positive("eval_rounds", t.eval_rounds, 400, 100_000_000)?,
        checkpoint_every: t.checkpoint_every.unwrap_or(0),
        seed,
        init: match &t.init {
            Some(p) if Path::new(p).is_file() => Some(PathBuf::from(p)),
            Some(p) => {
                return Err(ctx.error_at(
                    &at("init"),
                    false,
                    format!("\"{p}\" is not a file (give a .mpk checkpoint)"),
                ));
            }
            None => None,
        },
    };
    Ok((game, Plan::Training(Box::new(plan))))
}

fn validate_tournament(ctx: &Ctx<'_>, raw: &RawScenario, seed: u64) -> Result<(GameSpec, Plan)> {
    reject(ctx, raw.solver.is_some(), "solver", "tournament")?;
    reject(ctx, raw.training.is_some(), "training", "tournament")?;
    reject(
        ctx,
        raw.opponents.is_some(),
        "opponents",
        "tournament (list every player under [[seats]])",
    )?;
    let Some(seat_tables) = raw.seats.as_ref().filter(|s| !s.is_empty()) else {
        return Err(ctx.error_at(
            &[],
            false,
            "a tournament needs [[seats]] entries, one per player".into(),
        ));
    };
    let seeds = match &raw.seeds {
        None => vec![replicate_seed(seed, 0)],
        Some(toml::Value::Integer(n)) if (1..=100_000).contains(n) => replicate_seeds(seed, *n as u64),
        Some(toml::Value::Array(items)) if !items.is_empty() => {
            let mut list = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    toml::Value::Integer(v) if *v >= 0 && (*v as u64) <= MAX_REPLICATE_SEED => list.push(*v as u64),
                    _ => {
                        return Err(ctx.error_at(
                            &[key("seeds"), Seg::Index(i)],
                            false,
                            format!("each listed seed must be an integer in 0..={MAX_REPLICATE_SEED}, found {item}"),
                        ));
                    }
                }
            }
            list
        }
        Some(other) => {
            return Err(ctx.error_at(
                &[key("seeds")],
                false,
                format!("must be a number of replicates in 1..=100000 or a non-empty list of seeds, found {other}"),
            ));
        }
    };
    let rounds = in_range(ctx, "rounds", raw.rounds.unwrap_or(100), 1..=1_000_000_000)?;
    let tables = in_range(ctx, "tables", raw.tables.unwrap_or(1), 1..=100_000)?;
    let rotation = match raw.rotation.as_deref() {
        None | Some("none") => Rotation::None,
        Some("rotate") => Rotation::Rotate,
        Some("duplicate") => Rotation::Duplicate,
        Some(other) => {
            let hint = value_hint(other, ["none", "rotate", "duplicate"]);
            return Err(ctx.error_at(
                &[key("rotation")],
                false,
                format!("must be \"none\", \"rotate\" or \"duplicate\", found \"{other}\"{hint}"),
            ));
        }
    };
    let (entry, game) = validate_game(ctx, &raw.game, Some(seat_tables.len()))?;
    let seats = validate_seats(ctx, &entry, seat_tables)?;
    if rotation == Rotation::Duplicate && rounds % (tables * seats.len() as u64) != 0 {
        let block = tables * seats.len() as u64;
        return Err(ctx.error_at(
            &[key("rounds")],
            false,
            format!(
                "rotation = \"duplicate\" plays each deal once per seating, so rounds must be a multiple of tables x \
                 seats = {block}; found {rounds} (try {})",
                rounds.div_ceil(block) * block
            ),
        ));
    }
    let plan = TournamentPlan {
        scenario: raw.name.clone(),
        game: game.clone(),
        seats,
        seeds,
        rounds,
        tables: tables as usize,
        rotation,
    };
    Ok((game, Plan::Tournament(plan)))
}

fn validate_solve(ctx: &Ctx<'_>, raw: &RawScenario, seed: u64) -> Result<(GameSpec, Plan)> {
    reject(ctx, raw.seats.is_some(), "seats", "solve")?;
    reject(ctx, raw.training.is_some(), "training", "solve")?;
    reject(ctx, raw.opponents.is_some(), "opponents", "solve")?;
    reject(ctx, raw.seeds.is_some(), "seeds", "solve")?;
    reject(ctx, raw.rounds.is_some(), "rounds", "solve")?;
    reject(ctx, raw.tables.is_some(), "tables", "solve")?;
    reject(ctx, raw.rotation.is_some(), "rotation", "solve")?;
    let Some(solver) = &raw.solver else {
        return Err(ctx.error_at(
            &[],
            false,
            "a solve scenario needs a [solver] table (algorithm, iterations)".into(),
        ));
    };
    let at = |k: &str| vec![key("solver"), key(k)];
    let algorithm = match solver.algorithm.as_deref() {
        None => SolverAlgorithm::CfrPlus,
        Some(name) => parse_named(
            ctx,
            &at("algorithm"),
            "algorithm",
            name,
            SolverAlgorithm::NAMES,
            SolverAlgorithm::parse,
        )?,
    };
    let iterations = solver.iterations.unwrap_or(1000);
    if !(1..=1_000_000_000).contains(&iterations) {
        return Err(ctx.error_at(
            &at("iterations"),
            false,
            format!("must be in 1..=1000000000, found {iterations}"),
        ));
    }
    let eval_every = solver.eval_every.unwrap_or_else(|| (iterations / 100).max(1));
    let checkpoint_every = solver.checkpoint_every.unwrap_or(0);
    let (_, game) = validate_game(ctx, &raw.game, None)?;
    let plan = SolvePlan {
        scenario: raw.name.clone(),
        game: game.clone(),
        algorithm,
        iterations,
        eval_every,
        checkpoint_every,
        seed,
    };
    Ok((game, Plan::Solve(plan)))
}

fn in_range(ctx: &Ctx<'_>, name: &str, value: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64> {
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
fn parse_named<T>(
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

/// `[output] dir`, or `results/<name>`.
fn output_dir(name: &str, output: Option<&RawOutput>) -> PathBuf {
    PathBuf::from(
        output
            .and_then(|o| o.dir.clone())
            .unwrap_or_else(|| format!("results/{name}")),
    )
}

/// The seeds of replicates 0..count of a scenario seeded `seed`.
fn replicate_seeds(seed: u64, count: u64) -> Vec<u64> {
    (0..count).map(|r| replicate_seed(seed, r)).collect()
}

fn quoted(items: &[&str]) -> String {
    items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
}

fn validate_game(ctx: &Ctx<'_>, table: &toml::Table, seats: Option<usize>) -> Result<(GameEntry, GameSpec)> {
    let at = |k: &str| vec![key("game"), key(k)];
    let name = match table.get("name") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ctx.error_at(
                &at("name"),
                false,
                format!("must be a string, found {}", other.type_str()),
            ));
        }
        None => return Err(ctx.error_at(&[key("game")], true, "missing required key `name`".into())),
    };
    let Some(entry) = registry::game(&name) else {
        let names: Vec<&str> = registry::games().iter().map(|g| g.name).collect();
        let hint = value_hint(&name, names.iter().copied());
        return Err(ctx.error_at(
            &at("name"),
            false,
            format!(
                "unknown game \"{name}\"{hint} (registered: {}; see `mechsim list games`)",
                quoted(&names)
            ),
        ));
    };
    let rules = match table.get("rules") {
        None => entry.rule_sets[0].to_string(),
        Some(toml::Value::String(s)) if entry.rule_sets.contains(&s.as_str()) => s.clone(),
        Some(other) => {
            let given = other.as_str().map_or_else(|| other.to_string(), |s| format!("\"{s}\""));
            let hint = other
                .as_str()
                .map(|s| value_hint(s, entry.rule_sets.iter().copied()))
                .unwrap_or_default();
            return Err(ctx.error_at(
                &at("rules"),
                false,
                format!(
                    "unknown rule set {given}{hint} (valid for {}: {})",
                    entry.name,
                    quoted(entry.rule_sets)
                ),
            ));
        }
    };
    let (lo, hi) = entry.players;
    let players = match table.get("players") {
        None => seats.unwrap_or(lo),
        Some(toml::Value::Integer(p)) if (lo as i64..=hi as i64).contains(p) => *p as usize,
        Some(other) => {
            return Err(ctx.error_at(
                &at("players"),
                false,
                format!("must be an integer in {lo}..={hi}, found {other}"),
            ));
        }
    };
    if let Some(seats) = seats {
        if players != seats {
            return Err(ctx.error_at(
                &at("players"),
                false,
                format!("{players} players but {seats} [[seats]] entries; give one [[seats]] entry per player"),
            ));
        }
        if !(lo..=hi).contains(&seats) {
            return Err(ctx.error_at(
                &[key("seats")],
                true,
                format!(
                    "{} takes {lo} to {hi} players, found {seats} [[seats]] entries",
                    entry.name
                ),
            ));
        }
    }
    let mut params = Params::new();
    for (k, v) in table {
        if matches!(k.as_str(), "name" | "rules" | "players") {
            continue;
        }
        let valid = ["name", "rules", "players"]
            .into_iter()
            .chain(entry.params.iter().map(|p| p.name));
        if !entry.params.iter().any(|p| p.name == k) {
            return Err(ctx.error_at(&at(k), true, unknown_key_message(k, valid)));
        }
        let value = to_param(v).map_err(|m| ctx.error_at(&at(k), false, m))?;
        params
            .set(entry.params, k, value)
            .map_err(|m| ctx.error_at(&at(k), false, m))?;
    }
    let spec = GameSpec {
        name,
        rules,
        players,
        params,
    };
    Ok((entry, spec))
}

/// A parameter naming a rollout (or other helper) policy must name a plain policy of the
/// same game.
fn check_policy_name(ctx: &Ctx<'_>, at: &[Seg], game: &str, policies: &[PolicyInfo], name: &str) -> Result<()> {
    let usable: Vec<&str> = policies
        .iter()
        .filter(|p| p.role == PolicyRole::Plain)
        .map(|p| p.name)
        .collect();
    if usable.contains(&name) {
        return Ok(());
    }
    let key = match at.last() {
        Some(Seg::Key(k)) => k.as_str(),
        _ => "policy",
    };
    let hint = value_hint(name, usable.iter().copied());
    Err(ctx.error_at(
        at,
        false,
        format!(
            "`{key}` must name a non-search policy of {game}{hint} (valid: {})",
            quoted(&usable)
        ),
    ))
}

fn validate_seats(ctx: &Ctx<'_>, entry: &GameEntry, seats: &[toml::Table]) -> Result<Vec<SeatPlan>> {
    validate_seat_list(ctx, entry, seats, "seats")
}

fn validate_seat_list(ctx: &Ctx<'_>, entry: &GameEntry, seats: &[toml::Table], list: &str) -> Result<Vec<SeatPlan>> {
    let policies = entry.policies();
    let names: Vec<&str> = policies.iter().map(|p| p.name).collect();
    let mut plans: Vec<SeatPlan> = Vec::with_capacity(seats.len());
    for (i, seat) in seats.iter().enumerate() {
        let at = |k: &str| vec![key(list), Seg::Index(i), key(k)];
        let policy = match seat.get("policy") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(ctx.error_at(
                    &at("policy"),
                    false,
                    format!("must be a string, found {}", other.type_str()),
                ));
            }
            None => {
                return Err(ctx.error_at(
                    &[key(list), Seg::Index(i)],
                    false,
                    "missing required key `policy`".into(),
                ));
            }
        };
        let Some(info) = policies.iter().find(|p| p.name == policy) else {
            let hint = value_hint(&policy, names.iter().copied());
            return Err(ctx.error_at(
                &at("policy"),
                false,
                format!(
                    "unknown policy \"{policy}\" for {}{hint} (valid: {})",
                    entry.name,
                    quoted(&names)
                ),
            ));
        };
        let mut params = Params::new();
        let mut label = None;
        for (k, v) in seat {
            match k.as_str() {
                "policy" => {}
                "label" => match v {
                    toml::Value::String(s) if !s.trim().is_empty() => label = Some(s.clone()),
                    other => {
                        return Err(ctx.error_at(&at(k), false, format!("must be a non-empty string, found {other}")));
                    }
                },
                _ => {
                    if !info.params.iter().any(|p| p.name == k) {
                        let valid = ["policy", "label"]
                            .into_iter()
                            .chain(info.params.iter().map(|p| p.name));
                        return Err(ctx.error_at(
                            &at(k),
                            true,
                            format!("{} (policy \"{policy}\")", unknown_key_message(k, valid)),
                        ));
                    }
                    let value = to_param(v).map_err(|m| ctx.error_at(&at(k), false, m))?;
                    let spec = info.params.iter().find(|p| p.name == k).expect("checked above");
                    if let (ParamKind::PolicyName, ParamValue::Str(name)) = (spec.kind, &value) {
                        check_policy_name(ctx, &at(k), entry.name, &policies, name)?;
                    }
                    params
                        .set(info.params, k, value)
                        .map_err(|m| ctx.error_at(&at(k), false, m))?;
                }
            }
        }
        if let Some(prepare) = info.prepare {
            let base = ctx.path.parent().unwrap_or(Path::new("."));
            let base = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base
            };
            prepare(&mut params, base).map_err(|(k, m)| {
                let at = if seat.contains_key(k) {
                    at(k)
                } else {
                    vec![key(list), Seg::Index(i)]
                };
                ctx.error_at(&at, false, format!("{m} (policy \"{policy}\")"))
            })?;
        }
        let label = label.unwrap_or_else(|| policy.clone());
        plans.push(SeatPlan { policy, label, params });
    }
    // Repeated labels are numbered by seat so every participant is distinguishable.
    for i in 0..plans.len() {
        if plans.iter().filter(|p| p.label == plans[i].label).count() > 1 {
            let explicit = seats[i].contains_key("label");
            if explicit {
                return Err(ctx.error_at(
                    &[key(list), Seg::Index(i), key("label")],
                    false,
                    format!(
                        "label \"{}\" is used by more than one seat; labels must be unique",
                        plans[i].label
                    ),
                ));
            }
        }
    }
    let labels: Vec<String> = plans.iter().map(|p| p.label.clone()).collect();
    for (i, plan) in plans.iter_mut().enumerate() {
        if labels.iter().filter(|l| **l == labels[i]).count() > 1 {
            plan.label = format!("{}#{i}", labels[i]);
        }
    }
    Ok(plans)
}

impl Scenario {
    /// The same scenario with at most `rounds` rounds and `seeds` replicates (tournaments) or
    /// `rounds` iterations (solvers): a quick look. Search budgets are left alone.
    pub fn scaled_down(mut self, rounds: u64, seeds: usize) -> Self {
        match &mut self.plan {
            Plan::Tournament(t) => {
                t.rounds = t.rounds.min(rounds);
                if t.rotation == Rotation::Duplicate {
                    // Whole blocks of one deal per seating.
                    let block = (t.tables * t.seats.len()) as u64;
                    t.rounds = (t.rounds.div_ceil(block) * block).max(block);
                }
                t.seeds.truncate(seeds.max(1));
            }
            Plan::Solve(s) => {
                s.iterations = s.iterations.min(rounds);
                s.eval_every = s.eval_every.min(s.iterations);
                if s.checkpoint_every >= s.iterations {
                    s.checkpoint_every = 0;
                }
            }
            Plan::Adload(p) => {
                p.users = p.users.min(rounds as usize * 10).max(20);
                p.online_users = p.online_users.min(p.users);
                p.ticks = p.ticks.min(10);
                if let Some(e) = &mut p.evaluation {
                    e.seeds.truncate(seeds.max(1));
                    e.bootstrap = e.bootstrap.min(20);
                }
                if let Some(l) = &mut p.learning {
                    l.lambdas.truncate(2);
                    l.iterations = l.iterations.min(20);
                }
                if let Some(o) = &mut p.online {
                    o.seeds.truncate(seeds.max(1));
                }
            }
            Plan::Information(p) => {
                if let Some(sim) = &mut p.simulation {
                    sim.rounds = sim.rounds.min(rounds);
                    sim.seeds.truncate(seeds.max(1));
                }
                if let Some(on) = &mut p.online {
                    for h in &mut on.horizons {
                        *h = (*h).min(rounds.max(10));
                    }
                    on.horizons.dedup();
                    on.seeds.truncate(seeds.max(1));
                }
            }
            Plan::Training(t) => {
                // `rounds` learner decisions per update and at most two updates.
                t.update_every = t.update_every.min(rounds as usize * 8).max(1);
                t.budget = TrainingBudget {
                    steps: Some(t.budget.steps.unwrap_or(u64::MAX).min(2 * t.update_every as u64)),
                    episodes: None,
                    minutes: None,
                };
                t.eval_rounds = t.eval_rounds.min(rounds);
                t.tables = t.tables.min(4);
                if let LearnerConfig::Ppo(ppo) = &mut t.learner {
                    ppo.minibatch = ppo.minibatch.min(64);
                    ppo.epochs = ppo.epochs.min(2);
                }
            }
        }
        self
    }

    /// Like `scaled_down`, and also caps every seat's per-decision budget (the parameter
    /// its policy declares as `budget`, e.g. `iterations` of ismcts) at `budget`: how the
    /// test suite smoke-runs every shipped file.
    pub fn smoke_test(self, rounds: u64, seeds: usize, budget: i64) -> Self {
        let mut s = self.scaled_down(rounds, seeds);
        if let Plan::Tournament(t) = &mut s.plan {
            let policies = registry::game(&t.game.name).map(|g| g.policies()).unwrap_or_default();
            for seat in &mut t.seats {
                if let Some(param) = policies.iter().find(|p| p.name == seat.policy).and_then(|p| p.budget) {
                    seat.params.cap_int(param, budget);
                }
            }
        }
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
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
kind = "tournament"
seed = 7
seeds = 3
rounds = 10
game = { name = "dhumbal", rules = "paper", players = 2 }

[[seats]]
policy = "random"
[[seats]]
policy = "random"
"#;

    fn err(text: &str) -> String {
        parse(Path::new("s.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn a_good_file_validates_and_derives_seeds() {
        let s = parse(Path::new("s.toml"), GOOD).unwrap();
        let t = s.tournament().unwrap();
        assert_eq!(t.seeds.len(), 3);
        assert_eq!(t.seeds[0], replicate_seed(7, 0));
        assert_eq!(t.seats[0].label, "random#0");
        assert_eq!(t.seats[1].label, "random#1");
        assert_eq!(s.output_dir, PathBuf::from("results/t"));
        assert_eq!(s.hash.len(), 64);
    }

    #[test]
    fn unknown_top_level_key_suggests() {
        let e = err(&GOOD.replace("rounds = 10", "roundz = 10"));
        assert!(
            e.starts_with("s.toml:6:1: key `roundz`: unknown key `roundz`; did you mean `rounds`?"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_names_the_key() {
        let e = err(&GOOD.replace("rounds = 10", "rounds = \"ten\""));
        assert!(e.starts_with("s.toml:6:10: key `rounds`:"), "{e}");
    }

    #[test]
    fn unknown_policy_and_game_and_rule_override() {
        let e = err(&GOOD.replacen("policy = \"random\"", "policy = \"dhumbal-agressive\"", 1));
        assert!(
            e.contains("s.toml:10:10: key `seats[0].policy`: unknown policy \"dhumbal-agressive\""),
            "{e}"
        );
        assert!(e.contains("did you mean \"dhumbal-aggressive\"?"), "{e}");
        let e = err(&GOOD.replace("name = \"dhumbal\"", "name = \"dhumbel\""));
        assert!(e.contains("unknown game \"dhumbel\"; did you mean \"dhumbal\"?"), "{e}");
        let e = err(&GOOD.replace("players = 2", "players = 2, jhyap_treshold = 7"));
        assert!(
            e.contains("key `game.jhyap_treshold`: unknown key `jhyap_treshold`; did you mean `jhyap_threshold`?"),
            "{e}"
        );
        let e = err(&GOOD.replace("players = 2", "players = 2, jhyap_threshold = 99"));
        assert!(e.contains("must be an integer in 0..=65, found integer 99"), "{e}");
    }

    #[test]
    fn out_of_range_and_mismatched_counts() {
        assert!(
            err(&GOOD.replace("rounds = 10", "rounds = 0"))
                .contains("key `rounds`: must be in 1..=1000000000, found 0")
        );
        assert!(err(&GOOD.replace("players = 2", "players = 3")).contains("3 players but 2 [[seats]] entries"));
        assert!(err(&GOOD.replace("seeds = 3", "seeds = [1, -2]")).contains("key `seeds[1]`"));
        assert!(
            err(&GOOD.replace("kind = \"tournament\"", "kind = \"tournamnet\""))
                .contains("did you mean \"tournament\"?")
        );
        assert!(err("name = \"x\"\nkind = ").starts_with("s.toml:2:"));
        assert!(err("kind = \"tournament\"\n").contains("missing required key `name`"));
    }

    const SOLVE: &str = r#"
name = "k"
kind = "solve"
game = { name = "kuhn_poker" }
[solver]
algorithm = "cfr+"
iterations = 500
"#;

    #[test]
    fn solve_scenarios_validate_and_reject_tournament_keys() {
        let s = parse(Path::new("s.toml"), SOLVE).unwrap();
        let Plan::Solve(plan) = &s.plan else {
            panic!("a solve plan")
        };
        assert_eq!((plan.iterations, plan.eval_every, plan.game.players), (500, 5, 2));
        let e = err(&SOLVE.replace("iterations = 500", "iterations = 500\nevery = 3"));
        assert!(e.contains("key `solver.every`: unknown key `every`"), "{e}");
        assert!(e.contains("`eval_every`"), "{e}");
        let e = err(&SOLVE.replace("kind = \"solve\"", "kind = \"solve\"\nrounds = 5"));
        assert!(e.contains("`rounds` does not apply to kind = \"solve\""), "{e}");
        let e = err(&SOLVE.replace("\"cfr+\"", "\"cfr-plus\""));
        assert!(e.contains("unknown algorithm \"cfr-plus\""), "{e}");
        let e = err(&format!("{GOOD}\n[solver]\niterations = 3\n"));
        assert!(e.contains("`solver` does not apply to kind = \"tournament\""), "{e}");
    }
}
