//! `toongan cartoonize` against mistakes, faults and hostile input (issue 13, items 1-4 and 6):
//! lying headers under a memory cap, colliding outputs, earlier outputs, symlink loops, file
//! modes, and a seeded corpus of 200+ damaged images run through one batch.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{photo, stderr, toongan};
use image::{GenericImageView, ImageFormat, Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use toongan::backend::Cpu;
use toongan::model::{ChannelOrder, GeneratorConfig};
use toongan::weights::save_generator;

/// Memory cap of the hostile-input runs (`prlimit --as`): the 3 GiB.
const MEMORY_CAP: &str = "--as=3221225472";

fn tiny_model(dir: &Path) -> PathBuf {
    let config = GeneratorConfig::tiny().with_channel_order(ChannelOrder::Rgb);
    let g = config.init::<Cpu>(&Default::default());
    let path = dir.join("tiny.safetensors");
    save_generator(&g, &config, &path).expect("save tiny model");
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
    })
}

/// `prlimit` when present; in CI it must be.
fn prlimit() -> Option<PathBuf> {
    common::debian_tool("prlimit", "util-linux")
}

/// Runs `toongan args` under the memory cap, killed after `limit`.
fn capped(args: &[&str], cache: &Path, limit: Duration) -> Option<Output> {
    let prlimit = prlimit()?;
    let mut cmd = Command::new(prlimit);
    cmd.arg(MEMORY_CAP)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_toongan"))
        .args(args);
    Some(run_with_timeout(cmd, cache, limit))
}

/// Runs a command with a private cache, killing it if it outlives `limit` (so a hang fails
/// the test instead of stalling CI).
fn run_with_timeout(mut cmd: Command, cache: &Path, limit: Duration) -> Output {
    let child = cmd
        .env("XDG_CACHE_HOME", cache)
        .env_remove("TOONGAN_WEIGHTS_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn toongan");
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for toongan"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("toongan did not finish within {limit:?}");
        }
    }
}

/// A PNG chunk with its CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// A valid, all-black RGB PNG of `w` x `h`, compressed row by row (a 16384² one is ~1 MB).
fn black_png(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let row = vec![0u8; 1 + 3 * w as usize];
    for _ in 0..h {
        z.write_all(&row).unwrap();
    }
    let idat = z.finish().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &idat));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// Rewrites the width and height in a PNG's IHDR (with a correct CRC, so only the size lies).
fn set_png_size(png: &mut [u8], w: u32, h: u32) {
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
}

/// Rewrites the size in a baseline JPEG's SOF0 segment, if it has one.
fn set_jpeg_size(jpeg: &mut [u8], w: u16, h: u16) -> bool {
    let Some(at) = jpeg.windows(2).position(|m| m == [0xFF, 0xC0]) else {
        return false;
    };
    if at + 9 > jpeg.len() {
        return false;
    }
    jpeg[at + 5..at + 7].copy_from_slice(&h.to_be_bytes());
    jpeg[at + 7..at + 9].copy_from_slice(&w.to_be_bytes());
    true
}

