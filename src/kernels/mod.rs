//! CPU kernels shared by the inference engine ([`crate::engine`]) and the training backend
//! ([`crate::backend::FastCpu`]): the GEMM entry point and im2col/col2im convolutions.

pub mod conv;
pub(crate) mod gemm;
