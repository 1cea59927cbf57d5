//! 2-D convolution as im2col + GEMM, with both gradients: what the training backend
//! ([`crate::backend::FastCpu`]) runs for every convolution and transposed convolution.
//!
//! Layout NCHW, f32, zero padding, any stride and padding, dilation 1, groups 1; the weight is
//! the K×(C·kh·kw) matrix that burn/PyTorch's `[K][C][kh][kw]` already is. Per image, and per
//! chunk of output rows (so the unrolled patch matrix `col`, (C·kh·kw)×pixels, stays near
//! [`CHUNK_BYTES`](super::CHUNK_BYTES)):
//! - forward: `out = W · col(x)`;
//! - data gradient: `dcol = Wᵀ · grad`, then col2im adds each patch entry back to the input
//!   pixel it was read from;
//! - weight gradient: `dW += grad · col(x)ᵀ`, one GEMM with the pixels as the long inner
//!   dimension (burn's default computes it as a convolution with a pixels-sized kernel, a
//!   skinny product that was most of the training step).
//!
//! A transposed convolution is the data gradient of the convolution it transposes, so
//! [`crate::backend::FastCpu`] runs it and its gradients with these same three functions.
//! 1x1 stride-1 unpadded convolutions skip im2col: the input planes already are `col`.

use std::cell::RefCell;

use rayon::prelude::*;

use super::gemm::{Mat, MatMut, gemm, threads};

/// Shape of one convolution: input planes, kernel, stride, padding and the output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical stride.
    pub sh: usize,
    /// Horizontal stride.
    pub sw: usize,
    /// Zero rows added above and below.
    pub ph: usize,
    /// Zero columns added left and right.
    pub pw: usize,
    /// Output height.
    pub ho: usize,
    /// Output width.
    pub wo: usize,
}

impl ConvGeom {
    /// The geometry of a convolution of `c`×`h`×`w` inputs; `None` if the kernel does not
    /// fit the padded input.
    pub fn new(
        [c, h, w]: [usize; 3],
        [kh, kw]: [usize; 2],
        [sh, sw]: [usize; 2],
        [ph, pw]: [usize; 2],
    ) -> Option<Self> {
        if h + 2 * ph < kh || w + 2 * pw < kw || sh == 0 || sw == 0 {
            return None;
        }
        Some(Self {
            c,
            h,
            w,
            kh,
            kw,
            sh,
            sw,
            ph,
            pw,
            ho: (h + 2 * ph - kh) / sh + 1,
            wo: (w + 2 * pw - kw) / sw + 1,
        })
    }

    /// Rows of the weight matrix's transpose: C·kh·kw.
    pub fn depth(&self) -> usize {
        self.c * self.kh * self.kw
    }

    fn pointwise(&self) -> bool {
        (self.kh, self.kw, self.sh, self.sw, self.ph, self.pw) == (1, 1, 1, 1, 0, 0)
    }

    fn rows_per_chunk(&self, chunk_bytes: usize) -> usize {
        (chunk_bytes / (4 * self.depth() * self.wo).max(1)).clamp(1, self.ho.max(1))
    }

    /// Output columns `lo..hi` whose input column `ox·sw + kx - pw` lies inside the row.
    fn valid_cols(&self, kx: usize) -> (usize, usize) {
        let lo = self.pw.saturating_sub(kx).div_ceil(self.sw);
        let hi = if self.w + self.pw > kx {
            ((self.w - 1 + self.pw - kx) / self.sw + 1).min(self.wo)
        } else {
            0
        };
        (lo.min(hi), hi)
    }

    /// Input row read by output row `oy` under kernel row `ky`, if inside the image.
    fn src_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.sh + ky)
            .checked_sub(self.ph)
            .filter(|&y| y < self.h)
    }
}

thread_local! {
    /// The patch matrix, reused between calls (it is the largest temporary).
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a scratch buffer of at least `n` elements (stale contents): the thread's
/// reused buffer, or a fresh one if a convolution on this thread already holds it.
fn with_scratch<R>(n: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => {
            if s.len() < n {
                s.resize(n, 0.0);
            }
            f(&mut s[..n])
        }
        Err(_) => f(&mut vec![0.0; n]),
    })
}

