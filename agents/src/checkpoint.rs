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

/// Reads a checkpoint's side file.
pub fn read_meta(path: &Path) -> Result<CheckpointMeta, AgentError> {
    let meta = meta_path(path);
    let text = std::fs::read_to_string(&meta).map_err(|e| checkpoint_error(&meta, e))?;
    serde_json::from_str(&text).map_err(|e| checkpoint_error(&meta, e))
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
        .map_err(|e| checkpoint_error(path, e))
}
