//! Trajectory parity: from the same initial weights and the same 30 batches (written by
//! `tools/ref_trajectory_batches.py`, replayed through `train::ReplayBatches`), toongan's
//! training loop must follow an independent PyTorch loop step by step: every step's losses
//! within 1e-3 relative and the final weights within 1e-3 (largest |difference| over the
//! tensor's largest |value|). toongan's side stops after step 15 with a checkpoint and a new
//! `Trainer` resumes it, as `toongan train --resume` does.
//!
//! Fixtures in `tests/fixtures/trajectory/`, made by `tools/ref_cartoongan_trajectory.py` and
//! `tools/ref_cyclegan_trajectory.py` (their docstrings give the exact objectives, schedules
//! and why both train at lr 3e-5).
//!
//! A failure is not by itself a bug. At width 4, now and then an activation sits within
//! float32 rounding of a ReLU kink; a float32 implementation may then take the other branch
//! than the float64 reference, that step's gradient moves by a few percent, and the GAN
//! dynamics amplify it. With other initial weights (`ref_cartoongan_trajectory.py --seed`),
//! CartoonGAN seeds 2, 4 and 5 (the fixture's, the only one made before toongan first ran)
//! pass with losses within 3.2e-6, seed 1 fails (1.5e-3 at step 14) exactly as PyTorch's own
//! float32 run does, and seed 3 fails (1.3e-3 at step 27) where PyTorch float32 passes: a
//! VGG conv1_1 input to ReLU, 1.1e-6 in float64 at toongan's step-14 weights, is negative in
//! toongan's float32, and flipping that one value in the reference makes the step-15
//! gradients agree to 3.7e-6. The CycleGAN fixture has one such flip (step 10, a ReLU input of
//! 1.4e-6 in G_A): it is why its losses agree to 3e-4 rather than 1e-6. So after a change to
//! toongan's float32 arithmetic (kernels, summation order), first see whether PyTorch's
//! float32 run (`--dtype float32 --compare`) parts from the reference too, then find the first
//! step whose gradient differs at the reference's weights (docs/train.md, Verification).

mod common;
use common::modules::{load_prefixed, tensors};
use common::rel_err;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toongan::backend::CpuAutodiff;
use toongan::model::{DiscriminatorConfig, PatchGanConfig, ResnetGeneratorConfig};
use toongan::train::{
    BatchSource, CartoonGan, CartoonGanConfig, CycleGan, GanModel, MetricsLog, ReplayBatches,
    RunOutcome, TrainConfig, TrainState, Trainer, identity_smoothing, save_checkpoint,
};

/// Losses and final weights are held to this (relative) tolerance, as the issue asks.
const TOL: f64 = 1e-3;
/// At lr 3e-5 the weights move by only ~1e-3 of their scale in 30 steps (median over tensors),
/// so "final weights within 1e-3" alone would pass even without training. Their change over
/// the run (final − initial) is compared too, against this relative tolerance.
const CHANGE_TOL: f64 = 5e-2;
/// toongan stops here and resumes from the checkpoint.
const RESUME_AT: usize = 15;

fn fixtures() -> PathBuf {
    common::fixture("trajectory")
}

/// The reference's config and per-step losses (`<model>_losses.json`).
struct Reference {
    config: serde_json::Value,
    steps: Vec<(String, BTreeMap<String, f64>)>,
}

