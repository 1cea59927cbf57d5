//! Loading pytorch-fid's published Inception weights, `pt_inception-2015-12-05-6726825d.pth`
//! (a `torch.save`d state_dict, legacy or zip serialization), into [`FidInception`] with
//! burn-store's `PytorchStore`.

use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, PytorchStore};
use burn::tensor::backend::Backend;

use super::WeightsError;
use super::pretrained::PretrainedRegistry;
use crate::model::{FidInception, FidInceptionConfig};

pub use super::pretrained::{FID_WEIGHTS_FILE, FID_WEIGHTS_URL};

/// Environment variable naming the weights file when `--weights` is not given.
pub const FID_WEIGHTS_ENV: &str = "TOONGAN_FID_WEIGHTS";

/// The weights file to use: `explicit` if given, else `$TOONGAN_FID_WEIGHTS`, else the
/// pretrained registry's verified copy (`$TORCH_HOME/hub/checkpoints`, toongan's cache, or a
/// download into the cache unless offline). Fails with the download location when the file
/// is not there.
// WeightsError's size is the module's (its `Unavailable` variant), shared with the other loaders.
#[allow(clippy::result_large_err)]
pub fn locate_fid_weights(explicit: Option<&Path>) -> Result<PathBuf, WeightsError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os(FID_WEIGHTS_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => return PretrainedRegistry::default().locate_name("fid_inception"),
        },
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(WeightsError::FidWeightsMissing {
            path,
            url: FID_WEIGHTS_URL.to_string(),
        })
    }
}

/// Loads pytorch-fid's FID Inception from a `.pth` state_dict with its key layout
/// (`Conv2d_1a_3x3.conv.weight`, `Mixed_7c.branch_pool.bn.running_var`, ...). The unused
/// `fc.*` head and any `num_batches_tracked` buffers are ignored; every network tensor
/// must be present with its exact shape.
#[allow(clippy::result_large_err)]
pub fn load_fid_inception<B: Backend>(
    path: &Path,
    config: &FidInceptionConfig,
    device: &B::Device,
) -> Result<FidInception<B>, WeightsError> {
    let err = |message: String| WeightsError::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    if !path.is_file() {
        return Err(WeightsError::FidWeightsMissing {
            path: path.to_path_buf(),
            url: FID_WEIGHTS_URL.to_string(),
        });
    }
    let mut model = config.init::<B>(device);
    let mut store = PytorchStore::from_file(path)
        .with_key_remapping(r"^Conv2d_", "conv2d_")
        .with_key_remapping(r"^Mixed_", "mixed_")
        .map_indices_contiguous(false);
    let result = model
        .load_from(&mut store)
        .map_err(|e| err(format!("not a readable FID Inception state_dict: {e}")))?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        return Err(err(format!(
            "not pytorch-fid's Inception layout: missing {:?}, errors {:?}",
            result.missing, result.errors
        )));
    }
    Ok(model)
}
