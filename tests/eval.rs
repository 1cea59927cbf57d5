//! Evaluation tests: the FID Inception against pytorch-fid on deterministic weights, FID
//! and KID against pytorch-fid / torch-fidelity on fixed features, pytorch-fid's `.npz`
//! layout, and `toongan fid` / `toongan kid` end to end on real photos and their cartoons.
//!
//! Fixtures: `tests/fixtures/eval/`, made by `tools/make_inception_fixture.py` and
//! `tools/make_fid_fixture.py` (regeneration commands in their docstrings).

mod common;
use common::{rel_err, shared_dir, weights_dir};

use std::path::{Path, PathBuf};
use std::process::Command;

use nalgebra::{DMatrix, DVector};
use npyz::npz::NpzArchive;
use toongan::backend::Cpu;
use toongan::eval::kid_on_subsets;
use toongan::eval::{
    ExtractOptions, Features, Statistics, extract_features, frechet_distance, read_stats,
    write_stats,
};
use toongan::model::FidInceptionConfig;
use toongan::weights::{FID_WEIGHTS_FILE, FID_WEIGHTS_URL, load_fid_inception};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval")
}

/// Reads a float array (f32 or f64) and its shape from a fixture `.npz`.
fn array(
    npz: &mut NpzArchive<std::io::BufReader<std::fs::File>>,
    name: &str,
) -> (Vec<u64>, Vec<f64>) {
    let file = npz
        .by_name(name)
        .unwrap()
        .unwrap_or_else(|| panic!("no {name}"));
    let shape = file.shape().to_vec();
    let descr = type_str(&file.dtype());
    let values = if descr == "<f4" {
        file.into_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    } else if descr == "<i8" {
        file.into_vec::<i64>()
            .unwrap()
            .into_iter()
            .map(|v| v as f64)
            .collect()
    } else {
        file.into_vec::<f64>().unwrap()
    };
    (shape, values)
}

/// The numpy type string of a plain dtype, e.g. `<f8`.
fn type_str(dtype: &npyz::DType) -> String {
    match dtype {
        npyz::DType::Plain(t) => t.to_string(),
        other => panic!("not a plain dtype: {other:?}"),
    }
}

fn features(npz: &mut NpzArchive<std::io::BufReader<std::fs::File>>, name: &str) -> Features {
    let (shape, v) = array(npz, name);
    Features::new(shape[1] as usize, v.into_iter().map(|x| x as f32).collect()).unwrap()
}

#[test]
fn inception_features_match_pytorch_fid_on_deterministic_weights() {
    let dir = fixtures();
    let device = Default::default();
    let model = load_fid_inception::<Cpu>(
        &dir.join("pt_inception_test.pth"),
        &FidInceptionConfig::new(),
        &device,
    )
    .unwrap();
    let paths: Vec<PathBuf> = (0..3)
        .map(|i| dir.join(format!("inception_input_{i}.png")))
        .collect();
    let mut npz = NpzArchive::open(dir.join("inception_features.npz")).unwrap();
    for dims in [64, 192, 768, 2048] {
        let options = ExtractOptions {
            dims,
            batch_size: 2,
            workers: 2,
        };
        let ex = extract_features(&model, &paths, &options, &device, |_, _| {}).unwrap();
        assert!(ex.skipped.is_empty());
        assert_eq!(ex.paths, paths, "rows must stay in file order");
        let (shape, want) = array(&mut npz, &format!("f{dims}"));
        assert_eq!(shape, vec![3, dims as u64]);
        for i in 0..3 {
            let got = &ex.features.values[i * dims..(i + 1) * dims];
            let w = &want[i * dims..(i + 1) * dims];
            let err = rel_err(got, w);
            assert!(err < 1e-4, "dims {dims}, image {i}: max rel error {err:e}");
        }
    }
}

#[test]
fn missing_weights_error_names_file_and_download_location() {
    let missing = std::env::temp_dir()
        .join("no-such-dir-toongan")
        .join(FID_WEIGHTS_FILE);
    let err = load_fid_inception::<Cpu>(&missing, &FidInceptionConfig::new(), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains(FID_WEIGHTS_FILE), "{err}");
    assert!(err.contains(FID_WEIGHTS_URL), "{err}");
}

