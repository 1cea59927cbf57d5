//! The convolution ops of [`FastCpu`](super::FastCpu): f32, dilation 1, groups 1 run on
//! [`crate::kernels::conv`]; anything else goes to Flex's own implementation.
//!
//! A transposed convolution with weight `[C_in][C_out][kh][kw]` is the data gradient of the
//! convolution from its output (C_out planes) to its input (C_in planes) with that same
//! weight read as a C_in×(C_out·kh·kw) matrix; so its forward is [`conv::data_grad`], its data
//! gradient [`conv::forward`] and its weight gradient [`conv::weight_grad`] with the roles of
//! input and output gradient exchanged.

use burn_backend::ops::{ConvOptions, ConvTransposeOptions, ModuleOps};
use burn_backend::{DType, TensorMetadata};
use burn_flex::{Flex, FlexTensor, Layout};
use burn_std::{Bytes, Shape};

use crate::kernels::conv::{self, CHUNK_BYTES, ConvGeom};

/// Whether every tensor is f32 and the options are ones the kernels cover.
fn supported(tensors: &[&FlexTensor], dilation: [usize; 2], groups: usize) -> bool {
    dilation == [1, 1] && groups == 1 && tensors.iter().all(|t| t.dtype() == DType::F32)
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    t.shape().dims::<4>()
}

/// A contiguous copy (or the tensor itself when already contiguous) to read as a slice.
fn dense(t: &FlexTensor) -> FlexTensor {
    super::elementwise::contiguous(t)
}

fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32 tensor")
}

fn tensor<const D: usize>(data: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(Shape::new(shape)),
        DType::F32,
    )
}

/// The geometry of a convolution of `x` (N×C×h×w) with `weight` (K×C×kh×kw).
fn conv_geom(x: [usize; 4], weight: [usize; 4], options: &ConvOptions<2>) -> Option<ConvGeom> {
    let [_, c, h, w] = x;
    let [_, wc, kh, kw] = weight;
    (wc == c)
        .then(|| ConvGeom::new([c, h, w], [kh, kw], options.stride, options.padding))
        .flatten()
}

/// The convolution a transposed convolution is the data gradient of: from its output
/// (N×C_out×ho×wo) back to its input (N×C_in×h×w).
fn transposed_geom(
    [h, w]: [usize; 2],
    weight: [usize; 4],
    options: &ConvTransposeOptions<2>,
) -> Option<ConvGeom> {
    let [_, c_out, kh, kw] = weight;
    let [sh, sw] = options.stride;
    let [ph, pw] = options.padding;
    let [oph, opw] = options.padding_out;
    let ho = ((h.checked_sub(1)? * sh + kh + oph).checked_sub(2 * ph))?;
    let wo = ((w.checked_sub(1)? * sw + kw + opw).checked_sub(2 * pw))?;
    let g = ConvGeom::new([c_out, ho, wo], [kh, kw], options.stride, options.padding)?;
    // padding_out < stride makes the convolution land exactly on the input size.
    (g.ho == h && g.wo == w).then_some(g)
}

pub(super) fn conv2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: ConvOptions<2>,
) -> FlexTensor {
    let mut all = vec![&x, &weight];
    all.extend(bias.as_ref());
    let g = conv_geom(dims4(&x), dims4(&weight), &options);
    let (Some(g), true) = (g, supported(&all, options.dilation, options.groups)) else {
        return <Flex as ModuleOps<Flex>>::conv2d(x, weight, bias, options);
    };
    let (n, k) = (dims4(&x)[0], dims4(&weight)[0]);
    let (x, weight, bias) = (dense(&x), dense(&weight), bias.as_ref().map(dense));
    let mut out = vec![0.0f32; n * k * g.ho * g.wo];
    conv::forward(
        slice(&x),
        &g,
        slice(&weight),
        bias.as_ref().map(slice),
        &mut out,
        CHUNK_BYTES,
    );
    tensor(out, [n, k, g.ho, g.wo])
}

/// The geometry of a convolution's backward pass when the fast path takes it (f32, no
/// dilation or groups, and an output gradient of the forward's output size); else `None`.
fn backward_geom(
    x: &FlexTensor,
    weight: &FlexTensor,
    output_grad: &FlexTensor,
    options: &ConvOptions<2>,
) -> Option<ConvGeom> {
    if !supported(&[x, weight, output_grad], options.dilation, options.groups) {
        return None;
    }
    conv_geom(dims4(x), dims4(weight), options).filter(|g| dims4(output_grad)[2..] == [g.ho, g.wo])
}

pub(super) fn conv2d_x_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: ConvOptions<2>,
) -> FlexTensor {
    let Some(g) = backward_geom(&x, &weight, &output_grad, &options) else {
        return <Flex as ModuleOps<Flex>>::conv2d_x_backward(x, weight, output_grad, options);
    };
    let shape = dims4(&x);
    let (weight, grad) = (dense(&weight), dense(&output_grad));
    let mut dx = vec![0.0f32; shape.iter().product()];
    conv::data_grad(slice(&grad), &g, slice(&weight), &mut dx, CHUNK_BYTES);
    tensor(dx, shape)
}

