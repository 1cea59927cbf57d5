//! `toongan experiment`: every variant × seed of a plan trained with the shared
//! [`Trainer`] (finished runs reused, unfinished ones resumed), the test photos cartoonized
//! by each, scored, and the report written. [`Mode`] narrows that to one shard of the runs
//! (several processes, e.g. a Slurm job array, share a plan) or to the report alone.
//!
//! The steps: resolve every run ([`plan_runs`]), prepare the shared inputs under a lock
//! ([`prepare_inputs`]), then for each run of this process, under that run's lock
//! ([`super::run_lock`]), train, cartoonize and score it ([`execute_run`]), and write the
//! report ([`super::collect`] for `--report`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use super::cartoonize_run::cartoonize_test_photos;
use super::layout::{DONE_FILE, FINISHED_FILE, Layout, SCORES_FILE};
use super::markers::{DoneMarker, FinishedMarker, ScorerNote, read_marker, write_marker};
use super::report_writer::write_report;
use super::resolve::resolve_config;
use super::run_lock::RunLock;
use super::scoring::{RunScores, Scorer};
use super::shard::Shard;
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
    /// The runs this invocation handled (or, for [`Mode::Report`], found finished), in plan
    /// order (variant, then seed).
    pub runs: Vec<RunRecord>,
    /// The report folder, when a report was written (not by a shard).
    pub report_dir: Option<PathBuf>,
    /// The Inception used for the metrics, if any.
    pub inception: Option<String>,
    /// Runs of this invocation held by another process (`variant/seed held by ...`): not
    /// touched.
    pub busy: Vec<String>,
    /// Runs of the plan not finished yet (`variant/seed`), for [`Mode::Report`].
    pub missing: Vec<String>,
}

/// A plan resolved into runs, ready to execute.
pub(super) struct PlannedRun {
    pub(super) variant: String,
    pub(super) seed: u64,
    pub(super) config: TrainConfig,
}

impl PlannedRun {
    /// `variant/seed`, as `--list` prints it.
    pub(super) fn name(&self) -> String {
        format!("{}/{}", self.variant, self.seed)
    }
}

