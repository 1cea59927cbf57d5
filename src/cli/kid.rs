//! `toongan kid`: Kernel Inception Distance between two image folders, as torch-fidelity
//! computes it (unbiased, so meaningful with few images).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use toongan::eval::{EvalError, KidOptions, Side, kid};

use super::eval_common::InceptionArgs;

/// Arguments of `toongan kid`.
#[derive(Debug, Args)]
pub struct KidArgs {
    /// Two image folders.
    #[arg(num_args = 2, required = true, value_names = ["A", "B"])]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    inception: InceptionArgs,
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
    let mut both = args
        .inception
        .folder_features(&[&args.paths[0], &args.paths[1]])?;
    let (b, a) = (both.remove(1), both.remove(0));
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
