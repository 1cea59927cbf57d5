//! `toongan experiment`: every variant × seed of a plan trained with the shared
//! [`Trainer`] (finished runs reused, unfinished ones resumed), the test photos cartoonized
//! by each, scored, and the report written. [`Mode`] narrows that to one shard of the runs
//! (several processes, e.g. a Slurm job array, share a plan) or to the report alone.
//!
//! [`run_experiment`] is five named steps: [`prepare_data`] (under the experiment's lock:
//! the distillation split, tiny training copies, the test set), then for each run of this
//! process, under that run's lock ([`super::run_lock`]), [`train`], [`cartoonize`] and
//! [`score`], and finally [`report`] ([`super::collect`] for `--report`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::{AutodiffBackend, Backend};

use super::cartoonize_run::cartoonize_test_photos;
use super::distill::{prepare_split, split, teacher_references};
use super::layout::{DONE_FILE, FINISHED_FILE, Layout, SCORES_FILE};
use super::markers::{DoneMarker, FinishedMarker, ScorerNote, read_marker, write_marker};
use super::plan::DataSource;
use super::planned::{PlannedRun, check_same_config, common_crop, largest_load_size, plan_runs};
use super::records::{ExperimentSummary, RunRecord, RunStatus};
use super::report_writer::{ReportInputs, write_report};
use super::run_lock::RunLock;
use super::scoring::{Bounds, RunScores, Scorer};
use super::test_set::prepare_test_images;
use super::{ExperimentError, ExperimentPlan, Mode, RunnerOptions, Scale};
use crate::eval::KidOptions;
use crate::train::{RunOutcome, Trainer};
use crate::train::{latest_checkpoint, run_smoothing};

/// A plan, resolved: what every step reads.
struct Experiment {
    plan: ExperimentPlan,
    plan_path: PathBuf,
    layout: Layout,
    runs: Vec<PlannedRun>,
    /// The crop every variant shares.
    crop: usize,
}

/// The prepared test set: the photos every variant cartoonizes.
struct TestSet {
    photos: Vec<PathBuf>,
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
    let exp = resolve(plan_path, options)?;
    if options.mode == Mode::Report {
        return super::collect::report_finished(
            &exp.plan,
            &exp.plan_path,
            options.scale,
            &exp.runs,
            exp.crop,
            &exp.layout,
            log,
        );
    }
    let test_set = {
        // Several shards may start at once: one prepares, the others wait and reuse.
        let _lock = RunLock::acquire(&exp.layout.prepare_lock())?;
        prepare_data(&exp, options, log)?
    };
    let mine: Vec<(usize, &PlannedRun)> = exp
        .runs
        .iter()
        .enumerate()
        .filter(|(i, _)| match options.mode {
            Mode::Shard(shard) => shard.contains(*i),
            _ => true,
        })
        .collect();
    let (scorer, bounds) = if exp.plan.metrics.is_empty() || mine.is_empty() {
        (None, None)
    } else {
        let (scorer, bounds) = scoring_setup::<B::InnerBackend>(&exp, options, device, log)?;
        (Some(scorer), bounds)
    };

