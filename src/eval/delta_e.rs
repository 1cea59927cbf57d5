//! Colour difference ΔE between two images as CIEDE2000 in CIELAB (sRGB, D65 white), the
//! formula of CIE 142-2001 as written out by Sharma, Wu and Dalal (2005), "The CIEDE2000
//! color-difference formula: implementation notes, supplementary test data, and mathematical
//! observations"; `tests/distill.rs` checks rows of their test data and a plain-Python
//! float64 reference (`tools/make_paired_metrics_fixture.py`).

use image::RgbImage;

/// CIELAB (L*, a*, b*) of an 8-bit sRGB colour (IEC 61966-2-1 companding, D65 white).
pub fn srgb_to_lab(rgb: [u8; 3]) -> [f64; 3] {
    let lin = |v: u8| {
        let c = f64::from(v) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let [r, g, b] = rgb.map(lin);
    let x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
    let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    let z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
    let f = |t: f64| {
        let d = 6.0 / 29.0;
        if t > d * d * d {
            t.cbrt()
        } else {
            t / (3.0 * d * d) + 4.0 / 29.0
        }
    };
    let (fx, fy, fz) = (f(x / 0.95047), f(y), f(z / 1.08883));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIEDE2000 ΔE₀₀ between two CIELAB colours (kL = kC = kH = 1).
pub fn ciede2000(lab1: [f64; 3], lab2: [f64; 3]) -> f64 {
    let [l1, a1, b1] = lab1;
    let [l2, a2, b2] = lab2;
    let pow7 = |v: f64| v.powi(7);
    let p25 = pow7(25.0);
    let cbar7 = pow7((a1.hypot(b1) + a2.hypot(b2)) / 2.0);
    let g = 0.5 * (1.0 - (cbar7 / (cbar7 + p25)).sqrt());
    let (a1p, a2p) = ((1.0 + g) * a1, (1.0 + g) * a2);
    let (c1p, c2p) = (a1p.hypot(b1), a2p.hypot(b2));
    let hue = |b: f64, ap: f64| {
        if b == 0.0 && ap == 0.0 {
            return 0.0;
        }
        let h = b.atan2(ap).to_degrees();
        if h < 0.0 { h + 360.0 } else { h }
    };
    let (h1p, h2p) = (hue(b1, a1p), hue(b2, a2p));
    let dl = l2 - l1;
    let dc = c2p - c1p;
    let zero_chroma = c1p * c2p == 0.0;
    let dh = if zero_chroma {
        0.0
    } else if (h2p - h1p).abs() <= 180.0 {
        h2p - h1p
    } else if h2p - h1p > 180.0 {
        h2p - h1p - 360.0
    } else {
        h2p - h1p + 360.0
    };
    let big_dh = 2.0 * (c1p * c2p).sqrt() * (dh / 2.0).to_radians().sin();
    let lbar = (l1 + l2) / 2.0;
    let cbarp = (c1p + c2p) / 2.0;
    let hbar = if zero_chroma {
        h1p + h2p
    } else if (h1p - h2p).abs() <= 180.0 {
        (h1p + h2p) / 2.0
    } else if h1p + h2p < 360.0 {
        (h1p + h2p + 360.0) / 2.0
    } else {
        (h1p + h2p - 360.0) / 2.0
    };
    let cos = |deg: f64| deg.to_radians().cos();
    let t = 1.0 - 0.17 * cos(hbar - 30.0) + 0.24 * cos(2.0 * hbar) + 0.32 * cos(3.0 * hbar + 6.0)
        - 0.20 * cos(4.0 * hbar - 63.0);
    let dtheta = 30.0 * (-((hbar - 275.0) / 25.0).powi(2)).exp();
    let cbarp7 = pow7(cbarp);
    let rc = 2.0 * (cbarp7 / (cbarp7 + p25)).sqrt();
    let l50 = (lbar - 50.0).powi(2);
    let sl = 1.0 + 0.015 * l50 / (20.0 + l50).sqrt();
    let sc = 1.0 + 0.045 * cbarp;
    let sh = 1.0 + 0.015 * cbarp * t;
    let rt = -(2.0 * dtheta).to_radians().sin() * rc;
    let (x, y, z) = (dl / sl, dc / sc, big_dh / sh);
    (x * x + y * y + z * z + rt * y * z).sqrt()
}

/// Mean CIEDE2000 over the pixels of two images of one size; `None` if the sizes differ.
pub fn mean_ciede2000(a: &RgbImage, b: &RgbImage) -> Option<f64> {
    if a.dimensions() != b.dimensions() || a.width() == 0 || a.height() == 0 {
        return None;
    }
    let sum: f64 = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| ciede2000(srgb_to_lab(p.0), srgb_to_lab(q.0)))
        .sum();
    Some(sum / f64::from(a.width() * a.height()))
}
