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
use crate::cartoonize::{
    TemporalStats, TileOptions, Translator, cartoonize_frame, cartoonize_frames_together,
};
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

/// Cartoonizes every frame of one 8-bit RGB frame sequence, calling `emit` with each result
/// (`false` from `emit` stops the run). Shared by clips and animations so both stabilize
/// alike. Frames go to the translator in groups of [`Translator::frame_batch`]; a translator
/// that batches gets no smoothed norm statistics (the GPU translators have none to smooth).
pub fn cartoonize_frames(
    translator: &dyn Translator,
    width: usize,
    height: usize,
    options: &VideoOptions,
    frames: impl Iterator<Item = Vec<u8>>,
    mut emit: impl FnMut(Vec<u8>) -> bool,
) -> FramesRun {
    let mut sequence = Sequence {
        width,
        height,
        options,
        stats: TemporalStats::new(options.keep),
        run: FramesRun::default(),
        prev: None,
        prev_out: None,
    };
    let unit = |frame: &[u8]| -> Vec<f32> { frame.iter().map(|&v| v as f32 / 255.0).collect() };
    let batch = translator.frame_batch(width, height).max(1);
    if batch == 1 {
        for frame in frames {
            let shift = sequence.follow(&frame);
            let out = cartoonize_frame(
                translator,
                &unit(&frame),
                width,
                height,
                options.tiles,
                options.stabilize.then_some(&mut sequence.stats),
            );
            if !emit(sequence.finish(frame, out, shift)) {
                break;
            }
        }
        return sequence.run;
    }
    let mut frames = frames.peekable();
    while frames.peek().is_some() {
        let group: Vec<Vec<u8>> = frames.by_ref().take(batch).collect();
        let inputs: Vec<Vec<f32>> = group.iter().map(|f| unit(f)).collect();
        let inputs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        let outs = cartoonize_frames_together(translator, &inputs, width, height, options.tiles);
        for (frame, out) in group.into_iter().zip(outs) {
            let shift = sequence.follow(&frame);
            if !emit(sequence.finish(frame, out, shift)) {
                return sequence.run;
            }
        }
    }
    sequence.run
}

/// The state carried from frame to frame: scene cuts, the previous input and output for the
/// motion-compensated blend, the smoothed statistics, the figures.
struct Sequence<'a> {
    width: usize,
    height: usize,
    options: &'a VideoOptions,
    stats: TemporalStats,
    run: FramesRun,
    prev: Option<Vec<u8>>,
    prev_out: Option<Vec<u8>>,
}

impl Sequence<'_> {
    /// Takes in the next input frame: restarts stabilization at a scene cut and returns the
    /// global shift from the previous frame.
    fn follow(&mut self, frame: &[u8]) -> (i32, i32) {
        let Some(prev) = &self.prev else {
            return (0, 0);
        };
        if frame_difference(prev, frame) > SCENE_CUT_LEVELS {
            self.stats.reset();
            self.prev_out = None;
            self.run.scene_cuts += 1;
        }
        global_shift(
            prev,
            frame,
            self.width,
            self.height,
            self.options.blend.search,
        )
    }

    /// The output frame for `frame`'s network result `out`: quantized, blended with the
    /// previous output when stabilizing, counted in the flicker figures.
    fn finish(&mut self, frame: Vec<u8>, out: Vec<f32>, shift: (i32, i32)) -> Vec<u8> {
        let (width, height) = (self.width, self.height);
        let mut out: Vec<u8> = out.into_iter().map(to_u8).collect();
        if self.options.stabilize {
            if let Some(po) = &self.prev_out {
                blend(&mut out, po, width, height, shift, &self.options.blend);
            }
            self.prev_out = Some(out.clone());
        }
        self.run.flicker.add(&frame, &out, width, height, shift);
        self.prev = Some(frame);
        self.run.frames += 1;
        out
    }
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Inverts each value, plus a term that depends on the whole image (as instance norms
    /// do), and records the batch sizes it is given.
    struct Inverting {
        batch: usize,
        seen: Mutex<Vec<usize>>,
    }

    impl Translator for Inverting {
        fn translate(&self, rgb: &[f32], _w: usize, _h: usize) -> Vec<f32> {
            let mean = rgb.iter().sum::<f32>() / rgb.len() as f32;
            rgb.iter().map(|v| 1.0 - v + 0.1 * mean).collect()
        }

        fn frame_batch(&self, _w: usize, _h: usize) -> usize {
            self.batch
        }

        fn translate_batch(&self, images: &[&[f32]], w: usize, h: usize) -> Vec<Vec<f32>> {
            self.seen.lock().unwrap().push(images.len());
            images.iter().map(|rgb| self.translate(rgb, w, h)).collect()
        }
    }

    /// Seven 10x6 frames of a pattern moving 1 px a frame, with a scene cut at frame 4.
    fn frames() -> Vec<Vec<u8>> {
        (0..7)
            .map(|t| {
                let base = if t >= 4 { 200 } else { 0 };
                (0..10 * 6 * 3)
                    .map(|i| {
                        let x = (i / 3) % 10 + t;
                        (base + (x * 7 + i % 3 * 11) % 50) as u8
                    })
                    .collect()
            })
            .collect()
    }

    fn run(batch: usize, stop_after: usize) -> (Vec<Vec<u8>>, FramesRun, Vec<usize>) {
        let translator = Inverting {
            batch,
            seen: Mutex::new(Vec::new()),
        };
        let mut outputs = Vec::new();
        let run = cartoonize_frames(
            &translator,
            10,
            6,
            &VideoOptions::default(),
            frames().into_iter(),
            |out| {
                outputs.push(out);
                outputs.len() < stop_after
            },
        );
        (outputs, run, translator.seen.into_inner().unwrap())
    }

    #[test]
    fn batched_frames_give_the_results_of_frames_one_at_a_time() {
        let (single, single_run, single_seen) = run(1, usize::MAX);
        assert!(
            single_seen.is_empty(),
            "batch 1 never calls translate_batch"
        );
        let (batched, batched_run, seen) = run(3, usize::MAX);
        assert_eq!(seen, [3, 3, 1], "frames grouped by the translator's batch");
        assert_eq!(batched, single, "same stabilized frames, in order");
        assert_eq!(batched_run.frames, 7);
        assert_eq!(batched_run.scene_cuts, 1);
        assert_eq!(batched_run.scene_cuts, single_run.scene_cuts);
        assert_eq!(batched_run.flicker.ratio(), single_run.flicker.ratio());
    }

    #[test]
    fn a_batched_run_stops_when_emit_says_so() {
        let (outputs, run, seen) = run(3, 2);
        assert_eq!(outputs.len(), 2);
        assert_eq!(run.frames, 2);
        assert_eq!(seen, [3], "no batch translated after the stop");
    }
}
