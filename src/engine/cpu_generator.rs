//! The CartoonGAN generator planned for the CPU engine: weights extracted once from a burn
//! [`Generator`], each layer given the kernel that suits its shape, batch norm folded into
//! the preceding convolution, and a forward pass over reused buffers.

use std::sync::Mutex;

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::tensor::{Tensor, backend::Backend};

use super::instance_norm::{InstanceNormParams, channel_stats, norm_act_add_with};
use super::workspace::{Workspace, sized};
use crate::cartoonize::burn_translator::{from_network_output, to_network_input};
use crate::cartoonize::{TemporalStats, Translator};
use crate::kernels::{ConvTranspose, Im2colConv, Pad, TapConv, WinogradConv};
use crate::model::generator::PaddedConv;
use crate::model::{Activation, ChannelOrder, Generator, GeneratorConfig, Norm};

/// A callback on the `i`-th instance norm's per-channel (mean, biased variance), which it may
/// change before they are used.
pub type NormStatsHook<'a> = dyn FnMut(usize, &mut [(f64, f64)]) + 'a;

/// Why a generator cannot be run by the CPU engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A layer has a configuration the engine does not implement.
    #[error(
        "layer {layer}: {message}; the fast CPU engine supports the CartoonGAN generator \
         layout only, run it with --engine burn instead"
    )]
    Unsupported {
        /// Which layer.
        layer: String,
        /// What is unsupported.
        message: String,
    },
}

/// Weights of one convolution as extracted from burn: `[k][c][kernel][kernel]`.
struct RawConv {
    weight: Vec<f32>,
    bias: Vec<f32>,
    k: usize,
    c: usize,
    kernel: usize,
    stride: usize,
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec()
        .expect("a float tensor converts to f32")
}

fn unsupported(layer: &str, message: String) -> EngineError {
    EngineError::Unsupported {
        layer: layer.to_string(),
        message,
    }
}

fn raw_conv<B: Backend>(conv: &Conv2d<B>, layer: &str) -> Result<RawConv, EngineError> {
    let [k, c, kh, kw] = conv.weight.dims();
    if conv.groups != 1 || conv.dilation != [1, 1] {
        return Err(unsupported(layer, "groups or dilation other than 1".into()));
    }
    if kh != kw || conv.stride[0] != conv.stride[1] {
        return Err(unsupported(layer, "non-square kernel or stride".into()));
    }
    if !matches!(conv.padding, PaddingConfig2d::Valid) {
        return Err(unsupported(layer, "padding inside the conv".into()));
    }
    Ok(RawConv {
        weight: values(conv.weight.val()),
        bias: conv
            .bias
            .as_ref()
            .map_or_else(|| vec![0.0; k], |b| values(b.val())),
        k,
        c,
        kernel: kh,
        stride: conv.stride[0],
    })
}

/// Folds eval-mode batch norm (running statistics) into the convolution before it:
/// `γ (conv(x) - μ) / √(σ² + ε) + β` is a convolution with scaled weights and a new bias.
fn fold_batch_norm<B: Backend>(raw: &mut RawConv, bn: &BatchNorm<B>) {
    let gamma = values(bn.gamma.val());
    let beta = values(bn.beta.val());
    let mean = values(bn.running_mean.value());
    let var = values(bn.running_var.value());
    let per_k = raw.weight.len() / raw.k;
    for ko in 0..raw.k {
        let s = gamma[ko] as f64 / (var[ko] as f64 + bn.epsilon).sqrt();
        for v in &mut raw.weight[ko * per_k..][..per_k] {
            *v = (*v as f64 * s) as f32;
        }
        raw.bias[ko] = ((raw.bias[ko] as f64 - mean[ko] as f64) * s + beta[ko] as f64) as f32;
    }
}

/// How one convolution is computed.
#[derive(Debug, Clone)]
enum ConvOp {
    Winograd(WinogradConv),
    Im2col(Im2colConv),
    Taps(TapConv),
}

/// A planned convolution with its padding.
#[derive(Debug, Clone)]
pub(super) struct ConvLayer {
    op: ConvOp,
    pub(super) pad: Pad,
    pub(super) k: usize,
}

