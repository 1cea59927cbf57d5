//! Sample grids: each fixed validation photo next to what the generator makes of it
//! (photo | generated), one row per photo, written as PNG.

use std::path::Path;

use super::TrainError;

/// Writes a grid PNG from photo and generated planes (NCHW in [-1, 1], RGB, `n` images of
/// `size`²): row i = photo i | generated i.
pub fn write_grid(
    path: &Path,
    photos: &[f32],
    generated: &[f32],
    n: usize,
    size: usize,
) -> Result<(), TrainError> {
    let (w, h) = (2 * size, n * size);
    let mut rgb = vec![0.0f32; w * h * 3];
    let plane = size * size;
    for i in 0..n {
        for (col, src) in [photos, generated].into_iter().enumerate() {
            let img = &src[i * 3 * plane..(i + 1) * 3 * plane];
            for y in 0..size {
                for x in 0..size {
                    let o = ((i * size + y) * w + col * size + x) * 3;
                    for c in 0..3 {
                        rgb[o + c] = ((img[c * plane + y * size + x] + 1.0) * 0.5).clamp(0.0, 1.0);
                    }
                }
            }
        }
    }
    crate::imageio::encode_image(path, w as u32, h as u32, &rgb, None)
        .map_err(|e| TrainError::output(path, e))
}
