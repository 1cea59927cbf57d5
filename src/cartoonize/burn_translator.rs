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
}

impl<B: Backend> BurnTranslator<B> {
    /// Wraps a generator; `config` says which channel order it expects.
    pub fn new(generator: Generator<B>, config: &GeneratorConfig, device: B::Device) -> Self {
        Self {
            generator,
            order: config.channel_order,
            device,
        }
    }
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
        let input = to_network_input(rgb, width, height, self.order);
        let x =
            Tensor::<B, 4>::from_data(TensorData::new(input, [1, 3, height, width]), &self.device);
        let y = self.generator.forward(x);
        let planar: Vec<f32> = y
            .into_data()
            .convert::<f32>()
            .into_vec()
            .expect("float output");
        from_network_output(&planar, width, height, self.order)
    }
}

/// Runs a CycleGAN [`ResnetGenerator`] (RGB in and out, values in [-1, 1]) on a burn backend.
#[derive(Debug)]
pub struct ResnetTranslator<B: Backend> {
    generator: ResnetGenerator<B>,
    device: B::Device,
}

impl<B: Backend> ResnetTranslator<B> {
    /// Wraps a ResNet generator.
    pub fn new(generator: ResnetGenerator<B>, device: B::Device) -> Self {
        Self { generator, device }
    }
}

impl<B: Backend> Translator for ResnetTranslator<B>
where
    ResnetGenerator<B>: Sync + Send,
    B::Device: Sync + Send,
{
    fn translate(&self, rgb: &[f32], width: usize, height: usize) -> Vec<f32> {
        let input = to_network_input(rgb, width, height, ChannelOrder::Rgb);
        let x =
            Tensor::<B, 4>::from_data(TensorData::new(input, [1, 3, height, width]), &self.device);
        let planar: Vec<f32> = self
            .generator
            .forward(x)
            .into_data()
            .convert::<f32>()
            .into_vec()
            .expect("float output");
        from_network_output(&planar, width, height, ChannelOrder::Rgb)
    }
}
