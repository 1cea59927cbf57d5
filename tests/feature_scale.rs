//! The random-weight feature networks of tests and tiny runs behave like trained ones in
//! scale: on real photos, the tiny preset's width-16 VGG19 and the random ResNet-101 give
//! conv4_4 / layer2 features whose RMS is of the order of the input's, so the content loss
//! between a photo and a collapsed (flat grey) output is of order 1, comparable to the
//! adversarial loss (≈ 0.7–1.4 for BCE). With burn's default init the VGG's features shrank
//! about 6x per layer: that content loss was ~1e-4 and ω = 10 did nothing (issue 17).
//!
//! Shared photos via `TOONGAN_SHARED_DIR` (default `<manifest>/../shared`).

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Tensor, TensorData};
use toongan::backend::Cpu;
use toongan::train::{FeatureNetKind, FeatureNetwork, TrainConfig, try_seeded_init};

mod common;

/// Four shared photos, 64x64 (short side resized, top-left crop), in [-1, 1], NCHW.
fn photos() -> Tensor<Cpu, 4> {
    let sources = common::shared_photos();
    let mut data = Vec::new();
    for src in sources.iter().take(4) {
        let img = toongan::train::load_resized(src, 64).unwrap();
        for c in 0..3 {
            for y in 0..64 {
                for x in 0..64 {
                    data.push(img.get_pixel(x, y)[c] as f32 / 127.5 - 1.0);
                }
            }
        }
    }
    Tensor::from_data(TensorData::new(data, [4, 3, 64, 64]), &Default::default())
}

fn rms(t: Tensor<Cpu, 4>) -> f64 {
    t.powf_scalar(2.0).mean().into_scalar() as f64
}

/// (feature RMS / input RMS, content loss photo vs grey, content loss photo vs photo + noise)
fn measure(network: FeatureNetKind, seed: u64) -> (f64, f64, f64) {
    let mut config = TrainConfig::new();
    config.apply_preset("tiny").unwrap();
    let mut content = config.cartoongan.content.clone();
    content.network = network;
    let device = Default::default();
    let loss =
        try_seeded_init::<Cpu, _, _>(&device, seed, || content.init::<Cpu>(&device)).unwrap();
    let x = photos();
    let input = loss.normalize(x.clone());
    let ratio = (rms(loss.network.forward(input.clone())) / rms(input)).sqrt();
    let grey = x.zeros_like();
    let flat = loss.forward(x.clone(), grey).into_scalar() as f64;
    let noise = Tensor::<Cpu, 4>::random(
        x.dims(),
        burn::tensor::Distribution::Normal(0.0, 0.1),
        &Default::default(),
    );
    let near = loss.forward(x.clone(), x + noise).into_scalar() as f64;
    (ratio, flat, near)
}

/// The same width-16 VGG19 with burn's default conv init (how it was made before issue 17):
/// its features vanish, and so does the content loss.
#[test]
fn burn_default_init_vgg_loses_the_scale() {
    let device = Default::default();
    let mut config = TrainConfig::new();
    config.apply_preset("tiny").unwrap();
    let mut loss = try_seeded_init::<Cpu, _, _>(&device, 0, || {
        config.cartoongan.content.init::<Cpu>(&device)
    })
    .unwrap();
    let FeatureNetwork::Vgg19(vgg) = &mut loss.network else {
        panic!("tiny preset's feature network is not VGG19");
    };
    for conv in &mut vgg.convs {
        let [cout, cin, k, _] = conv.weight.dims();
        *conv = Conv2dConfig::new([cin, cout], [k, k])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
    }
    let x = photos();
    let input = loss.normalize(x.clone());
    let ratio = (rms(loss.network.forward(input.clone())) / rms(input)).sqrt();
    let flat = loss.forward(x.clone(), x.zeros_like()).into_scalar() as f64;
    eprintln!(
        "tiny VGG19 with burn's default init: conv4_4 RMS / input RMS {ratio:.2e}, ω·L1 \
         content loss photo vs grey {flat:.2e}"
    );
    assert!(ratio < 0.05 && flat < 1e-3, "{ratio} {flat}");
}

#[test]
fn random_vgg_keeps_the_input_scale() {
    for seed in 0..3 {
        let (ratio, flat, near) = measure(FeatureNetKind::Vgg19, seed);
        eprintln!(
            "seed {seed}: tiny VGG19 (width 16, random): conv4_4 RMS / input RMS {ratio:.4}, ω·L1 content loss \
         photo vs grey {flat:.4}, photo vs photo + N(0, 0.1) {near:.4}"
        );
        assert!((0.2..=5.0).contains(&ratio), "feature scale ratio {ratio}");
        assert!((0.5..=50.0).contains(&flat), "content loss vs grey {flat}");
        assert!(
            near < flat,
            "a near copy must cost less than grey: {near} vs {flat}"
        );
    }
}

#[test]
fn random_resnet_keeps_the_input_scale() {
    for seed in 0..3 {
        let (ratio, flat, near) = measure(FeatureNetKind::RESNET101_LAYER2, seed);
        eprintln!(
            "seed {seed}: ResNet-101 layer2 (random): RMS / input RMS {ratio:.4}, ω·L1 content loss photo vs \
         grey {flat:.4}, photo vs photo + N(0, 0.1) {near:.4}"
        );
        assert!((0.2..=5.0).contains(&ratio), "feature scale ratio {ratio}");
        assert!((0.5..=50.0).contains(&flat), "content loss vs grey {flat}");
        assert!(
            near < flat,
            "a near copy must cost less than grey: {near} vs {flat}"
        );
    }
}
