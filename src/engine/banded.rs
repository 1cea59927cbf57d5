//! The whole-image result of the generator for images of any size, in bounded memory.
//!
//! Every instance norm normalizes with the statistics of its whole channel plane, so an image
//! cut into tiles that each normalize on their own is not the network's result. Here the
//! network runs layer by layer over full-width row bands instead, and each instance norm gets
//! the statistics of the whole image:
//!
//! - **Encoder** (input conv, down blocks): for each instance norm in turn, one pass over row
//!   bands computes the layers up to its convolution (the earlier norms' statistics already
//!   known) and accumulates that convolution's per-channel mean and variance; a last pass
//!   stores the quarter-resolution activation `X`. Bands are pulled with the row halos each
//!   convolution needs, so the stored rows equal the whole-image pass up to float rounding.
//! - **Residual blocks** at quarter resolution: `conv1(X)` is stored raw in a second buffer
//!   `Y` while its statistics accumulate; then `conv2(act(norm1(Y)))` is written back into
//!   `Y` band by band (one band behind, since the next band still reads the rows above it)
//!   while the second statistics accumulate; then `X += norm2(Y)`.
//! - **Decoder** (up blocks, output conv): like the encoder, one pass per instance norm from
//!   the stored `X`, and a last pass that writes the output rows.
//!
//! `X` and `Y` are stored in half precision (convolution outputs minus a per-channel offset,
//! the first band's mean, so a large mean does not cost precision), so the peak memory is 64
//! bytes per input pixel
//! (1 GiB for 4096x4096, 768 MiB for 12 MP) plus the bands. The encoder and decoder are
//! recomputed once per instance norm they hold (two each in the published layout); the
//! residual blocks, ~70% of the arithmetic, run once.

use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use super::cpu_generator::{ConvLayer, CpuGenerator, Stage};
use super::instance_norm::{activate, mean_var};
use crate::cartoonize::burn_translator::{from_network_output, to_network_input};
use crate::kernels::ConvTranspose;
use crate::model::{Activation, ChannelOrder};

/// Floats kept near this count in the largest band buffer (64 MiB).
const BAND_FLOATS: usize = 1 << 24;

/// A per-channel `act((x - mean) · scale + shift)`, the instance norm with known statistics.
#[derive(Debug, Clone)]
struct Affine {
    mean: Vec<f32>,
    scale: Vec<f32>,
    shift: Vec<f32>,
    act: Option<Activation>,
}

impl Affine {
    /// No normalization (batch norm already folded into the convolution), only `act`.
    fn identity(c: usize, act: Option<Activation>) -> Self {
        Self {
            mean: vec![0.0; c],
            scale: vec![1.0; c],
            shift: vec![0.0; c],
            act,
        }
    }

    /// In place over `x` (channels × `plane`), in the same float operations as
    /// [`super::instance_norm::norm_act_add_with`].
    fn apply(&self, x: &mut [f32], plane: usize) {
        x.par_chunks_mut(plane).enumerate().for_each(|(ch, xc)| {
            let (m, s, t) = (self.mean[ch], self.scale[ch], self.shift[ch]);
            for v in xc.iter_mut() {
                *v = activate((*v - m) * s + t, self.act);
            }
        });
    }
}

impl Affine {
    /// The same normalization of values stored minus a per-channel `offset`.
    fn offset_by(mut self, offset: Option<&[f32]>) -> Self {
        if let Some(o) = offset {
            for (m, &o) in self.mean.iter_mut().zip(o) {
                *m -= o;
            }
        }
        self
    }
}

/// Subtracts a per-channel offset from a band before half-precision storage: the first
/// band's channel means, close to the whole image's, so a convolution output whose mean is
/// large against its spread keeps its precision in f16.
fn offset_band(mut band: Vec<f32>, plane: usize, offset: &mut Option<Vec<f32>>) -> Vec<f32> {
    let o = offset.get_or_insert_with(|| {
        band.par_chunks(plane)
            .map(|c| mean_var(c).0 as f32)
            .collect()
    });
    band.par_chunks_mut(plane)
        .zip(o.par_iter())
        .for_each(|(c, &o)| {
            for v in c {
                *v -= o;
            }
        });
    band
}

