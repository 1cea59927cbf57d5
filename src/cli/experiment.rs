//! `toongan experiment`: runs an experiment plan (train every variant × seed, cartoonize,
//! score, report).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use toongan::backend::{AutodiffBackendTask, DeviceChoice};
use toongan::experiment::{
    ExperimentError, ExperimentSummary, RunStatus, RunnerOptions, Scale, run_experiment,
};

/// Arguments of `toongan experiment`.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The plan (TOML): name, seeds, metrics, data folders, [defaults], [[variant]]s. See
    /// experiments/improving-cartoongan.toml.
    plan: PathBuf,
    /// Experiment folder: runs/, outputs/, test-set/, report/. Default:
    /// experiments/out/<plan name>[-tiny] beside the plan.
    #[arg(long)]
    out: Option<PathBuf>,
    /// `full` (the plan as written) or `tiny` (tiny preset, 2 epochs of 2 steps, 2 seeds,
    /// 4 test photos, 64-dim Inception features: the whole plan in minutes on a CPU, as a test).
    #[arg(long, default_value = "full")]
    scale: Scale,
    /// pytorch-fid's Inception weights (pt_inception-2015-12-05-6726825d.pth); overrides the
    /// plan's eval.fid_weights and $TOONGAN_FID_WEIGHTS.
    #[arg(long)]
    fid_weights: Option<PathBuf>,
    /// Where to train and score: cpu, cuda[:N], wgpu[:N], wgpu:cpu or auto (`toongan devices`;
    /// CUDA and wgpu need a build with --features cuda / wgpu). Not part of the runs' configs:
    /// an experiment can resume on another device.
    #[arg(long, default_value = "cpu", value_parser = super::device_arg::parse)]
    device: DeviceChoice,
    /// Hide the per-run training progress bars.
    #[arg(long)]
    quiet: bool,
}

/// Runs `toongan experiment`.
pub fn run(args: ExperimentArgs) -> anyhow::Result<ExitCode> {
    let out = match &args.out {
        Some(o) => o.clone(),
        None => default_out(&args)?,
    };
    let mut options = RunnerOptions::new(&out, args.scale);
    options.fid_weights = args.fid_weights.clone();
    options.progress_bars = !args.quiet;
    super::interrupt::stop_on_interrupt(options.stop.clone())?;
    let result = args.device.run_autodiff(ExperimentTask {
        plan: &args.plan,
        options: &options,
    })?;
    let summary = match result {
        Err(e @ ExperimentError::Interrupted { .. }) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(130));
        }
        other => other?,
    };
    let count = |s: RunStatus| summary.runs.iter().filter(|r| r.status == s).count();
    eprintln!(
        "{} runs: {} trained, {} resumed, {} reused; report in {}",
        summary.runs.len(),
        count(RunStatus::Trained),
        count(RunStatus::Resumed),
        count(RunStatus::Reused),
        summary.report_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The experiment, written once for any autodiff backend; `--device` picks it.
struct ExperimentTask<'a> {
    plan: &'a Path,
    options: &'a RunnerOptions,
}

impl AutodiffBackendTask for ExperimentTask<'_> {
    type Output = Result<ExperimentSummary, ExperimentError>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        run_experiment::<B>(self.plan, self.options, &device, &mut |line: &str| {
            eprintln!("{line}")
        })
    }
}

/// `experiments/out/<plan name>[-tiny]` beside the plan.
fn default_out(args: &ExperimentArgs) -> anyhow::Result<PathBuf> {
    let plan = toongan::experiment::ExperimentPlan::load(&args.plan)?;
    let base = args
        .plan
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let suffix = if args.scale == Scale::Tiny {
        "-tiny"
    } else {
        ""
    };
    let name: String = plan
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Ok(base.join("out").join(format!("{name}{suffix}")))
}
