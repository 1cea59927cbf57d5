//! Checkpoints of a run: one folder per checkpoint (model state, optimizer states, the
//! generator as a cartoonize-ready file, the loop's position, and a manifest of file sizes),
//! written to a temporary folder, every file and folder fsynced, renamed into place, then
//! named in the run's `latest` file. A folder is never deleted while `latest` names it: a
//! second save of the same step gets a new folder (`step-N-r001`), and the old one goes only
//! after `latest` names the new one.

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::gan_model::GanModel;
use crate::weights::checkpoint::{GENERATOR_FILE, RUN_LATEST_FILE};

/// Where the loop stands: enough, with the seed, to reproduce every later batch. The data
/// randomness is counter-based (`rng.rs`), so this position *is* the RNG state.
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

/// File inside a checkpoint folder listing every other file and its size in bytes, so a
/// truncated file is reported as truncated rather than as whatever the decoder makes of it.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Writes a checkpoint of `model` at `state`, names it in `<run>/latest`, and deletes all but
/// the newest `keep`. Returns the checkpoint folder.
pub fn save_checkpoint<B: AutodiffBackend>(
    run_dir: &Path,
    model: &dyn GanModel<B>,
    state: &TrainState,
    keep: usize,
) -> Result<PathBuf, TrainError> {
    let root = checkpoints_dir(run_dir);
    let base = format!("step-{:09}", state.global_step);
    // A step saved before keeps its folder until `latest` names the new one.
    let name = (0..)
        .map(|k| {
            if k == 0 {
                base.clone()
            } else {
                format!("{base}-r{k:03}")
            }
        })
        .find(|n| !root.join(n).exists())
        .unwrap_or_else(|| base.clone());
    let final_dir = root.join(&name);
    let tmp = root.join(format!(".tmp-{name}"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| TrainError::checkpoint(&tmp, e))?;
    model.save_state(&tmp)?;
    model.save_generator(&tmp.join(GENERATOR_FILE))?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| TrainError::checkpoint(&tmp, e))?;
    crate::imageio::atomic_write(&tmp.join(STATE_FILE), &json)
        .map_err(|e| TrainError::checkpoint(&tmp, e))?;
    write_manifest(&tmp)?;
    std::fs::rename(&tmp, &final_dir).map_err(|e| TrainError::checkpoint(&final_dir, e))?;
    crate::imageio::sync_dir(&root).map_err(|e| TrainError::checkpoint(&root, e))?;
    let latest = format!("checkpoints/{name}/{GENERATOR_FILE}\n");
    let latest_path = run_dir.join(RUN_LATEST_FILE);
    crate::imageio::atomic_write(&latest_path, latest.as_bytes())
        .map_err(|e| TrainError::checkpoint(&latest_path, e))?;
    // Earlier saves of this same step are superseded now that `latest` names this one.
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let n = entry.file_name().to_string_lossy().into_owned();
            if n != name && (n == base || n.starts_with(&format!("{base}-r"))) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    prune(&root, keep.max(1));
    Ok(final_dir)
}

/// Fsyncs every file under `dir` (and the folders), then writes [`MANIFEST_FILE`] listing
/// each file's size.
fn write_manifest(dir: &Path) -> Result<(), TrainError> {
    let mut sizes = std::collections::BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| TrainError::checkpoint(dir, e))?;
        let path = entry.path();
        if entry.file_type().is_dir() {
            crate::imageio::sync_dir(path).map_err(|e| TrainError::checkpoint(path, e))?;
            continue;
        }
        let file = std::fs::File::open(path).map_err(|e| TrainError::checkpoint(path, e))?;
        file.sync_all()
            .map_err(|e| TrainError::checkpoint(path, e))?;
        let len = file
            .metadata()
            .map_err(|e| TrainError::checkpoint(path, e))?
            .len();
        let rel = path.strip_prefix(dir).unwrap_or(path);
        sizes.insert(rel.to_string_lossy().replace('\\', "/"), len);
    }
    let json = serde_json::to_vec_pretty(&sizes).map_err(|e| TrainError::checkpoint(dir, e))?;
    crate::imageio::atomic_write(&dir.join(MANIFEST_FILE), &json)
        .map_err(|e| TrainError::checkpoint(dir, e))
}

/// Checks a checkpoint folder against its manifest: every file present with the size it was
/// written with. Folders from before manifests pass unchecked.
pub fn verify_checkpoint(dir: &Path) -> Result<(), TrainError> {
    let manifest = dir.join(MANIFEST_FILE);
    let Ok(bytes) = std::fs::read(&manifest) else {
        return Ok(());
    };
    let sizes: std::collections::BTreeMap<String, u64> = serde_json::from_slice(&bytes)
        .map_err(|e| TrainError::checkpoint(&manifest, format!("corrupt manifest: {e}")))?;
    for (name, size) in sizes {
        let path = dir.join(&name);
        let len = std::fs::metadata(&path)
            .map_err(|e| TrainError::checkpoint(&path, format!("missing ({e})")))?
            .len();
        if len != size {
            return Err(TrainError::checkpoint(
                &path,
                format!("truncated or corrupt: {len} bytes, {size} were written"),
            ));
        }
    }
    Ok(())
}

/// The checkpoint folders of a run, newest first (names sort by step).
pub fn checkpoint_folders(run_dir: &Path) -> Vec<PathBuf> {
    let root = checkpoints_dir(run_dir);
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("step-"))
        .collect();
    names.sort();
    names.into_iter().rev().map(|n| root.join(n)).collect()
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

/// Reads the [`TrainState`] of a checkpoint folder.
pub fn read_state(dir: &Path) -> Result<TrainState, TrainError> {
    let state_path = dir.join(STATE_FILE);
    let bytes = std::fs::read(&state_path).map_err(|e| TrainError::checkpoint(&state_path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| TrainError::checkpoint(&state_path, format!("truncated or corrupt: {e}")))
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
    let state = read_state(&dir)?;
    Ok(Some((dir, state)))
}
