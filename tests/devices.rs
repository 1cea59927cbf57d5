//! `toongan devices` and `--device`: the listing, `auto` saying what it picked, and a device
//! that is not there failing before any work (with or without the `wgpu` feature).

mod common;

use std::path::Path;

/// Whether Mesa's software Vulkan driver (lavapipe) is installed.
fn lavapipe_installed() -> bool {
    std::fs::read_dir("/usr/share/vulkan/icd.d").is_ok_and(|dir| {
        dir.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
    })
}

fn devices() -> String {
    let cache = tempfile::tempdir().unwrap();
    let out = common::toongan(&["devices"], cache.path());
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        !common::stderr(&out).contains("XDG_RUNTIME_DIR"),
        "driver noise reached the user: {}",
        common::stderr(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn devices_lists_the_cpu_the_backends_and_what_auto_picks() {
    let list = devices();
    eprintln!("{list}");
    assert!(list.lines().any(|l| l.starts_with("cpu ")), "{list}");
    assert!(list.contains("--device auto uses "), "{list}");
    if cfg!(not(feature = "cuda")) {
        assert!(list.contains("(cuda)       none: not built (--features cuda)"));
    }
    if cfg!(not(feature = "wgpu")) {
        assert!(list.contains("(wgpu)       none: not built (--features wgpu)"));
    } else if lavapipe_installed() {
        let line = list
            .lines()
            .find(|l| l.starts_with("wgpu:cpu "))
            .unwrap_or_else(|| panic!("lavapipe is installed but not listed:\n{list}"));
        assert!(
            line.contains("Vulkan") && line.contains("software"),
            "{line}"
        );
        assert!(line.contains("llvmpipe"), "{line}");
    }
}

/// Runs `toongan cartoonize` on a small fixture photo with `--device device`.
fn cartoonize(device: &str, out: &Path) -> std::process::Output {
    let cache = tempfile::tempdir().unwrap();
    let weights = common::weights_dir();
    let photo = common::fixture("cartoongan/stairs_128.png");
    let args = [
        "cartoonize",
        photo.to_str().unwrap(),
        "--style",
        "hayao",
        "--offline",
        "--weights-dir",
        weights.to_str().unwrap(),
        "--device",
        device,
        "--output",
        out.to_str().unwrap(),
    ];
    common::toongan(&args, cache.path())
}

#[test]
fn auto_says_which_device_it_picked() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.png");
    let out = cartoonize("auto", &out_file);
    let err = common::stderr(&out);
    assert!(out.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("--device auto: using "))
        .unwrap_or_else(|| panic!("auto did not say what it picked: {err}"));
    // The pick is the one `toongan devices` reports.
    let list = devices();
    let pick = list
        .lines()
        .find_map(|l| l.strip_prefix("--device auto uses "))
        .unwrap();
    assert_eq!(line.trim_start_matches("--device auto: using "), pick);
    assert!(out_file.is_file());
}

#[test]
fn a_missing_gpu_is_an_error_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.png");
    let out = cartoonize("wgpu:7", &out_file);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    if cfg!(feature = "wgpu") {
        assert!(err.contains("wgpu:7 is not usable"), "{err}");
    } else {
        assert!(err.contains("--features wgpu"), "{err}");
    }
    assert!(!out_file.exists());

    // Only a software adapter, and a GPU asked for: an error that names it and `wgpu:cpu`.
    if cfg!(feature = "wgpu") && !devices().lines().any(|l| l.starts_with("wgpu:0 ")) {
        let out = cartoonize("wgpu", &out_file);
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("wgpu:0 is not usable"), "{err}");
        if lavapipe_installed() {
            assert!(err.contains("--device wgpu:cpu"), "{err}");
        }
        assert!(!out_file.exists());
    }
}
