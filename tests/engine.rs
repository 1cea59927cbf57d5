//! The fast CPU engine (`toongan::engine`): its kernels against naive float64 loops, its
//! generator against burn's on tiny random models of every configuration, and its output
//! against the independent float64 NumPy fixtures of the published styles.
//!
//! Needs `TOONGAN_WEIGHTS_DIR` (a folder with `<style>/*.npy`) for the fixture tests and
//! `TOONGAN_SHARED_DIR` (default `../shared`) for the tiling test. Run in release mode.

mod common;
use common::{shared_dir, weights_dir};

use std::path::PathBuf;

use burn::module::{Param, RunningState};
use burn::tensor::{Distribution, Tensor, TensorData};
use toongan::backend::Cpu;
use toongan::cartoonize::{BurnTranslator, TileOptions, Translator, cartoonize_image};
use toongan::engine::{CpuGenerator, Workspace};
use toongan::imageio::{decode_image, to_u8};
use toongan::kernels::{ConvTranspose, Im2colConv, Pad, TapConv, WinogradConv};
use toongan::model::{
    Activation, ChannelOrder, Generator, GeneratorConfig, Norm, NormKind, PaddingScheme,
};
use toongan::weights::{load_published_generator, read_npy};

/// Deterministic values in [-1, 1) (xorshift), so failures reproduce.
fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Padded read in float64: `None` where the padding is zero.
fn padded(plane: &[f32], h: usize, w: usize, y: isize, x: isize, pad: Pad) -> f64 {
    let reflect = |i: isize, n: usize| -> Option<usize> {
        let n = n as isize;
        let j = if i < 0 {
            -i
        } else if i >= n {
            2 * (n - 1) - i
        } else {
            i
        };
        (0..n).contains(&j).then_some(j as usize)
    };
    let inside = |i: isize, n: usize| (0..n as isize).contains(&i).then_some(i as usize);
    let (sy, sx) = match pad {
        Pad::Zeros(_) => (inside(y, h), inside(x, w)),
        Pad::Reflect(_) => (reflect(y, h), reflect(x, w)),
    };
    match (sy, sx) {
        (Some(y), Some(x)) => plane[y * w + x] as f64,
        _ => 0.0,
    }
}

/// Direct convolution in float64 (PyTorch semantics: cross-correlation, pad then conv).
#[allow(clippy::too_many_arguments)]
fn naive_conv(
    x: &[f32],
    wt: &[f32],
    b: &[f32],
    [k, c, ks, s]: [usize; 4],
    h: usize,
    w: usize,
    pad: Pad,
    p: usize,
) -> (Vec<f64>, usize, usize) {
    let (ho, wo) = ((h + 2 * p - ks) / s + 1, (w + 2 * p - ks) / s + 1);
    let mut out = vec![0.0f64; k * ho * wo];
    for ko in 0..k {
        for oy in 0..ho {
            for ox in 0..wo {
                let mut acc = b[ko] as f64;
                for ci in 0..c {
                    let plane = &x[ci * h * w..][..h * w];
                    for ky in 0..ks {
                        for kx in 0..ks {
                            let y = (oy * s + ky) as isize - p as isize;
                            let xx = (ox * s + kx) as isize - p as isize;
                            acc += wt[((ko * c + ci) * ks + ky) * ks + kx] as f64
                                * padded(plane, h, w, y, xx, pad);
                        }
                    }
                }
                out[(ko * ho + oy) * wo + ox] = acc;
            }
        }
    }
    (out, ho, wo)
}

fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn winograd_matches_naive_conv_on_edge_sizes_and_paddings() {
    let cases = [
        (1, 1, 2, 2),
        (3, 5, 7, 9),
        (8, 4, 4, 4),
        (5, 6, 13, 5),
        (16, 16, 12, 20),
    ];
    for (i, &(c, k, h, w)) in cases.iter().enumerate() {
        for pad in [Pad::Zeros(1), Pad::Reflect(1)] {
            for chunk in [usize::MAX, 1] {
                let seed = 100 * i as u64;
                let (x, wt, b) = (
                    random(c * h * w, seed),
                    random(k * c * 9, seed + 1),
                    random(k, seed + 2),
                );
                let (want, _, _) = naive_conv(&x, &wt, &b, [k, c, 3, 1], h, w, pad, 1);
                let conv = WinogradConv::new(&wt, &b, k, c).with_chunk_bytes(chunk);
                let mut out = vec![f32::NAN; k * h * w];
                conv.forward(&x, h, w, pad, &mut out, &mut Vec::new());
                let err = max_abs_diff(&out, &want);
                // Inputs and weights in [-1, 1): sums of 9c products; F(4x4,3x3) in f32
                // loses a few ulps of the largest transform-domain terms.
                assert!(
                    err < 2e-5 * (c as f64 * 9.0).sqrt(),
                    "c{c} k{k} {h}x{w} {pad:?} chunk {chunk}: {err}"
                );
            }
        }
    }
}

