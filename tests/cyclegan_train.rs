//! CycleGAN training: one step against an independent PyTorch reference (three scenarios),
//! tiny runs on real photos with each switch, exact resume (networks, optimizers, image
//! pools), cartoonizing with the trained generator, generator files of both architectures.
//!
//! Shared data via `TOONGAN_SHARED_DIR` (default `<manifest>/../shared`).

mod common;
use common::modules::{load_prefixed, tensors};
use common::rel_err;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Tensor, TensorData};
use toongan::backend::{Cpu, CpuAutodiff};
use toongan::model::{PatchGanConfig, ResnetGeneratorConfig};
use toongan::train::{
    CycleGan, CycleGanConfig, ImagePool, MetricsLog, Phase, RunOutcome, ScheduleConfig,
    TrainConfig, Trainer, identity_smoothing, run_smoothing,
};
use toongan::weights::{GeneratorArch, TrainedGenerator, load_trained_generator};

const LR: f64 = 2e-4;

fn fixtures() -> PathBuf {
    common::fixture("cyclegan_train")
}

/// Whether `key` is the bias of a conv followed by instance norm (every conv of both
/// networks but the generator's output conv and the PatchGAN's first and last).
fn feeds_instance_norm(key: &str) -> bool {
    key.ends_with(".bias") && !key.starts_with("output.") && !key.starts_with("layers.0.")
}

/// Compares a module after the step with `prefix.*` of `expected` (rel. error ≤ 1e-4 per
/// tensor); returns (worst weight rel. error, worst rel. error of the update after − before).
/// `sign_step_lr`: the step was a default first Adam step (≈ lr·sign(g)) at this lr.
fn compare(
    got: &HashMap<String, Vec<f32>>,
    before: &HashMap<String, Vec<f32>>,
    expected: &safetensors::SafeTensors,
    prefix: &str,
    sign_step_lr: Option<f64>,
) -> (f64, f64) {
    let (mut worst, mut worst_update, mut n) = (0f64, 0f64, 0);
    for (name, view) in expected.tensors() {
        let Some(key) = name.strip_prefix(&format!("{prefix}.")) else {
            continue;
        };
        let want: Vec<f32> = bytemuck::pod_collect_to_vec(view.data());
        let have = got.get(key).unwrap_or_else(|| panic!("no tensor {key}"));
        let start = &before[key];
        if let Some(lr) = sign_step_lr.filter(|_| feeds_instance_norm(key)) {
            // Instance norm subtracts the channel mean, so this bias has zero true gradient:
            // both sides' gradients are rounding noise (~1e-17 in float64, ~1e-9 in float32)
            // and Adam's lr·g/(|g| + 1e-8) turns noise into steps of any size up to lr. Only
            // that bound holds (the `gradient` scenario compares these biases in full).
            for (h, w) in have.iter().zip(&want) {
                assert!(
                    (h - w).abs() as f64 <= 2.0 * lr,
                    "{prefix}.{key}: {h} vs {w}"
                );
            }
            continue;
        }
        let err = rel_err(have, &want);
        assert!(err <= 1e-4, "{prefix}.{key}: rel. error {err:e}");
        worst = worst.max(err);
        if !feeds_instance_norm(key) {
            // (The update of a zero-gradient bias is noise on both sides: no relative error.)
            let du: Vec<f32> = have.iter().zip(start).map(|(a, b)| a - b).collect();
            let dw: Vec<f32> = want.iter().zip(start).map(|(a, b)| a - b).collect();
            worst_update = worst_update.max(rel_err(&du, &dw));
        }
        n += 1;
    }
    assert!(n >= 6, "{prefix}: only {n} tensors compared");
    (worst, worst_update)
}

