//! The Inception-v3 that FID is defined with, built exactly as pytorch-fid 0.3.0's
//! `InceptionV3(use_fid_inception=True)` (`pytorch_fid/inception.py`): torchvision's
//! Inception3 trunk with the `FIDInceptionA/C/E_1/E_2` patches, returning the 64-, 192-,
//! 768- or 2048-channel block outputs; the 1008-class head is never used.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

use super::inception_blocks::{
    BasicConv2d, BasicConv2dConfig, EPool, InceptionA, InceptionB, InceptionC, InceptionD,
    InceptionE, max_pool_3x3_s2,
};

/// Side of the square input the network was trained on (pytorch-fid resizes to it).
pub const INCEPTION_INPUT_SIDE: usize = 299;

/// Feature dimensions pytorch-fid offers, one per output block (its `BLOCK_INDEX_BY_DIM`).
pub const FID_DIMS: [usize; 4] = [64, 192, 768, 2048];

/// Configuration of [`FidInception`]; the network has no free hyperparameters, only
/// what the inputs are assumed to be.
#[derive(Config, Debug)]
pub struct FidInceptionConfig {
    /// Resize inputs bilinearly (align_corners=false) to 299x299, as pytorch-fid's
    /// `resize_input=True`.
    #[config(default = true)]
    pub resize_input: bool,
    /// Map inputs from [0, 1] to [-1, 1] (2x − 1), as pytorch-fid's `normalize_input=True`.
    #[config(default = true)]
    pub normalize_input: bool,
}

impl FidInceptionConfig {
    /// Builds the network with placeholder weights; load the real ones with
    /// [`crate::weights::load_fid_inception`].
    pub fn init<B: Backend>(&self, device: &B::Device) -> FidInception<B> {
        let d = device;
        let c = |cin, cout, k: usize, pad: usize, stride: usize| {
            BasicConv2dConfig::new(cin, cout, [k, k])
                .with_padding([pad, pad])
                .with_stride([stride, stride])
                .init(d)
        };
        FidInception {
            conv2d_1a_3x3: c(3, 32, 3, 0, 2),
            conv2d_2a_3x3: c(32, 32, 3, 0, 1),
            conv2d_2b_3x3: c(32, 64, 3, 1, 1),
            conv2d_3b_1x1: c(64, 80, 1, 0, 1),
            conv2d_4a_3x3: c(80, 192, 3, 0, 1),
            mixed_5b: InceptionA::new(192, 32, d),
            mixed_5c: InceptionA::new(256, 64, d),
            mixed_5d: InceptionA::new(288, 64, d),
            mixed_6a: InceptionB::new(288, d),
            mixed_6b: InceptionC::new(768, 128, d),
            mixed_6c: InceptionC::new(768, 160, d),
            mixed_6d: InceptionC::new(768, 160, d),
            mixed_6e: InceptionC::new(768, 192, d),
            mixed_7a: InceptionD::new(768, d),
            mixed_7b: InceptionE::new(1280, d),
            mixed_7c: InceptionE::new(2048, d),
            resize_input: self.resize_input,
            normalize_input: self.normalize_input,
        }
    }
}

/// pytorch-fid's FID Inception-v3 feature extractor. Field names are the lower-cased keys
/// of `pt_inception-2015-12-05-6726825d.pth`.
#[derive(Module, Debug)]
pub struct FidInception<B: Backend> {
    conv2d_1a_3x3: BasicConv2d<B>,
    conv2d_2a_3x3: BasicConv2d<B>,
    conv2d_2b_3x3: BasicConv2d<B>,
    conv2d_3b_1x1: BasicConv2d<B>,
    conv2d_4a_3x3: BasicConv2d<B>,
    mixed_5b: InceptionA<B>,
    mixed_5c: InceptionA<B>,
    mixed_5d: InceptionA<B>,
    mixed_6a: InceptionB<B>,
    mixed_6b: InceptionC<B>,
    mixed_6c: InceptionC<B>,
    mixed_6d: InceptionC<B>,
    mixed_6e: InceptionC<B>,
    mixed_7a: InceptionD<B>,
    mixed_7b: InceptionE<B>,
    mixed_7c: InceptionE<B>,
    resize_input: bool,
    normalize_input: bool,
}

