//! Correctness and speed of toongan on a device (issue 7): the published generator on a real
//! photo against the CPU engine, one tiny CartoonGAN training step against the CPU step and
//! the PyTorch fixture, then timings of the generator forward (256² and 1024², batch 1 and 8)
//! and of a full-size CartoonGAN training step (G + D + VGG19 conv4_4, Adam, 256², batch 8).
//!
//! ```sh
//! cargo build --release --features cuda,wgpu --example gpu_check
//! target/release/examples/gpu_check --device cuda --weights-dir ../shared/weights/cartoongan
//! target/release/examples/gpu_check --device wgpu             # any GPU, through Vulkan/Metal
//! target/release/examples/gpu_check --device cpu --quick      # the CPU fallback: small sizes
//! ```
//!
//! Every row names the burn features the binary was built with (`plain`, `fusion`, `autotune`,
//! `fusion+autotune`): build once without and once with `--features fusion,autotune` to
//! measure what they give. Timings on a software adapter (`wgpu:cpu`) are not benchmarks.
//!
//! `bench/gpu/run.sh` runs it next to the same checks and timings in PyTorch. Prints a
//! Markdown table and, with `--json FILE`, writes one JSON object per check and timing.
//! Exits 1 when a correctness check fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Tensor, TensorData};
use serde_json::json;
use toongan::backend::{AutodiffBackendTask, BackendTask, Cpu, DeviceChoice};
use toongan::cartoonize::{BurnTranslator, TileOptions, cartoonize_image};
use toongan::engine::CpuGenerator;
use toongan::imageio::{decode_image, to_u8};
use toongan::model::{Generator, GeneratorConfig};
use toongan::train::{CartoonGan, Losses, Phase, TrainConfig};
use toongan::weights::{Style, StyleRegistry, load_published_generator};

// The parity tests' helpers for PyTorch-named safetensors files.
#[path = "../tests/common/modules.rs"]
mod modules;
use modules::{load_prefixed, tensors};

/// Command-line options (`--name value`).
struct Options {
    device: DeviceChoice,
    photo: PathBuf,
    weights_dir: Option<PathBuf>,
    fixtures: PathBuf,
    quick: bool,
    runs: usize,
    json: Option<PathBuf>,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let value = |name: &str| -> Option<String> {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1).cloned())
        };
        let shared = std::env::var_os("TOONGAN_SHARED_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("../shared"));
        Ok(Self {
            device: value("--device").unwrap_or_else(|| "cuda".into()).parse()?,
            photo: value("--photo")
                .map(PathBuf::from)
                .unwrap_or_else(|| shared.join("images/photos/mountain-lake.jpg")),
            weights_dir: value("--weights-dir")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("TOONGAN_WEIGHTS_DIR").map(PathBuf::from)),
            fixtures: value("--fixtures")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("tests/fixtures/train")),
            quick: args.iter().any(|a| a == "--quick"),
            runs: value("--runs").and_then(|v| v.parse().ok()).unwrap_or(5),
            json: value("--json").map(PathBuf::from),
        })
    }
}

/// The published shinkai generator on backend `B`, or `None` when its weights are absent.
fn published<B: Backend>(
    weights_dir: &Option<PathBuf>,
    device: &B::Device,
) -> Option<Generator<B>> {
    let registry = StyleRegistry {
        weights_dir: weights_dir.clone(),
        allow_download: false,
        ..StyleRegistry::default()
    };
    let dir = registry.locate(Style::Shinkai).ok()?;
    load_published_generator::<B>(&dir, device).ok()
}

/// Cartoonizes interleaved RGB with the published generator through burn on the device.
struct CartoonizeOnDevice<'a> {
    weights_dir: &'a Option<PathBuf>,
    rgb: &'a [f32],
    width: usize,
    height: usize,
}

