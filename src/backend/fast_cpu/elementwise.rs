//! The f32 add/sub/mul/div of [`FastCpu`](super::FastCpu) when an operand is broadcast or
//! strided (the gradients a backward pass accumulates mostly are): Flex walks those with a
//! per-element index iterator, [`crate::kernels::strided`] with merged dimensions and
//! vectorized rows, split over threads ([`super::parallel_ops::binary`]). Large same-shape
//! contiguous operands run there too (in place when the left one is uniquely owned, as
//! Flex's single-threaded SIMD path does); small ones, other dtypes and negative strides stay
//! on Flex. Also a contiguous copy for the convolutions' inputs.

use burn_backend::ops::FloatTensorOps;
use burn_backend::{DType, TensorMetadata};
use burn_flex::{Flex, FlexTensor, Layout};
use burn_std::{Bytes, Shape};

use super::parallel_ops::binary;
use crate::kernels::strided::{self, View};

/// The view of a tensor, if its strides are non-negative.
fn view(t: &FlexTensor) -> Option<(View<'_>, Vec<usize>)> {
    let strides: Option<Vec<usize>> = t
        .layout()
        .strides()
        .iter()
        .map(|&s| usize::try_from(s).ok())
        .collect();
    Some((
        View {
            data: t.storage::<f32>(),
            offset: t.layout().start_offset(),
            strides: &[],
        },
        strides?,
    ))
}

fn is_plain(t: &FlexTensor) -> bool {
    t.layout().contiguous_offsets().is_some()
}

fn tensor(data: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(shape),
        DType::F32,
    )
}

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

/// A contiguous f32 tensor with the values of `t` (`t` itself when already contiguous).
pub(super) fn contiguous(t: &FlexTensor) -> FlexTensor {
    if t.dtype() != DType::F32 || is_plain(t) {
        return t.to_contiguous();
    }
    match view(t) {
        Some((mut v, s)) => {
            v.strides = &s;
            let shape = t.shape();
            tensor(strided::copy(&shape, v), shape)
        }
        None => t.to_contiguous(),
    }
}

/// A row-major f32 copy of `t` in storage of its own (so it may be written in place), made
/// in parallel; `None` for other dtypes and negative strides.
pub(super) fn owned_copy(t: &FlexTensor) -> Option<FlexTensor> {
    if t.dtype() != DType::F32 {
        return None;
    }
    let (mut v, s) = view(t)?;
    v.strides = &s;
    let shape = t.shape();
    Some(tensor(strided::copy(&shape, v), shape))
}
