//! Training: VGG19 loader parity with torchvision, one CartoonGAN step against PyTorch, a
//! learning check, and a tiny end-to-end run (train, resume, cartoonize) on real photos.
//!
//! Shared data via `TOONGAN_SHARED_DIR` (default `<manifest>/../shared`), published weights via
//! `TOONGAN_WEIGHTS_DIR` (default `<shared>/weights/cartoongan`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData};
use toongan::backend::{Cpu, CpuAutodiff};
use toongan::model::Vgg19Config;
use toongan::train::{
    CartoonGan, Phase, RunOutcome, TrainConfig, TrainError, Trainer, run_smoothing,
};
use toongan::weights::read_npy;

mod common;
use common::modules::{load_prefixed, tensors};
use common::{rel_err, weights_dir};

/// The tests take turns. The resumed-vs-uninterrupted check compares an in-process run with a
/// `toongan train` child bit for bit, and with the tests running at once it failed in a cold CI
/// run on 2026-12-02, after `train::gan_model::seeded_init` had been made to draw every initial
/// weight under its lock. Which concurrent test disturbs it is not established: a draw from
/// burn's global random generator outside that lock, or float sums that depend on how busy the
/// shared thread pool is, would both do it. One at a time it has not failed.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/train")
}

/// ‖a − b‖₂ / ‖b‖₂.
fn l2_rel_err(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    let n: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
    (d / n.max(1e-300)).sqrt()
}

fn vgg_parity(batch_norm: bool, file: &str, expected: &str) {
    let device = Default::default();
    let tmp = tempfile::tempdir().unwrap();
    let pth = tmp.path().join(file.trim_end_matches(".gz"));
    let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(fixtures().join(file)).unwrap());
    std::io::copy(&mut gz, &mut std::fs::File::create(&pth).unwrap()).unwrap();
    let net = Vgg19Config::new()
        .with_batch_norm(batch_norm)
        .load::<Cpu>(&pth, &device)
        .expect("load fixture");
    let input = read_npy(&fixtures().join("vgg_input.npy")).unwrap();
    let want = read_npy(&fixtures().join(expected)).unwrap();
    let x = Tensor::<Cpu, 4>::from_data(
        TensorData::new(
            input.data,
            [
                input.shape[0],
                input.shape[1],
                input.shape[2],
                input.shape[3],
            ],
        ),
        &device,
    );
    let y = net.forward(x);
    assert_eq!(y.dims().to_vec(), want.shape);
    let got = y.into_data().to_vec::<f32>().unwrap();
    let err = rel_err(&got, &want.data);
    assert!(err <= 1e-4, "{file}: rel. error {err:e}");
}

#[test]
fn vgg19_loader_matches_torchvision() {
    let _turn = take_turn();
    vgg_parity(false, "vgg19_fixture.pth.gz", "vgg19_conv4_4.npy");
}

#[test]
fn vgg19_bn_loader_matches_torchvision() {
    let _turn = take_turn();
    vgg_parity(true, "vgg19_bn_fixture.pth.gz", "vgg19_bn_conv4_4.npy");
}

#[test]
fn missing_vgg_file_names_file_and_url() {
    let _turn = take_turn();
    let err = Vgg19Config::new()
        .load::<Cpu>(
            Path::new("/nonexistent/vgg19-dcbb9e9d.pth"),
            &Default::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("vgg19-dcbb9e9d.pth"), "{err}");
    assert!(
        err.contains("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"),
        "{err}"
    );
}

/// Whether `key` is the bias of a conv whose output goes straight into batch norm.
fn feeds_batch_norm(key: &str, expected: &safetensors::SafeTensors, prefix: &str) -> bool {
    let Some(base) = key.strip_suffix(".conv.bias") else {
        return false;
    };
    let has = |k: String| expected.tensor(&format!("{prefix}.{k}")).is_ok();
    has(format!("{}.weight", base.replace("conv", "norm"))) || has(format!("{base}.norm.weight"))
}

