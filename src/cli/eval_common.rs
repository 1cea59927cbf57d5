//! What `toongan fid` and `toongan kid` share: the model, progress bars, per-side feature
//! extraction with warnings for skipped files.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use toongan::backend::Cpu;
use toongan::eval::{ExtractOptions, Extracted, FidOptions, load_model, side_features};
use toongan::model::FidInception;

/// A bar showing images processed on one side.
pub fn bar(label: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} (eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(label.to_string());
    bar
}

/// Extracts features of a folder with a progress bar, reporting skipped files on stderr.
pub fn folder_features(
    model: &FidInception<Cpu>,
    dir: &Path,
    options: &ExtractOptions,
) -> anyhow::Result<Extracted> {
    let device = Default::default();
    let pb = bar(&dir.display().to_string());
    let ex = side_features(model, dir, options, &device, |done, total| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    })?;
    pb.finish_and_clear();
    for (path, reason) in &ex.skipped {
        eprintln!("skipped unreadable image {}: {reason}", path.display());
    }
    if !ex.skipped.is_empty() {
        eprintln!(
            "{}: {} unreadable images skipped",
            dir.display(),
            ex.skipped.len()
        );
    }
    Ok(ex)
}

/// Loads the FID Inception named by `--weights` / `$TOONGAN_FID_WEIGHTS`.
pub fn model(weights: Option<&PathBuf>, dims: usize) -> anyhow::Result<FidInception<Cpu>> {
    let options = FidOptions {
        weights: weights.cloned(),
        extract: ExtractOptions {
            dims,
            ..Default::default()
        },
        ..Default::default()
    };
    Ok(load_model::<Cpu>(&options, &Default::default())?)
}
