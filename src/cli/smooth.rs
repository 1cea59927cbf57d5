//! `toongan smooth`: CartoonGAN's edge smoothing of a folder of cartoon images, for
//! inspection or to prepare training data by hand (training smooths on its own, cached).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use image::{ImageFormat, RgbImage};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use toongan::cartoonize::isolated;
use toongan::imageio::{
    atomic_write, check_outputs, collect_images, decode_image, resize_center_crop, to_u8,
};
use toongan::train::{EdgeSmoother, EdgeSmootherConfig};

/// Arguments of `toongan smooth`.
#[derive(Debug, Args)]
pub struct SmoothArgs {
    /// Folder of cartoon images (searched recursively for PNG, JPEG, WebP, BMP, TIFF, GIF),
    /// or single image files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder: each image is written as PNG under its path relative to its input
    /// folder. Inputs are never overwritten.
    #[arg(long, short)]
    output: PathBuf,
    /// Training size: the short side is resized to this (Catmull-Rom), then the centre
    /// square is cropped. Images with a shorter side below this are skipped, as training does.
    #[arg(long, default_value_t = 256)]
    size: u32,
    /// Canny lower threshold.
    #[arg(long, default_value_t = 100)]
    canny_low: u32,
    /// Canny upper threshold.
    #[arg(long, default_value_t = 200)]
    canny_high: u32,
    /// Side of the square dilating the edges (odd).
    #[arg(long, default_value_t = 5)]
    dilation: u32,
    /// Side of the Gaussian blur (3, 5 or 7).
    #[arg(long, default_value_t = 5)]
    gaussian: u32,
}

/// Output paths: `<output>/<relative path>.png`; two inputs that would collide (`a.jpg`,
/// `a.png`) both keep their extension (`a.jpg.png`, `a.png.png`).
fn plan(inputs: &[(PathBuf, PathBuf)], output: &Path) -> Vec<(PathBuf, PathBuf)> {
    let target = |rel: &Path| output.join(rel).with_extension("png");
    let mut count: HashMap<PathBuf, usize> = HashMap::new();
    for (_, rel) in inputs {
        *count.entry(target(rel)).or_default() += 1;
    }
    inputs
        .iter()
        .map(|(input, rel)| {
            let t = target(rel);
            let out = if count[&t] > 1 {
                let mut name = output.join(rel).into_os_string();
                name.push(".png");
                PathBuf::from(name)
            } else {
                t
            };
            (input.clone(), out)
        })
        .collect()
}

/// Decodes, resizes, smooths and writes one image.
fn process(input: &Path, output: &Path, size: u32, smoother: &EdgeSmoother) -> Result<(), String> {
    let img = decode_image(input).map_err(|e| e.to_string())?;
    if img.width.min(img.height) < size {
        return Err(format!(
            "{}x{} is smaller than the training size {size}",
            img.width, img.height
        ));
    }
    let rgb: Vec<u8> = img.rgb.iter().map(|&v| to_u8(v)).collect();
    let rgb = RgbImage::from_raw(img.width, img.height, rgb).ok_or("bad decoded size")?;
    let smoothed = smoother.smooth(&resize_center_crop(&rgb, size));
    let mut png = std::io::Cursor::new(Vec::new());
    smoothed
        .write_to(&mut png, ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    atomic_write(output, png.get_ref()).map_err(|e| e.to_string())
}

pub fn run(args: SmoothArgs) -> anyhow::Result<ExitCode> {
    if args.size == 0 {
        bail!("--size must be positive");
    }
    let smoother = EdgeSmootherConfig::new()
        .with_canny_low(args.canny_low)
        .with_canny_high(args.canny_high)
        .with_dilation(args.dilation)
        .with_gaussian(args.gaussian)
        .init()?;
    let inputs = collect_images(&args.inputs)?;
    if inputs.is_empty() {
        bail!("no images found in {:?}", args.inputs);
    }
    let jobs = plan(&inputs, &args.output);
    check_outputs(jobs.iter().map(|(i, o)| (i.as_path(), o.as_path())))?;
    let bar = ProgressBar::new(jobs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} (eta {eta})",
        )
        .context("progress template")?,
    );
    let start = Instant::now();
    let written = AtomicUsize::new(0);
    let failures: Vec<(PathBuf, String)> = jobs
        .par_iter()
        .filter_map(|(input, output)| {
            let result = isolated(|| process(input, output, args.size, &smoother));
            bar.inc(1);
            match result {
                Ok(()) => {
                    written.fetch_add(1, Ordering::Relaxed);
                    None
                }
                Err(e) => Some((input.clone(), e)),
            }
        })
        .collect();
    bar.finish_and_clear();
    for (path, reason) in &failures {
        eprintln!("skipped: {}: {reason}", path.display());
    }
    eprintln!(
        "{} images smoothed into {}, {} skipped, in {:.1} s",
        written.load(Ordering::Relaxed),
        args.output.display(),
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
