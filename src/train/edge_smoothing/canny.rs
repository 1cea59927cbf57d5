//! Canny edge detection with OpenCV's exact integer rules (`cv2.Canny(gray, low, high)`,
//! aperture 3, L1 gradient), so edge maps match OpenCV bit for bit.
//!
//! imageproc's `canny` differs (it blurs first and uses the L2 magnitude with float
//! directions), hence this implementation of OpenCV 5's `modules/imgproc/src/canny.cpp`
//! as written down in `tools/ref_edge_smoothing.py` (`np_canny`).

use image::GrayImage;

/// tan(22.5°) in Q15, OpenCV's `TG22`: splits horizontal, diagonal and vertical gradients.
const TG22: i64 = 13573;

/// Canny edges of a grey image: 255 on edge pixels, 0 elsewhere.
///
/// Gradients are 3x3 Sobel with replicated borders, the magnitude is |dx| + |dy|; pixels
/// with magnitude > `low` that survive non-maximum suppression are candidates, those with
/// magnitude > `high` are edges, and edges grow into 8-connected candidates. `low > high`
/// is swapped, as OpenCV does.
pub fn canny(gray: &GrayImage, low: u32, high: u32) -> GrayImage {
    let (low, high) = (i64::from(low.min(high)), i64::from(low.max(high)));
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let mut out = GrayImage::new(gray.width(), gray.height());
    if w == 0 || h == 0 {
        return out;
    }
    let g = gray.as_raw();
    let px = |r: usize, c: usize| i64::from(g[r * w + c]);
    let mut dx = vec![0i64; w * h];
    let mut dy = vec![0i64; w * h];
    for r in 0..h {
        let (ru, rd) = (r.saturating_sub(1), (r + 1).min(h - 1));
        for c in 0..w {
            let (cl, cr) = (c.saturating_sub(1), (c + 1).min(w - 1));
            dx[r * w + c] =
                (px(ru, cr) - px(ru, cl)) + 2 * (px(r, cr) - px(r, cl)) + (px(rd, cr) - px(rd, cl));
            dy[r * w + c] =
                (px(rd, cl) - px(ru, cl)) + 2 * (px(rd, c) - px(ru, c)) + (px(rd, cr) - px(ru, cr));
        }
    }
    let mag: Vec<i64> = dx.iter().zip(&dy).map(|(a, b)| a.abs() + b.abs()).collect();
    // Magnitude with zeros outside the image, as OpenCV's padded buffer.
    let m = |r: isize, c: isize| -> i64 {
        if r < 0 || c < 0 || r >= h as isize || c >= w as isize {
            0
        } else {
            mag[r as usize * w + c as usize]
        }
    };
    let mut candidate = vec![false; w * h];
    let mut stack = Vec::new();
    let mut edge = vec![false; w * h];
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            let v = mag[i];
            if v <= low {
                continue;
            }
            let (ri, ci) = (r as isize, c as isize);
            let ax = dx[i].abs();
            let ay = dy[i].abs() << 15;
            let tg22x = ax * TG22;
            let keep = if ay < tg22x {
                v > m(ri, ci - 1) && v >= m(ri, ci + 1)
            } else if ay > tg22x + (ax << 16) {
                v > m(ri - 1, ci) && v >= m(ri + 1, ci)
            } else {
                // Same signs (zero counts as positive): the "\" diagonal, else "/".
                let s: isize = if (dx[i] ^ dy[i]) >= 0 { 1 } else { -1 };
                v > m(ri - 1, ci - s) && v > m(ri + 1, ci + s)
            };
            if keep {
                candidate[i] = true;
                if v > high {
                    edge[i] = true;
                    stack.push(i);
                }
            }
        }
    }
    // Hysteresis: grow edges into 8-connected candidates.
    while let Some(i) = stack.pop() {
        let (r, c) = ((i / w) as isize, (i % w) as isize);
        for dr in -1..=1isize {
            for dc in -1..=1isize {
                let (a, b) = (r + dr, c + dc);
                if a < 0 || b < 0 || a >= h as isize || b >= w as isize {
                    continue;
                }
                let j = a as usize * w + b as usize;
                if candidate[j] && !edge[j] {
                    edge[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    for (o, &e) in out.iter_mut().zip(&edge) {
        *o = if e { 255 } else { 0 };
    }
    out
}
