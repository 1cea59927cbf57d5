//! Where the generator pads with reflection and where with zeros.

use burn::tensor::{Tensor, backend::Backend, ops::PadMode};
use serde::{Deserialize, Serialize};

pub use crate::kernels::Pad;

/// Padding scheme of the generator's convolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingScheme {
    /// The published PyTorch port: reflection before the 7x7 convs and inside residual
    /// blocks, zeros elsewhere. Required to reproduce the published weights' output.
    Published,
    /// Reflection before every convolution (the TensorFlow port's choice).
    ReflectEverywhere,
}

impl PaddingScheme {
    /// Padding for a convolution the published port pads with zeros.
    pub fn zero_site(&self, width: usize) -> Pad {
        match self {
            PaddingScheme::Published => Pad::Zeros(width),
            PaddingScheme::ReflectEverywhere => Pad::Reflect(width),
        }
    }
}

/// Pads an NCHW tensor on its two spatial dimensions as `pad` says.
pub fn pad_tensor<B: Backend>(x: Tensor<B, 4>, pad: Pad) -> Tensor<B, 4> {
    match pad {
        Pad::Zeros(0) | Pad::Reflect(0) => x,
        // What `pad(.., PadMode::Constant(0.0))` computes, but from a zeros tensor: burn
        // builds the constant-filled one as host data on the calling thread.
        Pad::Zeros(p) => {
            let [n, c, h, w] = x.dims();
            Tensor::zeros([n, c, h + 2 * p, w + 2 * p], &x.device())
                .slice_assign([0..n, 0..c, p..p + h, p..p + w], x)
        }
        Pad::Reflect(p) => x.pad([(p, p), (p, p)], PadMode::Reflect),
    }
}
