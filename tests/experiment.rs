//! `toongan experiment` end to end: the shipped plan (`experiments/improving-cartoongan.toml`)
//! at `--scale tiny` on real photos trains every variant this toongan knows for two seeds,
//! cartoonizes the test photos, scores them and writes the report; a second invocation
//! reuses every finished run, and a run without its `done` marker resumes.
//!
//! Shared data via `TOONGAN_SHARED_DIR` (default `<manifest>/../shared`), published weights
//! via `TOONGAN_WEIGHTS_DIR` (default `<shared>/weights/cartoongan`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use toongan::backend::Cpu;
use toongan::cartoonize::{TileOptions, cartoonize_image};
use toongan::engine::CpuGenerator;
use toongan::model::GeneratorConfig;
use toongan::train::MODELS;
use toongan::weights::{Style, StyleRegistry, load_published_generator};

mod common;
use common::weights_dir;

fn shipped_plan() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/improving-cartoongan.toml")
}

/// Shared photos: 4 training photos, 4 training cartoons (photos cartoonized with the
/// published Hayao style), 4 test photos, 6 test cartoons; 96 px short side.
fn make_data(root: &Path) -> [PathBuf; 4] {
    let sources = common::shared_photos();
    assert!(sources.len() >= 18, "need 18 shared photos");
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
    let dirs = [
        "train_photos",
        "train_cartoons",
        "test_photos",
        "test_cartoons",
    ]
    .map(|d| root.join(d));
    for (i, src) in sources.iter().take(18).enumerate() {
        let (dir, cartoon) = match i {
            0..4 => (&dirs[0], false),
            4..8 => (&dirs[1], true),
            8..12 => (&dirs[2], false),
            _ => (&dirs[3], true),
        };
        std::fs::create_dir_all(dir).unwrap();
        let img = toongan::train::load_resized(src, 96).unwrap();
        let out = dir.join(format!("{i:02}.png"));
        if cartoon {
            let (w, h) = (img.width() as usize, img.height() as usize);
            let rgb: Vec<f32> = img.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
            let rgb = cartoonize_image(&hayao, &rgb, w, h, TileOptions::default());
            toongan::imageio::encode_image(&out, w as u32, h as u32, &rgb, None).unwrap();
        } else {
            img.save(&out).unwrap();
        }
    }
    dirs
}

/// The shipped plan with its data folders pointed at `data` and only the variants whose
/// model this toongan trains (all of them once CycleGAN is registered).
fn test_plan(dir: &Path, data: &[PathBuf; 4]) -> (PathBuf, Vec<String>) {
    let text = std::fs::read_to_string(shipped_plan()).unwrap();
    let mut plan: toml::Table = toml::from_str(&text).unwrap();
    let mut d = toml::Table::new();
    for (key, path) in [
        "train_photos",
        "train_cartoons",
        "test_photos",
        "test_cartoons",
    ]
    .iter()
    .zip(data)
    {
        d.insert(key.to_string(), path.display().to_string().into());
    }
    plan.insert("data".into(), d.into());
    let variants = plan["variant"].as_array().unwrap().clone();
    let kept: Vec<toml::Value> = variants
        .into_iter()
        .filter(|v| MODELS.contains(&v["model"].as_str().unwrap()))
        .collect();
    let names = kept
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    plan.insert("variant".into(), kept.into());
    let path = dir.join("plan.toml");
    std::fs::write(&path, toml::to_string(&plan).unwrap()).unwrap();
    (path, names)
}

