//! `FastCpu`: burn's Flex CPU backend with toongan's own convolutions.
//!
//! Flex 0.21 leaves the convolution gradients to burn's generic defaults, which compute the
//! weight gradient as a convolution with a pixels-sized kernel (a skinny GEMM over a huge
//! im2col) and the data gradient through a transposed convolution; together they were most
//! of a CartoonGAN training step. `FastCpu` is Flex in every other respect (same tensors,
//! device and elements, every other op forwarded to Flex by the generated [`delegate`]
//! module) and runs conv2d, conv_transpose2d and all their gradients with the im2col + GEMM
//! kernels of [`crate::kernels::conv`] ([`conv_ops`]); add, sub, mul and div of broadcast or
//! strided operands (most gradient arithmetic) run on [`crate::kernels::strided`]
//! ([`elementwise`]); the element-wise maps, masks, comparisons, fills and slice assignment
//! that Flex runs on one thread run on rayon threads for large tensors ([`parallel_ops`]).
//! `Autodiff<FastCpu>` calls these for
//! the backward pass, so model code, generic over the backend, does not change.

mod conv_ops;
mod delegate;
mod elementwise;
mod flex_tensor;
mod parallel_ops;

pub use conv_ops::{ConvAlgorithm, set_conv_algorithm, set_weight_grad_chunk_bytes};

use burn_backend::BackendTypes;
use burn_flex::{Flex, FlexDevice, FlexQTensor, FlexTensor};

/// Flex with fast convolutions and convolution gradients (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct FastCpu;

impl BackendTypes for FastCpu {
    type Device = FlexDevice;
    type FloatTensorPrimitive = FlexTensor;
    type FloatElem = <Flex as BackendTypes>::FloatElem;
    type IntTensorPrimitive = FlexTensor;
    type IntElem = <Flex as BackendTypes>::IntElem;
    type BoolTensorPrimitive = FlexTensor;
    type BoolElem = <Flex as BackendTypes>::BoolElem;
    type QuantizedTensorPrimitive = FlexQTensor;
}
