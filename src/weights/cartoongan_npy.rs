//! The published CartoonGAN weights: one `.npy` per tensor, named as the PyTorch port's
//! `state_dict` (`conv01_1.weight`, `in01_1.scale`, ...; see `shared/weights/cartoongan/SOURCES.md`).

use std::path::Path;

use burn::module::Param;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::tensor::{Tensor, TensorData, backend::Backend};

use super::WeightsError;
use super::npy::read_npy;
use crate::model::{Generator, GeneratorConfig, Norm};

/// Names of the 94 tensors of a published style, in the order of the forward pass.
pub fn published_keys() -> Vec<String> {
    let mut keys = Vec::with_capacity(94);
    let conv = |k: &mut Vec<String>, n: &str| {
        k.push(format!("{n}.weight"));
        k.push(format!("{n}.bias"));
    };
    let norm = |k: &mut Vec<String>, n: &str| {
        k.push(format!("{n}.scale"));
        k.push(format!("{n}.shift"));
    };
    conv(&mut keys, "conv01_1");
    norm(&mut keys, "in01_1");
    for (c, i) in [("02", "02"), ("03", "03")] {
        conv(&mut keys, &format!("conv{c}_1"));
        conv(&mut keys, &format!("conv{c}_2"));
        norm(&mut keys, &format!("in{i}_1"));
    }
    for b in 4..=11 {
        conv(&mut keys, &format!("conv{b:02}_1"));
        norm(&mut keys, &format!("in{b:02}_1"));
        conv(&mut keys, &format!("conv{b:02}_2"));
        norm(&mut keys, &format!("in{b:02}_2"));
    }
    for (d, i) in [("01", "12"), ("02", "13")] {
        conv(&mut keys, &format!("deconv{d}_1"));
        conv(&mut keys, &format!("deconv{d}_2"));
        norm(&mut keys, &format!("in{i}_1"));
    }
    conv(&mut keys, "deconv03_1");
    keys
}

/// Reads one published style folder into a generator of the published layout.
///
/// Every tensor's shape is checked against the layout, so a wrong or truncated file is
/// reported with its path instead of producing garbage.
pub fn load_published_generator<B: Backend>(
    dir: &Path,
    device: &B::Device,
) -> Result<Generator<B>, WeightsError> {
    let mut g = GeneratorConfig::new().init::<B>(device);
    let mut loader = NpyDir { dir, device };
    loader.conv(&mut g.input_conv.conv, "conv01_1")?;
    loader.norm(&mut g.input_norm, "in01_1")?;
    for (block, (c, i)) in g.down.iter_mut().zip([("02", "02"), ("03", "03")]) {
        loader.conv(&mut block.down.conv, &format!("conv{c}_1"))?;
        loader.conv(&mut block.conv.conv, &format!("conv{c}_2"))?;
        loader.norm(&mut block.norm, &format!("in{i}_1"))?;
    }
    for (block, b) in g.residual.iter_mut().zip(4..=11) {
        loader.conv(&mut block.conv1.conv, &format!("conv{b:02}_1"))?;
        loader.norm(&mut block.norm1, &format!("in{b:02}_1"))?;
        loader.conv(&mut block.conv2.conv, &format!("conv{b:02}_2"))?;
        loader.norm(&mut block.norm2, &format!("in{b:02}_2"))?;
    }
    for (block, (d, i)) in g.up.iter_mut().zip([("01", "12"), ("02", "13")]) {
        loader.conv_transpose(&mut block.up, &format!("deconv{d}_1"))?;
        loader.conv(&mut block.conv.conv, &format!("deconv{d}_2"))?;
        loader.norm(&mut block.norm, &format!("in{i}_1"))?;
    }
    loader.conv(&mut g.output_conv.conv, "deconv03_1")?;
    Ok(g)
}

struct NpyDir<'a, B: Backend> {
    dir: &'a Path,
    device: &'a B::Device,
}

impl<B: Backend> NpyDir<'_, B> {
    fn tensor<const D: usize>(
        &self,
        key: &str,
        shape: [usize; D],
    ) -> Result<Tensor<B, D>, WeightsError> {
        let path = self.dir.join(format!("{key}.npy"));
        let array = read_npy(&path)?;
        if array.shape != shape {
            return Err(WeightsError::BadArray {
                path,
                message: format!("shape {:?}, expected {:?}", array.shape, shape),
            });
        }
        Ok(Tensor::from_data(
            TensorData::new(array.data, shape),
            self.device,
        ))
    }

    fn conv(&mut self, conv: &mut Conv2d<B>, name: &str) -> Result<(), WeightsError> {
        let shape = conv.weight.dims();
        conv.weight = Param::from_tensor(self.tensor(&format!("{name}.weight"), shape)?);
        conv.bias = Some(Param::from_tensor(
            self.tensor(&format!("{name}.bias"), [shape[0]])?,
        ));
        Ok(())
    }

    fn conv_transpose(
        &mut self,
        conv: &mut ConvTranspose2d<B>,
        name: &str,
    ) -> Result<(), WeightsError> {
        let shape = conv.weight.dims();
        conv.weight = Param::from_tensor(self.tensor(&format!("{name}.weight"), shape)?);
        conv.bias = Some(Param::from_tensor(
            self.tensor(&format!("{name}.bias"), [shape[1]])?,
        ));
        Ok(())
    }

    fn norm(&mut self, norm: &mut Norm<B>, name: &str) -> Result<(), WeightsError> {
        let Norm::Instance(n) = norm else {
            unreachable!("the published layout uses instance norm");
        };
        let c = n.num_channels;
        n.gamma = Some(Param::from_tensor(
            self.tensor(&format!("{name}.scale"), [c])?,
        ));
        n.beta = Some(Param::from_tensor(
            self.tensor(&format!("{name}.shift"), [c])?,
        ));
        Ok(())
    }
}
