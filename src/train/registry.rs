//! The model registry: every model training knows, found by the name in `config.toml`'s
//! `model` (and `--model`), and what the run's config means for it.
//!
//! # Adding a model
//! 1. One file `src/train/<name>.rs` (as `cartoongan.rs`, `cyclegan.rs`) holding the model's
//!    `NAME`, its config section (a `#[derive(Config)]` struct implementing
//!    [`ModelSection`]: default init epochs, edge smoothing or not, its checks, its part of the
//!    `tiny` preset) and the model itself implementing [`GanModel`] (one training step, its
//!    visuals, its save/load list through `state_files.rs`); `mod <name>;` in
//!    `train/mod.rs`.
//! 2. One registry entry: the section as a field of [`TrainConfig`] (its `[<name>]` table in
//!    `config.toml`), a variant of [`ModelKind`] added to [`ModelKind::ALL`], and its arm in
//!    each `match` below.
//!
//! The loop, data, checkpoints, samples, logging and resume need nothing more.

use burn::tensor::backend::AutodiffBackend;

use super::cartoongan::{self, CartoonGan};
use super::cyclegan::{self, CycleGan};
use super::gan_model::{GanModel, ModelSection};
use super::{TrainConfig, TrainError};

/// A model training knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// CartoonGAN (Chen et al., CVPR 2018): [`CartoonGan`](super::CartoonGan).
    CartoonGan,
    /// CycleGAN (Zhu et al., ICCV 2017): [`CycleGan`](super::CycleGan).
    CycleGan,
}

/// Names of [`ModelKind::ALL`], in order (`--model`'s choices).
pub const MODELS: [&str; ModelKind::ALL.len()] = {
    let mut names = [""; ModelKind::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = ModelKind::ALL[i].name();
        i += 1;
    }
    names
};

impl ModelKind {
    /// Every model, in the order `--model` lists them.
    pub const ALL: [ModelKind; 2] = [ModelKind::CartoonGan, ModelKind::CycleGan];

    /// The registry name (`model` in `config.toml`).
    pub const fn name(self) -> &'static str {
        match self {
            ModelKind::CartoonGan => cartoongan::NAME,
            ModelKind::CycleGan => cyclegan::NAME,
        }
    }

    /// The model a name stands for.
    pub fn from_name(name: &str) -> Result<Self, TrainError> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| TrainError::UnknownModel(name.to_string(), MODELS.join(", ")))
    }

    /// This model's section of `config`.
    pub fn section(self, config: &TrainConfig) -> &dyn ModelSection {
        match self {
            ModelKind::CartoonGan => &config.cartoongan,
            ModelKind::CycleGan => &config.cyclegan,
        }
    }

    /// This model's section of `config`, to change (presets).
    pub fn section_mut(self, config: &mut TrainConfig) -> &mut dyn ModelSection {
        match self {
            ModelKind::CartoonGan => &mut config.cartoongan,
            ModelKind::CycleGan => &mut config.cyclegan,
        }
    }

    /// The model with fresh weights seeded by `config.train.seed` (each model builds its
    /// networks inside [`super::gan_model::seeded_init`]).
    pub fn build<B: AutodiffBackend>(
        self,
        config: &TrainConfig,
        device: &B::Device,
    ) -> Result<Box<dyn GanModel<B>>, TrainError> {
        Ok(match self {
            ModelKind::CartoonGan => Box::new(CartoonGan::<B>::new(
                &config.cartoongan,
                &config.train,
                device,
            )?),
            ModelKind::CycleGan => {
                Box::new(CycleGan::<B>::new(&config.cyclegan, &config.train, device)?)
            }
        })
    }
}

/// Builds the model `config.model` names, with fresh weights seeded by `config.train.seed`.
pub fn build_model<B: AutodiffBackend>(
    config: &TrainConfig,
    device: &B::Device,
) -> Result<Box<dyn GanModel<B>>, TrainError> {
    ModelKind::from_name(&config.model)?.build(config, device)
}

/// What a run's config means for the model it names.
impl TrainConfig {
    /// The model `model` names.
    pub fn model_kind(&self) -> Result<ModelKind, TrainError> {
        ModelKind::from_name(&self.model)
    }

    /// Initialization epochs of this run: `train.init_epochs` if set, else the model's default
    /// (none for a name the registry does not know, which [`TrainConfig::validate`] refuses).
    pub fn init_epochs(&self) -> usize {
        self.train.init_epochs.unwrap_or_else(|| {
            self.model_kind()
                .map_or(0, |k| k.section(self).default_init_epochs())
        })
    }

    /// Whether the model uses the edge-smoothed cartoons (else the loader need not make them).
    pub fn needs_edge_smoothing(&self) -> bool {
        self.model_kind()
            .map_or(true, |k| k.section(self).needs_edge_smoothing())
    }

    /// Checks values that would otherwise fail deep inside a run: the shared sections', then
    /// the model's own ([`ModelSection::validate`]).
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| {
            Err(TrainError::Config {
                path: "config".into(),
                message: m.to_string(),
            })
        };
        let kind = self.model_kind()?;
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
        kind.section(self)
            .validate(&self.train)
            .or_else(|m| bad(&m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(MODELS, ["cartoongan", "cyclegan"]);
        for kind in ModelKind::ALL {
            assert_eq!(ModelKind::from_name(kind.name()).unwrap(), kind);
        }
        let err = ModelKind::from_name("pix2pix").unwrap_err().to_string();
        assert!(
            err.contains("pix2pix") && err.contains("cartoongan, cyclegan"),
            "{err}"
        );
    }
}