/// Unrolls output rows `oy0..oy0 + rows` of the patches of `x` (one image, C×h×w) into
/// `col` ((C·kh·kw) × (rows·wo)).
fn im2col(x: &[f32], g: &ConvGeom, oy0: usize, rows: usize, col: &mut [f32]) {
    let (taps, n) = (g.kh * g.kw, rows * g.wo);
    col.par_chunks_mut(taps * n)
        .enumerate()
        .for_each(|(ci, block)| {
            let plane = &x[ci * g.h * g.w..][..g.h * g.w];
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    let (lo, hi) = g.valid_cols(kx);
                    let dst = &mut block[(ky * g.kw + kx) * n..][..n];
                    for (r, d) in dst.chunks_exact_mut(g.wo).enumerate() {
                        let Some(sy) = g.src_row(oy0 + r, ky) else {
                            d.fill(0.0);
                            continue;
                        };
                        let row = &plane[sy * g.w..][..g.w];
                        d[..lo].fill(0.0);
                        d[hi..].fill(0.0);
                        let s0 = lo * g.sw + kx - g.pw;
                        if g.sw == 1 {
                            d[lo..hi].copy_from_slice(&row[s0..s0 + hi - lo]);
                        } else {
                            for (v, s) in d[lo..hi].iter_mut().zip(row[s0..].iter().step_by(g.sw)) {
                                *v = *s;
                            }
                        }
                    }
                }
            }
        });
}

/// Adds the patch-matrix gradient `col` of output rows `oy0..oy0 + rows` back onto the
/// input pixels it was read from (`dx`, one image, C×h×w).
fn col2im(col: &[f32], g: &ConvGeom, oy0: usize, rows: usize, dx: &mut [f32]) {
    let (taps, n) = (g.kh * g.kw, rows * g.wo);
    dx.par_chunks_mut(g.h * g.w)
        .enumerate()
        .for_each(|(ci, plane)| {
            let block = &col[ci * taps * n..][..taps * n];
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    let (lo, hi) = g.valid_cols(kx);
                    let src = &block[(ky * g.kw + kx) * n..][..n];
                    for (r, s) in src.chunks_exact(g.wo).enumerate() {
                        let Some(sy) = g.src_row(oy0 + r, ky) else {
                            continue;
                        };
                        let row = &mut plane[sy * g.w..][..g.w];
                        let s0 = lo * g.sw + kx - g.pw;
                        if g.sw == 1 {
                            for (d, v) in row[s0..s0 + hi - lo].iter_mut().zip(&s[lo..hi]) {
                                *d += v;
                            }
                        } else {
                            for (d, v) in row[s0..].iter_mut().step_by(g.sw).zip(&s[lo..hi]) {
                                *d += v;
                            }
                        }
                    }
                }
            }
        });
}

/// `out` (N×K×ho×wo) = the convolution of `x` (N×C×h×w) with `weight` (K×C×kh×kw), plus
/// `bias` (K) if given.
pub fn forward(
    x: &[f32],
    g: &ConvGeom,
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    chunk_bytes: usize,
) {
    let (depth, npix) = (g.depth(), g.ho * g.wo);
    let k = weight.len() / depth.max(1);
    let (in_len, out_len) = (g.c * g.h * g.w, k * npix);
    assert_eq!(weight.len(), k * depth, "conv weight size");
    assert_eq!(
        x.len() / in_len.max(1) * out_len,
        out.len(),
        "conv output size"
    );
    for (xb, ob) in x.chunks_exact(in_len).zip(out.chunks_exact_mut(out_len)) {
        if g.pointwise() {
            // SAFETY: weight K×C, xb C×npix, ob K×npix, all dense.
            unsafe {
                gemm(
                    k,
                    npix,
                    depth,
                    MatMut::rows(ob.as_mut_ptr(), npix),
                    Mat::rows(weight.as_ptr(), depth),
                    Mat::rows(xb.as_ptr(), npix),
                    false,
                    threads(),
                );
            }
        } else {
            let rows_per_chunk = g.rows_per_chunk(chunk_bytes);
            with_scratch(depth * rows_per_chunk * g.wo, |scratch| {
                let mut oy0 = 0;
                while oy0 < g.ho {
                    let rows = rows_per_chunk.min(g.ho - oy0);
                    let n = rows * g.wo;
                    let col = &mut scratch[..depth * n];
                    im2col(xb, g, oy0, rows, col);
                    // SAFETY: weight K×depth and col depth×n dense; the output rows of the
                    // chunk form a K×n matrix at row stride npix inside `ob`.
                    unsafe {
                        gemm(
                            k,
                            n,
                            depth,
                            MatMut::rows(ob.as_mut_ptr().add(oy0 * g.wo), npix),
                            Mat::rows(weight.as_ptr(), depth),
                            Mat::rows(col.as_ptr(), n),
                            false,
                            threads(),
                        );
                    }
                    oy0 += rows;
                }
            });
        }
        if let Some(bias) = bias {
            add_bias(ob, bias);
        }
    }
}

/// Adds `bias[k]` to every element of plane k of one image.
pub fn add_bias(planes: &mut [f32], bias: &[f32]) {
    let plane = planes.len() / bias.len().max(1);
    planes
        .par_chunks_mut(plane.max(1))
        .zip(bias)
        .for_each(|(p, &b)| p.iter_mut().for_each(|v| *v += b));
}

