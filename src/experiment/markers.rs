//! The two markers of a run folder, each written atomically so a reader sees all or nothing:
//! [`DONE_FILE`](super::layout::DONE_FILE) after training, and
//! [`FINISHED_FILE`](super::layout::FINISHED_FILE) after the test photos are cartoonized and
//! scored. `--report` collects exactly the runs with both.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::ExperimentError;
use super::scoring::RunScores;

/// Contents of a run's `done` marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoneMarker {
    /// Training steps in total.
    pub steps: usize,
    /// The final checkpoint.
    pub checkpoint: PathBuf,
    /// Seconds of the training session that finished the run.
    pub train_seconds: f64,
}

/// Which Inception scored a run, for the report's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorerNote {
    /// The scorer's label (weights file and dimensions, or random weights).
    pub label: String,
    /// Test cartoons scored against.
    pub reference_images: usize,
    /// Whether the Inception had random weights.
    pub random: bool,
}

/// Contents of a run's `finished.json`: everything the report needs from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinishedMarker {
    /// Training steps in total.
    pub steps: usize,
    /// Seconds of the training session that finished the run.
    pub train_seconds: f64,
    /// FID/KID, when the plan asks for metrics.
    pub scores: Option<RunScores>,
    /// The Inception that scored them.
    pub scorer: Option<ScorerNote>,
}

/// Reads a marker; `None` when it is missing or unreadable (a run without it is unfinished).
pub fn read_marker<T: DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes a marker atomically (temporary file, then rename).
pub fn write_marker<T: Serialize>(path: &Path, marker: &T) -> Result<(), ExperimentError> {
    let text = serde_json::to_string_pretty(marker).map_err(|e| ExperimentError::io(path, e))?;
    crate::imageio::atomic_write(path, text.as_bytes()).map_err(|e| ExperimentError::io(path, e))
}
