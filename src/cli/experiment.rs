//! `toongan experiment`: runs an experiment plan (train every variant × seed, cartoonize,
//! score, report).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;
use clap::Args;
use toongan::experiment::{ExperimentError, RunStatus, RunnerOptions, Scale, run_experiment};

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
    /// Device: cpu, or cuda / cuda:N (with a build that has --features cuda).
    #[arg(long, default_value = "cpu")]
    device: toongan::backend::DeviceChoice,
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
    let stop = options.stop.clone();
    ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond Ctrl-C: exiting without a checkpoint");
            std::process::exit(130);
        }
        eprintln!("\nCtrl-C: finishing this step and saving a checkpoint (Ctrl-C again to abort)");
    })
    .context("cannot install the Ctrl-C handler")?;
    let mut log = |line: &str| eprintln!("{line}");
    let result = match args.device {
        toongan::backend::DeviceChoice::Cpu => run_experiment::<toongan::backend::CpuAutodiff>(
            &args.plan,
            &options,
            &Default::default(),
            &mut log,
        ),
        #[cfg(feature = "cuda")]
        toongan::backend::DeviceChoice::Cuda(index) => {
            let device = toongan::backend::cuda_device(index)?;
            run_experiment::<toongan::backend::CudaAutodiff>(
                &args.plan, &options, &device, &mut log,
            )
        }
        #[cfg(not(feature = "cuda"))]
        toongan::backend::DeviceChoice::Cuda(index) => {
            toongan::backend::check_cuda(index)?;
            unreachable!("check_cuda fails without the cuda feature")
        }
    };
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
