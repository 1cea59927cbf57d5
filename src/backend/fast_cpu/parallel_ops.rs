//! The element-wise f32 operations of [`FastCpu`](super::FastCpu) that Flex runs on one
//! thread, split over rayon threads ([`crate::kernels::strided`]): maps (scalar arithmetic,
//! exp/log/sqrt/…, ReLU and its gradient), masks, comparisons with a scalar, fills, the copy a
//! reshape of a strided tensor needs, slice assignment, and sums and means over one
//! dimension. Each computes exactly what Flex computes (same scalar function per element),
//! except the sums, which add in another order (equal within float rounding). Tensors under
//! two [`CHUNK`](crate::kernels::strided::CHUNK)s, other dtypes and negative strides go to
//! Flex unchanged. A uniquely owned contiguous operand is updated in place, as Flex does.
//! Zeros are not copied into an aligned buffer (Flex zero-fills a byte vector, then copies
//! it).

use burn_backend::ops::{ActivationOps, FloatTensorOps};
use burn_backend::{DType, Scalar, TensorMetadata};
use burn_flex::{Flex, FlexDevice, FlexTensor, Layout};
use burn_std::{BoolDType, BoolStore, Bytes, FloatDType, Shape, Slice};

use super::flex_tensor::{contiguous, f32_tensor, owned_copy, strides};
use crate::kernels::strided::{self, View};

/// Whether `t` is an f32 tensor large enough to be split over threads.
fn is_big_f32(t: &FlexTensor) -> bool {
    t.dtype() == DType::F32 && strided::is_parallel(t.layout().num_elements())
}

/// Whether `t` owns its storage alone and holds its elements in order from offset 0, so it
/// may be overwritten in place.
fn is_writable(t: &FlexTensor) -> bool {
    t.is_unique() && matches!(t.layout().contiguous_offsets(), Some((0, _)))
}

/// `op` on every element of a large f32 tensor (in place when `t` is writable); `Err(t)`
/// where Flex should run it.
pub(super) fn map(
    mut t: FlexTensor,
    op: impl Fn(f32) -> f32 + Sync,
) -> Result<FlexTensor, FlexTensor> {
    if !is_big_f32(&t) {
        return Err(t);
    }
    let n = t.layout().num_elements();
    if is_writable(&t) {
        strided::map_inplace(&mut t.storage_mut::<f32>()[..n], op);
        return Ok(t);
    }
    let Some(s) = strides(&t) else {
        return Err(t);
    };
    let shape = t.shape();
    let v = View {
        data: t.storage::<f32>(),
        offset: t.layout().start_offset(),
        strides: &s,
    };
    Ok(f32_tensor(strided::unary(&shape, v, op), shape))
}

/// `op(lhs, rhs)` element-wise with broadcasting for f32 operands of equal rank whose result
/// is large, or that are broadcast or strided (any size); in place in `lhs` when it is
/// writable and already of the result's shape. `Err` gives the operands back for Flex.
// The Err variant is the two operands moved back to the caller: boxing them would only add
// an allocation per fallback.
#[allow(clippy::result_large_err)]
pub(super) fn binary(
    lhs: FlexTensor,
    rhs: FlexTensor,
    op: impl Fn(f32, f32) -> f32 + Sync,
) -> Result<FlexTensor, (FlexTensor, FlexTensor)> {
    if lhs.dtype() != DType::F32
        || rhs.dtype() != DType::F32
        || lhs.shape().num_dims() != rhs.shape().num_dims()
    {
        return Err((lhs, rhs));
    }
    let plain = |t: &FlexTensor| t.layout().contiguous_offsets().is_some();
    if lhs.shape() == rhs.shape()
        && plain(&lhs)
        && plain(&rhs)
        && !strided::is_parallel(lhs.layout().num_elements())
    {
        return Err((lhs, rhs));
    }
    let (Some(_), Some(_)) = (strides(&lhs), strides(&rhs)) else {
        return Err((lhs, rhs));
    };
    let (mut l, r) = burn_flex::ops::expand::broadcast_binary(lhs, rhs);
    let shape = l.shape();
    // Broadcasting keeps non-negative strides non-negative (it adds zero strides).
    let (Some(ls), Some(rs)) = (strides(&l), strides(&r)) else {
        return Err((l, r));
    };
    let rv = View {
        data: r.storage::<f32>(),
        offset: r.layout().start_offset(),
        strides: &rs,
    };
    if is_writable(&l) && strided::is_parallel(shape.num_elements()) {
        let n = shape.num_elements();
        strided::zip_inplace(&mut l.storage_mut::<f32>()[..n], &shape, rv, op);
        return Ok(l);
    }
    let lv = View {
        data: l.storage::<f32>(),
        offset: l.layout().start_offset(),
        strides: &ls,
    };
    Ok(f32_tensor(strided::binary(&shape, lv, rv, op), shape))
}

