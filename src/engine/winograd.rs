//! 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray,
//! "Fast Algorithms for Convolutional Neural Networks", CVPR 2016).
//!
//! Each 4x4 output tile comes from a 6x6 input tile: `Y = Aᵀ [ Σ_c (G g Gᵀ) ⊙ (Bᵀ d B) ] A`.
//! The sum over input channels is, for each of the 36 transform-domain points, one GEMM
//! (K×C weights times C×tiles), so the 3x3 conv costs 36·K·C multiply-adds per 16 output
//! pixels instead of 144·K·C. The transforms run across a whole row of tiles at once so the
//! compiler vectorizes them. Tiles are processed in chunks of tile rows to bound memory.

use rayon::prelude::*;

use crate::kernels::gemm::{Mat, MatMut, gemm};

use super::{SendPtr, source_index, threads};
use crate::model::padding::Pad;

/// Transform-domain buffers are sized to about this many bytes per chunk of tiles.
pub const CHUNK_BYTES: usize = 32 << 20;

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

impl WinogradConv {
    /// Transforms weights `[k][c][3][3]` (burn/PyTorch layout) and keeps the bias.
    pub fn new(weight: &[f32], bias: &[f32], k: usize, c: usize) -> Self {
        assert_eq!(weight.len(), k * c * 9, "3x3 weight size");
        assert_eq!(bias.len(), k, "bias size");
        let mut u = vec![0.0f32; 36 * k * c];
        for ko in 0..k {
            for ci in 0..c {
                let g = &weight[(ko * c + ci) * 9..][..9];
                // t = G g (6x3), then U = t Gᵀ (6x6), in f64.
                let mut t = [[0.0f64; 3]; 6];
                for (i, row) in t.iter_mut().enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = (0..3).map(|r| G[i][r] * g[r * 3 + j] as f64).sum();
                    }
                }
                for i in 0..6 {
                    for j in 0..6 {
                        let v: f64 = (0..3).map(|s| t[i][s] * G[j][s]).sum();
                        u[((i * 6 + j) * k + ko) * c + ci] = v as f32;
                    }
                }
            }
        }
        Self {
            k,
            c,
            u,
            bias: bias.to_vec(),
            chunk_bytes: CHUNK_BYTES,
        }
    }

    /// Convolves `input` (`c`×`h`×`w`, padded by 1 as `pad` says) into `out` (`k`×`h`×`w`).
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
        let (k, c) = (self.k, self.c);
        assert_eq!(input.len(), c * h * w, "winograd input size");
        assert_eq!(out.len(), k * h * w, "winograd output size");
        let (th, tw) = (h.div_ceil(4), w.div_ceil(4));
        let per_tile = 36 * (c + k) * 4;
        let rows_per_chunk = (self.chunk_bytes / (per_tile * tw)).clamp(1, th);
        let max_t = rows_per_chunk * tw;
        if scratch.len() < 36 * (c + k) * max_t {
            scratch.resize(36 * (c + k) * max_t, 0.0);
        }
        // Source column of every padded column 4·tx + s - 1, phase by phase.
        let cols: Vec<Option<usize>> = (0..4 * (tw + 1))
            .map(|x| source_index(x as isize - 1, w, pad))
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
            out.par_chunks_mut(h * w)
                .enumerate()
                .for_each(|(ko, plane)| {
                    let mk = &m[ko * 36 * t..][..36 * t];
                    output_transform(mk, self.bias[ko], h, w, ty0, rows, tw, plane);
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
    // ph[r][s][tx] = padded(4ty + r - 1, 4tx + s - 1): the rows split by column phase.
    let mut ph = vec![0.0f32; 6 * 4 * n1];
    let mut hb = vec![0.0f32; 6 * 6 * tw];
    for ry in 0..rows {
        let ty = ty0 + ry;
        for r in 0..6 {
            let src = source_index((4 * ty + r) as isize - 1, h, pad);
            let dst = &mut ph[r * 4 * n1..][..4 * n1];
            match src {
                None => dst.fill(0.0),
                Some(y) => {
                    let row = &plane[y * w..][..w];
                    for (x, col) in cols.iter().enumerate() {
                        dst[(x % 4) * n1 + x / 4] = col.map_or(0.0, |sx| row[sx]);
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
