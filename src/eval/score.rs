//! The library entry points behind `toongan fid` / `toongan kid` and `toongan experiment`:
//! each side is an image folder or a pytorch-fid statistics file.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;

use super::{
    EvalError, ExtractOptions, Extracted, Kid, KidOptions, Statistics, extract_features,
    frechet_distance, kid, list_images,
};
use crate::model::block_for_dims;
use crate::model::{FidInception, FidInceptionConfig};
use crate::weights::{load_fid_inception, locate_fid_weights};

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// A folder of images.
    Folder(PathBuf),
    /// A `.npz` of `mu`/`sigma` (pytorch-fid `--save-stats` or `toongan fid --save-stats`).
    Stats(PathBuf),
}

impl Side {
    /// A `.npz` file is statistics; anything else is taken as an image folder.
    pub fn from_path(path: &Path) -> Self {
        if path.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
        {
            Side::Stats(path.to_path_buf())
        } else {
            Side::Folder(path.to_path_buf())
        }
    }
}

/// Options of [`score_folders`] and the CLI.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FidOptions {
    /// The FID Inception `.pth`; `None` looks at `$TOONGAN_FID_WEIGHTS`, then the cache.
    pub weights: Option<PathBuf>,
    /// Feature extraction (dims, batch size, threads).
    pub extract: ExtractOptions,
    /// KID subsets.
    pub kid: KidOptions,
}

/// FID and KID of generated images against reference images.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Fréchet Inception Distance.
    pub fid: f64,
    /// Kernel Inception Distance.
    pub kid: Kid,
    /// Generated images scored.
    pub generated: usize,
    /// Reference images scored.
    pub reference: usize,
    /// Unreadable images skipped on both sides.
    pub skipped: usize,
}

/// Finds and loads the FID Inception for `options`.
pub fn load_model<B: Backend>(
    options: &FidOptions,
    device: &B::Device,
) -> Result<FidInception<B>, EvalError> {
    if block_for_dims(options.extract.dims).is_none() {
        return Err(EvalError::BadDims(options.extract.dims));
    }
    let path = locate_fid_weights(options.weights.as_deref())?;
    Ok(load_fid_inception::<B>(
        &path,
        &FidInceptionConfig::new(),
        device,
    )?)
}

/// Features of every readable image directly in `dir`; fails when none is readable.
pub fn side_features<B: Backend>(
    model: &FidInception<B>,
    dir: &Path,
    options: &ExtractOptions,
    device: &B::Device,
    progress: impl FnMut(usize, usize),
) -> Result<Extracted, EvalError> {
    let paths = list_images(dir)?;
    let extracted = extract_features(model, &paths, options, device, progress)?;
    if extracted.paths.is_empty() {
        return Err(EvalError::NoImages {
            path: dir.to_path_buf(),
        });
    }
    Ok(extracted)
}

/// FID and KID of the images in `generated` against those in `reference`, for
/// `toongan experiment` and library users.
pub fn score_folders<B: Backend>(
    generated: &Path,
    reference: &Path,
    options: &FidOptions,
    device: &B::Device,
) -> Result<Scores, EvalError> {
    let model = load_model::<B>(options, device)?;
    let a = side_features(&model, generated, &options.extract, device, |_, _| {})?;
    let b = side_features(&model, reference, &options.extract, device, |_, _| {})?;
    let fid = frechet_distance(
        &Statistics::from_features(&a.features)?,
        &Statistics::from_features(&b.features)?,
    )?;
    let kid = kid(&a.features, &b.features, &options.kid)?;
    Ok(Scores {
        fid,
        kid,
        generated: a.paths.len(),
        reference: b.paths.len(),
        skipped: a.skipped.len() + b.skipped.len(),
    })
}
