//! Motion-compensated temporal blending of cartoonized frames.
//!
//! The network answers a one-pixel shift of its input with changes well beyond a shift of
//! its output (edges and flat areas re-decide), which shows as flicker. Each output frame is
//! blended with the previous output frame moved by the input's global motion (the integer
//! shift that best aligns the two input frames), pixel by pixel with a weight that falls to
//! zero where the two disagree strongly (new content, moving objects, misalignment), so
//! changes the network makes consistently pass through and its frame-to-frame noise is
//! averaged out. A scene cut (a large input change) starts afresh.

/// How strongly to blend.
#[derive(Debug, Clone, Copy)]
pub struct BlendOptions {
    /// Weight of the moved previous output where it agrees with the new frame (0..1).
    pub weight: f32,
    /// 8-bit difference at which the previous output stops being used.
    pub cutoff: f32,
    /// Largest global shift searched, in pixels.
    pub search: i32,
}

/// Weight 0.6 and cutoff 128 were chosen on a 1 px/frame pan over a real photo (160x120, 48
/// frames, hayao; docs/video.md has the table): the change beyond the motion falls by half
/// (9.5 to 4.7 levels a frame), the flicker ratio by 16% (1.03 to 0.87; a cartoon moving
/// exactly with the content scores 0.84 there), and frames stay at 33 dB PSNR from their image
/// results. A higher weight or no cutoff removes more of the change but drifts further from
/// each frame's own result (0.7 without cutoff: 2.4 levels, 28 dB) and would smear moving
/// objects; the old 0.5 / 48 removed a fifth of it.
impl Default for BlendOptions {
    fn default() -> Self {
        Self {
            weight: 0.6,
            cutoff: 128.0,
            search: 8,
        }
    }
}

fn luma(rgb: &[u8]) -> Vec<i32> {
    rgb.chunks_exact(3)
        .map(|p| (2 * p[0] as i32 + 5 * p[1] as i32 + p[2] as i32) / 8)
        .collect()
}

/// The integer shift `(dx, dy)` with `cur(x, y) ≈ prev(x − dx, y − dy)`, searched in
/// `±search` on a grid of every `step`-th pixel.
pub fn global_shift(prev: &[u8], cur: &[u8], w: usize, h: usize, search: i32) -> (i32, i32) {
    let (lp, lc) = (luma(prev), luma(cur));
    let step = ((w.max(h) / 160).max(1)) as i32;
    let mut best = (0, 0);
    let mut best_cost = f64::INFINITY;
    for dy in -search..=search {
        for dx in -search..=search {
            let (mut sum, mut n) = (0i64, 0i64);
            let mut y = search;
            while y < h as i32 - search {
                let mut x = search;
                while x < w as i32 - search {
                    let c = lc[y as usize * w + x as usize];
                    let p = lp[(y - dy) as usize * w + (x - dx) as usize];
                    sum += (c - p).abs() as i64;
                    n += 1;
                    x += step;
                }
                y += step;
            }
            // Prefer small shifts on ties (a still scene stays at zero).
            let cost = sum as f64 / n.max(1) as f64 + 1e-3 * (dx.abs() + dy.abs()) as f64;
            if cost < best_cost {
                best_cost = cost;
                best = (dx, dy);
            }
        }
    }
    best
}

/// Byte offsets `(i, j)` of every pixel pair `cur(x, y)`, `prev(x − dx, y − dy)` that both RGB
/// frames of `w` x `h` hold, for `shift = (dx, dy)`.
pub fn moved_pairs(w: usize, h: usize, shift: (i32, i32)) -> impl Iterator<Item = (usize, usize)> {
    let (dx, dy) = shift;
    let (x0, x1) = ((dx.max(0)) as usize, (w as i32 + dx.min(0)).max(0) as usize);
    let (y0, y1) = ((dy.max(0)) as usize, (h as i32 + dy.min(0)).max(0) as usize);
    (y0..y1.max(y0)).flat_map(move |y| {
        (x0..x1.max(x0)).map(move |x| {
            let (sx, sy) = ((x as i32 - dx) as usize, (y as i32 - dy) as usize);
            ((y * w + x) * 3, (sy * w + sx) * 3)
        })
    })
}

/// Blends `out` (the new frame's cartoon) in place with `prev_out` moved by `shift`.
pub fn blend(
    out: &mut [u8],
    prev_out: &[u8],
    w: usize,
    h: usize,
    shift: (i32, i32),
    o: &BlendOptions,
) {
    for (i, j) in moved_pairs(w, h, shift) {
        let diff = (0..3)
            .map(|k| (out[i + k] as f32 - prev_out[j + k] as f32).abs())
            .fold(0.0f32, f32::max);
        let a = o.weight * (1.0 - diff / o.cutoff).max(0.0);
        for k in 0..3 {
            let v = out[i + k] as f32 + a * (prev_out[j + k] as f32 - out[i + k] as f32);
            out[i + k] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}
