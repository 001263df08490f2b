//! Which device trains and plays: the CPU backend (burn's pure-Rust `flex`, always built) or a
//! GPU backend compiled in through a cargo feature (`cuda`, `wgpu`). Asking for a backend that
//! was not compiled in is a clear error, never a silent fallback, and so is a GPU backend
//! whose driver or device does not answer. `on_device!` turns a `DeviceKind` into a burn
//! backend type, so every type-erased constructor dispatches the same way.

use std::fmt;
use std::str::FromStr;

use crate::AgentError;

/// The autodiff backend of `DeviceKind::Cpu`.
pub(crate) type CpuBackend = burn::backend::Autodiff<burn::backend::Flex>;

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

/// Runs one tiny operation on `device`, turning a missing driver or device (which the GPU
/// backends report by panicking) into an error that says what to check.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
pub(crate) fn probe<B: burn::tensor::backend::Backend>(device: &B::Device, kind: DeviceKind) -> Result<(), AgentError> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        burn::tensor::Tensor::<B, 1>::zeros([1], device).into_data()
    }));
    std::panic::set_hook(previous);
    outcome.map(|_| ()).map_err(|panic| {
        let detail = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the backend failed to start");
        let hint = match kind {
            DeviceKind::Cuda => {
                "check that an NVIDIA driver (libcuda.so) and NVRTC (libnvrtc.so) are installed and on LD_LIBRARY_PATH"
            }
            DeviceKind::Wgpu => "check that a Vulkan driver and loader (libvulkan.so) are installed",
            DeviceKind::Cpu => "",
        };
        let first_line = detail.lines().next().unwrap_or(detail);
        AgentError::Device(format!("no usable `{kind}` device: {first_line}; {hint}"))
    })
}

/// Runs `$body` with `$B` bound to the autodiff backend of `$device` (after checking that it
/// is compiled in and, for GPUs, that a device answers). Used inside functions returning
/// `Result<_, AgentError>`.
macro_rules! on_device {
    ($device:expr, |$B:ident| $body:expr) => {{
        let device: $crate::DeviceKind = $device;
        device.ensure_compiled_in()?;
        match device {
            $crate::DeviceKind::Cpu => {
                type $B = $crate::device::CpuBackend;
                $body
            }
            #[cfg(feature = "cuda")]
            $crate::DeviceKind::Cuda => {
                $crate::device::probe::<burn::backend::Cuda>(&Default::default(), device)?;
                type $B = burn::backend::Autodiff<burn::backend::Cuda>;
                $body
            }
            #[cfg(feature = "wgpu")]
            $crate::DeviceKind::Wgpu => {
                $crate::device::probe::<burn::backend::Wgpu>(&Default::default(), device)?;
                type $B = burn::backend::Autodiff<burn::backend::Wgpu>;
                $body
            }
            #[allow(unreachable_patterns)]
            other => Err($crate::AgentError::Device(format!(
                "the `{other}` backend is not compiled into this build"
            ))),
        }
    }};
}
pub(crate) use on_device;

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
