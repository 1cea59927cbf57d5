//! Checkpoints of a run: one folder per checkpoint (model state, optimizer states, the
//! generator as a cartoonize-ready file, and the loop's position), written to a temporary
//! folder and renamed into place, then named in the run's `latest` file.

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::gan_model::GanModel;
use crate::weights::checkpoint::{GENERATOR_FILE, RUN_LATEST_FILE};

/// Where the loop stands: enough, with the seed, to reproduce every later batch. The data
/// randomness is counter-based ([`super::data::mix`]), so this position *is* the RNG state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainState {
    /// The next epoch to run (0-based).
    pub epoch: usize,
    /// The next step within that epoch.
    pub step_in_epoch: usize,
    /// Optimisation steps done so far.
    pub global_step: usize,
    /// The run's seed.
    pub seed: u64,
}

/// File inside a checkpoint folder holding the [`TrainState`].
pub const STATE_FILE: &str = "state.json";

/// The checkpoints folder of a run.
pub fn checkpoints_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

/// Writes a checkpoint of `model` at `state`, names it in `<run>/latest`, and deletes all but
/// the newest `keep`. Returns the checkpoint folder.
pub fn save_checkpoint<B: AutodiffBackend>(
    run_dir: &Path,
    model: &dyn GanModel<B>,
    state: &TrainState,
    keep: usize,
) -> Result<PathBuf, TrainError> {
    let root = checkpoints_dir(run_dir);
    let name = format!("step-{:09}", state.global_step);
    let final_dir = root.join(&name);
    let tmp = root.join(format!(".tmp-{name}"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| TrainError::checkpoint(&tmp, e))?;
    model.save_state(&tmp)?;
    model.save_generator(&tmp.join(GENERATOR_FILE))?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| TrainError::checkpoint(&tmp, e))?;
    crate::imageio::atomic_write(&tmp.join(STATE_FILE), &json)
        .map_err(|e| TrainError::checkpoint(&tmp, e))?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(|e| TrainError::checkpoint(&final_dir, e))?;
    }
    std::fs::rename(&tmp, &final_dir).map_err(|e| TrainError::checkpoint(&final_dir, e))?;
    let latest = format!("checkpoints/{name}/{GENERATOR_FILE}\n");
    let latest_path = run_dir.join(RUN_LATEST_FILE);
    crate::imageio::atomic_write(&latest_path, latest.as_bytes())
        .map_err(|e| TrainError::checkpoint(&latest_path, e))?;
    prune(&root, keep.max(1));
    Ok(final_dir)
}

/// Deletes all but the newest `keep` checkpoint folders (names sort by step).
fn prune(root: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("step-"))
        .collect();
    names.sort();
    let n = names.len();
    for old in names.into_iter().take(n.saturating_sub(keep)) {
        let _ = std::fs::remove_dir_all(root.join(old));
    }
}

/// The newest checkpoint of a run (the one `latest` names) and its state, if any.
pub fn latest_checkpoint(run_dir: &Path) -> Result<Option<(PathBuf, TrainState)>, TrainError> {
    let latest = run_dir.join(RUN_LATEST_FILE);
    if !latest.exists() {
        return Ok(None);
    }
    let generator = crate::weights::checkpoint::resolve_generator_path(run_dir)
        .map_err(|e| TrainError::checkpoint(&latest, e))?;
    let dir = generator
        .parent()
        .ok_or_else(|| TrainError::checkpoint(&latest, "names no checkpoint folder"))?
        .to_path_buf();
    let state_path = dir.join(STATE_FILE);
    let bytes = std::fs::read(&state_path).map_err(|e| TrainError::checkpoint(&state_path, e))?;
    let state =
        serde_json::from_slice(&bytes).map_err(|e| TrainError::checkpoint(&state_path, e))?;
    Ok(Some((dir, state)))
}