/// The output block index (0-3) pytorch-fid uses for `dims`, or `None` if it offers none.
pub fn block_for_dims(dims: usize) -> Option<usize> {
    FID_DIMS.iter().position(|&d| d == dims)
}

/// pytorch-fid's input transform: bilinear resize to 299x299 (align_corners=false, no
/// antialiasing, as `F.interpolate`) and 2x − 1, each only if the config asks for it.
/// `x` is `[N, 3, H, W]` RGB in [0, 1].
pub fn preprocess<B: Backend>(x: Tensor<B, 4>, resize: bool, normalize: bool) -> Tensor<B, 4> {
    let [_, _, h, w] = x.dims();
    let s = INCEPTION_INPUT_SIDE;
    let x = if resize && (h != s || w != s) {
        interpolate(
            x,
            [s, s],
            InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
        )
    } else {
        x
    };
    if normalize {
        x.mul_scalar(2.0).sub_scalar(1.0)
    } else {
        x
    }
}

impl<B: Backend> FidInception<B> {
    /// Runs the network up to block `last` (0-3) on `[N, 3, H, W]` RGB in [0, 1] and
    /// returns every block output up to it: 0 = after the first max pool (64 ch),
    /// 1 = after the second (192), 2 = Mixed_6e (768), 3 = global average pool (2048, 1x1).
    pub fn forward_blocks(&self, x: Tensor<B, 4>, last: usize) -> Vec<Tensor<B, 4>> {
        let mut outs = Vec::with_capacity(last + 1);
        let mut x = preprocess(x, self.resize_input, self.normalize_input);
        x = self.conv2d_1a_3x3.forward(x);
        x = self.conv2d_2a_3x3.forward(x);
        x = self.conv2d_2b_3x3.forward(x);
        x = max_pool_3x3_s2(x);
        outs.push(x.clone());
        if last == 0 {
            return outs;
        }
        x = self.conv2d_3b_1x1.forward(x);
        x = self.conv2d_4a_3x3.forward(x);
        x = max_pool_3x3_s2(x);
        outs.push(x.clone());
        if last == 1 {
            return outs;
        }
        x = self.mixed_5b.forward(x);
        x = self.mixed_5c.forward(x);
        x = self.mixed_5d.forward(x);
        x = self.mixed_6a.forward(x);
        x = self.mixed_6b.forward(x);
        x = self.mixed_6c.forward(x);
        x = self.mixed_6d.forward(x);
        x = self.mixed_6e.forward(x);
        outs.push(x.clone());
        if last == 2 {
            return outs;
        }
        x = self.mixed_7a.forward(x);
        x = self.mixed_7b.forward(x, EPool::AvgNoPadCount);
        x = self.mixed_7c.forward(x, EPool::Max);
        outs.push(x.mean_dim(3).mean_dim(2));
        outs
    }

    /// FID features `[N, dims]` of `[N, 3, H, W]` RGB in [0, 1]: the block's output
    /// averaged over space, as `pytorch_fid.fid_score.get_activations` does.
    ///
    /// # Panics
    /// If `dims` is not one of [`FID_DIMS`] (check with [`block_for_dims`]).
    pub fn features(&self, x: Tensor<B, 4>, dims: usize) -> Tensor<B, 2> {
        let block = block_for_dims(dims).expect("dims must be 64, 192, 768 or 2048");
        let out = self
            .forward_blocks(x, block)
            .pop()
            .expect("one output per block");
        out.mean_dim(3).mean_dim(2).flatten(1, 3)
    }
}
