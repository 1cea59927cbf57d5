//! Where a run folder stands before training starts: a new run must not land on an old one,
//! and a resume must load a checkpoint that is really there, falling back to the previous
//! kept checkpoint (with a warning) when the newest cannot be loaded.

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;

use super::TrainError;
use super::checkpoint::{
    TrainState, checkpoint_folders, checkpoints_dir, read_state, verify_checkpoint,
};
use super::gan_model::GanModel;
use crate::weights::checkpoint::{GENERATOR_FILE, RUN_LATEST_FILE};

/// File of the resolved config inside a run folder.
pub const CONFIG_FILE: &str = "config.toml";

/// Whether `run_dir` holds (part of) a training run: its config, its `latest` file, or
/// checkpoints.
pub fn holds_run(run_dir: &Path) -> bool {
    run_dir.join(CONFIG_FILE).exists()
        || run_dir.join(RUN_LATEST_FILE).exists()
        || !checkpoint_folders(run_dir).is_empty()
}

/// Refuses to start a new run in a folder that holds one (`train --out` without `--resume`).
pub fn refuse_existing_run(run_dir: &Path) -> Result<(), TrainError> {
    if holds_run(run_dir) {
        return Err(TrainError::ExistingRun {
            path: run_dir.to_path_buf(),
        });
    }
    Ok(())
}

/// The checkpoint folder `latest` names, if the file exists (whether or not the folder does).
fn named_by_latest(run_dir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(run_dir.join(RUN_LATEST_FILE)).ok()?;
    let generator = run_dir.join(text.trim());
    generator.parent().map(Path::to_path_buf)
}

/// Loads one checkpoint folder into `model`: manifest first (so truncation is named as
/// such), then the state, then the networks and optimizers.
fn load_one<B: AutodiffBackend>(
    dir: &Path,
    model: &mut dyn GanModel<B>,
) -> Result<TrainState, TrainError> {
    if !dir.is_dir() {
        return Err(TrainError::checkpoint(dir, "does not exist"));
    }
    verify_checkpoint(dir)?;
    let state = read_state(dir)?;
    model.load_state(dir).map_err(|e| match e {
        TrainError::Checkpoint { path, message } => TrainError::Checkpoint {
            path,
            message: format!(
                "cannot be loaded (truncated or corrupt file, or one written by an incompatible toongan): {message}"
            ),
        },
        other => other,
    })?;
    Ok(state)
}

/// Loads the checkpoint a run resumes from into `model`: the one `latest` names, or, when it
/// fails to load, the newest older kept one (with a warning on stderr). `None` for a folder
/// without checkpoints (a fresh run). A folder with checkpoints but no `latest` is refused
/// with the command that picks one.
pub fn load_resume_point<B: AutodiffBackend>(
    run_dir: &Path,
    model: &mut dyn GanModel<B>,
) -> Result<Option<(PathBuf, TrainState)>, TrainError> {
    let folders = checkpoint_folders(run_dir);
    let Some(named) = named_by_latest(run_dir) else {
        return match folders.first() {
            None => Ok(None),
            Some(newest) => Err(TrainError::NoLatest {
                path: run_dir.to_path_buf(),
                pick: format!(
                    "echo checkpoints/{}/{GENERATOR_FILE} > {}",
                    newest.file_name().unwrap_or_default().to_string_lossy(),
                    run_dir.join(RUN_LATEST_FILE).display()
                ),
            }),
        };
    };
    let named_name = named.file_name().map(|n| n.to_string_lossy().into_owned());
    // The named checkpoint, then the kept ones older than it, newest first.
    let mut candidates = vec![named.clone()];
    candidates.extend(folders.into_iter().filter(|f| {
        let n = f.file_name().map(|n| n.to_string_lossy().into_owned());
        n < named_name && *f != named
    }));
    let mut first_error: Option<TrainError> = None;
    for dir in candidates {
        match load_one(&dir, model) {
            Ok(state) => {
                if let Some(e) = &first_error {
                    eprintln!(
                        "warning: {e}\nwarning: resuming from the previous kept checkpoint {} (step {}) instead",
                        dir.display(),
                        state.global_step
                    );
                }
                return Ok(Some((dir, state)));
            }
            Err(e) => match first_error {
                Some(_) => eprintln!("warning: {e}"),
                None => first_error = Some(e),
            },
        }
    }
    Err(first_error.unwrap_or_else(|| {
        TrainError::checkpoint(&checkpoints_dir(run_dir), "no checkpoint can be loaded")
    }))
}
