//! `toongan fid`: Fréchet Inception Distance between two image folders or statistics files,
//! the number pytorch-fid gives; or `--save-stats` to write a folder's statistics.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use toongan::eval::{ExtractOptions, Side, Statistics, frechet_distance, read_stats, write_stats};
use toongan::weights::fid_inception::FID_WEIGHTS_ENV;

use super::eval_common::{folder_features, model};

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
    /// pytorch-fid's Inception weights, pt_inception-2015-12-05-6726825d.pth.
    #[arg(long, env = FID_WEIGHTS_ENV)]
    weights: Option<PathBuf>,
    /// Feature dimensions: 2048 (standard), 768, 192 or 64.
    #[arg(long, default_value_t = 2048)]
    dims: usize,
    /// Images per network batch.
    #[arg(long, default_value_t = 50)]
    batch_size: usize,
    /// Threads decoding images (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
}

pub fn run(args: FidArgs) -> anyhow::Result<ExitCode> {
    let mut extract = ExtractOptions {
        dims: args.dims,
        batch_size: args.batch_size,
        ..Default::default()
    };
    if let Some(w) = args.workers {
        extract.workers = w;
    }
    if args.save_stats {
        let (dir, out) = (&args.paths[0], &args.paths[1]);
        if !dir.is_dir() {
            bail!("{} is not a folder of images", dir.display());
        }
        let net = model(args.weights.as_ref(), args.dims)?;
        let ex = folder_features(&net, dir, &extract)?;
        warn_few(dir, ex.paths.len(), args.dims);
        let stats = Statistics::from_features(&ex.features)?;
        write_stats(out, &stats)?;
        eprintln!(
            "wrote {} ({} images, {} dims)",
            out.display(),
            ex.paths.len(),
            args.dims
        );
        return Ok(ExitCode::SUCCESS);
    }
    let sides: Vec<Side> = args.paths.iter().map(|p| Side::from_path(p)).collect();
    let needs_model = sides.iter().any(|s| matches!(s, Side::Folder(_)));
    let net = if needs_model {
        Some(model(args.weights.as_ref(), args.dims)?)
    } else {
        None
    };
    let mut stats = Vec::with_capacity(2);
    for side in &sides {
        stats.push(match side {
            Side::Stats(path) => read_stats(path)?,
            Side::Folder(dir) => {
                let net = net.as_ref().expect("model loaded for folders");
                let ex = folder_features(net, dir, &extract)?;
                warn_few(dir, ex.paths.len(), args.dims);
                Statistics::from_features(&ex.features)?
            }
        });
    }
    let fid = frechet_distance(&stats[0], &stats[1])?;
    println!("FID: {fid:.6}");
    Ok(ExitCode::SUCCESS)
}

/// FID's covariance is singular with fewer images than dimensions.
fn warn_few(dir: &std::path::Path, n: usize, dims: usize) {
    if n < dims {
        eprintln!(
            "warning: {} has {n} images, fewer than the {dims} feature dimensions: its covariance \
             is singular and FID is unreliable (and biased at small n). Use more images, a \
             smaller --dims, or `toongan kid`.",
            dir.display()
        );
    }
}
