//! The burn backends toongan runs on, and the choice between them at run time
//! (`--device cpu | cuda[:N]`).

use std::str::FromStr;

mod fast_cpu;

pub use fast_cpu::FastCpu;

/// CPU backend used for inference, training and tests: Flex with toongan's convolutions.
pub type Cpu = FastCpu;
/// CPU backend with automatic differentiation, for training.
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

/// CUDA backend (with the `cuda` feature).
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;
/// CUDA backend with automatic differentiation (with the `cuda` feature).
#[cfg(feature = "cuda")]
pub type CudaAutodiff = burn::backend::Autodiff<Cuda>;

/// Where a command runs, as given by `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The CPU (all cores, through rayon).
    #[default]
    Cpu,
    /// An NVIDIA GPU by ordinal (`cuda` is `cuda:0`).
    Cuda(usize),
}

/// Why a device cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The text is not a device name.
    #[error("unknown device '{0}': use cpu, cuda or cuda:N")]
    Unknown(String),
    /// This binary was built without CUDA support.
    #[error(
        "this toongan was built without CUDA: rebuild with `cargo build --release --features cuda`"
    )]
    NotBuilt,
    /// The CUDA driver is missing or has no such device.
    #[error("CUDA device {index} is not usable: {reason}")]
    Unavailable {
        /// The ordinal asked for.
        index: usize,
        /// What the driver said.
        reason: String,
    },
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| DeviceError::Unknown(s.to_string())),
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Checks that the CUDA driver loads and has device `index`, so a missing GPU gives an
/// error instead of the panic burn's CUDA backend raises on its first operation.
pub fn check_cuda(index: usize) -> Result<(), DeviceError> {
    #[cfg(feature = "cuda")]
    {
        cuda_probe::device_count()
            .and_then(|n| {
                if index < n {
                    Ok(())
                } else {
                    Err(format!("the driver sees {n} device(s)"))
                }
            })
            .map_err(|reason| DeviceError::Unavailable { index, reason })
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = index;
        Err(DeviceError::NotBuilt)
    }
}

/// The CUDA device for an ordinal, after [`check_cuda`].
#[cfg(feature = "cuda")]
pub fn cuda_device(index: usize) -> Result<burn::backend::cuda::CudaDevice, DeviceError> {
    check_cuda(index)?;
    Ok(burn::backend::cuda::CudaDevice::new(index))
}

#[cfg(feature = "cuda")]
mod cuda_probe {
    /// Loads libcuda and asks it for the number of devices.
    pub fn device_count() -> Result<usize, String> {
        // SAFETY: loading the system CUDA driver library and calling two of its C entry
        // points with their documented signatures.
        unsafe {
            let lib = libloading::Library::new("libcuda.so.1")
                .or_else(|_| libloading::Library::new("libcuda.so"))
                .map_err(|e| format!("cannot load the CUDA driver (libcuda.so.1): {e}"))?;
            let init: libloading::Symbol<unsafe extern "C" fn(u32) -> i32> =
                lib.get(b"cuInit").map_err(|e| e.to_string())?;
            let rc = init(0);
            if rc != 0 {
                return Err(format!("cuInit failed with CUDA error {rc}"));
            }
            let count: libloading::Symbol<unsafe extern "C" fn(*mut i32) -> i32> =
                lib.get(b"cuDeviceGetCount").map_err(|e| e.to_string())?;
            let mut n = 0i32;
            let rc = count(&mut n);
            if rc != 0 {
                return Err(format!("cuDeviceGetCount failed with CUDA error {rc}"));
            }
            Ok(n.max(0) as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse() {
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!(
            "cuda".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(0)
        );
        assert_eq!(
            "CUDA:3".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(3)
        );
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_build_it() {
        let err = check_cuda(0).unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
