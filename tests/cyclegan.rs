//! CycleGAN's networks against junyanz's PyTorch definitions on the same deterministic
//! weights (fixtures made by `tools/ref_cyclegan_nets.py`, read from real `torch.save` files).

mod common;

use burn::tensor::{Tensor, TensorData};
use common::fixture;
use toongan::backend::Cpu;
use toongan::model::{PatchGanConfig, ResnetGeneratorConfig};
use toongan::weights::{load_patchgan, load_resnet_generator, read_npy};

fn tensor(name: &str) -> Tensor<Cpu, 4> {
    let a = read_npy(&fixture(&format!("cyclegan/{name}.npy"))).unwrap();
    let shape: [usize; 4] = a.shape.clone().try_into().unwrap();
    Tensor::from_data(TensorData::new(a.data, shape), &Default::default())
}

fn assert_close(got: Tensor<Cpu, 4>, want: Tensor<Cpu, 4>, tol: f32, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}");
    let g: Vec<f32> = got.into_data().into_vec().unwrap();
    let w: Vec<f32> = want.into_data().into_vec().unwrap();
    let scale = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = g
        .iter()
        .zip(&w)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= tol * scale,
        "{what}: max abs diff {worst} (scale {scale})"
    );
}

#[test]
fn resnet_generator_matches_junyanz() {
    let device = Default::default();
    let g = load_resnet_generator::<Cpu>(
        &fixture("cyclegan/resnet_generator_tiny.pth"),
        &ResnetGeneratorConfig::tiny(),
        &device,
    )
    .unwrap();
    assert_close(
        g.forward(tensor("generator_input")),
        tensor("generator_output"),
        1e-4,
        "generator",
    );
}

#[test]
fn patchgan_matches_junyanz() {
    let device = Default::default();
    let d = load_patchgan::<Cpu>(
        &fixture("cyclegan/patchgan_tiny.pth"),
        &PatchGanConfig::tiny(),
        &device,
    )
    .unwrap();
    assert_close(
        d.forward(tensor("discriminator_input")),
        tensor("discriminator_output"),
        1e-4,
        "discriminator",
    );
}

#[test]
fn a_checkpoint_of_another_shape_is_refused() {
    let device = Default::default();
    let err = load_resnet_generator::<Cpu>(
        &fixture("cyclegan/resnet_generator_tiny.pth"),
        &ResnetGeneratorConfig::tiny().with_n_residual(3),
        &device,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("resnet_generator_tiny.pth"), "{err}");
}
