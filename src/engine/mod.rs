//! A fast CPU inference engine for the CartoonGAN generator.
//!
//! burn's Flex backend runs the generator layer by layer with generic kernels; this engine
//! runs the same network (weights extracted from any burn [`Generator`](crate::model::Generator))
//! with kernels chosen per layer: Winograd F(4x4,3x3) for the 3x3 stride-1 convolutions that
//! hold ~90% of the arithmetic, im2col + GEMM for the stride-2 and 7x7 input convolutions,
//! GEMM + col2im for the transposed convolutions and the 3-channel output convolution, and a
//! fused instance-norm + activation + residual pass. Activations are planar CHW `f32`; every
//! large temporary is chunked by rows so memory stays bounded whatever the image size.

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

/// A raw pointer that may cross threads: used where parallel tasks write disjoint parts of
/// one buffer in a pattern slices cannot express.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub *mut f32);
// SAFETY: every user writes disjoint elements from each task and joins before reading.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

/// `dst = lhs · rhs` (or `dst += lhs · rhs` with `accumulate`) for row-major matrices with
/// unit column stride and the given row strides: `lhs` is m×k, `rhs` k×n, `dst` m×n.
/// `threads` > 1 lets the gemm crate split the product over rayon threads.
///
/// # Safety
/// The pointers must address matrices of those sizes and strides; `dst` must not alias
/// the inputs, and no other thread may touch the elements of `dst` meanwhile.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: usize,
    lhs: *const f32,
    lhs_rs: usize,
    rhs: *const f32,
    rhs_rs: usize,
    accumulate: bool,
    threads: usize,
) {
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            lhs,
            1,
            lhs_rs as isize,
            rhs,
            1,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Threads to use for parallel work: rayon's pool size.
pub(crate) fn threads() -> usize {
    rayon::current_num_threads()
}
