//! How one invocation of `toongan experiment` runs a plan: [`RunnerOptions`] and [`Mode`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{Scale, Shard};

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// The experiment folder (runs, outputs, test set, report).
    pub out: PathBuf,
    /// Full plan or tiny.
    pub scale: Scale,
    /// FID Inception weights; overrides the plan's `eval.fid_weights`.
    pub fid_weights: Option<PathBuf>,
    /// Show each run's training progress bar.
    pub progress_bars: bool,
    /// Set to stop after the current training step (with a checkpoint); Ctrl-C sets it.
    pub stop: Arc<AtomicBool>,
    /// Every run and the report, one shard of the runs, or the report alone.
    pub mode: Mode,
}

/// What one invocation does with the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every run, then the report.
    #[default]
    All,
    /// Only this shard's runs (`--shard K/N`); no report.
    Shard(Shard),
    /// Nothing trained: the report of the runs finished so far (`--report`).
    Report,
}

impl RunnerOptions {
    /// Options for `out` at `scale`, no progress bars, never stopped.
    pub fn new(out: &Path, scale: Scale) -> Self {
        Self {
            out: out.to_path_buf(),
            scale,
            fid_weights: None,
            progress_bars: false,
            stop: Arc::new(AtomicBool::new(false)),
            mode: Mode::All,
        }
    }
}
