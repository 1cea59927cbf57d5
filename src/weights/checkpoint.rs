//! toongan's own generator files: safetensors holding the weights, with the
//! [`GeneratorConfig`] as JSON in the file's metadata so a file is self-describing.

use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::backend::Backend;

use super::WeightsError;
use crate::model::{Generator, GeneratorConfig};

/// Metadata key under which the generator's config is stored.
pub const CONFIG_KEY: &str = "toongan.generator_config";

fn err(path: &Path, message: impl ToString) -> WeightsError {
    WeightsError::Checkpoint {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Writes a generator and its config to `path` atomically (temp file, then rename).
pub fn save_generator<B: Backend>(
    generator: &Generator<B>,
    config: &GeneratorConfig,
    path: &Path,
) -> Result<(), WeightsError> {
    let json = serde_json::to_string(config).map_err(|e| err(path, e))?;
    let mut store = SafetensorsStore::from_bytes(None).metadata(CONFIG_KEY, json);
    generator.save_into(&mut store).map_err(|e| err(path, e))?;
    let bytes = store.get_bytes().map_err(|e| err(path, e))?;
    crate::imageio::atomic_write(path, &bytes).map_err(|e| err(path, e))
}

/// Reads the config stored in a generator file.
pub fn read_generator_config(path: &Path) -> Result<GeneratorConfig, WeightsError> {
    let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| err(path, format!("not a safetensors file: {e}")))?;
    let json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(CONFIG_KEY))
        .ok_or_else(|| {
            err(
                path,
                format!("no '{CONFIG_KEY}' metadata: not a toongan generator"),
            )
        })?;
    serde_json::from_str(json).map_err(|e| err(path, format!("bad generator config: {e}")))
}

/// Reads a generator written by [`save_generator`].
pub fn load_generator<B: Backend>(
    path: &Path,
    device: &B::Device,
) -> Result<(Generator<B>, GeneratorConfig), WeightsError> {
    let config = read_generator_config(path)?;
    let mut generator = config.init::<B>(device);
    let mut store = SafetensorsStore::from_file(path);
    let result = generator.load_from(&mut store).map_err(|e| err(path, e))?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        return Err(err(
            path,
            format!(
                "does not match its config: missing {:?}, errors {:?}",
                result.missing, result.errors
            ),
        ));
    }
    Ok((generator, config))
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
