//! Cartoonizing one whole image of any size: reflection-pad to a multiple of 4, run the
//! image whole, or when it is larger than the tile, in bands with whole-image normalization
//! statistics (CPU engine) or in overlapping blended tiles (other translators), crop back.

use std::borrow::Cow;

use super::{TemporalStats, Translator};
use crate::imageio::tiling::{TileBlender, TilePlan};

/// How large images are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileOptions {
    /// Largest tile side in pixels (a multiple of 4); images of at most `tile`² pixels run
    /// whole.
    pub tile: usize,
    /// Overlap between neighbouring tiles, blended with linear ramps.
    pub overlap: usize,
}

impl Default for TileOptions {
    fn default() -> Self {
        Self {
            tile: 1024,
            overlap: 64,
        }
    }
}

/// Reflects index `i` into `0..n` without repeating the edge (PyTorch `ReflectionPad2d`),
/// falling back to edge replication for pads wider than the image.
fn reflect(i: usize, n: usize) -> usize {
    if i < n {
        return i;
    }
    let r = 2 * (n - 1) as isize - i as isize;
    r.clamp(0, n as isize - 1) as usize
}

/// Cartoonizes interleaved RGB in [0, 1] of any size; the result has exactly the input's size.
pub fn cartoonize_image(
    translator: &dyn Translator,
    rgb: &[f32],
    width: usize,
    height: usize,
    tiles: TileOptions,
) -> Vec<f32> {
    cartoonize_frame(translator, rgb, width, height, tiles, None)
}

/// [`cartoonize_image`] for a video frame: with `stats`, a frame that fits in one tile is
/// normalized with statistics smoothed over the frames ([`Translator::translate_frame`]);
/// larger frames and `None` give the image result.
pub fn cartoonize_frame(
    translator: &dyn Translator,
    rgb: &[f32],
    width: usize,
    height: usize,
    tiles: TileOptions,
    stats: Option<&mut TemporalStats>,
) -> Vec<f32> {
    let (pw, ph) = padded_size(width, height);
    let padded = pad_to_multiple_of_4(rgb, width, height);
    let plan = TilePlan::new(pw, ph, tiles.tile, tiles.overlap);
    let large = || translator.translate_large(&padded, pw, ph, tiles.tile);
    let full = if runs_whole(&plan, pw, ph, tiles) {
        match stats {
            Some(stats) => translator.translate_frame(&padded, pw, ph, stats),
            None => translator.translate(&padded, pw, ph),
        }
    } else if let Some(full) = large() {
        full
    } else {
        let mut blender = TileBlender::new(pw, ph, 3);
        let (tw, th) = (plan.tile_w, plan.tile_h);
        let mut tile = vec![0.0f32; tw * th * 3];
        for &y0 in &plan.ys {
            for &x0 in &plan.xs {
                for ty in 0..th {
                    let src = ((y0 + ty) * pw + x0) * 3;
                    tile[ty * tw * 3..(ty + 1) * tw * 3]
                        .copy_from_slice(&padded[src..src + tw * 3]);
                }
                let out = translator.translate(&tile, tw, th);
                blender.add(&plan, x0, y0, tw, th, &out, pw, ph);
            }
        }
        blender.finish()
    };
    crop(full, width, height)
}

/// [`cartoonize_frame`] without statistics for several frames of one size, given to the
/// translator together ([`Translator::translate_batch`]) when they run whole; frames larger
/// than the tile run one by one.
pub fn cartoonize_frames_together(
    translator: &dyn Translator,
    frames: &[&[f32]],
    width: usize,
    height: usize,
    tiles: TileOptions,
) -> Vec<Vec<f32>> {
    let (pw, ph) = padded_size(width, height);
    let plan = TilePlan::new(pw, ph, tiles.tile, tiles.overlap);
    if !runs_whole(&plan, pw, ph, tiles) {
        return frames
            .iter()
            .map(|rgb| cartoonize_frame(translator, rgb, width, height, tiles, None))
            .collect();
    }
    let padded: Vec<_> = frames
        .iter()
        .map(|rgb| pad_to_multiple_of_4(rgb, width, height))
        .collect();
    let inputs: Vec<&[f32]> = padded.iter().map(|p| &p[..]).collect();
    translator
        .translate_batch(&inputs, pw, ph)
        .into_iter()
        .map(|full| crop(full, width, height))
        .collect()
}

/// The image size rounded up to multiples of 4, as the generator needs.
fn padded_size(width: usize, height: usize) -> (usize, usize) {
    (width.div_ceil(4) * 4, height.div_ceil(4) * 4)
}

/// `rgb` reflection-padded on the right and bottom to [`padded_size`].
fn pad_to_multiple_of_4(rgb: &[f32], width: usize, height: usize) -> Cow<'_, [f32]> {
    let (pw, ph) = padded_size(width, height);
    if (pw, ph) == (width, height) {
        return rgb.into();
    }
    let mut out = Vec::with_capacity(pw * ph * 3);
    for y in 0..ph {
        let sy = reflect(y, height);
        for x in 0..pw {
            let sx = reflect(x, width);
            let i = (sy * width + sx) * 3;
            out.extend_from_slice(&rgb[i..i + 3]);
        }
    }
    out.into()
}

/// Whether an image of `pw`x`ph` (padded) runs in one piece. An image of at most tile²
/// pixels runs whole whatever its shape: its memory is that of one tile, and a long thin
/// image would otherwise pay the banded path's extra passes.
fn runs_whole(plan: &TilePlan, pw: usize, ph: usize, tiles: TileOptions) -> bool {
    plan.len() == 1 || pw * ph <= tiles.tile * tiles.tile
}

/// The top-left `width`x`height` of a padded result.
fn crop(full: Vec<f32>, width: usize, height: usize) -> Vec<f32> {
    let (pw, ph) = padded_size(width, height);
    if (pw, ph) == (width, height) {
        return full;
    }
    let mut out = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        out.extend_from_slice(&full[y * pw * 3..(y * pw + width) * 3]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Identity;
    impl Translator for Identity {
        fn translate(&self, rgb: &[f32], _w: usize, _h: usize) -> Vec<f32> {
            rgb.to_vec()
        }
    }

    #[test]
    fn tiling_and_padding_are_lossless_for_an_identity_translator() {
        let (w, h) = (301, 203);
        let rgb: Vec<f32> = (0..w * h * 3).map(|i| (i % 251) as f32 / 250.0).collect();
        for tiles in [
            TileOptions {
                tile: 64,
                overlap: 16,
            },
            TileOptions {
                tile: 128,
                overlap: 8,
            },
            TileOptions::default(),
        ] {
            let out = cartoonize_image(&Identity, &rgb, w, h, tiles);
            assert_eq!(out.len(), rgb.len());
            let worst = out
                .iter()
                .zip(&rgb)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "{tiles:?}: {worst}");
        }
    }

    #[test]
    fn tile_plans_cover_the_image_with_the_requested_overlap() {
        let plan = TilePlan::new(1000, 604, 256, 32);
        assert_eq!(*plan.xs.last().unwrap() + plan.tile_w, 1000);
        assert_eq!(*plan.ys.last().unwrap() + plan.tile_h, 604);
        for pair in plan.xs.windows(2) {
            assert!(pair[0] + plan.tile_w >= pair[1] + 32, "{:?}", plan.xs);
        }
        assert!(plan.xs.iter().chain(&plan.ys).all(|v| v % 4 == 0));
        assert_eq!(TilePlan::new(200, 100, 256, 32).len(), 1);
    }
}
