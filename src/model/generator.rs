//! The CartoonGAN generator (Chen et al., CVPR 2018): 7x7 conv, two stride-2 down blocks,
//! residual blocks, two stride-2 up blocks, 7x7 conv, tanh.
//!
//! Layer for layer the PyTorch port of the published weights
//! (`Yijunmaverick/CartoonGAN-Test-Pytorch-Torch`, `network/Transformer.py`), with switches
//! for normalization, activation, padding and width so the same module serves the
//! published styles, training, the improved CartoonGAN and tiny test models.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::{Tensor, activation::tanh, backend::Backend};

use super::padding::{Pad, pad_tensor};
use super::{Activation, ChannelOrder, Norm, NormKind, PaddingScheme};

/// Hyperparameters of the generator. The defaults are the published CartoonGAN layout.
#[derive(Config, Debug, PartialEq)]
pub struct GeneratorConfig {
    /// Normalization after every conv but the stride-2 ones and the last.
    #[config(default = "NormKind::Instance")]
    pub norm: NormKind,
    /// Activation after each normalization (not after the residual add).
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Where to pad with reflection and where with zeros.
    #[config(default = "PaddingScheme::Published")]
    pub padding: PaddingScheme,
    /// Channels of the first conv; the down blocks use 2x and 4x this.
    #[config(default = 64)]
    pub width: usize,
    /// Number of residual blocks at the lowest resolution.
    #[config(default = 8)]
    pub n_residual: usize,
    /// Normalization epsilon; the published port uses 1e-9.
    #[config(default = 1e-9)]
    pub norm_epsilon: f64,
    /// Channel order of the input and output images (the published weights use BGR).
    #[config(default = "ChannelOrder::Bgr")]
    pub channel_order: ChannelOrder,
}

/// A convolution with its padding: `conv(pad(x))`.
#[derive(Module, Debug)]
pub struct PaddedConv<B: Backend> {
    /// The convolution, applied without padding of its own.
    pub conv: Conv2d<B>,
    /// The padding applied first.
    pub pad: Pad,
}

impl<B: Backend> PaddedConv<B> {
    /// A `kernel`x`kernel` conv with bias and the given stride, applied after `pad`.
    pub fn new(
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        pad: Pad,
        device: &B::Device,
    ) -> Self {
        let conv = Conv2dConfig::new(channels, [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Valid)
            .init(device);
        Self { conv, pad }
    }

    /// Pads, then convolves.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.conv.forward(pad_tensor(x, self.pad))
    }
}

/// Stride-2 conv (no norm), then a 3x3 conv, norm and activation: halves the resolution.
#[derive(Module, Debug)]
pub struct DownBlock<B: Backend> {
    /// 3x3 conv, stride 2.
    pub down: PaddedConv<B>,
    /// 3x3 conv, stride 1.
    pub conv: PaddedConv<B>,
    /// Normalization after `conv`.
    pub norm: Norm<B>,
}

/// Two 3x3 convs with normalization and a skip connection; no activation after the add.
#[derive(Module, Debug)]
pub struct ResidualBlock<B: Backend> {
    /// First conv.
    pub conv1: PaddedConv<B>,
    /// Normalization after `conv1`, followed by the activation.
    pub norm1: Norm<B>,
    /// Second conv.
    pub conv2: PaddedConv<B>,
    /// Normalization after `conv2`, then the skip connection is added.
    pub norm2: Norm<B>,
}

/// Stride-2 transposed conv (no norm), then a 3x3 conv, norm and activation: doubles the
/// resolution.
#[derive(Module, Debug)]
pub struct UpBlock<B: Backend> {
    /// 3x3 transposed conv, stride 2, padding 1, output padding 1.
    pub up: ConvTranspose2d<B>,
    /// 3x3 conv, stride 1.
    pub conv: PaddedConv<B>,
    /// Normalization after `conv`.
    pub norm: Norm<B>,
}

