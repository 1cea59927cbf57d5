//! Everything that can stop a training run, each naming the file and what to do.

use std::path::PathBuf;

/// Errors of the training library.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The configuration is invalid or cannot be read/written.
    #[error("config {path}: {message}")]
    Config {
        /// The config file (or the field for overrides).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A data folder is missing, empty or too small.
    #[error("data {path}: {message}")]
    Data {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A checkpoint could not be written or read.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A loss became NaN or infinite.
    #[error(
        "loss {name} is {value} at step {step}: training stopped. The last good checkpoint is \
         {last_checkpoint}; lower train.lr or check the data, then resume with --resume"
    )]
    NonFinite {
        /// The loss.
        name: String,
        /// Its value.
        value: f64,
        /// The global step.
        step: usize,
        /// The checkpoint kept.
        last_checkpoint: String,
    },
    /// Model-specific setup failed (e.g. feature network weights missing).
    #[error("{0}")]
    Model(String),
    /// An output (samples, metrics, plot) could not be written.
    #[error("cannot write {path}: {message}")]
    Output {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// `train --out` names a folder that already holds a run.
    #[error(
        "{path} already holds a training run: continue it with `toongan train --resume {path}`, \
         or give --out a new folder"
    )]
    ExistingRun {
        /// The run folder.
        path: PathBuf,
    },
    /// A run has checkpoints but no `latest` file naming the one to resume from.
    #[error(
        "{path} has checkpoints but no 'latest' file naming the one to resume from; pick one \
         (the newest is shown) with: {pick}"
    )]
    NoLatest {
        /// The run folder.
        path: PathBuf,
        /// The shell command that names the newest checkpoint.
        pick: String,
    },
    /// No model of that name.
    #[error("unknown model '{0}': choose one of {1}")]
    UnknownModel(String, String),
}

impl TrainError {
    /// An output error for `path`.
    pub fn output(path: &std::path::Path, e: impl ToString) -> Self {
        TrainError::Output {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    /// A checkpoint error for `path`.
    pub fn checkpoint(path: &std::path::Path, e: impl ToString) -> Self {
        TrainError::Checkpoint {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}
