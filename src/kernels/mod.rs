//! The floor of the CPU stack: pure slice kernels on `f32` planes, importing nothing else
//! of the crate. The inference engine ([`crate::engine`]) and the training backend
//! ([`crate::backend::FastCpu`]) are both built on them; neither imports the other.
//!
//! - `gemm`: the one entry to the `gemm` crate, with strided matrix views;
//! - [`winograd`]: 3x3 stride-1 convolutions by Winograd F(4x4,3x3), forward, data and
//!   weight gradients (the engine's and FastCpu's wide 3x3 layers);
//! - [`conv`]: im2col + GEMM convolutions with zero padding and both gradients (FastCpu's
//!   other convolutions and its transposed convolutions);
//! - [`Im2colConv`], [`TapConv`], [`ConvTranspose`]: the engine's reflect- or
//!   zero-padded strided, narrow and transposed convolutions;
//! - `strided`: element-wise loops over strided and broadcast views;
//! - [`Pad`] (padding geometry) and [`CHUNK_BYTES`] (the chunk-size policy all of them share).

mod chunk;
// `conv` and `winograd` stay public as namespaces: their free functions are named by the
// algorithm (`conv::forward`, `conv::data_grad`, `winograd::weight_grad`).
pub mod conv;
mod conv_transpose;
pub(crate) mod gemm;
mod im2col_conv;
mod padding;
pub(crate) mod strided;
mod tap_conv;
pub mod winograd;

pub use chunk::CHUNK_BYTES;
pub use conv::ConvGeom;
pub use conv_transpose::ConvTranspose;
pub use im2col_conv::Im2colConv;
pub use padding::Pad;
pub use tap_conv::TapConv;
pub use winograd::WinogradConv;
