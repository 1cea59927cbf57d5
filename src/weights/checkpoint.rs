//! toongan's own generator files: safetensors holding the weights, with the generator's
//! architecture and config as JSON in the file's metadata so a file is self-describing.
//! Files without the architecture key (written before CycleGAN) hold CartoonGAN generators.

use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use super::WeightsError;
use crate::model::{Generator, GeneratorConfig, ResnetGenerator, ResnetGeneratorConfig};

/// Metadata key under which the generator's config is stored.
pub const CONFIG_KEY: &str = "toongan.generator_config";
/// Metadata key naming the generator architecture ([`GeneratorArch`]); absent = CartoonGAN.
pub const ARCH_KEY: &str = "toongan.generator_arch";

/// Which generator network a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneratorArch {
    /// CartoonGAN's [`Generator`] (config: [`GeneratorConfig`]).
    Cartoongan,
    /// CycleGAN's [`ResnetGenerator`] (config: [`ResnetGeneratorConfig`]).
    Resnet,
}

impl GeneratorArch {
    /// The name stored under [`ARCH_KEY`].
    pub fn name(self) -> &'static str {
        match self {
            GeneratorArch::Cartoongan => "cartoongan",
            GeneratorArch::Resnet => "resnet",
        }
    }
}

/// A generator read from a toongan file, whichever architecture it holds.
#[derive(Debug)]
pub enum TrainedGenerator<B: Backend> {
    /// A CartoonGAN generator and its config.
    Cartoongan(Generator<B>, GeneratorConfig),
    /// A CycleGAN ResNet generator and its config.
    Resnet(ResnetGenerator<B>, ResnetGeneratorConfig),
}

fn err(path: &Path, message: impl ToString) -> WeightsError {
    WeightsError::Checkpoint {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Writes a module with its architecture and config JSON atomically (temp file, rename).
fn save_module<B: Backend, M: ModuleSnapshot<B>>(
    module: &M,
    arch: GeneratorArch,
    config_json: String,
    path: &Path,
) -> Result<(), WeightsError> {
    let mut store = SafetensorsStore::from_bytes(None)
        .metadata(CONFIG_KEY, config_json)
        .metadata(ARCH_KEY, arch.name());
    module.save_into(&mut store).map_err(|e| err(path, e))?;
    let bytes = store.get_bytes().map_err(|e| err(path, e))?;
    crate::imageio::atomic_write(path, &bytes).map_err(|e| err(path, e))
}

/// Writes a CartoonGAN generator and its config to `path` atomically (temp file, then rename).
pub fn save_generator<B: Backend>(
    generator: &Generator<B>,
    config: &GeneratorConfig,
    path: &Path,
) -> Result<(), WeightsError> {
    let json = serde_json::to_string(config).map_err(|e| err(path, e))?;
    save_module(generator, GeneratorArch::Cartoongan, json, path)
}

/// Writes a CycleGAN ResNet generator and its config to `path` atomically.
pub fn save_resnet_generator<B: Backend>(
    generator: &ResnetGenerator<B>,
    config: &ResnetGeneratorConfig,
    path: &Path,
) -> Result<(), WeightsError> {
    let json = serde_json::to_string(config).map_err(|e| err(path, e))?;
    save_module(generator, GeneratorArch::Resnet, json, path)
}

/// The architecture and config JSON stored in a generator file.
fn read_metadata(path: &Path) -> Result<(GeneratorArch, String), WeightsError> {
    let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| err(path, format!("not a safetensors file: {e}")))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let json = meta.get(CONFIG_KEY).ok_or_else(|| {
        err(
            path,
            format!("no '{CONFIG_KEY}' metadata: not a toongan generator"),
        )
    })?;
    let arch = match meta.get(ARCH_KEY).map(String::as_str) {
        None | Some("cartoongan") => GeneratorArch::Cartoongan,
        Some("resnet") => GeneratorArch::Resnet,
        Some(other) => {
            return Err(err(
                path,
                format!(
                    "unknown generator architecture '{other}' (this toongan reads cartoongan and \
                     resnet; a newer toongan may have written it)"
                ),
            ));
        }
    };
    Ok((arch, json.clone()))
}

/// Which generator architecture a toongan generator file holds.
pub fn read_generator_arch(path: &Path) -> Result<GeneratorArch, WeightsError> {
    Ok(read_metadata(path)?.0)
}

/// Reads the config stored in a CartoonGAN generator file.
pub fn read_generator_config(path: &Path) -> Result<GeneratorConfig, WeightsError> {
    match read_metadata(path)? {
        (GeneratorArch::Cartoongan, json) => {
            serde_json::from_str(&json).map_err(|e| err(path, format!("bad generator config: {e}")))
        }
        (arch, _) => Err(err(
            path,
            format!(
                "holds a {} generator, not a CartoonGAN one (use load_trained_generator)",
                arch.name()
            ),
        )),
    }
}

/// Loads a file's tensors into `module`, refusing a file that does not fill it.
fn load_module<B: Backend, M: ModuleSnapshot<B>>(
    module: &mut M,
    path: &Path,
) -> Result<(), WeightsError> {
    let mut store = SafetensorsStore::from_file(path);
    let result = module.load_from(&mut store).map_err(|e| err(path, e))?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        return Err(err(
            path,
            format!(
                "does not match its config: missing {:?}, errors {:?}",
                result.missing, result.errors
            ),
        ));
    }
    Ok(())
}

