//! The generator's activation switch: ReLU (CartoonGAN) or LeakyReLU (improved CartoonGAN).

use burn::tensor::{Tensor, activation, backend::Backend};
use serde::{Deserialize, Serialize};

/// Activation used after each normalization in the generator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Activation {
    /// `max(x, 0)`, as in the published CartoonGAN.
    Relu,
    /// `max(x, slope * x)`; the improved CartoonGAN's choice.
    LeakyRelu {
        /// Negative slope; [`DEFAULT_LEAKY_SLOPE`] when a config leaves it out, so
        /// `activation.kind = "leaky_relu"` alone switches it on.
        #[serde(default = "default_leaky_slope")]
        slope: f64,
    },
}

/// Negative slope of the LeakyReLU when a config names the kind without a slope.
pub const DEFAULT_LEAKY_SLOPE: f64 = 0.2;

fn default_leaky_slope() -> f64 {
    DEFAULT_LEAKY_SLOPE
}

impl Activation {
    /// Applies the activation.
    pub fn forward<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match *self {
            Activation::Relu => activation::relu(x),
            Activation::LeakyRelu { slope } => activation::leaky_relu(x, slope),
        }
    }
}