#[test]
fn fid_matches_pytorch_fid_and_statistics_match_numpy() {
    let mut npz = NpzArchive::open(fixtures().join("fid_kid.npz")).unwrap();
    for case in ["d64", "d192", "small"] {
        let a = Statistics::from_features(&features(&mut npz, &format!("{case}_a"))).unwrap();
        let b = Statistics::from_features(&features(&mut npz, &format!("{case}_b"))).unwrap();
        for (side, stats) in [("a", &a), ("b", &b)] {
            let (_, mu) = array(&mut npz, &format!("{case}_mu_{side}"));
            let (_, sigma) = array(&mut npz, &format!("{case}_sigma_{side}"));
            let d = mu.len();
            assert!((&stats.mu - DVector::from_vec(mu)).amax() < 1e-12);
            let want = DMatrix::from_row_slice(d, d, &sigma);
            assert!((&stats.sigma - &want).amax() < 1e-10 * want.amax());
        }
        let (_, fid) = array(&mut npz, &format!("{case}_fid"));
        let got = frechet_distance(&a, &b).unwrap();
        assert!(
            (got - fid[0]).abs() < 1e-3,
            "{case}: FID {got} vs pytorch-fid {}",
            fid[0]
        );
    }
}

#[test]
fn kid_matches_torch_fidelity_on_fixed_subsets() {
    let mut npz = NpzArchive::open(fixtures().join("fid_kid.npz")).unwrap();
    for case in ["d64", "d192", "small"] {
        let a = features(&mut npz, &format!("{case}_a"));
        let b = features(&mut npz, &format!("{case}_b"));
        let idx = |npz: &mut _, name: String| -> Vec<Vec<usize>> {
            let (shape, v) = array(npz, &name);
            v.chunks(shape[1] as usize)
                .map(|r| r.iter().map(|&x| x as usize).collect())
                .collect()
        };
        let ia = idx(&mut npz, format!("{case}_kid_idx_a"));
        let ib = idx(&mut npz, format!("{case}_kid_idx_b"));
        let subsets: Vec<_> = ia.into_iter().zip(ib).collect();
        let k = kid_on_subsets(&a, &b, &subsets).unwrap();
        let (_, mean) = array(&mut npz, &format!("{case}_kid_mean"));
        let (_, std) = array(&mut npz, &format!("{case}_kid_std"));
        assert!(
            (k.mean - mean[0]).abs() < 1e-6,
            "{case}: {} vs {}",
            k.mean,
            mean[0]
        );
        assert!(
            (k.std - std[0]).abs() < 1e-6,
            "{case}: {} vs {}",
            k.std,
            std[0]
        );
    }
}

