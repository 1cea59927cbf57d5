//! One clip through the network: ffmpeg decodes raw frames into a pipe, each frame is
//! cartoonized, ffmpeg encodes the frames from a pipe with the input's audio streams, under a
//! temporary name renamed at the end.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use super::VideoError;
use super::ffmpeg::{VideoInfo, partial_path, probe, spawn_decoder, spawn_encoder};
use super::flicker::{Flicker, frame_difference};
use super::stabilize::{BlendOptions, blend, global_shift};
use crate::cartoonize::{TemporalStats, TileOptions, Translator, cartoonize_frame};
use crate::imageio::to_u8;

/// Weight of the running average of the norm statistics in stabilized video. Off: measured
/// on a slow pan, smoothing the statistics (0.9) lowered flicker by only 4.5% and moved
/// frames further from their image result (PSNR 29.7 dB) than motion-compensated blending.
pub const DEFAULT_KEEP: f64 = 0.0;

/// Mean absolute 8-bit change between consecutive input frames above which a frame starts a
/// new scene (the smoothed statistics are reset).
pub const SCENE_CUT_LEVELS: f64 = 25.0;

/// How to cartoonize a clip.
#[derive(Debug, Clone, Copy)]
pub struct VideoOptions {
    /// H.264 constant rate factor (0 lossless … 51; 18 looks lossless to most eyes).
    pub crf: u8,
    /// Stabilize (motion-compensated blending with the previous output, and the norm
    /// statistics' running average when `keep` > 0); `false`: every frame is exactly its
    /// image result.
    pub stabilize: bool,
    /// Weight of the running average when stabilizing.
    pub keep: f64,
    /// Tiling of frames larger than the tile.
    pub tiles: TileOptions,
    /// Motion-compensated blending with the previous output frame when stabilizing.
    pub blend: BlendOptions,
}

impl Default for VideoOptions {
    fn default() -> Self {
        Self {
            crf: 18,
            stabilize: true,
            keep: DEFAULT_KEEP,
            tiles: TileOptions::default(),
            blend: BlendOptions::default(),
        }
    }
}

/// What a clip run did.
#[derive(Debug, Clone)]
pub struct VideoSummary {
    /// The input clip's properties.
    pub info: VideoInfo,
    /// Frames written.
    pub frames: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Flicker figures of the result.
    pub flicker: Flicker,
    /// Scene cuts detected (stabilization restarted).
    pub scene_cuts: usize,
}

/// What one frame sequence's run did.
#[derive(Debug, Clone, Default)]
pub struct FramesRun {
    /// Frames emitted.
    pub frames: usize,
    /// Flicker figures of the result.
    pub flicker: Flicker,
    /// Scene cuts detected (stabilization restarted).
    pub scene_cuts: usize,
}

