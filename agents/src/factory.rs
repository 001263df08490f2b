//! Building learners without naming burn: a `LearnerConfig` says which algorithm to train
//! with which hyper-parameters, `new_learner` builds it with fresh weights and `load_learner`
//! restores a checkpoint (its side file says which algorithm wrote it), each on the chosen
//! device and behind `Box<dyn Learner>`. The only place that knows every algorithm.

use std::path::Path;

use crate::checkpoint::{checkpoint_error, read_meta};
use crate::device::on_device;
use crate::dqn::{Dqn, DqnConfig};
use crate::learner::Learner;
use crate::ppo::{Ppo, PpoConfig};
use crate::{AgentError, DeviceKind};

/// A learning algorithm with its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LearnerConfig {
    /// Proximal policy optimisation.
    Ppo(PpoConfig),
    /// Deep Q-learning.
    Dqn(DqnConfig),
}

impl LearnerConfig {
    /// Every algorithm this crate trains, by the name scenarios and checkpoints use.
    pub const NAMES: &'static [&'static str] = &[PpoConfig::ALGORITHM, DqnConfig::ALGORITHM];

    /// The algorithm's name, as scenarios and checkpoint side files spell it.
    pub fn name(&self) -> &'static str {
        match self {
            LearnerConfig::Ppo(_) => PpoConfig::ALGORITHM,
            LearnerConfig::Dqn(_) => DqnConfig::ALGORITHM,
        }
    }

    /// The seed of weight initialisation and of the learner's own sampling.
    pub fn seed(&self) -> u64 {
        match self {
            LearnerConfig::Ppo(c) => c.seed,
            LearnerConfig::Dqn(c) => c.seed,
        }
    }

    /// The same hyper-parameters with another seed.
    pub fn with_seed(self, seed: u64) -> Self {
        match self {
            LearnerConfig::Ppo(c) => LearnerConfig::Ppo(PpoConfig { seed, ..c }),
            LearnerConfig::Dqn(c) => LearnerConfig::Dqn(DqnConfig { seed, ..c }),
        }
    }

    /// The hyper-parameters as JSON, as a checkpoint's side file records them.
    pub fn settings(&self) -> serde_json::Value {
        match self {
            LearnerConfig::Ppo(c) => serde_json::to_value(c),
            LearnerConfig::Dqn(c) => serde_json::to_value(c),
        }
        .unwrap_or_default()
    }
}

impl From<PpoConfig> for LearnerConfig {
    fn from(config: PpoConfig) -> Self {
        LearnerConfig::Ppo(config)
    }
}

impl From<DqnConfig> for LearnerConfig {
    fn from(config: DqnConfig) -> Self {
        LearnerConfig::Dqn(config)
    }
}

/// A learner with fresh weights (drawn from the config's seed) on the chosen device.
pub fn new_learner(
    device: DeviceKind,
    obs_len: usize,
    num_actions: usize,
    config: LearnerConfig,
) -> Result<Box<dyn Learner>, AgentError> {
    on_device!(device, |B| {
        let learner: Box<dyn Learner> = match config {
            LearnerConfig::Ppo(c) => Box::new(Ppo::<B>::new(obs_len, num_actions, c, Default::default())),
            LearnerConfig::Dqn(c) => Box::new(Dqn::<B>::new(obs_len, num_actions, c, Default::default())),
        };
        Ok(learner)
    })
}

/// Loads any checkpoint onto the chosen device, as the algorithm its side file names.
pub fn load_learner(device: DeviceKind, path: &Path) -> Result<Box<dyn Learner>, AgentError> {
    let meta = read_meta(path)?;
    match meta.algorithm.as_str() {
        PpoConfig::ALGORITHM => on_device!(device, |B| Ok(
            Box::new(Ppo::<B>::load(path, Default::default())?) as Box<dyn Learner>
        )),
        DqnConfig::ALGORITHM => on_device!(device, |B| Ok(
            Box::new(Dqn::<B>::load(path, Default::default())?) as Box<dyn Learner>
        )),
        other => Err(checkpoint_error(
            path,
            format!(
                "unknown algorithm `{other}` (expected {})",
                LearnerConfig::NAMES.join(" or ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Batch;

    #[test]
    fn names_and_seeds_follow_the_variant() {
        let ppo = LearnerConfig::from(PpoConfig::default()).with_seed(5);
        let dqn = LearnerConfig::from(DqnConfig::default()).with_seed(6);
        assert_eq!((ppo.name(), ppo.seed()), ("ppo", 5));
        assert_eq!((dqn.name(), dqn.seed()), ("dqn", 6));
        assert_eq!(ppo.settings()["seed"], 5);
        assert!(dqn.settings().get("buffer").is_some());
    }

    #[test]
    fn checkpoints_load_as_the_algorithm_that_wrote_them() {
        let dir = std::env::temp_dir().join(format!("mechsim-factory-{}", std::process::id()));
        let mut b = Batch::new(3, 4);
        b.push(&[0.5, -1.0, 2.0], &[0, 2, 3]).unwrap();
        for config in [
            LearnerConfig::Ppo(PpoConfig {
                hidden: 8,
                seed: 1,
                ..PpoConfig::default()
            }),
            LearnerConfig::Dqn(DqnConfig {
                hidden: 8,
                seed: 1,
                ..DqnConfig::default()
            }),
        ] {
            let path = dir.join(format!("{}.mpk", config.name()));
            let mut learner = new_learner(DeviceKind::Cpu, 3, 4, config).unwrap();
            learner.save(&path).unwrap();
            assert_eq!(read_meta(&path).unwrap().algorithm, config.name());
            let mut loaded = load_learner(DeviceKind::Cpu, &path).unwrap();
            assert_eq!(
                loaded.act(&b, &[0.3], true).unwrap(),
                learner.act(&b, &[0.3], true).unwrap()
            );
        }
        let path = dir.join("odd.mpk");
        std::fs::write(
            dir.join("odd.mpk.json"),
            r#"{"algorithm": "sarsa", "obs_len": 3, "num_actions": 4, "settings": {}, "updates": 0}"#,
        )
        .unwrap();
        let e = load_learner(DeviceKind::Cpu, &path).err().unwrap().to_string();
        assert!(e.contains("unknown algorithm `sarsa` (expected ppo or dqn)"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_shipped_checkpoint_loads_and_plays_legally() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/dhumbal-ppo-4p.mpk");
        let meta = read_meta(&path).unwrap();
        assert_eq!(meta.algorithm, PpoConfig::ALGORITHM);
        let mut learner = load_learner(DeviceKind::Cpu, &path).unwrap();
        let mut b = Batch::new(meta.obs_len, meta.num_actions);
        let obs: Vec<f32> = (0..meta.obs_len).map(|i| (i % 7) as f32 / 7.0).collect();
        b.push(&obs, &[3, 40, 200]).unwrap();
        for greedy in [false, true] {
            let d = learner.act(&b, &[0.6], greedy).unwrap();
            assert!([3, 40, 200].contains(&d[0].action), "illegal action {}", d[0].action);
            assert!(d[0].win_probability.is_some_and(|w| (0.0..=1.0).contains(&w)));
        }
    }
}
