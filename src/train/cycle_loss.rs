//! CycleGAN's reconstruction losses (Zhu et al., ICCV 2017), as junyanz/pytorch-CycleGAN-and-
//! pix2pix `models/cycle_gan_model.py` `backward_G` computes them: mean absolute errors
//! (`torch.nn.L1Loss`) scaled by their weights.

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// Mean of |a − b| over every element.
fn l1<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 1> {
    (a - b).abs().mean()
}

/// Cycle consistency: `weight`·mean|F(G(x)) − x|, `reconstructed` being F(G(x)) (junyanz
/// `loss_cycle_A` with `weight` = λ_A, `loss_cycle_B` with λ_B).
pub fn cycle_loss<B: Backend>(
    reconstructed: Tensor<B, 4>,
    real: Tensor<B, 4>,
    weight: f64,
) -> Tensor<B, 1> {
    l1(reconstructed, real).mul_scalar(weight)
}

/// Identity: `weight`·mean|G(y) − y| for a generator G fed an image `real` = y of its own
/// output domain, `same` = G(y) (junyanz `loss_idt_A` with `weight` = λ_idt·λ_B, `loss_idt_B`
/// with λ_idt·λ_A).
pub fn identity_loss<B: Backend>(
    same: Tensor<B, 4>,
    real: Tensor<B, 4>,
    weight: f64,
) -> Tensor<B, 1> {
    l1(same, real).mul_scalar(weight)
}
