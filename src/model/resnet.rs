//! torchvision's ResNet-18/34/50/101 (He et al., CVPR 2016; `torchvision.models.resnet`,
//! v1.5) as a frozen feature extractor for the improved CartoonGAN's content loss: the
//! network up to a chosen stage (`layer2` by default, as the seed code used with
//! ResNet-101), nothing after it built or loaded.
//!
//! The input is an NCHW batch already normalized as the weights expect (torchvision's:
//! ImageNet mean/std on [0, 1] RGB); the content-loss code does that normalization.
//! Weights load from the official `.pth` files with
//! [`load_torchvision_resnet`](crate::weights::load_torchvision_resnet).

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::{Tensor, activation::relu, backend::Backend};
use serde::{Deserialize, Serialize};

use super::resnet_blocks::{FrozenBatchNorm, ResidualBlock, block_out_channels, stem_conv};

/// Which ResNet: the number of weighted layers. Written as the number (`101`) in configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum ResnetDepth {
    /// ResNet-18: basic blocks 2-2-2-2.
    Resnet18,
    /// ResNet-34: basic blocks 3-4-6-3.
    Resnet34,
    /// ResNet-50: bottlenecks 3-4-6-3.
    Resnet50,
    /// ResNet-101: bottlenecks 3-4-23-3.
    Resnet101,
}

impl ResnetDepth {
    /// The depth as a number (18, 34, 50, 101).
    pub fn number(self) -> u32 {
        match self {
            Self::Resnet18 => 18,
            Self::Resnet34 => 34,
            Self::Resnet50 => 50,
            Self::Resnet101 => 101,
        }
    }

    /// Blocks per stage, as torchvision.
    pub fn blocks(self) -> [usize; 4] {
        match self {
            Self::Resnet18 => [2, 2, 2, 2],
            Self::Resnet34 | Self::Resnet50 => [3, 4, 6, 3],
            Self::Resnet101 => [3, 4, 23, 3],
        }
    }

    /// Whether the stages use bottleneck blocks (50, 101) rather than basic blocks.
    pub fn bottleneck(self) -> bool {
        matches!(self, Self::Resnet50 | Self::Resnet101)
    }
}

impl TryFrom<u32> for ResnetDepth {
    type Error = String;
    fn try_from(n: u32) -> Result<Self, String> {
        match n {
            18 => Ok(Self::Resnet18),
            34 => Ok(Self::Resnet34),
            50 => Ok(Self::Resnet50),
            101 => Ok(Self::Resnet101),
            _ => Err(format!(
                "ResNet depth {n} is not supported: use 18, 34, 50 or 101"
            )),
        }
    }
}

impl From<ResnetDepth> for u32 {
    fn from(d: ResnetDepth) -> u32 {
        d.number()
    }
}

impl FromStr for ResnetDepth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let digits = s.trim().trim_start_matches("resnet");
        digits
            .parse::<u32>()
            .map_err(|_| format!("'{s}' is not a ResNet depth: use 18, 34, 50 or 101"))
            .and_then(Self::try_from)
    }
}

impl fmt::Display for ResnetDepth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resnet{}", self.number())
    }
}

/// The stage whose output the extractor returns (torchvision's `layer1` .. `layer4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResnetLayer {
    /// After `layer1`: 1/4 resolution, 64 (basic) or 256 (bottleneck) channels.
    Layer1,
    /// After `layer2`: 1/8 resolution, 128 or 512 channels.
    Layer2,
    /// After `layer3`: 1/16 resolution, 256 or 1024 channels.
    Layer3,
    /// After `layer4`: 1/32 resolution, 512 or 2048 channels.
    Layer4,
}

impl ResnetLayer {
    /// How many stages run (1 for `layer1` .. 4 for `layer4`).
    pub fn stages(self) -> usize {
        self as usize + 1
    }
}

impl FromStr for ResnetLayer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "layer1" => Ok(Self::Layer1),
            "layer2" => Ok(Self::Layer2),
            "layer3" => Ok(Self::Layer3),
            "layer4" => Ok(Self::Layer4),
            _ => Err(format!("unknown ResNet layer '{s}': use layer1 .. layer4")),
        }
    }
}