    let total = exp.runs.len();
    let mut records = Vec::with_capacity(mine.len());
    let mut busy = Vec::new();
    for (i, run) in mine {
        let tag = format!("[{}/{total}] {} seed {}", i + 1, run.variant, run.seed);
        let _lock = match RunLock::try_acquire(&exp.layout.run_lock(&run.variant, run.seed))? {
            Ok(lock) => lock,
            Err(holder) => {
                log(&format!("{tag}: held by {holder}; not touched"));
                busy.push(format!("{} held by {holder}", run.name()));
                continue;
            }
        };
        let (status, done) = train::<B>(&exp, run, options, device, &tag, log)?;
        let fresh = status != RunStatus::Reused;
        let outputs_dir = cartoonize(&exp, run, &test_set, fresh, &tag, log)?;
        let scores = match &scorer {
            None => None,
            Some(scorer) => Some(score(
                scorer,
                &outputs_dir,
                test_set.photos.len(),
                fresh,
                &tag,
                log,
            )?),
        };
        let run_dir = exp.layout.run_dir(&run.variant, run.seed);
        let finished = FinishedMarker {
            steps: done.steps,
            train_seconds: done.train_seconds,
            scores: scores.clone(),
            scorer: scorer.as_ref().map(|s| ScorerNote {
                label: s.label.clone(),
                reference_images: s.reference_images().len(),
                random: s.random,
            }),
        };
        write_marker(&run_dir.join(FINISHED_FILE), &finished)?;
        records.push(RunRecord {
            variant: run.variant.clone(),
            seed: run.seed,
            run_dir,
            outputs_dir,
            status,
            steps: done.steps,
            train_seconds: done.train_seconds,
            scores,
        });
    }
    let report_dir = if options.mode == Mode::All {
        let scorer_info = scorer
            .as_ref()
            .map(|s| (s.label.as_str(), s.reference_images().len(), s.random));
        Some(report(
            &exp,
            options.scale,
            &records,
            &test_set,
            scorer_info,
            bounds.as_ref(),
            &busy,
            log,
        )?)
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

/// Step 0: the plan read and every run resolved (a bad plan fails before anything runs).
fn resolve(plan_path: &Path, options: &RunnerOptions) -> Result<Experiment, ExperimentError> {
    let plan_path = std::path::absolute(plan_path).unwrap_or_else(|_| plan_path.to_path_buf());
    let plan = ExperimentPlan::load(&plan_path)?;
    let out = std::path::absolute(&options.out).unwrap_or_else(|_| options.out.clone());
    let layout = Layout::new(&out);
    let runs = plan_runs(&plan, &plan_path, options, &layout)?;
    let crop = common_crop(&runs, &plan_path)?;
    Ok(Experiment {
        plan,
        plan_path,
        layout,
        runs,
        crop,
    })
}

/// Step 1, under the experiment's prepare lock: what every run shares. A folder plan: the
/// tiny training copies (`--scale tiny`), the test photos and, with metrics, the test
/// cartoons. A distillation plan: the split and the teacher's outputs
/// ([`super::distill`]), then the test photos and the teacher's outputs on them.
fn prepare_data(
    exp: &Experiment,
    options: &RunnerOptions,
    log: &mut dyn FnMut(&str),
) -> Result<TestSet, ExperimentError> {
    let (plan, layout, crop) = (&exp.plan, &exp.layout, exp.crop);
    let test_photos_source = match &plan.data {
        DataSource::Folders(d) => {
            check_folders(plan, &exp.plan_path)?;
            if let (Some(limit), Some(first)) = (options.scale.train_limit(), exp.runs.first()) {
                // Small square copies at the load size, made once, read by every tiny run.
                let size = first.config.data.load_size as u32;
                let dir = layout.tiny_train();
                for (source, dest) in [
                    (&d.train_photos, dir.join("photos")),
                    (&d.train_cartoons, dir.join("cartoons")),
                ] {
                    prepare_test_images(source, &dest, size, Some(limit), &mut warn(log))?;
                }
            }
            d.test_photos.clone()
        }
        DataSource::Distill(d) => {
            if !d.photos.is_dir() {
                return Err(missing_folder(&exp.plan_path, "data.photos", &d.photos));
            }
            let parts = split(d, options.scale, &exp.plan_path)?;
            let size = largest_load_size(&exp.runs) as u32;
            prepare_split(
                &parts,
                d.teacher,
                &exp.plan_path,
                layout,
                size,
                crop as u32,
                log,
            )?;
            layout.distill_test_photos()
        }
    };
    let (photo_limit, cartoon_limit) = options.scale.test_limits();
    let photos = prepare_test_images(
        &test_photos_source,
        &layout.test_photos(),
        crop as u32,
        photo_limit,
        &mut warn(log),
    )?;
    if photos.is_empty() {
        return Err(ExperimentError::Field {
            plan: exp.plan_path.clone(),
            field: "data.test_photos".into(),
            message: format!("no readable image in {}", test_photos_source.display()),
        });
    }
    match &plan.data {
        DataSource::Folders(d) if !plan.metrics.is_empty() => {
            prepare_test_images(
                &d.test_cartoons,
                &layout.test_cartoons(),
                crop as u32,
                cartoon_limit,
                &mut warn(log),
            )?;
        }
        DataSource::Folders(_) => {}
        DataSource::Distill(d) => {
            teacher_references(d.teacher, &exp.plan_path, &photos, &layout.test_cartoons())?;
        }
    }
    Ok(TestSet { photos })
}

/// Warnings of the preparation, as log lines.
fn warn<'a>(log: &'a mut dyn FnMut(&str)) -> impl FnMut(String) + 'a {
    move |m: String| log(&format!("warning: {m}"))
}

