//! [`Translator`]s running a CartoonGAN [`Generator`] or a CycleGAN [`ResnetGenerator`] on any
//! burn backend.

use burn::tensor::{Tensor, TensorData, backend::Backend};

use super::Translator;
use crate::model::{ChannelOrder, Generator, GeneratorConfig, ResnetGenerator};

/// Runs a generator on a burn backend (CPU or CUDA).
#[derive(Debug)]
pub struct BurnTranslator<B: Backend> {
    generator: Generator<B>,
    order: ChannelOrder,
    device: B::Device,
    batch_bytes: usize,
}

impl<B: Backend> BurnTranslator<B> {
    /// Wraps a generator; `config` says which channel order it expects. Video frames go one
    /// at a time until [`Self::with_frame_batches`].
    pub fn new(generator: Generator<B>, config: &GeneratorConfig, device: B::Device) -> Self {
        Self {
            generator,
            order: config.channel_order,
            device,
            batch_bytes: 0,
        }
    }

    /// Gives video frames to the generator in batches whose activations take about
    /// `memory_bytes` (see [`frames_per_batch`]).
    pub fn with_frame_batches(mut self, memory_bytes: usize) -> Self {
        self.batch_bytes = memory_bytes;
        self
    }
}

/// The largest number of frames batched together.
pub const MAX_FRAME_BATCH: usize = 16;

/// Device memory a frame batch may take on a GPU (`inference::load_translator`), about
/// 4 frames at 720p, 10 at 480p and 2 at 1080p.
pub const GPU_FRAME_BATCH_BYTES: usize = 4 << 30;

/// Frames of `width`x`height` that fit in `memory_bytes` of activations, 1 to
/// [`MAX_FRAME_BATCH`]. The estimate, 1 KiB per pixel, is four float tensors of 64 channels
/// at full resolution: the widest layers of both generators (the first and last blocks),
/// live at once during a forward pass.
pub fn frames_per_batch(memory_bytes: usize, width: usize, height: usize) -> usize {
    const BYTES_PER_PIXEL: usize = 4 * 64 * std::mem::size_of::<f32>();
    let per_frame = (width * height * BYTES_PER_PIXEL).max(1);
    (memory_bytes / per_frame).clamp(1, MAX_FRAME_BATCH)
}

/// Runs `forward` on images of one size stacked as one NCHW batch in [-1, 1], each converted
/// with `order`, and splits the result back into interleaved RGB in [0, 1].
fn translate_stacked<B: Backend>(
    images: &[&[f32]],
    width: usize,
    height: usize,
    order: ChannelOrder,
    device: &B::Device,
    forward: impl FnOnce(Tensor<B, 4>) -> Tensor<B, 4>,
) -> Vec<Vec<f32>> {
    let mut input = Vec::with_capacity(images.len() * 3 * width * height);
    for rgb in images {
        input.extend(to_network_input(rgb, width, height, order));
    }
    let x = Tensor::<B, 4>::from_data(
        TensorData::new(input, [images.len(), 3, height, width]),
        device,
    );
    let planar: Vec<f32> = forward(x)
        .into_data()
        .convert::<f32>()
        .into_vec()
        .expect("float output");
    planar
        .chunks_exact(3 * width * height)
        .map(|one| from_network_output(one, width, height, order))
        .collect()
}

/// Converts interleaved RGB in [0, 1] to an NCHW batch of one in [-1, 1] in `order`.
pub fn to_network_input(rgb: &[f32], width: usize, height: usize, order: ChannelOrder) -> Vec<f32> {
    let n = width * height;
    let mut planar = vec![0.0f32; 3 * n];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for c in 0..3 {
            planar[order.plane_of_rgb(c) * n + i] = px[c] * 2.0 - 1.0;
        }
    }
    planar
}

/// Converts a planar network output in [-1, 1] back to interleaved RGB in [0, 1].
pub fn from_network_output(
    planar: &[f32],
    width: usize,
    height: usize,
    order: ChannelOrder,
) -> Vec<f32> {
    let n = width * height;
    let mut rgb = vec![0.0f32; 3 * n];
    for i in 0..n {
        for c in 0..3 {
            rgb[i * 3 + c] = (planar[order.plane_of_rgb(c) * n + i] + 1.0) * 0.5;
        }
    }
    rgb
}

impl<B: Backend> Translator for BurnTranslator<B>
where
    Generator<B>: Sync + Send,
    B::Device: Sync + Send,
{
    fn translate(&self, rgb: &[f32], width: usize, height: usize) -> Vec<f32> {
        self.translate_batch(&[rgb], width, height).remove(0)
    }

    fn frame_batch(&self, width: usize, height: usize) -> usize {
        frames_per_batch(self.batch_bytes, width, height)
    }

    fn translate_batch(&self, images: &[&[f32]], width: usize, height: usize) -> Vec<Vec<f32>> {
        translate_stacked(images, width, height, self.order, &self.device, |x| {
            self.generator.forward(x)
        })
    }
}

/// Runs a CycleGAN [`ResnetGenerator`] (RGB in and out, values in [-1, 1]) on a burn backend.
#[derive(Debug)]
pub struct ResnetTranslator<B: Backend> {
    generator: ResnetGenerator<B>,
    device: B::Device,
    batch_bytes: usize,
}

impl<B: Backend> ResnetTranslator<B> {
    /// Wraps a ResNet generator. Video frames go one at a time until
    /// [`Self::with_frame_batches`].
    pub fn new(generator: ResnetGenerator<B>, device: B::Device) -> Self {
        Self {
            generator,
            device,
            batch_bytes: 0,
        }
    }

    /// Gives video frames to the generator in batches whose activations take about
    /// `memory_bytes` (see [`frames_per_batch`]).
    pub fn with_frame_batches(mut self, memory_bytes: usize) -> Self {
        self.batch_bytes = memory_bytes;
        self
    }
}

impl<B: Backend> Translator for ResnetTranslator<B>
where
    ResnetGenerator<B>: Sync + Send,
    B::Device: Sync + Send,
{
    fn translate(&self, rgb: &[f32], width: usize, height: usize) -> Vec<f32> {
        self.translate_batch(&[rgb], width, height).remove(0)
    }

    fn frame_batch(&self, width: usize, height: usize) -> usize {
        frames_per_batch(self.batch_bytes, width, height)
    }

    fn translate_batch(&self, images: &[&[f32]], width: usize, height: usize) -> Vec<Vec<f32>> {
        translate_stacked(
            images,
            width,
            height,
            ChannelOrder::Rgb,
            &self.device,
            |x| self.generator.forward(x),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_batches_fit_the_memory_given() {
        assert_eq!(frames_per_batch(GPU_FRAME_BATCH_BYTES, 1280, 720), 4);
        assert_eq!(frames_per_batch(GPU_FRAME_BATCH_BYTES, 854, 480), 10);
        assert_eq!(frames_per_batch(GPU_FRAME_BATCH_BYTES, 1920, 1080), 2);
        assert_eq!(
            frames_per_batch(GPU_FRAME_BATCH_BYTES, 64, 48),
            MAX_FRAME_BATCH
        );
        assert_eq!(
            frames_per_batch(0, 64, 48),
            1,
            "no memory given: one at a time"
        );
    }
}
