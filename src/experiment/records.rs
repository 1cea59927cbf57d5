//! What an experiment reports about its runs: [`RunRecord`] per variant × seed, and the
//! [`ExperimentSummary`] of one invocation.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::scoring::RunScores;

/// What happened to a run in this invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Trained from scratch.
    Trained,
    /// Continued from a checkpoint of an earlier, unfinished invocation.
    Resumed,
    /// Already finished: not trained again.
    Reused,
}

/// One variant × seed.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Variant name.
    pub variant: String,
    /// Seed.
    pub seed: u64,
    /// The training run folder.
    pub run_dir: PathBuf,
    /// The cartoonized test photos.
    pub outputs_dir: PathBuf,
    /// Trained, resumed or reused.
    pub status: RunStatus,
    /// Training steps in total.
    pub steps: usize,
    /// Seconds of the training session that finished the run.
    pub train_seconds: f64,
    /// FID/KID (and the paired distances of a distillation plan), when the plan asks for
    /// metrics.
    pub scores: Option<RunScores>,
}

/// The outcome of [`super::run_experiment`].
#[derive(Debug, Clone)]
pub struct ExperimentSummary {
    /// The runs this invocation handled (or, for [`super::Mode::Report`], found finished),
    /// in plan order (variant, then seed).
    pub runs: Vec<RunRecord>,
    /// The report folder, when a report was written (not by a shard).
    pub report_dir: Option<PathBuf>,
    /// The Inception used for the metrics, if any.
    pub inception: Option<String>,
    /// Runs of this invocation held by another process (`variant/seed held by ...`): not
    /// touched.
    pub busy: Vec<String>,
    /// Runs of the plan not finished yet (`variant/seed`), for [`super::Mode::Report`].
    pub missing: Vec<String>,
}
