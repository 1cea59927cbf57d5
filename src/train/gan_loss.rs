//! The adversarial objective on discriminator logits: BCE with logits (CartoonGAN) or least
//! squares (LSGAN, the improved CartoonGAN and CycleGAN).

use burn::tensor::{Tensor, backend::Backend};
use serde::{Deserialize, Serialize};

/// Which adversarial loss the discriminator and generator minimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GanLossKind {
    /// `BCEWithLogits(logit, target)`, mean over every patch (PyTorch's `BCEWithLogitsLoss`).
    Bce,
    /// `(logit - target)²`, mean over every patch (PyTorch's `MSELoss`, as CycleGAN).
    Lsgan,
}

impl GanLossKind {
    /// Mean loss of all logits against a constant target (1 = "cartoon", 0 = "not").
    pub fn loss<B: Backend>(&self, logits: Tensor<B, 4>, target: f32) -> Tensor<B, 1> {
        match self {
            // max(x, 0) - x·t + log(1 + exp(-|x|)): PyTorch's stable formulation.
            GanLossKind::Bce => {
                let relu = logits.clone().clamp_min(0.0);
                let softplus = logits.clone().abs().neg().exp().log1p();
                (relu - logits * target + softplus).mean()
            }
            GanLossKind::Lsgan => (logits - target).square().mean(),
        }
    }
}
