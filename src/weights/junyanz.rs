//! CycleGAN checkpoints of junyanz/pytorch-CycleGAN-and-pix2pix (`latest_net_G_A.pth`,
//! `latest_net_D_A.pth`, ...) read as they are, with their `nn.Sequential` key names
//! (`model.1.weight`, `model.10.conv_block.5.weight`) mapped onto toongan's modules.

use std::path::Path;

use burn::store::{ModuleSnapshot, PytorchStore};
use burn::tensor::backend::Backend;

use super::WeightsError;
use crate::model::{PatchGan, PatchGanConfig, ResnetGenerator, ResnetGeneratorConfig};

fn load_err(path: &Path, message: impl ToString) -> WeightsError {
    WeightsError::Checkpoint {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Key remappings (regex → module path) for junyanz's `ResnetGenerator` with
/// `n_residual` blocks. Layer indices follow its `nn.Sequential`: pad, conv, norm, relu, ...
pub fn resnet_generator_key_map(n_residual: usize) -> Vec<(String, String)> {
    let mut map = vec![
        (
            r"^model\.1\.(.+)$".to_string(),
            "input.conv.conv.$1".to_string(),
        ),
        (
            r"^model\.4\.(.+)$".to_string(),
            "down.0.conv.conv.$1".to_string(),
        ),
        (
            r"^model\.7\.(.+)$".to_string(),
            "down.1.conv.conv.$1".to_string(),
        ),
    ];
    for i in 0..n_residual {
        let k = 10 + i;
        map.push((
            format!(r"^model\.{k}\.conv_block\.1\.(.+)$"),
            format!("residual.{i}.first.conv.conv.$1"),
        ));
        map.push((
            format!(r"^model\.{k}\.conv_block\.5\.(.+)$"),
            format!("residual.{i}.conv2.conv.$1"),
        ));
    }
    let up0 = 10 + n_residual;
    map.push((format!(r"^model\.{up0}\.(.+)$"), "up.0.up.$1".to_string()));
    map.push((
        format!(r"^model\.{}\.(.+)$", up0 + 3),
        "up.1.up.$1".to_string(),
    ));
    map.push((
        format!(r"^model\.{}\.(.+)$", up0 + 7),
        "output.conv.$1".to_string(),
    ));
    map
}

/// Key remappings for junyanz's `NLayerDiscriminator` with `n_layers` (instance norm: the
/// norms have no parameters; convs sit at indices 0, 2, 5, 8, ...).
pub fn patchgan_key_map(n_layers: usize) -> Vec<(String, String)> {
    let mut map = vec![(
        r"^model\.0\.(.+)$".to_string(),
        "layers.0.conv.$1".to_string(),
    )];
    for n in 1..=n_layers {
        map.push((
            format!(r"^model\.{}\.(.+)$", 2 + 3 * (n - 1)),
            format!("layers.{n}.conv.$1"),
        ));
    }
    map.push((
        format!(r"^model\.{}\.(.+)$", 2 + 3 * n_layers),
        "output.$1".to_string(),
    ));
    map
}

fn store(path: &Path, map: Vec<(String, String)>) -> PytorchStore {
    map.into_iter().fold(
        PytorchStore::from_file(path).map_indices_contiguous(false),
        |s, (from, to)| s.with_key_remapping(from, to),
    )
}

/// Reads a junyanz ResNet generator checkpoint into a [`ResnetGenerator`] of `config`'s shape.
pub fn load_resnet_generator<B: Backend>(
    path: &Path,
    config: &ResnetGeneratorConfig,
    device: &B::Device,
) -> Result<ResnetGenerator<B>, WeightsError> {
    if !path.is_file() {
        return Err(load_err(path, "no such file"));
    }
    let mut g = config.init::<B>(device);
    let mut s = store(path, resnet_generator_key_map(config.n_residual));
    let result = g.load_from(&mut s).map_err(|e| load_err(path, e))?;
    if !result.missing.is_empty() || !result.errors.is_empty() || !result.unused.is_empty() {
        return Err(load_err(
            path,
            format!(
                "is not a junyanz ResnetGenerator with width {} and {} blocks: missing {:?}, unused {:?}, errors {:?}",
                config.width, config.n_residual, result.missing, result.unused, result.errors
            ),
        ));
    }
    Ok(g)
}

/// Reads a junyanz `NLayerDiscriminator` checkpoint into a [`PatchGan`] of `config`'s shape.
pub fn load_patchgan<B: Backend>(
    path: &Path,
    config: &PatchGanConfig,
    device: &B::Device,
) -> Result<PatchGan<B>, WeightsError> {
    if !path.is_file() {
        return Err(load_err(path, "no such file"));
    }
    let mut d = config.init::<B>(device);
    let mut s = store(path, patchgan_key_map(config.n_layers));
    let result = d.load_from(&mut s).map_err(|e| load_err(path, e))?;
    if !result.missing.is_empty() || !result.errors.is_empty() || !result.unused.is_empty() {
        return Err(load_err(
            path,
            format!(
                "is not a junyanz NLayerDiscriminator with width {}: missing {:?}, unused {:?}, errors {:?}",
                config.width, result.missing, result.unused, result.errors
            ),
        ));
    }
    Ok(d)
}
