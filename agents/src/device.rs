//! Which device trains and plays: the CPU backend (burn's pure-Rust `flex`, always built) or a
//! GPU backend compiled in through a cargo feature (`cuda`, `wgpu`). Asking for a backend that
//! was not compiled in is a clear error, never a silent fallback.

use std::fmt;
use std::str::FromStr;

use crate::AgentError;

/// A compute device family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// burn's `flex` CPU backend (default build).
    Cpu,
    /// NVIDIA GPUs through CUDA (`--features cuda`).
    Cuda,
    /// GPUs through wgpu / Vulkan (`--features wgpu`).
    Wgpu,
}

impl DeviceKind {
    /// Every name accepted by `--device`.
    pub const NAMES: &'static [&'static str] = &["cpu", "cuda", "wgpu"];

    /// Whether this build contains the backend.
    pub fn compiled_in(self) -> bool {
        match self {
            DeviceKind::Cpu => true,
            DeviceKind::Cuda => cfg!(feature = "cuda"),
            DeviceKind::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The device kinds this build can use.
    pub fn available() -> Vec<DeviceKind> {
        [DeviceKind::Cpu, DeviceKind::Cuda, DeviceKind::Wgpu]
            .into_iter()
            .filter(|d| d.compiled_in())
            .collect()
    }

    /// Fails with a message saying how to get the backend if it is not compiled in.
    pub fn ensure_compiled_in(self) -> Result<(), AgentError> {
        if self.compiled_in() {
            Ok(())
        } else {
            Err(AgentError::Device(format!(
                "the `{self}` backend is not compiled into this build; rebuild with `cargo build --release --features {self}` (available here: {})",
                DeviceKind::available()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Cuda => "cuda",
            DeviceKind::Wgpu => "wgpu",
        })
    }
}

impl FromStr for DeviceKind {
    type Err = AgentError;

    fn from_str(s: &str) -> Result<Self, AgentError> {
        match s {
            "cpu" => Ok(DeviceKind::Cpu),
            "cuda" => Ok(DeviceKind::Cuda),
            "wgpu" => Ok(DeviceKind::Wgpu),
            other => Err(AgentError::Device(format!(
                "unknown device `{other}`; valid: cpu, cuda, wgpu"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_there_and_missing_backends_say_how_to_get_them() {
        assert!(DeviceKind::available().contains(&DeviceKind::Cpu));
        assert_eq!("wgpu".parse::<DeviceKind>().unwrap(), DeviceKind::Wgpu);
        assert!(
            "tpu"
                .parse::<DeviceKind>()
                .unwrap_err()
                .to_string()
                .contains("valid: cpu, cuda, wgpu")
        );
        if !cfg!(feature = "cuda") {
            let e = DeviceKind::Cuda.ensure_compiled_in().unwrap_err().to_string();
            assert!(e.contains("--features cuda"), "{e}");
        }
    }
}
