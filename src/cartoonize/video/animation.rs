//! Animated GIFs and animated WebPs: every frame cartoonized (with the same temporal
//! stabilization as clips), written back in the input's format with its frame delays and loop
//! count.
//!
//! Both formats are decoded by the image crate, which composes each frame onto the full
//! canvas. The GIF is encoded by the image crate too; the image crate (and image-webp) cannot
//! encode an animated WebP, so that goes through libwebp's `WebPAnimEncoder`, bound by the
//! `webp-animation` crate and compiled from its bundled sources (no system library needed).
//! The WebP is lossless, as still WebP outputs are.

use std::io::BufReader;
use std::path::Path;

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::webp::WebPDecoder;
use image::metadata::LoopCount;
use image::{AnimationDecoder, Frame, RgbaImage};

use super::VideoError;
use super::clip::{VideoOptions, cartoonize_frames};
use crate::imageio::atomic_write;

/// The animated formats read and written frame by frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnimationFormat {
    /// An animated GIF.
    Gif,
    /// An animated WebP.
    WebP,
}

impl AnimationFormat {
    /// The file extension written for this format.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Gif => "gif",
            Self::WebP => "webp",
        }
    }

    fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "gif" => Some(Self::Gif),
            "webp" => Some(Self::WebP),
            _ => None,
        }
    }
}

/// A decoded animation: its full-canvas frames (with their delays) and its loop count.
struct Animation {
    frames: Vec<Frame>,
    loop_count: LoopCount,
}

fn anim_err(path: &Path) -> impl Fn(String) -> VideoError + '_ {
    move |message| VideoError::Animation {
        path: path.to_path_buf(),
        message,
    }
}

fn open_file(path: &Path) -> Result<BufReader<std::fs::File>, VideoError> {
    std::fs::File::open(path)
        .map(BufReader::new)
        .map_err(|source| VideoError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Whether the file holds more than one frame; errors count as "no" (such a file then fails
/// by name on the image path).
fn has_several_frames(path: &Path, format: AnimationFormat) -> bool {
    let Ok(reader) = open_file(path) else {
        return false;
    };
    match format {
        AnimationFormat::Gif => {
            GifDecoder::new(reader).is_ok_and(|d| d.into_frames().take(2).count() > 1)
        }
        // The WebP header says whether it is animated; an animation of one frame is still
        // written back as an animation.
        AnimationFormat::WebP => WebPDecoder::new(reader).is_ok_and(|d| d.has_animation()),
    }
}

/// The animated format of `path`: a `.gif` with more than one frame or a `.webp` marked as
/// animated. `None` for everything else, still GIFs and WebPs included.
pub fn animation_format(path: &Path) -> Option<AnimationFormat> {
    let format = AnimationFormat::from_extension(path)?;
    // The header's size first: counting frames decodes them, and a damaged header may claim
    // any size (such a file then fails by name on the image path, under --max-pixels).
    let plausible = image::image_dimensions(path)
        .is_ok_and(|(w, h)| u64::from(w) * u64::from(h) <= crate::imageio::DEFAULT_MAX_PIXELS);
    (plausible && has_several_frames(path, format)).then_some(format)
}

fn read_animation(path: &Path, format: AnimationFormat) -> Result<Animation, VideoError> {
    let reader = open_file(path)?;
    let err = |e: image::ImageError| anim_err(path)(e.to_string());
    // The loop count is each decoder's own method; the frames come through the shared trait.
    fn collect<'a>(
        decoder: impl AnimationDecoder<'a>,
        loop_count: LoopCount,
    ) -> image::ImageResult<Animation> {
        let frames = decoder.into_frames().collect_frames()?;
        Ok(Animation { frames, loop_count })
    }
    match format {
        AnimationFormat::Gif => {
            let decoder = GifDecoder::new(reader).map_err(err)?;
            let loop_count = decoder.loop_count();
            collect(decoder, loop_count).map_err(err)
        }
        AnimationFormat::WebP => {
            let decoder = WebPDecoder::new(reader).map_err(err)?;
            let loop_count = decoder.loop_count();
            collect(decoder, loop_count).map_err(err)
        }
    }
}

/// The GIF encoder's repeat setting for a decoder's loop count.
fn to_repeat(count: LoopCount) -> Repeat {
    match count {
        LoopCount::Infinite => Repeat::Infinite,
        LoopCount::Finite(n) => Repeat::Finite(u16::try_from(n.get()).unwrap_or(u16::MAX)),
    }
}

fn encode_gif(
    frames: impl Iterator<Item = (RgbaImage, image::Delay)>,
    loop_count: LoopCount,
) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, 10);
        encoder.set_repeat(to_repeat(loop_count))?;
        for (rgba, delay) in frames {
            encoder.encode_frame(Frame::from_parts(rgba, 0, 0, delay))?;
        }
    }
    Ok(bytes)
}

