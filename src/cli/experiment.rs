//! `toongan experiment`: runs an experiment plan (train every variant × seed, cartoonize,
//! score, report), or one shard of it, or its report alone, or writes it as a Slurm job array.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use toongan::backend::{AutodiffBackendTask, DeviceChoice};
use toongan::experiment::{
    ExperimentError, ExperimentSummary, Mode, RunStatus, RunnerOptions, Scale, Shard, list_runs,
    run_experiment,
};
use toongan::experiment::{SlurmOptions, submit_slurm_jobs, write_slurm_jobs};

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
    /// Print the runs, one `variant/seed` a line, in the order `--shard` numbers them (from 0).
    #[arg(long, group = "what")]
    list: bool,
    /// Train, cartoonize and score only shard K of N (0 <= K < N): the runs whose number in
    /// `--list` is K modulo N. N processes may share one --out (also on a shared filesystem):
    /// each run is locked while a process works on it. Writes no report: see --report.
    #[arg(long, value_name = "K/N", group = "what")]
    shard: Option<Shard>,
    /// Train nothing: write the report of the runs finished so far, naming those missing.
    #[arg(long, group = "what")]
    report: bool,
    /// Write a Slurm job array (one task per run, each `--shard $SLURM_ARRAY_TASK_ID/N`) and a
    /// report job into <out>/slurm/, with a submit.sh that submits both.
    #[arg(long, group = "what")]
    slurm: bool,
    /// Slurm partition of the jobs.
    #[arg(long, requires = "slurm")]
    partition: Option<String>,
    /// GPUs per array task (use with --device cuda: Slurm sets CUDA_VISIBLE_DEVICES).
    #[arg(long, requires = "slurm")]
    gpus_per_task: Option<u32>,
    /// CPU cores per array task.
    #[arg(long, requires = "slurm")]
    cpus_per_task: Option<u32>,
    /// Slurm time limit of each job (e.g. 1-00:00:00).
    #[arg(long, requires = "slurm")]
    time: Option<String>,
    /// Submit the jobs with sbatch (the report after the array: afterok) and print their ids.
    #[arg(long, requires = "slurm")]
    submit: bool,
}

/// Runs `toongan experiment`.
pub fn run(args: ExperimentArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        for run in list_runs(&args.plan, args.scale)? {
            println!("{run}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let out = match &args.out {
        Some(o) => o.clone(),
        None => default_out(&args)?,
    };
    if args.slurm {
        return slurm(&args, &out);
    }
    let mut options = RunnerOptions::new(&out, args.scale);
    options.fid_weights = args.fid_weights.clone();
    options.progress_bars = !args.quiet;
    options.mode = match (args.shard, args.report) {
        (Some(shard), _) => Mode::Shard(shard),
        (None, true) => Mode::Report,
        (None, false) => Mode::All,
    };
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
    let report = match &summary.report_dir {
        Some(dir) => format!("report in {}", dir.display()),
        None => "no report (write it with --report once every shard has finished)".into(),
    };
    eprintln!(
        "{} runs: {} trained, {} resumed, {} reused; {report}",
        summary.runs.len(),
        count(RunStatus::Trained),
        count(RunStatus::Resumed),
        count(RunStatus::Reused),
    );
    if !summary.missing.is_empty() {
        eprintln!("missing (not finished yet): {}", summary.missing.join(", "));
    }
    if !summary.busy.is_empty() {
        eprintln!(
            "not touched, another process holds them: {}",
            summary.busy.join("; ")
        );
        // EX_TEMPFAIL: this process did not do all of its share.
        return Ok(ExitCode::from(75));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--slurm`: writes the job array and report job, and submits them with `--submit`.
fn slurm(args: &ExperimentArgs, out: &Path) -> anyhow::Result<ExitCode> {
    let tasks = list_runs(&args.plan, args.scale)?.len();
    let plan = toongan::experiment::ExperimentPlan::load(&args.plan)?;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let exe = std::env::current_exe()?;
    let mut command: Vec<String> = vec![
        exe.display().to_string(),
        "experiment".into(),
        absolute(&args.plan).display().to_string(),
        "--out".into(),
        absolute(out).display().to_string(),
        "--scale".into(),
        args.scale.to_string(),
        "--device".into(),
        args.device.to_string(),
        "--quiet".into(),
    ];
    if let Some(w) = &args.fid_weights {
        command.extend(["--fid-weights".into(), absolute(w).display().to_string()]);
    }
    let options = SlurmOptions {
        partition: args.partition.clone(),
        gpus_per_task: args.gpus_per_task,
        cpus_per_task: args.cpus_per_task,
        time: args.time.clone(),
    };
    let name = folder_name(&plan.name);
    let dir = toongan::experiment::Layout::new(&absolute(out)).slurm();
    let jobs = write_slurm_jobs(&dir, &name, &command, tasks, &options)?;
    eprintln!(
        "wrote {} ({tasks} array tasks, one per run) and {}",
        jobs.array_script.display(),
        jobs.report_script.display()
    );
    if args.submit {
        let ids = submit_slurm_jobs(&jobs)?;
        println!("array job {}", ids.array);
        println!("report job {}", ids.report);
    } else {
        eprintln!(
            "submit both with: sh {} (or add --submit)",
            jobs.submit_script.display()
        );
    }
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
    let name = folder_name(&plan.name);
    Ok(base.join("out").join(format!("{name}{suffix}")))
}

/// A plan name as a folder or job name: letters, digits and `_`, anything else `-`.
fn folder_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
