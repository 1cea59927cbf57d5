//! The burn backends toongan runs on, and the choice between them at run time
//! (`--device cpu | cuda[:N]`).

use std::str::FromStr;

use burn::tensor::backend::{AutodiffBackend, Backend};

pub mod device_list;
pub mod fast_cpu;

pub use device_list::{AutodiffDevicesTask, DeviceList};
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

/// Work written once for any inference backend, run on the one `--device` picked
/// (see [`DeviceChoice::run`]): a generic method stands in for the generic closure Rust lacks.
pub trait BackendTask {
    /// What the work returns.
    type Output;
    /// Runs the work on backend `B` and its `device`.
    fn run<B: Backend>(self, device: B::Device) -> Self::Output;
}

/// Like [`BackendTask`], for work that needs gradients (training).
pub trait AutodiffBackendTask {
    /// What the work returns.
    type Output;
    /// Runs the work on autodiff backend `B` and its `device`.
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

impl DeviceChoice {
    /// Checks that the device is usable, so a command can fail before any slow setup.
    pub fn check(self) -> Result<(), DeviceError> {
        match self {
            DeviceChoice::Cpu => Ok(()),
            DeviceChoice::Cuda(index) => check_cuda(index),
        }
    }

    /// Runs `task` on [`Cpu`] or, for `cuda:N`, on [`Cuda`] after checking that the driver
    /// and the device are there (a clear error instead of burn's panic).
    pub fn run<T: BackendTask>(self, task: T) -> Result<T::Output, DeviceError> {
        match self {
            DeviceChoice::Cpu => Ok(task.run::<Cpu>(Default::default())),
            DeviceChoice::Cuda(index) => {
                #[cfg(feature = "cuda")]
                {
                    Ok(task.run::<Cuda>(cuda_device(index)?))
                }
                #[cfg(not(feature = "cuda"))]
                {
                    let _ = task;
                    check_cuda(index).and(Err(DeviceError::NotBuilt))
                }
            }
        }
    }

    /// Runs `task` on [`CpuAutodiff`] or, for `cuda:N`, on [`CudaAutodiff`].
    pub fn run_autodiff<T: AutodiffBackendTask>(self, task: T) -> Result<T::Output, DeviceError> {
        match self {
            DeviceChoice::Cpu => Ok(task.run::<CpuAutodiff>(Default::default())),
            DeviceChoice::Cuda(index) => {
                #[cfg(feature = "cuda")]
                {
                    Ok(task.run::<CudaAutodiff>(cuda_device(index)?))
                }
                #[cfg(not(feature = "cuda"))]
                {
                    let _ = task;
                    check_cuda(index).and(Err(DeviceError::NotBuilt))
                }
            }
        }
    }
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
    use burn::tensor::ElementConversion;

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
        let err = DeviceChoice::Cuda(0)
            .run(SumOnes(3))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }

    /// Sums a tensor of `n` ones on the chosen backend.
    struct SumOnes(usize);

    impl BackendTask for SumOnes {
        type Output = (String, f32);
        fn run<B: Backend>(self, device: B::Device) -> Self::Output {
            let t = burn::tensor::Tensor::<B, 1>::ones([self.0], &device);
            (B::name(&device), t.sum().into_scalar().elem::<f32>())
        }
    }

    impl AutodiffBackendTask for SumOnes {
        type Output = bool;
        fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
            B::ad_enabled(&device)
        }
    }

    #[test]
    fn the_cpu_choice_runs_the_task_on_the_cpu_backends() {
        let (name, sum) = DeviceChoice::Cpu.run(SumOnes(5)).unwrap();
        assert_eq!(sum, 5.0);
        assert_eq!(name, Cpu::name(&Default::default()));
        assert!(DeviceChoice::Cpu.run_autodiff(SumOnes(1)).unwrap());
    }
}
