//! The distillation benchmark (`experiments/distill-hayao.toml`, issue 17): a plan whose
//! `[data]` is a folder of photos and a teacher style runs at `--scale tiny`; the experiment
//! splits the photos itself, the teacher's outputs are the cartoon domain and the paired
//! references, every variant is scored against them (FID, KID, CIEDE2000 ΔE, SSIM) with the
//! identity and teacher bounds, and a second invocation reuses the split and the runs. Also
//! the paired metrics against a plain-Python float64 reference
//! (`tools/make_paired_metrics_fixture.py`) and rows of Sharma et al.'s CIEDE2000 test data.
//!
//! Shared data via `TOONGAN_SHARED_DIR`, published weights via `TOONGAN_WEIGHTS_DIR` (see
//! `tests/common`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use toongan::backend::Cpu;
use toongan::cartoonize::{TileOptions, cartoonize_image};
use toongan::engine::CpuGenerator;
use toongan::eval::{ciede2000, mean_ciede2000, srgb_to_lab, ssim};
use toongan::model::GeneratorConfig;
use toongan::train::MODELS;
use toongan::weights::{Style, StyleRegistry, load_published_generator};

mod common;
use common::weights_dir;

/// Variants of the shipped plan run here (the whole plan's pipeline is `tests/experiment.rs`'s).
const VARIANTS: [&str; 3] = ["cartoongan", "lsgan", "cyclegan"];

fn shipped_plan() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/distill-hayao.toml")
}

/// 18 shared photos at 96 px short side: the whole data set of the plan.
fn make_photos(root: &Path) -> PathBuf {
    let sources = common::shared_photos();
    assert!(sources.len() >= 18, "need 18 shared photos");
    let dir = root.join("photos");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, src) in sources.iter().take(18).enumerate() {
        let img = toongan::train::load_resized(src, 96).unwrap();
        img.save(dir.join(format!("p{i:02}.png"))).unwrap();
    }
    dir
}

/// The shipped plan with `data.photos` pointed at `photos` and [`VARIANTS`] kept.
fn test_plan(dir: &Path, photos: &Path) -> (PathBuf, Vec<String>) {
    let text = std::fs::read_to_string(shipped_plan()).unwrap();
    let mut plan: toml::Table = toml::from_str(&text).unwrap();
    let data = plan["data"].as_table_mut().unwrap();
    assert_eq!(data["teacher"].as_str(), Some("hayao"));
    data.insert("photos".into(), photos.display().to_string().into());
    let kept: Vec<toml::Value> = plan["variant"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| {
            let name = v["name"].as_str().unwrap();
            VARIANTS.contains(&name) && MODELS.contains(&v["model"].as_str().unwrap())
        })
        .cloned()
        .collect();
    let names: Vec<String> = kept
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 2, "shipped plan lacks {VARIANTS:?}");
    plan.insert("variant".into(), kept.into());
    let path = dir.join("plan.toml");
    std::fs::write(&path, toml::to_string(&plan).unwrap()).unwrap();
    (path, names)
}

fn experiment(plan: &Path, out: &Path, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_toongan"))
        .arg("experiment")
        .arg(plan)
        .arg("--out")
        .arg(out)
        .args(["--scale", "tiny", "--quiet"])
        .args(extra)
        .env_remove("TOONGAN_FID_WEIGHTS")
        .env("TOONGAN_WEIGHTS_DIR", weights_dir())
        .env("TOONGAN_OFFLINE", "1")
        .env("XDG_CACHE_HOME", out.join("no-cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "toongan experiment failed:\n{stderr}"
    );
    stderr
}

fn pngs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    v.sort();
    v
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).and_then(|m| m.modified()).unwrap()
}

/// A row of a Markdown table: its cells after the name.
fn row<'a>(md: &'a str, name: &str) -> Vec<&'a str> {
    let line = md
        .lines()
        .find(|l| l.starts_with(&format!("| {name} | ")))
        .unwrap_or_else(|| panic!("no row '{name}':\n{md}"));
    line.trim_matches('|')
        .split(" | ")
        .skip(1)
        .map(str::trim)
        .collect()
}

fn mean_of(cell: &str) -> f64 {
    cell.split([' ', '('])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {cell}"))
}