/// The f32 value of a float scalar (what Flex's `scalar as f32` gives), or `None`.
fn scalar_f32(s: Scalar) -> Option<f32> {
    match s {
        Scalar::Float(x) => Some(x as f32),
        _ => None,
    }
}

macro_rules! scalar_ops {
    ($($name:ident: |$a:ident, $b:ident| $body:expr;)*) => {$(
        pub(super) fn $name(lhs: FlexTensor, rhs: Scalar) -> FlexTensor {
            match scalar_f32(rhs) {
                Some($b) => map(lhs, move |$a| $body)
                    .unwrap_or_else(|t| <Flex as FloatTensorOps<Flex>>::$name(t, rhs)),
                None => <Flex as FloatTensorOps<Flex>>::$name(lhs, rhs),
            }
        }
    )*};
}

scalar_ops! {
    float_add_scalar: |a, b| a + b;
    float_sub_scalar: |a, b| a - b;
    float_mul_scalar: |a, b| a * b;
    float_div_scalar: |a, b| a / b;
}

macro_rules! unary_ops {
    ($($name:ident: $op:expr;)*) => {$(
        pub(super) fn $name(tensor: FlexTensor) -> FlexTensor {
            map(tensor, $op).unwrap_or_else(<Flex as FloatTensorOps<Flex>>::$name)
        }
    )*};
}

unary_ops! {
    float_neg: |x: f32| -x;
    float_exp: f32::exp;
    float_log: f32::ln;
    float_sqrt: f32::sqrt;
    float_abs: f32::abs;
    float_tanh: f32::tanh;
}

/// ReLU (Flex's `x.max(0.0)`).
pub(super) fn relu(tensor: FlexTensor) -> FlexTensor {
    map(tensor, |x| x.max(0.0)).unwrap_or_else(<Flex as ActivationOps<Flex>>::relu)
}

/// ReLU's gradient: `grad` where the output is positive, else 0.
pub(super) fn relu_backward(output: FlexTensor, grad: FlexTensor) -> FlexTensor {
    binary(output, grad, |out, g| if out > 0.0 { g } else { 0.0 })
        .unwrap_or_else(|(o, g)| <Flex as ActivationOps<Flex>>::relu_backward(o, g))
}

/// Non-negative strides of a mask stored as bytes (`Bool(Native)` or `Bool(U8)`), or `None`.
fn mask_strides(mask: &FlexTensor) -> Option<Vec<usize>> {
    match mask.dtype() {
        DType::Bool(BoolStore::Native | BoolStore::U8) => strides(mask),
        _ => None,
    }
}

/// The shape `a` and `b` broadcast to, if they have equal rank and are compatible.
fn broadcast_shape(a: &Shape, b: &Shape) -> Option<Shape> {
    if a.num_dims() != b.num_dims() {
        return None;
    }
    let dims: Option<Vec<usize>> = a
        .iter()
        .zip(b.iter())
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect();
    dims.map(Shape::from)
}