/// Item 1: a small PNG whose (true) header says 16384x16384 fails by name before any pixel
/// memory is allocated, under a 3 GiB cap; the image after it is still cartoonized and the
/// summary printed; so does a small JPEG whose header says 12000x12000. Past 32768 px a side the error gives the real size, not "0x0".
#[test]
fn huge_headers_fail_by_name_and_the_batch_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let dir = tmp.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a-huge.png"), black_png(16384, 16384)).unwrap();
    let mut wide = black_png(4, 4);
    set_png_size(&mut wide, 40000, 8);
    std::fs::write(dir.join("b-wide.png"), wide).unwrap();
    gradient(40, 24).save(dir.join("c-good.png")).unwrap();
    // The other case: a small JPEG (its scan is a 64x48 one's) whose frame header
    // says 12000x12000.
    let mut jpeg = Vec::new();
    gradient(64, 48)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    assert!(set_jpeg_size(&mut jpeg, 12000, 12000));
    std::fs::write(dir.join("d-huge.jpg"), jpeg).unwrap();
    let out = tmp.path().join("out");
    let args = ["cartoonize", s(&dir), "--model", s(&model), "-o", s(&out)];
    let Some(run) = capped(&args, tmp.path(), Duration::from_secs(120)) else {
        return;
    };
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "exit 1, no crash: {err}");
    assert!(
        err.contains("a-huge.png is 16384x16384") && err.contains("--max-pixels"),
        "{err}"
    );
    assert!(err.contains("b-wide.png is 40000x8"), "{err}");
    assert!(err.contains("d-huge.jpg is 12000x12000"), "{err}");
    assert!(!err.contains("0x0"), "{err}");
    assert!(
        err.contains("1 images written") && err.contains("3 failed"),
        "{err}"
    );
    assert_eq!(
        image::open(out.join("c-good.png")).unwrap().dimensions(),
        (40, 24)
    );
    // A higher --max-pixels admits it (and the header check is what refused it).
    let run = toongan(
        &[
            "cartoonize",
            s(&dir.join("a-huge.png")),
            "--model",
            s(&model),
            "-o",
            s(&out.join("x.png")),
            "--max-pixels",
            "1000",
        ],
        tmp.path(),
    );
    assert!(
        stderr(&run).contains("0.0 MP --max-pixels allows"),
        "{}",
        stderr(&run)
    );
}

/// Item 2: two inputs that map to one output are refused before any work, naming both.
#[test]
fn two_inputs_with_one_output_are_refused_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    for d in ["dA", "dB"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        gradient(16, 16)
            .save(tmp.path().join(d).join("x.png"))
            .unwrap();
    }
    let (a, b) = (tmp.path().join("dA/x.png"), tmp.path().join("dB/x.png"));
    let out = tmp.path().join("out");
    let run = toongan(
        &[
            "cartoonize",
            s(&a),
            s(&b),
            "--model",
            s(&model),
            "-o",
            s(&out),
        ],
        tmp.path(),
    );
    let err = stderr(&run);
    assert!(!run.status.success(), "{err}");
    assert!(err.contains(s(&a)) && err.contains(s(&b)), "{err}");
    assert!(!out.join("x.png").exists(), "nothing is written");

    // a.png and a.gif both become a_cartoon.png in place.
    let png = tmp.path().join("a.png");
    let gif = tmp.path().join("a.gif");
    gradient(16, 16).save(&png).unwrap();
    gradient(16, 16)
        .save_with_format(&gif, ImageFormat::Gif)
        .unwrap();
    let run = toongan(
        &["cartoonize", s(&png), s(&gif), "--model", s(&model)],
        tmp.path(),
    );
    let err = stderr(&run);
    assert!(!run.status.success(), "{err}");
    assert!(err.contains("a.png") && err.contains("a.gif"), "{err}");
    assert!(!tmp.path().join("a_cartoon.png").exists());
}

/// Item 3: cartoonizing a folder in place twice does not take the first run's outputs as
/// inputs, with or without --skip-existing.
#[test]
fn a_folder_cartoonized_in_place_twice_keeps_its_outputs_out_of_the_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let dir = tmp.path().join("photos");
    std::fs::create_dir_all(&dir).unwrap();
    gradient(16, 16).save(dir.join("p.png")).unwrap();
    gradient(20, 12).save(dir.join("q.jpg")).unwrap();
    for extra in [&[][..], &["--skip-existing"][..]] {
        let mut args = vec!["cartoonize", s(&dir), "--model", s(&model)];
        args.extend_from_slice(extra);
        let first = toongan(&args, tmp.path());
        assert!(first.status.success(), "{}", stderr(&first));
        let second = toongan(&args, tmp.path());
        assert!(second.status.success(), "{}", stderr(&second));
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["p.png", "p_cartoon.png", "q.jpg", "q_cartoon.jpg"]);
}

/// Item 4: symlink loops in an input folder are not followed: each image once, and the walk
/// ends (two loops used to grow memory forever).
#[cfg(unix)]
#[test]
fn symlink_loops_are_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let dir = tmp.path().join("in");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    gradient(16, 16).save(dir.join("a.png")).unwrap();
    gradient(16, 16).save(dir.join("sub/b.png")).unwrap();
    std::os::unix::fs::symlink(".", dir.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("sub/loop2")).unwrap();
    let out = tmp.path().join("out");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toongan"));
    cmd.args(["cartoonize", s(&dir), "--model", s(&model), "-o", s(&out)]);
    let run = run_with_timeout(cmd, tmp.path(), Duration::from_secs(60));
    let err = stderr(&run);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("2 images written"), "{err}");
    assert!(out.join("a.png").is_file() && out.join("sub/b.png").is_file());
    assert!(!out.join("loop").exists() && !out.join("sub/loop2").exists());
}