/// The runs of a plan at `scale`, as `variant/seed`, in plan order (the numbering of
/// `--shard`): every run is resolved, so a bad plan fails here too.
pub fn list_runs(plan_path: &Path, scale: Scale) -> Result<Vec<String>, ExperimentError> {
    let plan = ExperimentPlan::load(plan_path)?;
    let options = RunnerOptions::new(Path::new("."), scale);
    let runs = plan_runs(&plan, plan_path, &options, &Layout::new(Path::new(".")))?;
    Ok(runs.iter().map(PlannedRun::name).collect())
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
    let mut runs = plan_runs(&plan, &plan_path, options, &layout)?;
    if options.scale.train_limit().is_some() {
        use_tiny_train(&mut runs, &layout);
    }
    let crop = common_crop(&runs, &plan_path)?;
    if options.mode == Mode::Report {
        return super::collect::report_finished(
            &plan,
            &plan_path,
            options.scale,
            &runs,
            crop,
            &layout,
            log,
        );
    }
    check_data(&plan, &plan_path)?;
    let photos = {
        // Several shards may start at once: one prepares, the others wait and reuse.
        let _lock = RunLock::acquire(&layout.prepare_lock())?;
        prepare_inputs(&plan, &plan_path, options, &layout, &runs, crop, log)?
    };
    let mine: Vec<(usize, PlannedRun)> = runs
        .into_iter()
        .enumerate()
        .filter(|(i, _)| match options.mode {
            Mode::Shard(shard) => shard.contains(*i),
            _ => true,
        })
        .collect();
    let scorer = if plan.metrics.is_empty() || mine.is_empty() {
        None
    } else {
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

    let total = plan.variants.len() * options.scale.seeds(&plan.seeds).len();
    let mut records = Vec::with_capacity(mine.len());
    let mut busy = Vec::new();
    for (i, run) in &mine {
        let tag = format!("[{}/{total}] {} seed {}", i + 1, run.variant, run.seed);
        let _lock = match RunLock::try_acquire(&layout.run_lock(&run.variant, run.seed))? {
            Ok(lock) => lock,
            Err(holder) => {
                log(&format!("{tag}: held by {holder}; not touched"));
                busy.push(format!("{} held by {holder}", run.name()));
                continue;
            }
        };
        let record = execute_run::<B>(
            run,
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
    let report_dir = if options.mode == Mode::All {
        let report_dir = layout.report();
        let missing: Vec<String> = busy.clone();
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
            &missing,
            &report_dir,
        )?;
        log(&format!(
            "report: {}",
            report_dir.join("report.md").display()
        ));
        Some(report_dir)
    } else {
        None
    };
    Ok(ExperimentSummary {
        runs: records,
        report_dir,
        inception: scorer.map(|s| s.label),
        busy,
        missing: Vec::new(),
    })
}

/// At tiny scale every run trains on the small copies in `<out>/tiny-train/`.
fn use_tiny_train(runs: &mut [PlannedRun], layout: &Layout) {
    let dir = layout.tiny_train();
    for run in runs {
        run.config.data.photos = dir.join("photos");
        run.config.data.cartoons = dir.join("cartoons");
    }
}

/// The crop size every variant shares (their outputs are compared at one size).
fn common_crop(runs: &[PlannedRun], plan_path: &Path) -> Result<usize, ExperimentError> {
    let crop = runs.first().map_or(256, |r| r.config.data.crop_size);
    if let Some(r) = runs.iter().find(|r| r.config.data.crop_size != crop) {
        return Err(ExperimentError::Field {
            plan: plan_path.to_path_buf(),
            field: format!("variant '{}' data.crop_size", r.variant),
            message: format!(
                "{} differs from the first variant's {crop}: every variant must cartoonize \
                 the test photos at the same size to be compared",
                r.config.data.crop_size
            ),
        });
    }
    Ok(crop)
}

/// Prepares what every run shares: the tiny training copies (`--scale tiny`), the test photos
/// and, when the plan has metrics, the test cartoons. Returns the prepared test photos.
/// Called under the experiment's prepare lock.
fn prepare_inputs(
    plan: &ExperimentPlan,
    plan_path: &Path,
    options: &RunnerOptions,
    layout: &Layout,
    runs: &[PlannedRun],
    crop: usize,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<PathBuf>, ExperimentError> {
    let mut warn = |m: String| log(&format!("warning: {m}"));
    if let (Some(limit), Some(first)) = (options.scale.train_limit(), runs.first()) {
        // Small square copies at the load size, made once, read by every tiny run.
        let size = first.config.data.load_size as u32;
        let dir = layout.tiny_train();
        for (source, dest) in [
            (&plan.data.train_photos, dir.join("photos")),
            (&plan.data.train_cartoons, dir.join("cartoons")),
        ] {
            prepare_test_images(source, &dest, size, Some(limit), &mut warn)?;
        }
    }
    let (photo_limit, cartoon_limit) = options.scale.test_limits();
    let photos = prepare_test_images(
        &plan.data.test_photos,
        &layout.test_photos(),
        crop as u32,
        photo_limit,
        &mut warn,
    )?;
    if photos.is_empty() {
        return Err(ExperimentError::Field {
            plan: plan_path.to_path_buf(),
            field: "data.test_photos".into(),
            message: format!("no readable image in {}", plan.data.test_photos.display()),
        });
    }
    if !plan.metrics.is_empty() {
        prepare_test_images(
            &plan.data.test_cartoons,
            &layout.test_cartoons(),
            crop as u32,
            cartoon_limit,
            &mut warn,
        )?;
    }
    Ok(photos)
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
    let (status, marker) = if let Some(marker) = read_marker::<DoneMarker>(&done_path) {
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
        // Whatever an earlier session cartoonized and scored is out of date from here on.
        let finished = run_dir.join(FINISHED_FILE);
        if finished.exists() {
            std::fs::remove_file(&finished).map_err(|e| ExperimentError::io(&finished, e))?;
        }
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
        write_marker(&done_path, &marker)?;
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
    let finished = FinishedMarker {
        steps: marker.steps,
        train_seconds: marker.train_seconds,
        scores: scores.clone(),
        scorer: scorer.map(|s| ScorerNote {
            label: s.label.clone(),
            reference_images: s.reference_images().len(),
            random: s.random,
        }),
    };
    write_marker(&run_dir.join(FINISHED_FILE), &finished)?;
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

/// A finished run is reused only if it was trained with the config the plan gives now.
pub(super) fn check_same_config(
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
