//! Reading and writing model weights: the published CartoonGAN `.npy` layout, the style
//! registry with its hashes and download locations, and toongan's own safetensors
//! checkpoints.

mod cartoongan_npy;
pub(crate) mod checkpoint;
mod download;
mod fid_inception;
mod junyanz;
mod npy;
mod pretrained;
mod styles;
pub(crate) mod torchvision_resnet;

pub use cartoongan_npy::load_published_generator;
pub use checkpoint::{
    ARCH_KEY, CONFIG_KEY, GeneratorArch, TrainedGenerator, load_generator, load_trained_generator,
    read_generator_arch, read_generator_config, resolve_generator_path, save_generator,
    save_resnet_generator,
};
pub use download::{DownloadError, Downloader, ExpectedHash, RetryPolicy, sha256_file};
pub use fid_inception::{
    FID_WEIGHTS_ENV, FID_WEIGHTS_FILE, FID_WEIGHTS_URL, load_fid_inception, locate_fid_weights,
};
pub use junyanz::{load_patchgan, load_resnet_generator};
pub use npy::{NpyArray, read_npy};
pub use pretrained::{NetStatus, PretrainedNet, PretrainedRegistry, offline, set_offline};
pub use styles::{Style, StyleRegistry, StyleStatus, style_status};
pub use torchvision_resnet::{
    ResnetWeightsError, load_torchvision_resnet, official_path as torchvision_resnet_path,
};

use std::path::PathBuf;

/// Everything that can go wrong finding, verifying or reading weights.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A `.npy` file is not a float32 array of the expected shape.
    #[error("{path}: {message}")]
    BadArray {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A file's SHA-256 does not match the registry.
    #[error(
        "{path} has SHA-256 {actual}, expected {expected}: the file is corrupt or not the \
         published one. Delete it and run again to download it, or replace it with the file \
         from {url}"
    )]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// The hash it has.
        actual: String,
        /// The hash it should have.
        expected: String,
        /// Where the published file lives.
        url: String,
    },
    /// A style's weights are neither on disk nor downloadable.
    #[error(transparent)]
    Unavailable(Box<StyleUnavailable>),
    /// A style folder named by `--weights-dir` lacks some of the style's files.
    #[error(
        "{dir} holds {present} of the style's {total} files: copy the missing ones from {url}, \
         or remove the folder (or --weights-dir) so toongan downloads the style into its cache"
    )]
    IncompleteStyle {
        /// The style folder.
        dir: PathBuf,
        /// Files there.
        present: usize,
        /// Files the style has.
        total: usize,
        /// The repository page holding them.
        url: String,
    },
    /// A pretrained network is neither on disk nor downloadable.
    #[error(
        "{name} weights ({file}) not found in {searched}{cause}. Download {url} into one of \
         those folders (keep the file name), or run `toongan weights fetch {name}` online"
    )]
    PretrainedMissing {
        /// Registry name (vgg19, resnet50, fid_inception, ...).
        name: String,
        /// File name.
        file: String,
        /// Folders searched.
        searched: String,
        /// Why it was not downloaded (starts with "; ", or empty).
        cause: String,
        /// Public address of the file.
        url: String,
    },
    /// A pretrained network file is there but its hash is wrong.
    #[error(
        "{path} has SHA-256 {actual}, expected {expected}: the file is corrupt or not the \
         published one. Delete it and run `toongan weights fetch {name}`, or download {url}"
    )]
    PretrainedHashMismatch {
        /// Registry name.
        name: String,
        /// The file.
        path: PathBuf,
        /// Its hash.
        actual: String,
        /// The expected hash (or prefix).
        expected: String,
        /// Public address of the file.
        url: String,
    },
    /// No pretrained network has this name.
    #[error(
        "unknown network '{0}': choose one of vgg19, vgg19_bn, resnet18, resnet34, resnet50, \
         resnet101, fid_inception (see `toongan weights list`)"
    )]
    UnknownPretrained(String),
    /// The style name is not one of the published ones.
    #[error("unknown style '{0}': choose one of hayao, hosoda, paprika, shinkai")]
    UnknownStyle(String),
    /// The FID Inception weights are not where they were looked for.
    #[error(
        "FID Inception weights not found at {path}: download {url} (pytorch-fid's \
         FID_WEIGHTS_URL, ~91 MB) and pass it with --weights or $TOONGAN_FID_WEIGHTS"
    )]
    FidWeightsMissing {
        /// Where the file was expected.
        path: PathBuf,
        /// The public download location.
        url: String,
    },
    /// A checkpoint could not be read or written.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Details of [`WeightsError::Unavailable`] (boxed: they make the error large).
#[derive(Debug, thiserror::Error)]
#[error(
    "weights for style '{style}' are not in {searched} and could not be downloaded ({cause}). \
     Download the {n} files of {url_dir} into {target}, or point --weights-dir \
     (or $TOONGAN_WEIGHTS_DIR) at a folder holding a '{style}/' folder"
)]
pub struct StyleUnavailable {
    /// The style.
    pub style: String,
    /// The folders that were searched.
    pub searched: String,
    /// Why the download failed.
    pub cause: String,
    /// How many files the style has.
    pub n: usize,
    /// The public folder holding them.
    pub url_dir: String,
    /// Where to put them.
    pub target: String,
}
