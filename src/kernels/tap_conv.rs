//! Stride-1 convolution with few output channels (the generator's 7x7 conv to 3 channels),
//! as one GEMM per chunk followed by shifted adds.
//!
//! im2col + GEMM is slow here: a 3-row result matrix wastes almost all of a SIMD
//! microkernel. Instead `Y[tap·K + k][pixel] = Σ_c W[k][c][tap] · X[c][pixel]` is one
//! well-shaped GEMM (kh·kw·K rows), and the output is `Σ_tap Y[tap, k]` read at the shifted
//! (padded) position. Because Y is computed per pixel, reflection padding of X becomes
//! reflection of the read position in Y.

use rayon::prelude::*;

use super::gemm::{Mat, MatMut, gemm};

use super::gemm::threads;
use super::padding::Pad;

use super::chunk::CHUNK_BYTES;

/// A stride-1 square convolution computed tap by tap.
#[derive(Debug, Clone)]
pub struct TapConv {
    /// Output channels.
    pub k: usize,
    /// Input channels.
    pub c: usize,
    /// Kernel side.
    pub kernel: usize,
    /// `[tap][k][c]`.
    weight: Vec<f32>,
    bias: Vec<f32>,
    chunk_bytes: usize,
}

impl TapConv {
    /// Rearranges weights `[k][c][kernel][kernel]` (burn/PyTorch layout) and keeps the bias.
    pub fn new(weight: &[f32], bias: &[f32], k: usize, c: usize, kernel: usize) -> Self {
        let taps = kernel * kernel;
        assert_eq!(weight.len(), k * c * taps, "conv weight size");
        assert_eq!(bias.len(), k, "bias size");
        let mut w = vec![0.0f32; taps * k * c];
        for ko in 0..k {
            for ci in 0..c {
                for tap in 0..taps {
                    w[(tap * k + ko) * c + ci] = weight[(ko * c + ci) * taps + tap];
                }
            }
        }
        Self {
            k,
            c,
            kernel,
            weight: w,
            bias: bias.to_vec(),
            chunk_bytes: CHUNK_BYTES,
        }
    }

    /// Convolves `input` (`c`×`h`×`w`, padded by `pad` of width (kernel-1)/2) into `out`
    /// (`k`×`h`×`w`). `scratch` is grown as needed and may be reused between calls.
    pub fn forward(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        pad: Pad,
        out: &mut [f32],
        scratch: &mut Vec<f32>,
    ) {
        let (k, c, ks) = (self.k, self.c, self.kernel);
        let taps = ks * ks;
        let p = pad.width();
        assert_eq!(2 * p + 1, ks, "tap conv keeps the size: pad (kernel-1)/2");
        assert_eq!(input.len(), c * h * w, "conv input size");
        assert_eq!(out.len(), k * h * w, "conv output size");
        let rows_per_chunk = (self.chunk_bytes / (4 * taps * k * w))
            .saturating_sub(2 * p)
            .clamp(1, h);
        let max_src = (rows_per_chunk + 2 * p).min(h);
        if scratch.len() < taps * k * max_src * w {
            scratch.resize(taps * k * max_src * w, 0.0);
        }
        // For output column x and kernel column kx: the source column, if any.
        let cols: Vec<Vec<Option<usize>>> = (0..ks)
            .map(|kx| {
                (0..w)
                    .map(|x| pad.source_index((x + kx) as isize - p as isize, w))
                    .collect()
            })
            .collect();
        let mut y0 = 0;
        while y0 < h {
            let y1 = (y0 + rows_per_chunk).min(h);
            // Every padded row these outputs read lies in src0..src1.
            let (src0, src1) = (y0.saturating_sub(p), (y1 + p).min(h));
            let n = (src1 - src0) * w;
            let y = &mut scratch[..taps * k * n];
            // SAFETY: the weight is (taps·k)×c dense, the input rows src0..src1 of each
            // channel plane form a c×n matrix at row stride h·w, `y` is (taps·k)×n dense.
            unsafe {
                gemm(
                    taps * k,
                    n,
                    c,
                    MatMut::rows(y.as_mut_ptr(), n),
                    Mat::rows(self.weight.as_ptr(), c),
                    Mat::rows(input.as_ptr().add(src0 * w), h * w),
                    false,
                    threads(),
                );
            }
            let y = &*y;
            out.par_chunks_mut(h * w)
                .enumerate()
                .for_each(|(ko, plane)| {
                    for oy in y0..y1 {
                        let line = &mut plane[oy * w..][..w];
                        line.fill(self.bias[ko]);
                        for ky in 0..ks {
                            let Some(sy) = pad.source_index((oy + ky) as isize - p as isize, h)
                            else {
                                continue;
                            };
                            for (kx, colmap) in cols.iter().enumerate() {
                                let tap = ky * ks + kx;
                                let yrow = &y[(tap * k + ko) * n + (sy - src0) * w..][..w];
                                add_shifted(line, yrow, colmap, kx, p);
                            }
                        }
                    }
                });
            y0 = y1;
        }
    }
}

/// `line[x] += src[col(x)]` where `col(x) = x + kx - p` inside the row (a plain shifted
/// slice add, which vectorizes) and `colmap[x]` at the padded edges.
#[inline]
fn add_shifted(line: &mut [f32], src: &[f32], colmap: &[Option<usize>], kx: usize, p: usize) {
    let w = line.len();
    // Interior: x + kx - p in 0..w  <=>  x in lo..hi.
    let lo = p.saturating_sub(kx).min(w);
    let hi = (w + p).saturating_sub(kx).min(w).max(lo);
    let shift = kx as isize - p as isize;
    let s0 = (lo as isize + shift) as usize;
    for (d, s) in line[lo..hi].iter_mut().zip(&src[s0..s0 + (hi - lo)]) {
        *d += s;
    }
    for x in (0..lo).chain(hi..w) {
        if let Some(sx) = colmap[x] {
            line[x] += src[sx];
        }
    }
}

impl TapConv {
    /// Sets the size the chunked temporaries aim at (default [`CHUNK_BYTES`]); small values
    /// force many chunks, which tests use to check chunk boundaries.
    pub fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes;
        self
    }
}
