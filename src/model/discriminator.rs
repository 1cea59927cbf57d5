//! The CartoonGAN patch discriminator (Chen et al., CVPR 2018): seven 3x3 convs, two of them
//! stride 2, LeakyReLU 0.2, one logit per patch.
//!
//! Layer for layer the discriminator of the common PyTorch re-implementation
//! (znxlwm/pytorch-CartoonGAN, `networks.py`, class `discriminator`): normalization sits
//! after the 2nd stride-1 conv (`2w→4w`), the 3rd (`4w→8w`) and the 4th (`8w→8w`); the
//! first conv and the two stride-2 convs have none. Its final sigmoid is left out: the
//! losses take logits (`BCEWithLogits`), which is the same objective, computed stably.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Tensor, activation::leaky_relu, backend::Backend};

use super::{Norm, NormKind};

/// Hyperparameters of the discriminator. The defaults are the paper's layout.
#[derive(Config, Debug, PartialEq)]
pub struct DiscriminatorConfig {
    /// Normalization after the three normalized convs (the paper: batch norm).
    #[config(default = "NormKind::Batch")]
    pub norm: NormKind,
    /// Channels of the first conv; later convs use 2x, 4x and 8x this (paper: 32).
    #[config(default = 32)]
    pub width: usize,
    /// Negative slope of the LeakyReLUs.
    #[config(default = 0.2)]
    pub slope: f64,
    /// Normalization epsilon (PyTorch's default).
    #[config(default = 1e-5)]
    pub norm_epsilon: f64,
}

/// One 3x3 conv (zero padding 1), optionally normalized, followed by LeakyReLU.
#[derive(Module, Debug)]
pub struct DiscriminatorLayer<B: Backend> {
    /// The convolution.
    pub conv: Conv2d<B>,
    /// Normalization after the conv, where the reference has one.
    pub norm: Option<Norm<B>>,
}

/// The patch discriminator: an NCHW image batch in [-1, 1] to logits at 1/4 resolution.
#[derive(Module, Debug)]
pub struct Discriminator<B: Backend> {
    /// The six conv + (norm) + LeakyReLU layers.
    pub layers: Vec<DiscriminatorLayer<B>>,
    /// Final 3x3 conv to one logit channel.
    pub output_conv: Conv2d<B>,
    /// LeakyReLU slope.
    pub slope: f64,
}

fn conv3<B: Backend>(cin: usize, cout: usize, stride: usize, device: &B::Device) -> Conv2d<B> {
    Conv2dConfig::new([cin, cout], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

impl DiscriminatorConfig {
    /// A narrow discriminator for tests (width 8).
    pub fn tiny() -> Self {
        Self::new().with_width(8)
    }

    /// Builds a discriminator with freshly initialized weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Discriminator<B> {
        let w = self.width;
        // (in, out, stride, normalized), as in the reference.
        let plan = [
            (3, w, 1, false),
            (w, 2 * w, 2, false),
            (2 * w, 4 * w, 1, true),
            (4 * w, 4 * w, 2, false),
            (4 * w, 8 * w, 1, true),
            (8 * w, 8 * w, 1, true),
        ];
        let layers = plan
            .into_iter()
            .map(|(cin, cout, stride, normed)| DiscriminatorLayer {
                conv: conv3(cin, cout, stride, device),
                norm: normed.then(|| self.norm.init(cout, self.norm_epsilon, device)),
            })
            .collect();
        Discriminator {
            layers,
            output_conv: conv3(8 * w, 1, 1, device),
            slope: self.slope,
        }
    }
}

impl<B: Backend> Discriminator<B> {
    /// Logits (one channel, H/4 x W/4) saying how much each patch looks like a cartoon.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut y = x;
        for layer in &self.layers {
            y = layer.conv.forward(y);
            if let Some(norm) = &layer.norm {
                y = norm.forward(y);
            }
            y = leaky_relu(y, self.slope);
        }
        self.output_conv.forward(y)
    }
}