/// Runs one scenario of the fixture: fresh model with the fixture's weights, one step with
/// Adam at `lr` and ε = `epsilon`.
fn parity(scenario: &str, lambda_identity: f64, edge: bool, phase: Phase, lr: f64, epsilon: f32) {
    let device = Default::default();
    let config = CycleGanConfig::new()
        .with_generator(
            ResnetGeneratorConfig::new()
                .with_width(4)
                .with_n_residual(2),
        )
        .with_discriminator(PatchGanConfig::new().with_width(4))
        .with_lambda_identity(lambda_identity)
        .with_edge_smoothing_loss(edge);
    let schedule = ScheduleConfig::new().with_lr(lr).with_epsilon(epsilon);
    let mut model = CycleGan::<CpuAutodiff>::new(&config, &schedule, &device).unwrap();
    let init = fixtures().join("init.safetensors");
    load_prefixed(&mut model.g.a, &init, "g_a").unwrap();
    load_prefixed(&mut model.g.b, &init, "g_b").unwrap();
    load_prefixed(&mut model.d.a, &init, "d_a").unwrap();
    load_prefixed(&mut model.d.b, &init, "d_b").unwrap();
    let bytes = std::fs::read(&init).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let batch = |name: &str| {
        let data: Vec<f32> = bytemuck::pod_collect_to_vec(st.tensor(name).unwrap().data());
        Tensor::<CpuAutodiff, 4>::from_data(TensorData::new(data, [2, 3, 40, 40]), &device)
    };
    let losses: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("losses.json")).unwrap()).unwrap();
    let expected_bytes = std::fs::read(fixtures().join("expected.safetensors")).unwrap();
    let expected = safetensors::SafeTensors::deserialize(&expected_bytes).unwrap();

    let before = [
        tensors(&model.g.a),
        tensors(&model.g.b),
        tensors(&model.d.a),
        tensors(&model.d.b),
    ];
    let got = model.step_tensors(
        batch("batch.photos"),
        batch("batch.cartoons"),
        batch("batch.smoothed"),
        phase,
        lr,
    );
    let want = losses[scenario].as_object().unwrap();
    assert_eq!(got.len(), want.len(), "{scenario}: {got:?}");
    let mut worst_loss = 0f64;
    for (name, value) in &got {
        let w = want[name].as_f64().unwrap();
        let err = if w == 0.0 {
            value.abs()
        } else {
            (value - w).abs() / w.abs()
        };
        assert!(
            err <= 1e-4,
            "{scenario} {name}: {value} vs {w} (rel. {err:e})"
        );
        worst_loss = worst_loss.max(err);
    }
    let after = [
        tensors(&model.g.a),
        tensors(&model.g.b),
        tensors(&model.d.a),
        tensors(&model.d.b),
    ];
    let nets = if phase == Phase::Init { 2 } else { 4 };
    let mut report = format!("{scenario}: losses {worst_loss:.2e}");
    for (i, net) in ["g_a", "g_b", "d_a", "d_b"].iter().enumerate().take(nets) {
        let sign_step = (epsilon < 1e-6).then_some(lr);
        let prefix = format!("{scenario}.{net}");
        let (w, u) = compare(&after[i], &before[i], &expected, &prefix, sign_step);
        report += &format!(", {net} weights {w:.2e} (update {u:.2e})");
    }
    if phase == Phase::Init {
        assert_eq!(
            tensors(&model.d.a),
            before[2],
            "the init phase leaves D_A alone"
        );
    }
    eprintln!("worst rel. errors: {report}");
}

#[test]
fn adversarial_step_with_identity_and_edge_loss_matches_pytorch() {
    parity("adversarial", 0.5, true, Phase::Adversarial, LR, 1e-8);
}

#[test]
fn plain_step_without_identity_matches_pytorch() {
    parity("plain", 0.0, false, Phase::Adversarial, LR, 1e-8);
}

#[test]
fn init_step_matches_pytorch() {
    parity("init", 0.5, false, Phase::Init, LR, 1e-8);
}

/// A first Adam step is lr·g/(|g| + ε): with the default ε it is ≈ lr·sign(g), so the
/// scenarios above check each gradient's sign; with lr = ε = 1000 it is ≈ g, and the weights
/// after it check each gradient's value (to 1e-4 of the weights' scale).
#[test]
fn adversarial_gradients_match_pytorch() {
    parity("gradient", 0.5, true, Phase::Adversarial, 1e3, 1e3);
}

