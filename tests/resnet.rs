//! The ResNet feature extractor against torchvision: `.pth` files written by
//! `torch.save(model.state_dict())` with the official layout and deterministic weights
//! (`tools/make_resnet_fixture.py`), features compared with torchvision's (float64).

mod common;
use common::rel_err;

use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData, backend::Backend};
use toongan::backend::{Cpu, CpuAutodiff};
use toongan::model::{ResnetConfig, ResnetDepth, ResnetLayer};
use toongan::weights::{
    NpyArray, ResnetWeightsError, load_torchvision_resnet, read_npy, torchvision_resnet_path,
};

/// Relative error bar: max|ours - torchvision| / max|torchvision| over the whole tensor.
const REL_TOL: f64 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/resnet")
        .join(name)
}

fn npy(name: &str) -> NpyArray {
    read_npy(&fixture(name)).unwrap()
}

fn tensor<B: Backend>(a: &NpyArray, device: &B::Device) -> Tensor<B, 4> {
    let shape: [usize; 4] = a.shape.clone().try_into().unwrap();
    Tensor::from_data(TensorData::new(a.data.clone(), shape), device)
}

fn check(depth: ResnetDepth, layer: ResnetLayer, layer_name: &str) {
    let device = Default::default();
    let config = ResnetConfig::new().with_depth(depth).with_output(layer);
    let file = fixture(&format!("resnet{}.pth", depth.number()));
    let model = load_torchvision_resnet::<Cpu>(&file, &config, &device).unwrap();
    let x = tensor::<Cpu>(&npy("input.npy"), &device);
    let y = model.forward(x);
    let expected = npy(&format!("resnet{}_{layer_name}.npy", depth.number()));
    assert_eq!(
        y.dims().to_vec(),
        expected.shape,
        "{depth} {layer_name} shape"
    );
    assert_eq!(expected.shape[1], config.output_channels());
    let ours = y.into_data().to_vec::<f32>().unwrap();
    let rel = rel_err(&ours, &expected.data);
    eprintln!("{depth} {layer_name}: rel. error {rel:.2e}");
    assert!(rel <= REL_TOL, "{depth} {layer_name}: rel. error {rel:.2e}");
}

/// ResNet-18 (basic blocks) after layer1, layer2 and layer3, each built and loaded only
/// that far from the same full-layout file.
#[test]
fn resnet18_matches_torchvision() {
    check(ResnetDepth::Resnet18, ResnetLayer::Layer1, "layer1");
    check(ResnetDepth::Resnet18, ResnetLayer::Layer2, "layer2");
    check(ResnetDepth::Resnet18, ResnetLayer::Layer3, "layer3");
}

/// ResNet-34 (basic blocks 3-4-6-3) after layer2.
#[test]
fn resnet34_matches_torchvision() {
    check(ResnetDepth::Resnet34, ResnetLayer::Layer2, "layer2");
}

/// ResNet-50 (bottlenecks, stride on the 3x3 conv) after layer2.
#[test]
fn resnet50_matches_torchvision() {
    check(ResnetDepth::Resnet50, ResnetLayer::Layer2, "layer2");
}

/// ResNet-101 after layer2: the seed code's content-loss features. Its file's layer3
/// (23 blocks), layer4 and fc hold overlapping strided views a contiguous read would
/// misread or overrun: the match shows they are skipped.
#[test]
fn resnet101_matches_torchvision() {
    check(ResnetDepth::Resnet101, ResnetLayer::Layer2, "layer2");
}

/// On an autodiff backend the batch norms still use running statistics (burn's
/// `BatchNorm` would switch to batch statistics), and gradients flow to the input, as a
/// content loss needs.
#[test]
fn autodiff_uses_running_stats_and_passes_gradients() {
    let device = Default::default();
    let config = ResnetConfig::new()
        .with_depth(ResnetDepth::Resnet18)
        .with_output(ResnetLayer::Layer1);
    let file = fixture("resnet18.pth");
    let model = load_torchvision_resnet::<CpuAutodiff>(&file, &config, &device).unwrap();
    let x = tensor::<CpuAutodiff>(&npy("input.npy"), &device).require_grad();
    let y = model.forward(x.clone());
    let expected = npy("resnet18_layer1.npy");
    let ours = y.clone().into_data().to_vec::<f32>().unwrap();
    assert!(rel_err(&ours, &expected.data) <= REL_TOL);
    let grads = y.sum().backward();
    let g = x.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
    assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|v| *v != 0.0));
}

/// A missing file names the official file and where to download it.
#[test]
fn missing_file_names_the_official_download() {
    let dir = Path::new("/nonexistent-toongan-weights");
    let config = ResnetConfig::new();
    let path = torchvision_resnet_path(dir, config.depth);
    let err = load_torchvision_resnet::<Cpu>(&path, &config, &Default::default()).unwrap_err();
    assert!(matches!(err, ResnetWeightsError::Missing { .. }));
    let msg = err.to_string();
    assert!(msg.contains("resnet101-63fe2227.pth"), "{msg}");
    assert!(
        msg.contains("https://download.pytorch.org/models/resnet101-63fe2227.pth"),
        "{msg}"
    );
}

/// A file of another depth is refused (shapes differ), not half loaded.
#[test]
fn wrong_depth_is_refused() {
    let config = ResnetConfig::new().with_depth(ResnetDepth::Resnet18);
    let err =
        load_torchvision_resnet::<Cpu>(&fixture("resnet50.pth"), &config, &Default::default())
            .unwrap_err();
    assert!(matches!(err, ResnetWeightsError::Load { .. }), "{err}");
}

/// Configs read and write the depth as a number and the layer by its torchvision name;
/// unsupported depths are rejected.
#[test]
fn config_serializes_depth_as_number() {
    let json = serde_json::to_string(&ResnetConfig::new()).unwrap();
    assert!(
        json.contains("\"depth\":101") && json.contains("\"output\":\"layer2\""),
        "{json}"
    );
    let c: ResnetConfig =
        serde_json::from_str(r#"{"depth":34,"output":"layer3","bn_epsilon":1e-5}"#).unwrap();
    assert_eq!(
        (c.depth, c.output),
        (ResnetDepth::Resnet34, ResnetLayer::Layer3)
    );
    assert!(
        serde_json::from_str::<ResnetConfig>(r#"{"depth":42,"output":"layer2","bn_epsilon":1e-5}"#)
            .is_err()
    );
    assert_eq!(
        "resnet50".parse::<ResnetDepth>().unwrap(),
        ResnetDepth::Resnet50
    );
}
