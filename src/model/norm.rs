//! Normalization switch: batch norm (CartoonGAN as trained in the paper) or instance norm
//! (the published weights, CycleGAN, and the improved CartoonGAN).

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, InstanceNorm, InstanceNormConfig};
use burn::tensor::{Tensor, backend::Backend};
use serde::{Deserialize, Serialize};

/// Which normalization a network uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    /// Batch normalization (running statistics used at inference).
    Batch,
    /// Instance normalization with affine parameters and biased variance.
    Instance,
}

/// A normalization layer of either kind.
#[derive(Module, Debug)]
pub enum Norm<B: Backend> {
    /// Batch normalization.
    Batch(BatchNorm<B>),
    /// Instance normalization.
    Instance(InstanceNorm<B>),
}

impl NormKind {
    /// Builds a layer over `channels` channels with the given epsilon.
    pub fn init<B: Backend>(&self, channels: usize, epsilon: f64, device: &B::Device) -> Norm<B> {
        match self {
            NormKind::Batch => Norm::Batch(
                BatchNormConfig::new(channels)
                    .with_epsilon(epsilon)
                    .init(device),
            ),
            NormKind::Instance => Norm::Instance(
                InstanceNormConfig::new(channels)
                    .with_epsilon(epsilon)
                    .with_affine(true)
                    .init(device),
            ),
        }
    }
}

impl<B: Backend> Norm<B> {
    /// Normalizes an NCHW tensor.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            Norm::Batch(n) => n.forward(x),
            Norm::Instance(n) => n.forward(x),
        }
    }
}
