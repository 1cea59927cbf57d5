//! 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray,
//! "Fast Algorithms for Convolutional Neural Networks", CVPR 2016).
//!
//! Each 4x4 output tile comes from a 6x6 input tile: `Y = Aᵀ [ Σ_c (G g Gᵀ) ⊙ (Bᵀ d B) ] A`.
//! The sum over input channels is, for each of the 36 transform-domain points, one GEMM
//! (K×C weights times C×tiles), so the 3x3 conv costs 36·K·C multiply-adds per 16 output
//! pixels instead of 144·K·C. The transforms run across a whole row of tiles at once so the
//! compiler vectorizes them. Tiles are processed in chunks of tile rows to bound memory.
//!
//! The engine runs the forward pass with padding 1; the training backend
//! ([`crate::backend::FastCpu`]) runs it with zero padding 0–2 for the forward pass and the
//! data gradient, and [`weight_grad`] for the weight gradient.

use rayon::prelude::*;

use super::gemm::{Mat, MatMut, gemm};

use super::gemm::{SendPtr, threads};
use super::padding::Pad;

use super::chunk::CHUNK_BYTES;

/// A 3x3 convolution's weights in the Winograd domain, with its bias.
#[derive(Debug, Clone)]
pub struct WinogradConv {
    /// Output channels.
    pub k: usize,
    /// Input channels.
    pub c: usize,
    /// `U[ξ][k][c]`, ξ = 6·i + j the transform-domain point.
    u: Vec<f32>,
    bias: Vec<f32>,
    chunk_bytes: usize,
}

