//! `toongan kid`: Kernel Inception Distance between two image folders, as torch-fidelity
//! computes it (unbiased, so meaningful with few images).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use toongan::eval::{EvalError, ExtractOptions, KidOptions, Side, kid};
use toongan::weights::fid_inception::FID_WEIGHTS_ENV;

use super::eval_common::{folder_features, model};

/// Arguments of `toongan kid`.
#[derive(Debug, Args)]
pub struct KidArgs {
    /// Two image folders.
    #[arg(num_args = 2, required = true, value_names = ["A", "B"])]
    paths: Vec<PathBuf>,
    /// pytorch-fid's Inception weights, pt_inception-2015-12-05-6726825d.pth.
    #[arg(long, env = FID_WEIGHTS_ENV)]
    weights: Option<PathBuf>,
    /// Feature dimensions: 2048 (standard), 768, 192 or 64.
    #[arg(long, default_value_t = 2048)]
    dims: usize,
    /// Images per network batch.
    #[arg(long, default_value_t = 50)]
    batch_size: usize,
    /// Number of random subsets.
    #[arg(long, default_value_t = 100)]
    subsets: usize,
    /// Images per subset (smaller folders use all their images).
    #[arg(long, default_value_t = 1000)]
    subset_size: usize,
    /// Seed of the subset sampler.
    #[arg(long, default_value_t = 2020)]
    seed: u64,
}

pub fn run(args: KidArgs) -> anyhow::Result<ExitCode> {
    for p in &args.paths {
        if let Side::Stats(path) = Side::from_path(p) {
            return Err(EvalError::KidNeedsImages(path).into());
        }
    }
    let extract = ExtractOptions {
        dims: args.dims,
        batch_size: args.batch_size,
        ..Default::default()
    };
    let net = model(args.weights.as_ref(), args.dims)?;
    let a = folder_features(&net, &args.paths[0], &extract)?;
    let b = folder_features(&net, &args.paths[1], &extract)?;
    let options = KidOptions {
        subsets: args.subsets,
        subset_size: args.subset_size,
        seed: args.seed,
    };
    let k = kid(&a.features, &b.features, &options)?;
    if k.subset_size < options.subset_size {
        eprintln!(
            "note: subsets of {} images (all of the smaller side), not {}",
            k.subset_size, options.subset_size
        );
    }
    println!("KID: {:.6} ± {:.6}", k.mean, k.std);
    Ok(ExitCode::SUCCESS)
}
