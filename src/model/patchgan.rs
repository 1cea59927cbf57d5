//! CycleGAN's 70x70 PatchGAN discriminator, as junyanz/pytorch-CycleGAN-and-pix2pix
//! `NLayerDiscriminator` with `n_layers = 3` and instance norm: 4x4 convs
//! 64 → 128 → 256 → 512 → 1, LeakyReLU 0.2, no norm on the first and last conv.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{InstanceNorm, InstanceNormConfig, PaddingConfig2d};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Tensor, backend::Backend};

/// Hyperparameters of the PatchGAN; defaults are junyanz's `basic` discriminator.
#[derive(Config, Debug, PartialEq)]
pub struct PatchGanConfig {
    /// Channels of the first conv (`ndf`).
    #[config(default = 64)]
    pub width: usize,
    /// Number of stride-2 layers after the first (3 gives the 70x70 receptive field).
    #[config(default = 3)]
    pub n_layers: usize,
    /// Instance norm epsilon.
    #[config(default = 1e-5)]
    pub norm_epsilon: f64,
}

/// One 4x4 conv with optional instance norm.
#[derive(Module, Debug)]
pub struct PatchLayer<B: Backend> {
    /// 4x4 conv, zero padding 1.
    pub conv: Conv2d<B>,
    /// Instance norm (no affine), absent on the first layer.
    pub norm: Option<InstanceNorm<B>>,
}

/// The PatchGAN discriminator: one logit per overlapping 70x70 patch.
#[derive(Module, Debug)]
pub struct PatchGan<B: Backend> {
    /// The LeakyReLU layers.
    pub layers: Vec<PatchLayer<B>>,
    /// Final 4x4 conv to one channel (no activation).
    pub output: Conv2d<B>,
}

impl PatchGanConfig {
    /// A tiny discriminator for tests (width 8).
    pub fn tiny() -> Self {
        Self::new().with_width(8)
    }

    /// Builds a discriminator with freshly initialized weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> PatchGan<B> {
        let conv = |cin, cout, stride| {
            Conv2dConfig::new([cin, cout], [4, 4])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let norm = |c| {
            Some(
                InstanceNormConfig::new(c)
                    .with_epsilon(self.norm_epsilon)
                    .with_affine(false)
                    .init(device),
            )
        };
        let w = self.width;
        let mut layers = vec![PatchLayer {
            conv: conv(3, w, 2),
            norm: None,
        }];
        let mut mult = 1;
        for n in 1..=self.n_layers {
            let prev = mult;
            mult = (1 << n).min(8);
            let stride = if n == self.n_layers { 1 } else { 2 };
            layers.push(PatchLayer {
                conv: conv(w * prev, w * mult, stride),
                norm: norm(w * mult),
            });
        }
        PatchGan {
            layers,
            output: conv(w * mult, 1, 1),
        }
    }
}

impl<B: Backend> PatchGan<B> {
    /// Logits for an NCHW batch in [-1, 1].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut y = x;
        for layer in &self.layers {
            y = layer.conv.forward(y);
            if let Some(norm) = &layer.norm {
                y = norm.forward(y);
            }
            y = leaky_relu(y, 0.2);
        }
        self.output.forward(y)
    }
}
