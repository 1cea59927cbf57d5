//! `toongan fid`: Fréchet Inception Distance between two image folders or statistics files,
//! the number pytorch-fid gives; or `--save-stats` to write a folder's statistics.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use toongan::eval::{Side, Statistics, frechet_distance, read_stats, write_stats};

use super::eval_common::InceptionArgs;

/// Arguments of `toongan fid`.
#[derive(Debug, Args)]
pub struct FidArgs {
    /// Two image folders or `.npz` statistics files (pytorch-fid's or toongan's); with
    /// --save-stats, an image folder and the `.npz` to write.
    #[arg(num_args = 2, required = true, value_names = ["A", "B"])]
    paths: Vec<PathBuf>,
    /// Write the statistics (mu, sigma) of folder A to the `.npz` B instead of comparing.
    #[arg(long)]
    save_stats: bool,
    #[command(flatten)]
    inception: InceptionArgs,
}

pub fn run(args: FidArgs) -> anyhow::Result<ExitCode> {
    let dims = args.inception.dims;
    if args.save_stats {
        let (dir, out) = (&args.paths[0], &args.paths[1]);
        if !dir.is_dir() {
            bail!("{} is not a folder of images", dir.display());
        }
        let ex = args.inception.folder_features(&[dir])?.remove(0);
        warn_few(dir, ex.paths.len(), dims);
        let stats = Statistics::from_features(&ex.features)?;
        write_stats(out, &stats)?;
        eprintln!(
            "wrote {} ({} images, {dims} dims)",
            out.display(),
            ex.paths.len(),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let sides: Vec<Side> = args.paths.iter().map(|p| Side::from_path(p)).collect();
    let folders: Vec<&Path> = sides
        .iter()
        .filter_map(|s| match s {
            Side::Folder(dir) => Some(dir.as_path()),
            Side::Stats(_) => None,
        })
        .collect();
    let mut features = if folders.is_empty() {
        Vec::new()
    } else {
        args.inception.folder_features(&folders)?
    }
    .into_iter();
    let mut stats = Vec::with_capacity(2);
    for side in &sides {
        stats.push(match side {
            Side::Stats(path) => read_stats(path)?,
            Side::Folder(dir) => {
                let ex = features.next().context("features of every folder")?;
                warn_few(dir, ex.paths.len(), dims);
                Statistics::from_features(&ex.features)?
            }
        });
    }
    let fid = frechet_distance(&stats[0], &stats[1])?;
    println!("FID: {fid:.6}");
    Ok(ExitCode::SUCCESS)
}

/// FID's covariance is singular with fewer images than dimensions.
fn warn_few(dir: &Path, n: usize, dims: usize) {
    if n < dims {
        eprintln!(
            "warning: {} has {n} images, fewer than the {dims} feature dimensions: its covariance \
             is singular and FID is unreliable (and biased at small n). Use more images, a \
             smaller --dims, or `toongan kid`.",
            dir.display()
        );
    }
}