/// `t` expanded to `shape` (a view: zero strides on broadcast dimensions).
fn expand(t: FlexTensor, shape: &Shape) -> FlexTensor {
    if &t.shape() == shape {
        t
    } else {
        burn_flex::ops::expand::expand(t, shape.clone())
    }
}

/// `value` where `mask` is set, else `tensor` (all three broadcast together).
pub(super) fn float_mask_where(
    tensor: FlexTensor,
    mask: FlexTensor,
    value: FlexTensor,
) -> FlexTensor {
    let shape = broadcast_shape(&tensor.shape(), &mask.shape())
        .and_then(|s| broadcast_shape(&s, &value.shape()));
    let ok = |shape: &Shape| {
        tensor.dtype() == DType::F32
            && value.dtype() == DType::F32
            && strided::is_parallel(shape.num_elements())
            && strides(&tensor).is_some()
            && strides(&value).is_some()
            && mask_strides(&mask).is_some()
    };
    let Some(shape) = shape.filter(ok) else {
        return <Flex as FloatTensorOps<Flex>>::float_mask_where(tensor, mask, value);
    };
    let (t, m, v) = (
        expand(tensor, &shape),
        expand(mask, &shape),
        expand(value, &shape),
    );
    let (Some(ts), Some(ms), Some(vs)) = (strides(&t), mask_strides(&m), strides(&v)) else {
        return <Flex as FloatTensorOps<Flex>>::float_mask_where(t, m, v);
    };
    let out = strided::select(
        &shape,
        View {
            data: t.storage::<f32>(),
            offset: t.layout().start_offset(),
            strides: &ts,
        },
        View {
            data: m.bytes(),
            offset: m.layout().start_offset(),
            strides: &ms,
        },
        View {
            data: v.storage::<f32>(),
            offset: v.layout().start_offset(),
            strides: &vs,
        },
    );
    f32_tensor(out, shape)
}

/// `value` where `mask` is set, else `tensor`.
pub(super) fn float_mask_fill(tensor: FlexTensor, mask: FlexTensor, value: Scalar) -> FlexTensor {
    let shape = broadcast_shape(&tensor.shape(), &mask.shape());
    let fill = scalar_f32(value);
    let ok = |shape: &Shape| {
        tensor.dtype() == DType::F32
            && fill.is_some()
            && strided::is_parallel(shape.num_elements())
            && strides(&tensor).is_some()
            && mask_strides(&mask).is_some()
    };
    let (Some(shape), Some(fill)) = (shape.filter(ok), fill) else {
        return <Flex as FloatTensorOps<Flex>>::float_mask_fill(tensor, mask, value);
    };
    let (t, m) = (expand(tensor, &shape), expand(mask, &shape));
    let (Some(ts), Some(ms)) = (strides(&t), mask_strides(&m)) else {
        return <Flex as FloatTensorOps<Flex>>::float_mask_fill(t, m, value);
    };
    let out = strided::fill_where(
        &shape,
        View {
            data: t.storage::<f32>(),
            offset: t.layout().start_offset(),
            strides: &ts,
        },
        View {
            data: m.bytes(),
            offset: m.layout().start_offset(),
            strides: &ms,
        },
        fill,
    );
    f32_tensor(out, shape)
}

/// `cmp(x, rhs)` for every element as a bool tensor, or `Err` for Flex.
fn compare_elem(
    lhs: FlexTensor,
    rhs: Scalar,
    out_dtype: BoolDType,
    cmp: impl Fn(f32, f32) -> bool + Sync,
) -> Result<FlexTensor, FlexTensor> {
    let store = match out_dtype {
        BoolDType::Native => BoolStore::Native,
        BoolDType::U8 => BoolStore::U8,
        _ => return Err(lhs),
    };
    let (Some(b), true) = (scalar_f32(rhs), is_big_f32(&lhs)) else {
        return Err(lhs);
    };
    let Some(s) = strides(&lhs) else {
        return Err(lhs);
    };
    let shape = lhs.shape();
    let v = View {
        data: lhs.storage::<f32>(),
        offset: lhs.layout().start_offset(),
        strides: &s,
    };
    let out = strided::compare(&shape, v, |a| cmp(a, b));
    Ok(FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(shape),
        DType::Bool(store),
    ))
}