/// Reads a CartoonGAN generator written by [`save_generator`].
pub fn load_generator<B: Backend>(
    path: &Path,
    device: &B::Device,
) -> Result<(Generator<B>, GeneratorConfig), WeightsError> {
    let config = read_generator_config(path)?;
    let mut generator = config.init::<B>(device);
    load_module(&mut generator, path)?;
    Ok((generator, config))
}

/// Reads a generator written by [`save_generator`] or [`save_resnet_generator`], building
/// the architecture its metadata names (files without that key are CartoonGAN generators).
pub fn load_trained_generator<B: Backend>(
    path: &Path,
    device: &B::Device,
) -> Result<TrainedGenerator<B>, WeightsError> {
    let (arch, json) = read_metadata(path)?;
    let bad = |e: serde_json::Error| err(path, format!("bad {} config: {e}", arch.name()));
    Ok(match arch {
        GeneratorArch::Cartoongan => {
            let config: GeneratorConfig = serde_json::from_str(&json).map_err(bad)?;
            let mut g = config.init::<B>(device);
            load_module(&mut g, path)?;
            TrainedGenerator::Cartoongan(g, config)
        }
        GeneratorArch::Resnet => {
            let config: ResnetGeneratorConfig = serde_json::from_str(&json).map_err(bad)?;
            let mut g = config.init::<B>(device);
            load_module(&mut g, path)?;
            TrainedGenerator::Resnet(g, config)
        }
    })
}

/// File in a training run folder naming (relative to the run) its latest generator file.
pub const RUN_LATEST_FILE: &str = "latest";
/// Name of the generator file inside each checkpoint folder of a run.
pub const GENERATOR_FILE: &str = "generator.safetensors";

/// Resolves `path` to a generator file: a file is returned as is; a training run folder
/// gives the generator its `latest` file names.
pub fn resolve_generator_path(path: &Path) -> Result<std::path::PathBuf, WeightsError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let latest = path.join(RUN_LATEST_FILE);
    let text = std::fs::read_to_string(&latest).map_err(|_| {
        err(
            path,
            format!(
                "a folder given as a model must be a training run holding a '{RUN_LATEST_FILE}' \
                 file; none found (train first, or pass a .safetensors file)"
            ),
        )
    })?;
    let file = path.join(text.trim());
    if !file.is_file() {
        return Err(err(
            &latest,
            format!("names {}, which does not exist", file.display()),
        ));
    }
    Ok(file)
}