/// Cartoonizes every frame of one 8-bit RGB frame sequence, calling `emit` with each result.
/// Shared by clips and animations so both stabilize alike.
pub fn cartoonize_frames(
    translator: &dyn Translator,
    width: usize,
    height: usize,
    options: &VideoOptions,
    frames: impl Iterator<Item = Vec<u8>>,
    mut emit: impl FnMut(Vec<u8>) -> bool,
) -> FramesRun {
    let mut stats = TemporalStats::new(options.keep);
    let mut run = FramesRun::default();
    let mut prev: Option<Vec<u8>> = None;
    let mut prev_out: Option<Vec<u8>> = None;
    for frame in frames {
        if let Some(p) = &prev
            && frame_difference(p, &frame) > SCENE_CUT_LEVELS
        {
            stats.reset();
            prev_out = None;
            run.scene_cuts += 1;
        }
        let shift = prev.as_ref().map_or((0, 0), |p| {
            global_shift(p, &frame, width, height, options.blend.search)
        });
        let rgb: Vec<f32> = frame.iter().map(|&v| v as f32 / 255.0).collect();
        let out = cartoonize_frame(
            translator,
            &rgb,
            width,
            height,
            options.tiles,
            options.stabilize.then_some(&mut stats),
        );
        let mut out: Vec<u8> = out.into_iter().map(to_u8).collect();
        if options.stabilize
            && let Some(po) = &prev_out
        {
            blend(&mut out, po, width, height, shift, &options.blend);
        }
        if options.stabilize {
            prev_out = Some(out.clone());
        }
        run.flicker.add(&frame, &out, width, height, shift);
        prev = Some(frame);
        run.frames += 1;
        if !emit(out) {
            break;
        }
    }
    run
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> VideoError + '_ {
    move |source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Cartoonizes `input` (anything ffmpeg reads) into `output`: same size, frame rate and
/// frame count, audio streams copied, H.264 video. `on_frame(done, total)` after each frame.
pub fn cartoonize_video(
    translator: &dyn Translator,
    input: &Path,
    output: &Path,
    options: &VideoOptions,
    mut on_frame: impl FnMut(usize, Option<usize>),
) -> Result<VideoSummary, VideoError> {
    let start = Instant::now();
    let info = probe(input)?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let partial = partial_path(output);
    let result = run(translator, input, &partial, &info, options, &mut on_frame);
    match result {
        Ok(run) => {
            std::fs::rename(&partial, output).map_err(io_err(output))?;
            Ok(VideoSummary {
                info,
                frames: run.frames,
                seconds: start.elapsed().as_secs_f64(),
                flicker: run.flicker,
                scene_cuts: run.scene_cuts,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn run(
    translator: &dyn Translator,
    input: &Path,
    partial: &Path,
    info: &VideoInfo,
    options: &VideoOptions,
    on_frame: &mut dyn FnMut(usize, Option<usize>),
) -> Result<FramesRun, VideoError> {
    let frame_bytes = info.width * info.height * 3;
    let mut decoder = spawn_decoder(input)?;
    let mut encoder = spawn_encoder(partial, info, options.crf, info.has_audio.then_some(input))?;
    let mut dec_out = decoder.stdout.take().expect("piped stdout");
    let mut enc_in = encoder.stdin.take().expect("piped stdin");
    let (frames_tx, frames_rx) = mpsc::sync_channel::<Vec<u8>>(2);
    let (out_tx, out_rx) = mpsc::sync_channel::<Vec<u8>>(2);
    let (counted, write_result) = std::thread::scope(|scope| {
        scope.spawn(move || {
            loop {
                let mut buf = vec![0u8; frame_bytes];
                if dec_out.read_exact(&mut buf).is_err() || frames_tx.send(buf).is_err() {
                    break;
                }
            }
        });
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for frame in out_rx {
                enc_in.write_all(&frame)?;
            }
            enc_in.flush()
        });
        let mut done = 0usize;
        let counted = cartoonize_frames(
            translator,
            info.width,
            info.height,
            options,
            frames_rx.into_iter(),
            |out| {
                done += 1;
                on_frame(done, info.frames);
                out_tx.send(out).is_ok()
            },
        );
        drop(out_tx);
        (counted, writer.join().unwrap_or(Ok(())))
    });
    let dec = decoder.wait_with_output().map_err(io_err(input))?;
    let enc = encoder.wait_with_output().map_err(io_err(partial))?;
    if !dec.status.success() {
        return Err(VideoError::Tool {
            path: input.to_path_buf(),
            message: format!(
                "ffmpeg could not decode it: {}",
                String::from_utf8_lossy(&dec.stderr).trim()
            ),
        });
    }
    if !enc.status.success() || write_result.is_err() {
        return Err(VideoError::Tool {
            path: partial.to_path_buf(),
            message: format!(
                "ffmpeg could not encode the result: {}",
                String::from_utf8_lossy(&enc.stderr).trim()
            ),
        });
    }
    if counted.frames == 0 {
        return Err(VideoError::Tool {
            path: input.to_path_buf(),
            message: "no frames decoded".into(),
        });
    }
    Ok(counted)
}