/// The CartoonGAN generator: maps an image in [-1, 1] to an image in [-1, 1].
#[derive(Module, Debug)]
pub struct Generator<B: Backend> {
    /// 7x7 conv from 3 channels to `width`.
    pub input_conv: PaddedConv<B>,
    /// Normalization after `input_conv`.
    pub input_norm: Norm<B>,
    /// Two down blocks: `width` → 2·`width` → 4·`width`.
    pub down: Vec<DownBlock<B>>,
    /// Residual blocks at 4·`width` channels.
    pub residual: Vec<ResidualBlock<B>>,
    /// Two up blocks: 4·`width` → 2·`width` → `width`.
    pub up: Vec<UpBlock<B>>,
    /// 7x7 conv back to 3 channels, followed by tanh.
    pub output_conv: PaddedConv<B>,
    /// Activation used after every normalization.
    pub activation: Activation,
}

impl GeneratorConfig {
    /// The layout of the four published CartoonGAN styles.
    pub fn published() -> Self {
        Self::new()
    }

    /// A tiny generator for tests and quick experiments (width 8, 2 residual blocks).
    pub fn tiny() -> Self {
        Self::new().with_width(8).with_n_residual(2)
    }

    /// Builds a generator with freshly initialized weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Generator<B> {
        let w = self.width;
        let eps = self.norm_epsilon;
        let zero_site = |p| self.padding.zero_site(p);
        let down = [(w, 2 * w), (2 * w, 4 * w)]
            .into_iter()
            .map(|(cin, cout)| DownBlock {
                down: PaddedConv::new([cin, cout], 3, 2, zero_site(1), device),
                conv: PaddedConv::new([cout, cout], 3, 1, zero_site(1), device),
                norm: self.norm.init(cout, eps, device),
            })
            .collect();
        let residual = (0..self.n_residual)
            .map(|_| ResidualBlock {
                conv1: PaddedConv::new([4 * w, 4 * w], 3, 1, Pad::Reflect(1), device),
                norm1: self.norm.init(4 * w, eps, device),
                conv2: PaddedConv::new([4 * w, 4 * w], 3, 1, Pad::Reflect(1), device),
                norm2: self.norm.init(4 * w, eps, device),
            })
            .collect();
        let up = [(4 * w, 2 * w), (2 * w, w)]
            .into_iter()
            .map(|(cin, cout)| UpBlock {
                up: ConvTranspose2dConfig::new([cin, cout], [3, 3])
                    .with_stride([2, 2])
                    .with_padding([1, 1])
                    .with_padding_out([1, 1])
                    .init(device),
                conv: PaddedConv::new([cout, cout], 3, 1, zero_site(1), device),
                norm: self.norm.init(cout, eps, device),
            })
            .collect();
        Generator {
            input_conv: PaddedConv::new([3, w], 7, 1, Pad::Reflect(3), device),
            input_norm: self.norm.init(w, eps, device),
            down,
            residual,
            up,
            output_conv: PaddedConv::new([w, 3], 7, 1, Pad::Reflect(3), device),
            activation: self.activation,
        }
    }
}

impl<B: Backend> Generator<B> {
    /// Runs the generator on an NCHW batch in [-1, 1]. Height and width must be multiples
    /// of 4 for the output to have the input's size.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let act = |t| self.activation.forward(t);
        let mut y = act(self.input_norm.forward(self.input_conv.forward(x)));
        for block in &self.down {
            y = block.down.forward(y);
            y = act(block.norm.forward(block.conv.forward(y)));
        }
        for block in &self.residual {
            let h = act(block.norm1.forward(block.conv1.forward(y.clone())));
            y = block.norm2.forward(block.conv2.forward(h)) + y;
        }
        for block in &self.up {
            y = block.up.forward(y);
            y = act(block.norm.forward(block.conv.forward(y)));
        }
        tanh(self.output_conv.forward(y))
    }
}
