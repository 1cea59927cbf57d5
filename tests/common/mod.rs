//! Helpers shared by the integration tests: where the shared data lives, and running the
//! `toongan` binary.

#![allow(dead_code)]

pub mod modules;
pub mod strace;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Fails the calling test with one message that names what is missing and how to provide
/// it; printed in full once per test binary (the other tests point at it).
fn missing(what: &str, how: &str) -> ! {
    static TOLD: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    TOLD.call_once(|| first = true);
    if first {
        panic!(
            "\n\n=== test data missing ===\n{what}\n{how}\n\
             (Every test that needs it fails the same way; this is the only fault.)\n"
        );
    }
    panic!("test data missing: {what} (see the first failure for how to provide it)");
}

/// The shared data folder (`$TOONGAN_SHARED_DIR`, else `../shared` beside the checkout).
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("TOONGAN_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if !dir.join("images/photos").is_dir() {
        missing(
            &format!(
                "the shared test photos are not at {}",
                dir.join("images/photos").display()
            ),
            "Put the project's shared/ folder beside the checkout (../shared), or set \
             TOONGAN_SHARED_DIR to it.",
        );
    }
    dir
}

/// The published weights folder: `$TOONGAN_WEIGHTS_DIR`, else `<shared>/weights/cartoongan`,
/// else toongan's cache, where the four styles are downloaded (and verified) when missing
/// unless `$TOONGAN_OFFLINE` is set.
pub fn weights_dir() -> PathBuf {
    let explicit = std::env::var_os("TOONGAN_WEIGHTS_DIR")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let shared = std::env::var_os("TOONGAN_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("weights/cartoongan");
    let complete = |d: &Path| d.join("hayao/conv01_1.weight.npy").is_file();
    if let Some(dir) = explicit {
        if !complete(&dir) {
            missing(
                &format!(
                    "TOONGAN_WEIGHTS_DIR={} holds no published styles",
                    dir.display()
                ),
                "Point it at a folder holding hayao/, hosoda/, paprika/ and shinkai/, or unset it \
                 so the tests use ../shared or toongan's cache.",
            );
        }
        return dir;
    }
    if complete(&shared) {
        return shared;
    }
    static CACHE: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let cached = CACHE.get_or_init(|| {
        let registry = toongan::weights::StyleRegistry {
            weights_dir: None,
            ..Default::default()
        };
        let mut dir = None;
        for style in toongan::weights::Style::ALL {
            let d = registry.locate(style).map_err(|e| e.to_string())?;
            dir = d.parent().map(Path::to_path_buf);
        }
        dir.ok_or_else(|| "no cache folder".to_string())
    });
    match cached {
        Ok(dir) => dir.clone(),
        Err(e) => missing(
            &format!(
                "the published CartoonGAN weights are not at {} and could not be fetched: {e}",
                shared.display()
            ),
            "Run `toongan weights fetch --all` online (or these tests online without \
             TOONGAN_OFFLINE), or set TOONGAN_WEIGHTS_DIR to a folder of <style>/ folders.",
        ),
    }
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

/// The Debian tool `name` (in /usr/bin or /bin) that a test drives. `.ci/run` installs the
/// package, so in CI (`CI=true`) a missing tool fails the test; elsewhere the test is skipped
/// with a message saying what to install.
pub fn debian_tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = ["/usr/bin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is required in CI (.ci/run installs the Debian package {package})"
        );
        eprintln!("SKIPPED: {name} not installed (apt-get install {package})");
    }
    found
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
