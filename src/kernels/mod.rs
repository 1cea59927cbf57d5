//! CPU kernels shared by the inference engine ([`crate::engine`]) and the training backend
//! ([`crate::backend::FastCpu`]): the GEMM entry point, im2col/col2im convolutions and strided element-wise loops.

pub mod conv;
pub(crate) mod gemm;
pub mod strided;
