//! `toongan cartoonize` on video clips and animated GIFs and WebPs: sorting them out of the
//! inputs, and running each with a frames/s progress bar.

use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use toongan::cartoonize::video::{
    VideoOptions, animation_format, cartoonize_animation, cartoonize_video,
    collect_videos_in_folders, is_video, plan_video_outputs,
};
use toongan::cartoonize::{InputFile, Translator};

/// Clips and animations found among the inputs; the rest stay images.
pub struct Media {
    pub videos: Vec<InputFile>,
    pub animations: Vec<InputFile>,
}

/// Input files as `(file, path relative to the folder it was found in)`.
type Found = Vec<(PathBuf, PathBuf)>;

/// Splits collected inputs into images and clips (in that order), adding the clips found
/// in the folders among `args_inputs`.
pub fn split_media(args_inputs: &[PathBuf], collected: Found) -> (Found, Found) {
    let (mut videos, images): (Vec<_>, Vec<_>) =
        collected.into_iter().partition(|(p, _)| is_video(p));
    videos.extend(collect_videos_in_folders(args_inputs));
    (images, videos)
}

/// Plans clip outputs; `single` when there is exactly one input in all.
pub fn plan_videos(
    videos: &[(PathBuf, PathBuf)],
    output: Option<&Path>,
    single: bool,
    tag: &str,
) -> Vec<InputFile> {
    let file = output.filter(|o| single && !o.is_dir() && o.extension().is_some());
    let folder = output.filter(|_| file.is_none());
    plan_video_outputs(videos, file, folder, tag)
}

/// Moves animated GIF and WebP jobs out of `jobs` (each output takes its input's format).
pub fn take_animations(jobs: &mut Vec<InputFile>) -> Vec<InputFile> {
    let mut animations = Vec::new();
    for mut job in std::mem::take(jobs) {
        match animation_format(&job.input) {
            Some(format) => {
                job.output = job.output.with_extension(format.extension());
                animations.push(job);
            }
            None => jobs.push(job),
        }
    }
    animations
}

fn frame_bar(name: &str, total: Option<usize>) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(total.unwrap_or(0) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{elapsed_precise}] {bar:30} {pos}/{len} frames, {per_sec}, eta {eta}",
        )
        .context("progress template")?,
    );
    bar.set_message(name.to_string());
    Ok(bar)
}

/// Runs every clip and animation; returns the failures.
pub fn run_media(
    translator: &dyn Translator,
    media: &Media,
    options: &VideoOptions,
) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut failures = Vec::new();
    for job in &media.videos {
        let name = job.input.display().to_string();
        let bar = frame_bar(&name, None)?;
        let result = cartoonize_video(
            translator,
            &job.input,
            &job.output,
            options,
            |done, total| {
                if let Some(t) = total {
                    bar.set_length(t as u64);
                }
                bar.set_position(done as u64);
            },
        );
        bar.finish_and_clear();
        match result {
            Ok(s) => eprintln!(
                "wrote {} ({} frames {}x{} at {}, {:.1} s, {:.2} frames/s{})",
                job.output.display(),
                s.frames,
                s.info.width,
                s.info.height,
                s.info.frame_rate,
                s.seconds,
                s.frames as f64 / s.seconds.max(1e-9),
                match (s.flicker.ratio(), s.flicker.beyond_motion()) {
                    (Some(r), Some(m)) =>
                        format!(", flicker {r:.3}, {m:.1} levels a frame beyond the motion"),
                    _ => String::new(),
                }
            ),
            Err(e) => failures.push((job.input.clone(), e.to_string())),
        }
    }
    for job in &media.animations {
        let bar = frame_bar(&job.input.display().to_string(), None)?;
        let result = cartoonize_animation(
            translator,
            &job.input,
            &job.output,
            options,
            |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            },
        );
        bar.finish_and_clear();
        match result {
            Ok(n) => eprintln!("wrote {} ({n} frames)", job.output.display()),
            Err(e) => failures.push((job.input.clone(), e.to_string())),
        }
    }
    Ok(failures)
}