#[test]
fn distillation_plan_runs_tiny_with_paired_references_and_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = make_photos(tmp.path());
    let (plan, variants) = test_plan(tmp.path(), &photos);
    let out = tmp.path().join("exp");
    let n_runs = variants.len() * 2;

    let start = Instant::now();
    let log = experiment(&plan, &out, &[]);
    eprintln!("first run: {:.1} s\n{log}", start.elapsed().as_secs_f64());
    assert!(
        log.contains(&format!(
            "{n_runs} runs: {n_runs} trained, 0 resumed, 0 reused"
        )),
        "{log}"
    );

    // The split: 18 photos, a fifth (3) held out, the other 15 halved (8 the teacher
    // cartoonizes, 7 photos), at tiny scale at most 8 per domain; no photo in two parts.
    let distill = out.join("distill");
    let train_cartoons = pngs(&distill.join("train/cartoons"));
    let train_photos = pngs(&distill.join("train/photos"));
    let test_photos = pngs(&out.join("test-set/photos"));
    assert_eq!(
        (train_cartoons.len(), train_photos.len(), test_photos.len()),
        (8, 7, 3)
    );
    let source = |p: &PathBuf| {
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        name.rsplit('_').next().unwrap().to_string()
    };
    let mut seen = BTreeSet::new();
    for p in train_cartoons
        .iter()
        .chain(&train_photos)
        .chain(&test_photos)
    {
        assert!(
            seen.insert(source(p)),
            "{} is in two parts of the split",
            p.display()
        );
    }
    // Training images at the tiny load size (64).
    let img = image::open(&train_photos[0]).unwrap();
    assert_eq!((img.width(), img.height()), (64, 64));

    // The paired references: the teacher's (published Hayao, fast engine) output on each
    // prepared test photo, under the same name; recomputed here.
    let registry = StyleRegistry {
        weights_dir: Some(weights_dir()),
        allow_download: false,
        ..StyleRegistry::default()
    };
    let g = load_published_generator::<Cpu>(
        &registry.locate(Style::Hayao).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let hayao = CpuGenerator::from_generator(&g, &GeneratorConfig::published()).unwrap();
    let references = pngs(&out.join("test-set/cartoons"));
    assert_eq!(references.len(), test_photos.len());
    let (mut identity_de, mut identity_ssim) = (0.0, 0.0);
    for (photo, reference) in test_photos.iter().zip(&references) {
        assert_eq!(photo.file_name(), reference.file_name());
        let p = image::open(photo).unwrap().to_rgb8();
        let r = image::open(reference).unwrap().to_rgb8();
        let (w, h) = (p.width() as usize, p.height() as usize);
        let rgb: Vec<f32> = p.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
        let want = cartoonize_image(&hayao, &rgb, w, h, TileOptions::default());
        let worst = want
            .iter()
            .zip(r.as_raw())
            .map(|(&a, &b)| (a * 255.0 - b as f32).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 1.0, "{}: off by {worst}", reference.display());
        identity_de += mean_ciede2000(&p, &r).unwrap() / test_photos.len() as f64;
        identity_ssim += ssim(&p, &r).unwrap() / test_photos.len() as f64;
    }

    // The table: every variant with the four metrics over 2 seeds, and the two bounds.
    let report = out.join("report");
    let md = std::fs::read_to_string(report.join("results.md")).unwrap();
    assert!(
        md.contains("| variant | fid | kid | delta_e | ssim |"),
        "{md}"
    );
    for v in &variants {
        let cells = row(&md, v);
        assert_eq!(cells.len(), 4, "{cells:?}");
        for c in &cells {
            assert!(c.contains(" ± ") && c.contains("(n=2)"), "{v}: {c}");
        }
        let ssim_mean = mean_of(cells[3]);
        assert!((-1.0..=1.0).contains(&ssim_mean), "{v}: {ssim_mean}");
    }
    let identity = row(&md, "identity (the photo)");
    assert!(
        (mean_of(identity[2]) - identity_de).abs() < 1e-3,
        "{identity:?} vs {identity_de}"
    );
    assert!(
        (mean_of(identity[3]) - identity_ssim).abs() < 1e-3,
        "{identity:?} vs {identity_ssim}"
    );
    assert!(
        identity_de > 1.0 && identity_ssim < 0.99,
        "the teacher changes the photos"
    );
    let teacher = row(&md, "teacher (hayao)");
    assert_eq!((teacher[2], teacher[3]), ("0.0000 (n=1)", "1.0000 (n=1)"));
    assert!(md.contains("## Against the known answer"), "{md}");
    for v in &variants {
        let verdicts = row(&md[md.find("## Against").unwrap()..], v);
        assert_eq!(verdicts.len(), 4, "{verdicts:?}");
        assert!(
            verdicts.iter().all(|c| c.contains("identity")),
            "{verdicts:?}"
        );
    }
    assert!(md.contains("CIEDE2000"), "{md}");
    let csv = std::fs::read_to_string(report.join("results.csv")).unwrap();
    assert!(csv.lines().any(|l| l.starts_with("lsgan,ssim,2,")), "{csv}");
    assert!(
        std::fs::read_to_string(report.join("report.md"))
            .unwrap()
            .contains("## Against the known answer")
    );

    // Second invocation: the split, the teacher's outputs and every run are reused.
    let before = mtime(&train_cartoons[0]);
    let log = experiment(&plan, &out, &[]);
    assert!(
        log.contains(&format!(
            "{n_runs} runs: 0 trained, 0 resumed, {n_runs} reused"
        )),
        "{log}"
    );
    assert!(
        !log.contains("distillation data:"),
        "split made again:\n{log}"
    );
    assert_eq!(mtime(&train_cartoons[0]), before, "teacher outputs remade");
    // --report alone writes the same table, bounds included.
    experiment(&plan, &out, &["--report"]);
    assert_eq!(
        std::fs::read_to_string(report.join("results.md"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("| identity") || l.starts_with("| teacher"))
            .count(),
        2
    );
}

/// CIEDE2000 and SSIM against the plain-Python float64 reference, and CIEDE2000 against
/// rows of Sharma, Wu and Dalal's (2005) published test data (4 decimals).
#[test]
fn paired_metrics_match_the_float64_reference() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/paired/paired_metrics.json");
    let fixture: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let lab = |v: &serde_json::Value| -> [f64; 3] {
        let a = v.as_array().unwrap();
        [0, 1, 2].map(|i| a[i].as_f64().unwrap())
    };
    for row in fixture["sharma"].as_array().unwrap() {
        let got = ciede2000(lab(&row[0]), lab(&row[1]));
        let want = row[2].as_f64().unwrap();
        assert!((got - want).abs() < 5e-5, "{row}: {got}");
    }
    for pair in fixture["pairs"].as_array().unwrap() {
        let (w, h) = (
            pair["width"].as_u64().unwrap() as u32,
            pair["height"].as_u64().unwrap() as u32,
        );
        let bytes = |k: &str| -> Vec<u8> {
            pair[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u8)
                .collect()
        };
        let a = image::RgbImage::from_raw(w, h, bytes("a")).unwrap();
        let b = image::RgbImage::from_raw(w, h, bytes("b")).unwrap();
        let mode = pair["mode"].as_str().unwrap();
        let first = a.get_pixel(0, 0).0;
        let want_lab = lab(&pair["lab_a0"]);
        let got_lab = srgb_to_lab(first);
        for i in 0..3 {
            assert!(
                (got_lab[i] - want_lab[i]).abs() < 1e-9,
                "{mode}: Lab {got_lab:?}"
            );
        }
        let de = mean_ciede2000(&a, &b).unwrap();
        let want = pair["mean_ciede2000"].as_f64().unwrap();
        assert!(
            (de - want).abs() <= 1e-9 * want,
            "{mode}: ΔE00 {de} vs {want}"
        );
        let s = ssim(&a, &b).unwrap();
        let want = pair["ssim"].as_f64().unwrap();
        assert!((s - want).abs() <= 1e-9, "{mode}: SSIM {s} vs {want}");
        assert_eq!(ssim(&a, &a), Some(1.0), "{mode}");
        assert_eq!(mean_ciede2000(&a, &a), Some(0.0), "{mode}");
    }
    // Sizes must match; SSIM needs an 11x11 window.
    let small = image::RgbImage::new(10, 10);
    assert_eq!(ssim(&small, &small), None);
    assert_eq!(mean_ciede2000(&small, &image::RgbImage::new(10, 11)), None);
}
