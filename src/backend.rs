//! The burn backends toongan runs on, and the choice between them at run time
//! (`--device cpu | cuda[:N] | wgpu[:N] | wgpu:cpu | auto`).

use std::str::FromStr;

use burn::tensor::backend::{AutodiffBackend, Backend};

mod device_list;
mod fast_cpu;
mod heap;
mod inventory;
mod vulkan_env;
mod wgpu_device;

pub use device_list::{AutodiffDevicesTask, DeviceList, DeviceListError};
pub use fast_cpu::{ConvAlgorithm, FastCpu, set_conv_algorithm, set_weight_grad_chunk_bytes};
pub use heap::keep_freed_memory;
pub use inventory::{AutoPick, Inventory, parse_device};
pub use vulkan_env::quiet_mesa_device_select;
pub use wgpu_device::{AdapterInfo, AdapterKind, WgpuAdapter};
#[cfg(feature = "wgpu")]
pub use wgpu_device::{WgpuDevice, adapters, wgpu_device as wgpu_device_with_info};

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

/// wgpu backend: Vulkan, Metal (with the `wgpu` feature).
#[cfg(feature = "wgpu")]
pub type Wgpu = burn::backend::Wgpu;
/// wgpu backend with automatic differentiation (with the `wgpu` feature).
#[cfg(feature = "wgpu")]
pub type WgpuAutodiff = burn::backend::Autodiff<Wgpu>;

/// Where a command runs, as given by `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The CPU (all cores, through rayon).
    #[default]
    Cpu,
    /// An NVIDIA GPU by ordinal (`cuda` is `cuda:0`).
    Cuda(usize),
    /// Any GPU through burn's wgpu backend (Vulkan, Metal), or its software adapter.
    Wgpu(WgpuAdapter),
}

