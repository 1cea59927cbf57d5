//! The GPU code path on every CI run: burn's wgpu backend (the CubeCL kernels CUDA also runs,
//! compiled to WGSL for Vulkan/Metal) against the CPU, on whatever adapter the machine has.
//! CI has no GPU and runs these on Mesa's software Vulkan (lavapipe) through `wgpu:cpu`.
//!
//! - each published style's generator on a shared photo (small) vs the CPU engine: ≤ 1 level;
//! - one tiny CartoonGAN step (init, then adversarial) and one tiny CycleGAN step (identity and
//!   edge loss) vs the same steps on the CPU, from the parity fixtures' weights and batches:
//!   losses and every updated weight within 1e-3 relative;
//! - FID Inception features (pytorch-fid's architecture on the fixture's deterministic
//!   weights) vs the CPU: ≤ 1e-4 of the features' scale.
//!
//! The adapter: `$TOONGAN_TEST_WGPU` (`wgpu:N` or `wgpu:cpu`) if set, else the first GPU, else
//! the software adapter. No adapter skips each test with a message, and fails it when
//! `CI=true`; a build without `--features wgpu` says it skipped them.

mod common;

/// Skips (with a message) or, on CI, fails a test that cannot run here.
#[cfg(feature = "wgpu")]
fn skip(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true, so this must run: {why}");
    }
    eprintln!("SKIPPED (wgpu): {why}");
}

/// The most a parameter can move in `steps` Adam steps of learning rate `lr` whatever its
/// gradients (ε = 0, the worst case). Step t moves it by lr·|m̂ₜ|/√v̂ₜ, and by Cauchy–Schwarz
/// over the gradients' history
/// |m̂ₜ|/√v̂ₜ ≤ (1−β₁)/(1−β₁ᵗ) · √((1−β₂ᵗ)/(1−β₂)) · √(Σₖ₌₀ᵗ⁻¹ (β₁²/β₂)ᵏ),
/// which is 1 at t = 1 but more after (1.0539 at t = 2 for β = (0.5, 0.999)): a
/// zero-gradient bias driven by rounding noise may drift that far on each side.
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
fn adam_max_drift(steps: usize, lr: f64, beta1: f64, beta2: f64) -> f64 {
    (1..=steps as i32)
        .map(|t| {
            let history: f64 = (0..t).map(|k| (beta1 * beta1 / beta2).powi(k)).sum();
            (1.0 - beta1) / (1.0 - beta1.powi(t))
                * ((1.0 - beta2.powi(t)) / (1.0 - beta2)).sqrt()
                * history.sqrt()
        })
        .sum::<f64>()
        * lr
}

#[test]
fn adams_drift_bound_is_lr_then_1_0539_lr_more() {
    let lr = 2e-4;
    assert!((adam_max_drift(1, lr, 0.5, 0.999) - lr).abs() < 1e-18);
    let second = adam_max_drift(2, lr, 0.5, 0.999) - lr;
    assert!((second / lr - 1.0539).abs() < 1e-4, "{}", second / lr);
    // Later steps may move further still (1.1335·lr at t = 3).
    let third = adam_max_drift(3, lr, 0.5, 0.999) - adam_max_drift(2, lr, 0.5, 0.999);
    assert!((third / lr - 1.1335).abs() < 1e-4, "{}", third / lr);
}

/// A build without the `wgpu` feature (`cargo test --release`) says it left these out and
/// passes; CI builds with it (`.ci/run`) and installs Mesa's software Vulkan for it.
#[cfg(not(feature = "wgpu"))]
#[test]
fn wgpu_tests_need_the_wgpu_feature() {
    eprintln!(
        "SKIPPED (wgpu): built without the wgpu feature: cargo test --release --features wgpu"
    );
}

#[cfg(feature = "wgpu")]
mod on_wgpu {
    use std::collections::HashMap;
    use std::sync::OnceLock;

