//! `toongan experiment`: every variant × seed of a plan trained with the shared
//! [`Trainer`] (finished runs reused, unfinished ones resumed), the test photos cartoonized
//! by each, scored, and the report written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use super::cartoonize_run::cartoonize_test_photos;
use super::layout::{DONE_FILE, Layout, SCORES_FILE};
use super::report_writer::write_report;
use super::resolve::resolve_config;
use super::scoring::{RunScores, Scorer};
use super::test_set::prepare_test_images;
use super::{ExperimentError, ExperimentPlan, Scale};
use crate::eval::KidOptions;
use crate::train::checkpoint::latest_checkpoint;
use crate::train::data::run_smoothing;
use crate::train::{RunOutcome, TrainConfig, Trainer};

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
        }
    }
}

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
    /// FID/KID, when the plan asks for metrics.
    pub scores: Option<RunScores>,
}

/// The outcome of [`run_experiment`].
#[derive(Debug, Clone)]
pub struct ExperimentSummary {
    /// Every run, in plan order (variant, then seed).
    pub runs: Vec<RunRecord>,
    /// The report folder.
    pub report_dir: PathBuf,
    /// The Inception used for the metrics, if any.
    pub inception: Option<String>,
}

/// Contents of a run's [`DONE_FILE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DoneMarker {
    steps: usize,
    checkpoint: PathBuf,
    train_seconds: f64,
}

/// A plan resolved into runs, ready to execute.
struct PlannedRun {
    variant: String,
    seed: u64,
    config: TrainConfig,
}

/// Runs the plan at `plan_path`; `log` receives one line per step of progress.
pub fn run_experiment<B: AutodiffBackend>(
    plan_path: &Path,
    options: &RunnerOptions,
    device: &B::Device,
    log: &mut dyn FnMut(&str),
) -> Result<ExperimentSummary, ExperimentError>
where
    B::Device: Clone,
{
    let plan_path = std::path::absolute(plan_path).unwrap_or_else(|_| plan_path.to_path_buf());
    let plan = ExperimentPlan::load(&plan_path)?;
    let out = std::path::absolute(&options.out).unwrap_or_else(|_| options.out.clone());
    let layout = Layout::new(&out);
    check_data(&plan, &plan_path)?;
    let mut runs = plan_runs(&plan, &plan_path, options, &layout)?;
    if let (Some(limit), Some(first)) = (options.scale.train_limit(), runs.first()) {
        // Small square copies at the load size, made once, read by every tiny run.
        let size = first.config.data.load_size as u32;
        let dir = layout.tiny_train();
        let mut warn = |m: String| log(&format!("warning: {m}"));
        let photos = dir.join("photos");
        let cartoons = dir.join("cartoons");
        prepare_test_images(
            &plan.data.train_photos,
            &photos,
            size,
            Some(limit),
            &mut warn,
        )?;
        prepare_test_images(
            &plan.data.train_cartoons,
            &cartoons,
            size,
            Some(limit),
            &mut warn,
        )?;
        for run in &mut runs {
            run.config.data.photos = photos.clone();
            run.config.data.cartoons = cartoons.clone();
        }
    }
    let crop = runs.first().map_or(256, |r| r.config.data.crop_size);
    if let Some(r) = runs.iter().find(|r| r.config.data.crop_size != crop) {
        return Err(ExperimentError::Field {
            plan: plan_path.clone(),
            field: format!("variant '{}' data.crop_size", r.variant),
            message: format!(
                "{} differs from the first variant's {crop}: every variant must cartoonize \
                 the test photos at the same size to be compared",
                r.config.data.crop_size
            ),
        });
    }

    let (photo_limit, cartoon_limit) = options.scale.test_limits();
    let mut warn = |m: String| log(&format!("warning: {m}"));
    let photos = prepare_test_images(
        &plan.data.test_photos,
        &layout.test_photos(),
        crop as u32,
        photo_limit,
        &mut warn,
    )?;
    if photos.is_empty() {
        return Err(ExperimentError::Field {
            plan: plan_path.clone(),
            field: "data.test_photos".into(),
            message: format!("no readable image in {}", plan.data.test_photos.display()),
        });
    }
    let scorer = if plan.metrics.is_empty() {
        None
    } else {
        prepare_test_images(
            &plan.data.test_cartoons,
            &layout.test_cartoons(),
            crop as u32,
            cartoon_limit,
            &mut warn,
        )?;
        let weights = options
            .fid_weights
            .clone()
            .or_else(|| plan.eval.fid_weights.clone());
        let dims = options.scale.fid_dims(plan.eval.dims);
        let kid = KidOptions {
            subsets: plan.eval.kid_subsets,
            subset_size: plan.eval.kid_subset_size,
            ..KidOptions::default()
        };
        log(&format!(
            "scoring setup: Inception features of {} test cartoons",
            plan.data.test_cartoons.display()
        ));
        let scorer = Scorer::<B::InnerBackend>::new(
            weights.as_deref(),
            options.scale == Scale::Tiny,
            dims,
            kid,
            &layout.test_cartoons(),
            device,
        )?;
        if scorer.random {
            log(&format!(
                "warning: metrics use a {}: they only show the pipeline runs",
                scorer.label
            ));
        }
        Some(scorer)
    };

    let total = runs.len();
    let mut records = Vec::with_capacity(total);
    for (i, run) in runs.into_iter().enumerate() {
        let tag = format!("[{}/{total}] {} seed {}", i + 1, run.variant, run.seed);
        let record = execute_run::<B>(
            &run,
            &layout,
            &plan_path,
            &photos,
            scorer.as_ref(),
            options,
            device,
            &tag,
            log,
        )?;
        records.push(record);
    }
    let report_dir = layout.report();
    write_report(
        &plan,
        &plan_path,
        options.scale,
        &records,
        &photos,
        scorer
            .as_ref()
            .map(|s| (s.label.as_str(), s.reference_images().len(), s.random)),
        crop,
        &report_dir,
    )?;
    log(&format!(
        "report: {}",
        report_dir.join("report.md").display()
    ));
    Ok(ExperimentSummary {
        runs: records,
        report_dir,
        inception: scorer.map(|s| s.label),
    })
}

