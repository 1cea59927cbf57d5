//! Data-parallel training on the CPU (burn-collective's all-reduce between replica threads, as
//! burn-collective's own tests run its peers): two replicas with 4 images each take the same
//! steps as one model with the 8 images, for the instance-norm CartoonGAN, whose normalization
//! is per sample, as closely as float32 allows: after 10 Adam steps they are within twice what
//! merely reordering the batch does, and far from a model trained on one replica's 4 images.
//! (Bitwise or 1e-5 equality cannot be had: Adam's first step moves each weight by ±lr
//! whatever its gradient's size, so an element whose gradient is within rounding of zero steps
//! either way; after one step 1–4 of thousands of conv weights, and the biases before each
//! instance norm, whose true gradient is zero, differ by exactly 2·lr.) And
//! `toongan train --device cpu:0,cpu:1` writes a checkpoint that resumes on one device. Needs
//! `--features collective`.

#![cfg(feature = "collective")]

use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use toongan::backend::CpuAutodiff;
use toongan::train::{
    CartoonGan, DataParallel, GanModel, HostBatch, Phase, TrainConfig, build_model,
};

mod common;

const STEPS: usize = 10;
const INIT_STEPS: usize = 3;

fn config(batch: usize) -> TrainConfig {
    let mut c = TrainConfig::new();
    c.apply_preset("tiny").unwrap();
    c.apply_preset("instance_norm").unwrap();
    c.train.batch_size = batch;
    c.train.seed = 7;
    c
}

/// Deterministic batches of `n` images in [-1, 1] (a 64-bit LCG, so no RNG crate decides).
fn batches(n: usize, size: usize) -> Vec<HostBatch> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let len = n * 3 * size * size;
    (0..STEPS)
        .map(|step| HostBatch {
            photos: (0..len).map(|_| next()).collect(),
            cartoons: (0..len).map(|_| next()).collect(),
            smoothed: (0..len).map(|_| next()).collect(),
            n,
            size,
            epoch: 0,
            step_in_epoch: step,
        })
        .collect()
}

fn train(model: &mut dyn GanModel<CpuAutodiff>, batches: &[HostBatch]) {
    for (i, batch) in batches.iter().enumerate() {
        let phase = if i < INIT_STEPS {
            Phase::Init
        } else {
            Phase::Adversarial
        };
        let losses = model.train_step(batch, phase).unwrap();
        assert!(losses.iter().all(|(_, v)| v.is_finite()), "{losses:?}");
    }
}

/// Every float parameter of a module, in visiting order.
struct Collect(Vec<f32>);

impl<B: Backend> ModuleVisitor<B> for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0
            .extend(param.val().into_data().to_vec::<f32>().unwrap());
    }
}

/// The generator's and discriminator's weights of a saved model state.
fn weights(dir: &Path, config: &TrainConfig) -> Vec<f32> {
    let mut model =
        CartoonGan::<CpuAutodiff>::new(&config.cartoongan, &config.train, &Default::default())
            .unwrap();
    model.load_state(dir).unwrap();
    let mut all = Collect(Vec::new());
    model.g.visit(&mut all);
    model.d.visit(&mut all);
    all.0
}

fn mean_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .sum::<f64>()
        / a.len() as f64
}

/// The batch with its second half first (the same images, summed in another order).
fn swap_halves(b: &HostBatch) -> HostBatch {
    let (first, second) = (
        toongan::train::batch_share(b, 0, 2),
        toongan::train::batch_share(b, 1, 2),
    );
    let join = |x: &[f32], y: &[f32]| [y, x].concat();
    HostBatch {
        photos: join(&first.photos, &second.photos),
        cartoons: join(&first.cartoons, &second.cartoons),
        smoothed: join(&first.smoothed, &second.smoothed),
        ..b.clone()
    }
}