macro_rules! compare_ops {
    ($($name:ident: $op:tt;)*) => {$(
        pub(super) fn $name(lhs: FlexTensor, rhs: Scalar, out_dtype: BoolDType) -> FlexTensor {
            compare_elem(lhs, rhs, out_dtype, |a, b| a $op b).unwrap_or_else(|t| {
                <Flex as FloatTensorOps<Flex>>::$name(t, rhs, out_dtype)
            })
        }
    )*};
}

compare_ops! {
    float_lower_elem: <;
    float_lower_equal_elem: <=;
    float_greater_elem: >;
    float_greater_equal_elem: >=;
}

/// Zeros (f32: no copy into an aligned buffer, see [`zeros`]).
pub(super) fn float_zeros(shape: Shape, device: &FlexDevice, dtype: FloatDType) -> FlexTensor {
    if DType::from(dtype) != DType::F32 {
        return <Flex as FloatTensorOps<Flex>>::float_zeros(shape, device, dtype);
    }
    zeros(shape)
}

/// f32 zeros: written by the rayon threads when large (the allocator would otherwise clear
/// recycled memory on the calling thread), else from the allocator's zeroed memory.
fn zeros(shape: Shape) -> FlexTensor {
    let n = shape.num_elements();
    if strided::is_parallel(n) {
        f32_tensor(strided::filled(n, 0.0), shape)
    } else {
        f32_tensor(vec![0.0f32; n], shape)
    }
}

/// An uninitialized tensor, which Flex makes of zeros: the same zeros as [`float_zeros`].
pub(super) fn float_empty(shape: Shape, device: &FlexDevice, dtype: FloatDType) -> FlexTensor {
    if DType::from(dtype) != DType::F32 {
        return <Flex as FloatTensorOps<Flex>>::float_empty(shape, device, dtype);
    }
    zeros(shape)
}

/// A large f32 tensor of `value`, filled in parallel.
fn filled(shape: Shape, value: f32) -> FlexTensor {
    let n = shape.num_elements();
    f32_tensor(strided::filled(n, value), shape)
}

/// Ones.
pub(super) fn float_ones(shape: Shape, device: &FlexDevice, dtype: FloatDType) -> FlexTensor {
    if DType::from(dtype) != DType::F32 || !strided::is_parallel(shape.num_elements()) {
        return <Flex as FloatTensorOps<Flex>>::float_ones(shape, device, dtype);
    }
    filled(shape, 1.0)
}

/// A tensor of `fill_value`.
pub(super) fn float_full(
    shape: Shape,
    fill_value: Scalar,
    device: &FlexDevice,
    dtype: FloatDType,
) -> FlexTensor {
    match scalar_f32(fill_value) {
        Some(v)
            if DType::from(dtype) == DType::F32 && strided::is_parallel(shape.num_elements()) =>
        {
            filled(shape, v)
        }
        _ => <Flex as FloatTensorOps<Flex>>::float_full(shape, fill_value, device, dtype),
    }
}

/// Reshape; a strided tensor that needs a copy is copied in parallel.
pub(super) fn float_reshape(tensor: FlexTensor, shape: Shape) -> FlexTensor {
    if !is_big_f32(&tensor)
        || tensor.layout().reshape(shape.clone()).is_some()
        || strides(&tensor).is_none()
    {
        return <Flex as FloatTensorOps<Flex>>::float_reshape(tensor, shape);
    }
    let copy = contiguous(&tensor);
    <Flex as FloatTensorOps<Flex>>::float_reshape(copy, shape)
}