#[test]
fn im2col_and_tap_convs_match_naive_conv() {
    // (c, k, kernel, stride, h, w, pad)
    let cases = [
        (3, 8, 7, 1, 12, 10, Pad::Reflect(3)),
        (4, 6, 3, 2, 12, 16, Pad::Zeros(1)),
        (4, 6, 3, 2, 8, 12, Pad::Reflect(1)),
        (8, 3, 7, 1, 9, 11, Pad::Reflect(3)),
        (8, 3, 7, 1, 6, 8, Pad::Zeros(3)),
    ];
    for (i, &(c, k, ks, s, h, w, pad)) in cases.iter().enumerate() {
        let p = (ks - 1) / 2;
        let seed = 7 + i as u64;
        let (x, wt, b) = (
            random(c * h * w, seed),
            random(k * c * ks * ks, seed + 1),
            random(k, seed + 2),
        );
        let (want, ho, wo) = naive_conv(&x, &wt, &b, [k, c, ks, s], h, w, pad, p);
        for chunk in [usize::MAX, 1] {
            let conv = Im2colConv::new(&wt, &b, k, c, ks, s).with_chunk_bytes(chunk);
            assert_eq!((conv.out_size(h, pad), conv.out_size(w, pad)), (ho, wo));
            let mut out = vec![f32::NAN; k * ho * wo];
            conv.forward(&x, h, w, pad, &mut out, &mut Vec::new());
            let err = max_abs_diff(&out, &want);
            assert!(err < 1e-4, "im2col case {i} chunk {chunk}: {err}");
            if s == 1 {
                let tap = TapConv::new(&wt, &b, k, c, ks).with_chunk_bytes(chunk);
                let mut out = vec![f32::NAN; k * ho * wo];
                tap.forward(&x, h, w, pad, &mut out, &mut Vec::new());
                let err = max_abs_diff(&out, &want);
                assert!(err < 1e-4, "tap case {i} chunk {chunk}: {err}");
            }
        }
    }
}