/// Which ResNet and where to cut it. Defaults: the seed code's ResNet-101 up to `layer2`.
#[derive(Config, Debug, PartialEq)]
pub struct ResnetConfig {
    /// ResNet-18, 34, 50 or 101.
    #[config(default = "ResnetDepth::Resnet101")]
    pub depth: ResnetDepth,
    /// The stage whose output is returned; later stages are neither built nor loaded.
    #[config(default = "ResnetLayer::Layer2")]
    pub output: ResnetLayer,
    /// Batch-norm epsilon (torchvision: 1e-5).
    #[config(default = 1e-5)]
    pub bn_epsilon: f64,
}

/// ResNet up to [`ResnetConfig::output`]; stages after it are empty.
///
/// Field names follow torchvision's state dict (`conv1`, `bn1`, `layer1.0.conv1` ...).
#[derive(Module, Debug)]
pub struct Resnet<B: Backend> {
    /// Stem: 7x7 conv, stride 2, 3 → 64 channels.
    pub conv1: Conv2d<B>,
    /// Norm after the stem conv, then ReLU.
    pub bn1: FrozenBatchNorm<B>,
    /// 3x3 max pool, stride 2, padding 1.
    pub maxpool: MaxPool2d,
    /// Stage 1 (stride 1).
    pub layer1: Vec<ResidualBlock<B>>,
    /// Stage 2 (stride 2); empty when not needed.
    pub layer2: Vec<ResidualBlock<B>>,
    /// Stage 3 (stride 2); empty when not needed.
    pub layer3: Vec<ResidualBlock<B>>,
    /// Stage 4 (stride 2); empty when not needed.
    pub layer4: Vec<ResidualBlock<B>>,
}

impl ResnetConfig {
    /// Builds the network up to `output` with random weights at the scale of trained ones
    /// (He-normal convs, identity batch norms except each residual branch's last, scaled by
    /// 1/√blocks), for tests and tiny runs; or load real weights into it.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Resnet<B> {
        let bottleneck = self.depth.bottleneck();
        let blocks = self.depth.blocks();
        let mut in_ch = 64;
        let mut stages: Vec<Vec<ResidualBlock<B>>> = Vec::with_capacity(4);
        for (i, planes) in [64, 128, 256, 512].into_iter().enumerate() {
            if i >= self.output.stages() {
                stages.push(Vec::new());
                continue;
            }
            let stride = if i == 0 { 1 } else { 2 };
            let stage = (0..blocks[i])
                .map(|b| {
                    let s = if b == 0 { stride } else { 1 };
                    let block =
                        ResidualBlock::new(bottleneck, in_ch, planes, s, self.bn_epsilon, device);
                    in_ch = block_out_channels(bottleneck, planes);
                    block
                })
                .collect();
            stages.push(stage);
        }
        // Random weights at the scale of real ones: each branch adds 1/√blocks of its
        // He-normal size, so the sum over the blocks keeps roughly the stem's scale.
        let n_blocks: usize = stages.iter().map(Vec::len).sum();
        for block in stages.iter_mut().flatten() {
            block.scale_branch(1.0 / (n_blocks.max(1) as f64).sqrt());
        }
        let mut stages = stages.into_iter();
        let mut next = || stages.next().unwrap_or_default();
        Resnet {
            conv1: stem_conv(device),
            bn1: FrozenBatchNorm::new(64, self.bn_epsilon, device),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1: next(),
            layer2: next(),
            layer3: next(),
            layer4: next(),
        }
    }

    /// Channels of the returned features (e.g. 512 for ResNet-101 `layer2`).
    pub fn output_channels(&self) -> usize {
        let planes = 64 << (self.output.stages() - 1);
        block_out_channels(self.depth.bottleneck(), planes)
    }
}

impl<B: Backend> Resnet<B> {
    /// Features of an already-normalized NCHW RGB batch after the configured stage.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut y = self
            .maxpool
            .forward(relu(self.bn1.forward(self.conv1.forward(x))));
        for stage in [&self.layer1, &self.layer2, &self.layer3, &self.layer4] {
            for block in stage {
                y = block.forward(y);
            }
        }
        y
    }
}
