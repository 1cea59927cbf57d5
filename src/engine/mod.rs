//! A fast CPU inference engine for the CartoonGAN generator.
//!
//! burn's Flex backend runs the generator layer by layer with generic kernels; this engine
//! runs the same network (weights extracted from any burn [`Generator`](crate::model::Generator))
//! with kernels chosen per layer: Winograd F(4x4,3x3) for the 3x3 stride-1 convolutions that
//! hold ~90% of the arithmetic, im2col + GEMM for the stride-2 and 7x7 input convolutions,
//! GEMM + col2im for the transposed convolutions and the 3-channel output convolution, and a
//! fused instance-norm + activation + residual pass. The convolutions are [`crate::kernels`]; this
//! module owns the generator's layer plan, its workspace and the fused instance norm. Activations are planar CHW `f32`; every
//! large temporary is chunked by rows so memory stays bounded whatever the image size.

mod banded;
mod cpu_generator;
mod instance_norm;
mod workspace;

pub use cpu_generator::{CpuGenerator, EngineError};
pub use workspace::Workspace;