/// Compares a module's tensors with `prefix.*` of `expected`: each weight within max-abs
/// relative error `tol`; returns the largest relative error of the step's update
/// (after − before).
fn compare_weights(
    got: &HashMap<String, Vec<f32>>,
    before: &HashMap<String, Vec<f32>>,
    expected: &safetensors::SafeTensors,
    prefix: &str,
    tol: f64,
) -> f64 {
    let mut worst_update = 0f64;
    let mut n = 0;
    for (name, view) in expected.tensors() {
        let Some(key) = name.strip_prefix(&format!("{prefix}.")) else {
            continue;
        };
        if key.ends_with("running_mean") || key.ends_with("running_var") {
            continue; // burn keeps the biased running variance; not part of the step's math
        }
        if feeds_batch_norm(key, expected, prefix) {
            // A conv bias right before batch norm has zero true gradient (the norm subtracts
            // it again): both sides' gradients are rounding noise, and Adam turns noise into
            // ±lr steps of arbitrary sign. Nothing to compare.
            continue;
        }
        let want: Vec<f32> = bytemuck::cast_slice::<u8, f32>(view.data()).to_vec();
        let have = got.get(key).unwrap_or_else(|| panic!("no tensor {key}"));
        let err = rel_err(have, &want);
        let l2 = l2_rel_err(have, &want);
        eprintln!("{prefix}.{key}: max-abs rel {err:e}, L2 rel {l2:e}");
        assert!(err <= tol, "{prefix}.{key}: rel. error {err:e} > {tol:e}");
        let start = &before[key];
        let du: Vec<f32> = have.iter().zip(start).map(|(a, b)| a - b).collect();
        let dw: Vec<f32> = want.iter().zip(start).map(|(a, b)| a - b).collect();
        worst_update = worst_update.max(rel_err(&du, &dw));
        n += 1;
    }
    assert!(n > 10, "{prefix}: only {n} tensors compared");
    worst_update
}

#[test]
fn one_training_step_matches_pytorch() {
    let _turn = take_turn();
    let device = Default::default();
    let mut config = TrainConfig::new();
    config.apply_preset("tiny").unwrap();
    let mut model =
        CartoonGan::<CpuAutodiff>::new(&config.cartoongan, &config.train, &device).unwrap();
    let init = fixtures().join("step_init.safetensors");
    load_prefixed(&mut model.g, &init, "g").unwrap();
    load_prefixed(&mut model.d, &init, "d").unwrap();
    load_prefixed(&mut model.content.network, &init, "vgg").unwrap();
    let bytes = std::fs::read(&init).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let batch = |name: &str| {
        let v = st.tensor(name).unwrap();
        let data: Vec<f32> = bytemuck::cast_slice::<u8, f32>(v.data()).to_vec();
        Tensor::<CpuAutodiff, 4>::from_data(TensorData::new(data, [2, 3, 64, 64]), &device)
    };
    let (p, c, s) = (
        batch("batch.photos"),
        batch("batch.cartoons"),
        batch("batch.smoothed"),
    );
    let losses: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("step_losses.json")).unwrap())
            .unwrap();
    let expected_bytes = std::fs::read(fixtures().join("step_expected.safetensors")).unwrap();
    let expected = safetensors::SafeTensors::deserialize(&expected_bytes).unwrap();
    let check_losses = |got: &[(String, f64)], phase: &str| {
        for (name, value) in got {
            let want = losses[phase][name].as_f64().unwrap();
            let err = (value - want).abs() / want.abs();
            assert!(
                err <= 1e-4,
                "{phase} {name}: {value} vs {want} (rel. {err:e})"
            );
        }
    };

    let (g0, d0) = (tensors(&model.g), tensors(&model.d));
    let got = model.step_tensors(p.clone(), c.clone(), s.clone(), Phase::Init);
    check_losses(&got, "init");
    let g1 = tensors(&model.g);
    let u1 = compare_weights(&g1, &g0, &expected, "g1", 1e-4);

    let got = model.step_tensors(p, c, s, Phase::Adversarial);
    assert_eq!(got.len(), 4);
    check_losses(&got, "adversarial");
    // Every tensor of both steps within 1e-4. Measured on FastCpu (toongan's convolution
    // kernels): worst weight 4.0e-7 (G adversarial), 1.2e-7 (D). On Flex's default
    // convolution gradients up.0.norm.bias was off by 3.9e-4, which needed a 5e-4 tolerance.
    let u2 = compare_weights(&tensors(&model.g), &g1, &expected, "g2", 1e-4);
    let u3 = compare_weights(&tensors(&model.d), &d0, &expected, "d2", 1e-4);
    eprintln!(
        "largest rel. error of the weight updates: G init {u1:e}, G adv {u2:e}, D adv {u3:e}"
    );
}

