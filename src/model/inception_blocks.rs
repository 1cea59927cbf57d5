//! The building blocks of the FID Inception-v3, named and shaped exactly as torchvision's
//! `inception.py` with pytorch-fid 0.3.0's patches (`FIDInceptionA/C/E_1/E_2`), so that the
//! published `.pth` keys map onto the fields one to one.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::{avg_pool2d, max_pool2d};

/// BatchNorm epsilon of torchvision's `BasicConv2d` (TensorFlow's 0.001).
pub const BN_EPSILON: f64 = 1e-3;

/// Configuration of a [`BasicConv2d`]: conv without bias, BatchNorm (eps 0.001), ReLU.
#[derive(Config, Debug)]
pub struct BasicConv2dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size (height, width).
    pub kernel: [usize; 2],
    /// Stride.
    #[config(default = "[1, 1]")]
    pub stride: [usize; 2],
    /// Zero padding (height, width), symmetric.
    #[config(default = "[0, 0]")]
    pub padding: [usize; 2],
}

impl BasicConv2dConfig {
    /// Builds the layer with burn's default initialisation (weights are loaded later).
    pub fn init<B: Backend>(&self, device: &B::Device) -> BasicConv2d<B> {
        let [ph, pw] = self.padding;
        BasicConv2d {
            conv: Conv2dConfig::new([self.in_channels, self.out_channels], self.kernel)
                .with_stride(self.stride)
                .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(self.out_channels)
                .with_epsilon(BN_EPSILON)
                .init(device),
        }
    }
}

/// torchvision's `BasicConv2d`: conv (no bias) → BatchNorm → ReLU.
#[derive(Module, Debug)]
pub struct BasicConv2d<B: Backend> {
    /// The convolution (`<name>.conv.weight`).
    pub conv: Conv2d<B>,
    /// The batch norm (`<name>.bn.{weight,bias,running_mean,running_var}`).
    pub bn: BatchNorm<B>,
}

impl<B: Backend> BasicConv2d<B> {
    /// Applies conv, batch norm (running statistics) and ReLU.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        relu(self.bn.forward(self.conv.forward(x)))
    }
}

fn bc<B: Backend>(
    cin: usize,
    cout: usize,
    kernel: [usize; 2],
    padding: [usize; 2],
    stride: usize,
    device: &B::Device,
) -> BasicConv2d<B> {
    BasicConv2dConfig::new(cin, cout, kernel)
        .with_padding(padding)
        .with_stride([stride, stride])
        .init(device)
}

/// 3x3 stride-1 average pooling with padding 1 that, like TensorFlow and pytorch-fid's
/// patch, divides by the number of non-padded cells (`count_include_pad=False`).
pub fn avg_pool_3x3_no_pad_count<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    avg_pool2d(x, [3, 3], [1, 1], [1, 1], false, false)
}

/// 3x3 stride-1 max pooling with padding 1 (padding never wins the max).
fn max_pool_3x3_same<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    max_pool2d(x, [3, 3], [1, 1], [1, 1], [1, 1], false)
}

/// 3x3 stride-2 max pooling without padding (torchvision's `maxpool1/2` and the
/// reduction blocks).
pub fn max_pool_3x3_s2<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    max_pool2d(x, [3, 3], [2, 2], [0, 0], [1, 1], false)
}

/// `FIDInceptionA` (Mixed_5b/5c/5d): torchvision's InceptionA with the average pool not
/// counting padding.
#[derive(Module, Debug)]
pub struct InceptionA<B: Backend> {
    branch1x1: BasicConv2d<B>,
    branch5x5_1: BasicConv2d<B>,
    branch5x5_2: BasicConv2d<B>,
    branch3x3dbl_1: BasicConv2d<B>,
    branch3x3dbl_2: BasicConv2d<B>,
    branch3x3dbl_3: BasicConv2d<B>,
    branch_pool: BasicConv2d<B>,
}

impl<B: Backend> InceptionA<B> {
    /// Builds the block for `cin` input channels and `pool_features` pool-branch channels.
    pub fn new(cin: usize, pool_features: usize, d: &B::Device) -> Self {
        Self {
            branch1x1: bc(cin, 64, [1, 1], [0, 0], 1, d),
            branch5x5_1: bc(cin, 48, [1, 1], [0, 0], 1, d),
            branch5x5_2: bc(48, 64, [5, 5], [2, 2], 1, d),
            branch3x3dbl_1: bc(cin, 64, [1, 1], [0, 0], 1, d),
            branch3x3dbl_2: bc(64, 96, [3, 3], [1, 1], 1, d),
            branch3x3dbl_3: bc(96, 96, [3, 3], [1, 1], 1, d),
            branch_pool: bc(cin, pool_features, [1, 1], [0, 0], 1, d),
        }
    }

