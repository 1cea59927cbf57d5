//! SSIM (Wang, Bovik, Sheikh and Simoncelli 2004, "Image quality assessment: from error
//! visibility to structural similarity") as their reference `ssim.m`: an 11x11 Gaussian
//! window (σ = 1.5), K1 = 0.01, K2 = 0.03, L = 255, the mean of the map over the 'valid'
//! region, on the luma 0.299 R + 0.587 G + 0.114 B of 8-bit RGB. `tests/distill.rs` holds it
//! to a plain-Python float64 reference (`tools/make_paired_metrics_fixture.py`).

use image::RgbImage;

/// Window radius (an 11x11 window).
const RADIUS: usize = 5;
/// Standard deviation of the Gaussian window.
const SIGMA: f64 = 1.5;

/// Mean SSIM of two images of one size, at least 11x11; `None` otherwise.
pub fn ssim(a: &RgbImage, b: &RgbImage) -> Option<f64> {
    let (w, h) = (a.width() as usize, a.height() as usize);
    let side = 2 * RADIUS + 1;
    if a.dimensions() != b.dimensions() || w < side || h < side {
        return None;
    }
    let luma = |img: &RgbImage| -> Vec<f64> {
        img.pixels()
            .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
            .collect()
    };
    let (x, y) = (luma(a), luma(b));
    let k: Vec<f64> = (0..side)
        .map(|i| {
            let d = i as f64 - RADIUS as f64;
            (-(d * d) / (2.0 * SIGMA * SIGMA)).exp()
        })
        .collect();
    let total: f64 = k.iter().sum::<f64>().powi(2);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (ow, oh) = (w - 2 * RADIUS, h - 2 * RADIUS);
    let mut sum = 0.0;
    for oy in 0..oh {
        for ox in 0..ow {
            let (mut mx, mut my, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (j, kj) in k.iter().enumerate() {
                let row = (oy + j) * w + ox;
                for (i, ki) in k.iter().enumerate() {
                    let wt = kj * ki / total;
                    let (u, v) = (x[row + i], y[row + i]);
                    mx += wt * u;
                    my += wt * v;
                    sxx += wt * u * u;
                    syy += wt * v * v;
                    sxy += wt * u * v;
                }
            }
            let (vx, vy, cxy) = (sxx - mx * mx, syy - my * my, sxy - mx * my);
            sum += ((2.0 * mx * my + c1) * (2.0 * cxy + c2))
                / ((mx * mx + my * my + c1) * (vx + vy + c2));
        }
    }
    Some(sum / (ow * oh) as f64)
}