/// Photos (the first 4 shared photos, downscaled) and cartoons (4 other photos cartoonized
/// with the published Hayao style), both at 96 px short side, in `root`.
fn make_data(root: &Path) -> (PathBuf, PathBuf) {
    use toongan::cartoonize::{BurnTranslator, TileOptions, cartoonize_image};
    use toongan::model::GeneratorConfig;
    use toongan::weights::{Style, StyleRegistry, load_published_generator};

    let photos_dir = root.join("photos");
    let cartoons_dir = root.join("cartoons");
    std::fs::create_dir_all(photos_dir.join("nested")).unwrap();
    std::fs::create_dir_all(&cartoons_dir).unwrap();
    let sources = common::shared_photos();
    assert!(sources.len() >= 8, "need 8 shared photos");
    let registry = StyleRegistry {
        weights_dir: Some(weights_dir()),
        allow_download: false,
        ..StyleRegistry::default()
    };
    let device = Default::default();
    let g =
        load_published_generator::<Cpu>(&registry.locate(Style::Hayao).unwrap(), &device).unwrap();
    let translator = BurnTranslator::new(g, &GeneratorConfig::published(), device);
    for (i, src) in sources.iter().take(8).enumerate() {
        let img = toongan::train::load_resized(src, 96).unwrap();
        if i < 4 {
            let sub = if i == 0 { "nested" } else { "" };
            img.save(photos_dir.join(sub).join(format!("p{i}.png")))
                .unwrap();
        } else {
            let (w, h) = (img.width() as usize, img.height() as usize);
            let rgb: Vec<f32> = img.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
            let out = cartoonize_image(
                &translator,
                &rgb,
                w,
                h,
                TileOptions {
                    tile: 1024,
                    overlap: 64,
                },
            );
            toongan::imageio::encode_image(
                &cartoons_dir.join(format!("c{i}.png")),
                w as u32,
                h as u32,
                &out,
                None,
            )
            .unwrap();
        }
    }
    // An unreadable file and a too-small image: skipped with a warning, not fatal.
    std::fs::write(photos_dir.join("broken.png"), b"not a png").unwrap();
    image::RgbImage::new(20, 20)
        .save(cartoons_dir.join("small.png"))
        .unwrap();
    (photos_dir, cartoons_dir)
}

fn tiny_config(photos: &Path, cartoons: &Path, epochs: usize) -> TrainConfig {
    let mut config = TrainConfig::new();
    config.apply_preset("tiny").unwrap();
    config.data.photos = photos.to_path_buf();
    config.data.cartoons = cartoons.to_path_buf();
    config.train.epochs = epochs;
    config.train.init_epochs = Some(1);
    config.output.progress = false;
    config.output.checkpoint_every = 1;
    config
}

fn generator_tensors(run: &Path) -> HashMap<String, Vec<f32>> {
    let file = toongan::weights::resolve_generator_path(run).unwrap();
    let bytes = std::fs::read(file).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(k, v)| (k, bytemuck::cast_slice::<u8, f32>(v.data()).to_vec()))
        .collect()
}

#[test]
fn tiny_run_trains_resumes_and_cartoonizes() {
    let _turn = take_turn();
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = make_data(tmp.path());

    // Uninterrupted: 3 epochs (1 init + 2 adversarial), 2 steps each, through the binary.
    let full = tmp.path().join("full");
    let bin = env!("CARGO_BIN_EXE_toongan");
    let status = std::process::Command::new(bin)
        .args(["train", "--model", "cartoongan", "--photos"])
        .arg(&photos)
        .arg("--cartoons")
        .arg(&cartoons)
        .arg("--out")
        .arg(&full)
        .args([
            "--preset",
            "tiny",
            "--epochs",
            "3",
            "--init-epochs",
            "1",
            "--quiet",
        ])
        .args(["--set", "output.checkpoint_every=1"])
        .status()
        .unwrap();
    assert!(status.success());
    let log = toongan::train::MetricsLog::new(&full).read().unwrap();
    assert_eq!(log.len(), 6, "one record per step (log_every 1)");
    assert!(log.iter().all(|r| r.losses.values().all(|v| v.is_finite())));
    assert_eq!(log[0].phase, "init");
    assert!(log[5].losses.contains_key("d_loss") && log[5].losses.contains_key("g_adv"));
    let samples = std::fs::read_dir(full.join("samples")).unwrap().count();
    assert_eq!(samples, 3, "one grid per epoch");
    assert!(full.join("loss_curves.png").is_file());
    assert!(full.join("config.toml").is_file());

    // Interrupted after epoch 2, then resumed to 3 epochs: identical generator weights.
    let parts = tmp.path().join("parts");
    let device = Default::default();
    let config = tiny_config(&photos, &cartoons, 2);
    let smoothing = run_smoothing(&config.data, &parts);
    let first = Trainer::<CpuAutodiff>::new(config, &parts, device, smoothing)
        .run()
        .unwrap();
    assert!(matches!(first, RunOutcome::Finished { steps: 4, .. }));
    let mut config = Trainer::<CpuAutodiff>::saved_config(&parts).unwrap();
    config.train.epochs = 3;
    let smoothing = run_smoothing(&config.data, &parts);
    let second = Trainer::<CpuAutodiff>::new(config, &parts, Default::default(), smoothing)
        .run()
        .unwrap();
    assert!(matches!(second, RunOutcome::Finished { steps: 6, .. }));
    let (a, b) = (generator_tensors(&full), generator_tensors(&parts));
    assert_eq!(a.len(), b.len());
    for (k, v) in &a {
        assert_eq!(
            Some(v),
            b.get(k),
            "{k} differs between resumed and uninterrupted runs"
        );
    }

    // The run folder cartoonizes a photo.
    let out = tmp.path().join("out.png");
    let status = std::process::Command::new(bin)
        .arg("cartoonize")
        .arg("--model")
        .arg(&full)
        .arg(photos.join("p1.png"))
        .arg("--output")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let img = image::open(&out).unwrap();
    assert!(img.width() >= 96 && img.height() >= 96);
}

