//! FID and KID of each run's cartoonized test photos against the test cartoons, with one
//! FID Inception and the reference features computed once per experiment
//! ([`crate::eval`] does the maths as pytorch-fid and torch-fidelity).

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use super::ExperimentError;
use crate::eval::{
    ExtractOptions, Extracted, KidOptions, Statistics, frechet_distance, kid, side_features,
};
use crate::model::{FidInception, FidInceptionConfig};
use crate::train::gan_model::seeded_init;
use crate::weights::{load_fid_inception, locate_fid_weights};

/// Scores of one run, cached in its outputs folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunScores {
    /// Fréchet Inception Distance.
    pub fid: f64,
    /// Kernel Inception Distance (mean over subsets).
    pub kid: f64,
    /// Standard deviation of KID over subsets.
    pub kid_std: f64,
    /// Generated images scored.
    pub images: usize,
    /// Which Inception and dimensions produced them ([`Scorer::label`]).
    pub inception: String,
}

/// The Inception, its settings and the reference features.
pub struct Scorer<B: Backend> {
    model: FidInception<B>,
    reference: Extracted,
    extract: ExtractOptions,
    kid: KidOptions,
    device: B::Device,
    /// Which Inception weights and how many dimensions: stored with each run's scores, so
    /// scores from other settings are recomputed, and printed in the report.
    pub label: String,
    /// Whether the Inception has random weights (tiny scale without the real file): the
    /// numbers then only show that the pipeline runs.
    pub random: bool,
}

impl<B: Backend> Scorer<B> {
    /// Loads pytorch-fid's Inception (`weights`, else `$TOONGAN_FID_WEIGHTS`, else the user
    /// cache); when it is missing and `allow_random`, a seeded random Inception instead.
    /// Then extracts the features of the reference images in `reference`.
    pub fn new(
        weights: Option<&Path>,
        allow_random: bool,
        dims: usize,
        kid: KidOptions,
        reference: &Path,
        device: &B::Device,
    ) -> Result<Self, ExperimentError> {
        let (model, label, random) = match locate_fid_weights(weights) {
            Ok(path) => {
                let model = load_fid_inception::<B>(&path, &FidInceptionConfig::new(), device)
                    .map_err(|e| ExperimentError::Eval {
                        what: "FID Inception".into(),
                        source: e.into(),
                    })?;
                let label = format!("pytorch-fid Inception {}, {dims} dims", path.display());
                (model, label, false)
            }
            Err(_) if allow_random => {
                let model =
                    seeded_init::<B, _>(device, 0, || FidInceptionConfig::new().init::<B>(device));
                let label = format!(
                    "RANDOM Inception weights (seed 0; pytorch-fid's file not found), {dims} dims"
                );
                (model, label, true)
            }
            Err(e) => {
                return Err(ExperimentError::Eval {
                    what: "FID Inception (needed for the plan's metrics; set eval.fid_weights \
                           in the plan, --fid-weights, or $TOONGAN_FID_WEIGHTS)"
                        .into(),
                    source: e.into(),
                });
            }
        };
        let extract = ExtractOptions {
            dims,
            ..ExtractOptions::default()
        };
        let reference =
            side_features(&model, reference, &extract, device, |_, _| {}).map_err(|source| {
                ExperimentError::Eval {
                    what: format!("test cartoons {}", reference.display()),
                    source,
                }
            })?;
        Ok(Self {
            model,
            reference,
            extract,
            kid,
            device: device.clone(),
            label,
            random,
        })
    }

    /// Reference images scored against.
    pub fn reference_images(&self) -> &[PathBuf] {
        &self.reference.paths
    }

    /// FID and KID of the images in `generated` against the reference.
    pub fn score(&self, generated: &Path) -> Result<RunScores, ExperimentError> {
        let eval = |source| ExperimentError::Eval {
            what: format!("scoring {}", generated.display()),
            source,
        };
        let a = side_features(
            &self.model,
            generated,
            &self.extract,
            &self.device,
            |_, _| {},
        )
        .map_err(eval)?;
        let fid = frechet_distance(
            &Statistics::from_features(&a.features).map_err(eval)?,
            &Statistics::from_features(&self.reference.features).map_err(eval)?,
        )
        .map_err(eval)?;
        let k = kid(&a.features, &self.reference.features, &self.kid).map_err(eval)?;
        Ok(RunScores {
            fid,
            kid: k.mean,
            kid_std: k.std,
            images: a.paths.len(),
            inception: self.label.clone(),
        })
    }
}
