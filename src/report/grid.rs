//! A side-by-side sample grid: one row per test photo, one column per image source (the photo,
//! then each variant's output), every cell resized to the same square.

use image::{RgbImage, imageops};

/// Builds a grid image cell by cell.
#[derive(Debug)]
pub struct SampleGrid {
    cell: u32,
    gap: u32,
    rows: Vec<Vec<Option<RgbImage>>>,
}

impl SampleGrid {
    /// An empty grid whose cells are `cell`x`cell` pixels, `gap` pixels apart.
    pub fn new(cell: u32, gap: u32) -> Self {
        Self {
            cell,
            gap,
            rows: Vec::new(),
        }
    }

    /// Appends a row; `None` leaves a cell blank (a variant that has no output for that photo).
    pub fn push_row(&mut self, cells: Vec<Option<RgbImage>>) {
        self.rows.push(cells);
    }

    /// Renders the grid on a white background; each cell is the image fitted into the square,
    /// aspect kept, centred.
    pub fn render(&self) -> RgbImage {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let step = self.cell + self.gap;
        let width = (cols * step + self.gap).max(1);
        let height = (self.rows.len() as u32 * step + self.gap).max(1);
        let mut canvas = RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
        for (r, row) in self.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let Some(img) = cell else { continue };
                let scale = self.cell as f32 / img.width().max(img.height()) as f32;
                let w = ((img.width() as f32 * scale).round() as u32).clamp(1, self.cell);
                let h = ((img.height() as f32 * scale).round() as u32).clamp(1, self.cell);
                let small = imageops::resize(img, w, h, imageops::FilterType::Triangle);
                let x = self.gap + c as u32 * step + (self.cell - w) / 2;
                let y = self.gap + r as u32 * step + (self.cell - h) / 2;
                imageops::overlay(&mut canvas, &small, x as i64, y as i64);
            }
        }
        canvas
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_land_where_expected() {
        let mut g = SampleGrid::new(10, 2);
        let red = RgbImage::from_pixel(20, 20, image::Rgb([255, 0, 0]));
        let blue = RgbImage::from_pixel(5, 5, image::Rgb([0, 0, 255]));
        g.push_row(vec![Some(red), None, Some(blue)]);
        let out = g.render();
        assert_eq!(out.dimensions(), (3 * 12 + 2, 14));
        assert_eq!(out.get_pixel(2 + 5, 2 + 5).0, [255, 0, 0]);
        assert_eq!(out.get_pixel(14 + 5, 2 + 5).0, [255, 255, 255]);
        assert_eq!(out.get_pixel(26 + 5, 2 + 5).0, [0, 0, 255]);
    }
}
