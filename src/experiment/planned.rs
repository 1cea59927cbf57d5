//! A plan resolved into runs before anything trains: every variant × seed's training config
//! ([`plan_runs`]), pointed at the data it trains on, the crop they share, and the check that
//! a finished run was trained with the config the plan gives now.

use std::path::Path;

use super::layout::Layout;
use super::{ExperimentError, ExperimentPlan, RunnerOptions, Scale, resolve_config};
use crate::train::TrainConfig;

/// One variant × seed, ready to execute.
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

/// Resolves every variant × seed up front, so a bad override fails before hours of training.
pub(super) fn plan_runs(
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
    point_at_training_data(plan, options.scale, &mut runs, layout);
    Ok(runs)
}

/// Runs that do not train on the plan's folders as written: a distillation plan's train on
/// the split the experiment makes (`<out>/distill/train/`), tiny runs of a folder plan on the
/// small copies in `<out>/tiny-train/`.
pub(super) fn point_at_training_data(
    plan: &ExperimentPlan,
    scale: Scale,
    runs: &mut [PlannedRun],
    layout: &Layout,
) {
    let dir = if plan.distill().is_some() {
        layout.distill_train()
    } else if scale.train_limit().is_some() {
        layout.tiny_train()
    } else {
        return;
    };
    for run in runs {
        run.config.data.photos = dir.join("photos");
        run.config.data.cartoons = dir.join("cartoons");
    }
}

/// The crop size every variant shares (their outputs are compared at one size).
pub(super) fn common_crop(runs: &[PlannedRun], plan_path: &Path) -> Result<usize, ExperimentError> {
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

/// The largest load size of the runs: the size a distillation plan's training images are
/// made at (each run resizes them to its own).
pub(super) fn largest_load_size(runs: &[PlannedRun]) -> usize {
    runs.iter()
        .map(|r| r.config.data.load_size)
        .max()
        .unwrap_or(256)
}

/// A finished run is reused only if it was trained with the config the plan gives now.
pub(super) fn check_same_config(
    run: &PlannedRun,
    run_dir: &Path,
    plan_path: &Path,
) -> Result<(), ExperimentError> {
    let config_path = run_dir.join(crate::train::CONFIG_FILE);
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
