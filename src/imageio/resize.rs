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

#[cfg(test)]
mod tests {
    use super::*;

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