    /// Runs the four branches and concatenates them along channels.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b5 = self
            .branch5x5_2
            .forward(self.branch5x5_1.forward(x.clone()));
        let b3 = self.branch3x3dbl_3.forward(
            self.branch3x3dbl_2
                .forward(self.branch3x3dbl_1.forward(x.clone())),
        );
        let bp = self.branch_pool.forward(avg_pool_3x3_no_pad_count(x));
        Tensor::cat(vec![b1, b5, b3, bp], 1)
    }
}

/// torchvision's InceptionB (Mixed_6a, grid reduction 35 → 17), unpatched.
#[derive(Module, Debug)]
pub struct InceptionB<B: Backend> {
    branch3x3: BasicConv2d<B>,
    branch3x3dbl_1: BasicConv2d<B>,
    branch3x3dbl_2: BasicConv2d<B>,
    branch3x3dbl_3: BasicConv2d<B>,
}

impl<B: Backend> InceptionB<B> {
    /// Builds the block for `cin` input channels.
    pub fn new(cin: usize, d: &B::Device) -> Self {
        Self {
            branch3x3: bc(cin, 384, [3, 3], [0, 0], 2, d),
            branch3x3dbl_1: bc(cin, 64, [1, 1], [0, 0], 1, d),
            branch3x3dbl_2: bc(64, 96, [3, 3], [1, 1], 1, d),
            branch3x3dbl_3: bc(96, 96, [3, 3], [0, 0], 2, d),
        }
    }

    /// Runs the three branches and concatenates them along channels.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let b3 = self.branch3x3.forward(x.clone());
        let bd = self.branch3x3dbl_3.forward(
            self.branch3x3dbl_2
                .forward(self.branch3x3dbl_1.forward(x.clone())),
        );
        Tensor::cat(vec![b3, bd, max_pool_3x3_s2(x)], 1)
    }
}

/// `FIDInceptionC` (Mixed_6b-6e): factorised 7x7 branches, average pool not counting padding.
#[derive(Module, Debug)]
pub struct InceptionC<B: Backend> {
    branch1x1: BasicConv2d<B>,
    branch7x7_1: BasicConv2d<B>,
    branch7x7_2: BasicConv2d<B>,
    branch7x7_3: BasicConv2d<B>,
    branch7x7dbl_1: BasicConv2d<B>,
    branch7x7dbl_2: BasicConv2d<B>,
    branch7x7dbl_3: BasicConv2d<B>,
    branch7x7dbl_4: BasicConv2d<B>,
    branch7x7dbl_5: BasicConv2d<B>,
    branch_pool: BasicConv2d<B>,
}

impl<B: Backend> InceptionC<B> {
    /// Builds the block for `cin` input channels and `c7` channels in the 7x7 branches.
    pub fn new(cin: usize, c7: usize, d: &B::Device) -> Self {
        let (h, v) = (([1, 7], [0, 3]), ([7, 1], [3, 0]));
        Self {
            branch1x1: bc(cin, 192, [1, 1], [0, 0], 1, d),
            branch7x7_1: bc(cin, c7, [1, 1], [0, 0], 1, d),
            branch7x7_2: bc(c7, c7, h.0, h.1, 1, d),
            branch7x7_3: bc(c7, 192, v.0, v.1, 1, d),
            branch7x7dbl_1: bc(cin, c7, [1, 1], [0, 0], 1, d),
            branch7x7dbl_2: bc(c7, c7, v.0, v.1, 1, d),
            branch7x7dbl_3: bc(c7, c7, h.0, h.1, 1, d),
            branch7x7dbl_4: bc(c7, c7, v.0, v.1, 1, d),
            branch7x7dbl_5: bc(c7, 192, h.0, h.1, 1, d),
            branch_pool: bc(cin, 192, [1, 1], [0, 0], 1, d),
        }
    }

    /// Runs the four branches and concatenates them along channels.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let b1 = self.branch1x1.forward(x.clone());
        let mut b7 = self.branch7x7_1.forward(x.clone());
        b7 = self.branch7x7_3.forward(self.branch7x7_2.forward(b7));
        let mut bd = self.branch7x7dbl_1.forward(x.clone());
        bd = self.branch7x7dbl_2.forward(bd);
        bd = self.branch7x7dbl_3.forward(bd);
        bd = self.branch7x7dbl_4.forward(bd);
        bd = self.branch7x7dbl_5.forward(bd);
        let bp = self.branch_pool.forward(avg_pool_3x3_no_pad_count(x));
        Tensor::cat(vec![b1, b7, bd, bp], 1)
    }
}