#[test]
fn stats_npz_round_trips_and_follows_pytorch_fid_layout() {
    let mut npz = NpzArchive::open(fixtures().join("fid_kid.npz")).unwrap();
    let stats = Statistics::from_features(&features(&mut npz, "d64_a")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("stats.npz");
    write_stats(&path, &stats).unwrap();

    // pytorch-fid reads np.load(path)['mu'], ['sigma']: float64, (d,) and (d, d), C order.
    let mut written = NpzArchive::open(&path).unwrap();
    let mut names: Vec<String> = written.array_names().map(String::from).collect();
    names.sort();
    assert_eq!(names, ["mu", "sigma"]);
    for (name, shape) in [("mu", vec![64u64]), ("sigma", vec![64, 64])] {
        let f = written.by_name(name).unwrap().unwrap();
        assert_eq!(type_str(&f.dtype()), "<f8");
        assert_eq!(f.shape(), &shape[..]);
        assert_eq!(f.order(), npyz::Order::C);
    }
    let back = read_stats(&path).unwrap();
    assert_eq!(back.mu, stats.mu);
    assert_eq!(back.sigma, stats.sigma);

    // A file written by numpy as pytorch-fid's save_fid_stats does reads back exactly.
    let theirs = read_stats(&fixtures().join("pytorch_fid_stats_d64.npz")).unwrap();
    let (_, mu) = array(&mut npz, "d64_mu_a");
    assert_eq!(theirs.mu, DVector::from_vec(mu));

    // Optional: numpy itself, when a Python with numpy is named (see docs/eval.md).
    if let Some(python) = std::env::var_os("TOONGAN_PYTHON") {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/check_npz.py");
        let out = Command::new(python)
            .arg(script)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "check_npz.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Writes `n` real photos, downscaled to at most 80 px, into `dir`.
fn small_photos(dir: &Path, n: usize) {
    let photos = shared_dir().join("images/photos");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&photos)
        .unwrap_or_else(|e| panic!("{}: {e} (set TOONGAN_SHARED_DIR)", photos.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    files.sort();
    std::fs::create_dir_all(dir).unwrap();
    for p in files.iter().take(n) {
        let img = image::open(p).unwrap().thumbnail(80, 80).to_rgb8();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        img.save(dir.join(format!("{name}.png"))).unwrap();
    }
}

fn toongan(args: &[&std::ffi::OsStr]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_toongan"))
        .args(args)
        .env_remove("TOONGAN_FID_WEIGHTS")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "toongan {args:?}: {stderr}");
    (stdout, stderr)
}

fn last_number(stdout: &str, prefix: &str) -> f64 {
    let last = stdout.lines().last().unwrap_or_default();
    let rest = last
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("last line {last:?} lacks {prefix:?}"));
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn fid_and_kid_cli_on_photos_and_their_cartoons() {
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = (tmp.path().join("photos"), tmp.path().join("cartoons"));
    small_photos(&photos, 8);
    let weights_dir = weights_dir();
    toongan(&[
        "cartoonize".as_ref(),
        photos.as_os_str(),
        "--style".as_ref(),
        "hayao".as_ref(),
        "--offline".as_ref(),
        "--weights-dir".as_ref(),
        weights_dir.as_os_str(),
        "-o".as_ref(),
        cartoons.as_os_str(),
    ]);
    // An unreadable file is reported and skipped, not fatal.
    std::fs::write(photos.join("broken.png"), b"not a png").unwrap();
    let weights = fixtures().join("pt_inception_test.pth");
    let w = weights.as_os_str();

    let (out, err) = toongan(&[
        "fid".as_ref(),
        photos.as_os_str(),
        cartoons.as_os_str(),
        "--weights".as_ref(),
        w,
    ]);
    let fid = last_number(&out, "FID: ");
    assert!(fid.is_finite() && fid > 0.0, "{out}");
    assert!(err.contains("1 unreadable images skipped"), "{err}");
    assert!(
        err.contains("fewer than the 2048 feature dimensions"),
        "{err}"
    );

    let (out, _) = toongan(&[
        "kid".as_ref(),
        photos.as_os_str(),
        cartoons.as_os_str(),
        "--weights".as_ref(),
        w,
    ]);
    // Unbiased MMD² may be negative; with 8 images the subset is everything, so std is ~0.
    let kid = last_number(&out, "KID: ");
    assert!(kid.is_finite() && kid != 0.0, "{out}");
    assert!(out.lines().last().unwrap().contains(" ± "), "{out}");

    // --save-stats, then FID from the saved file equals FID from the folder (64 dims: fast).
    let npz = tmp.path().join("photos.npz");
    toongan(&[
        "fid".as_ref(),
        "--save-stats".as_ref(),
        photos.as_os_str(),
        npz.as_os_str(),
        "--weights".as_ref(),
        w,
        "--dims".as_ref(),
        "64".as_ref(),
    ]);
    let from_dirs = last_number(
        &toongan(&[
            "fid".as_ref(),
            photos.as_os_str(),
            cartoons.as_os_str(),
            "--weights".as_ref(),
            w,
            "--dims".as_ref(),
            "64".as_ref(),
        ])
        .0,
        "FID: ",
    );
    let from_npz = last_number(
        &toongan(&[
            "fid".as_ref(),
            npz.as_os_str(),
            cartoons.as_os_str(),
            "--weights".as_ref(),
            w,
            "--dims".as_ref(),
            "64".as_ref(),
        ])
        .0,
        "FID: ",
    );
    assert!(
        (from_dirs - from_npz).abs() < 1e-6,
        "{from_dirs} vs {from_npz}"
    );
    // A folder against itself is at distance ~0 (rounding in the singular 8-image
    // covariances leaves a few 1e-7; the CLI prints 6 decimals).
    let same = last_number(
        &toongan(&[
            "fid".as_ref(),
            npz.as_os_str(),
            photos.as_os_str(),
            "--weights".as_ref(),
            w,
            "--dims".as_ref(),
            "64".as_ref(),
        ])
        .0,
        "FID: ",
    );
    assert!(same.abs() < 1e-5, "{same}");
}