impl ConvLayer {
    /// Picks the kernel: Winograd for 3x3 stride 1 same-size, per-tap GEMM for stride-1
    /// same-size convs with few outputs, im2col + GEMM otherwise.
    fn plan(raw: RawConv, pad: Pad) -> Self {
        let p = pad.width();
        let same = raw.stride == 1 && 2 * p + 1 == raw.kernel;
        let op = if same && raw.kernel == 3 {
            ConvOp::Winograd(WinogradConv::new(&raw.weight, &raw.bias, raw.k, raw.c))
        } else if same && raw.k < 16 {
            ConvOp::Taps(TapConv::new(
                &raw.weight,
                &raw.bias,
                raw.k,
                raw.c,
                raw.kernel,
            ))
        } else {
            ConvOp::Im2col(Im2colConv::new(
                &raw.weight,
                &raw.bias,
                raw.k,
                raw.c,
                raw.kernel,
                raw.stride,
            ))
        };
        Self { op, pad, k: raw.k }
    }

    /// Kernel side and stride.
    pub(super) fn geometry(&self) -> (usize, usize) {
        match &self.op {
            ConvOp::Winograd(_) => (3, 1),
            ConvOp::Taps(c) => (c.kernel, 1),
            ConvOp::Im2col(c) => (c.kernel, c.stride),
        }
    }

    /// Output size for an `h`×`w` input.
    fn out_hw(&self, h: usize, w: usize) -> (usize, usize) {
        match &self.op {
            ConvOp::Im2col(c) => (c.out_size(h, self.pad), c.out_size(w, self.pad)),
            _ => (h, w),
        }
    }

    /// Runs into `out` (grown as needed); returns the output size.
    pub(super) fn run(
        &self,
        input: &[f32],
        (h, w): (usize, usize),
        out: &mut Vec<f32>,
        scratch: &mut Vec<f32>,
    ) -> (usize, usize) {
        let (ho, wo) = self.out_hw(h, w);
        let o = sized(out, self.k * ho * wo);
        match &self.op {
            ConvOp::Winograd(c) => c.forward(input, h, w, self.pad, o, scratch),
            ConvOp::Im2col(c) => c.forward(input, h, w, self.pad, o, scratch),
            ConvOp::Taps(c) => c.forward(input, h, w, self.pad, o, scratch),
        }
        (ho, wo)
    }
}

/// A convolution followed by its normalization (`None`: none, or batch norm folded in).
#[derive(Debug, Clone)]
pub(super) struct Stage {
    pub(super) conv: ConvLayer,
    pub(super) norm: Option<InstanceNormParams>,
}

fn stage<B: Backend>(
    pc: &PaddedConv<B>,
    norm: &Norm<B>,
    layer: &str,
) -> Result<Stage, EngineError> {
    let mut raw = raw_conv(&pc.conv, layer)?;
    let norm = match norm {
        Norm::Batch(bn) => {
            fold_batch_norm(&mut raw, bn);
            None
        }
        Norm::Instance(n) => {
            let ones = || vec![1.0; n.num_channels];
            let zeros = || vec![0.0; n.num_channels];
            Some(InstanceNormParams {
                gamma: n.gamma.as_ref().map_or_else(ones, |g| values(g.val())),
                beta: n.beta.as_ref().map_or_else(zeros, |b| values(b.val())),
                epsilon: n.epsilon,
            })
        }
    };
    Ok(Stage {
        conv: ConvLayer::plan(raw, pc.pad),
        norm,
    })
}

fn conv_transpose<B: Backend>(
    ct: &ConvTranspose2d<B>,
    layer: &str,
) -> Result<ConvTranspose, EngineError> {
    let [c, k, kh, kw] = ct.weight.dims();
    if ct.groups != 1 || ct.dilation != [1, 1] || kh != kw {
        return Err(unsupported(layer, "grouped, dilated or non-square".into()));
    }
    let same = |a: [usize; 2]| a[0] == a[1];
    if !same(ct.stride) || !same(ct.padding) || !same(ct.padding_out) {
        return Err(unsupported(layer, "non-square stride or padding".into()));
    }
    let bias = ct
        .bias
        .as_ref()
        .map_or_else(|| vec![0.0; k], |b| values(b.val()));
    Ok(ConvTranspose::new(
        &values(ct.weight.val()),
        &bias,
        [c, k],
        kh,
        ct.stride[0],
        ct.padding[0],
        ct.padding_out[0],
    ))
}