/// `G`, the 6x3 filter transform of F(4, 3) with interpolation points 0, ±1, ±2, ∞.
const G: [[f64; 3]; 6] = [
    [0.25, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// `G v` for one 3-vector `v` (a filter column or row).
#[inline(always)]
fn g_times(v: [f64; 3]) -> [f64; 6] {
    G.map(|row| row[0] * v[0] + row[1] * v[1] + row[2] * v[2])
}

/// `Bᵀ d` for one column `d` of a 6x6 input tile.
#[inline(always)]
fn bt(d: [f32; 6]) -> [f32; 6] {
    [
        4.0 * d[0] - 5.0 * d[2] + d[4],
        -4.0 * (d[1] + d[2]) + d[3] + d[4],
        4.0 * (d[1] - d[2]) - d[3] + d[4],
        2.0 * (d[3] - d[1]) - d[2] + d[4],
        2.0 * (d[1] - d[3]) - d[2] + d[4],
        4.0 * d[1] - 5.0 * d[3] + d[5],
    ]
}

/// `Aᵀ m` for one column `m` of a 6x6 transform-domain tile.
#[inline(always)]
fn at(m: [f32; 6]) -> [f32; 4] {
    let (s12, d12) = (m[1] + m[2], m[1] - m[2]);
    let (s34, d34) = (m[3] + m[4], m[3] - m[4]);
    [
        m[0] + s12 + s34,
        d12 + 2.0 * d34,
        s12 + 4.0 * s34,
        d12 + 8.0 * d34 + m[5],
    ]
}

/// `A y` for one 4-vector `y` (a column or row of an output-gradient tile): the transpose
/// of [`at`], which carries a 4x4 output tile's gradient back to the 6x6 transform domain.
#[inline(always)]
fn a_times(y: [f32; 4]) -> [f32; 6] {
    let (e, o) = (y[0] + y[2], y[1] + y[3]);
    let (e4, o2) = (y[0] + 4.0 * y[2], 2.0 * y[1] + 8.0 * y[3]);
    [y[0], e + o, e - o, e4 + o2, e4 - o2, y[3]]
}

impl WinogradConv {
    /// Transforms weights `[k][c][3][3]` (burn/PyTorch layout) and keeps the bias.
    pub fn new(weight: &[f32], bias: &[f32], k: usize, c: usize) -> Self {
        assert_eq!(weight.len(), k * c * 9, "3x3 weight size");
        assert_eq!(bias.len(), k, "bias size");
        // Per (ko, ci): t = G g (6x3), then U = t Gᵀ (6x6), in f64. One task per output
        // channel; input channels go in blocks of 16 whose 36 transform-domain values are
        // gathered in a small tile and written to U[ξ][ko][·] a block row at a time. The
        // training backend pays this per call (a 256x256 layer is ~6M flops).
        const BLOCK: usize = 16;
        let mut u = vec![0.0f32; 36 * k * c];
        let up = SendPtr(u.as_mut_ptr());
        weight
            .par_chunks(9 * c.max(1))
            .enumerate()
            .for_each(|(ko, wk)| {
                let mut tile = [[0.0f32; BLOCK]; 36];
                for (b, block) in wk.chunks(9 * BLOCK).enumerate() {
                    let n = block.len() / 9;
                    for (ci, g) in block.chunks_exact(9).enumerate() {
                        let g = |r: usize, j: usize| g[r * 3 + j] as f64;
                        // Columns of t = G g, then the rows of U = t Gᵀ.
                        let cols = [0, 1, 2].map(|j| g_times([g(0, j), g(1, j), g(2, j)]));
                        for i in 0..6 {
                            let row = g_times([cols[0][i], cols[1][i], cols[2][i]]);
                            for (j, v) in row.into_iter().enumerate() {
                                tile[i * 6 + j][ci] = v as f32;
                            }
                        }
                    }
                    for (xi, values) in tile.iter().enumerate() {
                        // SAFETY: row (ξ, ko) of U, c floats inside `u`, is written by
                        // this task only; block b covers its columns b·16..b·16 + n ≤ c.
                        unsafe {
                            std::ptr::copy_nonoverlapping(
                                values.as_ptr(),
                                up.add((xi * k + ko) * c + b * BLOCK),
                                n,
                            );
                        }
                    }
                }
            });
        Self {
            k,
            c,
            u,
            bias: bias.to_vec(),
            chunk_bytes: CHUNK_BYTES,
        }
    }

    /// Convolves `input` (`c`×`h`×`w`, padded as `pad` says) into `out` (`k`×`oh`×`ow`,
    /// where `oh = h + 2·pad − 2`: the same size as the input for the usual padding of 1,
    /// smaller for 0, larger for 2, as a data gradient needs). `scratch` is grown as needed
    /// and may be reused between calls.
    pub fn forward(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        pad: Pad,
        out: &mut [f32],
        scratch: &mut Vec<f32>,
    ) {
        let (k, c) = (self.k, self.c);
        let p = pad.width();
        assert!(
            h + 2 * p >= 3 && w + 2 * p >= 3,
            "winograd input smaller than the kernel"
        );
        let (oh, ow) = (h + 2 * p - 2, w + 2 * p - 2);
        assert_eq!(input.len(), c * h * w, "winograd input size");
        assert_eq!(out.len(), k * oh * ow, "winograd output size");
        let (th, tw) = (oh.div_ceil(4), ow.div_ceil(4));
        let per_tile = 36 * (c + k) * 4;
        let rows_per_chunk = (self.chunk_bytes / (per_tile * tw)).clamp(1, th);
        let max_t = rows_per_chunk * tw;
        if scratch.len() < 36 * (c + k) * max_t {
            scratch.resize(36 * (c + k) * max_t, 0.0);
        }
        // Source column of every padded column 4·tx + s - p, phase by phase.
        let cols: Vec<Option<usize>> = (0..4 * (tw + 1))
            .map(|x| pad.source_index(x as isize - p as isize, w))
            .collect();
        let mut ty0 = 0;
        while ty0 < th {
            let rows = rows_per_chunk.min(th - ty0);
            let t = rows * tw;
            let (v, m) = scratch[..36 * (c + k) * t].split_at_mut(36 * c * t);
            // Input transform: V[c][ξ][tile].
            v.par_chunks_mut(36 * t).enumerate().for_each(|(ci, vc)| {
                let plane = &input[ci * h * w..][..h * w];
                input_transform(plane, h, w, pad, &cols, ty0, rows, tw, vc);
            });
            // 36 independent GEMMs: M[k][ξ][tile] = U[ξ] (k×c) · V[·][ξ][·] (c×tiles).
            let (mp, vp, up) = (
                SendPtr(m.as_mut_ptr()),
                SendPtr(v.as_mut_ptr()),
                SendPtr(self.u.as_ptr() as *mut f32),
            );
            let gemm_threads = if threads() > 36 { 2 } else { 1 };
            (0..36).into_par_iter().for_each(|xi| {
                let (mp, vp, up) = (mp, vp, up);
                // SAFETY: each ξ writes its own rows of M; U and V are only read.
                unsafe {
                    gemm(
                        k,
                        t,
                        c,
                        MatMut::rows(mp.0.add(xi * t), 36 * t),
                        Mat::rows(up.0.add(xi * k * c), c),
                        Mat::rows(vp.0.add(xi * t), 36 * t),
                        false,
                        gemm_threads,
                    )
                }
            });
            // Output transform, bias, crop.
            let m = &*m;
            out.par_chunks_mut(oh * ow)
                .enumerate()
                .for_each(|(ko, plane)| {
                    let mk = &m[ko * 36 * t..][..36 * t];
                    output_transform(mk, self.bias[ko], oh, ow, ty0, rows, tw, plane);
                });
            ty0 += rows;
        }
    }
}

/// Transforms the tiles of `rows` tile rows from `ty0` of one channel plane into
/// `vc[ξ][tile]`.
#[allow(clippy::too_many_arguments)]
fn input_transform(
    plane: &[f32],
    h: usize,
    w: usize,
    pad: Pad,
    cols: &[Option<usize>],
    ty0: usize,
    rows: usize,
    tw: usize,
    vc: &mut [f32],
) {
    let t = rows * tw;
    let n1 = tw + 1;
    let p = pad.width();
    // Padded columns x in x_lo..x_hi read source column x - p: one copy; the few others
    // (padding, and tiles past the edge) go through `cols`.
    let n = 4 * n1;
    let (x_lo, x_hi) = (p.min(n), (p + w).min(n));
    let mut prow = vec![0.0f32; n];
    // ph[r][s][tx] = padded(4ty + r - p, 4tx + s - p): the rows split by column phase.
    let mut ph = vec![0.0f32; 6 * 4 * n1];
    let mut hb = vec![0.0f32; 6 * 6 * tw];
    for ry in 0..rows {
        let ty = ty0 + ry;
        for r in 0..6 {
            let src = pad.source_index((4 * ty + r) as isize - p as isize, h);
            let dst = &mut ph[r * 4 * n1..][..4 * n1];
            match src {
                None => dst.fill(0.0),
                Some(y) => {
                    let row = &plane[y * w..][..w];
                    prow[x_lo..x_hi].copy_from_slice(&row[..x_hi - x_lo]);
                    for x in (0..x_lo).chain(x_hi..n) {
                        prow[x] = cols[x].map_or(0.0, |sx| row[sx]);
                    }
                    for (s, phase) in dst.chunks_exact_mut(n1).enumerate() {
                        for (v, &src) in phase.iter_mut().zip(prow[s..].iter().step_by(4)) {
                            *v = src;
                        }
                    }
                }
            }
        }
        // Horizontal pass: hb[r][j][tx] = (d_r Bᵀ... ) along the row.
        for r in 0..6 {
            let p = &ph[r * 4 * n1..][..4 * n1];
            let (p0, p1, p2, p3) = (&p[..n1], &p[n1..2 * n1], &p[2 * n1..3 * n1], &p[3 * n1..]);
            let out = &mut hb[r * 6 * tw..][..6 * tw];
            let (o0, rest) = out.split_at_mut(tw);
            let (o1, rest) = rest.split_at_mut(tw);
            let (o2, rest) = rest.split_at_mut(tw);
            let (o3, rest) = rest.split_at_mut(tw);
            let (o4, o5) = rest.split_at_mut(tw);
            for tx in 0..tw {
                let d = [p0[tx], p1[tx], p2[tx], p3[tx], p0[tx + 1], p1[tx + 1]];
                let b = bt(d);
                o0[tx] = b[0];
                o1[tx] = b[1];
                o2[tx] = b[2];
                o3[tx] = b[3];
                o4[tx] = b[4];
                o5[tx] = b[5];
            }
        }
        // Vertical pass: V[i][j][tile] = Bᵀ over r of hb[r][j].
        for j in 0..6 {
            let col = |r: usize| &hb[(r * 6 + j) * tw..][..tw];
            let (h0, h1, h2, h3, h4, h5) = (col(0), col(1), col(2), col(3), col(4), col(5));
            for tx in 0..tw {
                let b = bt([h0[tx], h1[tx], h2[tx], h3[tx], h4[tx], h5[tx]]);
                for (i, bi) in b.into_iter().enumerate() {
                    vc[(i * 6 + j) * t + ry * tw + tx] = bi;
                }
            }
        }
    }
}

/// Turns `mk[ξ][tile]` of one output channel back into 4x4 tiles of `plane`, adding `bias`
/// and dropping what falls outside the `h`×`w` image.
#[allow(clippy::too_many_arguments)]
fn output_transform(
    mk: &[f32],
    bias: f32,
    h: usize,
    w: usize,
    ty0: usize,
    rows: usize,
    tw: usize,
    plane: &mut [f32],
) {
    let t = rows * tw;
    let mut s = vec![0.0f32; 4 * 6 * tw];
    let mut line = vec![0.0f32; 4 * tw];
    for ry in 0..rows {
        // Vertical pass: s[o][j][tx] = Aᵀ over i of M[i][j].
        for j in 0..6 {
            let m = |i: usize| &mk[(i * 6 + j) * t + ry * tw..][..tw];
            let (m0, m1, m2, m3, m4, m5) = (m(0), m(1), m(2), m(3), m(4), m(5));
            for tx in 0..tw {
                let a = at([m0[tx], m1[tx], m2[tx], m3[tx], m4[tx], m5[tx]]);
                for (o, ao) in a.into_iter().enumerate() {
                    s[(o * 6 + j) * tw + tx] = ao;
                }
            }
        }
        // Horizontal pass, one output row at a time.
        for o in 0..4 {
            let y = 4 * (ty0 + ry) + o;
            if y >= h {
                break;
            }
            let sj = |j: usize| &s[(o * 6 + j) * tw..][..tw];
            let (s0, s1, s2, s3, s4, s5) = (sj(0), sj(1), sj(2), sj(3), sj(4), sj(5));
            for tx in 0..tw {
                let a = at([s0[tx], s1[tx], s2[tx], s3[tx], s4[tx], s5[tx]]);
                for (p, ap) in a.into_iter().enumerate() {
                    line[4 * tx + p] = ap + bias;
                }
            }
            plane[y * w..][..w].copy_from_slice(&line[..w]);
        }
    }
}

impl WinogradConv {
    /// Sets the size the chunked temporaries aim at (default [`CHUNK_BYTES`]); small values
    /// force many chunks, which tests use to check chunk boundaries.
    pub fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes;
        self
    }
}

/// The weight gradient `dw` (`k`×`c`×3×3, summed over the batch) of the 3x3 stride-1
/// convolution of `x` (N×`c`×`h`×`w`, padded as `pad` says) whose output gradient is `grad`
/// (N×`k`×`oh`×`ow`, `oh = h + 2·pad − 2`), by the same F(4x4, 3x3) algorithm: since each
/// output tile is `Aᵀ [U ⊙ V] A` with `U = G g Gᵀ`, the gradient is
/// `dg = Gᵀ [ Σ_tiles (A dY Aᵀ) ⊙ V ] G`, where the sum over tiles is, for each of the 36
/// transform-domain points, one GEMM (K×tiles times tiles×C): 36·K·C multiply-adds per 16
/// output pixels instead of im2col's 144·K·C.
#[allow(clippy::too_many_arguments)]
pub fn weight_grad(
    x: &[f32],
    grad: &[f32],
    [n, c, h, w]: [usize; 4],
    k: usize,
    pad: Pad,
    dw: &mut [f32],
    chunk_bytes: usize,
    scratch: &mut Vec<f32>,
) {
    let p = pad.width();
    assert!(
        h + 2 * p >= 3 && w + 2 * p >= 3,
        "winograd input smaller than the kernel"
    );
    let (oh, ow) = (h + 2 * p - 2, w + 2 * p - 2);
    assert_eq!(x.len(), n * c * h * w, "winograd input size");
    assert_eq!(grad.len(), n * k * oh * ow, "winograd output gradient size");
    assert_eq!(dw.len(), k * c * 9, "3x3 weight gradient size");
    let (th, tw) = (oh.div_ceil(4), ow.div_ceil(4));
    let per_tile = 36 * (c + k) * 4;
    let rows_per_chunk = (chunk_bytes / (per_tile * tw).max(1)).clamp(1, th.max(1));
    let max_t = rows_per_chunk * tw;
    if scratch.len() < 36 * (c + k) * max_t {
        scratch.resize(36 * (c + k) * max_t, 0.0);
    }
    let cols: Vec<Option<usize>> = (0..4 * (tw + 1))
        .map(|xx| pad.source_index(xx as isize - p as isize, w))
        .collect();
    // dU[ξ][k][c], accumulated over every chunk of every image.
    let mut du = vec![0.0f32; 36 * k * c];
    for (xb, gb) in x
        .chunks_exact(c * h * w)
        .zip(grad.chunks_exact(k * oh * ow))
    {
        let mut ty0 = 0;
        while ty0 < th {
            let rows = rows_per_chunk.min(th - ty0);
            let t = rows * tw;
            let (v, dm) = scratch[..36 * (c + k) * t].split_at_mut(36 * c * t);
            v.par_chunks_mut(36 * t).enumerate().for_each(|(ci, vc)| {
                let plane = &xb[ci * h * w..][..h * w];
                input_transform(plane, h, w, pad, &cols, ty0, rows, tw, vc);
            });
            dm.par_chunks_mut(36 * t).enumerate().for_each(|(ko, mk)| {
                let plane = &gb[ko * oh * ow..][..oh * ow];
                output_grad_transform(plane, oh, ow, ty0, rows, tw, mk);
            });
            let (dup, vp, mp) = (
                SendPtr(du.as_mut_ptr()),
                SendPtr(v.as_mut_ptr()),
                SendPtr(dm.as_mut_ptr()),
            );
            (0..36).into_par_iter().for_each(|xi| {
                let (dup, vp, mp) = (dup, vp, mp);
                // SAFETY: each ξ accumulates into its own K×C block of dU; dM (K×t at row
                // stride 36t) and V (C×t, read transposed as t×C) are only read.
                unsafe {
                    gemm(
                        k,
                        c,
                        t,
                        MatMut::rows(dup.0.add(xi * k * c), c),
                        Mat::rows(mp.0.add(xi * t), 36 * t),
                        Mat::rows(vp.0.add(xi * t), 36 * t).t(),
                        true,
                        1,
                    )
                }
            });
            ty0 += rows;
        }
    }
    // dg = Gᵀ dU G per (ko, ci), in f64.
    dw.par_chunks_mut(9 * c.max(1))
        .enumerate()
        .for_each(|(ko, dwk)| {
            for (ci, dg) in dwk.chunks_exact_mut(9).enumerate() {
                let du = |i: usize, j: usize| du[((i * 6 + j) * k + ko) * c + ci] as f64;
                // rows[i][s] = Σ_j dU[i][j] G[j][s], then dg[r][s] = Σ_i G[i][r] rows[i][s].
                let mut rows = [[0.0f64; 3]; 6];
                for (i, row) in rows.iter_mut().enumerate() {
                    for (j, gj) in G.iter().enumerate() {
                        let v = du(i, j);
                        for s in 0..3 {
                            row[s] += v * gj[s];
                        }
                    }
                }
                for r in 0..3 {
                    for s in 0..3 {
                        dg[r * 3 + s] = (0..6).map(|i| G[i][r] * rows[i][s]).sum::<f64>() as f32;
                    }
                }
            }
        });
}

/// Carries the output gradient of `rows` tile rows from `ty0` of one output channel
/// (`oh`×`ow`, zero beyond its edge) to the transform domain: `mk[ξ][tile] = A dY Aᵀ`.
fn output_grad_transform(
    plane: &[f32],
    oh: usize,
    ow: usize,
    ty0: usize,
    rows: usize,
    tw: usize,
    mk: &mut [f32],
) {
    let t = rows * tw;
    let mut line = vec![0.0f32; 4 * tw];
    // hb[o][j][tx]: row o of each tile, carried across by A.
    let mut hb = vec![0.0f32; 4 * 6 * tw];
    for ry in 0..rows {
        for o in 0..4 {
            let y = 4 * (ty0 + ry) + o;
            if y < oh {
                line[..ow].copy_from_slice(&plane[y * ow..][..ow]);
                line[ow..].fill(0.0);
            } else {
                line.fill(0.0);
            }
            let out = &mut hb[o * 6 * tw..][..6 * tw];
            for tx in 0..tw {
                let a = a_times([
                    line[4 * tx],
                    line[4 * tx + 1],
                    line[4 * tx + 2],
                    line[4 * tx + 3],
                ]);
                for (j, aj) in a.into_iter().enumerate() {
                    out[j * tw + tx] = aj;
                }
            }
        }
        // Vertical pass: dM[i][j][tile] = A over o of hb[o][j].
        for j in 0..6 {
            let col = |o: usize| &hb[(o * 6 + j) * tw..][..tw];
            let (h0, h1, h2, h3) = (col(0), col(1), col(2), col(3));
            for tx in 0..tw {
                let a = a_times([h0[tx], h1[tx], h2[tx], h3[tx]]);
                for (i, ai) in a.into_iter().enumerate() {
                    mk[(i * 6 + j) * t + ry * tw + tx] = ai;
                }
            }
        }
    }
}
