//! Times the training backend's two convolution algorithms on the 3x3 stride-1 layer shapes
//! of a CartoonGAN training step at 256² (generator residual blocks, VGG19 up to conv4_4,
//! the discriminator): im2col + GEMM against Winograd F(4x4, 3x3), for the forward pass, the
//! data gradient and the weight gradient, batch 1, each layer forced to each algorithm.
//! What `FastCpu`'s Winograd thresholds (channels, pixels) are read from.
//!
//! `cargo run --release --example conv_kernels_bench [-- --reps 5]`

use std::time::Instant;

use burn_backend::ops::{ConvOptions, ModuleOps};
use burn_flex::FlexTensor;
use toongan::backend::{ConvAlgorithm, FastCpu, set_conv_algorithm};

fn tensor(shape: [usize; 4], seed: usize) -> FlexTensor {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| ((i * 7919 + seed * 104_729) % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    FlexTensor::from_data(burn::tensor::TensorData::new(data, shape.to_vec()))
}

/// Mean seconds of `reps` runs of `f` after one warm-up run.
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    t.elapsed().as_secs_f64() / reps as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps = args
        .iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(3);
    // (what, channels in, channels out, input size, zero padding)
    let layers = [
        ("G residual conv (reflect-padded)", 256, 256, 66, 0),
        ("G down/up conv 128", 128, 128, 130, 0),
        ("G up conv 64", 64, 64, 258, 0),
        ("VGG conv1_2", 64, 64, 256, 1),
        ("VGG conv2_2", 128, 128, 128, 1),
        ("VGG conv3_2", 256, 256, 64, 1),
        ("VGG conv4_2", 512, 512, 32, 1),
        ("D conv 64->128", 64, 128, 128, 1),
        ("D conv 32 (3 in)", 3, 32, 256, 1),
    ];
    println!("| layer | C→K, input | pass | im2col + GEMM | Winograd | speed-up |");
    println!("|---|---|---|---:|---:|---:|");
    for (name, c, k, hw, p) in layers {
        let x = tensor([1, c, hw, hw], 1);
        let w = tensor([k, c, 3, 3], 2);
        let o = hw + 2 * p - 2;
        let grad = tensor([1, k, o, o], 3);
        let opts = ConvOptions::new([1, 1], [p, p], [1, 1], 1);
        let run = |pass: &str| {
            let (x, w, grad, opts) = (x.clone(), w.clone(), grad.clone(), opts.clone());
            match pass {
                "forward" => FastCpu::conv2d(x, w, None, opts),
                "data grad" => FastCpu::conv2d_x_backward(x, w, grad, opts),
                _ => FastCpu::conv2d_weight_backward(x, w, grad, opts),
            };
        };
        for pass in ["forward", "data grad", "weight grad"] {
            set_conv_algorithm(ConvAlgorithm::Im2col);
            let im2col = time(reps, || run(pass));
            set_conv_algorithm(ConvAlgorithm::Winograd);
            let winograd = time(reps, || run(pass));
            println!(
                "| {name} | {c}→{k}, {hw}² pad {p} | {pass} | {:.1} ms | {:.1} ms | {:.2}x |",
                im2col * 1e3,
                winograd * 1e3,
                im2col / winograd
            );
        }
    }
}
