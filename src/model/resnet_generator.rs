//! CycleGAN's ResNet generator (Zhu et al. 2017), layer for layer as
//! junyanz/pytorch-CycleGAN-and-pix2pix `ResnetGenerator` with instance norm
//! (affine = false, eps 1e-5), reflection padding and no dropout.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{InstanceNorm, InstanceNormConfig};
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Tensor, backend::Backend};

use super::generator::PaddedConv;
use super::padding::Pad;

/// Hyperparameters of the ResNet generator; defaults are junyanz's `resnet_9blocks`.
#[derive(Config, Debug, PartialEq)]
pub struct ResnetGeneratorConfig {
    /// Channels of the first conv (`ngf`); the down blocks use 2x and 4x this.
    #[config(default = 64)]
    pub width: usize,
    /// Residual blocks at the lowest resolution (9 at 256², 6 at 128² in junyanz).
    #[config(default = 9)]
    pub n_residual: usize,
    /// Instance norm epsilon (PyTorch's default).
    #[config(default = 1e-5)]
    pub norm_epsilon: f64,
}

/// Conv, instance norm (no affine), ReLU.
#[derive(Module, Debug)]
pub struct ConvNormRelu<B: Backend> {
    /// The padded convolution.
    pub conv: PaddedConv<B>,
    /// Instance norm without learned scale and shift.
    pub norm: InstanceNorm<B>,
}

/// Two reflection-padded 3x3 convs with instance norm and a skip connection.
#[derive(Module, Debug)]
pub struct ResnetBlock<B: Backend> {
    /// First conv + norm + ReLU.
    pub first: ConvNormRelu<B>,
    /// Second conv.
    pub conv2: PaddedConv<B>,
    /// Norm after `conv2`; then the skip is added.
    pub norm2: InstanceNorm<B>,
}

/// Transposed conv (stride 2), instance norm, ReLU.
#[derive(Module, Debug)]
pub struct UpConvNormRelu<B: Backend> {
    /// 3x3 transposed conv, stride 2, padding 1, output padding 1.
    pub up: ConvTranspose2d<B>,
    /// Instance norm without affine parameters.
    pub norm: InstanceNorm<B>,
}

/// The CycleGAN generator: an image in [-1, 1] to an image in [-1, 1].
#[derive(Module, Debug)]
pub struct ResnetGenerator<B: Backend> {
    /// 7x7 conv (reflection pad 3) from 3 channels to `width`.
    pub input: ConvNormRelu<B>,
    /// Two stride-2 3x3 convs (zero pad 1): `width` → 2·`width` → 4·`width`.
    pub down: Vec<ConvNormRelu<B>>,
    /// Residual blocks at 4·`width` channels.
    pub residual: Vec<ResnetBlock<B>>,
    /// Two stride-2 transposed convs: 4·`width` → 2·`width` → `width`.
    pub up: Vec<UpConvNormRelu<B>>,
    /// 7x7 conv (reflection pad 3) to 3 channels, then tanh.
    pub output: PaddedConv<B>,
}

impl ResnetGeneratorConfig {
    /// A tiny generator for tests (width 8, 2 residual blocks).
    pub fn tiny() -> Self {
        Self::new().with_width(8).with_n_residual(2)
    }

    /// Builds a generator with freshly initialized weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ResnetGenerator<B> {
        let w = self.width;
        let norm = |c| {
            InstanceNormConfig::new(c)
                .with_epsilon(self.norm_epsilon)
                .with_affine(false)
                .init(device)
        };
        let cnr = |cin, cout, k, stride, pad| ConvNormRelu {
            conv: PaddedConv::new([cin, cout], k, stride, pad, device),
            norm: norm(cout),
        };
        ResnetGenerator {
            input: cnr(3, w, 7, 1, Pad::Reflect(3)),
            down: vec![
                cnr(w, 2 * w, 3, 2, Pad::Zeros(1)),
                cnr(2 * w, 4 * w, 3, 2, Pad::Zeros(1)),
            ],
            residual: (0..self.n_residual)
                .map(|_| ResnetBlock {
                    first: cnr(4 * w, 4 * w, 3, 1, Pad::Reflect(1)),
                    conv2: PaddedConv::new([4 * w, 4 * w], 3, 1, Pad::Reflect(1), device),
                    norm2: norm(4 * w),
                })
                .collect(),
            up: [(4 * w, 2 * w), (2 * w, w)]
                .into_iter()
                .map(|(cin, cout)| UpConvNormRelu {
                    up: ConvTranspose2dConfig::new([cin, cout], [3, 3])
                        .with_stride([2, 2])
                        .with_padding([1, 1])
                        .with_padding_out([1, 1])
                        .init(device),
                    norm: norm(cout),
                })
                .collect(),
            output: PaddedConv::new([w, 3], 7, 1, Pad::Reflect(3), device),
        }
    }
}

impl<B: Backend> ConvNormRelu<B> {
    /// conv → norm → ReLU.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

impl<B: Backend> ResnetGenerator<B> {
    /// Runs the generator on an NCHW batch in [-1, 1] (sides multiples of 4).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut y = self.input.forward(x);
        for block in &self.down {
            y = block.forward(y);
        }
        for block in &self.residual {
            let h = block.first.forward(y.clone());
            y = y + block.norm2.forward(block.conv2.forward(h));
        }
        for block in &self.up {
            y = relu(block.norm.forward(block.up.forward(y)));
        }
        tanh(self.output.forward(y))
    }
}
