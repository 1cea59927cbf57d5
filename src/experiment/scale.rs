//! `--scale`: the plan as written (`full`) or shrunk (`tiny`) so that every variant of a
//! plan trains, cartoonizes and is scored on a 2-core CPU in minutes, as a test of the
//! whole pipeline. Tiny numbers say nothing about the models.

use std::str::FromStr;

use crate::train::TrainConfig;

/// How much of the plan to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Exactly as the plan says.
    #[default]
    Full,
    /// The `tiny` preset (64² crops, narrow networks, random feature-network weights),
    /// `TINY_EPOCHS` epochs of `TINY_STEPS_PER_EPOCH` steps on `TINY_TRAIN_IMAGES`
    /// training images per domain, the first
    /// `TINY_SEEDS` seeds, `TINY_TEST_PHOTOS` test photos and `TINY_TEST_CARTOONS`
    /// test cartoons, `TINY_FID_DIMS`-dimensional Inception features.
    Tiny,
}

/// Epochs of a tiny run (one of them initialization when the variant has an init phase).
pub const TINY_EPOCHS: usize = 2;
/// Steps per epoch of a tiny run.
pub const TINY_STEPS_PER_EPOCH: usize = 2;
/// Seeds kept at tiny scale (two, so the confidence interval is exercised).
pub const TINY_SEEDS: usize = 2;
/// Test photos cartoonized at tiny scale.
pub const TINY_TEST_PHOTOS: usize = 4;
/// Test cartoons scored against at tiny scale.
pub const TINY_TEST_CARTOONS: usize = 8;
/// Training photos and cartoons used at tiny scale (copied small into `<out>/tiny-train/`,
/// so a tiny run does not decode a full-size data set).
pub const TINY_TRAIN_IMAGES: usize = 8;
/// Inception feature dimensions at tiny scale (the first block only: fast).
pub const TINY_FID_DIMS: usize = 64;

impl FromStr for Scale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "full" => Ok(Self::Full),
            "tiny" => Ok(Self::Tiny),
            other => Err(format!("unknown scale '{other}': use full or tiny")),
        }
    }
}

impl std::fmt::Display for Scale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Full => "full",
            Self::Tiny => "tiny",
        })
    }
}

impl Scale {
    /// Shrinks a resolved run config (applied last, after the variant's overrides, so a
    /// variant keeps its switches but not its sizes).
    pub fn apply(self, config: &mut TrainConfig) -> Result<(), crate::train::TrainError> {
        if self == Self::Full {
            return Ok(());
        }
        config.apply_preset("tiny")?;
        config.train.epochs = TINY_EPOCHS;
        // At most one of the two epochs initializes (none for a model whose default is none).
        config.train.init_epochs = Some(config.init_epochs().min(1));
        config.train.max_steps_per_epoch = TINY_STEPS_PER_EPOCH;
        config.data.workers = 1;
        Ok(())
    }

    /// The seeds to run out of the plan's.
    pub fn seeds(self, seeds: &[u64]) -> Vec<u64> {
        match self {
            Self::Full => seeds.to_vec(),
            Self::Tiny => seeds.iter().copied().take(TINY_SEEDS).collect(),
        }
    }

    /// At most this many training images per domain (`None`: all, read in place).
    pub fn train_limit(self) -> Option<usize> {
        match self {
            Self::Full => None,
            Self::Tiny => Some(TINY_TRAIN_IMAGES),
        }
    }

    /// At most this many test photos and test cartoons (`None`: all).
    pub fn test_limits(self) -> (Option<usize>, Option<usize>) {
        match self {
            Self::Full => (None, None),
            Self::Tiny => (Some(TINY_TEST_PHOTOS), Some(TINY_TEST_CARTOONS)),
        }
    }

    /// Inception feature dimensions, given the plan's.
    pub fn fid_dims(self, plan_dims: usize) -> usize {
        match self {
            Self::Full => plan_dims,
            Self::Tiny => TINY_FID_DIMS,
        }
    }
}
