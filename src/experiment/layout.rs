//! Where an experiment writes: `<out>/runs/<variant>/seed-<s>/` (training runs),
//! `<out>/outputs/<variant>/seed-<s>/` (cartoonized test photos), `<out>/test-set/`
//! (the test images as every variant sees them), `<out>/tiny-train/` (`--scale tiny` only),
//! `<out>/distill/` (a distillation plan's split), `<out>/report/`.

use std::path::{Path, PathBuf};

/// Marker written (atomically) into a run folder after its final checkpoint; a run that has
/// it is not trained again.
pub const DONE_FILE: &str = "done";

/// Marker written (atomically) into a run folder once its outputs are cartoonized and scored:
/// what `--report` collects ([`super::markers::FinishedMarker`]).
pub const FINISHED_FILE: &str = "finished.json";

/// Scores of a run's outputs, cached next to them (`scores.json`).
pub const SCORES_FILE: &str = "scores.json";

/// The folders of one experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The experiment folder.
    pub root: PathBuf,
}

impl Layout {
    /// The layout under `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// The training run of a variant and seed.
    pub fn run_dir(&self, variant: &str, seed: u64) -> PathBuf {
        self.root
            .join("runs")
            .join(variant)
            .join(format!("seed-{seed}"))
    }

    /// The lock a process holds while it trains, cartoonizes and scores a run
    /// ([`RunLock`](super::RunLock)): beside the run folder, so deleting a run keeps its lock.
    pub fn run_lock(&self, variant: &str, seed: u64) -> PathBuf {
        self.root
            .join("runs")
            .join(variant)
            .join(format!("seed-{seed}.lock"))
    }

    /// The lock held while the shared inputs (test set, tiny training copies) are prepared.
    pub fn prepare_lock(&self) -> PathBuf {
        self.root.join("prepare.lock")
    }

    /// The Slurm job scripts of `--slurm` and their logs.
    pub fn slurm(&self) -> PathBuf {
        self.root.join("slurm")
    }

    /// The cartoonized test photos of a variant and seed.
    pub fn outputs_dir(&self, variant: &str, seed: u64) -> PathBuf {
        self.root
            .join("outputs")
            .join(variant)
            .join(format!("seed-{seed}"))
    }

    /// The prepared test photos (inputs of every variant).
    pub fn test_photos(&self) -> PathBuf {
        self.root.join("test-set").join("photos")
    }

    /// The prepared test cartoons (the FID/KID reference).
    pub fn test_cartoons(&self) -> PathBuf {
        self.root.join("test-set").join("cartoons")
    }

    /// The small training copies of `--scale tiny` (`photos/`, `cartoons/`).
    pub fn tiny_train(&self) -> PathBuf {
        self.root.join("tiny-train")
    }

    /// A distillation plan's split: `train/photos/`, `train/cartoons/` (teacher outputs),
    /// `test/photos/` (the held-out photos at the crop size).
    pub fn distill(&self) -> PathBuf {
        self.root.join("distill")
    }

    /// A distillation plan's training folders (`photos/`, `cartoons/`).
    pub fn distill_train(&self) -> PathBuf {
        self.distill().join("train")
    }

    /// A distillation plan's held-out test photos, before the test set is prepared from them.
    pub fn distill_test_photos(&self) -> PathBuf {
        self.distill().join("test").join("photos")
    }

    /// The scores of the two bounds of a distillation plan (identity and teacher).
    pub fn bounds_file(&self) -> PathBuf {
        self.root.join("test-set").join("bounds.json")
    }

    /// Edge-smoothed training cartoons, shared by every run (keyed by content and size).
    pub fn edge_cache(&self) -> PathBuf {
        self.root.join("edge-cache")
    }

    /// The report folder.
    pub fn report(&self) -> PathBuf {
        self.root.join("report")
    }
}
