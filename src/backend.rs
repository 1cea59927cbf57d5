//! The burn backends toongan runs on, and the choice between them at run time.

/// CPU backend used for inference and tests.
pub type Cpu = burn::backend::Flex;
/// CPU backend with automatic differentiation, for training.
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

/// CUDA backend (with the `cuda` feature).
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;
