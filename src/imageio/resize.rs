//! Bringing an image to a square training size: resize the short side, then crop the
//! centre, as CartoonGAN's data preparation does.

use image::RgbImage;
use image::imageops::{self, FilterType};

/// Filter used to resize training images. Catmull-Rom (bicubic, a = -0.5) is sharp without
/// the ringing of Lanczos3, and is what PIL's and OpenCV's "bicubic" approximate.
pub const TRAINING_RESIZE_FILTER: FilterType = FilterType::CatmullRom;

/// Resizes `img` so its short side is `size` (aspect kept, rounded to the nearest pixel),
/// then crops the centre `size`x`size` square. An image already `size`x`size` is returned
/// as is; smaller images are upscaled.
pub fn resize_center_crop(img: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    if (w, h) == (size, size) || w == 0 || h == 0 || size == 0 {
        return if w == 0 || h == 0 || size == 0 {
            RgbImage::new(size, size)
        } else {
            img.clone()
        };
    }
    let scale = f64::from(size) / f64::from(w.min(h));
    let nw = ((f64::from(w) * scale).round() as u32).max(size);
    let nh = ((f64::from(h) * scale).round() as u32).max(size);
    let resized = imageops::resize(img, nw, nh, TRAINING_RESIZE_FILTER);
    let (x0, y0) = ((nw - size) / 2, (nh - size) / 2);
    imageops::crop_imm(&resized, x0, y0, size, size).to_image()
}

/// Scales a decoded image down so its longer side is at most `max_side` (aspect kept,
/// sides rounded to the nearest pixel, at least 1), with the training resize filter; an image
/// already small enough is returned unchanged. Alpha is scaled the same way.
pub fn fit_within(img: super::DecodedImage, max_side: u32) -> super::DecodedImage {
    let (w, h) = (img.width, img.height);
    if w.max(h) <= max_side || max_side == 0 {
        return img;
    }
    let scale = f64::from(max_side) / f64::from(w.max(h));
    let nw = ((f64::from(w) * scale).round() as u32).clamp(1, max_side);
    let nh = ((f64::from(h) * scale).round() as u32).clamp(1, max_side);
    let rgb = image::Rgb32FImage::from_raw(w, h, img.rgb)
        .map(|i| imageops::resize(&i, nw, nh, TRAINING_RESIZE_FILTER).into_raw())
        .unwrap_or_default();
    let alpha = img.alpha.and_then(|a| {
        image::ImageBuffer::<image::Luma<f32>, Vec<f32>>::from_raw(w, h, a)
            .map(|i| imageops::resize(&i, nw, nh, TRAINING_RESIZE_FILTER).into_raw())
    });
    // Bicubic overshoot: keep values in [0, 1] as decoded images are.
    let clamp = |v: Vec<f32>| {
        v.into_iter()
            .map(|x| x.clamp(0.0, 1.0))
            .collect::<Vec<f32>>()
    };
    super::DecodedImage {
        width: nw,
        height: nh,
        rgb: clamp(rgb),
        alpha: alpha.map(clamp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_within_keeps_the_aspect_and_small_images() {
        let img = super::super::DecodedImage {
            width: 1200,
            height: 801,
            rgb: vec![0.5; 1200 * 801 * 3],
            alpha: Some(vec![1.0; 1200 * 801]),
        };
        let out = fit_within(img.clone(), 450);
        assert_eq!((out.width, out.height), (450, 300));
        assert_eq!(out.rgb.len(), 450 * 300 * 3);
        assert!(out.rgb.iter().all(|&v| (v - 0.5).abs() < 1e-5));
        assert_eq!(out.alpha.as_ref().map(Vec::len), Some(450 * 300));
        let same = fit_within(img, 1200);
        assert_eq!((same.width, same.height), (1200, 801));
    }

    #[test]
    fn landscape_becomes_square_from_the_centre() {
        // Left third red, middle green, right third blue: the centre crop is all green.
        let img = RgbImage::from_fn(300, 100, |x, _| match x / 100 {
            0 => image::Rgb([255, 0, 0]),
            1 => image::Rgb([0, 255, 0]),
            _ => image::Rgb([0, 0, 255]),
        });
        let out = resize_center_crop(&img, 50);
        assert_eq!(out.dimensions(), (50, 50));
        assert_eq!(out.get_pixel(25, 25).0, [0, 255, 0]);
        assert_eq!(out.get_pixel(10, 40).0, [0, 255, 0]);
        assert_eq!(resize_center_crop(&out, 50), out);
    }
}