fn experiment(plan: &Path, out: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_toongan"))
        .arg("experiment")
        .arg(plan)
        .arg("--out")
        .arg(out)
        .args(["--scale", "tiny", "--quiet"])
        .env_remove("TOONGAN_FID_WEIGHTS")
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

/// Two CSV texts equal up to float rounding: scores reused from `scores.json` go through
/// serde_json, whose float parsing may differ from the written value in the last bit.
fn assert_same_csv(a: &str, b: &str) {
    let tokens =
        |s: &str| -> Vec<String> { s.split([',', ' ', ':', '\n']).map(str::to_string).collect() };
    let (ta, tb) = (tokens(a), tokens(b));
    assert_eq!(ta.len(), tb.len(), "{a}\n---\n{b}");
    for (x, y) in ta.iter().zip(&tb) {
        match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(u), Ok(v)) => assert!(
                (u - v).abs() <= 1e-9 * u.abs().max(v.abs()),
                "{x} vs {y}\n{a}\n---\n{b}"
            ),
            _ => assert_eq!(x, y, "{a}\n---\n{b}"),
        }
    }
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn shipped_plan_runs_tiny_end_to_end_and_reuses_finished_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = make_data(tmp.path());
    let (plan, variants) = test_plan(tmp.path(), &data);
    for v in [
        "cartoongan",
        "improved",
        "instance_norm",
        "leaky_relu",
        "resnet_content",
        "lsgan",
    ] {
        assert!(variants.iter().any(|n| n == v), "shipped plan lacks {v}");
    }
    if MODELS.contains(&"cyclegan") {
        assert_eq!(
            variants.len(),
            9,
            "the whole shipped plan runs once CycleGAN is registered"
        );
    }
    let out = tmp.path().join("exp");
    let n_runs = variants.len() * 2;

    let start = Instant::now();
    let log = experiment(&plan, &out);
    eprintln!("first run: {:.1} s\n{log}", start.elapsed().as_secs_f64());
    assert!(
        log.contains(&format!(
            "{n_runs} runs: {n_runs} trained, 0 resumed, 0 reused"
        )),
        "{log}"
    );
    assert!(
        log.contains("RANDOM Inception"),
        "random Inception not announced: {log}"
    );

    // Every run trained, left its marker, cartoonized the 4 test photos and was scored.
    let report = out.join("report");
    for v in &variants {
        for seed in [0, 1] {
            let run = out.join("runs").join(v).join(format!("seed-{seed}"));
            assert!(run.join("done").is_file(), "{}", run.display());
            assert!(run.join("loss_curves.png").is_file());
            let outputs = out.join("outputs").join(v).join(format!("seed-{seed}"));
            let pngs = std::fs::read_dir(&outputs)
                .unwrap()
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
                .count();
            assert_eq!(pngs, 4, "{}", outputs.display());
        }
        assert!(report.join("curves").join(format!("{v}.png")).is_file());
    }

    // The table: one row per variant, FID and KID as mean ± CI over the 2 seeds.
    let md = std::fs::read_to_string(report.join("results.md")).unwrap();
    assert!(md.contains("| variant | fid | kid |"), "{md}");
    for v in &variants {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {v} | ")))
            .unwrap_or_else(|| panic!("no row for {v}:\n{md}"));
        assert_eq!(row.matches(" ± ").count(), 2, "{row}");
        assert_eq!(row.matches("(n=2)").count(), 2, "{row}");
    }
    assert!(md.contains("random weights"), "{md}");
    let csv = std::fs::read_to_string(report.join("results.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), variants.len() * 2, "{csv}");
    for row in &rows {
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!(cols[2], "2", "{row}");
        let mean: f64 = cols[3].parse().unwrap();
        assert!(mean.is_finite(), "{row}");
    }
    // Same seed, same variant: the FID equals the per-run score file.
    let scores: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("outputs/cartoongan/seed-0/scores.json")).unwrap(),
    )
    .unwrap();
    let fid_row = rows
        .iter()
        .find(|r| r.starts_with("cartoongan,fid,"))
        .unwrap();
    let values = fid_row.rsplit(',').next().unwrap();
    let seed0: f64 = values
        .split(' ')
        .find_map(|v| v.strip_prefix("0:"))
        .unwrap()
        .parse()
        .unwrap();
    let want = scores["fid"].as_f64().unwrap();
    assert!(
        (seed0 - want).abs() <= 1e-9 * want.abs(),
        "{seed0} vs {want}"
    );

    // The grid: photo + one column per variant, one row per test photo (cells ≥ 128 px).
    let grid = image::open(report.join("grid.png")).unwrap();
    let cols = variants.len() as u32 + 1;
    assert_eq!(grid.width(), cols * (128 + 4) + 4);
    assert_eq!(grid.height(), 4 * (128 + 4) + 4);
    let report_md = std::fs::read_to_string(report.join("report.md")).unwrap();
    for link in [
        "results.md",
        "results.csv",
        "grid.png",
        "curves/improved.png",
    ] {
        assert!(report_md.contains(link), "report.md lacks {link}");
    }

    // Second invocation: nothing is trained again.
    let done = out.join("runs/improved/seed-1/done");
    let ckpt = std::fs::read_to_string(out.join("runs/improved/seed-1/latest")).unwrap();
    let generator = out.join("runs/improved/seed-1").join(ckpt.trim());
    let before = (mtime(&done), mtime(&generator));
    let start = Instant::now();
    let log = experiment(&plan, &out);
    eprintln!("second run: {:.1} s", start.elapsed().as_secs_f64());
    assert!(
        log.contains(&format!(
            "{n_runs} runs: 0 trained, 0 resumed, {n_runs} reused"
        )),
        "{log}"
    );
    assert_eq!(
        (mtime(&done), mtime(&generator)),
        before,
        "a finished run was retrained"
    );
    assert_same_csv(
        &std::fs::read_to_string(report.join("results.csv")).unwrap(),
        &csv,
    );

    // A run without its marker (as if killed after the last checkpoint) resumes and
    // finishes without new steps; its results are unchanged.
    std::fs::remove_file(out.join("runs/lsgan/seed-0/done")).unwrap();
    let log = experiment(&plan, &out);
    assert!(
        log.contains(&format!(
            "{n_runs} runs: 0 trained, 1 resumed, {} reused",
            n_runs - 1
        )),
        "{log}"
    );
    assert!(log.contains("lsgan seed 0: resuming"), "{log}");
    assert_same_csv(
        &std::fs::read_to_string(report.join("results.csv")).unwrap(),
        &csv,
    );

    // A changed plan does not silently reuse runs trained with another config.
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("lr = 0.0002", "lr = 0.0003");
    assert!(text.contains("lr = 0.0003"), "plan has no lr to change");
    std::fs::write(&plan, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_toongan"))
        .arg("experiment")
        .arg(&plan)
        .arg("--out")
        .arg(&out)
        .args(["--scale", "tiny", "--quiet"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("plan.toml") && stderr.contains("another config"),
        "{stderr}"
    );
}

/// A plan with a misspelt override or a missing data folder is refused before anything
/// trains, naming the plan file and the field.
#[test]
fn bad_plans_fail_up_front_naming_file_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let data: Vec<PathBuf> = (0..4).map(|i| tmp.path().join(format!("d{i}"))).collect();
    for d in &data[..3] {
        std::fs::create_dir_all(d).unwrap();
    }
    let plan = tmp.path().join("p.toml");
    let write = |extra: &str| {
        std::fs::write(
            &plan,
            format!(
                "name = \"p\"\nseeds = [0]\n[data]\ntrain_photos = \"d0\"\ntrain_cartoons = \"d1\"\n\
                 test_photos = \"d2\"\ntest_cartoons = \"d3\"\n[[variant]]\nname = \"a\"\n\
                 model = \"cartoongan\"\n{extra}"
            ),
        )
        .unwrap();
    };
    let run = || {
        let o = Command::new(env!("CARGO_BIN_EXE_toongan"))
            .arg("experiment")
            .arg(&plan)
            .arg("--out")
            .arg(tmp.path().join("out"))
            .output()
            .unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    write("");
    let err = run();
    assert!(
        err.contains("p.toml") && err.contains("data.test_cartoons"),
        "{err}"
    );
    std::fs::create_dir_all(&data[3]).unwrap();
    write("[variant.overrides.cartoongan]\ngan_los = \"lsgan\"\n");
    let err = run();
    assert!(
        err.contains("p.toml") && err.contains("variant 'a'") && err.contains("cartoongan.gan_los"),
        "{err}"
    );
    assert!(!tmp.path().join("out/runs").exists(), "something trained");
}
