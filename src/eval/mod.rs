//! Evaluation: FID and KID as pytorch-fid and torch-fidelity compute them, from folders of
//! images or saved statistics. [`extract_features`] runs the FID Inception, [`Statistics`]
//! holds mean/covariance, [`frechet_distance`] gives the FID, [`kid()`] the KID,
//! [`read_stats`]/[`write_stats`] pytorch-fid's `.npz`. Paired distances between an image and
//! its reference: [`ciede2000`] (CIEDE2000) and [`ssim()`].

mod delta_e;
mod features;
mod frechet;
mod kid;
mod score;
mod ssim;
mod statistics;
mod stats_file;

pub use delta_e::{ciede2000, mean_ciede2000, srgb_to_lab};
pub use features::{ExtractOptions, Extracted, extract_features, list_images};
pub use frechet::frechet_distance;
pub use kid::{Kid, KidOptions, kid, kid_on_subsets};
pub use score::{FidOptions, Scores, Side, load_model, score_folders, side_features};
pub use ssim::ssim;
pub use statistics::{Features, Statistics};
pub use stats_file::{read_stats, write_stats};

use std::path::PathBuf;

use crate::weights::WeightsError;

/// What can go wrong computing FID or KID.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The Inception weights could not be found or read.
    #[error(transparent)]
    Weights(Box<WeightsError>),
    /// A folder could not be listed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A folder holds no readable image.
    #[error(
        "{path} holds no readable image (looked for .png, .jpg, .jpeg, .webp, .bmp, .tif directly in it, not in sub-folders)"
    )]
    NoImages {
        /// The folder.
        path: PathBuf,
    },
    /// Too few images for the statistic.
    #[error("{found} images: at least {needed} are needed")]
    TooFewImages {
        /// Images available.
        found: usize,
        /// Images needed.
        needed: usize,
    },
    /// A statistics file is unreadable or not in pytorch-fid's layout.
    #[error("statistics file {path}: {message}")]
    StatsFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Mismatched or malformed dimensions.
    #[error("{0}")]
    Shape(String),
    /// The requested feature dimensionality is not one pytorch-fid offers.
    #[error("--dims {0} is not supported: choose 64, 192, 768 or 2048")]
    BadDims(usize),
    /// KID needs per-image features, which a statistics file does not hold.
    #[error("{0} is a statistics file: KID needs per-image features, give an image folder")]
    KidNeedsImages(PathBuf),
}

impl From<WeightsError> for EvalError {
    fn from(e: WeightsError) -> Self {
        EvalError::Weights(Box::new(e))
    }
}
