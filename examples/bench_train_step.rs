//! toongan side of the training-step benchmarks, one per model of the study, each beside the
//! same step in PyTorch:
//! - `--model cartoongan` (default; `bench/pytorch_train_step.py`): full-size G + D + VGG19
//!   conv4_4 (random weights), one adversarial step;
//! - `--model cyclegan` (`bench/pytorch_cyclegan_train_step.py`, junyanz's step): two ResNet
//!   generators (width 64, 9 blocks), two PatchGANs, LSGAN, cycle and identity losses, image
//!   pools of 50, one step (G with the Ds frozen, then D).
//!
//! `cargo run --release --example bench_train_step -- --model cyclegan --batch 1 --steps 2`
//!
//! Flags: `--batch N` (1), `--size PX` (256), `--steps N` (3), `--no-winograd`, `--trim-heap`
//! (glibc's default heap trimming, see `toongan::backend::keep_freed_memory`),
//! `--weight-grad-chunk-kib N` (the im2col weight gradients' chunk size, see
//! `toongan::backend::set_weight_grad_chunk_bytes`). Prints seconds
//! per step (mean of the timed steps after one warm-up step) and the peak resident memory
//! (VmHWM), on one line that names the model.

use std::time::Instant;

use burn::tensor::{Distribution, Tensor};
use toongan::backend::CpuAutodiff;
use toongan::train::{
    CartoonGan, CycleGan, CycleGanConfig, Losses, Phase, ScheduleConfig, TrainConfig,
};

/// The value after `--name` on the command line, if any.
fn value(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}

fn arg(name: &str, default: usize) -> usize {
    value(name).and_then(|v| v.parse().ok()).unwrap_or(default)
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
    // As the `toongan` binary does; `--trim-heap` keeps glibc's defaults, to measure it.
    if !std::env::args().any(|a| a == "--trim-heap") {
        toongan::backend::keep_freed_memory();
    }
    if !winograd {
        use toongan::backend::{ConvAlgorithm, set_conv_algorithm};
        set_conv_algorithm(ConvAlgorithm::Im2col);
    }
    if let Some(kib) = value("--weight-grad-chunk-kib").and_then(|v| v.parse::<usize>().ok()) {
        toongan::backend::set_weight_grad_chunk_bytes(kib << 10);
    }
    let model = value("--model").unwrap_or_else(|| "cartoongan".into());
    let device = Default::default();
    let input = || {
        Tensor::<CpuAutodiff, 4>::random(
            [batch, 3, size, size],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        )
    };
    let (x, c, s) = (input(), input(), input());
    // One adversarial step of the chosen model on the same three batches each time.
    let mut step: Box<dyn FnMut() -> Losses> = match model.as_str() {
        "cartoongan" => {
            let mut config = TrainConfig::new();
            config.cartoongan.content.weights = "random".into();
            let mut gan =
                CartoonGan::<CpuAutodiff>::new(&config.cartoongan, &config.train, &device)
                    .expect("model");
            Box::new(move || gan.step_tensors(x.clone(), c.clone(), s.clone(), Phase::Adversarial))
        }
        "cyclegan" => {
            let schedule = ScheduleConfig::new();
            let lr = schedule.lr;
            let mut gan = CycleGan::<CpuAutodiff>::new(&CycleGanConfig::new(), &schedule, &device)
                .expect("model");
            Box::new(move || {
                gan.step_tensors(x.clone(), c.clone(), s.clone(), Phase::Adversarial, lr)
            })
        }
        other => {
            eprintln!("error: unknown --model {other}: use cartoongan or cyclegan");
            std::process::exit(2);
        }
    };
    step();
    let (t, cpu0) = (Instant::now(), cpu_seconds());
    for _ in 0..steps {
        step();
    }
    let dt = t.elapsed().as_secs_f64() / steps as f64;
    let cpu = (cpu_seconds() - cpu0) / steps as f64;
    println!(
        "toongan {model} batch {batch} {size}px: {dt:.2} s/step ({cpu:.2} CPU s), peak RSS {:.0} MiB (FastCpu, {} rayon threads, Winograd {})",
        peak_rss_mib(),
        rayon::current_num_threads(),
        if winograd { "on" } else { "off" }
    );
}
