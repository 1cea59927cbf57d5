//! `toongan cartoonize`: photos in, cartoons out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use toongan::backend::DeviceChoice;
use toongan::cartoonize::video::VideoOptions;
use toongan::cartoonize::{
    BatchOptions, InputFile, TileOptions, collect_batch_inputs, plan_outputs, run_batch,
};
use toongan::imageio::{atomic_write, decode_image, fit_within};
use toongan::inference::{CpuEngine, GeneratorSource, load_translator};

use super::cartoonize_media;
use toongan::report::compare_sheet;
use toongan::weights::{Style, StyleRegistry};

/// Arguments of `toongan cartoonize`.
#[derive(Debug, Args)]
pub struct CartoonizeArgs {
    /// Image or video files, or folders (searched recursively for PNG, JPEG, WebP, BMP, TIFF,
    /// GIF and for the video formats ffmpeg reads: MP4, MOV, MKV, WebM, AVI, ...).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Published style; several, comma-separated, or `all`, write one output per style
    /// (`<name>_<style>`; under --output, in a `<style>/` folder each).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "shinkai",
        conflicts_with = "model"
    )]
    style: Vec<StyleChoice>,
    /// Also write one sheet per photo: the photo and each style side by side, labelled
    /// (`<name>_compare.png`, next to the input or under --output).
    #[arg(long, conflicts_with = "model")]
    compare: bool,
    /// Scale each photo down so its longer side is at most N pixels before cartoonizing (the
    /// output has the scaled size). The published styles were trained at about 450 px: on
    /// large photos the style is faint.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(16..))]
    max_side: Option<u32>,
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
    /// Images of at most TILE² pixels run in one piece; larger ones run in row bands with every
    /// instance norm's statistics over the whole image (the same result, bounded memory; the
    /// burn engine uses overlapping TILE-sided tiles normalized on their own instead).
    #[arg(long, default_value_t = 1024)]
    tile: usize,
    /// Overlap between tiles in pixels.
    #[arg(long, default_value_t = 64)]
    tile_overlap: usize,
    /// Skip inputs whose output file already exists (resume an interrupted batch).
    #[arg(long)]
    skip_existing: bool,
    /// Largest image accepted, in pixels (width x height), checked from the file's header
    /// before any memory is allocated; larger images fail by name and the batch goes on.
    #[arg(long, default_value_t = toongan::imageio::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Where the generator runs: cpu, cuda[:N], wgpu[:N] (any GPU), wgpu:cpu (software, for
    /// tests) or auto (`toongan devices` lists them; CUDA and wgpu need a build with
    /// --features cuda / wgpu).
    #[arg(long, default_value = "cpu", value_parser = super::device_arg::parse)]
    device: DeviceChoice,
    /// H.264 quality of video outputs (constant rate factor, 0-51, lower is better).
    #[arg(long, default_value_t = 18, value_parser = clap::value_parser!(u8).range(0..=51))]
    crf: u8,
    /// Give every video and animation frame exactly its single-image result. By default each
    /// frame is blended with the previous output moved by the input's global motion, which
    /// halves the frame-to-frame change beyond the motion (docs/video.md).
    #[arg(long)]
    no_stabilize: bool,
    /// CPU inference engine: `fast` (toongan's CPU engine) or `burn` (burn's Flex backend, for
    /// comparisons).
    #[arg(long, value_enum, default_value = "fast", hide = true)]
    engine: Engine,
}

/// `--style` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StyleChoice {
    /// Hayao Miyazaki (Spirited Away).
    Hayao,
    /// Mamoru Hosoda (Wolf Children).
    Hosoda,
    /// Satoshi Kon (Paprika).
    Paprika,
    /// Makoto Shinkai (Your Name).
    Shinkai,
    /// All four.
    All,
}

/// `--engine` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Engine {
    /// toongan's CPU engine.
    Fast,
    /// burn's Flex backend (for comparisons).
    Burn,
}

/// The styles `--style` names, in the order given, each once.
fn chosen_styles(choices: &[StyleChoice]) -> Vec<Style> {
    let mut styles = Vec::new();
    for c in choices {
        let add: &[Style] = match c {
            StyleChoice::Hayao => &[Style::Hayao],
            StyleChoice::Hosoda => &[Style::Hosoda],
            StyleChoice::Paprika => &[Style::Paprika],
            StyleChoice::Shinkai => &[Style::Shinkai],
            StyleChoice::All => &Style::ALL,
        };
        for s in add {
            if !styles.contains(s) {
                styles.push(*s);
            }
        }
    }
    styles
}

