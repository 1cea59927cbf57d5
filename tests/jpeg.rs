//! JPEGs are decoded as PIL decodes them (references written by tools/make_jpeg_fixtures.py
//! with Pillow), truncated JPEGs are reported, and cartoonize is exact on JPEG inputs.

mod common;

use std::path::Path;

use common::{fixture, stderr, toongan, weights_dir};
use toongan::imageio::{ImageIoError, decode_image};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// PIL's pixels of a fixture, from the lossless PNG the script wrote.
fn pil_pixels(stem: &str) -> image::RgbImage {
    image::open(fixture(&format!("jpeg/{stem}.pil.png")))
        .unwrap()
        .to_rgb8()
}

#[test]
fn jpegs_decode_to_pils_pixels_exactly() {
    for stem in [
        "citrus_128x96",
        "citrus_progressive",
        "citrus_gray",
        "citrus_exif6",
    ] {
        let want = pil_pixels(stem);
        let got = decode_image(&fixture(&format!("jpeg/{stem}.jpg"))).unwrap();
        assert_eq!(
            (got.width, got.height),
            want.dimensions(),
            "{stem}: size (EXIF orientation applied?)"
        );
        assert!(got.alpha.is_none(), "{stem}");
        let mut differing = 0;
        let mut worst = 0i32;
        for (g, w) in got.rgb.iter().zip(want.as_raw()) {
            let g = (g * 255.0).round() as i32;
            let d = (g - *w as i32).abs();
            worst = worst.max(d);
            differing += (d != 0) as usize;
        }
        assert_eq!(
            differing, 0,
            "{stem}: {differing} channel values differ from PIL's, worst by {worst} levels"
        );
    }
}

#[test]
fn a_truncated_jpeg_is_an_error_naming_the_file() {
    let path = fixture("jpeg/citrus_truncated.jpg");
    match decode_image(&path) {
        Err(ImageIoError::Decode { path: p, message }) => {
            assert_eq!(p, path);
            assert!(message.contains("truncated"), "{message}");
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(img) => panic!(
            "a truncated JPEG decoded as a {}x{} picture",
            img.width, img.height
        ),
    }
}

#[test]
fn cartoonize_of_a_jpeg_matches_the_float64_reference_on_pils_pixels() {
    let weights = weights_dir();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("citrus_shinkai.png");
    let run = toongan(
        &[
            "cartoonize",
            s(&fixture("jpeg/citrus_128x96.jpg")),
            "--style",
            "shinkai",
            "--weights-dir",
            s(&weights),
            "--offline",
            "-o",
            s(&out),
        ],
        tmp.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let got = image::open(&out).unwrap().to_rgb8();
    let reference = toongan::weights::read_npy(&fixture("jpeg/citrus_128x96_shinkai.npy")).unwrap();
    assert_eq!(reference.shape, vec![96, 128, 3]);
    assert_eq!(got.dimensions(), (128, 96));
    let mut worst = 0.0f32;
    for (g, r) in got.as_raw().iter().zip(&reference.data) {
        worst = worst.max((*g as f32 / 255.0 - r).abs());
    }
    assert!(
        worst <= 1.0 / 255.0 + 1e-6,
        "worst pixel off by {:.3} levels",
        worst * 255.0
    );
}

#[test]
fn a_truncated_jpeg_in_a_batch_fails_the_run_and_the_others_are_written() {
    let weights = weights_dir();
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::copy(fixture("jpeg/citrus_128x96.jpg"), inputs.join("good.jpg")).unwrap();
    std::fs::copy(fixture("jpeg/citrus_truncated.jpg"), inputs.join("cut.jpg")).unwrap();
    let out = tmp.path().join("out");
    let run = toongan(
        &[
            "cartoonize",
            s(&inputs),
            "--style",
            "shinkai",
            "--weights-dir",
            s(&weights),
            "--offline",
            "-o",
            s(&out),
        ],
        tmp.path(),
    );
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cut.jpg") && err.contains("truncated"),
        "{err}"
    );
    let written: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].starts_with("good"), "{written:?}");
}

#[test]
fn fid_statistics_of_a_jpeg_folder_equal_those_of_pils_pixels() {
    // toongan's Inception statistics equal pytorch-fid's on identical pixels (tests/eval.rs,
    // PNG inputs); with JPEGs decoded to PIL's pixels, a JPEG folder's statistics must equal
    // those of PNGs holding PIL's decode exactly. (pytorch-fid itself needs torch, which this
    // machine cannot install; see the report.)
    let tmp = tempfile::tempdir().unwrap();
    let (jpegs, pngs) = (tmp.path().join("jpeg"), tmp.path().join("png"));
    std::fs::create_dir_all(&jpegs).unwrap();
    std::fs::create_dir_all(&pngs).unwrap();
    for stem in [
        "citrus_128x96",
        "citrus_progressive",
        "citrus_gray",
        "citrus_exif6",
    ] {
        std::fs::copy(
            fixture(&format!("jpeg/{stem}.jpg")),
            jpegs.join(format!("{stem}.jpg")),
        )
        .unwrap();
        std::fs::copy(
            fixture(&format!("jpeg/{stem}.pil.png")),
            pngs.join(format!("{stem}.png")),
        )
        .unwrap();
    }
    let weights = fixture("eval/pt_inception_test.pth");
    let mut stats = Vec::new();
    for dir in [&jpegs, &pngs] {
        let out = dir.with_extension("npz");
        let run = toongan(
            &[
                "fid",
                "--save-stats",
                s(dir),
                s(&out),
                "--weights",
                s(&weights),
                "--dims",
                "64",
                "--offline",
            ],
            tmp.path(),
        );
        assert!(run.status.success(), "{}", stderr(&run));
        stats.push(toongan::eval::read_stats(&out).unwrap());
    }
    let rel = |a: &[f64], b: &[f64]| {
        let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
        let den: f64 = b.iter().map(|y| y * y).sum();
        (num / den).sqrt()
    };
    let mu = rel(stats[0].mu.as_slice(), stats[1].mu.as_slice());
    let sigma = rel(stats[0].sigma.as_slice(), stats[1].sigma.as_slice());
    assert!(mu <= 1e-12 && sigma <= 1e-12, "mu {mu:e}, sigma {sigma:e}");
}