/// Why a device cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The text is not a device name.
    #[error("unknown device '{0}': use cpu, cuda, cuda:N, wgpu, wgpu:N, wgpu:cpu or auto")]
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
    /// This binary was built without the wgpu backend.
    #[error(
        "this toongan was built without wgpu: rebuild with `cargo build --release --features wgpu`"
    )]
    WgpuNotBuilt,
    /// No such wgpu adapter, or only a software one where a GPU was asked for.
    #[error("{choice} is not usable: {reason}")]
    WgpuUnavailable {
        /// The adapter asked for.
        choice: WgpuAdapter,
        /// What was found instead, and what to do.
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
                .or_else(|| {
                    other
                        .strip_prefix("wgpu")
                        .and_then(WgpuAdapter::parse_suffix)
                        .map(DeviceChoice::Wgpu)
                })
                .ok_or_else(|| DeviceError::Unknown(s.to_string())),
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
            DeviceChoice::Wgpu(adapter) => write!(f, "{adapter}"),
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

/// The CUDA devices the driver sees (name each), and the driver's version; or why there are
/// none.
pub fn cuda_devices() -> Result<(Vec<String>, String), DeviceError> {
    #[cfg(feature = "cuda")]
    {
        cuda_probe::devices().map_err(|reason| DeviceError::Unavailable { index: 0, reason })
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(DeviceError::NotBuilt)
    }
}

/// The CUDA device for an ordinal, after [`check_cuda`].
#[cfg(feature = "cuda")]
pub fn cuda_device(index: usize) -> Result<burn::backend::cuda::CudaDevice, DeviceError> {
    check_cuda(index)?;
    Ok(burn::backend::cuda::CudaDevice::new(index))
}

/// Checks that the wgpu adapter exists (and is a GPU unless `wgpu:cpu` was asked for), so a
/// missing driver gives an error instead of cubecl's panic on the first operation.
pub fn check_wgpu(choice: WgpuAdapter) -> Result<(), DeviceError> {
    #[cfg(feature = "wgpu")]
    {
        wgpu_device(choice).map(|_| ())
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = choice;
        Err(DeviceError::WgpuNotBuilt)
    }
}

/// burn's wgpu device for an adapter choice, after [`check_wgpu`].
#[cfg(feature = "wgpu")]
pub fn wgpu_device(choice: WgpuAdapter) -> Result<wgpu_device::WgpuDevice, DeviceError> {
    wgpu_device::wgpu_device(choice)
        .map(|(device, _)| device)
        .map_err(|reason| DeviceError::WgpuUnavailable { choice, reason })
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
            DeviceChoice::Wgpu(adapter) => check_wgpu(adapter),
        }
    }

    /// Runs `task` on [`Cpu`], on `Cuda` for `cuda:N` or on `Wgpu` for `wgpu:…`, after
    /// checking that the driver and the device are there (a clear error instead of burn's panic).
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
            DeviceChoice::Wgpu(adapter) => {
                #[cfg(feature = "wgpu")]
                {
                    Ok(task.run::<Wgpu>(wgpu_device(adapter)?))
                }
                #[cfg(not(feature = "wgpu"))]
                {
                    let _ = task;
                    check_wgpu(adapter).and(Err(DeviceError::WgpuNotBuilt))
                }
            }
        }
    }

    /// Runs `task` on [`CpuAutodiff`], `CudaAutodiff` (`cuda:N`) or `WgpuAutodiff` (`wgpu:…`).
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
            DeviceChoice::Wgpu(adapter) => {
                #[cfg(feature = "wgpu")]
                {
                    Ok(task.run::<WgpuAutodiff>(wgpu_device(adapter)?))
                }
                #[cfg(not(feature = "wgpu"))]
                {
                    let _ = task;
                    check_wgpu(adapter).and(Err(DeviceError::WgpuNotBuilt))
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

    /// The devices' names and the driver's version ("CUDA 12.4").
    pub fn devices() -> Result<(Vec<String>, String), String> {
        let n = device_count()?;
        // SAFETY: as in `device_count` (which ran cuInit); the name buffer is 256 bytes and
        // its length is passed, and the driver writes a NUL-terminated string into it.
        unsafe {
            let lib = libloading::Library::new("libcuda.so.1")
                .or_else(|_| libloading::Library::new("libcuda.so"))
                .map_err(|e| e.to_string())?;
            let get: libloading::Symbol<unsafe extern "C" fn(*mut i32, i32) -> i32> =
                lib.get(b"cuDeviceGet").map_err(|e| e.to_string())?;
            let name: libloading::Symbol<
                unsafe extern "C" fn(*mut std::ffi::c_char, i32, i32) -> i32,
            > = lib.get(b"cuDeviceGetName").map_err(|e| e.to_string())?;
            let version: libloading::Symbol<unsafe extern "C" fn(*mut i32) -> i32> =
                lib.get(b"cuDriverGetVersion").map_err(|e| e.to_string())?;
            let mut names = Vec::with_capacity(n);
            for i in 0..n {
                let (mut dev, mut buf) = (0i32, [0 as std::ffi::c_char; 256]);
                let ok = get(&mut dev, i as i32) == 0 && name(buf.as_mut_ptr(), 256, dev) == 0;
                names.push(if ok {
                    std::ffi::CStr::from_ptr(buf.as_ptr())
                        .to_string_lossy()
                        .into_owned()
                } else {
                    "(name unavailable)".to_string()
                });
            }
            let mut v = 0i32;
            let driver = if version(&mut v) == 0 {
                format!("CUDA {}.{}", v / 1000, (v % 1000) / 10)
            } else {
                String::new()
            };
            Ok((names, driver))
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
        assert_eq!(
            "wgpu".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Wgpu(WgpuAdapter::Hardware(0))
        );
        assert_eq!(
            "WGPU:1".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Wgpu(WgpuAdapter::Hardware(1))
        );
        assert_eq!(
            "wgpu:cpu".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Wgpu(WgpuAdapter::Software)
        );
        for name in ["cpu", "cuda:2", "wgpu:3", "wgpu:cpu"] {
            assert_eq!(name.parse::<DeviceChoice>().unwrap().to_string(), name);
        }
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
        assert!("wgpu:".parse::<DeviceChoice>().is_err());
        assert!("wgpux".parse::<DeviceChoice>().is_err());
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn wgpu_without_the_feature_says_how_to_build_it() {
        let device = DeviceChoice::Wgpu(WgpuAdapter::Hardware(0));
        let err = device.check().unwrap_err().to_string();
        assert!(err.contains("--features wgpu"), "{err}");
        let err = device.run(SumOnes(3)).unwrap_err().to_string();
        assert!(err.contains("--features wgpu"), "{err}");
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
