//! Building blocks of torchvision's ResNet (`torchvision/models/resnet.py`, v1.5: the
//! stride sits on the 3x3 conv of a bottleneck): frozen batch norm, the basic block of
//! ResNet-18/34, the bottleneck of ResNet-50/101 and the 1x1 projection shortcut.

use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Tensor, activation::relu, backend::Backend};

/// Batch norm that always uses its running statistics, like torchvision's
/// `FrozenBatchNorm2d` (and `BatchNorm2d` in eval mode):
/// `(x - running_mean) / sqrt(running_var + eps) * weight + bias`.
///
/// burn's `BatchNorm` switches to batch statistics on an autodiff backend, which would
/// change a feature extractor's output during training; this one never does. Its tensors
/// are named as PyTorch's so `.pth` files load without renaming.
#[derive(Module, Debug)]
pub struct FrozenBatchNorm<B: Backend> {
    /// Scale (γ).
    pub weight: Param<Tensor<B, 1>>,
    /// Shift (β).
    pub bias: Param<Tensor<B, 1>>,
    /// Running mean of the training data.
    pub running_mean: Param<Tensor<B, 1>>,
    /// Running (unbiased) variance of the training data.
    pub running_var: Param<Tensor<B, 1>>,
    /// Added to the variance; 1e-5 in torchvision.
    pub eps: f64,
}

impl<B: Backend> FrozenBatchNorm<B> {
    /// Identity normalization over `channels` channels (weight 1, bias 0, mean 0, var 1).
    pub fn new(channels: usize, eps: f64, device: &B::Device) -> Self {
        let ones = || Param::from_tensor(Tensor::ones([channels], device));
        let zeros = || Param::from_tensor(Tensor::zeros([channels], device));
        Self {
            weight: ones(),
            bias: zeros(),
            running_mean: zeros(),
            running_var: ones(),
            eps,
        }
    }

    /// Normalizes an NCHW tensor per channel.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let c = self.weight.dims()[0];
        // Per-channel scale and shift, as PyTorch's CPU kernel folds them.
        let scale = self.weight.val() / (self.running_var.val() + self.eps).sqrt();
        let shift = self.bias.val() - self.running_mean.val() * scale.clone();
        x * scale.reshape([1, c, 1, 1]) + shift.reshape([1, c, 1, 1])
    }
}

/// He-normal initialization (fan in, gain √2): a random conv followed by ReLU keeps the second
/// moment of its input, so a random-weight network's features have the scale of a trained
/// one's instead of shrinking by orders of magnitude with depth (burn's default init, uniform
/// with variance 1/(3·fan_in), loses a factor of about 6 per conv and ReLU). Loaded weights
/// replace it.
pub(crate) const HE_NORMAL: burn::nn::Initializer = burn::nn::Initializer::KaimingNormal {
    gain: std::f64::consts::SQRT_2,
    fan_out_only: false,
};

/// A bias-free convolution with symmetric zero padding, as every ResNet conv; He-normal
/// weights until real ones are loaded.
fn conv<B: Backend>(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    device: &B::Device,
) -> Conv2d<B> {
    let p = kernel / 2;
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(false)
        .with_initializer(HE_NORMAL)
        .init(device)
}

/// The shortcut projection (torchvision's `downsample`): 1x1 conv with stride, then batch
/// norm. PyTorch names these `downsample.0` and `downsample.1`; the loader maps them to
/// `downsample.conv` and `downsample.bn`.
#[derive(Module, Debug)]
pub struct Downsample<B: Backend> {
    /// 1x1 conv.
    pub conv: Conv2d<B>,
    /// Its normalization.
    pub bn: FrozenBatchNorm<B>,
}

impl<B: Backend> Downsample<B> {
    fn new(channels: [usize; 2], stride: usize, eps: f64, device: &B::Device) -> Self {
        Self {
            conv: conv(channels, 1, stride, device),
            bn: FrozenBatchNorm::new(channels[1], eps, device),
        }
    }

    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.bn.forward(self.conv.forward(x))
    }
}

/// ResNet-18/34's block: two 3x3 convs (the first with the stride), skip, ReLU.
#[derive(Module, Debug)]
pub struct BasicBlock<B: Backend> {
    /// 3x3 conv, stride `s`.
    pub conv1: Conv2d<B>,
    /// Norm after `conv1`, then ReLU.
    pub bn1: FrozenBatchNorm<B>,
    /// 3x3 conv.
    pub conv2: Conv2d<B>,
    /// Norm after `conv2`, then the shortcut is added and ReLU applied.
    pub bn2: FrozenBatchNorm<B>,
    /// Projection shortcut when the shape changes.
    pub downsample: Option<Downsample<B>>,
}