/// The normalization step of a forward pass: (activation, plane size, norm, activation, skip).
type Normalize<'a> = &'a mut dyn FnMut(
    &mut [f32],
    usize,
    Option<&InstanceNormParams>,
    Option<Activation>,
    Option<&[f32]>,
);

/// The CartoonGAN generator on the CPU engine. Implements [`Translator`].
#[derive(Debug)]
pub struct CpuGenerator {
    pub(super) input: Stage,
    pub(super) down: Vec<(ConvLayer, Stage)>,
    pub(super) residual: Vec<(Stage, Stage)>,
    pub(super) up: Vec<(ConvTranspose, Stage)>,
    pub(super) output: ConvLayer,
    pub(super) activation: Activation,
    pub(super) order: ChannelOrder,
    workspace: Mutex<Workspace>,
}

impl CpuGenerator {
    /// Extracts and plans the weights of any burn generator (published styles or trained
    /// models, every [`GeneratorConfig`] switch); `config` gives the channel order.
    pub fn from_generator<B: Backend>(
        g: &Generator<B>,
        config: &GeneratorConfig,
    ) -> Result<Self, EngineError> {
        let input = stage(&g.input_conv, &g.input_norm, "input_conv")?;
        let mut down = Vec::new();
        for (i, b) in g.down.iter().enumerate() {
            let d = ConvLayer::plan(
                raw_conv(&b.down.conv, &format!("down.{i}.down"))?,
                b.down.pad,
            );
            down.push((d, stage(&b.conv, &b.norm, &format!("down.{i}.conv"))?));
        }
        let mut residual = Vec::new();
        for (i, b) in g.residual.iter().enumerate() {
            residual.push((
                stage(&b.conv1, &b.norm1, &format!("residual.{i}.conv1"))?,
                stage(&b.conv2, &b.norm2, &format!("residual.{i}.conv2"))?,
            ));
        }
        let mut up = Vec::new();
        for (i, b) in g.up.iter().enumerate() {
            up.push((
                conv_transpose(&b.up, &format!("up.{i}.up"))?,
                stage(&b.conv, &b.norm, &format!("up.{i}.conv"))?,
            ));
        }
        let output = ConvLayer::plan(
            raw_conv(&g.output_conv.conv, "output_conv")?,
            g.output_conv.pad,
        );
        Ok(Self {
            input,
            down,
            residual,
            up,
            output,
            activation: g.activation,
            order: config.channel_order,
            workspace: Mutex::new(Workspace::new()),
        })
    }

    /// Runs the network on a planar 3×`h`×`w` input in [-1, 1] (the network's channel
    /// order) and returns the planar output in [-1, 1]. `h` and `w` must be multiples of 4.
    pub fn forward_planar(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        ws: &mut Workspace,
    ) -> Vec<f32> {
        self.forward_planar_hooked(input, h, w, ws, &mut |_, _| {})
    }

