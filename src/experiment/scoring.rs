//! FID and KID of each run's cartoonized test photos against the test cartoons, with one
//! FID Inception and the reference features computed once per experiment
//! ([`crate::eval`] does the maths as pytorch-fid and torch-fidelity); for a distillation
//! plan also the paired distances to the teacher's output on each test photo (mean
//! CIEDE2000 ΔE and SSIM), and the two bounds: the test photos themselves (identity) and
//! the teacher's outputs.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use super::ExperimentError;
use crate::eval::{
    ExtractOptions, Extracted, Features, KidOptions, Statistics, frechet_distance, kid,
    side_features,
};
use crate::model::{FidInception, FidInceptionConfig};
use crate::train::seeded_init;
use crate::weights::{load_fid_inception, locate_fid_weights};

/// Scores of one run, cached in its outputs folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunScores {
    /// Fréchet Inception Distance (`None`: a plan with paired metrics only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid: Option<f64>,
    /// Kernel Inception Distance (mean over subsets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<f64>,
    /// Standard deviation of KID over subsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid_std: Option<f64>,
    /// Generated images scored.
    pub images: usize,
    /// Which Inception and dimensions produced them (`Scorer::label`).
    pub inception: String,
    /// Paired distances to the references (distillation plans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<PairedScores>,
}

impl RunScores {
    /// The value of a plan metric (`fid`, `kid`, `delta_e`, `ssim`), if scored.
    pub fn metric(&self, name: &str) -> Option<f64> {
        match name {
            "fid" => self.fid,
            "kid" => self.kid,
            "delta_e" => self.paired.as_ref().map(|p| p.delta_e),
            "ssim" => self.paired.as_ref().map(|p| p.ssim),
            _ => None,
        }
    }
}

/// Whether a larger value of a metric is better (SSIM); FID, KID and ΔE are distances.
pub fn higher_is_better(metric: &str) -> bool {
    metric == "ssim"
}

/// Distances of each output to its paired reference (the file of the same name), averaged
/// over the test photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedScores {
    /// Mean CIEDE2000 ΔE over every pixel ([`crate::eval::mean_ciede2000`]); 0 = identical.
    pub delta_e: f64,
    /// Mean SSIM ([`crate::eval::ssim`]); 1 = identical.
    pub ssim: f64,
    /// Image pairs compared.
    pub pairs: usize,
}

/// Compares every reference in `references` with the image of the same name in `generated`.
pub fn paired_scores(generated: &Path, references: &Path) -> Result<PairedScores, ExperimentError> {
    let refs = super::test_set::list_pngs(references)?;
    let (mut delta_e, mut ssim) = (0.0, 0.0);
    for r in &refs {
        let name = r.file_name().unwrap_or_default();
        let g = generated.join(name);
        let open = |p: &Path| {
            image::open(p)
                .map(|i| i.to_rgb8())
                .map_err(|e| ExperimentError::io(p, e))
        };
        let (a, b) = (open(&g)?, open(r)?);
        let mismatch = || {
            ExperimentError::io(
                &g,
                format!(
                    "{}x{} does not match its reference {} ({}x{}, at least 11x11 for SSIM)",
                    a.width(),
                    a.height(),
                    r.display(),
                    b.width(),
                    b.height()
                ),
            )
        };
        delta_e += crate::eval::mean_ciede2000(&a, &b).ok_or_else(mismatch)?;
        ssim += crate::eval::ssim(&a, &b).ok_or_else(mismatch)?;
    }
    if refs.is_empty() {
        return Err(ExperimentError::io(
            references,
            "no paired reference images",
        ));
    }
    let n = refs.len() as f64;
    Ok(PairedScores {
        delta_e: delta_e / n,
        ssim: ssim / n,
        pairs: refs.len(),
    })
}