#[test]
fn conv_transpose_matches_scatter_definition() {
    let (c, k, h, w) = (5, 4, 6, 7);
    let (x, wt, b) = (random(c * h * w, 1), random(c * k * 9, 2), random(k, 3));
    // PyTorch ConvTranspose2d(stride 2, padding 1, output_padding 1) by its definition.
    let (ho, wo) = (2 * h, 2 * w);
    let mut want = vec![0.0f64; k * ho * wo];
    for ko in 0..k {
        want[ko * ho * wo..][..ho * wo].fill(b[ko] as f64);
        for ci in 0..c {
            for iy in 0..h {
                for ix in 0..w {
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (oy, ox) = ((2 * iy + ky) as isize - 1, (2 * ix + kx) as isize - 1);
                            if (0..ho as isize).contains(&oy) && (0..wo as isize).contains(&ox) {
                                want[(ko * ho + oy as usize) * wo + ox as usize] +=
                                    x[(ci * h + iy) * w + ix] as f64
                                        * wt[((ci * k + ko) * 3 + ky) * 3 + kx] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    for chunk in [usize::MAX, 1] {
        let t = ConvTranspose::new(&wt, &b, [c, k], 3, 2, 1, 1).with_chunk_bytes(chunk);
        assert_eq!((t.out_size(h), t.out_size(w)), (ho, wo));
        let mut out = vec![f32::NAN; k * ho * wo];
        t.forward(&x, h, w, &mut out, &mut Vec::new());
        let err = max_abs_diff(&out, &want);
        assert!(err < 1e-5, "chunk {chunk}: {err}");
    }
}

/// Replaces norm parameters (and batch-norm running statistics) with random values, so
/// the comparison exercises them.
fn randomize_norms(g: &mut Generator<Cpu>, seed: &mut u64) {
    let device = Default::default();
    let mut rnd = |c: usize, lo: f64, hi: f64| {
        *seed += 1;
        Tensor::<Cpu, 1>::random([c], Distribution::Uniform(lo, hi), &device)
    };
    let mut fix = |n: &mut Norm<Cpu>| match n {
        Norm::Instance(n) => {
            let c = n.num_channels;
            n.gamma = Some(Param::from_tensor(rnd(c, 0.5, 1.5)));
            n.beta = Some(Param::from_tensor(rnd(c, -0.5, 0.5)));
        }
        Norm::Batch(n) => {
            let c = n.gamma.val().dims()[0];
            n.gamma = Param::from_tensor(rnd(c, 0.5, 1.5));
            n.beta = Param::from_tensor(rnd(c, -0.5, 0.5));
            n.running_mean = RunningState::new(rnd(c, -0.3, 0.3));
            n.running_var = RunningState::new(rnd(c, 0.2, 2.0));
        }
    };
    fix(&mut g.input_norm);
    g.down.iter_mut().for_each(|b| fix(&mut b.norm));
    for b in &mut g.residual {
        fix(&mut b.norm1);
        fix(&mut b.norm2);
    }
    g.up.iter_mut().for_each(|b| fix(&mut b.norm));
}

#[test]
fn engine_matches_burn_on_tiny_generators_of_every_configuration() {
    let device = Default::default();
    let tiny = GeneratorConfig::tiny;
    let configs = [
        ("instance/relu/published/bgr", tiny()),
        ("batch norm", tiny().with_norm(NormKind::Batch)),
        (
            "leaky relu",
            tiny().with_activation(Activation::LeakyRelu { slope: 0.2 }),
        ),
        (
            "reflect everywhere",
            tiny().with_padding(PaddingScheme::ReflectEverywhere),
        ),
        ("rgb", tiny().with_channel_order(ChannelOrder::Rgb)),
        (
            "all switches",
            tiny()
                .with_norm(NormKind::Batch)
                .with_activation(Activation::LeakyRelu { slope: 0.1 })
                .with_padding(PaddingScheme::ReflectEverywhere)
                .with_channel_order(ChannelOrder::Rgb)
                .with_width(12)
                .with_n_residual(3),
        ),
    ];
    let (h, w) = (36, 52);
    let mut seed = 0;
    for (name, config) in configs {
        let mut g = config.init::<Cpu>(&device);
        randomize_norms(&mut g, &mut seed);
        let x = random(3 * h * w, seed);
        let want: Vec<f32> = g
            .forward(Tensor::from_data(
                TensorData::new(x.clone(), [1, 3, h, w]),
                &device,
            ))
            .into_data()
            .convert::<f32>()
            .into_vec()
            .expect("f32 output");
        let engine = CpuGenerator::from_generator(&g, &config).expect("supported layout");
        let got = engine.forward_planar(&x, h, w, &mut Workspace::new());
        let err = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!("{name}: max |engine - burn| = {err:.2e}");
        assert!(err <= 1e-4, "{name}: max abs diff {err}");
        // The Translator path handles channel order like burn's.
        let rgb = random(3 * h * w, seed + 9)
            .iter()
            .map(|v| v * 0.5 + 0.5)
            .collect::<Vec<_>>();
        let a = engine.translate(&rgb, w, h);
        let b = BurnTranslator::new(g, &config, Default::default()).translate(&rgb, w, h);
        let err = a
            .iter()
            .zip(&b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err <= 1e-4, "{name}: translator max abs diff {err}");
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cartoongan")
}

/// Runs `translator` on a fixture input and checks every 8-bit output channel against the
/// float64 reference; returns the max float error.
fn check_fixture(translator: &dyn Translator, input: &str, style: &str) -> f64 {
    let img = decode_image(&fixtures().join(format!("{input}.png"))).expect("fixture input");
    let (w, h) = (img.width as usize, img.height as usize);
    let reference = read_npy(&fixtures().join(format!("{input}_{style}.npy"))).expect("fixture");
    assert_eq!(reference.shape, [h, w, 3]);
    let out = translator.translate(&img.rgb, w, h);
    let mut max_float = 0.0f64;
    let mut worst = 0.0f64;
    for (&o, &r) in out.iter().zip(&reference.data) {
        max_float = max_float.max((o as f64 - r as f64).abs());
        worst = worst.max((to_u8(o) as f64 / 255.0 - r as f64).abs());
    }
    eprintln!(
        "{input} {style}: max float error {max_float:.2e}, max 8-bit error {:.3}/255",
        worst * 255.0
    );
    assert!(
        worst <= 1.0 / 255.0 + 1e-7,
        "{input} {style}: 8-bit error {} levels",
        worst * 255.0
    );
    max_float
}

#[test]
fn engine_matches_float64_fixtures_of_every_published_style() {
    let dir = weights_dir();
    let config = GeneratorConfig::published();
    for (input, style) in [
        ("astronaut_192", "hayao"),
        ("astronaut_192", "shinkai"),
        ("cat_224x148", "hosoda"),
        ("cat_224x148", "paprika"),
        ("stairs_128", "shinkai"),
    ] {
        let g = load_published_generator::<Cpu>(&dir.join(style), &Default::default())
            .expect("weights");
        let engine = CpuGenerator::from_generator(&g, &config).expect("published layout");
        check_fixture(&engine, input, style);
    }
}

#[test]
fn burn_translator_matches_float64_fixture() {
    let dir = weights_dir();
    let device = Default::default();
    let g = load_published_generator::<Cpu>(&dir.join("shinkai"), &device).expect("weights");
    let burn = BurnTranslator::new(g, &GeneratorConfig::published(), device);
    check_fixture(&burn, "stairs_128", "shinkai");
}

/// The banded whole-image-statistics path with tiny bands (8 full-resolution rows), so every
/// band boundary, halo and reflection at the image's top and bottom is exercised.
struct Banded(CpuGenerator);

impl Translator for Banded {
    fn translate(&self, rgb: &[f32], width: usize, height: usize) -> Vec<f32> {
        self.0.translate_banded(rgb, width, height, 2)
    }
}

#[test]
fn banded_inference_matches_float64_fixtures() {
    let dir = weights_dir();
    let config = GeneratorConfig::published();
    for (input, style) in [("astronaut_192", "hayao"), ("cat_224x148", "hosoda")] {
        let g = load_published_generator::<Cpu>(&dir.join(style), &Default::default())
            .expect("weights");
        let engine = CpuGenerator::from_generator(&g, &config).expect("published layout");
        let err = check_fixture(&Banded(engine), input, style);
        // Half-precision storage of the quarter-resolution activations: measured 1e-3 scale.
        eprintln!("banded {input} {style}: max float error {err:.2e}");
    }
}

#[test]
fn tiled_run_matches_whole_image_within_one_level() {
    let dir = weights_dir();
    let g = load_published_generator::<Cpu>(&dir.join("shinkai"), &Default::default())
        .expect("weights");
    let engine = CpuGenerator::from_generator(&g, &GeneratorConfig::published()).expect("layout");
    let photo = shared_dir().join("images/photos/mountain-lake.jpg");
    let img = decode_image(&photo).unwrap_or_else(|e| panic!("{e} (set TOONGAN_SHARED_DIR)"));
    // Not multiples of 4, so the reflection padding to a multiple of 4 is included.
    let (w, h, x0, y0) = (418usize, 314usize, 200usize, 84usize);
    let iw = img.width as usize;
    let crop: Vec<f32> = (0..h)
        .flat_map(|y| img.rgb[((y0 + y) * iw + x0) * 3..][..w * 3].to_vec())
        .collect();
    let run = |tile: usize| {
        let t = std::time::Instant::now();
        let out = cartoonize_image(&engine, &crop, w, h, TileOptions { tile, overlap: 32 });
        (out, t.elapsed().as_secs_f64())
    };
    let (whole, t_whole) = run(1024);
    let (tiled, t_tiled) = run(128);
    let levels: Vec<f64> = whole
        .iter()
        .zip(&tiled)
        .map(|(&a, &b)| (to_u8(a) as f64 - to_u8(b) as f64).abs())
        .collect();
    let mean = levels.iter().sum::<f64>() / levels.len() as f64;
    let max = levels.iter().copied().fold(0.0, f64::max);
    let max_float = whole
        .iter()
        .zip(&tiled)
        .map(|(&a, &b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!(
        "{w}x{h}, tile 128 (bands) vs whole: mean {mean:.4} levels, max {max} levels, \
         max float {max_float:.2e}; time {t_tiled:.2}s vs {t_whole:.2}s (loaded machine)"
    );
    assert!(
        max <= 1.0,
        "banded run differs from the whole image by {max} levels"
    );
}