/// `dx` (N×C×h×w) = the gradient of the convolution's input given the gradient of its
/// output `grad` (N×K×ho×wo). Every element of `dx` is written.
pub fn data_grad(grad: &[f32], g: &ConvGeom, weight: &[f32], dx: &mut [f32], chunk_bytes: usize) {
    let (depth, npix) = (g.depth(), g.ho * g.wo);
    let k = weight.len() / depth.max(1);
    let (in_len, out_len) = (g.c * g.h * g.w, k * npix);
    assert_eq!(weight.len(), k * depth, "conv weight size");
    assert_eq!(
        grad.len() / out_len.max(1) * in_len,
        dx.len(),
        "conv input size"
    );
    for (gb, db) in grad.chunks_exact(out_len).zip(dx.chunks_exact_mut(in_len)) {
        if g.pointwise() {
            // SAFETY: weightᵀ C×K (the K×C weight read transposed), gb K×npix, db C×npix.
            unsafe {
                gemm(
                    depth,
                    npix,
                    k,
                    MatMut::rows(db.as_mut_ptr(), npix),
                    Mat::rows(weight.as_ptr(), depth).t(),
                    Mat::rows(gb.as_ptr(), npix),
                    false,
                    threads(),
                );
            }
            continue;
        }
        db.fill(0.0);
        let rows_per_chunk = g.rows_per_chunk(chunk_bytes);
        with_scratch(depth * rows_per_chunk * g.wo, |scratch| {
            let mut oy0 = 0;
            while oy0 < g.ho {
                let rows = rows_per_chunk.min(g.ho - oy0);
                let n = rows * g.wo;
                let col = &mut scratch[..depth * n];
                // SAFETY: weightᵀ depth×K, the chunk's gradient rows K×n at row stride
                // npix, col depth×n dense.
                unsafe {
                    gemm(
                        depth,
                        n,
                        k,
                        MatMut::rows(col.as_mut_ptr(), n),
                        Mat::rows(weight.as_ptr(), depth).t(),
                        Mat::rows(gb.as_ptr().add(oy0 * g.wo), npix),
                        false,
                        threads(),
                    );
                }
                col2im(col, g, oy0, rows, db);
                oy0 += rows;
            }
        });
    }
}

/// `dw` (K×C×kh×kw) = the gradient of the convolution's weight, summed over the batch,
/// given its input `x` (N×C×h×w) and output gradient `grad` (N×K×ho×wo).
pub fn weight_grad(x: &[f32], grad: &[f32], g: &ConvGeom, dw: &mut [f32], chunk_bytes: usize) {
    let (depth, npix) = (g.depth(), g.ho * g.wo);
    let k = dw.len() / depth.max(1);
    let (in_len, out_len) = (g.c * g.h * g.w, k * npix);
    assert_eq!(dw.len(), k * depth, "conv weight size");
    assert_eq!(
        x.len() / in_len.max(1),
        grad.len() / out_len.max(1),
        "conv batch"
    );
    dw.fill(0.0);
    for (xb, gb) in x.chunks_exact(in_len).zip(grad.chunks_exact(out_len)) {
        if g.pointwise() {
            // SAFETY: gb K×npix, xbᵀ npix×C (the C×npix planes read transposed), dw K×C.
            unsafe {
                gemm(
                    k,
                    depth,
                    npix,
                    MatMut::rows(dw.as_mut_ptr(), depth),
                    Mat::rows(gb.as_ptr(), npix),
                    Mat::rows(xb.as_ptr(), npix).t(),
                    true,
                    threads(),
                );
            }
            continue;
        }
        let rows_per_chunk = g.rows_per_chunk(chunk_bytes);
        with_scratch(depth * rows_per_chunk * g.wo, |scratch| {
            let mut oy0 = 0;
            while oy0 < g.ho {
                let rows = rows_per_chunk.min(g.ho - oy0);
                let n = rows * g.wo;
                let col = &mut scratch[..depth * n];
                im2col(xb, g, oy0, rows, col);
                // SAFETY: the chunk's gradient rows K×n at row stride npix, colᵀ n×depth,
                // dw K×depth dense.
                unsafe {
                    gemm(
                        k,
                        depth,
                        n,
                        MatMut::rows(dw.as_mut_ptr(), depth),
                        Mat::rows(gb.as_ptr().add(oy0 * g.wo), npix),
                        Mat::rows(col.as_ptr(), n).t(),
                        true,
                        threads(),
                    );
                }
                oy0 += rows;
            }
        });
    }
}

/// `db[k]` = the sum of plane k of `grad` (N×K×plane) over the batch and the plane.
pub fn bias_grad(grad: &[f32], k: usize, plane: usize) -> Vec<f32> {
    let mut db = vec![0.0f32; k];
    if plane == 0 || k == 0 {
        return db;
    }
    db.par_iter_mut().enumerate().for_each(|(ko, d)| {
        // f64 accumulation: a plane holds up to millions of values.
        let mut s = 0.0f64;
        for img in grad.chunks_exact(k * plane) {
            s += img[ko * plane..][..plane]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>();
        }
        *d = s as f32;
    });
    db
}
