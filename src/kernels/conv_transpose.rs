//! Transposed convolution (the generator's stride-2 up-sampling) as GEMM + col2im.
//!
//! `Y[tap·K + k][pixel] = Σ_c W[c][k][tap] · X[c][pixel]` is one GEMM over every input
//! pixel; each output is then the sum of the Y entries whose taps land on it
//! (`out[s·iy + ky - p][s·ix + kx - p] += Y[ky, kx, k][iy, ix]`). No multiply is spent on
//! the zeros a zero-insertion formulation would convolve. Input rows are chunked to bound
//! the size of Y.

use rayon::prelude::*;

use super::gemm::{Mat, MatMut, gemm};

use super::gemm::threads;

use super::chunk::CHUNK_BYTES;

/// A square transposed convolution (PyTorch `ConvTranspose2d`, groups 1, dilation 1).
#[derive(Debug, Clone)]
pub struct ConvTranspose {
    /// Input channels.
    pub c: usize,
    /// Output channels.
    pub k: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Padding removed from each side of the full output.
    pub padding: usize,
    /// Extra rows/columns added at the bottom/right of the output.
    pub padding_out: usize,
    /// `[tap][k][c]`.
    weight: Vec<f32>,
    bias: Vec<f32>,
    chunk_bytes: usize,
}

impl ConvTranspose {
    /// Rearranges weights `[c][k][kernel][kernel]` (burn/PyTorch layout) and keeps the bias.
    pub fn new(
        weight: &[f32],
        bias: &[f32],
        [c, k]: [usize; 2],
        kernel: usize,
        stride: usize,
        padding: usize,
        padding_out: usize,
    ) -> Self {
        let taps = kernel * kernel;
        assert_eq!(weight.len(), c * k * taps, "transposed conv weight size");
        assert_eq!(bias.len(), k, "bias size");
        let mut w = vec![0.0f32; taps * k * c];
        for ci in 0..c {
            for ko in 0..k {
                for tap in 0..taps {
                    w[(tap * k + ko) * c + ci] = weight[(ci * k + ko) * taps + tap];
                }
            }
        }
        Self {
            c,
            k,
            kernel,
            stride,
            padding,
            padding_out,
            weight: w,
            bias: bias.to_vec(),
            chunk_bytes: CHUNK_BYTES,
        }
    }

    /// Output height or width for an input side `n`.
    pub fn out_size(&self, n: usize) -> usize {
        (n - 1) * self.stride + self.kernel + self.padding_out - 2 * self.padding
    }

    /// Runs on `input` (`c`×`h`×`w`), writing `out` (`k`×ho×wo, see [`Self::out_size`]).
    /// `scratch` is grown as needed and may be reused between calls.
    pub fn forward(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        out: &mut [f32],
        scratch: &mut Vec<f32>,
    ) {
        let (c, k, ks, s, p) = (self.c, self.k, self.kernel, self.stride, self.padding);
        let taps = ks * ks;
        let (ho, wo) = (self.out_size(h), self.out_size(w));
        assert_eq!(input.len(), c * h * w, "transposed conv input size");
        assert_eq!(out.len(), k * ho * wo, "transposed conv output size");
        let rows_per_chunk = (self.chunk_bytes / (4 * taps * k * w)).clamp(1, h);
        if scratch.len() < taps * k * rows_per_chunk * w {
            scratch.resize(taps * k * rows_per_chunk * w, 0.0);
        }
        out.par_chunks_mut(ho * wo)
            .zip(&self.bias)
            .for_each(|(plane, &b)| plane.fill(b));
        // For kernel column kx: (first input column, first output column, count) of the
        // input columns whose output column s·ix + kx - p lies in 0..wo.
        let spans: Vec<(usize, usize, usize)> = (0..ks)
            .map(|kx| {
                let ix0 = p.saturating_sub(kx).div_ceil(s);
                let ix1 = (0..w)
                    .rev()
                    .find(|&ix| s * ix + kx < wo + p)
                    .map_or(0, |ix| ix + 1)
                    .max(ix0);
                let ox0 = (s * ix0 + kx).saturating_sub(p);
                (ix0, ox0, ix1 - ix0)
            })
            .collect();
        let mut iy0 = 0;
        while iy0 < h {
            let rows = rows_per_chunk.min(h - iy0);
            let n = rows * w;
            let y = &mut scratch[..taps * k * n];
            // SAFETY: weight (taps·k)×c dense; input rows iy0.. of each plane are a c×n
            // matrix at row stride h·w; `y` is (taps·k)×n dense.
            unsafe {
                gemm(
                    taps * k,
                    n,
                    c,
                    MatMut::rows(y.as_mut_ptr(), n),
                    Mat::rows(self.weight.as_ptr(), c),
                    Mat::rows(input.as_ptr().add(iy0 * w), h * w),
                    false,
                    threads(),
                );
            }
            let y = &*y;
            out.par_chunks_mut(ho * wo)
                .enumerate()
                .for_each(|(ko, plane)| {
                    for r in 0..rows {
                        let iy = iy0 + r;
                        for ky in 0..ks {
                            let oy = (s * iy + ky) as isize - p as isize;
                            if oy < 0 || oy >= ho as isize {
                                continue;
                            }
                            let line = &mut plane[oy as usize * wo..][..wo];
                            for (kx, &(ix0, ox0, cnt)) in spans.iter().enumerate() {
                                let src = &y[((ky * ks + kx) * k + ko) * n + r * w + ix0..][..cnt];
                                for (j, v) in src.iter().enumerate() {
                                    line[ox0 + s * j] += v;
                                }
                            }
                        }
                    }
                });
            iy0 += rows;
        }
    }
}

impl ConvTranspose {
    /// Sets the size the chunked temporaries aim at (default [`CHUNK_BYTES`]); small values
    /// force many chunks, which tests use to check chunk boundaries.
    pub fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes;
        self
    }
}
