//! The one checkpoint format every learner uses: the network's record at `path` (burn's named
//! MessagePack, full precision) and a JSON side file at `path.json` (`CheckpointMeta`) saying
//! which algorithm wrote it, with which shapes and hyper-parameters, so the network can be
//! rebuilt before its weights are loaded. Learners call these helpers; which algorithm a
//! checkpoint holds is decided in `factory::load_learner`.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::Backend;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::AgentError;

/// What a checkpoint's side file records, so the network can be rebuilt before loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The learner that wrote it: `PpoConfig::ALGORITHM` or `DqnConfig::ALGORITHM`.
    pub algorithm: String,
    /// Observation length.
    pub obs_len: usize,
    /// Action-space size.
    pub num_actions: usize,
    /// The algorithm's hyper-parameters.
    #[serde(alias = "config")]
    pub settings: serde_json::Value,
    /// Updates done.
    pub updates: u64,
}

impl CheckpointMeta {
    /// The hyper-parameters as `C`; `label` names the algorithm in the error ("not a PPO
    /// checkpoint: ...").
    pub(crate) fn settings_as<C: DeserializeOwned>(&self, path: &Path, label: &str) -> Result<C, AgentError> {
        serde_json::from_value(self.settings.clone())
            .map_err(|e| checkpoint_error(path, format!("not a {label} checkpoint: {e}")))
    }
}

fn meta_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".json");
    PathBuf::from(p)
}

pub(crate) fn checkpoint_error(path: &Path, e: impl std::fmt::Display) -> AgentError {
    AgentError::Checkpoint {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The widest hidden layer a checkpoint may declare.
pub const MAX_HIDDEN: u64 = 4096;
/// The longest observation and the largest action space a checkpoint may declare.
pub const MAX_SHAPE: usize = 1 << 20;
/// The most weights a checkpoint's network may have (about 400 MB of f32).
pub const MAX_WEIGHTS: u64 = 100_000_000;

/// Reads a checkpoint's side file and checks its shapes before any network is built from
/// them (a hand-edited `hidden = 0` or `1e9` is an error here, not a crash or a huge
/// allocation later).
pub fn read_meta(path: &Path) -> Result<CheckpointMeta, AgentError> {
    let meta_file = meta_path(path);
    let text = std::fs::read_to_string(&meta_file).map_err(|e| checkpoint_error(&meta_file, e))?;
    let meta: CheckpointMeta = serde_json::from_str(&text).map_err(|e| checkpoint_error(&meta_file, e))?;
    check_shapes(&meta).map_err(|m| checkpoint_error(&meta_file, m))?;
    Ok(meta)
}

fn check_shapes(meta: &CheckpointMeta) -> Result<(), String> {
    for (name, value) in [("obs_len", meta.obs_len), ("num_actions", meta.num_actions)] {
        if !(1..=MAX_SHAPE).contains(&value) {
            return Err(format!("`{name}` must be in 1..={MAX_SHAPE}, found {value}"));
        }
    }
    let hidden = match meta.settings.get("hidden") {
        None => return Ok(()),
        Some(v) => match v.as_u64() {
            Some(h) if (1..=MAX_HIDDEN).contains(&h) => h,
            _ => {
                return Err(format!(
                    "`settings.hidden` must be an integer in 1..={MAX_HIDDEN}, found {v}"
                ));
            }
        },
    };
    let (obs, actions) = (meta.obs_len as u64, meta.num_actions as u64);
    // Input, one hidden layer to the next, and the heads: a generous bound on every network here.
    let weights = hidden * (obs + 2 * hidden + actions + 4);
    if weights > MAX_WEIGHTS {
        return Err(format!(
            "a network of {obs} inputs, {actions} actions and hidden width {hidden} would have about {weights} weights (at most {MAX_WEIGHTS})"
        ));
    }
    Ok(())
}

/// Writes a checkpoint's side file.
pub(crate) fn write_meta(path: &Path, meta: &CheckpointMeta) -> Result<(), AgentError> {
    let text = serde_json::to_string_pretty(meta).map_err(|e| checkpoint_error(path, e))?;
    std::fs::write(meta_path(path), text).map_err(|e| checkpoint_error(path, e))
}

/// Writes a network to `path` and its side file, creating the directory.
pub(crate) fn save_checkpoint<B: Backend, M: Module<B>>(
    model: M,
    path: &Path,
    meta: &CheckpointMeta,
) -> Result<(), AgentError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| checkpoint_error(path, e))?;
    }
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    model
        .save_file(path.to_path_buf(), &recorder)
        .map_err(|e| checkpoint_error(path, e))?;
    write_meta(path, meta)
}

/// Loads the weights at `path` into `model`, a network of the same shape (freshly built from
/// the side file).
pub(crate) fn load_weights<B: Backend, M: Module<B>>(
    model: M,
    path: &Path,
    device: &B::Device,
) -> Result<M, AgentError> {
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    model
        .load_file(path.to_path_buf(), &recorder, device)
        .map_err(|e| checkpoint_error(path, weights_error(&e.to_string())))
}

/// A plain message for weights that cannot be read: burn's own text, first line only (its
/// advice about a feature flag of older burn versions does not apply to mechsim's files).
fn weights_error(burn: &str) -> String {
    let first = burn.lines().next().unwrap_or("").trim();
    if first.contains("UnexpectedEof") {
        "the network weights end early: the file is truncated (copy it again, or retrain)".into()
    } else {
        format!("the network weights cannot be read: the file is damaged or not a checkpoint mechsim wrote ({first})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(obs_len: usize, num_actions: usize, hidden: serde_json::Value) -> CheckpointMeta {
        CheckpointMeta {
            algorithm: "ppo".into(),
            obs_len,
            num_actions,
            settings: serde_json::json!({ "hidden": hidden }),
            updates: 0,
        }
    }

    #[test]
    fn shapes_are_checked_before_a_network_is_built() {
        assert!(check_shapes(&meta(100, 50, 128.into())).is_ok());
        for (bad, says) in [
            (meta(100, 50, 0.into()), "settings.hidden"),
            (meta(100, 50, 1e9.into()), "settings.hidden"),
            (meta(100, 50, (-3).into()), "settings.hidden"),
            (meta(100, 50, "wide".into()), "settings.hidden"),
            (meta(0, 50, 128.into()), "obs_len"),
            (meta(100, 0, 128.into()), "num_actions"),
            (meta(1 << 21, 50, 128.into()), "obs_len"),
            (meta(1 << 20, 1 << 20, 4096.into()), "weights"),
        ] {
            let err = check_shapes(&bad).expect_err(says);
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn a_side_file_with_a_zero_width_is_refused_by_read_meta() {
        let dir = std::env::temp_dir().join(format!("mechsim-meta-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creates");
        let path = dir.join("m.mpk");
        std::fs::write(
            meta_path(&path),
            serde_json::to_string(&meta(10, 5, 0.into())).expect("json"),
        )
        .expect("writes");
        let err = read_meta(&path).map(|_| ()).expect_err("refused").to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.contains("settings.hidden"), "{err}");
    }
}