    use burn::store::ModuleSnapshot;
    use burn::tensor::backend::{AutodiffBackend, Backend};
    use burn::tensor::{Tensor, TensorData};
    use toongan::backend::WgpuDevice;
    use toongan::backend::{
        Cpu, CpuAutodiff, DeviceChoice, Wgpu, WgpuAdapter, WgpuAutodiff, wgpu_device,
    };
    use toongan::cartoonize::{
        BurnTranslator, GPU_FRAME_BATCH_BYTES, MAX_FRAME_BATCH, TileOptions, Translator,
        cartoonize_frames_together, cartoonize_image,
    };
    use toongan::engine::CpuGenerator;
    use toongan::eval::{ExtractOptions, extract_features};
    use toongan::imageio::to_u8;
    use toongan::model::{
        FidInceptionConfig, GeneratorConfig, PatchGanConfig, ResnetGeneratorConfig,
    };
    use toongan::train::{
        CartoonGan, CycleGan, CycleGanConfig, Losses, Phase, ScheduleConfig, TrainConfig,
    };
    use toongan::weights::{Style, load_fid_inception, load_published_generator};

    use super::common::modules::load_prefixed;
    use super::common::rel_err;
    use super::{adam_max_drift, common, skip};

    /// The wgpu device the tests run on, chosen once (`None`: skipped, with the reason).
    fn device() -> Option<WgpuDevice> {
        static CHOSEN: OnceLock<Result<(WgpuDevice, String), String>> = OnceLock::new();
        let chosen = CHOSEN.get_or_init(|| {
            let choice = match std::env::var("TOONGAN_TEST_WGPU") {
                Ok(name) => match name.parse::<DeviceChoice>() {
                    Ok(DeviceChoice::Wgpu(adapter)) => adapter,
                    _ => return Err(format!("TOONGAN_TEST_WGPU={name} is not a wgpu device")),
                },
                Err(_) => {
                    let adapters = toongan::backend::adapters();
                    if adapters.iter().any(|a| !a.is_software()) {
                        WgpuAdapter::Hardware(0)
                    } else {
                        WgpuAdapter::Software
                    }
                }
            };
            let (device, info) = toongan::backend::wgpu_device_with_info(choice)
                .map_err(|e| format!("{choice}: {e}"))?;
            // The same check the commands run (`--device wgpu…`), through the public entry.
            wgpu_device(choice).map_err(|e| e.to_string())?;
            Ok((device, format!("{choice} = {}", info.describe())))
        });
        match chosen {
            Ok((device, name)) => {
                eprintln!("on {name}");
                Some(device.clone())
            }
            Err(why) => {
                skip(why);
                None
            }
        }
    }

    /// A shared photo, downscaled to `width` px wide: interleaved RGB in [0, 1].
    fn small_photo(name: &str, width: u32) -> (Vec<f32>, usize, usize) {
        let img = image::open(common::photo(name)).expect("shared photo");
        let height = (img.height() * width / img.width()).max(4) & !3;
        let rgb = img
            .resize_exact(width, height, image::imageops::FilterType::Triangle)
            .to_rgb8();
        let data = rgb.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
        (data, width as usize, height as usize)
    }

    #[test]
    fn every_published_style_matches_the_cpu_engine_within_one_level() {
        let Some(device) = device() else { return };
        let weights = common::weights_dir();
        let (rgb, w, h) = small_photo("cat.png", 96);
        let config = GeneratorConfig::published();
        for style in Style::ALL {
            let dir = weights.join(style.name());
            let g = load_published_generator::<Cpu>(&dir, &Default::default()).unwrap();
            let cpu = CpuGenerator::from_generator(&g, &config).unwrap();
            let want = cartoonize_image(&cpu, &rgb, w, h, TileOptions::default());
            let g = load_published_generator::<Wgpu>(&dir, &device).unwrap();
            let gpu = BurnTranslator::new(g, &config, device.clone());
            let got = cartoonize_image(&gpu, &rgb, w, h, TileOptions::default());
            assert_eq!(got.len(), want.len());
            let diffs: Vec<u8> = got
                .iter()
                .zip(&want)
                .map(|(&a, &b)| to_u8(a).abs_diff(to_u8(b)))
                .collect();
            let max = diffs.iter().copied().max().unwrap();
            let over = diffs.iter().filter(|&&d| d > 1).count();
            eprintln!(
                "{}: {w}x{h}, max {max} level(s), {over} values off by more than 1",
                style.name()
            );
            assert!(max <= 1, "{}: max {max} levels off", style.name());
        }
    }

