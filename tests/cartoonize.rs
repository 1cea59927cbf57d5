//! `toongan cartoonize` end to end: exactness of the published styles against the float64
//! reference, and the handling of every kind of input the issue names.

mod common;

use std::path::Path;

use burn::tensor::{Tensor, TensorData};
use common::{fixture, photo, stderr, toongan, weights_dir};
use image::{DynamicImage, GenericImageView, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};
use toongan::backend::Cpu;
use toongan::model::{ChannelOrder, GeneratorConfig};
use toongan::weights::save_generator;

/// Writes a tiny random RGB generator and returns its path.
fn tiny_model(dir: &Path) -> std::path::PathBuf {
    let config = GeneratorConfig::tiny().with_channel_order(ChannelOrder::Rgb);
    let g = config.init::<Cpu>(&Default::default());
    let path = dir.join("tiny.safetensors");
    save_generator(&g, &config, &path).expect("save tiny model");
    path
}

fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([
            (x * 255 / w) as u8,
            (y * 255 / h) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn published_styles_match_float64_reference_within_one_level() {
    let weights = weights_dir();
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("astronaut_192", "hayao"),
        ("astronaut_192", "shinkai"),
        ("cat_224x148", "hosoda"),
        ("cat_224x148", "paprika"),
        ("stairs_128", "shinkai"),
    ];
    for (input, style) in cases {
        let out = tmp.path().join(format!("{input}_{style}.png"));
        let run = toongan(
            &[
                "cartoonize",
                s(&fixture(&format!("cartoongan/{input}.png"))),
                "--style",
                style,
                "--weights-dir",
                s(&weights),
                "--offline",
                "-o",
                s(&out),
            ],
            tmp.path(),
        );
        assert!(run.status.success(), "{input} {style}: {}", stderr(&run));
        let got = image::open(&out).unwrap().to_rgb8();
        let reference =
            toongan::weights::read_npy(&fixture(&format!("cartoongan/{input}_{style}.npy")))
                .unwrap();
        let (w, h) = got.dimensions();
        assert_eq!(
            reference.shape,
            vec![h as usize, w as usize, 3],
            "{input} {style}"
        );
        let mut worst = 0.0f32;
        for (g, r) in got.as_raw().iter().zip(&reference.data) {
            worst = worst.max((*g as f32 / 255.0 - r).abs());
        }
        assert!(
            worst <= 1.0 / 255.0 + 1e-6,
            "{input} {style}: worst pixel off by {:.3} levels",
            worst * 255.0
        );
    }
}

#[test]
fn odd_sizes_grayscale_sixteen_bit_and_alpha_keep_their_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let odd = tmp.path().join("odd.png");
    gradient(301, 203).save(&odd).unwrap();
    let rgba = tmp.path().join("rgba.png");
    let alpha_img = RgbaImage::from_fn(45, 31, |x, y| {
        Rgba([x as u8 * 5, y as u8 * 7, 90, (x * 5 + y) as u8])
    });
    alpha_img.save(&rgba).unwrap();
    let deep = tmp.path().join("deep.png");
    DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(33, 17, |x, y| {
        Rgb([x as u16 * 1900, y as u16 * 3000, 65535])
    }))
    .save(&deep)
    .unwrap();
    let gray = photo("stairs-gray.png");

    for (input, size, has_alpha) in [
        (&odd, (301, 203), false),
        (&rgba, (45, 31), true),
        (&deep, (33, 17), false),
        (&gray, (512, 512), false),
    ] {
        let out = tmp.path().join(format!(
            "out_{}.png",
            input.file_stem().unwrap().to_str().unwrap()
        ));
        let run = toongan(
            &["cartoonize", s(input), "--model", s(&model), "-o", s(&out)],
            tmp.path(),
        );
        assert!(
            run.status.success(),
            "{}: {}",
            input.display(),
            stderr(&run)
        );
        let img = image::open(&out).unwrap();
        assert_eq!(img.dimensions(), size, "{}", input.display());
        assert_eq!(img.color().has_alpha(), has_alpha, "{}", input.display());
    }
    let out_alpha = image::open(tmp.path().join("out_rgba.png"))
        .unwrap()
        .to_rgba8();
    for (a, b) in out_alpha.pixels().zip(alpha_img.pixels()) {
        assert_eq!(a[3], b[3], "alpha must be kept as it was");
    }
}