/// Every data folder of a folder plan must exist before anything trains.
fn check_folders(plan: &ExperimentPlan, plan_path: &Path) -> Result<(), ExperimentError> {
    let DataSource::Folders(d) = &plan.data else {
        return Ok(());
    };
    for (field, path) in [
        ("data.train_photos", &d.train_photos),
        ("data.train_cartoons", &d.train_cartoons),
        ("data.test_photos", &d.test_photos),
        ("data.test_cartoons", &d.test_cartoons),
    ] {
        if !path.is_dir() {
            return Err(missing_folder(plan_path, field, path));
        }
    }
    Ok(())
}

fn missing_folder(plan_path: &Path, field: &str, path: &Path) -> ExperimentError {
    ExperimentError::Field {
        plan: plan_path.to_path_buf(),
        field: field.into(),
        message: format!(
            "folder {} does not exist (relative paths are relative to the plan's folder)",
            path.display()
        ),
    }
}

/// The scorer of step 4: the Inception with the reference features, the paired references
/// of a distillation plan, and its bounds.
fn scoring_setup<B: Backend>(
    exp: &Experiment,
    options: &RunnerOptions,
    device: &B::Device,
    log: &mut dyn FnMut(&str),
) -> Result<(Scorer<B>, Option<Bounds>), ExperimentError> {
    let plan = &exp.plan;
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
    let references = exp.layout.test_cartoons();
    let inception = plan.metrics.iter().any(|m| m == "fid" || m == "kid");
    if !inception {
        let scorer = Scorer::<B>::paired_only(&references, device)?;
        let bounds = match plan.distill() {
            Some(d) => Some(scorer.bounds(
                d.teacher.name(),
                &exp.layout.test_photos(),
                &references,
                &exp.layout.bounds_file(),
            )?),
            None => None,
        };
        return Ok((scorer, bounds));
    }
    match &plan.data {
        DataSource::Folders(d) => log(&format!(
            "scoring setup: Inception features of {} test cartoons",
            d.test_cartoons.display()
        )),
        DataSource::Distill(d) => log(&format!(
            "scoring setup: Inception features of the teacher '{}' on the test photos \
             (also the paired references)",
            d.teacher
        )),
    }
    let mut scorer = Scorer::<B>::new(
        weights.as_deref(),
        options.scale == Scale::Tiny,
        dims,
        kid,
        &references,
        device,
    )?;
    if scorer.random {
        log(&format!(
            "warning: metrics use a {}: they only show the pipeline runs",
            scorer.label
        ));
    }
    let Some(d) = plan.distill() else {
        return Ok((scorer, None));
    };
    scorer = scorer.with_paired(&references);
    let bounds = scorer.bounds(
        d.teacher.name(),
        &exp.layout.test_photos(),
        &references,
        &exp.layout.bounds_file(),
    )?;
    Ok((scorer, Some(bounds)))
}

