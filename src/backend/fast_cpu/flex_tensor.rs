//! Making and reading Flex's f32 tensors: the constructor, stride query and contiguous
//! copies that the convolution, binary and element-wise ops of `FastCpu` share.

use burn_backend::{DType, TensorMetadata};
use burn_flex::{FlexTensor, Layout};
use burn_std::{Bytes, Shape};

use crate::kernels::strided::{self, View};

/// A contiguous f32 tensor owning `data`.
pub(super) fn f32_tensor(data: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(shape.into()),
        DType::F32,
    )
}

/// Non-negative strides of `t`, or `None`.
pub(super) fn strides(t: &FlexTensor) -> Option<Vec<usize>> {
    t.layout()
        .strides()
        .iter()
        .map(|&s| usize::try_from(s).ok())
        .collect()
}

/// A row-major copy of an f32 tensor with non-negative strides, made in parallel.
fn strided_copy(t: &FlexTensor) -> Option<FlexTensor> {
    let s = strides(t)?;
    let v = View {
        data: t.storage::<f32>(),
        offset: t.layout().start_offset(),
        strides: &s,
    };
    let shape = t.shape();
    Some(f32_tensor(strided::copy(&shape, v), shape))
}

/// A contiguous f32 tensor with the values of `t` (`t` itself when already contiguous).
pub(super) fn contiguous(t: &FlexTensor) -> FlexTensor {
    if t.dtype() != DType::F32 || t.layout().contiguous_offsets().is_some() {
        return t.to_contiguous();
    }
    strided_copy(t).unwrap_or_else(|| t.to_contiguous())
}

/// A row-major f32 copy of `t` in storage of its own (so it may be written in place), made
/// in parallel; `None` for other dtypes and negative strides.
pub(super) fn owned_copy(t: &FlexTensor) -> Option<FlexTensor> {
    if t.dtype() != DType::F32 {
        return None;
    }
    strided_copy(t)
}
