//! The one chunk-size policy of the kernels: every large temporary (im2col patch matrices,
//! Winograd transform-domain tiles, tap and col2im buffers) is built a chunk of rows at a
//! time, each chunk near [`CHUNK_BYTES`], so memory stays bounded whatever the image size.
//! Kernels that take a `chunk_bytes` argument or a `with_chunk_bytes` setting default to it;
//! tests pass small values to cross chunk boundaries.

/// Target size in bytes of one chunk of a kernel's temporary buffer.
pub const CHUNK_BYTES: usize = 32 << 20;