    #[test]
    fn video_frames_go_to_the_gpu_in_batches_each_with_its_own_result() {
        let Some(device) = device() else { return };
        let (rgb, w, _) = small_photo("cat.png", 100);
        // Five 62x46 frames (padded to 64x48 and cropped back): a window moving 2 px a frame.
        let (fw, fh) = (62, 46);
        let frames: Vec<Vec<f32>> = (0..5)
            .map(|t| {
                (0..fh)
                    .flat_map(|y| {
                        let start = (y * w + 2 * t) * 3;
                        rgb[start..start + fw * 3].to_vec()
                    })
                    .collect()
            })
            .collect();
        let g = load_published_generator::<Wgpu>(&common::weights_dir().join("hayao"), &device)
            .unwrap();
        let gpu = BurnTranslator::new(g, &GeneratorConfig::published(), device.clone())
            .with_frame_batches(GPU_FRAME_BATCH_BYTES);
        assert_eq!(gpu.frame_batch(fw, fh), MAX_FRAME_BATCH);
        let inputs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let together = cartoonize_frames_together(&gpu, &inputs, fw, fh, TileOptions::default());
        assert_eq!(together.len(), frames.len());
        for (t, (frame, got)) in frames.iter().zip(&together).enumerate() {
            let alone = cartoonize_image(&gpu, frame, fw, fh, TileOptions::default());
            assert_eq!(got.len(), alone.len());
            let max = got
                .iter()
                .zip(&alone)
                .map(|(&a, &b)| to_u8(a).abs_diff(to_u8(b)))
                .max()
                .unwrap();
            eprintln!("frame {t} in a batch of 5 vs alone: max {max} level(s)");
            assert!(max <= 1, "frame {t}: {max} levels from its own result");
        }
    }

    /// A module's tensors under PyTorch names, prefixed as in the fixtures.
    fn tensors<B: Backend, M: ModuleSnapshot<B>>(
        module: &M,
        prefix: &str,
    ) -> HashMap<String, Vec<f32>> {
        common::modules::tensors(module)
            .into_iter()
            .map(|(key, data)| (format!("{prefix}.{key}"), data))
            .collect()
    }

    /// The fixture's batch tensor `name` of `shape` on `device`.
    fn batch<B: Backend>(
        st: &safetensors::SafeTensors,
        name: &str,
        shape: [usize; 4],
        device: &B::Device,
    ) -> Tensor<B, 4> {
        let data: Vec<f32> = bytemuck::pod_collect_to_vec(st.tensor(name).unwrap().data());
        Tensor::from_data(TensorData::new(data, shape), device)
    }

    /// Losses and every weight after each step.
    type Steps = Vec<(Losses, HashMap<String, Vec<f32>>)>;

