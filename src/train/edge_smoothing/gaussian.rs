//! `cv2.GaussianBlur(img, (k, k), 0)` on 8-bit RGB for k = 3, 5, 7, bit-exact: OpenCV's
//! fixed-point path uses the small-kernel table of `getGaussianKernel`, which for these
//! sizes is an integer kernel whose sum is a power of two, so the result is the exact
//! integer sum rounded half up.

use image::RgbImage;

/// The integer 1-D kernels of `getGaussianKernel(k, 0)` for k = 3, 5, 7 (sum a power of 2).
pub(crate) fn integer_kernel(size: usize) -> Option<&'static [i64]> {
    match size {
        3 => Some(&[1, 2, 1]),
        5 => Some(&[1, 4, 6, 4, 1]),
        7 => Some(&[2, 7, 14, 18, 14, 7, 2]),
        _ => None,
    }
}

/// Index of `i` mirrored into `0..n` without repeating the edge (BORDER_REFLECT_101).
fn reflect101(i: isize, n: usize) -> usize {
    let n = n as isize;
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let mut j = i.rem_euclid(period);
    if j >= n {
        j = period - j;
    }
    j as usize
}

/// Separable Gaussian blur of every channel with `kernel` (sum 2^b), BORDER_REFLECT_101,
/// result `(S + 2^(2b-1)) >> 2b` where S is the exact 2-D integer sum.
pub(crate) fn gaussian_blur(img: &RgbImage, kernel: &[i64]) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let shift = 2 * kernel.iter().sum::<i64>().trailing_zeros();
    let r = (kernel.len() / 2) as isize;
    let src = img.as_raw();
    // Vertical pass into exact integer rows, then horizontal pass.
    let mut rows = vec![0i64; w * h * 3];
    for y in 0..h {
        for (u, &k) in kernel.iter().enumerate() {
            let sy = reflect101(y as isize + u as isize - r, h);
            let (dst, line) = (
                &mut rows[y * w * 3..(y + 1) * w * 3],
                &src[sy * w * 3..(sy + 1) * w * 3],
            );
            for (d, &s) in dst.iter_mut().zip(line) {
                *d += k * i64::from(s);
            }
        }
    }
    let mut out = RgbImage::new(img.width(), img.height());
    let dst = &mut *out;
    let half = 1i64 << (shift - 1);
    for y in 0..h {
        for x in 0..w {
            for ch in 0..3 {
                let mut s = 0i64;
                for (v, &k) in kernel.iter().enumerate() {
                    let sx = reflect101(x as isize + v as isize - r, w);
                    s += k * rows[(y * w + sx) * 3 + ch];
                }
                dst[(y * w + x) * 3 + ch] = ((s + half) >> shift) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect101_mirrors_without_repeating_the_edge() {
        let idx: Vec<usize> = (-3..8).map(|i| reflect101(i, 5)).collect();
        assert_eq!(idx, [3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
        assert_eq!(reflect101(-2, 1), 0);
    }

    #[test]
    fn constant_image_stays_constant() {
        let img = RgbImage::from_pixel(7, 4, image::Rgb([9, 200, 255]));
        for k in [3, 5, 7] {
            assert_eq!(gaussian_blur(&img, integer_kernel(k).unwrap()), img);
        }
    }
}