#[test]
fn learning_rate_decays_linearly_over_the_last_epochs() {
    let schedule = ScheduleConfig::new().with_epochs(4);
    let config = CycleGanConfig::new()
        .with_generator(ResnetGeneratorConfig::tiny())
        .with_discriminator(PatchGanConfig::tiny())
        .with_n_epochs_decay(2);
    let model = CycleGan::<CpuAutodiff>::new(&config, &schedule, &Default::default()).unwrap();
    let lrs: Vec<f64> = (0..4).map(|e| model.lr_at(e) / LR).collect();
    let want = [1.0, 1.0, 2.0 / 3.0, 1.0 / 3.0];
    for (got, want) in lrs.iter().zip(want) {
        assert!((got - want).abs() < 1e-12, "{lrs:?}");
    }
}

/// 4 photos and 4 "cartoons" (other photos, posterized to 4 levels per channel), 96 px short
/// side, in `root`.
fn make_data(root: &Path) -> (PathBuf, PathBuf) {
    let photos = root.join("photos");
    let cartoons = root.join("cartoons");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::create_dir_all(&cartoons).unwrap();
    let sources = common::shared_photos();
    assert!(sources.len() >= 8, "need 8 shared photos");
    for (i, src) in sources.iter().take(8).enumerate() {
        let mut img = toongan::train::load_resized(src, 96).unwrap();
        if i < 4 {
            img.save(photos.join(format!("p{i}.png"))).unwrap();
        } else {
            img.pixels_mut()
                .for_each(|p| p.0.iter_mut().for_each(|v| *v = (*v / 64) * 64 + 32));
            img.save(cartoons.join(format!("c{i}.png"))).unwrap();
        }
    }
    (photos, cartoons)
}

fn tiny_config(photos: &Path, cartoons: &Path, epochs: usize) -> TrainConfig {
    let mut config = TrainConfig::new();
    config.apply_preset("tiny").unwrap();
    config.model = "cyclegan".into();
    config.data.photos = photos.to_path_buf();
    config.data.cartoons = cartoons.to_path_buf();
    config.train.epochs = epochs;
    config.output.progress = false;
    config.output.checkpoint_every = 1;
    // A pool that fills on the first step, so later steps draw from it (and resume must
    // restore its images and generator).
    config.cyclegan.pool_size = 2;
    config
}

fn run(config: TrainConfig, dir: &Path) -> RunOutcome {
    let smoothing = if config.needs_edge_smoothing() {
        run_smoothing(&config.data, dir)
    } else {
        identity_smoothing()
    };
    Trainer::<CpuAutodiff>::new(config, dir, Default::default(), smoothing)
        .run()
        .unwrap()
}

/// The latest checkpoint's G_A tensors and its two image pools.
fn checkpoint_state(run: &Path) -> (HashMap<String, Vec<f32>>, Vec<ImagePool>) {
    let file = toongan::weights::resolve_generator_path(run).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let g = st
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, bytemuck::pod_collect_to_vec(v.data())))
        .collect();
    let dir = file.parent().unwrap();
    let pools = [
        "pool_fake_cartoons.safetensors",
        "pool_fake_photos.safetensors",
    ]
    .iter()
    .map(|n| ImagePool::load(&dir.join(n)).unwrap())
    .collect();
    (g, pools)
}