impl BackendTask for CartoonizeOnDevice<'_> {
    type Output = anyhow::Result<Vec<f32>>;
    fn run<B: Backend>(self, device: B::Device) -> Self::Output {
        let g = published::<B>(self.weights_dir, &device).context("published weights")?;
        let t = BurnTranslator::new(g, &GeneratorConfig::published(), device);
        Ok(cartoonize_image(
            &t,
            self.rgb,
            self.width,
            self.height,
            TileOptions::default(),
        ))
    }
}

/// Median seconds of the generator forward at `size`², batch `batch`, on the device.
struct TimeForward {
    weights_dir: Option<PathBuf>,
    size: usize,
    batch: usize,
    runs: usize,
}

impl BackendTask for TimeForward {
    type Output = f64;
    fn run<B: Backend>(self, device: B::Device) -> f64 {
        let g = published::<B>(&self.weights_dir, &device)
            .unwrap_or_else(|| GeneratorConfig::published().init::<B>(&device));
        let x = Tensor::<B, 4>::random(
            [self.batch, 3, self.size, self.size],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let once = || {
            let y = g.forward(x.clone());
            // Reading one value back waits for the device to finish the whole forward.
            let _ = y.slice([0..1, 0..1, 0..1, 0..1]).into_data();
        };
        median_seconds(self.runs, once)
    }
}

/// Seconds per full-size CartoonGAN adversarial step (random VGG weights: timing only).
struct TimeTrainStep {
    size: usize,
    batch: usize,
    runs: usize,
}

impl AutodiffBackendTask for TimeTrainStep {
    type Output = anyhow::Result<f64>;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let mut config = TrainConfig::new();
        config.cartoongan.content.weights = "random".into();
        let mut model = CartoonGan::<B>::new(&config.cartoongan, &config.train, &device)?;
        let input = || {
            Tensor::<B, 4>::random(
                [self.batch, 3, self.size, self.size],
                Distribution::Uniform(-1.0, 1.0),
                &device,
            )
        };
        let (x, c, s) = (input(), input(), input());
        // step_tensors reads its losses back, so each step ends synchronised.
        Ok(median_seconds(self.runs, || {
            model.step_tensors(x.clone(), c.clone(), s.clone(), Phase::Adversarial);
        }))
    }
}

/// Losses and tensors after each of the two steps of the parity fixture.
type StepResult = Vec<(Losses, HashMap<String, Vec<f32>>)>;

/// The tiny configuration's init step then adversarial step, from the parity fixture's
/// initial weights and batch (`tests/fixtures/train`, made by tools/ref_cartoongan_train_step.py).
struct TinySteps<'a> {
    fixtures: &'a Path,
}

impl AutodiffBackendTask for TinySteps<'_> {
    type Output = anyhow::Result<StepResult>;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let mut config = TrainConfig::new();
        config.apply_preset("tiny")?;
        let mut model = CartoonGan::<B>::new(&config.cartoongan, &config.train, &device)?;
        let init = self.fixtures.join("step_init.safetensors");
        load_prefixed(&mut model.g, &init, "g").map_err(anyhow::Error::msg)?;
        load_prefixed(&mut model.d, &init, "d").map_err(anyhow::Error::msg)?;
        load_prefixed(&mut model.content.network, &init, "vgg").map_err(anyhow::Error::msg)?;
        let bytes = std::fs::read(&init).with_context(|| init.display().to_string())?;
        let st = safetensors::SafeTensors::deserialize(&bytes)?;
        let batch = |name: &str| -> anyhow::Result<Tensor<B, 4>> {
            let v = st.tensor(name)?;
            let data: Vec<f32> = bytemuck::cast_slice::<u8, f32>(v.data()).to_vec();
            Ok(Tensor::from_data(
                TensorData::new(data, [2, 3, 64, 64]),
                &device,
            ))
        };
        let (p, c, s) = (
            batch("batch.photos")?,
            batch("batch.cartoons")?,
            batch("batch.smoothed")?,
        );
        let mut out = Vec::new();
        for phase in [Phase::Init, Phase::Adversarial] {
            let losses = model.step_tensors(p.clone(), c.clone(), s.clone(), phase);
            fn prefixed(
                prefix: &'static str,
                t: HashMap<String, Vec<f32>>,
            ) -> impl Iterator<Item = (String, Vec<f32>)> {
                t.into_iter()
                    .map(move |(k, v)| (format!("{prefix}.{k}"), v))
            }
            let mut weights: HashMap<String, Vec<f32>> = prefixed("g", tensors(&model.g)).collect();
            weights.extend(prefixed("d", tensors(&model.d)));
            out.push((losses, weights));
        }
        Ok(out)
    }
}

