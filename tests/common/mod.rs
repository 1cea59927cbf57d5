//! Helpers shared by the integration tests: where the shared data lives, and running the
//! `toongan` binary.

#![allow(dead_code)]

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
