//! `cartoonize --style all` / comma lists, `--compare` sheets and `--max-side`.

mod common;

use std::path::Path;

use common::{fixture, stderr, toongan, weights_dir};
use image::GenericImageView;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A 64x48 photo crop (PNG, lossless) in `dir`.
fn small_photo(dir: &Path) -> std::path::PathBuf {
    let img = image::open(fixture("jpeg/citrus_128x96.pil.png"))
        .unwrap()
        .to_rgb8();
    let small = image::imageops::crop_imm(&img, 32, 24, 64, 48).to_image();
    let path = dir.join("citrus.png");
    small.save(&path).unwrap();
    path
}

#[test]
fn style_all_writes_one_output_per_style() {
    let weights = weights_dir();
    let tmp = tempfile::tempdir().unwrap();
    let photo = small_photo(tmp.path());
    let out = tmp.path().join("out");
    let run = toongan(
        &[
            "cartoonize",
            s(&photo),
            "--style",
            "all",
            "--weights-dir",
            s(&weights),
            "--offline",
            "-o",
            s(&out),
        ],
        tmp.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let mut outputs = Vec::new();
    for style in ["hayao", "hosoda", "paprika", "shinkai"] {
        let img = image::open(out.join(style).join("citrus.png"))
            .unwrap_or_else(|e| panic!("{style}: {e}"))
            .to_rgb8();
        assert_eq!(img.dimensions(), (64, 48), "{style}");
        outputs.push(img);
    }
    for i in 0..4 {
        for j in i + 1..4 {
            assert_ne!(
                outputs[i], outputs[j],
                "styles {i} and {j} gave one picture"
            );
        }
    }

    // A comma list, no --output: next to the input, one per style named, nothing else.
    let run = toongan(
        &[
            "cartoonize",
            s(&photo),
            "--style",
            "paprika,hayao",
            "--weights-dir",
            s(&weights),
            "--offline",
        ],
        tmp.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(
        image::open(tmp.path().join("citrus_hayao.png"))
            .unwrap()
            .to_rgb8(),
        outputs[0]
    );
    assert_eq!(
        image::open(tmp.path().join("citrus_paprika.png"))
            .unwrap()
            .to_rgb8(),
        outputs[2]
    );
    assert!(!tmp.path().join("citrus_shinkai.png").exists());

    // --help lists the style names (a value enum).
    let help = toongan(&["cartoonize", "--help"], tmp.path());
    let text = String::from_utf8_lossy(&help.stdout);
    for name in ["hayao", "hosoda", "paprika", "shinkai", "all"] {
        assert!(text.contains(name), "--help does not list {name}:\n{text}");
    }
}

#[test]
fn compare_writes_a_labelled_sheet_of_the_photo_and_each_style() {
    let weights = weights_dir();
    let tmp = tempfile::tempdir().unwrap();
    let photo = small_photo(tmp.path());
    let run = toongan(
        &[
            "cartoonize",
            s(&photo),
            "--style",
            "hayao,shinkai",
            "--compare",
            "--weights-dir",
            s(&weights),
            "--offline",
        ],
        tmp.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let sheet = image::open(tmp.path().join("citrus_compare.png"))
        .unwrap()
        .to_rgb8();
    let bar = toongan::report::LABEL_BAR;
    assert_eq!(sheet.dimensions(), (3 * 64 + 2 * 4, 48 + bar));
    let photo_px = image::open(&photo).unwrap().to_rgb8();
    let hayao = image::open(tmp.path().join("citrus_hayao.png"))
        .unwrap()
        .to_rgb8();
    let shinkai = image::open(tmp.path().join("citrus_shinkai.png"))
        .unwrap()
        .to_rgb8();
    for (col, img) in [(0u32, &photo_px), (1, &hayao), (2, &shinkai)] {
        let cell = image::imageops::crop_imm(&sheet, col * 68, bar, 64, 48).to_image();
        assert_eq!(&cell, img, "column {col}");
        // A label (dark text pixels) above each column.
        let dark = (col * 68..col * 68 + 64)
            .flat_map(|x| (0..bar).map(move |y| (x, y)))
            .filter(|&(x, y)| sheet.get_pixel(x, y).0[0] < 100)
            .count();
        assert!(dark > 10, "no label over column {col}");
    }
}

#[test]
fn max_side_scales_the_photo_before_cartoonizing() {
    let weights = weights_dir();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("small.png");
    let run = toongan(
        &[
            "cartoonize",
            s(&fixture("jpeg/citrus_128x96.jpg")),
            "--style",
            "shinkai",
            "--max-side",
            "64",
            "--weights-dir",
            s(&weights),
            "--offline",
            "-o",
            s(&out),
        ],
        tmp.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(image::open(&out).unwrap().dimensions(), (64, 48));
    // Without it, the output keeps the photo's size.
    let full = tmp.path().join("full.png");
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
            s(&full),
        ],
        tmp.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(image::open(&full).unwrap().dimensions(), (128, 96));
}
