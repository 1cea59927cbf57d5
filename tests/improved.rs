//! The improved CartoonGAN's four switches (instance norm, LeakyReLU, ResNet content loss,
//! LSGAN): each set alone by its preset or `--set`, each training on the tiny preset, each
//! generator cartoonizing a photo; and the ResNet content loss wired to torchvision's file.
//!
//! Shared photos via `TOONGAN_SHARED_DIR` (default `<manifest>/../shared`).

use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use toongan::backend::CpuAutodiff;
use toongan::experiment::translator_for_run;
use toongan::model::{Activation, NormKind, ResnetDepth, ResnetLayer};
use toongan::train::{
    CartoonGan, ContentLossConfig, FeatureNetKind, FeatureNetwork, GanLossKind, RunOutcome,
    TrainConfig, Trainer, run_smoothing,
};
use toongan::weights::read_npy;

mod common;

fn resnet_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/resnet")
        .join(name)
}

/// 4 photos as "photos" and 4 others as "cartoons" (training only needs two domains), 80 px.
fn make_data(root: &Path) -> (PathBuf, PathBuf) {
    let sources = common::shared_photos();
    let (photos, cartoons) = (root.join("photos"), root.join("cartoons"));
    for (i, src) in sources.iter().take(8).enumerate() {
        let dir = if i < 4 { &photos } else { &cartoons };
        std::fs::create_dir_all(dir).unwrap();
        let img = toongan::train::load_resized(src, 80).unwrap();
        img.save(dir.join(format!("{i}.png"))).unwrap();
    }
    (photos, cartoons)
}

fn tiny() -> TrainConfig {
    let mut c = TrainConfig::new();
    c.apply_preset("tiny").unwrap();
    c
}

/// Whether a switch is on in a config.
type Switch = fn(&TrainConfig) -> bool;

/// Each preset flips exactly its own switch; `improved` flips all four; `tiny` composes with
/// them in either order.
#[test]
fn presets_flip_one_switch_each_and_compose() {
    let base = tiny();
    let cases: [(&str, Switch); 4] = [
        ("instance_norm", |c| {
            c.cartoongan.generator.norm == NormKind::Instance
                && c.cartoongan.discriminator.norm == NormKind::Instance
        }),
        ("leaky_relu", |c| {
            c.cartoongan.generator.activation == Activation::LeakyRelu { slope: 0.2 }
        }),
        ("resnet_content", |c| {
            c.cartoongan.content.network == FeatureNetKind::RESNET101_LAYER2
        }),
        ("lsgan", |c| c.cartoongan.gan_loss == GanLossKind::Lsgan),
    ];
    for (name, on) in &cases {
        assert!(!on(&base), "{name} is on in the plain tiny preset");
        let mut c = tiny();
        c.apply_preset(name).unwrap();
        assert!(on(&c), "{name} did not switch on");
        for (other, other_on) in &cases {
            if other != name {
                assert!(!other_on(&c), "{name} also switched {other}");
            }
        }
    }
    let mut a = tiny();
    a.apply_preset("improved").unwrap();
    assert!(cases.iter().all(|(_, on)| on(&a)));
    let mut b = TrainConfig::new();
    b.apply_preset("improved").unwrap();
    b.apply_preset("tiny").unwrap();
    assert_eq!(a, b, "tiny then improved == improved then tiny");
    assert_eq!(a.cartoongan.content.weights, "random");
    assert!(TrainConfig::new().apply_preset("huge").is_err());
}

/// Each switch is also one `--set` away (the LeakyReLU slope defaults to 0.2 when only the
/// kind is given, and is settable on its own afterwards).
#[test]
fn each_switch_is_settable_alone() {
    let mut c = TrainConfig::new();
    c.set("cartoongan.generator.norm=instance").unwrap();
    c.set("cartoongan.discriminator.norm=instance").unwrap();
    c.set("cartoongan.generator.activation.kind=leaky_relu")
        .unwrap();
    assert_eq!(
        c.cartoongan.generator.activation,
        Activation::LeakyRelu { slope: 0.2 }
    );
    c.set("cartoongan.generator.activation.slope=0.1").unwrap();
    assert_eq!(
        c.cartoongan.generator.activation,
        Activation::LeakyRelu { slope: 0.1 }
    );
    c.set("cartoongan.content.network=resnet50_layer3").unwrap();
    assert_eq!(
        c.cartoongan.content.network,
        FeatureNetKind::Resnet {
            depth: ResnetDepth::Resnet50,
            layer: ResnetLayer::Layer3
        }
    );
    c.set("cartoongan.gan_loss=lsgan").unwrap();
    let text = c.to_toml();
    assert!(text.contains("network = \"resnet50_layer3\""), "{text}");
    assert_eq!(TrainConfig::from_toml_str(&text).unwrap(), c);
    // "resnet101" alone means layer2, the seed code's choice.
    c.set("cartoongan.content.network=resnet101").unwrap();
    assert_eq!(
        c.cartoongan.content.network,
        FeatureNetKind::RESNET101_LAYER2
    );
    let err = c
        .set("cartoongan.content.network=resnet42")
        .unwrap_err()
        .to_string();
    assert!(err.contains("resnet42"), "{err}");
    assert!(c.set("cartoongan.content.network=resnet18_layer5").is_err());
}

