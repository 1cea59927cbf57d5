//! Everything that can stop an experiment, each naming the plan, the variant and seed, or the
//! file involved.

use std::path::PathBuf;

use super::PlanError;
use crate::eval::EvalError;
use crate::train::TrainError;

/// Errors of `toongan experiment`.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The plan file cannot be read or is invalid.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A field of the plan does not resolve to a usable training config or path.
    #[error("plan {plan}: {field}: {message}")]
    Field {
        /// The plan file.
        plan: PathBuf,
        /// The field, e.g. `variant 'lsgan' overrides` or `data.test_photos`.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// Training one run failed.
    #[error("variant '{variant}' seed {seed} (run {run}): {source}")]
    Train {
        /// The variant.
        variant: String,
        /// The seed.
        seed: u64,
        /// The run folder.
        run: PathBuf,
        /// The cause.
        source: TrainError,
    },
    /// Cartoonizing the test photos with one run's generator failed.
    #[error("variant '{variant}' seed {seed}: cartoonizing the test photos: {message}")]
    Cartoonize {
        /// The variant.
        variant: String,
        /// The seed.
        seed: u64,
        /// What went wrong.
        message: String,
    },
    /// Computing FID or KID failed.
    #[error("{what}: {source}")]
    Eval {
        /// What was being scored.
        what: String,
        /// The cause.
        source: EvalError,
    },
    /// Stopped (Ctrl-C) during training; the run saved a checkpoint.
    #[error(
        "interrupted; the run saved checkpoint {checkpoint}: run the same command again to \
         continue (finished runs are reused, this one resumes)"
    )]
    Interrupted {
        /// The checkpoint written.
        checkpoint: PathBuf,
    },
    /// Writing or submitting the Slurm jobs failed.
    #[error("slurm: {0}")]
    Slurm(String),
    /// A file of the experiment folder could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl ExperimentError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, e: impl ToString) -> Self {
        Self::Io {
            path: path.into(),
            message: e.to_string(),
        }
    }
}