/// Encodes a lossless animated WebP. libwebp takes each frame's start time, so the delays are
/// summed; a run of identical frames may be merged into one longer frame, as libwebp does.
fn encode_webp(
    (width, height): (u32, u32),
    frames: impl Iterator<Item = (RgbaImage, image::Delay)>,
    loop_count: LoopCount,
) -> Result<Vec<u8>, String> {
    let options = webp_animation::EncoderOptions {
        anim_params: webp_animation::AnimParams {
            // WebP's loop count: 0 plays forever.
            loop_count: match loop_count {
                LoopCount::Infinite => 0,
                LoopCount::Finite(n) => i32::try_from(n.get()).unwrap_or(i32::MAX),
            },
        },
        encoding_config: Some(webp_animation::EncodingConfig {
            encoding_type: webp_animation::EncodingType::Lossless,
            // For lossless, the compression effort (libwebp's default).
            quality: 75.0,
            method: 4,
        }),
        ..Default::default()
    };
    let mut encoder = webp_animation::Encoder::new_with_options((width, height), options)
        .map_err(|e| format!("{e:?}"))?;
    let mut start_ms: i64 = 0;
    let timestamp =
        |ms: i64| i32::try_from(ms).map_err(|_| "animation longer than 24 days".to_string());
    for (rgba, delay) in frames {
        encoder
            .add_frame(rgba.as_raw(), timestamp(start_ms)?)
            .map_err(|e| format!("{e:?}"))?;
        let (numer, denom) = delay.numer_denom_ms();
        start_ms += i64::from(numer) / i64::from(denom.max(1));
    }
    let data = encoder
        .finalize(timestamp(start_ms)?)
        .map_err(|e| format!("{e:?}"))?;
    Ok(data.to_vec())
}

/// Cartoonizes every frame of the animated GIF or WebP `input` into `output`, in the same
/// format, keeping the frame delays, the loop count and each frame's transparency. Returns
/// the frame count.
pub fn cartoonize_animation(
    translator: &dyn crate::cartoonize::Translator,
    input: &Path,
    output: &Path,
    options: &VideoOptions,
    mut on_frame: impl FnMut(usize, usize),
) -> Result<usize, VideoError> {
    let format = AnimationFormat::from_extension(input)
        .ok_or_else(|| anim_err(input)("not a .gif or .webp file".into()))?;
    let Animation { frames, loop_count } = read_animation(input, format)?;
    let Some(first) = frames.first() else {
        return Err(anim_err(input)("no frames".into()));
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
    // Each cartoon frame with its input frame's alpha and delay.
    let cartoon_frames = frames.iter().zip(&outputs).map(|(frame, out)| {
        let mut rgba = RgbaImage::new(w, h);
        for ((dst, src), rgb) in rgba
            .pixels_mut()
            .zip(frame.buffer().pixels())
            .zip(out.chunks_exact(3))
        {
            *dst = image::Rgba([rgb[0], rgb[1], rgb[2], src[3]]);
        }
        (rgba, frame.delay())
    });
    let bytes = match format {
        AnimationFormat::Gif => {
            encode_gif(cartoon_frames, loop_count).map_err(|e| anim_err(output)(e.to_string()))?
        }
        AnimationFormat::WebP => {
            encode_webp((w, h), cartoon_frames, loop_count).map_err(anim_err(output))?
        }
    };
    atomic_write(output, &bytes).map_err(|e| anim_err(output)(e.to_string()))?;
    Ok(total)
}