fn median_seconds(runs: usize, mut once: impl FnMut()) -> f64 {
    once(); // warm-up: kernel compilation and autotuning happen here
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            once();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// max |a − b| / max |b| (the parity tests' measure).
fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    let scale = b
        .iter()
        .fold(0f64, |m, &v| m.max(v.abs() as f64))
        .max(1e-12);
    let diff = a
        .iter()
        .zip(b)
        .fold(0f64, |m, (&x, &y)| m.max((x as f64 - y as f64).abs()));
    diff / scale
}

/// Whether `key` is a conv bias feeding batch norm (zero true gradient: Adam turns its
/// rounding noise into ±lr steps, so it is not compared; see tests/train.rs).
fn feeds_batch_norm(key: &str, all: &HashMap<String, Vec<f32>>) -> bool {
    key.strip_suffix(".conv.bias").is_some_and(|base| {
        all.contains_key(&format!("{}.weight", base.replace("conv", "norm")))
            || all.contains_key(&format!("{base}.norm.weight"))
    })
}

/// Worst relative error of losses and weights between two runs of [`TinySteps`].
fn compare_steps(a: &StepResult, b: &StepResult) -> (f64, f64, String) {
    let (mut loss_err, mut weight_err, mut worst) = (0f64, 0f64, String::new());
    for ((la, wa), (lb, wb)) in a.iter().zip(b) {
        for ((_, x), (_, y)) in la.iter().zip(lb) {
            loss_err = loss_err.max((x - y).abs() / y.abs().max(1e-12));
        }
        for (key, want) in wb {
            if key.ends_with("running_mean") || key.ends_with("running_var") {
                continue;
            }
            if feeds_batch_norm(key, wb) {
                continue;
            }
            let Some(have) = wa.get(key) else { continue };
            let e = rel_err(have, want);
            if e > weight_err {
                weight_err = e;
                worst = key.clone();
            }
        }
    }
    (loss_err, weight_err, worst)
}

/// The burn features this binary was built with, as the rows name them.
fn burn_features() -> &'static str {
    match (cfg!(feature = "fusion"), cfg!(feature = "autotune")) {
        (false, false) => "plain",
        (true, false) => "fusion",
        (false, true) => "autotune",
        (true, true) => "fusion+autotune",
    }
}