/// torchvision's InceptionD (Mixed_7a, grid reduction 17 → 8), unpatched.
#[derive(Module, Debug)]
pub struct InceptionD<B: Backend> {
    branch3x3_1: BasicConv2d<B>,
    branch3x3_2: BasicConv2d<B>,
    branch7x7x3_1: BasicConv2d<B>,
    branch7x7x3_2: BasicConv2d<B>,
    branch7x7x3_3: BasicConv2d<B>,
    branch7x7x3_4: BasicConv2d<B>,
}

impl<B: Backend> InceptionD<B> {
    /// Builds the block for `cin` input channels.
    pub fn new(cin: usize, d: &B::Device) -> Self {
        Self {
            branch3x3_1: bc(cin, 192, [1, 1], [0, 0], 1, d),
            branch3x3_2: bc(192, 320, [3, 3], [0, 0], 2, d),
            branch7x7x3_1: bc(cin, 192, [1, 1], [0, 0], 1, d),
            branch7x7x3_2: bc(192, 192, [1, 7], [0, 3], 1, d),
            branch7x7x3_3: bc(192, 192, [7, 1], [3, 0], 1, d),
            branch7x7x3_4: bc(192, 192, [3, 3], [0, 0], 2, d),
        }
    }

    /// Runs the three branches and concatenates them along channels.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let b3 = self
            .branch3x3_2
            .forward(self.branch3x3_1.forward(x.clone()));
        let mut b7 = self.branch7x7x3_1.forward(x.clone());
        b7 = self.branch7x7x3_2.forward(b7);
        b7 = self.branch7x7x3_3.forward(b7);
        b7 = self.branch7x7x3_4.forward(b7);
        Tensor::cat(vec![b3, b7, max_pool_3x3_s2(x)], 1)
    }
}

/// The pool of an InceptionE block's pool branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EPool {
    /// `FIDInceptionE_1` (Mixed_7b): average pool not counting padding.
    AvgNoPadCount,
    /// `FIDInceptionE_2` (Mixed_7c): max pool, a quirk of the TensorFlow graph FID uses.
    Max,
}

/// `FIDInceptionE_1/2` (Mixed_7b/7c): expanded-filter-bank block.
#[derive(Module, Debug)]
pub struct InceptionE<B: Backend> {
    branch1x1: BasicConv2d<B>,
    branch3x3_1: BasicConv2d<B>,
    branch3x3_2a: BasicConv2d<B>,
    branch3x3_2b: BasicConv2d<B>,
    branch3x3dbl_1: BasicConv2d<B>,
    branch3x3dbl_2: BasicConv2d<B>,
    branch3x3dbl_3a: BasicConv2d<B>,
    branch3x3dbl_3b: BasicConv2d<B>,
    branch_pool: BasicConv2d<B>,
}

impl<B: Backend> InceptionE<B> {
    /// Builds the block for `cin` input channels.
    pub fn new(cin: usize, d: &B::Device) -> Self {
        Self {
            branch1x1: bc(cin, 320, [1, 1], [0, 0], 1, d),
            branch3x3_1: bc(cin, 384, [1, 1], [0, 0], 1, d),
            branch3x3_2a: bc(384, 384, [1, 3], [0, 1], 1, d),
            branch3x3_2b: bc(384, 384, [3, 1], [1, 0], 1, d),
            branch3x3dbl_1: bc(cin, 448, [1, 1], [0, 0], 1, d),
            branch3x3dbl_2: bc(448, 384, [3, 3], [1, 1], 1, d),
            branch3x3dbl_3a: bc(384, 384, [1, 3], [0, 1], 1, d),
            branch3x3dbl_3b: bc(384, 384, [3, 1], [1, 0], 1, d),
            branch_pool: bc(cin, 192, [1, 1], [0, 0], 1, d),
        }
    }

    /// Runs the branches (pool branch with `pool`) and concatenates them along channels.
    pub fn forward(&self, x: Tensor<B, 4>, pool: EPool) -> Tensor<B, 4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b3 = self.branch3x3_1.forward(x.clone());
        let b3 = Tensor::cat(
            vec![
                self.branch3x3_2a.forward(b3.clone()),
                self.branch3x3_2b.forward(b3),
            ],
            1,
        );
        let bd = self
            .branch3x3dbl_2
            .forward(self.branch3x3dbl_1.forward(x.clone()));
        let bd = Tensor::cat(
            vec![
                self.branch3x3dbl_3a.forward(bd.clone()),
                self.branch3x3dbl_3b.forward(bd),
            ],
            1,
        );
        let pooled = match pool {
            EPool::AvgNoPadCount => avg_pool_3x3_no_pad_count(x),
            EPool::Max => max_pool_3x3_same(x),
        };
        let bp = self.branch_pool.forward(pooled);
        Tensor::cat(vec![b1, b3, bd, bp], 1)
    }
}
