//! Video and animation: a short clip made here by ffmpeg from a shared photo (a slow pan,
//! 48 frames, a sine audio track) goes through `cartoonize_video` and keeps its frame count,
//! size, frame rate and audio; with stabilization off a middle frame is the image result up
//! to the codec's loss; the flicker figures with and without stabilization, and of a cartoon
//! moving exactly with the content, are printed and bounded;
//! an animated GIF or WebP keeps its frame count, delays and loop count, and a lossless WebP
//! without stabilization holds exactly each frame's image result.
//!
//! Needs ffmpeg (skipped with a message when it is missing, failed when `CI=true`) and
//! `TOONGAN_WEIGHTS_DIR` / `TOONGAN_SHARED_DIR`. Run in release mode.

mod common;

use std::path::Path;
use std::process::Command;

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, Delay, Frame, RgbaImage};
use toongan::backend::Cpu;
use toongan::cartoonize::video::{
    AnimationFormat, Flicker, VideoOptions, animation_format, cartoonize_animation,
    cartoonize_video, probe,
};
use toongan::cartoonize::{TileOptions, cartoonize_image};
use toongan::engine::CpuGenerator;
use toongan::imageio::{decode_image, to_u8};
use toongan::model::GeneratorConfig;
use toongan::weights::load_published_generator;

