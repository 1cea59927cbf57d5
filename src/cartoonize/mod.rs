//! Turning photos into cartoons with a trained or published generator: the translator
//! abstraction, padding and tiling of whole images, and batch processing of many files.

mod batch;
pub(crate) mod burn_translator;
mod inputs;
mod isolate;
mod temporal;
pub mod video;
mod whole_image;

pub use batch::{BatchOptions, BatchSummary, InputFile, plan_outputs, run_batch};
pub use burn_translator::{
    BurnTranslator, GPU_FRAME_BATCH_BYTES, MAX_FRAME_BATCH, ResnetTranslator, frames_per_batch,
};
pub use inputs::collect_batch_inputs;
pub use isolate::isolated;
pub use temporal::TemporalStats;
pub use whole_image::{
    TileOptions, cartoonize_frame, cartoonize_frames_together, cartoonize_image,
};

/// Turns an RGB image into a cartoon of the same size.
///
/// `rgb` is interleaved RGB in [0, 1], row-major, `width`x`height` with both sides multiples
/// of 4; the result has the same layout. Implementations handle the model's own channel
/// order and value range.
pub trait Translator: Send + Sync {
    /// Translates one image.
    fn translate(&self, rgb: &[f32], width: usize, height: usize) -> Vec<f32>;

    /// The same result as [`Self::translate`] on an image larger than `tile`, computed in
    /// bounded memory with each normalization's statistics over the whole image, when the
    /// translator can (`None`: the caller runs overlapping tiles, each normalized on its
    /// own). `tile` also caps the work per step (smaller: more, smaller bands).
    fn translate_large(
        &self,
        _rgb: &[f32],
        _width: usize,
        _height: usize,
        _tile: usize,
    ) -> Option<Vec<f32>> {
        None
    }

    /// [`Self::translate`] for one frame of a video, with the normalization statistics
    /// smoothed over the frames by `stats`. Translators without instance norms to smooth
    /// return the image result.
    fn translate_frame(
        &self,
        rgb: &[f32],
        width: usize,
        height: usize,
        _stats: &mut TemporalStats,
    ) -> Vec<f32> {
        self.translate(rgb, width, height)
    }

    /// How many frames of `width`x`height` to give [`Self::translate_batch`] at once; 1 (the
    /// default) translates video frames one at a time. GPU translators batch, which keeps the
    /// device busy while the host decodes, blends and encodes.
    fn frame_batch(&self, _width: usize, _height: usize) -> usize {
        1
    }

    /// Translates images of one size together, each with the result [`Self::translate`]
    /// gives it alone (instance norms are per image) up to float rounding.
    fn translate_batch(&self, images: &[&[f32]], width: usize, height: usize) -> Vec<Vec<f32>> {
        images
            .iter()
            .map(|rgb| self.translate(rgb, width, height))
            .collect()
    }
}
