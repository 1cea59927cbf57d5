//! Loading torchvision's official ResNet `.pth` files as they are (zip + pickle, read by
//! burn-store's `PytorchStore`) into [`Resnet`], loading only the stages the
//! configuration builds.

use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, PytorchStore};
use burn::tensor::backend::Backend;

use crate::model::{Resnet, ResnetConfig, ResnetDepth};

/// Where torchvision publishes its weights.
pub const TORCHVISION_URL: &str = "https://download.pytorch.org/models";

/// What can go wrong finding or reading a torchvision ResNet file.
#[derive(Debug, thiserror::Error)]
pub enum ResnetWeightsError {
    /// The weights file is not there.
    #[error(
        "ResNet weights {path} not found: download {url} (torchvision's official \
         {file}) and put it there, or point the config's weights path at your copy"
    )]
    Missing {
        /// The path looked at.
        path: PathBuf,
        /// The official file name.
        file: String,
        /// Its public download address.
        url: String,
    },
    /// The file exists but is not a usable ResNet state dict for this config.
    #[error("cannot load {path} as torchvision {depth}: {message}")]
    Load {
        /// The file.
        path: PathBuf,
        /// The expected network.
        depth: ResnetDepth,
        /// What went wrong.
        message: String,
    },
}

/// File name of torchvision's IMAGENET1K_V1 weights for a depth (e.g.
/// `resnet101-63fe2227.pth`). The V2 files (`resnet50-11ad3fa6.pth`,
/// `resnet101-cd907fc2.pth`) have the same layout and load the same way.
pub fn official_file_name(depth: ResnetDepth) -> &'static str {
    match depth {
        ResnetDepth::Resnet18 => "resnet18-f37072fd.pth",
        ResnetDepth::Resnet34 => "resnet34-b627a593.pth",
        ResnetDepth::Resnet50 => "resnet50-0676ba61.pth",
        ResnetDepth::Resnet101 => "resnet101-63fe2227.pth",
    }
}

/// Public download address of [`official_file_name`].
pub fn official_url(depth: ResnetDepth) -> String {
    format!("{TORCHVISION_URL}/{}", official_file_name(depth))
}

/// Path of the official file for `depth` inside `dir`.
pub fn official_path(dir: &Path, depth: ResnetDepth) -> PathBuf {
    dir.join(official_file_name(depth))
}

/// Builds the network `config` describes and loads its tensors from the torchvision
/// state dict at `path` (`torch.save(model.state_dict())`, e.g. `resnet101-63fe2227.pth`).
///
/// Only the tensors of the built stages are read (burn-store reads lazily); the rest
/// (later stages, `fc`, `num_batches_tracked`) are skipped. Every tensor the network needs
/// must be present with its exact shape.
///
/// burn-store 0.21 reads each tensor as contiguous from its storage offset (it ignores
/// pickled strides); torchvision's files are contiguous, so this is exact for them.
pub fn load_torchvision_resnet<B: Backend>(
    path: &Path,
    config: &ResnetConfig,
    device: &B::Device,
) -> Result<Resnet<B>, ResnetWeightsError> {
    let depth = config.depth;
    if !path.is_file() {
        return Err(ResnetWeightsError::Missing {
            path: path.to_path_buf(),
            file: official_file_name(depth).to_string(),
            url: official_url(depth),
        });
    }
    let load_err = |message: String| ResnetWeightsError::Load {
        path: path.to_path_buf(),
        depth,
        message,
    };
    let mut model = config.init::<B>(device);
    // PyTorch's `downsample` is a Sequential(conv, bn): indices 0 and 1.
    let mut store = PytorchStore::from_file(path)
        .with_key_remapping(r"\.downsample\.0\.", ".downsample.conv.")
        .with_key_remapping(r"\.downsample\.1\.", ".downsample.bn.")
        .map_indices_contiguous(false)
        .allow_partial(false);
    let result = model
        .load_from(&mut store)
        .map_err(|e| load_err(e.to_string()))?;
    if !result.errors.is_empty() {
        return Err(load_err(format!("{:?}", result.errors)));
    }
    Ok(model)
}