/// A JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6).
fn exif_rotated_jpeg(path: &Path, img: &RgbImage) {
    // TIFF header (little endian), one IFD entry: Orientation (0x0112), SHORT, 1, value 6.
    let exif: Vec<u8> = vec![
        b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut bytes = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95);
    enc.set_exif_metadata(exif).unwrap();
    enc.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn exif_orientation_is_honoured() {
    let tmp = tempfile::tempdir().unwrap();
    let stored = RgbImage::from_fn(40, 24, |x, _| {
        if x < 20 {
            Rgb([250, 10, 10])
        } else {
            Rgb([10, 10, 250])
        }
    });
    let path = tmp.path().join("rotated.jpg");
    exif_rotated_jpeg(&path, &stored);
    let decoded = toongan::imageio::decode_image(&path).unwrap();
    assert_eq!(
        (decoded.width, decoded.height),
        (24, 40),
        "displayed upright: 24 wide, 40 high"
    );
    // Rotating the stored image 90° clockwise puts its left (red) half on top.
    let top = &decoded.rgb[(2 * 24 + 12) * 3..(2 * 24 + 12) * 3 + 3];
    let bottom = &decoded.rgb[(37 * 24 + 12) * 3..(37 * 24 + 12) * 3 + 3];
    assert!(
        top[0] > 0.8 && top[2] < 0.2,
        "top should be red, got {top:?}"
    );
    assert!(
        bottom[2] > 0.8 && bottom[0] < 0.2,
        "bottom should be blue, got {bottom:?}"
    );

    let model = tiny_model(tmp.path());
    let out = tmp.path().join("out.png");
    let run = toongan(
        &["cartoonize", s(&path), "--model", s(&model), "-o", s(&out)],
        tmp.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(image::open(&out).unwrap().dimensions(), (24, 40));
}

#[test]
fn folders_are_walked_and_a_corrupt_file_is_reported_and_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("sub/deeper")).unwrap();
    gradient(20, 12).save(input.join("a.png")).unwrap();
    gradient(16, 16).save(input.join("sub/b.jpg")).unwrap();
    gradient(9, 7).save(input.join("sub/deeper/c.bmp")).unwrap();
    std::fs::write(input.join("notes.txt"), "not an image").unwrap();
    let good = std::fs::read(input.join("a.png")).unwrap();
    std::fs::write(input.join("sub/truncated.png"), &good[..good.len() / 2]).unwrap();

    let out = tmp.path().join("out");
    let run = toongan(
        &["cartoonize", s(&input), "--model", s(&model), "-o", s(&out)],
        tmp.path(),
    );
    assert_eq!(
        run.status.code(),
        Some(1),
        "a failure must show in the exit code: {}",
        stderr(&run)
    );
    let err = stderr(&run);
    assert!(
        err.contains("truncated.png"),
        "the failing file is named: {err}"
    );
    assert!(
        err.contains("3 images written") && err.contains("1 failed"),
        "summary: {err}"
    );
    assert_eq!(
        image::open(out.join("a.png")).unwrap().dimensions(),
        (20, 12)
    );
    assert_eq!(
        image::open(out.join("sub/b.jpg")).unwrap().dimensions(),
        (16, 16)
    );
    assert_eq!(
        image::open(out.join("sub/deeper/c.bmp"))
            .unwrap()
            .dimensions(),
        (9, 7)
    );
    assert!(!out.join("sub/truncated.png").exists());
    assert!(!out.join("notes.txt").exists());

    // Resuming skips what exists.
    let again = toongan(
        &[
            "cartoonize",
            s(&input),
            "--model",
            s(&model),
            "-o",
            s(&out),
            "--skip-existing",
        ],
        tmp.path(),
    );
    assert!(stderr(&again).contains("3 skipped"), "{}", stderr(&again));
}

