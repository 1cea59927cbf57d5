//! What the studio cartoonizes with: the published styles whose weights are on disk and the
//! latest generators of training runs under `--runs`, each loaded once onto the chosen device
//! the way `toongan cartoonize` loads it (the fast CPU engine for CartoonGAN generators on
//! the CPU, burn otherwise) and kept for the next request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::tensor::backend::Backend;

use super::StudioError;
use crate::backend::{BackendTask, Cpu, DeviceChoice};
use crate::cartoonize::{BurnTranslator, ResnetTranslator, Translator};
use crate::engine::CpuGenerator;
use crate::model::GeneratorConfig;
use crate::weights::{
    Style, StyleRegistry, TrainedGenerator, load_published_generator, load_trained_generator,
};

/// Generators kept in memory at most; the oldest loaded is dropped first.
pub const MAX_LOADED: usize = 6;

/// Where a generator's weights come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelSource {
    /// A published style (its folder is found and verified by the [`StyleRegistry`]).
    Style(Style),
    /// A generator file written by `toongan train`.
    Trained(PathBuf),
}

/// The generators the studio offers, loaded on first use.
pub struct Catalogue {
    registry: StyleRegistry,
    device: DeviceChoice,
    loaded: Mutex<Vec<(ModelSource, Arc<dyn Translator>)>>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("registry", &self.registry)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl Catalogue {
    /// A catalogue of the styles under `weights_dir` (or the user cache) on `device`. The
    /// studio never downloads: a style whose files are missing is not offered.
    pub fn new(weights_dir: Option<PathBuf>, device: DeviceChoice) -> Self {
        let registry = StyleRegistry {
            weights_dir,
            allow_download: false,
            ..StyleRegistry::default()
        };
        Self {
            registry,
            device,
            loaded: Mutex::new(Vec::new()),
        }
    }

    /// The styles whose weight folders are present (their hashes are checked on first use).
    pub fn styles(&self) -> Vec<Style> {
        Style::ALL
            .into_iter()
            .filter(|s| {
                [&self.registry.weights_dir, &self.registry.cache_dir]
                    .into_iter()
                    .flatten()
                    .any(|d| d.join(s.name()).join("conv01_1.weight.npy").is_file())
            })
            .collect()
    }

    /// The translator for `source`, loading it (blocking) the first time.
    pub fn translator(&self, source: &ModelSource) -> Result<Arc<dyn Translator>, StudioError> {
        if let Some(t) = self.cached(source) {
            return Ok(t);
        }
        let loaded: Arc<dyn Translator> =
            Arc::from(load_translator(&self.registry, source, self.device)?);
        let mut cache = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_LOADED {
            cache.remove(0);
        }
        cache.push((source.clone(), loaded.clone()));
        Ok(loaded)
    }

    fn cached(&self, source: &ModelSource) -> Option<Arc<dyn Translator>> {
        let cache = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .iter()
            .find(|(s, _)| s == source)
            .map(|(_, t)| t.clone())
    }
}

fn model_err(e: impl ToString) -> StudioError {
    StudioError::Model(e.to_string())
}

/// Reads the generator, whichever architecture it holds, onto `device`.
fn load_generator<B: Backend>(
    registry: &StyleRegistry,
    source: &ModelSource,
    device: &B::Device,
) -> Result<TrainedGenerator<B>, StudioError> {
    Ok(match source {
        ModelSource::Trained(path) => {
            load_trained_generator::<B>(path, device).map_err(model_err)?
        }
        ModelSource::Style(style) => {
            let dir = registry.locate(*style).map_err(model_err)?;
            TrainedGenerator::Cartoongan(
                load_published_generator::<B>(&dir, device).map_err(model_err)?,
                GeneratorConfig::published(),
            )
        }
    })
}

/// Loads the generator on a burn backend and wraps it as a translator.
struct BurnTask<'a>(&'a StyleRegistry, &'a ModelSource);

impl BackendTask for BurnTask<'_> {
    type Output = Result<Box<dyn Translator>, StudioError>;

    fn run<B: Backend>(self, device: B::Device) -> Self::Output {
        Ok(match load_generator::<B>(self.0, self.1, &device)? {
            TrainedGenerator::Cartoongan(g, config) => {
                Box::new(BurnTranslator::new(g, &config, device))
            }
            TrainedGenerator::Resnet(g, _) => Box::new(ResnetTranslator::new(g, device)),
        })
    }
}

/// The translator `toongan cartoonize` would use for `source` on `device`.
fn load_translator(
    registry: &StyleRegistry,
    source: &ModelSource,
    device: DeviceChoice,
) -> Result<Box<dyn Translator>, StudioError> {
    match device {
        DeviceChoice::Cpu => Ok(
            match load_generator::<Cpu>(registry, source, &Default::default())? {
                TrainedGenerator::Cartoongan(g, config) => {
                    Box::new(CpuGenerator::from_generator(&g, &config).map_err(model_err)?)
                }
                TrainedGenerator::Resnet(g, _) => {
                    Box::new(ResnetTranslator::new(g, Default::default()))
                }
            },
        ),
        device => device.run(BurnTask(registry, source)).map_err(model_err)?,
    }
}

/// The generator file a run folder's `latest` names, if the run has one.
pub fn run_generator(run_dir: &Path) -> Option<PathBuf> {
    crate::weights::checkpoint::resolve_generator_path(run_dir)
        .ok()
        .filter(|p| p.is_file())
}
