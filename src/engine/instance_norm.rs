//! The pass after each convolution, fused: instance normalization (statistics over one
//! channel plane, biased variance), the affine scale and shift, the activation, and the
//! residual add — one read for the statistics and one read-modify-write per element.
//! Batch norm is folded into the convolution beforehand, so it reaches here as "no norm".

use rayon::prelude::*;

use crate::model::Activation;

/// Affine instance normalization parameters of one layer.
#[derive(Debug, Clone)]
pub struct InstanceNormParams {
    /// Per-channel scale.
    pub gamma: Vec<f32>,
    /// Per-channel shift.
    pub beta: Vec<f32>,
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

/// Mean and biased variance of `x`, accumulated in f64 over f32 partial sums of short
/// blocks (as accurate as a f64 loop, at f32 SIMD speed).
pub fn mean_var(x: &[f32]) -> (f64, f64) {
    let n = x.len().max(1) as f64;
    let sum = block_sum(x, |v| v);
    let mean = sum / n;
    let m = mean as f32;
    let sq = block_sum(x, |v| (v - m) * (v - m));
    // Correct for the rounding of the mean to f32.
    let d = block_sum(x, |v| v - m) / n;
    (mean, (sq / n - d * d).max(0.0))
}

fn block_sum(x: &[f32], f: impl Fn(f32) -> f32 + Copy) -> f64 {
    let mut total = 0.0f64;
    for block in x.chunks(256) {
        let mut acc = [0.0f32; 16];
        let mut it = block.chunks_exact(16);
        for c in &mut it {
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += f(v);
            }
        }
        let tail: f32 = it.remainder().iter().map(|&v| f(v)).sum();
        total += acc.iter().map(|&a| a as f64).sum::<f64>() + tail as f64;
    }
    total
}

/// Applies `act` to one value.
#[inline(always)]
pub(crate) fn activate(v: f32, act: Option<Activation>) -> f32 {
    match act {
        None => v,
        Some(Activation::Relu) => v.max(0.0),
        Some(Activation::LeakyRelu { slope }) => {
            if v >= 0.0 {
                v
            } else {
                v * slope as f32
            }
        }
    }
}

/// Per-channel mean and biased variance of `x` (channels × `plane` elements).
pub fn channel_stats(x: &[f32], plane: usize) -> Vec<(f64, f64)> {
    x.par_chunks(plane).map(mean_var).collect()
}

/// In place over `x` (channels × `plane` elements): optional instance norm with the given
/// per-channel statistics (mean, biased variance; see [`channel_stats`]), then the
/// activation, then `+ skip`. Channels run in parallel.
pub fn norm_act_add_with(
    x: &mut [f32],
    plane: usize,
    norm: Option<(&InstanceNormParams, &[(f64, f64)])>,
    act: Option<Activation>,
    skip: Option<&[f32]>,
) {
    if let Some(s) = skip {
        assert_eq!(s.len(), x.len(), "residual size");
    }
    x.par_chunks_mut(plane).enumerate().for_each(|(ch, xc)| {
        // y = (x - mean) · scale + shift; subtracting the mean first keeps precision when
        // the mean is large against the spread.
        let (mean, scale, shift) = match norm {
            Some((n, stats)) => {
                let (mean, var) = stats[ch];
                let scale = n.gamma[ch] as f64 / (var + n.epsilon).sqrt();
                (mean as f32, scale as f32, n.beta[ch])
            }
            None => (0.0, 1.0, 0.0),
        };
        match skip {
            Some(s) => {
                let sc = &s[ch * plane..][..plane];
                for (v, &r) in xc.iter_mut().zip(sc) {
                    *v = activate((*v - mean) * scale + shift, act) + r;
                }
            }
            None if norm.is_none() && act.is_none() => {}
            None => {
                for v in xc.iter_mut() {
                    *v = activate((*v - mean) * scale + shift, act);
                }
            }
        }
    });
}
