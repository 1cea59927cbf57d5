//! Turning photos into cartoons with a trained or published generator: the translator
//! abstraction, padding and tiling of whole images, and batch processing of many files.

pub mod batch;
pub mod burn_translator;
pub mod inputs;
pub mod isolate;
pub mod whole_image;

pub use batch::{BatchOptions, BatchSummary, InputFile, collect_inputs, plan_outputs, run_batch};
pub use burn_translator::{BurnTranslator, ResnetTranslator};
pub use inputs::collect_batch_inputs;
pub use whole_image::{TileOptions, cartoonize_image};

/// Turns an RGB image into a cartoon of the same size.
///
/// `rgb` is interleaved RGB in [0, 1], row-major, `width`x`height` with both sides multiples
/// of 4; the result has the same layout. Implementations handle the model's own channel
/// order and value range.
pub trait Translator: Send + Sync {
    /// Translates one image.
    fn translate(&self, rgb: &[f32], width: usize, height: usize) -> Vec<f32>;
}
