//! Helpers shared by the integration tests: where the shared data lives, and running the
//! `toongan` binary.

#![allow(dead_code)]

pub mod modules;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shared data folder (`$TOONGAN_SHARED_DIR`, else `../shared` beside the checkout).
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("TOONGAN_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("images/photos").is_dir(),
        "shared data not found at {}: set TOONGAN_SHARED_DIR to the shared/ folder",
        dir.display()
    );
    dir
}

/// The published weights folder (`$TOONGAN_WEIGHTS_DIR`, else `<shared>/weights/cartoongan`).
pub fn weights_dir() -> PathBuf {
    let dir = std::env::var_os("TOONGAN_WEIGHTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_dir().join("weights/cartoongan"));
    assert!(
        dir.join("hayao/conv01_1.weight.npy").is_file(),
        "published weights not found at {}: set TOONGAN_WEIGHTS_DIR",
        dir.display()
    );
    dir
}

/// A photo from the shared set.
pub fn photo(name: &str) -> PathBuf {
    shared_dir().join("images/photos").join(name)
}

/// A committed fixture.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Runs `toongan` with the given arguments, with a private cache folder so no test sees
/// another's downloads.
pub fn toongan(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toongan"))
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("TOONGAN_WEIGHTS_DIR")
        .output()
        .expect("run toongan")
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The shared photos (PNG and JPEG), sorted by name so every test sees the same order.
pub fn shared_photos() -> Vec<PathBuf> {
    let dir = shared_dir().join("images/photos");
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            ["png", "jpg", "jpeg"].contains(&ext.to_ascii_lowercase().as_str())
        })
        .collect();
    photos.sort();
    photos
}

/// Largest |got − want| over the largest |want|: one relative error for a whole tensor.
pub fn rel_err<T: Copy + Into<f64>>(got: &[f32], want: &[T]) -> f64 {
    assert_eq!(got.len(), want.len(), "sizes differ");
    let scale = want
        .iter()
        .fold(0f64, |m, &v| m.max(v.into().abs()))
        .max(1e-30);
    let diff = got
        .iter()
        .zip(want)
        .fold(0f64, |m, (&g, &w)| m.max((f64::from(g) - w.into()).abs()));
    diff / scale
}
