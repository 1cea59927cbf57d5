//! `toongan experiment --report`: the report of the runs finished so far, written by a process
//! that trains nothing (the last job of a Slurm array, or a look at a study in progress). A
//! run counts as finished when its folder has both markers ([`super::markers`]); the others
//! are named in the report as missing.

use std::path::{Path, PathBuf};

use super::layout::{DONE_FILE, FINISHED_FILE, Layout};
use super::markers::{DoneMarker, FinishedMarker, ScorerNote, read_marker};
use super::planned::{PlannedRun, check_same_config};
use super::records::{ExperimentSummary, RunRecord, RunStatus};
use super::report_writer::{ReportInputs, write_report};
use super::scoring::Bounds;
use super::test_set::list_pngs;
use super::{ExperimentError, ExperimentPlan, Scale};

/// Collects the finished runs among `runs` and writes the report.
pub(super) fn report_finished(
    plan: &ExperimentPlan,
    plan_path: &Path,
    scale: Scale,
    runs: &[PlannedRun],
    crop: usize,
    layout: &Layout,
    log: &mut dyn FnMut(&str),
) -> Result<ExperimentSummary, ExperimentError> {
    let photos_dir = layout.test_photos();
    if !photos_dir.is_dir() {
        return Err(ExperimentError::io(
            &photos_dir,
            "no test set prepared in this experiment folder yet: run the shards (or the whole \
             plan) first, with the same --out and --scale",
        ));
    }
    let photos: Vec<PathBuf> = list_pngs(&photos_dir)?;
    let mut records = Vec::new();
    let mut missing = Vec::new();
    let mut scorer: Option<ScorerNote> = None;
    for run in runs {
        let run_dir = layout.run_dir(&run.variant, run.seed);
        let done = read_marker::<DoneMarker>(&run_dir.join(DONE_FILE));
        let finished = read_marker::<FinishedMarker>(&run_dir.join(FINISHED_FILE));
        let (Some(_), Some(finished)) = (done, finished) else {
            missing.push(run.name());
            continue;
        };
        check_same_config(run, &run_dir, plan_path)?;
        if !plan.metrics.is_empty() && finished.scores.is_none() {
            missing.push(run.name());
            continue;
        }
        match (&scorer, &finished.scorer) {
            (Some(a), Some(b)) if a.label != b.label => {
                return Err(ExperimentError::io(
                    run_dir.join(FINISHED_FILE),
                    format!(
                        "scored with '{}' but other runs with '{}': score every run with one \
                         Inception (same --fid-weights and eval.dims)",
                        b.label, a.label
                    ),
                ));
            }
            (None, Some(b)) => scorer = Some(b.clone()),
            _ => {}
        }
        records.push(RunRecord {
            variant: run.variant.clone(),
            seed: run.seed,
            outputs_dir: layout.outputs_dir(&run.variant, run.seed),
            run_dir,
            status: RunStatus::Reused,
            steps: finished.steps,
            train_seconds: finished.train_seconds,
            scores: finished.scores,
        });
    }
    if records.is_empty() {
        return Err(ExperimentError::io(
            layout.root.join("runs"),
            format!(
                "no run of the plan has finished yet (missing: {}): nothing to report",
                missing.join(", ")
            ),
        ));
    }
    if !missing.is_empty() {
        log(&format!(
            "warning: {} run(s) not finished, left out of the report: {}",
            missing.len(),
            missing.join(", ")
        ));
    }
    let report_dir = layout.report();
    // A distillation plan's bounds, as the runs scored them (same Inception).
    let bounds = plan.distill().and_then(|_| {
        Bounds::read(&layout.bounds_file()).filter(|b| {
            scorer
                .as_ref()
                .is_some_and(|s| s.label == b.identity.inception)
        })
    });
    write_report(&ReportInputs {
        plan,
        plan_path,
        scale,
        runs: &records,
        photos: &photos,
        scorer: scorer
            .as_ref()
            .map(|s| (s.label.as_str(), s.reference_images, s.random)),
        bounds: bounds.as_ref(),
        crop,
        missing: &missing,
        dir: &report_dir,
    })?;
    log(&format!(
        "report: {}",
        report_dir.join("report.md").display()
    ));
    Ok(ExperimentSummary {
        runs: records,
        report_dir: Some(report_dir),
        inception: scorer.map(|s| s.label),
        busy: Vec::new(),
        missing,
    })
}
