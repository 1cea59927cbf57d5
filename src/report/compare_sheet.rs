//! A comparison sheet: the photo and its cartoons side by side, each column labelled (as
//! mnicnc404/CartoonGan-tensorflow's `--comparison_view`).

use image::{Rgb, RgbImage};

use super::font::bundled_font;

/// Height of the label bar above the images.
pub const LABEL_BAR: u32 = 28;
const GAP: u32 = 4;

/// Lays `columns` (label, image) out left to right on white, each image under its label,
/// top-aligned; the sheet is as tall as the tallest image plus the label bar.
pub fn compare_sheet(columns: &[(String, RgbImage)]) -> RgbImage {
    let width: u32 = columns.iter().map(|(_, i)| i.width()).sum::<u32>()
        + GAP * columns.len().saturating_sub(1) as u32;
    let height = LABEL_BAR + columns.iter().map(|(_, i)| i.height()).max().unwrap_or(0);
    let mut sheet = RgbImage::from_pixel(width.max(1), height, Rgb([255, 255, 255]));
    let font = bundled_font();
    let mut x = 0u32;
    for (label, img) in columns {
        image::imageops::replace(&mut sheet, img, i64::from(x), i64::from(LABEL_BAR));
        imageproc::drawing::draw_text_mut(
            &mut sheet,
            Rgb([0, 0, 0]),
            x as i32 + 6,
            5,
            18.0,
            &font,
            label,
        );
        x += img.width() + GAP;
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_placed_side_by_side_under_labels() {
        let red = RgbImage::from_pixel(40, 30, Rgb([255, 0, 0]));
        let blue = RgbImage::from_pixel(40, 30, Rgb([0, 0, 255]));
        let sheet = compare_sheet(&[("photo".into(), red), ("hayao".into(), blue)]);
        assert_eq!(sheet.dimensions(), (84, 30 + LABEL_BAR));
        assert_eq!(sheet.get_pixel(20, LABEL_BAR + 10).0, [255, 0, 0]);
        assert_eq!(sheet.get_pixel(64, LABEL_BAR + 10).0, [0, 0, 255]);
        let dark = |x0: u32, x1: u32| {
            (x0..x1)
                .flat_map(|x| (0..LABEL_BAR).map(move |y| (x, y)))
                .filter(|&(x, y)| sheet.get_pixel(x, y).0[0] < 128)
                .count()
        };
        assert!(dark(0, 40) > 10, "no label over the first column");
        assert!(dark(44, 84) > 10, "no label over the second column");
    }
}