/// ResNet-50/101's block: 1x1 reduce, 3x3 (with the stride, v1.5), 1x1 expand by 4, skip,
/// ReLU.
#[derive(Module, Debug)]
pub struct Bottleneck<B: Backend> {
    /// 1x1 conv to `planes` channels.
    pub conv1: Conv2d<B>,
    /// Norm after `conv1`, then ReLU.
    pub bn1: FrozenBatchNorm<B>,
    /// 3x3 conv, stride `s`.
    pub conv2: Conv2d<B>,
    /// Norm after `conv2`, then ReLU.
    pub bn2: FrozenBatchNorm<B>,
    /// 1x1 conv to 4·`planes` channels.
    pub conv3: Conv2d<B>,
    /// Norm after `conv3`, then the shortcut is added and ReLU applied.
    pub bn3: FrozenBatchNorm<B>,
    /// Projection shortcut when the shape changes.
    pub downsample: Option<Downsample<B>>,
}

/// One residual block of either kind.
// The variants differ in inline size only by a few handles (the tensors live on the
// heap/device), and blocks are built once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum ResidualBlock<B: Backend> {
    /// ResNet-18/34.
    Basic(BasicBlock<B>),
    /// ResNet-50/101.
    Bottleneck(Bottleneck<B>),
}

/// Output channels of a block with `planes` planes: 1x for basic blocks, 4x for bottlenecks.
pub fn block_out_channels(bottleneck: bool, planes: usize) -> usize {
    if bottleneck { 4 * planes } else { planes }
}

impl<B: Backend> ResidualBlock<B> {
    /// A block taking `in_channels` to `block_out_channels(bottleneck, planes)` with the
    /// given stride; it gets a projection shortcut when the stride or channels change.
    pub fn new(
        bottleneck: bool,
        in_channels: usize,
        planes: usize,
        stride: usize,
        eps: f64,
        device: &B::Device,
    ) -> Self {
        let out = block_out_channels(bottleneck, planes);
        let downsample = (stride != 1 || in_channels != out)
            .then(|| Downsample::new([in_channels, out], stride, eps, device));
        let bn = |c| FrozenBatchNorm::new(c, eps, device);
        if bottleneck {
            ResidualBlock::Bottleneck(Bottleneck {
                conv1: conv([in_channels, planes], 1, 1, device),
                bn1: bn(planes),
                conv2: conv([planes, planes], 3, stride, device),
                bn2: bn(planes),
                conv3: conv([planes, out], 1, 1, device),
                bn3: bn(out),
                downsample,
            })
        } else {
            ResidualBlock::Basic(BasicBlock {
                conv1: conv([in_channels, planes], 3, stride, device),
                bn1: bn(planes),
                conv2: conv([planes, planes], 3, 1, device),
                bn2: bn(planes),
                downsample,
            })
        }
    }

    /// Scales the residual branch's last batch norm (γ = `scale`): a random-weight network
    /// with identity norms and He-normal convs otherwise grows ~1.5x in RMS per block, as
    /// every block adds a branch as large as its input; ResNet-101 to `layer2` came out ~19x
    /// its input. Loaded weights replace it.
    pub(crate) fn scale_branch(&mut self, scale: f64) {
        let bn = match self {
            ResidualBlock::Basic(b) => &mut b.bn2,
            ResidualBlock::Bottleneck(b) => &mut b.bn3,
        };
        bn.weight = bn.weight.clone().map(|w| w.mul_scalar(scale));
    }

    /// Runs the block on an NCHW tensor.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let (y, downsample) = match self {
            ResidualBlock::Basic(b) => {
                let h = relu(b.bn1.forward(b.conv1.forward(x.clone())));
                (b.bn2.forward(b.conv2.forward(h)), &b.downsample)
            }
            ResidualBlock::Bottleneck(b) => {
                let h = relu(b.bn1.forward(b.conv1.forward(x.clone())));
                let h = relu(b.bn2.forward(b.conv2.forward(h)));
                (b.bn3.forward(b.conv3.forward(h)), &b.downsample)
            }
        };
        let identity = match downsample {
            Some(d) => d.forward(x),
            None => x,
        };
        relu(y + identity)
    }
}

/// Builds a `conv` for the stem (7x7, stride 2, padding 3, no bias).
pub(crate) fn stem_conv<B: Backend>(device: &B::Device) -> Conv2d<B> {
    conv([3, 64], 7, 2, device)
}
