//! The metrics log: one JSON object per line (`metrics.jsonl`), appended, so a resumed run
//! continues the same file and any tool can read it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::TrainError;

/// One logged point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRecord {
    /// Optimisation steps done.
    pub step: usize,
    /// Epoch of the step (0-based).
    pub epoch: usize,
    /// "init" or "adversarial".
    pub phase: String,
    /// Losses of the step, by name.
    pub losses: std::collections::BTreeMap<String, f64>,
    /// Seconds per step over the last logging interval.
    pub seconds_per_step: f64,
}

/// Appends records to a run's metrics file.
#[derive(Debug, Clone)]
pub struct MetricsLog {
    path: PathBuf,
}

impl MetricsLog {
    /// The log in `run_dir`.
    pub fn new(run_dir: &Path) -> Self {
        Self {
            path: run_dir.join("metrics.jsonl"),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record (one line, flushed).
    pub fn append(&self, record: &MetricsRecord) -> Result<(), TrainError> {
        let line = serde_json::to_string(record).map_err(|e| TrainError::output(&self.path, e))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| TrainError::output(&self.path, e))?;
        writeln!(f, "{line}").map_err(|e| TrainError::output(&self.path, e))
    }

    /// Drops records after `step` (a resumed run rewinds to its checkpoint).
    pub fn truncate_after(&self, step: usize) -> Result<(), TrainError> {
        let kept: Vec<String> = self
            .read()?
            .into_iter()
            .filter(|r| r.step <= step)
            .filter_map(|r| serde_json::to_string(&r).ok())
            .collect();
        let mut text = kept.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        crate::imageio::atomic_write(&self.path, text.as_bytes())
            .map_err(|e| TrainError::output(&self.path, e))
    }

    /// All records (an absent file has none; unparsable lines are skipped).
    pub fn read(&self) -> Result<Vec<MetricsRecord>, TrainError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(TrainError::output(&self.path, e)),
        }
    }
}