/// Every data folder must exist before anything trains.
fn check_data(plan: &ExperimentPlan, plan_path: &Path) -> Result<(), ExperimentError> {
    let d = &plan.data;
    for (field, path) in [
        ("data.train_photos", &d.train_photos),
        ("data.train_cartoons", &d.train_cartoons),
        ("data.test_photos", &d.test_photos),
        ("data.test_cartoons", &d.test_cartoons),
    ] {
        if !path.is_dir() {
            return Err(ExperimentError::Field {
                plan: plan_path.to_path_buf(),
                field: field.into(),
                message: format!(
                    "folder {} does not exist (relative paths are relative to the plan's folder)",
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

/// Resolves every variant × seed up front, so a bad override fails before hours of training.
fn plan_runs(
    plan: &ExperimentPlan,
    plan_path: &Path,
    options: &RunnerOptions,
    layout: &Layout,
) -> Result<Vec<PlannedRun>, ExperimentError> {
    let seeds = options.scale.seeds(&plan.seeds);
    let mut runs = Vec::new();
    for variant in &plan.variants {
        for &seed in &seeds {
            let mut config = resolve_config(plan, plan_path, variant, seed, options.scale)?;
            config.output.progress = options.progress_bars;
            if config.data.edge_cache.is_none() {
                config.data.edge_cache = Some(layout.edge_cache());
            }
            runs.push(PlannedRun {
                variant: variant.name.clone(),
                seed,
                config,
            });
        }
    }
    Ok(runs)
}

/// Trains (or reuses), cartoonizes and scores one run.
#[allow(clippy::too_many_arguments)]
fn execute_run<B: AutodiffBackend>(
    run: &PlannedRun,
    layout: &Layout,
    plan_path: &Path,
    photos: &[PathBuf],
    scorer: Option<&Scorer<B::InnerBackend>>,
    options: &RunnerOptions,
    device: &B::Device,
    tag: &str,
    log: &mut dyn FnMut(&str),
) -> Result<RunRecord, ExperimentError>
where
    B::Device: Clone,
{
    let run_dir = layout.run_dir(&run.variant, run.seed);
    let outputs_dir = layout.outputs_dir(&run.variant, run.seed);
    let done_path = run_dir.join(DONE_FILE);
    let train_err = |source| ExperimentError::Train {
        variant: run.variant.clone(),
        seed: run.seed,
        run: run_dir.clone(),
        source,
    };
    let (status, marker) = if let Some(marker) = read_done(&done_path) {
        check_same_config(run, &run_dir, plan_path)?;
        log(&format!(
            "{tag}: finished earlier ({} steps), reusing {}",
            marker.steps,
            run_dir.display()
        ));
        (RunStatus::Reused, marker)
    } else {
        let resumed = latest_checkpoint(&run_dir).map_err(train_err)?.is_some();
        log(&format!(
            "{tag}: {} {} ({} epochs)",
            if resumed {
                "resuming from its latest checkpoint in"
            } else {
                "training into"
            },
            run_dir.display(),
            run.config.train.epochs
        ));
        let start = Instant::now();
        let smoothing = run_smoothing(&run.config.data, &run_dir);
        let mut trainer =
            Trainer::<B>::new(run.config.clone(), &run_dir, device.clone(), smoothing);
        trainer.stop = options.stop.clone();
        let (steps, checkpoint) = match trainer.run().map_err(train_err)? {
            RunOutcome::Finished { steps, checkpoint } => (steps, checkpoint),
            RunOutcome::Interrupted { checkpoint, .. } => {
                return Err(ExperimentError::Interrupted { checkpoint });
            }
        };
        let marker = DoneMarker {
            steps,
            checkpoint,
            train_seconds: start.elapsed().as_secs_f64(),
        };
        let text = serde_json::to_string_pretty(&marker).unwrap_or_default();
        crate::imageio::atomic_write(&done_path, text.as_bytes())
            .map_err(|e| ExperimentError::io(&done_path, e))?;
        log(&format!(
            "{tag}: trained {steps} steps in {:.1} s",
            marker.train_seconds
        ));
        let status = if resumed {
            RunStatus::Resumed
        } else {
            RunStatus::Trained
        };
        (status, marker)
    };

    let fresh = status != RunStatus::Reused;
    let written =
        cartoonize_test_photos(&run_dir, photos, &outputs_dir, fresh).map_err(|message| {
            ExperimentError::Cartoonize {
                variant: run.variant.clone(),
                seed: run.seed,
                message,
            }
        })?;
    if written > 0 {
        log(&format!(
            "{tag}: cartoonized {written} test photos into {}",
            outputs_dir.display()
        ));
    }
    let scores = match scorer {
        None => None,
        Some(scorer) => Some(score_run(
            scorer,
            &outputs_dir,
            photos.len(),
            fresh,
            tag,
            log,
        )?),
    };
    Ok(RunRecord {
        variant: run.variant.clone(),
        seed: run.seed,
        run_dir,
        outputs_dir,
        status,
        steps: marker.steps,
        train_seconds: marker.train_seconds,
        scores,
    })
}

/// Scores a run's outputs, reusing `scores.json` when the outputs and Inception are unchanged.
fn score_run<B: burn::tensor::backend::Backend>(
    scorer: &Scorer<B>,
    outputs_dir: &Path,
    images: usize,
    fresh: bool,
    tag: &str,
    log: &mut dyn FnMut(&str),
) -> Result<RunScores, ExperimentError> {
    let cache = outputs_dir.join(SCORES_FILE);
    let cached = std::fs::read(&cache)
        .ok()
        .and_then(|b| serde_json::from_slice::<RunScores>(&b).ok())
        .filter(|s| !fresh && s.inception == scorer.label && s.images == images);
    if let Some(scores) = cached {
        return Ok(scores);
    }
    let scores = scorer.score(outputs_dir)?;
    let text = serde_json::to_string_pretty(&scores).unwrap_or_default();
    crate::imageio::atomic_write(&cache, text.as_bytes())
        .map_err(|e| ExperimentError::io(&cache, e))?;
    log(&format!(
        "{tag}: FID {:.3}, KID {:.5} ± {:.5}",
        scores.fid, scores.kid, scores.kid_std
    ));
    Ok(scores)
}

fn read_done(path: &Path) -> Option<DoneMarker> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// A finished run is reused only if it was trained with the config the plan gives now.
fn check_same_config(
    run: &PlannedRun,
    run_dir: &Path,
    plan_path: &Path,
) -> Result<(), ExperimentError> {
    let config_path = run_dir.join(crate::train::trainer::CONFIG_FILE);
    let mut saved = TrainConfig::from_toml_file(&config_path)
        .map_err(|e| ExperimentError::io(&config_path, e))?;
    let mut wanted = run.config.clone();
    saved.output.progress = false;
    wanted.output.progress = false;
    if saved == wanted {
        return Ok(());
    }
    let (a, b) = (saved.to_toml(), wanted.to_toml());
    let differs = a
        .lines()
        .zip(b.lines())
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!(" (first difference: run has `{x}`, plan gives `{y}`)"))
        .unwrap_or_default();
    Err(ExperimentError::Field {
        plan: plan_path.to_path_buf(),
        field: format!("variant '{}' seed {}", run.variant, run.seed),
        message: format!(
            "the finished run {} was trained with another config{differs}; delete that \
             folder to retrain it with the plan's config, or restore the plan",
            run_dir.display()
        ),
    })
}