/// Writes `value` into the box `slices` of `tensor` (unit steps): in place when `tensor` is
/// writable, else into a parallel copy of it.
pub(super) fn float_slice_assign(
    tensor: FlexTensor,
    slices: &[Slice],
    value: FlexTensor,
) -> FlexTensor {
    // A flipped value (reflection padding's edges and their gradients) is made contiguous
    // first: it is small next to `tensor`, which Flex would copy whole if it is shared.
    let value = if value.dtype() == DType::F32 && strides(&value).is_none() {
        value.to_contiguous()
    } else {
        value
    };
    let shape = tensor.shape();
    let ranges: Vec<_> = (0..shape.num_dims())
        .map(|d| slices.get(d).map_or(0..shape[d], |s| s.to_range(shape[d])))
        .collect();
    let box_shape: Vec<usize> = ranges
        .iter()
        .map(|r| r.end.saturating_sub(r.start))
        .collect();
    let vs = strides(&value);
    if !is_big_f32(&tensor)
        || value.dtype() != DType::F32
        || slices.len() > shape.num_dims()
        || slices.iter().any(|s| s.step != 1)
        || value.shape().as_slice() != box_shape.as_slice()
        || strides(&tensor).is_none()
        || vs.is_none()
    {
        return <Flex as FloatTensorOps<Flex>>::float_slice_assign(tensor, slices, value);
    }
    let vs = vs.unwrap_or_default();
    let mut out = if is_writable(&tensor) {
        tensor
    } else {
        match owned_copy(&tensor) {
            Some(copy) => copy,
            None => {
                return <Flex as FloatTensorOps<Flex>>::float_slice_assign(tensor, slices, value);
            }
        }
    };
    // Row-major strides of the output.
    let mut dst_strides = vec![1usize; shape.num_dims()];
    for d in (0..shape.num_dims().saturating_sub(1)).rev() {
        dst_strides[d] = dst_strides[d + 1] * shape[d + 1];
    }
    let offset: usize = ranges
        .iter()
        .zip(&dst_strides)
        .map(|(r, s)| r.start * s)
        .sum();
    let src = View {
        data: value.storage::<f32>(),
        offset: value.layout().start_offset(),
        strides: &vs,
    };
    let n = shape.num_elements();
    strided::assign(
        &mut out.storage_mut::<f32>()[..n],
        offset,
        &dst_strides,
        &box_shape,
        src,
    );
    out
}

/// Sum over `dim` of a large contiguous f32 tensor (dimension kept, of size 1), or `Err`.
fn sum_dim(tensor: FlexTensor, dim: usize) -> Result<FlexTensor, FlexTensor> {
    let shape = tensor.shape();
    if !is_big_f32(&tensor) || dim >= shape.num_dims() || shape[dim] < 2 {
        return Err(tensor);
    }
    let Some((start, end)) = tensor.layout().contiguous_offsets() else {
        return Err(tensor);
    };
    let outer: usize = shape[..dim].iter().product();
    let inner: usize = shape[dim + 1..].iter().product();
    let data = &tensor.storage::<f32>()[start..end];
    let out = strided::sum_middle(data, outer, shape[dim], inner);
    let mut dims = shape.to_vec();
    dims[dim] = 1;
    Ok(f32_tensor(out, Shape::from(dims)))
}

/// Sum over `dim`, split over threads for large contiguous tensors (the order in which terms
/// are added differs from Flex's: equal within float rounding).
pub(super) fn float_sum_dim(tensor: FlexTensor, dim: usize) -> FlexTensor {
    sum_dim(tensor, dim).unwrap_or_else(|t| <Flex as FloatTensorOps<Flex>>::float_sum_dim(t, dim))
}

/// Mean over `dim`: [`float_sum_dim`] divided by the dimension's size, as Flex divides.
pub(super) fn float_mean_dim(tensor: FlexTensor, dim: usize) -> FlexTensor {
    let size = tensor.shape().get(dim).copied().unwrap_or(0);
    match sum_dim(tensor, dim) {
        Ok(mut sum) => {
            let d = size as f32;
            strided::map_inplace(sum.storage_mut::<f32>(), |x| x / d);
            sum
        }
        Err(t) => <Flex as FloatTensorOps<Flex>>::float_mean_dim(t, dim),
    }
}