fn reference(model: &str) -> Reference {
    let path = fixtures().join(format!("{model}_losses.json"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let steps = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            assert_eq!(s["step"].as_u64(), Some(i as u64 + 1));
            let phase = s["phase"].as_str().unwrap_or("adversarial").to_string();
            let losses = s["losses"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
                .collect();
            (phase, losses)
        })
        .collect();
    Reference {
        config: json["config"].clone(),
        steps,
    }
}

impl Reference {
    fn usize(&self, key: &str) -> usize {
        self.config[key].as_u64().unwrap() as usize
    }

    fn f64(&self, key: &str) -> f64 {
        self.config[key].as_f64().unwrap()
    }
}

/// What both tests share: the batches, the schedule, outputs off but the metrics log.
fn base_config(model: &str, reference: &Reference, batches: &ReplayBatches) -> TrainConfig {
    let mut config = TrainConfig::new();
    config.model = model.into();
    config.data.crop_size = batches.size();
    config.data.load_size = batches.size();
    config.data.n_validation = 1;
    config.data.workers = 1;
    config.train.epochs = reference.usize("epochs");
    config.train.batch_size = batches.batch_size();
    config.train.lr = reference.f64("lr");
    config.train.seed = reference.usize("seed") as u64;
    config.output.progress = false;
    config.output.log_every = 1;
    config.output.sample_every = 0;
    config.output.checkpoint_every = 0;
    config
}

/// Writes `model` (the reference's initial weights, fresh optimizers) as the run's step-0
/// checkpoint, then trains to step [`RESUME_AT`] (stopping with a checkpoint), then resumes in
/// a new `Trainer` to the end. Returns the final checkpoint.
fn train_with_resume(
    config: &TrainConfig,
    dir: &Path,
    model: &dyn GanModel<CpuAutodiff>,
    batches: Arc<ReplayBatches>,
) -> PathBuf {
    let start = TrainState {
        epoch: 0,
        step_in_epoch: 0,
        global_step: 0,
        seed: config.train.seed,
    };
    save_checkpoint(dir, model, &start, 2).unwrap();
    let trainer = || {
        Trainer::<CpuAutodiff>::new(
            config.clone(),
            dir,
            Default::default(),
            identity_smoothing(),
        )
        .with_batches(batches.clone())
    };
    let first = trainer().with_stop_at_step(RESUME_AT).run().unwrap();
    assert!(
        matches!(first, RunOutcome::Interrupted { steps, .. } if steps == RESUME_AT),
        "{first:?}"
    );
    let total = config.train.epochs * batches.steps_per_epoch(0);
    match trainer().run().unwrap() {
        RunOutcome::Finished { steps, checkpoint } => {
            assert_eq!(steps, total);
            checkpoint
        }
        other => panic!("{other:?}"),
    }
}

/// Every logged step's losses against the reference's; returns the worst relative error and
/// the step where it was.
fn compare_losses(dir: &Path, reference: &Reference) -> (f64, usize) {
    let records = MetricsLog::new(dir).read().unwrap();
    assert_eq!(records.len(), reference.steps.len(), "one record per step");
    let mut worst = (0f64, 0);
    let mut failures = Vec::new();
    for (record, (phase, want)) in records.iter().zip(&reference.steps) {
        assert_eq!(&record.phase, phase, "step {}", record.step);
        assert!(!record.losses.is_empty());
        let mut step_worst = (0f64, "");
        for (name, &got) in &record.losses {
            let want = *want
                .get(name)
                .unwrap_or_else(|| panic!("step {}: no reference for {name}", record.step));
            let err = (got - want).abs() / want.abs().max(1e-12);
            if err > step_worst.0 {
                step_worst = (err, name);
            }
            if err > worst.0 {
                worst = (err, record.step);
            }
            if err > TOL {
                failures.push(format!(
                    "step {} {name}: {got} vs {want} (rel. {err:.2e})",
                    record.step
                ));
            }
        }
        eprintln!(
            "step {:2}: worst loss rel. error {:.1e} ({})",
            record.step, step_worst.0, step_worst.1
        );
    }
    assert!(failures.is_empty(), "losses off:\n{}", failures.join("\n"));
    worst
}

/// Compares every tensor of `got` with `prefix.*` of `expected`, except those `skip` names
/// (see the callers for why); returns the worst relative error of the weights and of their
/// change over the run (final − initial, `initial` being the weights training started from).
fn compare_weights(
    got: &HashMap<String, Vec<f32>>,
    initial: &HashMap<String, Vec<f32>>,
    expected: &safetensors::SafeTensors,
    prefix: &str,
    skip: impl Fn(&str) -> bool,
) -> (f64, f64) {
    let (mut worst, mut worst_change, mut n) = (0f64, 0f64, 0);
    let mut failures = Vec::new();
    for (name, view) in expected.tensors() {
        let Some(key) = name.strip_prefix(&format!("{prefix}.")) else {
            continue;
        };
        if skip(key) {
            continue;
        }
        let want: Vec<f32> = bytemuck::pod_collect_to_vec(view.data());
        let have = got
            .get(key)
            .unwrap_or_else(|| panic!("{prefix}: no tensor {key}"));
        let err = rel_err(have, &want);
        if err > TOL {
            failures.push(format!("{prefix}.{key}: rel. error {err:.2e}"));
        }
        worst = worst.max(err);
        let start = &initial[key];
        let changed: Vec<f32> = have.iter().zip(start).map(|(a, b)| a - b).collect();
        let want_change: Vec<f32> = want.iter().zip(start).map(|(a, b)| a - b).collect();
        let change_err = rel_err(&changed, &want_change);
        if change_err > CHANGE_TOL {
            failures.push(format!(
                "{prefix}.{key}: change rel. error {change_err:.2e}"
            ));
        }
        worst_change = worst_change.max(change_err);
        n += 1;
    }
    assert!(
        failures.is_empty(),
        "final weights off:\n{}",
        failures.join("\n")
    );
    assert!(n >= 6, "{prefix}: only {n} tensors compared");
    (worst, worst_change)
}

fn expected(file: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(file)).unwrap()
}

/// A conv bias that goes straight into batch norm (CartoonGAN) has zero true gradient: the
/// norm subtracts it again. Both sides' gradients are rounding noise, which Adam's
/// lr·g/(|g| + ε) turns into steps of any sign; such a bias changes no output or loss, so
/// its value is not compared. Running statistics are not part of a training step's math
/// (and burn keeps the biased running variance).
fn not_compared_cartoongan(key: &str, expected: &safetensors::SafeTensors, prefix: &str) -> bool {
    if key.ends_with("running_mean") || key.ends_with("running_var") {
        return true;
    }
    let Some(base) = key.strip_suffix(".conv.bias") else {
        return false;
    };
    let has = |k: String| expected.tensor(&format!("{prefix}.{k}")).is_ok();
    has(format!("{}.weight", base.replace("conv", "norm"))) || has(format!("{base}.norm.weight"))
}

