//! `toongan cartoonize`: photos in, cartoons out.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use burn::tensor::backend::Backend;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use toongan::backend::{BackendTask, Cpu, DeviceChoice};
use toongan::cartoonize::video::VideoOptions;
use toongan::cartoonize::{
    BatchOptions, BurnTranslator, ResnetTranslator, TileOptions, Translator, collect_inputs,
    plan_outputs, run_batch,
};
use toongan::engine::CpuGenerator;

use super::cartoonize_media;
use toongan::model::GeneratorConfig;
use toongan::weights::{
    Style, StyleRegistry, TrainedGenerator, load_published_generator, load_trained_generator,
};

/// Arguments of `toongan cartoonize`.
#[derive(Debug, Args)]
pub struct CartoonizeArgs {
    /// Image or video files, or folders (searched recursively for PNG, JPEG, WebP, BMP, TIFF,
    /// GIF and for the video formats ffmpeg reads: MP4, MOV, MKV, WebM, AVI, ...).
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
    /// Largest side run in one piece; larger images run in row bands with every instance
    /// norm's statistics over the whole image (the same result, bounded memory; the burn
    /// engine uses overlapping tiles normalized on their own instead).
    #[arg(long, default_value_t = 1024)]
    tile: usize,
    /// Overlap between tiles in pixels.
    #[arg(long, default_value_t = 64)]
    tile_overlap: usize,
    /// Skip inputs whose output file already exists (resume an interrupted batch).
    #[arg(long)]
    skip_existing: bool,
    /// Where the generator runs: cpu, cuda or cuda:N (CUDA needs a build with
    /// --features cuda).
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
    /// H.264 quality of video outputs (constant rate factor, 0-51, lower is better).
    #[arg(long, default_value_t = 18, value_parser = clap::value_parser!(u8).range(0..=51))]
    crf: u8,
    /// Give every video frame exactly its single-image result (by default the instance-norm
    /// statistics are smoothed over time, reset at scene cuts, which reduces flicker).
    #[arg(long)]
    no_stabilize: bool,
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
    let (inputs, videos) =
        cartoonize_media::split_media(&args.inputs, collect_inputs(&args.inputs)?);
    if inputs.is_empty() && videos.is_empty() {
        bail!("no images or videos found in {:?}", args.inputs);
    }
    let single = inputs.len() + videos.len() == 1;
    let out_is_file = args
        .output
        .as_deref()
        .is_some_and(|o| o.extension().is_some() && !o.is_dir());
    if out_is_file && !single {
        bail!("--output looks like a file but there are several inputs: give a folder");
    }
    let mut jobs = if inputs.is_empty() {
        Vec::new()
    } else {
        plan_outputs(&inputs, args.output.as_deref(), &tag).map_err(anyhow::Error::msg)?
    };
    let media = cartoonize_media::Media {
        gifs: cartoonize_media::take_animated_gifs(&mut jobs),
        videos: cartoonize_media::plan_videos(&videos, args.output.as_deref(), single, &tag),
    };
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
    let video_options = VideoOptions {
        crf: args.crf,
        stabilize: !args.no_stabilize,
        tiles: options.tiles,
        ..VideoOptions::default()
    };
    let mut summary = summary;
    summary.failures.extend(cartoonize_media::run_media(
        translator.as_ref(),
        &media,
        &video_options,
    )?);
    for (path, reason) in &summary.failures {
        eprintln!("failed: {}: {reason}", path.display());
    }
    if jobs.is_empty() {
        // Only clips and animations: each reported its own line.
    } else if jobs.len() == 1 && summary.failures.is_empty() && summary.written == 1 {
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
