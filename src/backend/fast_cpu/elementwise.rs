//! The f32 add/sub/mul/div of [`FastCpu`](super::FastCpu) when an operand is broadcast or
//! strided (the gradients a backward pass accumulates mostly are): Flex walks those with a
//! per-element index iterator, [`crate::kernels::strided`] with merged dimensions and
//! vectorized rows. Same-shape contiguous operands, other dtypes and negative strides stay on
//! Flex (whose in-place SIMD path is the fastest there is for them). Also a contiguous copy
//! for the convolutions' inputs.

use burn_backend::ops::FloatTensorOps;
use burn_backend::{DType, TensorMetadata};
use burn_flex::ops::expand::broadcast_binary;
use burn_flex::{Flex, FlexTensor, Layout};
use burn_std::{Bytes, Shape};

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

/// `op` on broadcast or strided f32 operands, or `None` where Flex should run it.
fn strided_binary(
    lhs: &FlexTensor,
    rhs: &FlexTensor,
    op: impl Fn(f32, f32) -> f32 + Sync,
) -> Option<FlexTensor> {
    if lhs.dtype() != DType::F32
        || rhs.dtype() != DType::F32
        || lhs.shape().num_dims() != rhs.shape().num_dims()
    {
        return None;
    }
    if lhs.shape() == rhs.shape() && is_plain(lhs) && is_plain(rhs) {
        return None;
    }
    let (l, r) = broadcast_binary(lhs.clone(), rhs.clone());
    let shape = l.shape();
    let ((mut lv, ls), (mut rv, rs)) = (view(&l)?, view(&r)?);
    lv.strides = &ls;
    rv.strides = &rs;
    Some(tensor(strided::binary(&shape, lv, rv, op), shape))
}

pub(super) fn float_add(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
    strided_binary(&lhs, &rhs, |a, b| a + b)
        .unwrap_or_else(|| <Flex as FloatTensorOps<Flex>>::float_add(lhs, rhs))
}

pub(super) fn float_sub(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
    strided_binary(&lhs, &rhs, |a, b| a - b)
        .unwrap_or_else(|| <Flex as FloatTensorOps<Flex>>::float_sub(lhs, rhs))
}

pub(super) fn float_mul(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
    strided_binary(&lhs, &rhs, |a, b| a * b)
        .unwrap_or_else(|| <Flex as FloatTensorOps<Flex>>::float_mul(lhs, rhs))
}

pub(super) fn float_div(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
    strided_binary(&lhs, &rhs, |a, b| a / b)
        .unwrap_or_else(|| <Flex as FloatTensorOps<Flex>>::float_div(lhs, rhs))
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
