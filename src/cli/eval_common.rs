//! What `toongan fid` and `toongan kid` share: the Inception options, the device, progress
//! bars, per-folder feature extraction with warnings for skipped files.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use toongan::backend::{BackendTask, DeviceChoice};
use toongan::eval::{ExtractOptions, Extracted, FidOptions, load_model, side_features};
use toongan::weights::FID_WEIGHTS_ENV;

/// The feature network and how it runs, shared by `fid` and `kid`.
#[derive(Debug, Args)]
pub struct InceptionArgs {
    /// pytorch-fid's Inception weights, pt_inception-2015-12-05-6726825d.pth.
    #[arg(long, env = FID_WEIGHTS_ENV)]
    pub weights: Option<PathBuf>,
    /// Feature dimensions: 2048 (standard), 768, 192 or 64.
    #[arg(long, default_value_t = 2048)]
    pub dims: usize,
    /// Images per network batch.
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
    /// Threads decoding images (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Where the network runs: cpu, cuda[:N], wgpu[:N], wgpu:cpu or auto (`toongan devices`;
    /// CUDA and wgpu need a build with --features cuda / wgpu).
    #[arg(long, default_value = "cpu", value_parser = super::device_arg::parse)]
    pub device: DeviceChoice,
}

impl InceptionArgs {
    /// The extraction options these arguments give.
    pub fn extract_options(&self) -> ExtractOptions {
        let mut extract = ExtractOptions {
            dims: self.dims,
            batch_size: self.batch_size,
            ..Default::default()
        };
        if let Some(w) = self.workers {
            extract.workers = w;
        }
        extract
    }

    /// Inception features of each folder, in order, on the chosen device.
    pub fn folder_features(&self, dirs: &[&Path]) -> anyhow::Result<Vec<Extracted>> {
        self.device.run(FolderFeatures { args: self, dirs })?
    }
}

/// Loads the Inception once and extracts the features of several folders with it.
struct FolderFeatures<'a> {
    args: &'a InceptionArgs,
    dirs: &'a [&'a Path],
}

impl BackendTask for FolderFeatures<'_> {
    type Output = anyhow::Result<Vec<Extracted>>;

    fn run<B: Backend>(self, device: B::Device) -> Self::Output {
        let options = FidOptions {
            weights: self.args.weights.clone(),
            extract: self.args.extract_options(),
            ..Default::default()
        };
        let model = load_model::<B>(&options, &device)?;
        let mut out = Vec::with_capacity(self.dirs.len());
        for dir in self.dirs {
            let pb = bar(&dir.display().to_string());
            let ex = side_features(&model, dir, &options.extract, &device, |done, total| {
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
            out.push(ex);
        }
        Ok(out)
    }
}

/// A bar showing images processed in one folder.
fn bar(label: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} (eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(label.to_string());
    bar
}