/// The process's umask, from /proc.
#[cfg(target_os = "linux")]
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).unwrap()
}

/// Item 6: outputs get the mode the umask gives new files (not the temporary file's 0600).
#[cfg(target_os = "linux")]
#[test]
fn outputs_have_the_umask_mode() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let input = tmp.path().join("p.png");
    gradient(16, 16).save(&input).unwrap();
    let out = tmp.path().join("p_out.png");
    let run = toongan(
        &["cartoonize", s(&input), "--model", s(&model), "-o", s(&out)],
        tmp.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666 & !umask(), "mode {mode:o}");
}

/// Item 6: an output's data is fsynced before it is renamed into place, and its folder after
/// the rename, so neither a crash nor a power loss leaves an empty or missing output.
#[cfg(target_os = "linux")]
#[test]
fn outputs_are_fsynced_before_the_rename_and_their_folder_after() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let model = tiny_model(&root);
    let input = root.join("p.png");
    gradient(16, 16).save(&input).unwrap();
    let out_dir = root.join("out");
    let out = out_dir.join("p_out.png");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toongan"));
    cmd.args(["cartoonize", s(&input), "--model", s(&model), "-o", s(&out)])
        .env("XDG_CACHE_HOME", &root)
        .env_remove("TOONGAN_WEIGHTS_DIR");
    let Some((run, trace)) = common::strace::traced(&cmd, &root.join("strace.log")) else {
        return;
    };
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(out.is_file());
    let (at, from) = trace
        .rename_onto(&out)
        .unwrap_or_else(|| panic!("no rename onto {}:\n{}", out.display(), trace.describe()));
    assert_eq!(
        from.parent(),
        Some(out_dir.as_path()),
        "temporary file beside the output"
    );
    assert!(
        trace.fsynced(&from, 0..at),
        "{} not fsynced before its rename:\n{}",
        from.display(),
        trace.describe()
    );
    assert!(
        trace.fsynced(&out_dir, at + 1..trace.end()),
        "{} not fsynced after the rename:\n{}",
        out_dir.display(),
        trace.describe()
    );
}

/// One corpus file: its name, and whether it must fail (None: may decode or fail).
struct Case {
    name: String,
    must_fail: bool,
    good: bool,
}

