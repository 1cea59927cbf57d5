//! Cartoonizing many files: gathering inputs from files and folders, choosing output paths
//! (never an input), decoding and encoding on their own threads while the model runs, and
//! a summary that counts failures instead of stopping at the first.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use super::isolate::isolated;
use super::{TileOptions, Translator, cartoonize_image};
use crate::imageio::{
    DecodeLimits, DecodedImage, check_outputs, decode_image_with, encode_image, fit_within,
};

/// One input image and where its output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The image to read.
    pub input: PathBuf,
    /// The file to write.
    pub output: PathBuf,
}

/// What a batch should do besides translating.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchOptions {
    /// Tiling of large images.
    pub tiles: TileOptions,
    /// Skip inputs whose output already exists (to resume an interrupted batch).
    pub skip_existing: bool,
    /// Scale each image down so its longer side is at most this before translating (the
    /// output then has the scaled size).
    pub max_side: Option<u32>,
    /// What one image may ask for (`--max-pixels`).
    pub limits: DecodeLimits,
}

/// The outcome of a batch.
#[derive(Debug, Default)]
pub struct BatchSummary {
    /// Images written.
    pub written: usize,
    /// Images skipped because their output existed.
    pub skipped: usize,
    /// Images that failed, with the reason.
    pub failures: Vec<(PathBuf, String)>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Output extension for an input: its own when toongan can write it, else PNG.
fn output_extension(input: &Path) -> String {
    match input
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    {
        Some(e) if ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"].contains(&e.as_str()) => e,
        _ => "png".to_string(),
    }
}

/// Chooses output paths.
///
/// - `output` names a file (has an extension and is not an existing folder) and there is
///   exactly one input: that file.
/// - `output` names a folder: each input's relative path under it.
/// - no `output`: `<stem>_<tag>.<ext>` next to each input.
///
/// An output that would be one of the inputs, or two inputs with one output, is refused
/// ([`crate::imageio::check_outputs`]).
pub fn plan_outputs(
    inputs: &[(PathBuf, PathBuf)],
    output: Option<&Path>,
    tag: &str,
) -> Result<Vec<InputFile>, String> {
    let single_file =
        output.filter(|o| !o.is_dir() && o.extension().is_some() && inputs.len() == 1);
    if output.is_some_and(|o| o.extension().is_some() && !o.is_dir()) && inputs.len() > 1 {
        return Err(format!(
            "--output {} looks like a file but there are {} inputs: give a folder",
            output.unwrap_or(Path::new("")).display(),
            inputs.len()
        ));
    }
    let mut planned = Vec::with_capacity(inputs.len());
    for (input, rel) in inputs {
        let out = if let Some(file) = single_file {
            file.to_path_buf()
        } else if let Some(dir) = output {
            dir.join(rel).with_extension(output_extension(input))
        } else {
            let stem = input
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("image");
            input.with_file_name(format!("{stem}_{tag}.{}", output_extension(input)))
        };
        planned.push(InputFile {
            input: input.clone(),
            output: out,
        });
    }
    check_outputs(
        planned
            .iter()
            .map(|j| (j.input.as_path(), j.output.as_path())),
    )
    .map_err(|e| e.to_string())?;
    Ok(planned)
}

/// Translates every job; failures are collected, not fatal: each image's decoding,
/// translation and encoding run [`isolated`], so a panic fails that image alone. `on_progress` is called after
/// each image with the number done.
pub fn run_batch(
    translator: &dyn Translator,
    jobs: &[InputFile],
    options: BatchOptions,
    mut on_progress: impl FnMut(usize, &Path),
) -> BatchSummary {
    let start = Instant::now();
    let mut summary = BatchSummary::default();
    let todo: Vec<&InputFile> = jobs
        .iter()
        .filter(|j| {
            let skip = options.skip_existing && j.output.exists();
            summary.skipped += usize::from(skip);
            !skip
        })
        .collect();
    std::thread::scope(|scope| {
        // Decoding runs one image ahead; encoding runs behind, each on its own thread.
        let (decoded_tx, decoded_rx) =
            mpsc::sync_channel::<(&InputFile, Result<DecodedImage, String>)>(1);
        let (encode_tx, encode_rx) = mpsc::sync_channel::<(&InputFile, DecodedImage)>(1);
        let (done_tx, done_rx) = mpsc::channel::<(&InputFile, Result<(), String>)>();
        let todo_ref = &todo;
        scope.spawn(move || {
            for job in todo_ref {
                let decoded = isolated(|| {
                    decode_image_with(&job.input, &options.limits)
                        .map(|img| match options.max_side {
                            Some(m) => fit_within(img, m),
                            None => img,
                        })
                        .map_err(|e| e.to_string())
                });
                if decoded_tx.send((job, decoded)).is_err() {
                    break;
                }
            }
        });
        let encode_done = done_tx.clone();
        scope.spawn(move || {
            for (job, img) in encode_rx {
                let result = isolated(|| {
                    encode_image(
                        &job.output,
                        img.width,
                        img.height,
                        &img.rgb,
                        img.alpha.as_deref(),
                    )
                    .map_err(|e| e.to_string())
                });
                let _ = encode_done.send((job, result));
            }
        });
        let mut finished = 0usize;
        let mut drain = |summary: &mut BatchSummary, block: bool| {
            let next = if block {
                done_rx.recv().ok()
            } else {
                done_rx.try_recv().ok()
            };
            next.map(|(job, result)| {
                match result {
                    Ok(()) => summary.written += 1,
                    Err(e) => summary.failures.push((job.input.clone(), e)),
                }
                finished += 1;
                on_progress(finished, &job.input);
            })
        };
        for (job, decoded) in decoded_rx {
            match decoded {
                Ok(img) => {
                    let translated = isolated(|| {
                        Ok(cartoonize_image(
                            translator,
                            &img.rgb,
                            img.width as usize,
                            img.height as usize,
                            options.tiles,
                        ))
                    });
                    match translated {
                        Ok(rgb) => {
                            let _ = encode_tx.send((job, DecodedImage { rgb, ..img }));
                        }
                        Err(e) => {
                            let _ = done_tx.send((job, Err(e)));
                        }
                    }
                }
                Err(e) => {
                    let _ = done_tx.send((job, Err(e)));
                }
            }
            while drain(&mut summary, false).is_some() {}
        }
        drop(encode_tx);
        drop(done_tx);
        while drain(&mut summary, true).is_some() {}
    });
    summary.seconds = start.elapsed().as_secs_f64();
    summary
}