pub(super) fn conv2d_weight_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: ConvOptions<2>,
) -> FlexTensor {
    let Some(g) = backward_geom(&x, &weight, &output_grad, &options) else {
        return <Flex as ModuleOps<Flex>>::conv2d_weight_backward(x, weight, output_grad, options);
    };
    let shape = dims4(&weight);
    let (x, grad) = (dense(&x), dense(&output_grad));
    let mut dw = vec![0.0f32; shape.iter().product()];
    conv::weight_grad(slice(&x), slice(&grad), &g, &mut dw, CHUNK_BYTES);
    tensor(dw, shape)
}

pub(super) fn conv2d_bias_backward(
    x: FlexTensor,
    bias: FlexTensor,
    output_grad: FlexTensor,
) -> FlexTensor {
    if !supported(&[&bias, &output_grad], [1, 1], 1) || output_grad.shape().num_dims() != 4 {
        return <Flex as ModuleOps<Flex>>::conv2d_bias_backward(x, bias, output_grad);
    }
    let [_, k, h, w] = dims4(&output_grad);
    let grad = dense(&output_grad);
    tensor(conv::bias_grad(slice(&grad), k, h * w), [k])
}

pub(super) fn conv_transpose2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: ConvTransposeOptions<2>,
) -> FlexTensor {
    let [n, c_in, h, w] = dims4(&x);
    let mut all = vec![&x, &weight];
    all.extend(bias.as_ref());
    let g = transposed_geom([h, w], dims4(&weight), &options).filter(|_| dims4(&weight)[0] == c_in);
    let (Some(g), true) = (g, supported(&all, options.dilation, options.groups)) else {
        return <Flex as ModuleOps<Flex>>::conv_transpose2d(x, weight, bias, options);
    };
    let (x, weight, bias) = (dense(&x), dense(&weight), bias.as_ref().map(dense));
    let mut out = vec![0.0f32; n * g.c * g.h * g.w];
    conv::data_grad(slice(&x), &g, slice(&weight), &mut out, CHUNK_BYTES);
    if let Some(bias) = &bias {
        for img in out.chunks_exact_mut(g.c * g.h * g.w) {
            conv::add_bias(img, slice(bias));
        }
    }
    tensor(out, [n, g.c, g.h, g.w])
}

pub(super) fn conv_transpose2d_x_backward(
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: ConvTransposeOptions<2>,
) -> FlexTensor {
    let [n, c_out, ho, wo] = dims4(&output_grad);
    let [c_in, wc, kh, kw] = dims4(&weight);
    let g = ConvGeom::new([c_out, ho, wo], [kh, kw], options.stride, options.padding)
        .filter(|_| wc == c_out);
    let ok = supported(&[&weight, &output_grad], options.dilation, options.groups);
    let (Some(g), true) = (g, ok) else {
        return <Flex as ModuleOps<Flex>>::conv_transpose2d_x_backward(
            weight,
            output_grad,
            options,
        );
    };
    let (weight, grad) = (dense(&weight), dense(&output_grad));
    let mut dx = vec![0.0f32; n * c_in * g.ho * g.wo];
    conv::forward(slice(&grad), &g, slice(&weight), None, &mut dx, CHUNK_BYTES);
    tensor(dx, [n, c_in, g.ho, g.wo])
}

pub(super) fn conv_transpose2d_weight_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: ConvTransposeOptions<2>,
) -> FlexTensor {
    let [_, c_in, h, w] = dims4(&x);
    let g = transposed_geom([h, w], dims4(&weight), &options)
        .filter(|g| dims4(&weight)[0] == c_in && dims4(&output_grad)[1..] == [g.c, g.h, g.w]);
    let ok = supported(
        &[&x, &weight, &output_grad],
        options.dilation,
        options.groups,
    );
    let (Some(g), true) = (g, ok) else {
        return <Flex as ModuleOps<Flex>>::conv_transpose2d_weight_backward(
            x,
            weight,
            output_grad,
            options,
        );
    };
    let shape = dims4(&weight);
    let (x, grad) = (dense(&x), dense(&output_grad));
    let mut dw = vec![0.0f32; shape.iter().product()];
    // dW = Σ x · col(output_grad)ᵀ: the weight gradient of the forward convolution from the
    // output to the input, with x in the role of that convolution's output gradient.
    conv::weight_grad(slice(&grad), slice(&x), &g, &mut dw, CHUNK_BYTES);
    tensor(dw, shape)
}

pub(super) fn conv_transpose2d_bias_backward(
    x: FlexTensor,
    bias: FlexTensor,
    output_grad: FlexTensor,
) -> FlexTensor {
    if !supported(&[&bias, &output_grad], [1, 1], 1) || output_grad.shape().num_dims() != 4 {
        return <Flex as ModuleOps<Flex>>::conv_transpose2d_bias_backward(x, bias, output_grad);
    }
    let [_, k, h, w] = dims4(&output_grad);
    let grad = dense(&output_grad);
    tensor(conv::bias_grad(slice(&grad), k, h * w), [k])
}
