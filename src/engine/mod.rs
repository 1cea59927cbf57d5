//! A fast CPU inference engine for the CartoonGAN generator.
//!
//! burn's Flex backend runs the generator layer by layer with generic kernels; this engine
//! runs the same network (weights extracted from any burn [`Generator`](crate::model::Generator))
//! with kernels chosen per layer: Winograd F(4x4,3x3) for the 3x3 stride-1 convolutions that
//! hold ~90% of the arithmetic, im2col + GEMM for the stride-2 and 7x7 input convolutions,
//! GEMM + col2im for the transposed convolutions and the 3-channel output convolution, and a
//! fused instance-norm + activation + residual pass. Activations are planar CHW `f32`; every
//! large temporary is chunked by rows so memory stays bounded whatever the image size.

pub mod banded;
pub mod bench;
pub mod conv_transpose;
pub mod cpu_generator;
pub mod im2col_conv;
pub mod instance_norm;
pub mod tap_conv;
pub mod winograd;
pub mod workspace;

pub use cpu_generator::{CpuGenerator, EngineError};
pub use workspace::Workspace;

use crate::model::padding::Pad;

/// Source index of padded coordinate `i` (may be negative) in an axis of length `n`, or
/// `None` where the padded value is zero. Reflection mirrors without repeating the edge
/// (PyTorch `ReflectionPad2d`); coordinates more than `pad` outside read as zero.
#[inline]
pub(crate) fn source_index(i: isize, n: usize, pad: Pad) -> Option<usize> {
    let n = n as isize;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    match pad {
        Pad::Zeros(_) => None,
        Pad::Reflect(p) => {
            let p = p as isize;
            if (-p..0).contains(&i) {
                Some((-i).min(n - 1) as usize)
            } else if (n..n + p).contains(&i) {
                Some((2 * (n - 1) - i).max(0) as usize)
            } else {
                None
            }
        }
    }
}

/// Width of a padding.
pub(crate) fn pad_width(pad: Pad) -> usize {
    match pad {
        Pad::Zeros(p) | Pad::Reflect(p) => p,
    }
}

pub(crate) use crate::kernels::gemm::{SendPtr, threads};