/// A distillation plan's two bounds, scored as every run: the test photos themselves (what
/// a generator that changes nothing gets) and the teacher's outputs (the answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    /// The teacher style.
    pub teacher: String,
    /// The test photos scored as outputs.
    pub identity: RunScores,
    /// The teacher's outputs scored as outputs.
    pub teacher_scores: RunScores,
}

impl Bounds {
    /// Reads the bounds saved by [`Scorer::bounds`]; `None` if absent or unreadable.
    pub fn read(path: &Path) -> Option<Self> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

/// The Inception, its settings and the reference features.
pub struct Scorer<B: Backend> {
    /// `None` for a plan whose metrics are only paired ones (no Inception needed).
    model: Option<FidInception<B>>,
    reference: Extracted,
    extract: ExtractOptions,
    kid: KidOptions,
    device: B::Device,
    /// The paired references (distillation plans): the teacher's output on each test photo.
    paired: Option<PathBuf>,
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
            model: Some(model),
            reference,
            extract,
            kid,
            device: device.clone(),
            paired: None,
            label,
            random,
        })
    }

    /// A scorer of paired distances to the images in `references` only (no FID/KID, no
    /// Inception).
    pub fn paired_only(references: &Path, device: &B::Device) -> Result<Self, ExperimentError> {
        let paths = super::test_set::list_pngs(references)?;
        Ok(Self {
            model: None,
            reference: Extracted {
                paths,
                features: Features {
                    dims: 1,
                    values: Vec::new(),
                },
                skipped: Vec::new(),
            },
            extract: ExtractOptions::default(),
            kid: KidOptions::default(),
            device: device.clone(),
            paired: Some(references.to_path_buf()),
            label: "no Inception (paired metrics only)".into(),
            random: false,
        })
    }

    /// Also scores paired distances to the images in `references` (same file names).
    pub fn with_paired(mut self, references: &Path) -> Self {
        self.paired = Some(references.to_path_buf());
        self
    }

    /// The bounds of a distillation plan: `photos` (identity) and `teacher_outputs` scored
    /// as outputs; reused from `cache` when scored by this Inception, else written there.
    pub fn bounds(
        &self,
        teacher: &str,
        photos: &Path,
        teacher_outputs: &Path,
        cache: &Path,
    ) -> Result<Bounds, ExperimentError> {
        if let Some(b) = Bounds::read(cache).filter(|b| {
            b.teacher == teacher
                && b.identity.inception == self.label
                && b.identity.paired.is_some() == self.paired.is_some()
        }) {
            return Ok(b);
        }
        let bounds = Bounds {
            teacher: teacher.to_string(),
            identity: self.score(photos)?,
            teacher_scores: self.score(teacher_outputs)?,
        };
        let text = serde_json::to_string_pretty(&bounds).unwrap_or_default();
        crate::imageio::atomic_write(cache, text.as_bytes())
            .map_err(|e| ExperimentError::io(cache, e))?;
        Ok(bounds)
    }

    /// Whether runs are also scored against paired references.
    pub fn has_paired(&self) -> bool {
        self.paired.is_some()
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
        let (fid, k, images) = match &self.model {
            Some(model) => {
                let a = side_features(model, generated, &self.extract, &self.device, |_, _| {})
                    .map_err(eval)?;
                let fid = frechet_distance(
                    &Statistics::from_features(&a.features).map_err(eval)?,
                    &Statistics::from_features(&self.reference.features).map_err(eval)?,
                )
                .map_err(eval)?;
                let k = kid(&a.features, &self.reference.features, &self.kid).map_err(eval)?;
                (Some(fid), Some(k), a.paths.len())
            }
            None => (None, None, super::test_set::list_pngs(generated)?.len()),
        };
        let paired = match &self.paired {
            Some(refs) => Some(paired_scores(generated, refs)?),
            None => None,
        };
        Ok(RunScores {
            fid,
            kid: k.as_ref().map(|k| k.mean),
            kid_std: k.as_ref().map(|k| k.std),
            images,
            inception: self.label.clone(),
            paired,
        })
    }
}