    /// [`Self::forward_planar`], with `hook(i, stats)` called on the per-channel statistics
    /// (mean, biased variance) of the `i`-th instance norm (in network order) before they are
    /// used; the hook may change them (temporal smoothing of video frames).
    pub fn forward_planar_hooked(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        ws: &mut Workspace,
        hook: &mut NormStatsHook<'_>,
    ) -> Vec<f32> {
        assert_eq!(input.len(), 3 * h * w, "input must be 3 x h x w");
        let act = Some(self.activation);
        let Workspace { bufs, scratch } = ws;
        let [a, b, c] = bufs;
        let (mut cur, mut next, mut spare) = (a, b, c);
        let mut layer = 0usize;
        let mut normalize = |x: &mut [f32],
                             plane: usize,
                             norm: Option<&InstanceNormParams>,
                             act: Option<Activation>,
                             skip: Option<&[f32]>| {
            let stats = norm.map(|_| {
                let mut st = channel_stats(x, plane);
                hook(layer, &mut st);
                layer += 1;
                st
            });
            norm_act_add_with(x, plane, norm.zip(stats.as_deref()), act, skip);
        };
        let normalize: Normalize<'_> = &mut normalize;
        let run_stage = |s: &Stage,
                         x: &[f32],
                         hw,
                         out: &mut Vec<f32>,
                         scratch: &mut Vec<f32>,
                         normalize: Normalize<'_>| {
            let (ho, wo) = s.conv.run(x, hw, out, scratch);
            let n = s.conv.k * ho * wo;
            normalize(&mut out[..n], ho * wo, s.norm.as_ref(), act, None);
            ((ho, wo), n)
        };
        let (mut hw, mut n) = run_stage(&self.input, input, (h, w), cur, scratch, normalize);
        for (d, s) in &self.down {
            let hw2 = d.run(&cur[..n], hw, next, scratch);
            std::mem::swap(&mut cur, &mut next);
            (hw, n) = run_stage(
                s,
                &cur[..d.k * hw2.0 * hw2.1],
                hw2,
                next,
                scratch,
                normalize,
            );
            std::mem::swap(&mut cur, &mut next);
        }
        for (s1, s2) in &self.residual {
            run_stage(s1, &cur[..n], hw, next, scratch, normalize);
            s2.conv.run(&next[..n], hw, spare, scratch);
            normalize(
                &mut spare[..n],
                hw.0 * hw.1,
                s2.norm.as_ref(),
                None,
                Some(&cur[..n]),
            );
            std::mem::swap(&mut cur, &mut spare);
        }
        for (t, s) in &self.up {
            let hw2 = (t.out_size(hw.0), t.out_size(hw.1));
            t.forward(
                &cur[..n],
                hw.0,
                hw.1,
                sized(next, t.k * hw2.0 * hw2.1),
                scratch,
            );
            std::mem::swap(&mut cur, &mut next);
            (hw, n) = run_stage(
                s,
                &cur[..t.k * hw2.0 * hw2.1],
                hw2,
                next,
                scratch,
                normalize,
            );
            std::mem::swap(&mut cur, &mut next);
        }
        let mut out = Vec::new();
        let (ho, wo) = self.output.run(&cur[..n], hw, &mut out, scratch);
        assert_eq!(
            (ho, wo),
            (h, w),
            "the generator keeps the size of multiple-of-4 inputs"
        );
        for v in &mut out {
            *v = v.tanh();
        }
        out
    }
}

impl Translator for CpuGenerator {
    fn translate(&self, rgb: &[f32], width: usize, height: usize) -> Vec<f32> {
        let input = to_network_input(rgb, width, height, self.order);
        let planar = match self.workspace.try_lock() {
            Ok(mut ws) => self.forward_planar(&input, height, width, &mut ws),
            // Busy (another thread) or poisoned: run with a private workspace.
            Err(_) => self.forward_planar(&input, height, width, &mut Workspace::new()),
        };
        from_network_output(&planar, width, height, self.order)
    }

    fn translate_large(
        &self,
        rgb: &[f32],
        width: usize,
        height: usize,
        tile: usize,
    ) -> Option<Vec<f32>> {
        let scale = 1usize << self.down.len();
        (width.is_multiple_of(scale) && height.is_multiple_of(scale))
            .then(|| self.translate_banded(rgb, width, height, tile / 8))
    }

    fn translate_frame(
        &self,
        rgb: &[f32],
        width: usize,
        height: usize,
        stats: &mut TemporalStats,
    ) -> Vec<f32> {
        let input = to_network_input(rgb, width, height, self.order);
        let mut hook = |i: usize, s: &mut [(f64, f64)]| stats.smooth(i, s);
        let planar = match self.workspace.try_lock() {
            Ok(mut ws) => self.forward_planar_hooked(&input, height, width, &mut ws, &mut hook),
            Err(_) => {
                self.forward_planar_hooked(&input, height, width, &mut Workspace::new(), &mut hook)
            }
        };
        from_network_output(&planar, width, height, self.order)
    }
}