/// Each switch alone, and all four, train 2 epochs (1 init + 1 adversarial, 2 steps each) on
/// the tiny preset with finite losses; each run's generator carries the switch and
/// cartoonizes a photo.
#[test]
fn each_switch_trains_on_tiny_and_cartoonizes() {
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = make_data(tmp.path());
    for preset in [
        "instance_norm",
        "leaky_relu",
        "resnet_content",
        "lsgan",
        "improved",
    ] {
        let mut config = tiny();
        config.apply_preset(preset).unwrap();
        config.data.photos = photos.clone();
        config.data.cartoons = cartoons.clone();
        config.train.epochs = 2;
        config.train.init_epochs = Some(1);
        config.train.max_steps_per_epoch = 2;
        config.output.progress = false;
        let run = tmp.path().join(preset);
        let smoothing = run_smoothing(&config.data, &run);
        let outcome =
            Trainer::<CpuAutodiff>::new(config.clone(), &run, Default::default(), smoothing)
                .run()
                .unwrap_or_else(|e| panic!("{preset}: {e}"));
        assert!(
            matches!(outcome, RunOutcome::Finished { steps: 4, .. }),
            "{preset}: {outcome:?}"
        );
        let log = toongan::train::MetricsLog::new(&run).read().unwrap();
        assert!(log.iter().all(|r| r.losses.values().all(|v| v.is_finite())));
        assert!(log.last().unwrap().losses.contains_key("g_adv"), "{preset}");

        // The saved generator has the run's switches.
        let file = toongan::weights::resolve_generator_path(&run).unwrap();
        let g = toongan::weights::read_generator_config(&file).unwrap();
        assert_eq!(g.norm, config.cartoongan.generator.norm, "{preset}");
        assert_eq!(
            g.activation, config.cartoongan.generator.activation,
            "{preset}"
        );

        // It cartoonizes a photo (the fast engine, as `toongan cartoonize --model RUN`).
        let translator = translator_for_run(&run).unwrap();
        let (w, h) = (72, 48);
        let rgb: Vec<f32> = (0..w * h * 3)
            .map(|i| ((i * 7) % 255) as f32 / 255.0)
            .collect();
        let out = translator.translate(&rgb, w, h);
        assert_eq!(out.len(), rgb.len(), "{preset}");
        assert!(out.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
        let (lo, hi) = out
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(hi - lo > 1e-3, "{preset}: constant output");
    }
}

/// The content loss builds the ResNet it names from torchvision's file (its features match
/// torchvision on the parity fixture), keeps it frozen, and passes gradients to the image.
#[test]
fn resnet_content_loss_loads_torchvision_file_and_is_frozen() {
    let device = Default::default();
    let config = ContentLossConfig::new()
        .with_network("resnet18_layer1".parse().unwrap())
        .with_weights(resnet_fixture("resnet18.pth").display().to_string());
    let loss = config.init::<CpuAutodiff>(&device).unwrap();
    let FeatureNetwork::Resnet(net) = &loss.network else {
        panic!("not a ResNet");
    };
    assert_eq!(net.layer1.len(), 2);
    assert!(net.layer2.is_empty(), "stages after layer1 are not built");
    let frozen = |p: &Param<Tensor<CpuAutodiff, 4>>| !p.is_require_grad();
    assert!(frozen(&net.conv1.weight));

    let input = read_npy(&resnet_fixture("input.npy")).unwrap();
    let want = read_npy(&resnet_fixture("resnet18_layer1.npy")).unwrap();
    let shape: [usize; 4] = input.shape.clone().try_into().unwrap();
    let x = Tensor::<CpuAutodiff, 4>::from_data(TensorData::new(input.data, shape), &device);
    let got = loss
        .network
        .forward(x.clone())
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let scale = want.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = got
        .iter()
        .zip(&want.data)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff / scale <= 1e-4, "rel. error {}", diff / scale);

    // Gradients reach the generated image, not the frozen network.
    let photo = (x.clone() * 0.3).tanh();
    let generated = x.tanh().require_grad();
    let value = loss.forward(photo, generated.clone());
    let grads = value.backward();
    let g = generated
        .grad(&grads)
        .unwrap()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    assert!(g.iter().any(|v| *v != 0.0) && g.iter().all(|v| v.is_finite()));
    assert!(
        net.conv1.weight.grad(&grads).is_none(),
        "ResNet weights got a gradient"
    );
}

/// A missing ResNet file stops at model build with the official name and its URL; CartoonGAN
/// reports it as a model error.
#[test]
fn missing_resnet_file_names_file_and_url() {
    let config = ContentLossConfig::new()
        .with_network(FeatureNetKind::RESNET101_LAYER2)
        .with_weights("/nonexistent-toongan/resnet101-63fe2227.pth".into());
    let err = config
        .init::<CpuAutodiff>(&Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("resnet101-63fe2227.pth"), "{err}");
    assert!(
        err.contains("https://download.pytorch.org/models/resnet101-63fe2227.pth"),
        "{err}"
    );
    let mut c = tiny();
    c.apply_preset("resnet_content").unwrap();
    c.cartoongan.content.weights = "/nonexistent-toongan/resnet101-63fe2227.pth".into();
    let err = CartoonGan::<CpuAutodiff>::new(&c.cartoongan, &c.train, &Default::default())
        .err()
        .expect("must fail")
        .to_string();
    assert!(err.contains("download.pytorch.org"), "{err}");
}