    /// The tiny CartoonGAN's init step then adversarial step, from the parity fixture
    /// (`tests/fixtures/train`, tools/ref_cartoongan_train_step.py).
    fn cartoongan_steps<B: AutodiffBackend>(device: &B::Device) -> Steps {
        let mut config = TrainConfig::new();
        config.apply_preset("tiny").unwrap();
        let mut model = CartoonGan::<B>::new(&config.cartoongan, &config.train, device).unwrap();
        let init = common::fixture("train/step_init.safetensors");
        load_prefixed(&mut model.g, &init, "g").unwrap();
        load_prefixed(&mut model.d, &init, "d").unwrap();
        load_prefixed(&mut model.content.network, &init, "vgg").unwrap();
        let bytes = std::fs::read(&init).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let b = |name| batch::<B>(&st, name, [2, 3, 64, 64], device);
        let (p, c, s) = (b("batch.photos"), b("batch.cartoons"), b("batch.smoothed"));
        [Phase::Init, Phase::Adversarial]
            .into_iter()
            .map(|phase| {
                let losses = model.step_tensors(p.clone(), c.clone(), s.clone(), phase);
                let mut weights = tensors(&model.g, "g");
                weights.extend(tensors(&model.d, "d"));
                (losses, weights)
            })
            .collect()
    }

    /// The tiny CycleGAN's adversarial step with identity and edge loss, from the parity
    /// fixture (`tests/fixtures/cyclegan_train`, tools/ref_cyclegan_train_step.py).
    fn cyclegan_step<B: AutodiffBackend>(device: &B::Device) -> Steps {
        let config = CycleGanConfig::new()
            .with_generator(
                ResnetGeneratorConfig::new()
                    .with_width(4)
                    .with_n_residual(2),
            )
            .with_discriminator(PatchGanConfig::new().with_width(4))
            .with_lambda_identity(0.5)
            .with_edge_smoothing_loss(true);
        let schedule = ScheduleConfig::new().with_lr(2e-4).with_epsilon(1e-8);
        let mut model = CycleGan::<B>::new(&config, &schedule, device).unwrap();
        let init = common::fixture("cyclegan_train/init.safetensors");
        load_prefixed(&mut model.g.a, &init, "g_a").unwrap();
        load_prefixed(&mut model.g.b, &init, "g_b").unwrap();
        load_prefixed(&mut model.d.a, &init, "d_a").unwrap();
        load_prefixed(&mut model.d.b, &init, "d_b").unwrap();
        let bytes = std::fs::read(&init).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let b = |name| batch::<B>(&st, name, [2, 3, 40, 40], device);
        let losses = model.step_tensors(
            b("batch.photos"),
            b("batch.cartoons"),
            b("batch.smoothed"),
            Phase::Adversarial,
            2e-4,
        );
        let mut weights = tensors(&model.g.a, "g_a");
        weights.extend(tensors(&model.g.b, "g_b"));
        weights.extend(tensors(&model.d.a, "d_a"));
        weights.extend(tensors(&model.d.b, "d_b"));
        vec![(losses, weights)]
    }

    /// Compares GPU steps with CPU steps: every loss and every weight within `tol` relative.
    /// `zero_gradient(key)`: a bias right before a norm layer, whose true gradient is zero; both
    /// sides' gradients are rounding noise, which Adam turns into steps of up to about lr each
    /// (as in tests/train.rs and tests/cyclegan_train.rs), so after step k only
    /// |Δ| ≤ 2 · [`adam_max_drift`](k) holds for it. Adam's β are ScheduleConfig's defaults.
    fn compare(gpu: &Steps, cpu: &Steps, tol: f64, lr: f64, zero_gradient: impl Fn(&str) -> bool) {
        let defaults = ScheduleConfig::new();
        let (beta1, beta2) = (f64::from(defaults.beta1), f64::from(defaults.beta2));
        assert_eq!(gpu.len(), cpu.len());
        let (mut worst_loss, mut worst_weight, mut worst_key) = (0f64, 0f64, String::new());
        for (step, ((lg, wg), (lc, wc))) in gpu.iter().zip(cpu).enumerate() {
            assert_eq!(lg.len(), lc.len());
            for ((name, g), (_, c)) in lg.iter().zip(lc) {
                let err = if *c == 0.0 {
                    g.abs()
                } else {
                    (g - c).abs() / c.abs()
                };
                assert!(
                    err <= tol,
                    "step {step} loss {name}: {g} vs {c} (rel {err:e})"
                );
                worst_loss = worst_loss.max(err);
            }
            assert_eq!(wg.len(), wc.len());
            let mut compared = 0;
            for (key, want) in wc {
                if key.ends_with("running_mean") || key.ends_with("running_var") {
                    continue;
                }
                let have = &wg[key];
                if zero_gradient(key) {
                    let bound = 2.0 * adam_max_drift(step + 1, lr, beta1, beta2);
                    for (h, w) in have.iter().zip(want) {
                        let diff = (h - w).abs() as f64;
                        assert!(
                            diff <= bound,
                            "step {step} {key}: {h} vs {w} (bound {bound:e})"
                        );
                    }
                    continue;
                }
                let err = rel_err(have, want);
                assert!(err <= tol, "step {step} {key}: rel. error {err:e}");
                if err > worst_weight {
                    (worst_weight, worst_key) = (err, key.clone());
                }
                compared += 1;
            }
            assert!(compared > 10, "only {compared} tensors compared");
        }
        eprintln!(
            "worst rel. errors: losses {worst_loss:.2e}, weights {worst_weight:.2e} ({worst_key})"
        );
    }