/// Step 2: trains a run, resumes it, or reuses it when finished (same config).
fn train<B: AutodiffBackend>(
    exp: &Experiment,
    run: &PlannedRun,
    options: &RunnerOptions,
    device: &B::Device,
    tag: &str,
    log: &mut dyn FnMut(&str),
) -> Result<(RunStatus, DoneMarker), ExperimentError>
where
    B::Device: Clone,
{
    let run_dir = exp.layout.run_dir(&run.variant, run.seed);
    let done_path = run_dir.join(DONE_FILE);
    let train_err = |source| ExperimentError::Train {
        variant: run.variant.clone(),
        seed: run.seed,
        run: run_dir.clone(),
        source,
    };
    if let Some(marker) = read_marker::<DoneMarker>(&done_path) {
        check_same_config(run, &run_dir, &exp.plan_path)?;
        log(&format!(
            "{tag}: finished earlier ({} steps), reusing {}",
            marker.steps,
            run_dir.display()
        ));
        return Ok((RunStatus::Reused, marker));
    }
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
    let mut trainer = Trainer::<B>::new(run.config.clone(), &run_dir, device.clone(), smoothing);
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
    Ok((status, marker))
}

/// Step 3: the test photos cartoonized by the run's generator (all again when `fresh`).
fn cartoonize(
    exp: &Experiment,
    run: &PlannedRun,
    test_set: &TestSet,
    fresh: bool,
    tag: &str,
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf, ExperimentError> {
    let run_dir = exp.layout.run_dir(&run.variant, run.seed);
    let outputs_dir = exp.layout.outputs_dir(&run.variant, run.seed);
    let written = cartoonize_test_photos(&run_dir, &test_set.photos, &outputs_dir, fresh).map_err(
        |message| ExperimentError::Cartoonize {
            variant: run.variant.clone(),
            seed: run.seed,
            message,
        },
    )?;
    if written > 0 {
        log(&format!(
            "{tag}: cartoonized {written} test photos into {}",
            outputs_dir.display()
        ));
    }
    Ok(outputs_dir)
}

/// Step 4: scores a run's outputs, reusing `scores.json` when the outputs and scorer are
/// unchanged.
fn score<B: Backend>(
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
        .filter(|s| {
            !fresh
                && s.inception == scorer.label
                && s.images == images
                && s.paired.is_some() == scorer.has_paired()
        });
    if let Some(scores) = cached {
        return Ok(scores);
    }
    let scores = scorer.score(outputs_dir)?;
    let text = serde_json::to_string_pretty(&scores).unwrap_or_default();
    crate::imageio::atomic_write(&cache, text.as_bytes())
        .map_err(|e| ExperimentError::io(&cache, e))?;
    let paired = scores.paired.as_ref().map_or(String::new(), |p| {
        format!(", ΔE00 {:.3}, SSIM {:.4}", p.delta_e, p.ssim)
    });
    let fid_kid = match (scores.fid, scores.kid, scores.kid_std) {
        (Some(f), Some(k), Some(sd)) => format!("FID {f:.3}, KID {k:.5} ± {sd:.5}"),
        _ => "no FID/KID".into(),
    };
    log(&format!("{tag}: {fid_kid}{paired}"));
    Ok(scores)
}

/// Step 5: the report of this invocation's runs (those held by other processes named as
/// missing).
#[allow(clippy::too_many_arguments)]
fn report(
    exp: &Experiment,
    scale: Scale,
    records: &[RunRecord],
    test_set: &TestSet,
    scorer: Option<super::report_writer::ScorerInfo<'_>>,
    bounds: Option<&Bounds>,
    busy: &[String],
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf, ExperimentError> {
    let report_dir = exp.layout.report();
    write_report(&ReportInputs {
        plan: &exp.plan,
        plan_path: &exp.plan_path,
        scale,
        runs: records,
        photos: &test_set.photos,
        scorer,
        bounds,
        crop: exp.crop,
        missing: busy,
        dir: &report_dir,
    })?;
    log(&format!(
        "report: {}",
        report_dir.join("report.md").display()
    ));
    Ok(report_dir)
}