#[test]
fn inputs_are_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let path = tmp.path().join("photo.png");
    gradient(16, 16).save(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let run = toongan(
        &["cartoonize", s(&path), "--model", s(&model), "-o", s(&path)],
        tmp.path(),
    );
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("never overwrites"),
        "{}",
        stderr(&run)
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // Without --output the result goes next to the input under a new name.
    let run = toongan(&["cartoonize", s(&path), "--model", s(&model)], tmp.path());
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(tmp.path().join("photo_cartoon.png").is_file());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn absurd_and_empty_files_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    // A PNG header claiming 100000 x 100000 pixels.
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8)
        .unwrap();
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let huge = tmp.path().join("huge.png");
    std::fs::write(&huge, &png).unwrap();
    let empty = tmp.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    for bad in [&huge, &empty] {
        let run = toongan(
            &[
                "cartoonize",
                s(bad),
                "--model",
                s(&model),
                "-o",
                s(&tmp.path().join("x.png")),
            ],
            tmp.path(),
        );
        assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
        assert!(
            stderr(&run).contains(s(bad)),
            "error names the file: {}",
            stderr(&run)
        );
    }
}

#[test]
fn missing_or_corrupt_weights_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let photo_path = tmp.path().join("p.png");
    gradient(16, 16).save(&photo_path).unwrap();
    let run = toongan(
        &[
            "cartoonize",
            s(&photo_path),
            "--style",
            "hayao",
            "--weights-dir",
            s(&tmp.path().join("nowhere")),
            "--offline",
        ],
        tmp.path(),
    );
    assert_eq!(run.status.code(), Some(2));
    let err = stderr(&run);
    assert!(
        err.contains("mnicnc404/CartoonGan-tensorflow") && err.contains("--weights-dir"),
        "{err}"
    );

    // A copy of the published folder with one corrupted file is refused with its path.
    let copy = tmp.path().join("weights/hayao");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(weights_dir().join("hayao")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let victim = copy.join("conv05_1.bias.npy");
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&victim, bytes).unwrap();
    let run = toongan(
        &[
            "cartoonize",
            s(&photo_path),
            "--style",
            "hayao",
            "--weights-dir",
            s(&tmp.path().join("weights")),
            "--offline",
        ],
        tmp.path(),
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("conv05_1.bias.npy") && stderr(&run).contains("SHA-256"),
        "{}",
        stderr(&run)
    );

    let run = toongan(
        &["cartoonize", s(&photo_path), "--style", "ghibli"],
        tmp.path(),
    );
    assert!(
        stderr(&run).contains("invalid value 'ghibli'") && stderr(&run).contains("hayao"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn saved_generators_round_trip_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    let config = GeneratorConfig::tiny().with_norm(toongan::model::NormKind::Batch);
    let g = config.init::<Cpu>(&device);
    let path = tmp.path().join("g.safetensors");
    save_generator(&g, &config, &path).unwrap();
    let (loaded, loaded_config) = toongan::weights::load_generator::<Cpu>(&path, &device).unwrap();
    assert_eq!(loaded_config, config);
    let x = Tensor::<Cpu, 4>::from_data(
        TensorData::new(
            (0..3 * 24 * 20)
                .map(|i| ((i % 17) as f32 / 8.5) - 1.0)
                .collect::<Vec<_>>(),
            [1, 3, 24, 20],
        ),
        &device,
    );
    let a: Vec<f32> = g.forward(x.clone()).into_data().into_vec().unwrap();
    let b: Vec<f32> = loaded.forward(x).into_data().into_vec().unwrap();
    assert_eq!(a, b);
}

#[test]
fn an_unusable_device_is_refused_before_any_work() {
    // No weights anywhere and offline: had the command loaded weights first, the error
    // would be about them. Without the `cuda` feature the error says how to build it; with
    // it, on a machine without a GPU, that the device is not usable.
    let tmp = tempfile::tempdir().unwrap();
    let photo = fixture("cartoongan/stairs_128.png");
    let out = tmp.path().join("out.png");
    let run = toongan(
        &[
            "cartoonize",
            photo.to_str().unwrap(),
            "--device",
            "cuda:7",
            "--offline",
            "-o",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let message = stderr(&run);
    assert!(
        message.contains("--features cuda") || message.contains("CUDA device 7 is not usable"),
        "{message}"
    );
    assert!(!out.exists());
    let run = toongan(
        &["cartoonize", photo.to_str().unwrap(), "--device", "tpu"],
        tmp.path(),
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("use cpu, cuda, cuda:N"),
        "{}",
        stderr(&run)
    );
}