/// Per-channel running count, mean and sum of squared deviations (Chan et al.'s pairwise
/// combination of band statistics, in f64).
#[derive(Debug, Clone)]
struct Moments {
    n: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Moments {
    fn new(c: usize) -> Self {
        Self {
            n: 0.0,
            mean: vec![0.0; c],
            m2: vec![0.0; c],
        }
    }

    /// Adds a band (channels × `plane`).
    fn add(&mut self, x: &[f32], plane: usize) {
        let band: Vec<(f64, f64)> = x.par_chunks(plane).map(mean_var).collect();
        let nb = plane as f64;
        let n = self.n + nb;
        for (ch, (mb, vb)) in band.into_iter().enumerate() {
            let d = mb - self.mean[ch];
            self.mean[ch] += d * nb / n;
            self.m2[ch] += vb * nb + d * d * self.n * nb / n;
        }
        self.n = n;
    }

    /// The instance norm of `stage` with these statistics.
    fn affine(&self, stage: &Stage, act: Option<Activation>) -> Affine {
        let c = self.mean.len();
        let Some(p) = &stage.norm else {
            return Affine::identity(c, act);
        };
        let scale = (0..c)
            .map(|ch| (p.gamma[ch] as f64 / (self.m2[ch] / self.n + p.epsilon).sqrt()) as f32)
            .collect();
        Affine {
            mean: self.mean.iter().map(|&m| m as f32).collect(),
            scale,
            shift: p.beta.clone(),
            act,
        }
    }
}

/// One step of a chain of layers computed row band by row band.
enum Node<'a> {
    /// Interleaved RGB in [0, 1], converted to the network's input.
    Image { rgb: &'a [f32], order: ChannelOrder },
    /// A stored planar activation, optionally normalized on read.
    Store {
        data: &'a [f16],
        dims: (usize, usize, usize),
        affine: Option<&'a Affine>,
    },
    /// A convolution (padding inside the band's columns, row halos from the source).
    Conv(&'a ConvLayer),
    /// A transposed convolution.
    ConvT(&'a ConvTranspose),
    /// A normalization with known statistics and the activation.
    Norm(&'a Affine),
}

/// A chain of nodes with each node's output size (channels, height, width).
struct Chain<'a> {
    nodes: Vec<Node<'a>>,
    dims: Vec<(usize, usize, usize)>,
}

impl<'a> Chain<'a> {
    fn new(w: usize, h: usize) -> Self {
        Self {
            nodes: Vec::new(),
            dims: vec![(3, h, w)],
        }
    }

    fn push(&mut self, node: Node<'a>) {
        let (c, h, w) = *self.dims.last().expect("chain has a size");
        let next = match &node {
            Node::Image { .. } => (3, h, w),
            Node::Store { dims, .. } => *dims,
            Node::Conv(l) => {
                let (k, s) = l.geometry();
                let p = l.pad.width();
                (l.k, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)
            }
            Node::ConvT(t) => (t.k, t.out_size(h), t.out_size(w)),
            Node::Norm(_) => (c, h, w),
        };
        if self.nodes.is_empty() {
            self.dims.clear();
        }
        self.nodes.push(node);
        self.dims.push(next);
    }

    /// Output size of the last node.
    fn last_dims(&self) -> (usize, usize, usize) {
        *self.dims.last().expect("chain has a size")
    }

    /// Rows `r0..r1` of the last node's output, planar (channels × rows × width).
    fn rows(&self, r0: usize, r1: usize, scratch: &mut Vec<f32>) -> Vec<f32> {
        self.rows_of(self.nodes.len() - 1, r0, r1, scratch)
    }

    fn rows_of(&self, i: usize, r0: usize, r1: usize, scratch: &mut Vec<f32>) -> Vec<f32> {
        let (c, h, w) = self.dims[i];
        assert!(r0 < r1 && r1 <= h, "band {r0}..{r1} of {h} rows");
        let n = r1 - r0;
        match &self.nodes[i] {
            Node::Image { rgb, order } => {
                to_network_input(&rgb[r0 * w * 3..r1 * w * 3], w, n, *order)
            }
            Node::Store { data, affine, .. } => {
                let mut out = vec![0.0f32; c * n * w];
                out.par_chunks_mut(n * w)
                    .enumerate()
                    .for_each(|(ch, o)| data[(ch * h + r0) * w..][..n * w].convert_to_f32_slice(o));
                if let Some(a) = affine {
                    a.apply(&mut out, n * w);
                }
                out
            }
            Node::Norm(a) => {
                let mut x = self.rows_of(i - 1, r0, r1, scratch);
                a.apply(&mut x, n * w);
                x
            }
            Node::Conv(layer) => {
                let (sc, sh, sw) = self.dims[i - 1];
                let (k, s) = layer.geometry();
                let p = layer.pad.width();
                // Output row j of the band reads band rows s·j − p … s·j − p + k − 1; the
                // first `m` outputs see the kernel's own row padding and are dropped.
                let m = p.div_ceil(s);
                let g0 = (s * r0) as isize - (s * m) as isize;
                let g1 = (s * (r1 - 1) + k) as isize - p as isize;
                let map: Vec<Option<usize>> =
                    (g0..g1).map(|g| layer.pad.source_index(g, sh)).collect();
                let lo = map
                    .iter()
                    .flatten()
                    .copied()
                    .min()
                    .expect("band reads a row");
                let hi = map
                    .iter()
                    .flatten()
                    .copied()
                    .max()
                    .expect("band reads a row")
                    + 1;
                let src = self.rows_of(i - 1, lo, hi, scratch);
                let nb = map.len();
                let mut band = vec![0.0f32; sc * nb * sw];
                band.par_chunks_mut(nb * sw)
                    .zip(src.par_chunks(((hi - lo) * sw).max(1)))
                    .for_each(|(b, sp)| {
                        for (j, r) in map.iter().enumerate() {
                            if let Some(r) = r {
                                b[j * sw..][..sw].copy_from_slice(&sp[(r - lo) * sw..][..sw]);
                            }
                        }
                    });
                drop(src);
                let mut out = Vec::new();
                let (ho, wo) = layer.run(&band, (nb, sw), &mut out, scratch);
                assert!(ho >= m + n && wo == w, "conv band geometry");
                extract(&out, c, ho * wo, m * wo, n * w)
            }
            Node::ConvT(t) => {
                let (_, sh, sw) = self.dims[i - 1];
                let (s, k, p) = (t.stride, t.kernel, t.padding);
                // Input row i reaches outputs s·i − p … s·i − p + k − 1.
                let i0 = (r0 + p + 1).saturating_sub(k).div_ceil(s).min(r0 / s);
                let i1 = ((r1 - 1 + p) / s + 1).min(sh);
                let src = self.rows_of(i - 1, i0, i1, scratch);
                let nin = i1 - i0;
                let (ho, wo) = (t.out_size(nin), t.out_size(sw));
                let mut out = vec![0.0f32; t.k * ho * wo];
                t.forward(&src, nin, sw, &mut out, scratch);
                drop(src);
                let off = r0 - s * i0;
                assert!(off + n <= ho && wo == w, "transposed conv band geometry");
                extract(&out, c, ho * wo, off * wo, n * w)
            }
        }
    }

    /// Per-channel statistics of the last node over the whole image, in bands of `band` rows.
    fn moments(&self, band: usize, scratch: &mut Vec<f32>) -> Moments {
        let (c, h, w) = self.last_dims();
        let mut m = Moments::new(c);
        for r0 in (0..h).step_by(band) {
            let r1 = (r0 + band).min(h);
            m.add(&self.rows(r0, r1, scratch), (r1 - r0) * w);
        }
        m
    }
}

/// `len` values at `offset` of each of the `c` planes of `plane` values.
fn extract(x: &[f32], c: usize, plane: usize, offset: usize, len: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; c * len];
    out.par_chunks_mut(len)
        .enumerate()
        .for_each(|(ch, o)| o.copy_from_slice(&x[ch * plane + offset..][..len]));
    out
}

/// Writes planar band rows `r0..` (channels × rows × `w`) into a stored plane of height `h`.
fn store_rows(data: &mut [f16], (c, h, w): (usize, usize, usize), r0: usize, band: &[f32]) {
    let n = band.len() / (c * w);
    data.par_chunks_mut(h * w)
        .zip(band.par_chunks(n * w))
        .take(c)
        .for_each(|(d, b)| d[r0 * w..][..n * w].convert_from_f32_slice(b));
}

impl CpuGenerator {
    /// The network's result on an image of any size with every instance norm's statistics
    /// taken over the whole image, in bounded memory (see the module documentation).
    ///
    /// `rgb` is interleaved RGB in [0, 1], `width`x`height` both multiples of 4 (and of
    /// 2^downsamplings); the result has the same layout. `max_band` caps the band height in
    /// rows of the innermost (quarter) resolution; bands are otherwise sized to keep each
    /// band buffer near 64 MiB.
    pub fn translate_banded(
        &self,
        rgb: &[f32],
        width: usize,
        height: usize,
        max_band: usize,
    ) -> Vec<f32> {
        assert_eq!(
            rgb.len(),
            3 * width * height,
            "rgb must be width x height x 3"
        );
        let act = Some(self.activation);
        let scale = 1usize << self.down.len();
        assert!(
            width.is_multiple_of(scale) && height.is_multiple_of(scale),
            "sides must be multiples of {scale}"
        );
        let (wq, hq) = (width / scale, height / scale);
        // Band height in quarter rows: the widest full-resolution buffer (64 channels of the
        // published width, `scale` rows per quarter row) near BAND_FLOATS.
        let widest = self.input.conv.k.max(1);
        let band_q = (BAND_FLOATS / (width * widest * scale)).clamp(2, max_band.max(2));
        let band_at = |h: usize| (band_q * h / hq).max(1);
        let mut scratch = Vec::new();

        // Encoder: one statistics pass per norm, then the stored quarter activation.
        let mut affines: Vec<Affine> = Vec::new();
        let mut stages: Vec<(Option<&ConvLayer>, &Stage)> = vec![(None, &self.input)];
        stages.extend(self.down.iter().map(|(d, s)| (Some(d), s)));
        for k in 0..stages.len() {
            let mut chain = Chain::new(width, height);
            chain.push(Node::Image {
                rgb,
                order: self.order,
            });
            for (j, (d, s)) in stages[..=k].iter().enumerate() {
                if let Some(d) = d {
                    chain.push(Node::Conv(d));
                }
                chain.push(Node::Conv(&s.conv));
                if j < k {
                    chain.push(Node::Norm(&affines[j]));
                }
            }
            let h = chain.last_dims().1;
            let m = chain.moments(band_at(h), &mut scratch);
            let a = m.affine(stages[k].1, act);
            affines.push(a);
        }
        let mut chain = Chain::new(width, height);
        chain.push(Node::Image {
            rgb,
            order: self.order,
        });
        for ((d, s), a) in stages.iter().zip(&affines) {
            if let Some(d) = d {
                chain.push(Node::Conv(d));
            }
            chain.push(Node::Conv(&s.conv));
            chain.push(Node::Norm(a));
        }
        let qdims = chain.last_dims();
        assert_eq!((qdims.1, qdims.2), (hq, wq), "encoder output size");
        let cq = qdims.0;
        let mut x = vec![f16::ZERO; cq * hq * wq];
        // Residual bands: 256 channels at quarter width, also near BAND_FLOATS.
        let band_r = (BAND_FLOATS / (wq * cq)).clamp(2, (max_band * 4).max(2));
        for r0 in (0..hq).step_by(band_q) {
            let r1 = (r0 + band_q).min(hq);
            store_rows(&mut x, qdims, r0, &chain.rows(r0, r1, &mut scratch));
        }
        drop(chain);

        // Residual blocks.
        let mut y = vec![f16::ZERO; cq * hq * wq];
        for (s1, s2) in &self.residual {
            let mut m1 = Moments::new(s1.conv.k);
            let mut off1 = None;
            for r0 in (0..hq).step_by(band_r) {
                let r1 = (r0 + band_r).min(hq);
                let band = {
                    let mut c = Chain::new(wq, hq);
                    c.push(Node::Store {
                        data: &x,
                        dims: qdims,
                        affine: None,
                    });
                    c.push(Node::Conv(&s1.conv));
                    c.rows(r0, r1, &mut scratch)
                };
                m1.add(&band, (r1 - r0) * wq);
                let band = offset_band(band, (r1 - r0) * wq, &mut off1);
                store_rows(&mut y, qdims, r0, &band);
            }
            let a1 = m1.affine(s1, act).offset_by(off1.as_deref());
            let mut m2 = Moments::new(s2.conv.k);
            let mut pending: Option<(usize, Vec<f32>)> = None;
            let mut off2 = None;
            for r0 in (0..hq).step_by(band_r) {
                let r1 = (r0 + band_r).min(hq);
                let band = {
                    let mut c = Chain::new(wq, hq);
                    c.push(Node::Store {
                        data: &y,
                        dims: qdims,
                        affine: Some(&a1),
                    });
                    c.push(Node::Conv(&s2.conv));
                    c.rows(r0, r1, &mut scratch)
                };
                m2.add(&band, (r1 - r0) * wq);
                let band = offset_band(band, (r1 - r0) * wq, &mut off2);
                // The previous band's rows are no longer read (this band read one row of it).
                if let Some((p0, b)) = pending.replace((r0, band)) {
                    store_rows(&mut y, qdims, p0, &b);
                }
            }
            if let Some((p0, b)) = pending {
                store_rows(&mut y, qdims, p0, &b);
            }
            let a2 = m2.affine(s2, None).offset_by(off2.as_deref());
            let plane = hq * wq;
            x.par_chunks_mut(plane)
                .zip(y.par_chunks(plane))
                .enumerate()
                .for_each(|(ch, (xc, yc))| {
                    let (m, s, t) = (a2.mean[ch], a2.scale[ch], a2.shift[ch]);
                    for (xv, yv) in xc.iter_mut().zip(yc) {
                        let r = xv.to_f32();
                        *xv = f16::from_f32((yv.to_f32() - m) * s + t + r);
                    }
                });
        }
        drop(y);

        // Decoder: one statistics pass per norm, then the output rows.
        let mut up_affines: Vec<Affine> = Vec::new();
        for k in 0..self.up.len() {
            let m = {
                let chain = self.decoder(&x, qdims, k + 1, &up_affines, false);
                let h = chain.last_dims().1;
                chain.moments(band_at(h), &mut scratch)
            };
            up_affines.push(m.affine(&self.up[k].1, act));
        }
        let chain = self.decoder(&x, qdims, self.up.len(), &up_affines, true);
        assert_eq!(chain.last_dims(), (3, height, width), "output size");
        let mut out = vec![0.0f32; 3 * width * height];
        let band_o = band_q * scale;
        for (b, o) in out.chunks_mut(band_o * width * 3).enumerate() {
            let r0 = b * band_o;
            let r1 = (r0 + band_o).min(height);
            let mut planar = chain.rows(r0, r1, &mut scratch);
            planar.par_iter_mut().for_each(|v| *v = v.tanh());
            o.copy_from_slice(&from_network_output(&planar, width, r1 - r0, self.order));
        }
        out
    }

    /// The decoder chain from the stored quarter activation `x`: the first `upto` up blocks,
    /// each normalized when `affines` holds its statistics, then the output convolution.
    fn decoder<'a>(
        &'a self,
        x: &'a [f16],
        qdims: (usize, usize, usize),
        upto: usize,
        affines: &'a [Affine],
        with_output: bool,
    ) -> Chain<'a> {
        let mut c = Chain::new(qdims.2, qdims.1);
        c.push(Node::Store {
            data: x,
            dims: qdims,
            affine: None,
        });
        for (j, (t, s)) in self.up[..upto].iter().enumerate() {
            c.push(Node::ConvT(t));
            c.push(Node::Conv(&s.conv));
            if let Some(a) = affines.get(j) {
                c.push(Node::Norm(a));
            }
        }
        if with_output {
            c.push(Node::Conv(&self.output));
        }
        c
    }
}