/// The fault suite: a seeded corpus of 200+ damaged images (truncations at random offsets,
/// bit flips, header sizes edited up to 65535, zero-byte files, wrong extensions) made from
/// 64-256 px re-encodings of the shared photos, run through ONE batch under a 3 GiB cap: no
/// crash, exit 1, every file either written or named in exactly one failure line, every
/// undamaged file written, every certainly-broken file named. `--max-pixels 1000000`: every
/// real image here is at most 256x256, so anything bigger is a lying header.
#[test]
fn a_seeded_corpus_of_damaged_images_runs_through_one_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let dir = tmp.path().join("corpus");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let photos = [
        "cat.png",
        "castle.jpg",
        "candles.jpg",
        "bee-flower.jpg",
        "bridge-night.jpg",
        "citrus-small.jpg",
        "astronaut.png",
        "blossom-tall.jpg",
    ];
    // Clean sources: each photo at a random size in 64..=256, as PNG and as JPEG.
    let mut sources: Vec<(Vec<u8>, &str)> = Vec::new();
    for p in photos {
        let img = image::open(photo(p)).unwrap();
        let side = rng.random_range(64..=256u32);
        let small = img.resize(side, side, image::imageops::FilterType::Triangle);
        for (fmt, ext) in [(ImageFormat::Png, "png"), (ImageFormat::Jpeg, "jpg")] {
            let mut bytes = std::io::Cursor::new(Vec::new());
            small.to_rgb8().write_to(&mut bytes, fmt).unwrap();
            sources.push((bytes.into_inner(), ext));
        }
    }
    let mut cases: Vec<Case> = Vec::new();
    let add = |cases: &mut Vec<Case>, bytes: &[u8], ext: &str, must_fail: bool, good: bool| {
        let name = format!("c{:03}.{ext}", cases.len());
        std::fs::write(dir.join(&name), bytes).unwrap();
        cases.push(Case {
            name,
            must_fail,
            good,
        });
    };
    for (bytes, ext) in &sources {
        add(&mut cases, bytes, ext, false, true);
        // Wrong extension: the content decides the format.
        let wrong = if *ext == "png" { "jpg" } else { "png" };
        add(&mut cases, bytes, wrong, false, true);
    }
    for i in 0..220 {
        let (src, ext) = &sources[i % sources.len()];
        let mut b = src.clone();
        let ext = if i % 11 == 0 {
            if *ext == "png" { "webp" } else { "bmp" }
        } else {
            ext
        };
        match i % 5 {
            0 => {
                // Truncated at a random offset; a PNG cut before its end cannot decode.
                let at = rng.random_range(0..b.len() - 12);
                b.truncate(at);
                // Cut inside the compressed pixels (not just the trailer), a PNG cannot decode.
                let cut_pixels = src.starts_with(b"\x89PNG") && at + 40 < src.len();
                add(&mut cases, &b, ext, cut_pixels, false);
            }
            1 => {
                for _ in 0..rng.random_range(1..=8) {
                    let at = rng.random_range(0..b.len());
                    b[at] ^= 1 << rng.random_range(0..8);
                }
                add(&mut cases, &b, ext, false, false);
            }
            2 | 3 => {
                let (w, h) = (
                    rng.random_range(1..=65535u32),
                    rng.random_range(1..=65535u32),
                );
                let lied = if src.starts_with(b"\x89PNG") {
                    set_png_size(&mut b, w, h);
                    true
                } else {
                    set_jpeg_size(&mut b, w as u16, h as u16)
                };
                // Above the limit it must fail, whatever the decoder would do.
                let over = u64::from(w) * u64::from(h) > 1_000_000;
                add(&mut cases, &b, ext, lied && over, false);
            }
            _ => add(&mut cases, &[], ext, true, false),
        }
    }
    assert!(cases.iter().filter(|c| !c.good).count() >= 200);

    let out = tmp.path().join("out");
    let args = [
        "cartoonize",
        s(&dir),
        "--model",
        s(&model),
        "-o",
        s(&out),
        "--max-pixels",
        "1000000",
    ];
    let started = Instant::now();
    let Some(run) = capped(&args, tmp.path(), Duration::from_secs(150)) else {
        return;
    };
    let err = stderr(&run);
    eprintln!(
        "fault corpus: {} files in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        run.status.code(),
        Some(1),
        "exit 1 (some failed), no crash: {err}"
    );
    let failure_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("failed: ")).collect();
    let mut named: HashMap<&str, usize> = HashMap::new();
    for case in &cases {
        let path = dir.join(&case.name);
        let mentions = err.matches(s(&path)).count();
        let lines = failure_lines
            .iter()
            .filter(|l| l.contains(s(&path)))
            .count();
        let written = std::fs::read_dir(&out)
            .map(|d| {
                d.flatten().any(|e| {
                    Path::new(&e.file_name()).file_stem() == Path::new(&case.name).file_stem()
                })
            })
            .unwrap_or(false);
        assert!(
            written != (lines == 1),
            "{}: written {written}, failure lines {lines}\n{err}",
            case.name
        );
        assert!(mentions <= 1, "{} named {mentions} times\n{err}", case.name);
        if case.good {
            assert!(written, "undamaged {} not written\n{err}", case.name);
        }
        if case.must_fail {
            assert!(
                !written && mentions == 1,
                "{} should fail by name\n{err}",
                case.name
            );
        }
        named.insert(&case.name, lines);
    }
    let failed = named.values().filter(|&&n| n == 1).count();
    assert_eq!(failure_lines.len(), failed, "{err}");
    assert!(
        err.contains(&format!("{failed} failed")),
        "the summary is printed: {err}"
    );
}