    #[test]
    fn tiny_cartoongan_steps_match_the_cpu() {
        let Some(device) = device() else { return };
        let gpu = cartoongan_steps::<WgpuAutodiff>(&device);
        let cpu = cartoongan_steps::<CpuAutodiff>(&Default::default());
        let weights = &cpu[0].1;
        // A conv bias feeding batch norm (the discriminator's; the generator's norm layers).
        let feeds_batch_norm = |key: &str| {
            key.strip_suffix(".conv.bias").is_some_and(|base| {
                weights.contains_key(&format!("{}.weight", base.replace("conv", "norm")))
                    || weights.contains_key(&format!("{base}.norm.weight"))
            })
        };
        compare(&gpu, &cpu, 1e-3, 2e-4, feeds_batch_norm);
    }

    #[test]
    fn tiny_cyclegan_step_matches_the_cpu() {
        let Some(device) = device() else { return };
        let gpu = cyclegan_step::<WgpuAutodiff>(&device);
        let cpu = cyclegan_step::<CpuAutodiff>(&Default::default());
        // Every conv but the generator's output conv and the PatchGAN's first (`layers.0`)
        // and last (`output`) feeds instance norm (tests/cyclegan_train.rs).
        let feeds_instance_norm = |key: &str| {
            let key = key.split_once('.').map_or(key, |(_, k)| k);
            key.ends_with(".bias") && !key.starts_with("output.") && !key.starts_with("layers.0.")
        };
        compare(&gpu, &cpu, 1e-3, 2e-4, feeds_instance_norm);
    }

    #[test]
    fn inception_features_match_the_cpu() {
        let Some(device) = device() else { return };
        let dir = common::fixture("eval");
        let weights = dir.join("pt_inception_test.pth");
        let paths: Vec<_> = (0..2)
            .map(|i| dir.join(format!("inception_input_{i}.png")))
            .collect();
        let options = ExtractOptions {
            dims: 2048,
            batch_size: 2,
            workers: 2,
        };
        let config = FidInceptionConfig::new();
        let gpu_model = load_fid_inception::<Wgpu>(&weights, &config, &device).unwrap();
        let gpu = extract_features(&gpu_model, &paths, &options, &device, |_, _| {}).unwrap();
        let cpu_model = load_fid_inception::<Cpu>(&weights, &config, &Default::default()).unwrap();
        let cpu =
            extract_features(&cpu_model, &paths, &options, &Default::default(), |_, _| {}).unwrap();
        assert_eq!(gpu.paths, paths);
        for i in 0..paths.len() {
            let row = i * 2048..(i + 1) * 2048;
            let err = rel_err(&gpu.features.values[row.clone()], &cpu.features.values[row]);
            eprintln!("image {i}: max rel. error {err:.2e}");
            assert!(err <= 1e-4, "image {i}: max rel. error {err:e}");
        }
    }
}
