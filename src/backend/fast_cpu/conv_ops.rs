//! The convolution ops of [`FastCpu`](super::FastCpu): f32, dilation 1, groups 1 run on
//! [`crate::kernels::conv`]; anything else goes to Flex's own implementation.
//!
//! 3x3 stride-1 convolutions with enough channels (the generator's residual blocks, VGG19,
//! most of the discriminator: ~90% of a training step's multiply-adds) take Winograd
//! F(4x4, 3x3) ([`WinogradConv`]) for the forward pass and for the data gradient, which is
//! itself a 3x3 stride-1 convolution of the output gradient with the flipped, transposed
//! kernel, and for the weight gradient ([`winograd::weight_grad`]): 4x fewer multiply-adds
//! than im2col + GEMM and no patch matrix.
//!
//! A transposed convolution with weight `[C_in][C_out][kh][kw]` is the data gradient of the
//! convolution from its output (C_out planes) to its input (C_in planes) with that same
//! weight read as a C_in×(C_out·kh·kw) matrix; so its forward is [`conv::data_grad`], its data
//! gradient [`conv::forward`] and its weight gradient [`conv::weight_grad`] with the roles of
//! input and output gradient exchanged.

use burn_backend::ops::{ConvOptions, ConvTransposeOptions, ModuleOps};
use burn_backend::{DType, TensorMetadata};
use burn_flex::{Flex, FlexTensor};

use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use super::flex_tensor::{contiguous, f32_tensor as tensor};
use crate::kernels::conv::{self, ConvGeom};
use crate::kernels::winograd::{self, WinogradConv};
use crate::kernels::{CHUNK_BYTES, Pad};

/// Fewest input and output channels, and output pixels, for which Winograd beats im2col +
/// GEMM (measured, `examples/conv_kernels_bench.rs`): with fewer channels the tile transforms
/// cost more than the multiply-adds they save; with fewer pixels the per-call weight
/// transform (36·K·C values, 4x the weights) does.
const WINOGRAD_MIN_CHANNELS: usize = 32;
const WINOGRAD_MIN_PIXELS: usize = 64 * 64;

/// Which algorithm the 3x3 stride-1 convolutions take; the others always take im2col.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvAlgorithm {
    /// Winograd where it is measured to pay (enough channels and pixels); the default.
    Auto,
    /// im2col + GEMM everywhere.
    Im2col,
    /// Winograd for every 3x3 stride-1 convolution with zero padding ≤ 2, however small.
    Winograd,
}

static ALGORITHM: AtomicU8 = AtomicU8::new(0);

/// Sets the convolution algorithm for the whole process. Benchmarks switch it to measure
/// what each gains; training leaves it at [`ConvAlgorithm::Auto`].
pub fn set_conv_algorithm(algorithm: ConvAlgorithm) {
    ALGORITHM.store(algorithm as u8, Ordering::Relaxed);
}

static WEIGHT_GRAD_CHUNK: AtomicUsize = AtomicUsize::new(CHUNK_BYTES);

/// Sets the chunk size of the im2col weight gradients (7x7, stride 2, transposed and small
/// convolutions) for the whole process; [`CHUNK_BYTES`] by default. Benchmarks switch it to
/// measure the chunk policy.
pub fn set_weight_grad_chunk_bytes(bytes: usize) {
    WEIGHT_GRAD_CHUNK.store(bytes.max(1), Ordering::Relaxed);
}

fn weight_grad_chunk_bytes() -> usize {
    WEIGHT_GRAD_CHUNK.load(Ordering::Relaxed)
}

fn conv_algorithm() -> ConvAlgorithm {
    match ALGORITHM.load(Ordering::Relaxed) {
        1 => ConvAlgorithm::Im2col,
        2 => ConvAlgorithm::Winograd,
        _ => ConvAlgorithm::Auto,
    }
}

thread_local! {
    /// Winograd's transform-domain buffers, reused between calls.
    static WINOGRAD_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// The zero padding of a 3x3 stride-1 convolution from `c` to `k` channels that Winograd
/// runs, or `None` if it takes im2col + GEMM.
fn winograd_padding(g: &ConvGeom, k: usize) -> Option<usize> {
    let shape = (g.kh, g.kw, g.sh, g.sw) == (3, 3, 1, 1) && g.ph == g.pw && g.ph <= 2;
    let pays = g.c.min(k) >= WINOGRAD_MIN_CHANNELS && g.ho * g.wo >= WINOGRAD_MIN_PIXELS;
    let take = match conv_algorithm() {
        ConvAlgorithm::Auto => shape && pays,
        ConvAlgorithm::Im2col => false,
        ConvAlgorithm::Winograd => shape,
    };
    take.then_some(g.ph)
}

/// Runs `f` on the thread's reused Winograd scratch buffer (a fresh one if a convolution on
/// this thread already holds it).
fn with_winograd_scratch<R>(f: impl FnOnce(&mut Vec<f32>) -> R) -> R {
    WINOGRAD_SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Vec::new()),
    })
}

