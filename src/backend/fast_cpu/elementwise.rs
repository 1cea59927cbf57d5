//! The f32 add/sub/mul/div of [`FastCpu`](super::FastCpu) when an operand is broadcast or
//! strided (the gradients a backward pass accumulates mostly are): Flex walks those with a
//! per-element index iterator, [`crate::kernels::strided`] with merged dimensions and
//! vectorized rows, split over threads ([`super::parallel_ops::binary`]). Large same-shape
//! contiguous operands run there too (in place when the left one is uniquely owned, as
//! Flex's single-threaded SIMD path does); small ones, other dtypes and negative strides stay
//! on Flex.

use burn_backend::ops::FloatTensorOps;
use burn_flex::{Flex, FlexTensor};

use super::parallel_ops::binary;

pub(super) fn float_add(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
    binary(lhs, rhs, |a, b| a + b)
        .unwrap_or_else(|(l, r)| <Flex as FloatTensorOps<Flex>>::float_add(l, r))
}

pub(super) fn float_sub(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
    binary(lhs, rhs, |a, b| a - b)
        .unwrap_or_else(|(l, r)| <Flex as FloatTensorOps<Flex>>::float_sub(l, r))
}

pub(super) fn float_mul(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
    binary(lhs, rhs, |a, b| a * b)
        .unwrap_or_else(|(l, r)| <Flex as FloatTensorOps<Flex>>::float_mul(l, r))
}

pub(super) fn float_div(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
    binary(lhs, rhs, |a, b| a / b)
        .unwrap_or_else(|(l, r)| <Flex as FloatTensorOps<Flex>>::float_div(l, r))
}
