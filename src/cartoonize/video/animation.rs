//! Animated GIFs: every frame cartoonized (with the same temporal stabilization as clips),
//! written back as a GIF with the input's frame delays and loop count.

use std::io::BufReader;
use std::path::Path;

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::{AnimationDecoder, Frame, RgbaImage};

use super::VideoError;
use super::clip::{VideoOptions, cartoonize_frames};
use crate::imageio::atomic_write;

/// The GIF encoder's repeat setting for a decoder's loop count.
fn to_repeat(count: image::metadata::LoopCount) -> Repeat {
    match count {
        image::metadata::LoopCount::Infinite => Repeat::Infinite,
        image::metadata::LoopCount::Finite(n) => {
            Repeat::Finite(u16::try_from(n.get()).unwrap_or(u16::MAX))
        }
    }
}

fn anim_err(path: &Path) -> impl Fn(image::ImageError) -> VideoError + '_ {
    move |e| VideoError::Animation {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn open(path: &Path) -> Result<GifDecoder<BufReader<std::fs::File>>, VideoError> {
    let file = std::fs::File::open(path).map_err(|source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    GifDecoder::new(BufReader::new(file)).map_err(anim_err(path))
}

/// Whether `path` is a GIF with more than one frame.
pub fn is_animated_gif(path: &Path) -> bool {
    let gif = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gif"));
    // The header's size first: counting frames decodes them, and a damaged header may claim
    // any size (such a file then fails by name on the image path, under --max-pixels).
    let plausible = image::image_dimensions(path)
        .is_ok_and(|(w, h)| u64::from(w) * u64::from(h) <= crate::imageio::DEFAULT_MAX_PIXELS);
    gif && plausible && open(path).is_ok_and(|d| d.into_frames().take(2).count() > 1)
}

/// Cartoonizes every frame of the animated GIF `input` into the GIF `output`, keeping the
/// frame delays, the loop count and each frame's transparency. Returns the frame count.
pub fn cartoonize_gif(
    translator: &dyn crate::cartoonize::Translator,
    input: &Path,
    output: &Path,
    options: &VideoOptions,
    mut on_frame: impl FnMut(usize, usize),
) -> Result<usize, VideoError> {
    let decoder = open(input)?;
    let repeat = to_repeat(decoder.loop_count());
    let frames: Vec<Frame> = decoder
        .into_frames()
        .collect_frames()
        .map_err(anim_err(input))?;
    let Some(first) = frames.first() else {
        return Err(VideoError::Animation {
            path: input.to_path_buf(),
            message: "no frames".into(),
        });
    };
    let (w, h) = first.buffer().dimensions();
    let total = frames.len();
    let rgb_frames = frames.iter().map(|f| {
        f.buffer()
            .pixels()
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect::<Vec<u8>>()
    });
    let mut outputs: Vec<Vec<u8>> = Vec::with_capacity(total);
    cartoonize_frames(
        translator,
        w as usize,
        h as usize,
        options,
        rgb_frames,
        |out| {
            outputs.push(out);
            on_frame(outputs.len(), total);
            true
        },
    );
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, 10);
        encoder.set_repeat(repeat).map_err(anim_err(output))?;
        for (frame, out) in frames.iter().zip(&outputs) {
            let mut rgba = RgbaImage::new(w, h);
            for ((dst, src), rgb) in rgba
                .pixels_mut()
                .zip(frame.buffer().pixels())
                .zip(out.chunks_exact(3))
            {
                *dst = image::Rgba([rgb[0], rgb[1], rgb[2], src[3]]);
            }
            encoder
                .encode_frame(Frame::from_parts(rgba, 0, 0, frame.delay()))
                .map_err(anim_err(output))?;
        }
    }
    atomic_write(output, &bytes).map_err(|e| VideoError::Animation {
        path: output.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(total)
}