fn have_ffmpeg() -> bool {
    let ok = ["ffmpeg", "ffprobe"]
        .iter()
        .all(|t| Command::new(t).arg("-version").output().is_ok());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "ffmpeg/ffprobe missing on CI: .ci/run installs them"
        );
        eprintln!("SKIPPED: ffmpeg/ffprobe not installed (apt-get install ffmpeg)");
    }
    ok
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Frames counted by decoding (not the container's claim).
fn count_frames(path: &Path) -> usize {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("frame count")
}

fn frame_png(video: &Path, n: usize, png: &Path) {
    ffmpeg(&[
        "-i",
        &video.to_string_lossy(),
        "-vf",
        &format!("select=eq(n\\,{n})"),
        "-frames:v",
        "1",
        &png.to_string_lossy(),
    ]);
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

fn engine() -> CpuGenerator {
    let g =
        load_published_generator::<Cpu>(&common::weights_dir().join("hayao"), &Default::default())
            .expect("weights");
    CpuGenerator::from_generator(&g, &GeneratorConfig::published()).expect("layout")
}

#[test]
fn clip_keeps_frames_size_rate_and_audio_and_measures_flicker() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let clip = dir.path().join("pan.mp4");
    // A slow pan (1 pixel per frame) over a real photo, 48 frames at 24 fps, 160x120, with
    // a 440 Hz sine track.
    ffmpeg(&[
        "-loop",
        "1",
        "-framerate",
        "24",
        "-i",
        &common::photo("mountain-lake.jpg").to_string_lossy(),
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2",
        "-filter_complex",
        // `exact=1`: without it the crop filter rounds x to the chroma subsampling of the
        // photo's yuvj420p, and the "pan" jumps 2 px every other frame.
        "[0:v]scale=480:-2,crop=160:120:x='40+n':y=60:exact=1,format=yuv420p[v]",
        "-map",
        "[v]",
        "-map",
        "1:a",
        "-frames:v",
        "48",
        "-c:v",
        "libx264",
        "-crf",
        "10",
        "-c:a",
        "aac",
        &clip.to_string_lossy(),
    ]);
    assert_eq!(count_frames(&clip), 48, "test clip");
    let engine = engine();
    let run = |stabilize: bool, name: &str| {
        let out = dir.path().join(name);
        let options = VideoOptions {
            stabilize,
            ..VideoOptions::default()
        };
        let summary =
            cartoonize_video(&engine, &clip, &out, &options, |_, _| {}).expect("cartoonize clip");
        (out, summary)
    };
    let (plain, plain_summary) = run(false, "plain.mp4");
    let (stable, stable_summary) = run(true, "stable.mp4");
    for out in [&plain, &stable] {
        let info = probe(out).expect("probe output");
        assert_eq!((info.width, info.height), (160, 120), "{}", out.display());
        assert_eq!(info.frame_rate, "24/1", "{}", out.display());
        assert!(info.has_audio, "{}: audio stream copied", out.display());
        assert_eq!(count_frames(out), 48, "{}", out.display());
    }
    assert!(
        std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().contains("partial")),
        "no temporary file left behind"
    );

    // A middle frame without stabilization is the image result, up to the codec's loss.
    let (input_png, plain_png, stable_png) = (
        dir.path().join("in24.png"),
        dir.path().join("plain24.png"),
        dir.path().join("stable24.png"),
    );
    frame_png(&clip, 24, &input_png);
    frame_png(&plain, 24, &plain_png);
    frame_png(&stable, 24, &stable_png);
    let input = decode_image(&input_png).expect("input frame");
    let reference: Vec<u8> =
        cartoonize_image(&engine, &input.rgb, 160, 120, TileOptions::default())
            .into_iter()
            .map(to_u8)
            .collect();
    let as_u8 = |p: &Path| -> Vec<u8> {
        decode_image(p)
            .expect("frame")
            .rgb
            .into_iter()
            .map(to_u8)
            .collect()
    };
    let plain_psnr = psnr(&as_u8(&plain_png), &reference);
    let stable_psnr = psnr(&as_u8(&stable_png), &reference);
    let figures = |s: &toongan::cartoonize::video::VideoSummary| {
        (
            s.flicker.ratio().expect("flicker"),
            s.flicker.beyond_motion().expect("change beyond the motion"),
        )
    };
    let ((f_plain, m_plain), (f_stable, m_stable)) =
        (figures(&plain_summary), figures(&stable_summary));

    // What a cartoon that moves exactly with the content scores: one cartoon of the whole
    // scaled photo, cropped where the clip's frames are.
    let strip_png = dir.path().join("strip.png");
    ffmpeg(&[
        "-i",
        &common::photo("mountain-lake.jpg").to_string_lossy(),
        "-vf",
        "scale=480:-2",
        &strip_png.to_string_lossy(),
    ]);
    let strip = decode_image(&strip_png).expect("strip");
    let (sw, sh) = (strip.width as usize, strip.height as usize);
    let strip_in: Vec<u8> = strip.rgb.iter().map(|&v| to_u8(v)).collect();
    let strip_out: Vec<u8> = cartoonize_image(&engine, &strip.rgb, sw, sh, TileOptions::default())
        .into_iter()
        .map(to_u8)
        .collect();
    let crop = |img: &[u8], x0: usize| -> Vec<u8> {
        (60..180)
            .flat_map(|y| img[(y * sw + x0) * 3..(y * sw + x0 + 160) * 3].to_vec())
            .collect()
    };
    let mut moving = Flicker::default();
    for n in 0..48 {
        moving.add(
            &crop(&strip_in, 40 + n),
            &crop(&strip_out, 40 + n),
            160,
            120,
            (-1, 0),
        );
    }
    let f_moving = moving.ratio().expect("flicker");
    eprintln!(
        "160x120 pan, 48 frames: flicker {f_plain:.3} (--no-stabilize), {f_stable:.3} \
         (default, {:.1}% lower), {f_moving:.3} for a cartoon moving exactly with the content; \
         change beyond the motion {m_plain:.2} vs {m_stable:.2} levels a frame ({:.1}% lower); \
         frame 24 vs its image result: PSNR {plain_psnr:.1} dB (--no-stabilize), \
         {stable_psnr:.1} dB (default)",
        100.0 * (1.0 - f_stable / f_plain),
        100.0 * (1.0 - m_stable / m_plain),
    );
    assert!(plain_psnr >= 30.0, "frame 24 PSNR {plain_psnr:.2} dB");
    assert!(
        moving.beyond_motion() == Some(0.0),
        "the crops move by 1 px"
    );
    // Stabilization removes most of the change beyond the motion and some of the flicker
    // ratio, while frames stay near their image results.
    assert!(m_stable <= 0.6 * m_plain, "{m_stable} vs {m_plain}");
    assert!(f_stable <= 0.9 * f_plain, "{f_stable} vs {f_plain}");
    assert!(stable_psnr >= 29.0, "frame 24 PSNR {stable_psnr:.2} dB");
    // Issue 18 asked the flicker ratio to fall by 30%. On a pan that is below what a cartoon
    // moving exactly with the content scores, so only a stabilization that holds the picture
    // back from the motion (ghosting) could reach it; this checks that claim stays true.
    assert!(
        f_moving > 0.7 * f_plain,
        "a cartoon moving with the content scores {f_moving}, below 0.7 x {f_plain}"
    );
}

/// Frame delays of the test animations, in ms.
const DELAYS: [u32; 5] = [40, 80, 120, 60, 200];

/// The test animation's frames: a 64x48 window over a real photo moving 2 px a frame.
fn pan_frames() -> Vec<RgbaImage> {
    let photo = decode_image(&common::photo("mountain-lake.jpg")).expect("photo");
    let pw = photo.width as usize;
    (0..DELAYS.len())
        .map(|i| {
            RgbaImage::from_fn(64, 48, |x, y| {
                let p = ((y as usize + 200) * pw + x as usize + 300 + 2 * i) * 3;
                let c = |k: usize| to_u8(photo.rgb[p + k]);
                image::Rgba([c(0), c(1), c(2), 255])
            })
        })
        .collect()
}

/// Decoded output frames (checked for count, size and delays) and the output's loop count.
fn check_frames_and_delays(
    frames: Vec<Frame>,
    looped: image::metadata::LoopCount,
) -> Vec<RgbaImage> {
    assert_eq!(frames.len(), DELAYS.len(), "frame count");
    for (f, &ms) in frames.iter().zip(&DELAYS) {
        assert_eq!(f.delay().numer_denom_ms(), (ms, 1), "frame delay");
        assert_eq!(f.buffer().dimensions(), (64, 48));
    }
    assert!(
        matches!(looped, image::metadata::LoopCount::Finite(n) if n.get() == 3),
        "loop count not kept"
    );
    frames.into_iter().map(Frame::into_buffer).collect()
}

