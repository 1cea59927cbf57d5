//! The resolved configuration of a training run: data, schedule, outputs and each model's own
//! section, read from TOML, overridable field by field, saved in the run folder.

use std::path::{Path, PathBuf};

use burn::config::Config;

use super::TrainError;
use super::cartoongan::CartoonGanConfig;
use super::content_loss::FeatureNetKind;
use super::cyclegan::CycleGanConfig;
use super::gan_loss::GanLossKind;
use crate::model::activation::DEFAULT_LEAKY_SLOPE;
use crate::model::{Activation, NormKind};

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
    /// own default ([`super::gan_model::default_init_epochs`]: CartoonGAN 10 as the paper,
    /// CycleGAN 0 as Zhu et al.); see [`TrainConfig::init_epochs`].
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

/// Everything a run needs; saved as `config.toml` in the run folder.
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// Model name in the registry (see [`super::gan_model::MODELS`]).
    #[config(default = "String::from(\"cartoongan\")")]
    pub model: String,
    /// Data.
    #[config(default = "DataConfig::new()")]
    pub data: DataConfig,
    /// Schedule.
    #[config(default = "ScheduleConfig::new()")]
    pub train: ScheduleConfig,
    /// Logging, samples and checkpoints.
    #[config(default = "OutputConfig::new()")]
    pub output: OutputConfig,
    /// CartoonGAN's networks and losses.
    #[config(default = "CartoonGanConfig::new()")]
    pub cartoongan: CartoonGanConfig,
    /// CycleGAN's networks and losses.
    #[config(default = "CycleGanConfig::new()")]
    pub cyclegan: CycleGanConfig,
}

/// Named presets. `tiny` only shrinks sizes and widths and the others only flip the improved
/// CartoonGAN's switches, so they compose in any order (`--preset tiny --preset improved`).
pub const PRESETS: [&str; 6] = [
    "tiny",
    "improved",
    "instance_norm",
    "leaky_relu",
    "resnet_content",
    "lsgan",
];

impl TrainConfig {
    /// Initialization epochs of this run: `train.init_epochs` if set, else the model's default.
    pub fn init_epochs(&self) -> usize {
        self.train
            .init_epochs
            .unwrap_or_else(|| super::gan_model::default_init_epochs(&self.model))
    }

    /// Whether the model uses the edge-smoothed cartoons (else the loader need not make them).
    pub fn needs_edge_smoothing(&self) -> bool {
        match self.model.as_str() {
            "cyclegan" => self.cyclegan.edge_smoothing_loss,
            _ => true,
        }
    }

    /// Reads a TOML file; missing fields take their defaults.
    pub fn from_toml_file(path: &Path) -> Result<Self, TrainError> {
        let err = |m: String| TrainError::Config {
            path: path.to_path_buf(),
            message: m,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::from_toml_str(&text).map_err(err)
    }

    /// Parses TOML text; missing fields take their defaults.
    pub fn from_toml_str(text: &str) -> Result<Self, String> {
        let value: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut base = toml::Value::try_from(Self::new()).map_err(|e| e.to_string())?;
        merge(&mut base, value);
        base.try_into().map_err(|e: toml::de::Error| e.to_string())
    }

    /// The config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot serialize: {e}"))
    }

    /// Applies `section.field=value` (value parsed as TOML, else taken as a string).
    pub fn set(&mut self, assignment: &str) -> Result<(), TrainError> {
        let err = |m: String| TrainError::Config {
            path: PathBuf::from(format!("--set {assignment}")),
            message: m,
        };
        let (key, raw) = assignment
            .split_once('=')
            .ok_or_else(|| err("expected KEY=VALUE, e.g. train.batch_size=4".into()))?;
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        let mut root = toml::Value::try_from(&*self).map_err(|e| err(e.to_string()))?;
        let parts: Vec<&str> = key.trim().split('.').collect();
        let (last, path) = parts.split_last().ok_or_else(|| err("empty key".into()))?;
        let mut slot = &mut root;
        for part in path {
            slot = slot
                .get_mut(*part)
                .ok_or_else(|| err(format!("no config section '{part}' in '{key}'")))?;
        }
        let table = slot
            .as_table_mut()
            .ok_or_else(|| err(format!("'{key}' is not inside a section")))?;
        // Unset optional fields are absent from the TOML, so a new key is allowed here; a
        // misspelt one is caught below, when the result no longer has the field it names.
        table.insert(last.to_string(), value);
        let updated: Self = root
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        let check = toml::Value::try_from(&updated).map_err(|e| err(e.to_string()))?;
        if parts.iter().try_fold(&check, |v, p| v.get(*p)).is_none() {
            return Err(err(format!("no config field '{key}'")));
        }
        *self = updated;
        Ok(())
    }