fn main() -> anyhow::Result<()> {
    let o = Options::parse()?;
    o.device.check()?;
    let dev = o.device.to_string();
    let burn = burn_features();
    eprintln!("device {dev}, burn {burn}");
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let mut failed = false;

    // 1. Published generator on a real photo: device (burn) vs the CPU engine, in 8-bit levels.
    let img = decode_image(&o.photo).with_context(|| o.photo.display().to_string())?;
    let (mut w, mut h) = (img.width as usize, img.height as usize);
    let mut rgb = img.rgb;
    if o.quick {
        let (cw, ch) = (w.min(256), h.min(256));
        rgb = (0..ch)
            .flat_map(|y| rgb[y * w * 3..(y * w + cw) * 3].to_vec())
            .collect();
        (w, h) = (cw, ch);
    }
    match published::<Cpu>(&o.weights_dir, &Default::default()) {
        None => eprintln!("generator check skipped: no shinkai weights (--weights-dir)"),
        Some(g) => {
            let cpu = CpuGenerator::from_generator(&g, &GeneratorConfig::published())?;
            let want = cartoonize_image(&cpu, &rgb, w, h, TileOptions::default());
            let got = o.device.run(CartoonizeOnDevice {
                weights_dir: &o.weights_dir,
                rgb: &rgb,
                width: w,
                height: h,
            })??;
            let diffs: Vec<i32> = got
                .iter()
                .zip(&want)
                .map(|(&a, &b)| (to_u8(a) as i32 - to_u8(b) as i32).abs())
                .collect();
            let max = diffs.iter().copied().max().unwrap_or(0);
            let over = diffs.iter().filter(|&&d| d > 1).count();
            let ok = max <= 1;
            failed |= !ok;
            eprintln!(
                "generator {w}x{h} on {dev} vs CPU engine: max {max} levels, {over} values off by more than 1 -> {}",
                if ok { "ok" } else { "FAILED" }
            );
            rows.push(
                json!({"check": "generator vs cpu", "device": dev, "burn": burn, "image": format!("{w}x{h}"),
                "max_levels": max, "values_over_1": over, "ok": ok}),
            );
        }
    }

    // 2. One tiny training step (init, then adversarial) vs the CPU and vs PyTorch (float64).
    let on_device = o.device.run_autodiff(TinySteps {
        fixtures: &o.fixtures,
    })??;
    let on_cpu = DeviceChoice::Cpu.run_autodiff(TinySteps {
        fixtures: &o.fixtures,
    })??;
    let (loss_err, weight_err, worst) = compare_steps(&on_device, &on_cpu);
    let ok = loss_err <= 1e-3 && weight_err <= 1e-3;
    failed |= !ok;
    eprintln!(
        "tiny train step on {dev} vs CPU: losses rel {loss_err:.2e}, weights rel {weight_err:.2e} (worst {worst}) -> {}",
        if ok { "ok" } else { "FAILED" }
    );
    rows.push(
        json!({"check": "train step vs cpu", "device": dev, "burn": burn, "loss_rel": loss_err,
        "weight_rel": weight_err, "worst": worst, "ok": ok}),
    );

    // 3. Timings.
    let (sizes, batches, train_size, train_batch) = if o.quick {
        (vec![64usize], vec![1usize, 2], 64usize, 2usize)
    } else {
        (vec![256, 1024], vec![1, 8], 256, 8)
    };
    let mut table = String::from(
        "| device | burn | work | batch | size | median s | images/s |\n|---|---|---|---:|---:|---:|---:|\n",
    );
    for &size in &sizes {
        for &batch in &batches {
            let s = o.device.run(TimeForward {
                weights_dir: o.weights_dir.clone(),
                size,
                batch,
                runs: o.runs,
            })?;
            table += &format!(
                "| {dev} | {burn} | generator forward | {batch} | {size} | {s:.4} | {:.1} |\n",
                batch as f64 / s
            );
            rows.push(
                json!({"timing": "generator forward", "device": dev, "burn": burn, "batch": batch,
                "size": size, "median_s": s}),
            );
        }
    }
    let s = o.device.run_autodiff(TimeTrainStep {
        size: train_size,
        batch: train_batch,
        runs: o.runs.min(5),
    })??;
    table += &format!(
        "| {dev} | {burn} | CartoonGAN train step | {train_batch} | {train_size} | {s:.4} | {:.1} |\n",
        train_batch as f64 / s
    );
    rows.push(
        json!({"timing": "cartoongan train step", "device": dev, "burn": burn, "batch": train_batch,
        "size": train_size, "median_s": s}),
    );
    println!("{table}");
    if let Some(path) = &o.json {
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(path, text).with_context(|| path.display().to_string())?;
    }
    if failed {
        bail!("a correctness check failed");
    }
    Ok(())
}