#[test]
fn animated_gif_keeps_frames_delays_and_loop_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("anim.gif");
    {
        let mut bytes = Vec::new();
        let mut enc = GifEncoder::new(&mut bytes);
        enc.set_repeat(Repeat::Finite(3)).expect("repeat");
        for (img, &ms) in pan_frames().into_iter().zip(&DELAYS) {
            enc.encode_frame(Frame::from_parts(
                img,
                0,
                0,
                Delay::from_numer_denom_ms(ms, 1),
            ))
            .expect("frame");
        }
        drop(enc);
        std::fs::write(&input, bytes).expect("write gif");
    }
    assert_eq!(animation_format(&input), Some(AnimationFormat::Gif));
    let out = dir.path().join("anim_hayao.gif");
    let n = cartoonize_animation(&engine(), &input, &out, &VideoOptions::default(), |_, _| {})
        .expect("cartoonize gif");
    assert_eq!(n, DELAYS.len());
    let dec = GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&out).expect("open output"),
    ))
    .expect("decode output");
    let looped = dec.loop_count();
    check_frames_and_delays(dec.into_frames().collect_frames().expect("frames"), looped);
}

#[test]
fn animated_webp_keeps_frames_delays_loop_count_and_each_frames_image_result() {
    let dir = tempfile::tempdir().expect("temp dir");
    let frames = pan_frames();
    // The input is written with libwebp (the crate the output is written with); the output is
    // read back with the image crate's decoder and with libwebp's.
    let input = dir.path().join("anim.webp");
    {
        let options = webp_animation::EncoderOptions {
            anim_params: webp_animation::AnimParams { loop_count: 3 },
            encoding_config: Some(webp_animation::EncodingConfig::default()),
            ..Default::default()
        };
        let mut enc =
            webp_animation::Encoder::new_with_options((64, 48), options).expect("encoder");
        let mut t = 0;
        for (img, &ms) in frames.iter().zip(&DELAYS) {
            enc.add_frame(img.as_raw(), t).expect("frame");
            t += ms as i32;
        }
        std::fs::write(&input, &*enc.finalize(t).expect("finalize")).expect("write webp");
    }
    assert_eq!(animation_format(&input), Some(AnimationFormat::WebP));
    let engine = engine();
    let out = dir.path().join("anim_hayao.webp");
    let options = VideoOptions {
        stabilize: false,
        ..VideoOptions::default()
    };
    let n =
        cartoonize_animation(&engine, &input, &out, &options, |_, _| {}).expect("cartoonize webp");
    assert_eq!(n, DELAYS.len());
    let dec = WebPDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&out).expect("open output"),
    ))
    .expect("decode output");
    assert!(dec.has_animation(), "output is not an animated WebP");
    let looped = dec.loop_count();
    let read_by_image_crate =
        check_frames_and_delays(dec.into_frames().collect_frames().expect("frames"), looped);
    // The image crate (image-webp 0.2.4) blends every pixel of a frame that has alpha, which
    // rounds opaque pixels down a level; libwebp's own decoder skips opaque pixels and is
    // exact, so the pixels are checked with it.
    let bytes = std::fs::read(&out).expect("read output");
    let exact: Vec<Vec<u8>> = webp_animation::Decoder::new(&bytes)
        .expect("libwebp decoder")
        .into_iter()
        .map(|f| f.data().to_vec())
        .collect();
    assert_eq!(exact.len(), DELAYS.len(), "frames read by libwebp");
    // What toongan was given: the input's frames as the image crate decodes them.
    let given = WebPDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&input).expect("open input"),
    ))
    .expect("decode input")
    .into_frames()
    .collect_frames()
    .expect("input frames");
    // Lossless out, no stabilization: each frame is exactly its image result.
    for (i, (frame, output)) in given.iter().zip(&exact).enumerate() {
        let rgb: Vec<f32> = frame
            .buffer()
            .pixels()
            .flat_map(|p| [p[0], p[1], p[2]])
            .map(|v| f32::from(v) / 255.0)
            .collect();
        let expected: Vec<u8> = cartoonize_image(&engine, &rgb, 64, 48, TileOptions::default())
            .into_iter()
            .map(to_u8)
            .collect();
        let got: Vec<u8> = output
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        assert_eq!(got, expected, "frame {i} is not its image result");
        assert!(
            output.chunks_exact(4).all(|p| p[3] == 255),
            "frame {i} alpha"
        );
        let off = read_by_image_crate[i]
            .as_raw()
            .iter()
            .zip(output)
            .map(|(&a, &b)| a.abs_diff(b))
            .max()
            .unwrap_or(0);
        assert!(
            off <= 1,
            "frame {i}: the two decoders differ by {off} levels"
        );
    }
}