#[test]
fn tiny_cyclegan_trains_resumes_and_cartoonizes() {
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = make_data(tmp.path());
    let bin = env!("CARGO_BIN_EXE_toongan");

    // Uninterrupted, through the binary: 3 epochs of 2 steps, plain CycleGAN (no init phase
    // although the schedule's CartoonGAN default is 10 init epochs).
    let full = tmp.path().join("full");
    let status = std::process::Command::new(bin)
        .args(["train", "--model", "cyclegan", "--photos"])
        .arg(&photos)
        .arg("--cartoons")
        .arg(&cartoons)
        .arg("--out")
        .arg(&full)
        .args(["--preset", "tiny", "--epochs", "3", "--quiet"])
        .args([
            "--set",
            "output.checkpoint_every=1",
            "--set",
            "cyclegan.pool_size=2",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let log = MetricsLog::new(&full).read().unwrap();
    assert_eq!(log.len(), 6, "one record per step");
    assert!(
        log.iter().all(|r| r.phase == "adversarial"),
        "no init phase by default"
    );
    for r in &log {
        assert!(r.losses.values().all(|v| v.is_finite()), "{:?}", r.losses);
        for k in [
            "d_a", "g_a", "cycle_a", "idt_a", "d_b", "g_b", "cycle_b", "idt_b",
        ] {
            assert!(r.losses[k] > 0.0, "{k} in {:?}", r.losses);
        }
    }
    assert!(
        !full.join("edge_cache").exists(),
        "plain CycleGAN needs no edge smoothing"
    );
    assert_eq!(std::fs::read_dir(full.join("samples")).unwrap().count(), 3);

    // Interrupted after 2 epochs, resumed to 3: identical generator and pools.
    let parts = tmp.path().join("parts");
    assert!(matches!(
        run(tiny_config(&photos, &cartoons, 2), &parts),
        RunOutcome::Finished { steps: 4, .. }
    ));
    let mut config = Trainer::<CpuAutodiff>::saved_config(&parts).unwrap();
    config.train.epochs = 3;
    assert!(matches!(
        run(config, &parts),
        RunOutcome::Finished { steps: 6, .. }
    ));
    let ((ga, pools_a), (gb, pools_b)) = (checkpoint_state(&full), checkpoint_state(&parts));
    assert_eq!(ga.len(), gb.len());
    for (k, v) in &ga {
        assert!(
            Some(v) == gb.get(k),
            "G_A {k} differs between resumed and uninterrupted runs"
        );
    }
    assert!(pools_a.iter().all(|p| p.len() == 2), "the pools filled");
    assert!(
        pools_a == pools_b,
        "image pools differ between resumed and uninterrupted runs"
    );

    // The run folder cartoonizes a photo with G_A, through the CLI.
    let out = tmp.path().join("out.png");
    let result = std::process::Command::new(bin)
        .arg("cartoonize")
        .arg("--model")
        .arg(&full)
        .arg(photos.join("p1.png"))
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", common::stderr(&result));
    let img = image::open(&out).unwrap();
    let src = image::open(photos.join("p1.png")).unwrap();
    assert_eq!((img.width(), img.height()), (src.width(), src.height()));
}

/// Trains 2 epochs of 2 steps with `edit` applied to the tiny config; returns the log.
fn train_variant(edit: impl FnOnce(&mut TrainConfig)) -> Vec<toongan::train::MetricsRecord> {
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = make_data(tmp.path());
    let mut config = tiny_config(&photos, &cartoons, 2);
    edit(&mut config);
    let dir = tmp.path().join("run");
    assert!(matches!(
        run(config, &dir),
        RunOutcome::Finished { steps: 4, .. }
    ));
    let log = MetricsLog::new(&dir).read().unwrap();
    assert_eq!(log.len(), 4);
    for r in &log {
        assert!(r.losses.values().all(|v| v.is_finite()), "{:?}", r.losses);
    }
    let file = toongan::weights::resolve_generator_path(&dir).unwrap();
    assert!(matches!(
        load_trained_generator::<Cpu>(&file, &Default::default()).unwrap(),
        TrainedGenerator::Resnet(..)
    ));
    log
}

#[test]
fn identity_off_trains() {
    let log = train_variant(|c| c.cyclegan.lambda_identity = 0.0);
    assert!(
        log.iter()
            .all(|r| r.losses["idt_a"] == 0.0 && r.losses["idt_b"] == 0.0)
    );
    assert!(log.iter().all(|r| r.losses["d_a"] > 0.0));
}

#[test]
fn edge_smoothing_loss_trains_on_smoothed_cartoons() {
    let tmp_check = std::cell::Cell::new(false);
    let log = train_variant(|c| {
        c.cyclegan.edge_smoothing_loss = true;
        tmp_check.set(c.needs_edge_smoothing());
    });
    assert!(tmp_check.get(), "the run must make edge-smoothed cartoons");
    assert!(
        log.iter()
            .all(|r| r.phase == "adversarial" && r.losses["d_a"] > 0.0)
    );
}

#[test]
fn init_epochs_train_reconstruction_first_with_both_ablations() {
    let log = train_variant(|c| {
        c.train.init_epochs = Some(1);
        c.cyclegan.edge_smoothing_loss = true;
    });
    for r in &log[..2] {
        assert_eq!(r.phase, "init");
        let mut keys: Vec<&str> = r.losses.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["cycle_a", "cycle_b", "g_loss", "idt_a", "idt_b"]);
    }
    for r in &log[2..] {
        assert_eq!(r.phase, "adversarial");
        assert!(r.losses.contains_key("d_a") && r.losses.contains_key("g_b"));
    }
}

#[test]
fn init_epochs_default_per_model() {
    let mut config = TrainConfig::new();
    assert_eq!(config.init_epochs(), 10, "CartoonGAN's paper default");
    config.model = "cyclegan".into();
    assert_eq!(config.init_epochs(), 0, "plain CycleGAN has no init phase");
    config.set("train.init_epochs=3").unwrap();
    assert_eq!(config.init_epochs(), 3);
    // Configs saved before init_epochs became optional still read.
    let old =
        TrainConfig::from_toml_str("model = \"cartoongan\"\n[train]\ninit_epochs = 10\n").unwrap();
    assert_eq!(old.train.init_epochs, Some(10));
    let back = TrainConfig::from_toml_str(&config.to_toml()).unwrap();
    assert_eq!(back, config);
    config.set("cyclegan.edge_smoothing_loss=true").unwrap();
    config.set("cyclegan.n_epochs_decay=5").unwrap();
    assert!(config.cyclegan.edge_smoothing_loss && config.needs_edge_smoothing());
    config.apply_preset("tiny").unwrap();
    assert_eq!(config.cyclegan.generator.width, 8);
    assert_eq!(config.cyclegan.generator.n_residual, 2);
    assert_eq!(config.cyclegan.discriminator.width, 8);
}

#[test]
fn generator_files_name_their_architecture() {
    use toongan::model::{Generator, GeneratorConfig};
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    // A ResNet generator file loads as one; the CartoonGAN-only loader refuses it clearly.
    let path = tmp.path().join("resnet.safetensors");
    let cfg = ResnetGeneratorConfig::tiny();
    toongan::weights::save_resnet_generator(&cfg.init::<Cpu>(&device), &cfg, &path).unwrap();
    assert_eq!(
        toongan::weights::read_generator_arch(&path).unwrap(),
        GeneratorArch::Resnet
    );
    match load_trained_generator::<Cpu>(&path, &device).unwrap() {
        TrainedGenerator::Resnet(_, c) => assert_eq!(c, cfg),
        other => panic!("{other:?}"),
    }
    let err = toongan::weights::load_generator::<Cpu>(&path, &device)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("resnet") && err.contains("resnet.safetensors"),
        "{err}"
    );

    // A file written before the architecture key existed is a CartoonGAN generator.
    let old = tmp.path().join("old.safetensors");
    let gcfg = GeneratorConfig::new().with_width(8).with_n_residual(1);
    let g: Generator<Cpu> = gcfg.init(&device);
    let json = serde_json::to_string(&gcfg).unwrap();
    let mut store = SafetensorsStore::from_bytes(None).metadata(toongan::weights::CONFIG_KEY, json);
    g.save_into(&mut store).unwrap();
    std::fs::write(&old, store.get_bytes().unwrap()).unwrap();
    assert!(matches!(
        load_trained_generator::<Cpu>(&old, &device).unwrap(),
        TrainedGenerator::Cartoongan(_, c) if c == gcfg
    ));
}

#[test]
fn train_help_lists_cyclegan() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_toongan"))
        .args(["train", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cyclegan"), "{text}");
}
