//! The sections of a run's config that every model shares: data, schedule and outputs. Each
//! model's own section lives in its file ([`super::cartoongan::CartoonGanConfig`], ...).

use std::path::PathBuf;

use burn::config::Config;

/// How training images are read and augmented.
#[derive(Config, Debug, PartialEq)]
pub struct DataConfig {
    /// Folder of photos (searched recursively).
    #[config(default = "PathBuf::new()")]
    pub photos: PathBuf,
    /// Folder of cartoon images (searched recursively).
    #[config(default = "PathBuf::new()")]
    pub cartoons: PathBuf,
    /// The short side is resized to this before cropping (paper: 256).
    #[config(default = 256)]
    pub load_size: usize,
    /// Side of the square crops fed to the networks (multiple of 4).
    #[config(default = 256)]
    pub crop_size: usize,
    /// Random crops (else centred).
    #[config(default = true)]
    pub random_crop: bool,
    /// Random horizontal flips.
    #[config(default = true)]
    pub flip: bool,
    /// Decoding threads.
    #[config(default = 2)]
    pub workers: usize,
    /// Batches prepared ahead of the model.
    #[config(default = 2)]
    pub prefetch: usize,
    /// Number of fixed validation photos in the sample grids (the first photos, centre-cropped,
    /// unless `validation` names a folder).
    #[config(default = 4)]
    pub n_validation: usize,
    /// Optional folder of validation photos.
    #[config(default = "None")]
    pub validation: Option<PathBuf>,
    /// Cache of edge-smoothed cartoons (default: `<run>/edge_cache`).
    #[config(default = "None")]
    pub edge_cache: Option<PathBuf>,
}

/// Optimisation schedule shared by every model.
#[derive(Config, Debug, PartialEq)]
pub struct ScheduleConfig {
    /// Total epochs (initialization epochs included).
    #[config(default = 100)]
    pub epochs: usize,
    /// First epochs in which the generators learn reconstruction only. Unset: the model's
    /// own default ([`super::ModelSection::default_init_epochs`]: CartoonGAN 10 as the paper,
    /// CycleGAN 0 as Zhu et al.); see [`super::TrainConfig::init_epochs`].
    #[config(default = "None")]
    pub init_epochs: Option<usize>,
    /// Images per batch (seed code: 8).
    #[config(default = 8)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[config(default = 2e-4)]
    pub lr: f64,
    /// Adam β1.
    #[config(default = 0.5)]
    pub beta1: f32,
    /// Adam β2.
    #[config(default = 0.999)]
    pub beta2: f32,
    /// Adam ε (PyTorch's default; burn's is 1e-5).
    #[config(default = 1e-8)]
    pub epsilon: f32,
    /// Seed of weight initialisation, data order and augmentation.
    #[config(default = 0)]
    pub seed: u64,
    /// Cap on steps per epoch (0 = one pass over the smaller folder).
    #[config(default = 0)]
    pub max_steps_per_epoch: usize,
}

/// How often the run reports and saves.
#[derive(Config, Debug, PartialEq)]
pub struct OutputConfig {
    /// Log metrics every N steps (and at each epoch end).
    #[config(default = 10)]
    pub log_every: usize,
    /// Write a sample grid every N steps (0 = only at epoch ends).
    #[config(default = 500)]
    pub sample_every: usize,
    /// Write a checkpoint every N steps (0 = only at epoch ends and the end).
    #[config(default = 1000)]
    pub checkpoint_every: usize,
    /// Checkpoints kept on disk (older ones are deleted; at least 1).
    #[config(default = 2)]
    pub keep_checkpoints: usize,
    /// Show a progress bar.
    #[config(default = true)]
    pub progress: bool,
}