/// Runs `conv` on each of the `n` images of `x` (N×c×h×w) zero-padded by `pad` into `out`
/// (N×k×(h+2·pad−2)×(w+2·pad−2)).
fn winograd_batch(
    conv: &WinogradConv,
    x: &[f32],
    [n, h, w]: [usize; 3],
    pad: usize,
    out: &mut [f32],
) {
    if n == 0 {
        return;
    }
    let (in_len, out_len) = (x.len() / n, out.len() / n);
    with_winograd_scratch(|scratch| {
        for (xb, ob) in x.chunks_exact(in_len).zip(out.chunks_exact_mut(out_len)) {
            conv.forward(xb, h, w, Pad::Zeros(pad), ob, scratch);
        }
    });
}

/// The kernel of a 3x3 convolution's data gradient: `[c][k][2−r][2−s]` of `[k][c][r][s]`.
fn flipped_transpose(weight: &[f32], k: usize, c: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; weight.len()];
    for ko in 0..k {
        for ci in 0..c {
            let src = &weight[(ko * c + ci) * 9..][..9];
            let dst = &mut t[(ci * k + ko) * 9..][..9];
            for (i, d) in dst.iter_mut().enumerate() {
                *d = src[8 - i];
            }
        }
    }
    t
}

/// Whether every tensor is f32 and the options are ones the kernels cover.
fn supported(tensors: &[&FlexTensor], dilation: [usize; 2], groups: usize) -> bool {
    dilation == [1, 1] && groups == 1 && tensors.iter().all(|t| t.dtype() == DType::F32)
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    t.shape().dims::<4>()
}

/// A contiguous copy (or the tensor itself when already contiguous) to read as a slice.
fn dense(t: &FlexTensor) -> FlexTensor {
    contiguous(t)
}

fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32 tensor")
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
    if let Some(p) = winograd_padding(&g, k) {
        let bias = bias
            .as_ref()
            .map_or_else(|| vec![0.0; k], |b| slice(b).to_vec());
        let conv = WinogradConv::new(slice(&weight), &bias, k, g.c);
        winograd_batch(&conv, slice(&x), [n, g.h, g.w], p, &mut out);
        return tensor(out, [n, k, g.ho, g.wo]);
    }
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
    let k = dims4(&weight)[0];
    let (weight, grad) = (dense(&weight), dense(&output_grad));
    let mut dx = vec![0.0f32; shape.iter().product()];
    if let Some(p) = winograd_padding(&g, k) {
        // The full correlation of the output gradient with the flipped kernel: padding
        // 2 − p brings the ho×wo gradient back to the h×w input.
        let kernel = flipped_transpose(slice(&weight), k, g.c);
        let conv = WinogradConv::new(&kernel, &vec![0.0; g.c], g.c, k);
        winograd_batch(&conv, slice(&grad), [shape[0], g.ho, g.wo], 2 - p, &mut dx);
        return tensor(dx, shape);
    }
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
    if let Some(p) = winograd_padding(&g, shape[0]) {
        let dims = [dims4(&x)[0], g.c, g.h, g.w];
        with_winograd_scratch(|scratch| {
            winograd::weight_grad(
                slice(&x),
                slice(&grad),
                dims,
                shape[0],
                Pad::Zeros(p),
                &mut dw,
                CHUNK_BYTES,
                scratch,
            )
        });
        return tensor(dw, shape);
    }
    conv::weight_grad(
        slice(&x),
        slice(&grad),
        &g,
        &mut dw,
        weight_grad_chunk_bytes(),
    );
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
    conv::weight_grad(
        slice(&grad),
        slice(&x),
        &g,
        &mut dw,
        weight_grad_chunk_bytes(),
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(c: usize, hw: usize, stride: usize, pad: usize) -> ConvGeom {
        ConvGeom::new([c, hw, hw], [3, 3], [stride, stride], [pad, pad]).unwrap()
    }

    #[test]
    fn winograd_takes_the_wide_3x3_stride_1_convolutions() {
        // The generator's residual blocks (reflect-padded, so the conv itself has none).
        assert_eq!(winograd_padding(&geom(256, 66, 1, 0), 256), Some(0));
        // VGG19 conv1_2 and a data gradient's padding of 2.
        assert_eq!(winograd_padding(&geom(64, 256, 1, 1), 64), Some(1));
        assert_eq!(winograd_padding(&geom(32, 62, 1, 2), 32), Some(2));
        // Stride 2, too few channels, too few pixels, or a 7x7 kernel: im2col.
        assert_eq!(winograd_padding(&geom(64, 256, 2, 1), 64), None);
        assert_eq!(winograd_padding(&geom(3, 256, 1, 1), 64), None);
        assert_eq!(winograd_padding(&geom(64, 256, 1, 1), 3), None);
        assert_eq!(winograd_padding(&geom(512, 32, 1, 1), 512), None);
        let seven = ConvGeom::new([64, 256, 256], [7, 7], [1, 1], [3, 3]).unwrap();
        assert_eq!(winograd_padding(&seven, 64), None);
    }
}