#[test]
fn two_replicas_of_batch_4_match_one_model_of_batch_8_up_to_rounding() {
    let tmp = tempfile::tempdir().unwrap();
    let full = config(8);
    let data = batches(8, full.data.crop_size);
    let device = Default::default();

    let mut one = build_model::<CpuAutodiff>(&full, &device).unwrap();
    let before = tmp.path().join("before");
    std::fs::create_dir_all(&before).unwrap();
    one.save_state(&before).unwrap();
    train(one.as_mut(), &data);
    let one_dir = tmp.path().join("one");
    std::fs::create_dir_all(&one_dir).unwrap();
    one.save_state(&one_dir).unwrap();

    let mut two = DataParallel::<CpuAutodiff>::new(&full, &[device, device]).unwrap();
    assert_eq!(two.replicas(), 2);
    train(&mut two, &data);
    let two_dir = tmp.path().join("two");
    std::fs::create_dir_all(&two_dir).unwrap();
    two.save_state(&two_dir).unwrap();
    drop(two);

    // The control: the same one-device run with each batch's two halves swapped. Its
    // gradients are the same sums in another order, so it differs from `one` only by float32
    // rounding, as amplified by Adam: Adam's first step moves every weight by ±lr whatever the
    // gradient's size, so an element whose gradient is within rounding of zero (the conv
    // biases before an instance norm, whose true gradient is zero; a few conv weights) may
    // step the other way, and 10 GAN steps carry that on.
    let swapped: Vec<HostBatch> = data.iter().map(swap_halves).collect();
    let mut reordered = build_model::<CpuAutodiff>(&full, &device).unwrap();
    train(reordered.as_mut(), &swapped);
    let reordered_dir = tmp.path().join("reordered");
    std::fs::create_dir_all(&reordered_dir).unwrap();
    reordered.save_state(&reordered_dir).unwrap();

    // Without the all-reduce the first replica would have trained on its 4 images alone.
    let half: Vec<HostBatch> = data
        .iter()
        .map(|b| toongan::train::batch_share(b, 0, 2))
        .collect();
    let mut alone = build_model::<CpuAutodiff>(&config(4), &device).unwrap();
    train(alone.as_mut(), &half);
    let alone_dir = tmp.path().join("alone");
    std::fs::create_dir_all(&alone_dir).unwrap();
    alone.save_state(&alone_dir).unwrap();

    let w_one = weights(&one_dir, &full);
    let moved = mean_diff(&weights(&before, &full), &w_one);
    let two = mean_diff(&w_one, &weights(&two_dir, &full));
    let rounding = mean_diff(&w_one, &weights(&reordered_dir, &full));
    let apart = mean_diff(&w_one, &weights(&alone_dir, &full));
    eprintln!(
        "mean |weight difference| after {STEPS} steps: training moved them {moved:.3e}; \
         2x4 replicas vs 1x8: {two:.3e}; 1x8 with its halves swapped vs 1x8 (float32 \
         rounding): {rounding:.3e}; 4 images alone vs 1x8: {apart:.3e}"
    );
    assert!(moved > 1e-4, "training did not move the weights ({moved})");
    assert!(
        apart > 3.0 * two,
        "the replicas are not told apart from 4 images alone ({two} vs {apart})"
    );
    assert!(
        two <= 2.0 * rounding,
        "two replicas differ from one model by {two}, more than twice what reordering the \
         batch does ({rounding})"
    );
}

#[test]
fn a_batch_that_does_not_split_is_refused() {
    let err = DataParallel::<CpuAutodiff>::new(&config(5), &[Default::default(); 2])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("batch size 5") && err.contains("multiple of 2"),
        "{err}"
    );
}

/// `toongan train --device cpu:0,cpu:1` trains and checkpoints; the run resumes on one device.
#[test]
fn a_data_parallel_run_resumes_on_one_device() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = common::shared_dir().join("images/photos");
    let run = tmp.path().join("run");
    let cache = tmp.path().join("cache");
    let (run_s, photos_s) = (run.to_str().unwrap(), photos.to_str().unwrap());
    let base = [
        "--preset",
        "tiny",
        "--preset",
        "instance_norm",
        "--quiet",
        "--batch-size",
        "2",
        "--set",
        "train.max_steps_per_epoch=2",
        "--set",
        "data.workers=1",
    ];
    let mut args = vec![
        "train",
        "--photos",
        photos_s,
        "--cartoons",
        photos_s,
        "--out",
        run_s,
        "--epochs",
        "1",
        "--init-epochs",
        "0",
        "--device",
        "cpu:0,cpu:1",
    ];
    args.extend(base);
    let out = common::toongan(&args, &cache);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        run.join("checkpoints/step-000000002/generator.safetensors")
            .is_file()
    );
    let out = common::toongan(
        &[
            "train", "--resume", run_s, "--epochs", "2", "--device", "cpu", "--quiet",
        ],
        &cache,
    );
    let stderr = common::stderr(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("finished after 4 steps"), "{stderr}");
}