    /// Applies a named preset on top of the current values.
    pub fn apply_preset(&mut self, name: &str) -> Result<(), TrainError> {
        match name {
            // 64² crops, width-8 G with 2 residual blocks, width-8 D, and a width-16 VGG19 with
            // random weights: a step takes well under a second on a laptop CPU. CycleGAN: both
            // ResNet generators width 8 with 2 blocks, both PatchGANs width 8.
            "tiny" => {
                self.data.load_size = 64;
                self.data.crop_size = 64;
                self.data.n_validation = 2;
                self.train.batch_size = 2;
                self.output.sample_every = 0;
                self.output.checkpoint_every = 0;
                self.output.log_every = 1;
                let c = &mut self.cartoongan;
                c.generator = c.generator.clone().with_width(8).with_n_residual(2);
                c.discriminator = c.discriminator.clone().with_width(8);
                c.content.width = 16;
                // The feature network is left as it is (VGG19 by default) so `tiny` composes
                // with `resnet_content`; random weights either way.
                c.content.weights = "random".into();
                let c = &mut self.cyclegan;
                c.generator = c.generator.clone().with_width(8).with_n_residual(2);
                c.discriminator = c.discriminator.clone().with_width(8);
                Ok(())
            }
            // The improved CartoonGAN: all four switches below.
            "improved" => ["instance_norm", "leaky_relu", "resnet_content", "lsgan"]
                .iter()
                .try_for_each(|p| self.apply_preset(p)),
            // Instance norm instead of batch norm in the generator and the discriminator.
            "instance_norm" => {
                let c = &mut self.cartoongan;
                c.generator.norm = NormKind::Instance;
                c.discriminator.norm = NormKind::Instance;
                Ok(())
            }
            // LeakyReLU (slope 0.2) instead of ReLU in the generator.
            "leaky_relu" => {
                self.cartoongan.generator.activation = Activation::LeakyRelu {
                    slope: DEFAULT_LEAKY_SLOPE,
                };
                Ok(())
            }
            // ResNet-101 `layer2` features for the content loss (the seed code's choice).
            "resnet_content" => {
                self.cartoongan.content.network = FeatureNetKind::RESNET101_LAYER2;
                Ok(())
            }
            // Least-squares adversarial loss instead of BCE.
            "lsgan" => {
                self.cartoongan.gan_loss = GanLossKind::Lsgan;
                Ok(())
            }
            other => Err(TrainError::Config {
                path: PathBuf::from(format!("--preset {other}")),
                message: format!("unknown preset; choose one of {PRESETS:?}"),
            }),
        }
    }

    /// Checks values that would otherwise fail deep inside a run.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| {
            Err(TrainError::Config {
                path: PathBuf::from("config"),
                message: m.to_string(),
            })
        };
        if !self.data.crop_size.is_multiple_of(4) || self.data.crop_size == 0 {
            return bad("data.crop_size must be a positive multiple of 4");
        }
        if self.data.load_size < self.data.crop_size {
            return bad("data.load_size must be at least data.crop_size");
        }
        if self.train.batch_size == 0 {
            return bad("train.batch_size must be at least 1");
        }
        if self.init_epochs() > self.train.epochs {
            return bad("train.init_epochs must not exceed train.epochs");
        }
        if self.model == "cyclegan" && self.cyclegan.n_epochs_decay > self.train.epochs {
            return bad("cyclegan.n_epochs_decay must not exceed train.epochs");
        }
        Ok(())
    }
}

/// Recursively overlays `over` on `base` (tables merge, other values replace).
fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}