#[test]
fn init_phase_learns_to_reconstruct_content() {
    let _turn = take_turn();
    // Known answer: in the init phase the generator's target is the photo's own features;
    // the content loss on a fixed batch must fall well below its starting value.
    let device = Default::default();
    let mut config = TrainConfig::new();
    config.apply_preset("tiny").unwrap();
    config.train.lr = 5e-3;
    let mut model =
        CartoonGan::<CpuAutodiff>::new(&config.cartoongan, &config.train, &device).unwrap();
    // He-initialised VGG weights (the parity fixture's): burn's default init lets a random
    // 12-conv VGG's features fade to ~1e-4, too weak a signal to judge learning by. The
    // generator starts from the fixture's weights too: burn's random init draws from one
    // process-wide generator that the tests running beside this one also draw from, so a
    // random start would differ from run to run.
    let init = fixtures().join("step_init.safetensors");
    load_prefixed(&mut model.content.network, &init, "vgg").unwrap();
    load_prefixed(&mut model.g, &init, "g").unwrap();
    let yy: Vec<f32> = (0..2 * 3 * 32 * 32)
        .map(|i| {
            let (x, y, c) = (
                (i % 32) as f32,
                ((i / 32) % 32) as f32,
                ((i / 1024) % 3) as f32,
            );
            (x / (3.0 + c) + y / 5.0).sin() * 0.8
        })
        .collect();
    let photos = Tensor::<CpuAutodiff, 4>::from_data(TensorData::new(yy, [2, 3, 32, 32]), &device);
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..80 {
        let l = model.step_tensors(photos.clone(), photos.clone(), photos.clone(), Phase::Init);
        last = l[0].1;
        first.get_or_insert(last);
    }
    eprintln!("content loss over 80 init steps: {:?} -> {last}", first);
    let first = first.unwrap();
    assert!(last < 0.3 * first, "content loss {first} -> {last}");
}

#[test]
fn nan_loss_stops_with_clear_error() {
    let _turn = take_turn();
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = make_data(tmp.path());
    let mut config = tiny_config(&photos, &cartoons, 2);
    config.train.lr = 1e300;
    let run = tmp.path().join("nan");
    let smoothing = run_smoothing(&config.data, &run);
    let err = Trainer::<CpuAutodiff>::new(config, &run, Default::default(), smoothing)
        .run()
        .unwrap_err();
    assert!(matches!(err, TrainError::NonFinite { .. }), "{err}");
    assert!(err.to_string().contains("checkpoint"), "{err}");
}

#[test]
fn config_overrides_and_roundtrip() {
    let _turn = take_turn();
    let mut config = TrainConfig::new();
    config.set("train.batch_size=3").unwrap();
    config.set("cartoongan.gan_loss=\"lsgan\"").unwrap();
    config.set("cartoongan.content.normalization=unit").unwrap();
    config.set("data.validation=\"/tmp/val\"").unwrap();
    assert_eq!(config.train.batch_size, 3);
    assert!(config.set("train.no_such_field=1").is_err());
    let text = config.to_toml();
    let back = TrainConfig::from_toml_str(&text).unwrap();
    assert_eq!(back, config);
    let partial = TrainConfig::from_toml_str("[train]\nepochs = 7\n").unwrap();
    assert_eq!(partial.train.epochs, 7);
    assert_eq!(partial.train.batch_size, 8);
}
