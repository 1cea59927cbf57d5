//! Which code runs a generator: the one place that turns "this generator, on this device,
//! with this engine" into a [`Translator`], for `toongan cartoonize`, the experiment runner and
//! the studio alike.
//!
//! On the CPU a CartoonGAN generator runs on toongan's inference engine
//! ([`CpuGenerator`], [`CpuEngine::Fast`]) unless burn is asked for ([`CpuEngine::Burn`]: burn's
//! FastCpu backend, for comparisons); CycleGAN's ResNet generators run on burn. On a GPU
//! (CUDA, wgpu) every generator runs on burn on that device, with video frames in batches
//! ([`GPU_FRAME_BATCH_BYTES`]).

use std::path::PathBuf;

use burn::tensor::backend::Backend;

use crate::backend::{BackendTask, Cpu, DeviceChoice, DeviceError};
use crate::cartoonize::{BurnTranslator, GPU_FRAME_BATCH_BYTES, ResnetTranslator, Translator};
use crate::engine::{CpuGenerator, EngineError};
use crate::model::GeneratorConfig;
use crate::weights::{
    TrainedGenerator, WeightsError, load_published_generator, load_trained_generator,
};

/// Where a generator's weights come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GeneratorSource {
    /// A generator file written by `toongan train` (safetensors with its config).
    Trained(PathBuf),
    /// A published style's folder of `.npy` files (CartoonGAN, the published config).
    Published(PathBuf),
}

impl GeneratorSource {
    /// Reads the generator, whichever architecture it holds, onto `device`.
    pub fn load<B: Backend>(
        &self,
        device: &B::Device,
    ) -> Result<TrainedGenerator<B>, WeightsError> {
        Ok(match self {
            GeneratorSource::Trained(path) => load_trained_generator::<B>(path, device)?,
            GeneratorSource::Published(dir) => TrainedGenerator::Cartoongan(
                load_published_generator::<B>(dir, device)?,
                GeneratorConfig::published(),
            ),
        })
    }
}

/// Which code runs a CartoonGAN generator on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuEngine {
    /// toongan's inference engine ([`CpuGenerator`]).
    #[default]
    Fast,
    /// burn's FastCpu backend ([`BurnTranslator`]), for comparisons.
    Burn,
}

/// Why a generator cannot be made into a translator.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// The weights cannot be read (boxed: the error is large).
    #[error(transparent)]
    Weights(Box<WeightsError>),
    /// The inference engine cannot run this generator.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The device cannot be used.
    #[error(transparent)]
    Device(#[from] DeviceError),
}

impl From<WeightsError> for InferenceError {
    fn from(e: WeightsError) -> Self {
        InferenceError::Weights(Box::new(e))
    }
}

/// The translator for the generator `source` on `device`, CartoonGAN generators on the CPU
/// running on `engine`.
pub fn load_translator(
    source: &GeneratorSource,
    device: DeviceChoice,
    engine: CpuEngine,
) -> Result<Box<dyn Translator>, InferenceError> {
    match (device, engine) {
        (DeviceChoice::Cpu, CpuEngine::Fast) => {
            Ok(match source.load::<Cpu>(&Default::default())? {
                TrainedGenerator::Cartoongan(g, config) => {
                    Box::new(CpuGenerator::from_generator(&g, &config)?)
                }
                TrainedGenerator::Resnet(g, _) => {
                    Box::new(ResnetTranslator::new(g, Default::default()))
                }
            })
        }
        (device, _) => {
            // GPUs take video frames in batches; on the CPU every core already works on each
            // frame.
            let frame_batch_bytes = match device {
                DeviceChoice::Cpu => 0,
                DeviceChoice::Cuda(_) | DeviceChoice::Wgpu(_) => GPU_FRAME_BATCH_BYTES,
            };
            device.run(BurnTask {
                source,
                frame_batch_bytes,
            })?
        }
    }
}

/// Loads the generator on the device's burn backend and wraps it as a translator.
struct BurnTask<'a> {
    source: &'a GeneratorSource,
    frame_batch_bytes: usize,
}

impl BackendTask for BurnTask<'_> {
    type Output = Result<Box<dyn Translator>, InferenceError>;

    fn run<B: Backend>(self, device: B::Device) -> Self::Output {
        let batches = self.frame_batch_bytes;
        Ok(match self.source.load::<B>(&device)? {
            TrainedGenerator::Cartoongan(g, config) => {
                Box::new(BurnTranslator::new(g, &config, device).with_frame_batches(batches))
            }
            TrainedGenerator::Resnet(g, _) => {
                Box::new(ResnetTranslator::new(g, device).with_frame_batches(batches))
            }
        })
    }
}
