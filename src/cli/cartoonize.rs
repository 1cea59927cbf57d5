//! `toongan cartoonize`: photos in, cartoons out.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use burn::tensor::backend::Backend;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use toongan::backend::{BackendTask, Cpu, DeviceChoice};
use toongan::cartoonize::{
    BatchOptions, BurnTranslator, ResnetTranslator, TileOptions, Translator, collect_inputs,
    plan_outputs, run_batch,
};
use toongan::engine::CpuGenerator;
use toongan::model::GeneratorConfig;
use toongan::weights::{
    Style, StyleRegistry, TrainedGenerator, load_published_generator, load_trained_generator,
};

/// Arguments of `toongan cartoonize`.
#[derive(Debug, Args)]
pub struct CartoonizeArgs {
    /// Image files or folders (searched recursively for PNG, JPEG, WebP, BMP, TIFF, GIF).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Published style: hayao, hosoda, paprika or shinkai.
    #[arg(long, default_value = "shinkai", conflicts_with = "model")]
    style: String,
    /// A generator trained with toongan (.safetensors file, or a training run folder for its
    /// latest generator) instead of a published style: CartoonGAN's generator, or CycleGAN's
    /// photo→cartoon ResNet generator (run on burn's backend; `--engine` applies to
    /// CartoonGAN generators only).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Output file (one input) or folder (several inputs or folders). Default: next to each
    /// input, as <name>_<style>.<ext>.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Folder holding <style>/ weight folders.
    #[arg(long, env = "TOONGAN_WEIGHTS_DIR")]
    weights_dir: Option<PathBuf>,
    /// Never download weights; fail if they are not on disk.
    #[arg(long)]
    offline: bool,
    /// Largest tile side in pixels; larger images are processed in overlapping tiles.
    #[arg(long, default_value_t = 1024)]
    tile: usize,
    /// Overlap between tiles in pixels.
    #[arg(long, default_value_t = 64)]
    tile_overlap: usize,
    /// Skip inputs whose output file already exists (resume an interrupted batch).
    #[arg(long)]
    skip_existing: bool,
    /// Where the generator runs: cpu, cuda[:N], wgpu[:N] (any GPU), wgpu:cpu (software, for
    /// tests) or auto (`toongan devices` lists them; CUDA and wgpu need a build with
    /// --features cuda / wgpu).
    #[arg(long, default_value = "cpu", value_parser = super::device_arg::parse)]
    device: DeviceChoice,
    /// CPU inference engine: `fast` (toongan's CPU engine) or `burn` (burn's Flex backend, for
    /// comparisons).
    #[arg(long, default_value = "fast", hide = true, value_parser = ["fast", "burn"])]
    engine: String,
}

/// Where the generator's weights come from.
enum GeneratorSource {
    /// A generator trained with toongan (safetensors with its config).
    Trained(PathBuf),
    /// A published style's folder of `.npy` files.
    Published(PathBuf),
}

impl GeneratorSource {
    /// Reads the generator, whichever architecture it holds, onto `device`.
    fn load<B: Backend>(&self, device: &B::Device) -> anyhow::Result<TrainedGenerator<B>> {
        Ok(match self {
            GeneratorSource::Trained(path) => load_trained_generator::<B>(path, device)?,
            GeneratorSource::Published(dir) => TrainedGenerator::Cartoongan(
                load_published_generator::<B>(dir, device)?,
                GeneratorConfig::published(),
            ),
        })
    }
}

/// Loads the generator on the chosen burn backend and wraps it as a translator.
struct BurnTranslatorTask<'a>(&'a GeneratorSource);

impl BackendTask for BurnTranslatorTask<'_> {
    type Output = anyhow::Result<Box<dyn Translator>>;

    fn run<B: Backend>(self, device: B::Device) -> Self::Output {
        Ok(match self.0.load::<B>(&device)? {
            TrainedGenerator::Cartoongan(g, config) => {
                Box::new(BurnTranslator::new(g, &config, device))
            }
            TrainedGenerator::Resnet(g, _) => Box::new(ResnetTranslator::new(g, device)),
        })
    }
}

pub fn run(args: CartoonizeArgs) -> anyhow::Result<ExitCode> {
    if !args.tile.is_multiple_of(4) || args.tile <= 2 * args.tile_overlap {
        bail!("--tile must be a multiple of 4 and more than twice --tile-overlap");
    }
    args.device.check()?;
    let (source, tag) = match &args.model {
        Some(path) => (
            GeneratorSource::Trained(toongan::weights::checkpoint::resolve_generator_path(path)?),
            "cartoon".to_string(),
        ),
        None => {
            let style: Style = args.style.parse()?;
            let mut registry = StyleRegistry {
                weights_dir: args.weights_dir.clone(),
                ..StyleRegistry::default()
            };
            registry.allow_download = !args.offline;
            (
                GeneratorSource::Published(registry.locate(style)?),
                style.name().to_string(),
            )
        }
    };
    // The fast CPU engine runs CartoonGAN generators; everything else runs on burn.
    let translator: Box<dyn Translator> = match args.device {
        DeviceChoice::Cpu if args.engine == "fast" => {
            match source.load::<Cpu>(&Default::default())? {
                TrainedGenerator::Cartoongan(g, config) => {
                    Box::new(CpuGenerator::from_generator(&g, &config)?)
                }
                TrainedGenerator::Resnet(g, _) => {
                    Box::new(ResnetTranslator::new(g, Default::default()))
                }
            }
        }
        device => device.run(BurnTranslatorTask(&source))??,
    };
    let inputs = collect_inputs(&args.inputs)?;
    if inputs.is_empty() {
        bail!("no images found in {:?}", args.inputs);
    }
    let jobs = plan_outputs(&inputs, args.output.as_deref(), &tag).map_err(anyhow::Error::msg)?;
    let bar = if jobs.len() > 1 {
        let bar = ProgressBar::new(jobs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg} (eta {eta})",
            )
            .context("progress template")?,
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let options = BatchOptions {
        tiles: TileOptions {
            tile: args.tile,
            overlap: args.tile_overlap,
        },
        skip_existing: args.skip_existing,
    };
    let summary = run_batch(translator.as_ref(), &jobs, options, |done, path| {
        bar.set_position(done as u64);
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    });
    bar.finish_and_clear();
    for (path, reason) in &summary.failures {
        eprintln!("failed: {}: {reason}", path.display());
    }
    if jobs.len() == 1 && summary.failures.is_empty() && summary.written == 1 {
        eprintln!(
            "wrote {} ({:.2} s)",
            jobs[0].output.display(),
            summary.seconds
        );
    } else {
        eprintln!(
            "{} images written, {} skipped, {} failed in {:.1} s",
            summary.written,
            summary.skipped,
            summary.failures.len(),
            summary.seconds
        );
    }
    Ok(if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
