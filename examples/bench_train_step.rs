//! toongan side of the CartoonGAN training-step benchmark (see `bench/pytorch_train_step.py`
//! for the same step in PyTorch): full-size G + D + VGG19 conv4_4 (random weights), one
//! adversarial step at 256².
//!
//! `cargo run --release --example bench_train_step -- --batch 1 --steps 3`
//!
//! Prints seconds per step (mean of the timed steps after one warm-up step) and the peak
//! resident memory (VmHWM).

use std::time::Instant;

use burn::tensor::{Distribution, Tensor};
use toongan::backend::CpuAutodiff;
use toongan::train::TrainConfig;
use toongan::train::cartoongan::CartoonGan;
use toongan::train::gan_model::Phase;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) this process has used so far, all threads.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<&str> = s.rsplit(')').next()?.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
            // After the command name: state is field 3, utime 14 and stime 15 (1-based).
            Some((ticks(11)? + ticks(12)?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn main() {
    let (batch, size, steps) = (arg("--batch", 1), arg("--size", 256), arg("--steps", 3));
    let winograd = !std::env::args().any(|a| a == "--no-winograd");
    if !winograd {
        use toongan::backend::fast_cpu::{ConvAlgorithm, set_conv_algorithm};
        set_conv_algorithm(ConvAlgorithm::Im2col);
    }
    let device = Default::default();
    let mut config = TrainConfig::new();
    config.cartoongan.content.weights = "random".into();
    let mut model =
        CartoonGan::<CpuAutodiff>::new(&config.cartoongan, &config.train, &device).expect("model");
    let input = || {
        Tensor::<CpuAutodiff, 4>::random(
            [batch, 3, size, size],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        )
    };
    let (x, c, s) = (input(), input(), input());
    model.step_tensors(x.clone(), c.clone(), s.clone(), Phase::Adversarial);
    let (t, cpu0) = (Instant::now(), cpu_seconds());
    for _ in 0..steps {
        model.step_tensors(x.clone(), c.clone(), s.clone(), Phase::Adversarial);
    }
    let dt = t.elapsed().as_secs_f64() / steps as f64;
    let cpu = (cpu_seconds() - cpu0) / steps as f64;
    println!(
        "toongan batch {batch} {size}px: {dt:.2} s/step ({cpu:.2} CPU s), peak RSS {:.0} MiB (FastCpu, {} rayon threads, Winograd {})",
        peak_rss_mib(),
        rayon::current_num_threads(),
        if winograd { "on" } else { "off" }
    );
}