#[test]
fn cartoongan_trajectory_matches_pytorch() {
    let reference = reference("cartoongan");
    let batches = Arc::new(ReplayBatches::open(&fixtures().join("batches.safetensors")).unwrap());
    let mut config = base_config("cartoongan", &reference, &batches);
    config.train.init_epochs = Some(reference.usize("init_epochs"));
    let c = &mut config.cartoongan;
    c.generator = CartoonGanConfig::default_generator()
        .with_width(reference.usize("g_width"))
        .with_n_residual(reference.usize("g_residual"));
    c.discriminator = DiscriminatorConfig::new().with_width(reference.usize("d_width"));
    c.content.width = reference.usize("vgg_width");
    c.content.weight = reference.f64("content_weight");
    c.content.weights = fixtures()
        .join("cartoongan_vgg.pth")
        .to_string_lossy()
        .into_owned();

    let device = Default::default();
    let mut model =
        CartoonGan::<CpuAutodiff>::new(&config.cartoongan, &config.train, &device).unwrap();
    let init = fixtures().join("cartoongan_init.safetensors");
    load_prefixed(&mut model.g, &init, "g").unwrap();
    load_prefixed(&mut model.d, &init, "d").unwrap();
    let (g0, d0) = (tensors(&model.g), tensors(&model.d));
    let dir = tempfile::tempdir().unwrap();
    let last = train_with_resume(&config, dir.path(), &model, batches);
    let (loss_err, at) = compare_losses(dir.path(), &reference);

    model.load_state(&last).unwrap();
    let bytes = expected("cartoongan_expected.safetensors");
    let want = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let g = compare_weights(&tensors(&model.g), &g0, &want, "g", |k| {
        not_compared_cartoongan(k, &want, "g")
    });
    let d = compare_weights(&tensors(&model.d), &d0, &want, "d", |k| {
        not_compared_cartoongan(k, &want, "d")
    });
    eprintln!(
        "worst rel. errors: losses {loss_err:.2e} (step {at}); final G {:.2e} (change {:.2e}), \
         D {:.2e} (change {:.2e})",
        g.0, g.1, d.0, d.1
    );
}

/// A conv bias that goes into instance norm (every CycleGAN conv but the generators' output
/// conv and the PatchGANs' first and last) has zero true gradient: the norm subtracts the
/// channel mean. Its value is Adam-amplified rounding noise on both sides and changes no
/// output, so it is not compared.
fn feeds_instance_norm(key: &str) -> bool {
    key.ends_with(".bias") && !key.starts_with("output.") && !key.starts_with("layers.0.")
}

#[test]
fn cyclegan_trajectory_matches_pytorch() {
    let reference = reference("cyclegan");
    let batches = Arc::new(ReplayBatches::open(&fixtures().join("batches.safetensors")).unwrap());
    let mut config = base_config("cyclegan", &reference, &batches);
    let c = &mut config.cyclegan;
    c.generator = ResnetGeneratorConfig::new()
        .with_width(reference.usize("g_width"))
        .with_n_residual(reference.usize("g_residual"));
    c.discriminator = PatchGanConfig::new().with_width(reference.usize("d_width"));
    c.lambda_a = reference.f64("lambda");
    c.lambda_b = reference.f64("lambda");
    c.lambda_identity = reference.f64("lambda_identity");
    c.pool_size = reference.usize("pool_size");
    c.n_epochs_decay = reference.usize("n_epochs_decay");

    let device = Default::default();
    let mut model = CycleGan::<CpuAutodiff>::new(&config.cyclegan, &config.train, &device).unwrap();
    let init = fixtures().join("cyclegan_init.safetensors");
    load_prefixed(&mut model.g.a, &init, "g_a").unwrap();
    load_prefixed(&mut model.g.b, &init, "g_b").unwrap();
    load_prefixed(&mut model.d.a, &init, "d_a").unwrap();
    load_prefixed(&mut model.d.b, &init, "d_b").unwrap();
    let initial = [
        tensors(&model.g.a),
        tensors(&model.g.b),
        tensors(&model.d.a),
        tensors(&model.d.b),
    ];
    let dir = tempfile::tempdir().unwrap();
    let last = train_with_resume(&config, dir.path(), &model, batches);
    let (loss_err, at) = compare_losses(dir.path(), &reference);

    model.load_state(&last).unwrap();
    let bytes = expected("cyclegan_expected.safetensors");
    let want = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut report = format!("losses {loss_err:.2e} (step {at})");
    let nets = [
        ("g_a", tensors(&model.g.a)),
        ("g_b", tensors(&model.g.b)),
        ("d_a", tensors(&model.d.a)),
        ("d_b", tensors(&model.d.b)),
    ];
    for ((net, got), initial) in nets.iter().zip(&initial) {
        let (err, change) = compare_weights(got, initial, &want, net, feeds_instance_norm);
        report += &format!("; final {net} {err:.2e} (change {change:.2e})");
    }
    eprintln!("worst rel. errors: {report}");
}
