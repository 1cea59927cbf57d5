//! Convolution by im2col + GEMM, for the layers Winograd F(4x4,3x3) does not cover: the 7x7
//! input convolution and the stride-2 3x3 down-sampling convolutions.
//!
//! For a chunk of output rows the input patches are unrolled into a (C·kh·kw)×pixels matrix
//! and multiplied by the K×(C·kh·kw) weight matrix; chunks keep the unrolled matrix near
//! [`CHUNK_BYTES`] however large the image.

use rayon::prelude::*;

use super::gemm::{Mat, MatMut, gemm};

use super::gemm::threads;
use super::padding::Pad;

use super::chunk::CHUNK_BYTES;

/// A square convolution with any stride, run as im2col + GEMM.
#[derive(Debug, Clone)]
pub struct Im2colConv {
    /// Output channels.
    pub k: usize,
    /// Input channels.
    pub c: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// `[k][c·kernel·kernel]`, the burn/PyTorch layout flattened.
    weight: Vec<f32>,
    bias: Vec<f32>,
    chunk_bytes: usize,
}

impl Im2colConv {
    /// Wraps weights `[k][c][kernel][kernel]` and the bias.
    pub fn new(
        weight: &[f32],
        bias: &[f32],
        k: usize,
        c: usize,
        kernel: usize,
        stride: usize,
    ) -> Self {
        assert_eq!(weight.len(), k * c * kernel * kernel, "conv weight size");
        assert_eq!(bias.len(), k, "bias size");
        Self {
            k,
            c,
            kernel,
            stride,
            weight: weight.to_vec(),
            bias: bias.to_vec(),
            chunk_bytes: CHUNK_BYTES,
        }
    }

    /// Output height or width for an input side `n` padded by `pad`.
    pub fn out_size(&self, n: usize, pad: Pad) -> usize {
        (n + 2 * pad.width() - self.kernel) / self.stride + 1
    }

    /// Convolves `input` (`c`×`h`×`w`) into `out` (`k`×ho×wo, see [`Self::out_size`]).
    /// `scratch` is grown as needed and may be reused between calls.
    pub fn forward(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        pad: Pad,
        out: &mut [f32],
        scratch: &mut Vec<f32>,
    ) {
        let (k, c, ks, s) = (self.k, self.c, self.kernel, self.stride);
        let (ho, wo) = (self.out_size(h, pad), self.out_size(w, pad));
        let p = pad.width() as isize;
        assert_eq!(input.len(), c * h * w, "conv input size");
        assert_eq!(out.len(), k * ho * wo, "conv output size");
        let depth = c * ks * ks;
        let rows_per_chunk = (self.chunk_bytes / (4 * depth * wo)).clamp(1, ho);
        let need = depth * rows_per_chunk * wo;
        if scratch.len() < need {
            scratch.resize(need, 0.0);
        }
        // Source column of output column ox under kernel column kx.
        let cols: Vec<Vec<Option<usize>>> = (0..ks)
            .map(|kx| {
                (0..wo)
                    .map(|ox| pad.source_index((ox * s + kx) as isize - p, w))
                    .collect()
            })
            .collect();
        let mut oy0 = 0;
        while oy0 < ho {
            let rows = rows_per_chunk.min(ho - oy0);
            let n = rows * wo;
            let col = &mut scratch[..depth * n];
            col.par_chunks_mut(ks * ks * n)
                .enumerate()
                .for_each(|(ci, block)| {
                    let plane = &input[ci * h * w..][..h * w];
                    for ky in 0..ks {
                        for (kx, colmap) in cols.iter().enumerate() {
                            let dst = &mut block[(ky * ks + kx) * n..][..n];
                            for r in 0..rows {
                                let sy = pad.source_index(((oy0 + r) * s + ky) as isize - p, h);
                                let d = &mut dst[r * wo..][..wo];
                                match sy {
                                    None => d.fill(0.0),
                                    Some(y) => {
                                        let row = &plane[y * w..][..w];
                                        for (v, sx) in d.iter_mut().zip(colmap) {
                                            *v = sx.map_or(0.0, |x| row[x]);
                                        }
                                    }
                                }
                            }
                        }
                    }
                });
            // SAFETY: `out` holds k planes of ho·wo; rows oy0..oy0+rows of each are written,
            // at row stride ho·wo; `col` is depth×n and the weight k×depth, both dense.
            unsafe {
                gemm(
                    k,
                    n,
                    depth,
                    MatMut::rows(out.as_mut_ptr().add(oy0 * wo), ho * wo),
                    Mat::rows(self.weight.as_ptr(), depth),
                    Mat::rows(col.as_ptr(), n),
                    false,
                    threads(),
                );
            }
            oy0 += rows;
        }
        out.par_chunks_mut(ho * wo)
            .zip(&self.bias)
            .for_each(|(plane, &b)| plane.iter_mut().for_each(|v| *v += b));
    }
}

impl Im2colConv {
    /// Sets the size the chunked temporaries aim at (default [`CHUNK_BYTES`]); small values
    /// force many chunks, which tests use to check chunk boundaries.
    pub fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes;
        self
    }
}