pub fn run(args: CartoonizeArgs, registry: StyleRegistry) -> anyhow::Result<ExitCode> {
    if !args.tile.is_multiple_of(4) || args.tile <= 2 * args.tile_overlap {
        bail!("--tile must be a multiple of 4 and more than twice --tile-overlap");
    }
    args.device.check()?;
    let registry = StyleRegistry {
        weights_dir: args.weights_dir.clone(),
        ..registry
    };
    // (generator, output tag) for each output set.
    let sources: Vec<(GeneratorSource, String)> = match &args.model {
        Some(path) => vec![(
            GeneratorSource::Trained(toongan::weights::resolve_generator_path(path)?),
            "cartoon".to_string(),
        )],
        None => chosen_styles(&args.style)
            .into_iter()
            .map(|style| {
                let dir = registry.locate(style)?;
                Ok((GeneratorSource::Published(dir), style.name().to_string()))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    // Folder walks skip earlier outputs (`*_<tag>.*` in place, or the --output folder).
    let tags: Vec<&str> = sources.iter().map(|(_, tag)| tag.as_str()).collect();
    let (inputs, videos) = cartoonize_media::split_media(
        &args.inputs,
        collect_batch_inputs(&args.inputs, args.output.as_deref(), &tags)?,
    );
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
    let several = sources.len() > 1;
    if several
        && args
            .output
            .as_deref()
            .is_some_and(|o| !o.is_dir() && o.extension().is_some())
    {
        bail!(
            "--output {} looks like a file but several styles are chosen: give a folder",
            args.output.as_deref().unwrap_or(Path::new("")).display()
        );
    }
    let options = BatchOptions {
        tiles: TileOptions {
            tile: args.tile,
            overlap: args.tile_overlap,
        },
        skip_existing: args.skip_existing,
        max_side: args.max_side,
        limits: toongan::imageio::DecodeLimits {
            max_pixels: args.max_pixels,
        },
    };
    let mut failed = false;
    let mut outputs: Vec<(String, Vec<InputFile>)> = Vec::new();
    for (source, tag) in &sources {
        // With several styles and --output DIR, each style gets DIR/<style>/.
        let out = match (&args.output, several) {
            (Some(dir), true) => Some(dir.join(tag)),
            (o, _) => o.clone(),
        };
        let mut jobs = if inputs.is_empty() {
            Vec::new()
        } else {
            plan_outputs(&inputs, out.as_deref(), tag).map_err(anyhow::Error::msg)?
        };
        let media = cartoonize_media::Media {
            animations: cartoonize_media::take_animations(&mut jobs),
            videos: cartoonize_media::plan_videos(&videos, out.as_deref(), single, tag),
        };
        failed |= cartoonize_jobs(&args, source, &jobs, &media, options)?;
        outputs.push((tag.clone(), jobs));
    }
    if args.compare {
        failed |= write_compare_sheets(&args, &inputs, &outputs);
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs one generator over `jobs` with a progress bar and prints the summary; true if any
/// image failed.
fn cartoonize_jobs(
    args: &CartoonizeArgs,
    source: &GeneratorSource,
    jobs: &[InputFile],
    media: &cartoonize_media::Media,
    options: BatchOptions,
) -> anyhow::Result<bool> {
    let engine = match args.engine {
        Engine::Fast => CpuEngine::Fast,
        Engine::Burn => CpuEngine::Burn,
    };
    let translator = load_translator(source, args.device, engine)?;
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
    let summary = run_batch(translator.as_ref(), jobs, options, |done, path| {
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
        media,
        &video_options,
    )?);
    for (path, reason) in &summary.failures {
        // Errors from decoding already name the file: name it once.
        if reason.contains(&path.display().to_string()) {
            eprintln!("failed: {reason}");
        } else {
            eprintln!("failed: {}: {reason}", path.display());
        }
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
    Ok(!summary.failures.is_empty())
}

/// Writes `<name>_compare.png` for each still image: the photo (scaled as the outputs were)
/// and each style, labelled. True if any sheet failed.
fn write_compare_sheets(
    args: &CartoonizeArgs,
    inputs: &[(PathBuf, PathBuf)],
    outputs: &[(String, Vec<InputFile>)],
) -> bool {
    let mut failed = false;
    for (input, rel) in inputs {
        // Animated GIFs and WebPs are not in the image jobs: they get no sheet.
        let Some(columns_out) = outputs
            .iter()
            .map(|(tag, jobs)| {
                let job = jobs.iter().find(|j| &j.input == input)?;
                Some((tag, &job.output))
            })
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let stem = rel.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        let sheet_path = match &args.output {
            Some(dir) if dir.is_dir() => {
                dir.join(rel).with_file_name(format!("{stem}_compare.png"))
            }
            _ => input.with_file_name(format!("{stem}_compare.png")),
        };
        let result = (|| -> anyhow::Result<()> {
            let photo = decode_image(input)?;
            let photo = match args.max_side {
                Some(m) => fit_within(photo, m),
                None => photo,
            };
            let mut columns = vec![("photo".to_string(), to_rgb8(&photo))];
            for &(tag, out) in &columns_out {
                let img = image::open(out)
                    .with_context(|| format!("cannot read {}", out.display()))?
                    .to_rgb8();
                columns.push((tag.clone(), img));
            }
            let sheet = compare_sheet(&columns);
            let mut png = Vec::new();
            sheet.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
            atomic_write(&sheet_path, &png)?;
            Ok(())
        })();
        match result {
            Ok(()) => eprintln!("wrote {}", sheet_path.display()),
            Err(e) => {
                eprintln!("failed: {}: comparison sheet: {e:#}", input.display());
                failed = true;
            }
        }
    }
    failed
}

/// 8-bit RGB of a decoded image.
fn to_rgb8(img: &toongan::imageio::DecodedImage) -> image::RgbImage {
    let bytes = img
        .rgb
        .iter()
        .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect();
    image::RgbImage::from_raw(img.width, img.height, bytes).unwrap_or_default()
}
