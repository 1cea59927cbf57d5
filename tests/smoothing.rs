//! Edge smoothing (CartoonGAN's blurred-edge negatives) against OpenCV 5 fixtures made by
//! `tools/ref_edge_smoothing.py`, the smoothing cache, and `toongan smooth`.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{GrayImage, RgbImage};
use toongan::train::{EdgeSmoother, EdgeSmootherConfig, SmoothingCache, content_hash, rgb_to_gray};

const NAMES: [&str; 5] = ["astronaut", "cat", "coffee", "raccoon", "cartoon"];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edge_smoothing")
}

fn rgb(name: &str) -> RgbImage {
    image::open(fixture_dir().join(name)).unwrap().into_rgb8()
}

fn gray(name: &str) -> GrayImage {
    image::open(fixture_dir().join(name)).unwrap().into_luma8()
}

fn count_diff(a: &[u8], b: &[u8], tol: u8) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.abs_diff(**y) > tol)
        .count()
}

/// Every step matches OpenCV exactly on 4 photos and a drawn cartoon: the Canny edges and
/// the dilated map bit for bit, the smoothed image exactly (hence also the bar of
/// >= 99% of pixels within +-1, asserted separately so a regression shows which bar fell).
#[test]
fn matches_opencv_fixtures_exactly() {
    let smoother = EdgeSmoother::default();
    for name in NAMES {
        let input = rgb(&format!("{name}.png"));
        let maps = smoother.smooth_with_maps(&input);
        let edges = gray(&format!("{name}_edges.png"));
        let dilated = gray(&format!("{name}_dilated.png"));
        let expected = rgb(&format!("{name}_smoothed.png"));
        let n = edges.len();
        let bad_edges = count_diff(&maps.edges, &edges, 0);
        assert_eq!(
            bad_edges,
            0,
            "{name}: {bad_edges} edge pixels differ ({:.3} %)",
            100.0 * bad_edges as f64 / n as f64
        );
        assert_eq!(
            count_diff(&maps.dilated, &dilated, 0),
            0,
            "{name}: dilated map"
        );
        // The smoothed image actually differs from the input (the step does something).
        assert!(
            count_diff(&expected, &input, 0) > 1000,
            "{name}: fixture unchanged"
        );
        let px_off = |tol: u8| {
            maps.smoothed
                .chunks_exact(3)
                .zip(expected.chunks_exact(3))
                .filter(|(a, b)| count_diff(a, b, tol) > 0)
                .count()
        };
        let within_one = 1.0 - px_off(1) as f64 / n as f64;
        assert!(
            within_one >= 0.99,
            "{name}: only {within_one:.4} within +-1"
        );
        assert_eq!(px_off(0), 0, "{name}: smoothed pixels differ from OpenCV");
        assert_eq!(smoother.smooth(&input), maps.smoothed);
        assert_eq!(smoother.edges(&input), maps.edges);
        assert_eq!(smoother.dilated(&input), maps.dilated);
    }
}

/// OpenCV 5's fixed-point RGB2GRAY rounding, on colours where it differs from a float
/// formula: (9798 R + 19235 G + 3735 B + 16384) >> 15.
#[test]
fn gray_uses_opencv5_fixed_point() {
    let colours: [([u8; 3], u8); 5] = [
        ([0, 0, 0], 0),
        ([255, 255, 255], 255),
        ([255, 0, 0], 76),  // 2498490 + 16384 >> 15 = 76
        ([0, 255, 0], 150), // 4904925 + 16384 >> 15 = 150
        ([0, 0, 255], 29),  // 952425 + 16384 >> 15 = 29
    ];
    for (c, want) in colours {
        let img = RgbImage::from_pixel(1, 1, image::Rgb(c));
        assert_eq!(rgb_to_gray(&img).get_pixel(0, 0).0[0], want, "{c:?}");
    }
}

/// Sizes OpenCV's rules do not define here are refused, not silently approximated.
#[test]
fn bad_configs_are_refused() {
    assert!(EdgeSmootherConfig::new().with_dilation(4).init().is_err());
    assert!(EdgeSmootherConfig::new().with_gaussian(9).init().is_err());
    assert!(EdgeSmootherConfig::new().with_gaussian(7).init().is_ok());
}

