//! Moving a module's tensors in and out of PyTorch-named safetensors files: how the parity
//! tests (and `examples/gpu_check.rs`, which includes this file) load a reference script's
//! initial weights and read back the updated ones.

use std::collections::HashMap;
use std::path::Path;

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::backend::Backend;

/// Loads the `prefix.*` tensors of a PyTorch-named safetensors file into `module`; every
/// tensor of the module must be found. Enum variant names (toongan's `Norm`) are not part of
/// the PyTorch names, so they are skipped when matching.
pub fn load_prefixed<B: Backend, M: ModuleSnapshot<B>>(
    module: &mut M,
    file: &Path,
    prefix: &str,
) -> Result<(), String> {
    let mut store = SafetensorsStore::from_file(file)
        .with_key_remapping(format!(r"^{prefix}\."), "")
        .with_from_adapter(PyTorchToBurnAdapter)
        .skip_enum_variants(true)
        .allow_partial(false);
    let result = module
        .load_from(&mut store)
        .map_err(|e| format!("{}: {e:?}", file.display()))?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        return Err(format!(
            "{} ({prefix}): missing {:?}, errors {:?}",
            file.display(),
            result.missing,
            result.errors
        ));
    }
    Ok(())
}

/// A module's tensors by PyTorch name, as `f32`.
pub fn tensors<B: Backend, M: ModuleSnapshot<B>>(module: &M) -> HashMap<String, Vec<f32>> {
    module
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .into_iter()
        .map(|s| {
            let data = s
                .to_data()
                .unwrap_or_else(|e| panic!("{}: {e:?}", s.full_path()))
                .convert::<f32>()
                .to_vec()
                .unwrap_or_else(|e| panic!("{}: {e:?}", s.full_path()));
            (s.full_path(), data)
        })
        .collect()
}
