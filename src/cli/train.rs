//! `toongan train`: trains a GAN on unpaired photo and cartoon folders, or resumes a run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use toongan::backend::{AutodiffBackendTask, AutodiffDevicesTask, CpuAutodiff, DeviceList};
use toongan::train::{RunOutcome, TrainConfig, Trainer, identity_smoothing, run_smoothing};

/// Arguments of `toongan train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Model to train: cartoongan (Chen et al. 2018) or cyclegan (Zhu et al. 2017).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(toongan::train::MODELS))]
    model: Option<String>,
    /// Folder of photos (recursive; PNG, JPEG, WebP, BMP, TIFF, GIF).
    #[arg(long)]
    photos: Option<PathBuf>,
    /// Folder of cartoon images (recursive).
    #[arg(long)]
    cartoons: Option<PathBuf>,
    /// Run folder: config, checkpoints, samples, metrics and plots go here. A folder that
    /// already holds a run is refused: continue that run with --resume.
    #[arg(long, required_unless_present = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in this folder from its latest checkpoint, with its saved config
    /// (flags given here still override it, e.g. --epochs to train longer).
    #[arg(long, conflicts_with = "out")]
    resume: Option<PathBuf>,
    /// TOML config file; every field can also be set with --set.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Named preset applied after --config (repeatable, applied in order): "tiny" (64² crops,
    /// narrow nets; for tests and a first try on a laptop), "improved" (the improved
    /// CartoonGAN: all four switches), or one switch alone: "instance_norm", "leaky_relu",
    /// "resnet_content", "lsgan". `--preset tiny --preset improved` composes both.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(toongan::train::PRESETS))]
    preset: Vec<String>,
    /// Total epochs (train.epochs).
    #[arg(long)]
    epochs: Option<usize>,
    /// Generator initialization epochs (train.init_epochs; default: the model's, 10 for
    /// cartoongan, 0 for cyclegan).
    #[arg(long)]
    init_epochs: Option<usize>,
    /// Batch size (train.batch_size).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Seed (train.seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Any config field, as SECTION.FIELD=VALUE (repeatable), e.g.
    /// --set cartoongan.gan_loss=\"lsgan\" --set data.crop_size=128.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
    /// Where to train: cpu, cuda[:N], wgpu[:N], wgpu:cpu or auto (`toongan devices`; CUDA and
    /// wgpu need a build with --features cuda / wgpu). Several, comma-separated
    /// (cuda:0,cuda:1,...), train data-parallel (a build with --features collective): one
    /// replica per device, each on an equal share of every batch, gradients averaged (batch
    /// norm stays per replica); cpu,cpu runs two replicas on the CPU. Not part of the run's
    /// config: a run can resume on another device or number of devices.
    #[arg(long, default_value = "cpu", value_parser = super::device_arg::parse_list)]
    device: DeviceList,
}

fn resolve(args: &TrainArgs) -> anyhow::Result<(TrainConfig, PathBuf)> {
    let (mut config, run_dir) = match &args.resume {
        Some(dir) => (Trainer::<CpuAutodiff>::saved_config(dir)?, dir.clone()),
        None => {
            let config = match &args.config {
                Some(path) => TrainConfig::from_toml_file(path)?,
                None => TrainConfig::new(),
            };
            let out = args.out.clone().context("--out is required")?;
            (config, out)
        }
    };
    for preset in &args.preset {
        config.apply_preset(preset)?;
    }
    if let Some(m) = &args.model {
        config.model = m.clone();
    }
    if let Some(p) = &args.photos {
        config.data.photos = p.clone();
    }
    if let Some(c) = &args.cartoons {
        config.data.cartoons = c.clone();
    }
    if let Some(e) = args.epochs {
        config.train.epochs = e;
    }
    if let Some(e) = args.init_epochs {
        config.train.init_epochs = Some(e);
    }
    if let Some(b) = args.batch_size {
        config.train.batch_size = b;
    }
    if let Some(s) = args.seed {
        config.train.seed = s;
    }
    for assignment in &args.set {
        config.set(assignment)?;
    }
    if args.quiet {
        config.output.progress = false;
    }
    if config.data.photos.as_os_str().is_empty() || config.data.cartoons.as_os_str().is_empty() {
        bail!("give --photos DIR and --cartoons DIR (or data.photos / data.cartoons in --config)");
    }
    Ok((config, run_dir))
}

/// Runs `toongan train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    args.device.check()?;
    let (config, run_dir) = resolve(&args)?;
    if args.resume.is_none() {
        // A new run never lands on an old one: that is what --resume is for.
        toongan::train::refuse_existing_run(&run_dir)?;
    }
    let task = TrainTask {
        config,
        run_dir: &run_dir,
    };
    let outcome = match args.device.single() {
        Some(device) => device.run_autodiff(task)?,
        None => args.device.run_autodiff(task)?,
    }?;
    report(outcome, &run_dir)
}

/// Builds the trainer on the chosen backend, wires Ctrl-C and SIGTERM to its stop flag, and
/// runs it.
struct TrainTask<'a> {
    config: TrainConfig,
    run_dir: &'a Path,
}

impl AutodiffBackendTask for TrainTask<'_> {
    type Output = anyhow::Result<RunOutcome>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        AutodiffDevicesTask::run::<B>(self, vec![device])
    }
}

impl AutodiffDevicesTask for TrainTask<'_> {
    type Output = anyhow::Result<RunOutcome>;

    /// One device, or data-parallel over several.
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Self::Output {
        // Plain CycleGAN never looks at edge-smoothed cartoons: skip making them.
        let smoothing = if self.config.needs_edge_smoothing() {
            run_smoothing(&self.config.data, self.run_dir)
        } else {
            identity_smoothing()
        };
        let device = devices.first().cloned().unwrap_or_default();
        let trainer = Trainer::<B>::new(self.config, self.run_dir, device, smoothing).with_devices(
            if devices.len() > 1 {
                devices
            } else {
                Vec::new()
            },
        );
        super::interrupt::stop_on_interrupt(trainer.stop.clone())?;
        Ok(trainer.run()?)
    }
}

/// Tells the user how the run ended and what to do next.
fn report(outcome: RunOutcome, run_dir: &Path) -> anyhow::Result<ExitCode> {
    match outcome {
        RunOutcome::Finished { steps, checkpoint } => {
            eprintln!(
                "finished after {steps} steps; checkpoint {}; cartoonize with: toongan cartoonize --model {} PHOTO",
                checkpoint.display(),
                run_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        RunOutcome::Interrupted { steps, checkpoint } => {
            eprintln!(
                "interrupted after {steps} steps; checkpoint {}; continue with: toongan train --resume {}",
                checkpoint.display(),
                run_dir.display()
            );
            Ok(ExitCode::from(130))
        }
    }
}