/// A flat image has no edges, so smoothing leaves it untouched.
#[test]
fn flat_image_is_unchanged() {
    let img = RgbImage::from_pixel(32, 32, image::Rgb([10, 120, 240]));
    assert_eq!(EdgeSmoother::default().smooth(&img), img);
}

/// The cache computes once, then serves the stored PNG; its key follows the file's
/// content, the config and the size.
#[test]
fn cache_serves_stored_entries_keyed_by_content_and_config() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture_dir().join("cartoon.png");
    let img = rgb("cartoon.png");
    let cache = SmoothingCache::new(tmp.path().join("cache"), EdgeSmoother::default(), 256);
    let first = cache.get_or_create(&src, &img).unwrap();
    assert_eq!(first, rgb("cartoon_smoothed.png"));
    let hash = content_hash(&std::fs::read(&src).unwrap());
    let entry = cache.entry_path(&hash);
    assert!(entry.is_file());
    // Replace the entry: the next call must return the stored image, not recompute.
    let marker = RgbImage::from_pixel(256, 256, image::Rgb([1, 2, 3]));
    marker.save(&entry).unwrap();
    assert_eq!(cache.get_or_create(&src, &img).unwrap(), marker);
    // A damaged entry is recomputed.
    std::fs::write(&entry, b"not a png").unwrap();
    assert_eq!(cache.get_or_create(&src, &img).unwrap(), first);
    // Same bytes under another name share the entry.
    let copy = tmp.path().join("renamed.png");
    std::fs::copy(&src, &copy).unwrap();
    marker.save(&entry).unwrap();
    assert_eq!(cache.get_or_create(&copy, &img).unwrap(), marker);
    // Another config or size gets another entry.
    let other = EdgeSmootherConfig::new().with_canny_low(50).init().unwrap();
    let cache2 = SmoothingCache::new(tmp.path().join("cache"), other, 256);
    assert_ne!(cache2.entry_path(&hash), entry);
    let cache3 = SmoothingCache::new(tmp.path().join("cache"), EdgeSmoother::default(), 128);
    assert_ne!(cache3.entry_path(&hash), entry);
    assert!(
        cache3.get_or_create(&src, &img).is_err(),
        "wrong size accepted"
    );
    assert!(
        cache
            .get_or_create(&tmp.path().join("missing.png"), &img)
            .is_err()
    );
}

/// `toongan smooth` walks folders recursively, mirrors relative paths as PNG, reproduces
/// the fixture on a 256x256 input, reports and skips unreadable and too-small files, and
/// refuses to write over its inputs.
#[test]
fn cli_smooths_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("cartoons");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    std::fs::copy(fixture_dir().join("cartoon.png"), input.join("sub/c.png")).unwrap();
    // A 512x384 JPEG-free upscale: short side resized to 256 then cropped.
    let big = image::imageops::resize(&rgb("cat.png"), 512, 384, image::imageops::Nearest);
    big.save(input.join("big.bmp")).unwrap();
    std::fs::write(input.join("broken.jpg"), b"garbage").unwrap();
    RgbImage::new(100, 300)
        .save(input.join("small.png"))
        .unwrap();
    let out = tmp.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_toongan"))
        .args([
            "smooth",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.jpg"), "{stderr}");
    assert!(stderr.contains("small.png"), "{stderr}");
    assert!(stderr.contains("2 images smoothed"), "{stderr}");
    let c = image::open(out.join("sub/c.png")).unwrap().into_rgb8();
    assert_eq!(c, rgb("cartoon_smoothed.png"));
    let b = image::open(out.join("big.png")).unwrap().into_rgb8();
    assert_eq!(b.dimensions(), (256, 256));
    assert!(!out.join("broken.png").exists() && !out.join("small.png").exists());
    // Writing into the input folder would overwrite sub/c.png: refused.
    let again = Command::new(env!("CARGO_BIN_EXE_toongan"))
        .args([
            "smooth",
            input.to_str().unwrap(),
            "-o",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
}
