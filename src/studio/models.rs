//! What the studio cartoonizes with: the published styles whose weights are on disk and the
//! latest generators of training runs under `--runs`, each loaded once onto the chosen device
//! the way `toongan cartoonize` loads it (the fast CPU engine for CartoonGAN generators on
//! the CPU, burn otherwise) and kept for the next request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::StudioError;
use crate::backend::DeviceChoice;
use crate::cartoonize::Translator;
use crate::inference::{CpuEngine, GeneratorSource};
use crate::weights::{Style, StyleRegistry};

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

/// The translator `toongan cartoonize` would use for `source` on `device`.
fn load_translator(
    registry: &StyleRegistry,
    source: &ModelSource,
    device: DeviceChoice,
) -> Result<Box<dyn Translator>, StudioError> {
    let source = match source {
        ModelSource::Trained(path) => GeneratorSource::Trained(path.clone()),
        ModelSource::Style(style) => {
            GeneratorSource::Published(registry.locate(*style).map_err(model_err)?)
        }
    };
    crate::inference::load_translator(&source, device, CpuEngine::Fast).map_err(model_err)
}

/// The generator file a run folder's `latest` names, if the run has one.
pub fn run_generator(run_dir: &Path) -> Option<PathBuf> {
    crate::weights::checkpoint::resolve_generator_path(run_dir)
        .ok()
        .filter(|p| p.is_file())
}
