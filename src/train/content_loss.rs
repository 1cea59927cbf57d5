//! CartoonGAN's content loss: ω·L1 between the feature maps of the photo and of the generated
//! image (VGG19 conv4_4 in the paper; a torchvision ResNet stage in the improved CartoonGAN),
//! with the feature network frozen.

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Tensor, backend::Backend};
use serde::{Deserialize, Serialize};

use crate::model::vgg::{VGG19_BN_FILE, VGG19_FILE, Vgg19Config, Vgg19Features, VggError};
use crate::model::{Resnet, ResnetConfig, ResnetDepth, ResnetLayer};
use crate::weights::torchvision_resnet::{
    ResnetWeightsError, load_torchvision_resnet, official_file_name,
};
use crate::weights::{PretrainedRegistry, WeightsError};

/// How images in [-1, 1] are mapped before the feature network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputNormalization {
    /// `((x + 1) / 2 - mean) / std` with ImageNet's mean and std, as torchvision's weights expect.
    Imagenet,
    /// `(x + 1) / 2`, what the seed code fed its VGG.
    Unit,
}

/// Which frozen network provides the features.
///
/// Written in configs as one string: `"vgg19"`, `"vgg19_bn"`, or `"resnet<depth>"` with an
/// optional `_layer<N>` (`"resnet101"` = `"resnet101_layer2"`, the seed code's choice;
/// `"resnet50_layer3"`), so `--set cartoongan.content.network=resnet18_layer1` switches alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FeatureNetKind {
    /// VGG19 conv4_4 (the paper).
    Vgg19,
    /// VGG19 with batch norm, conv4_4 (the seed code's choice).
    Vgg19Bn,
    /// torchvision ResNet-18/34/50/101, the output of `layer` (the improved CartoonGAN).
    Resnet {
        /// Which ResNet.
        depth: ResnetDepth,
        /// The stage whose output is compared (`layer2` by default).
        layer: ResnetLayer,
    },
}

impl FeatureNetKind {
    /// The seed code's ResNet content features: ResNet-101 after `layer2`.
    pub const RESNET101_LAYER2: Self = Self::Resnet {
        depth: ResnetDepth::Resnet101,
        layer: ResnetLayer::Layer2,
    };
}

impl std::str::FromStr for FeatureNetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "vgg19" => return Ok(Self::Vgg19),
            "vgg19_bn" => return Ok(Self::Vgg19Bn),
            _ => {}
        }
        let unknown = || {
            format!(
                "unknown feature network '{s}': use vgg19, vgg19_bn, resnet18, resnet34, \
                 resnet50 or resnet101, optionally with _layer1 .. _layer4 (e.g. resnet101_layer2)"
            )
        };
        if !s.starts_with("resnet") {
            return Err(unknown());
        }
        let (depth, layer) = match s.split_once('_') {
            Some((d, l)) => (d, l.parse::<ResnetLayer>().map_err(|_| unknown())?),
            None => (s, ResnetLayer::Layer2),
        };
        let depth = depth.parse::<ResnetDepth>().map_err(|_| unknown())?;
        Ok(Self::Resnet { depth, layer })
    }
}

impl std::fmt::Display for FeatureNetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Vgg19 => f.write_str("vgg19"),
            Self::Vgg19Bn => f.write_str("vgg19_bn"),
            Self::Resnet { depth, layer } => write!(f, "{depth}_layer{}", layer.stages()),
        }
    }
}

impl TryFrom<String> for FeatureNetKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<FeatureNetKind> for String {
    fn from(k: FeatureNetKind) -> String {
        k.to_string()
    }
}

/// Why the content loss's feature network cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum FeatureNetError {
    /// The VGG19 weights are missing or unreadable.
    #[error(transparent)]
    Vgg(#[from] VggError),
    /// The ResNet weights are missing or unreadable.
    #[error(transparent)]
    Resnet(#[from] ResnetWeightsError),
    /// The official file is neither on disk nor downloadable, or does not verify.
    #[error(transparent)]
    Pretrained(#[from] Box<WeightsError>),
}

/// Settings of the content loss.
#[derive(Config, Debug, PartialEq)]
pub struct ContentLossConfig {
    /// ω, the weight of the content loss against the adversarial loss (paper: 10).
    #[config(default = 10.0)]
    pub weight: f64,
    /// The feature network.
    #[config(default = "FeatureNetKind::Vgg19")]
    pub network: FeatureNetKind,
    /// Input normalization before the feature network.
    #[config(default = "InputNormalization::Imagenet")]
    pub normalization: InputNormalization,
    /// The torchvision weights file: a path, a file name looked up in `$TOONGAN_WEIGHTS_DIR`,
    /// or "random" for a randomly initialised network (tests, tiny runs). Empty = the official
    /// file name of `network` in `$TOONGAN_WEIGHTS_DIR` or the current folder.
    #[config(default = "String::new()")]
    pub weights: String,
    /// Width of the VGG19 (64 = real VGG19; smaller only with random weights). ResNets are
    /// always full width.
    #[config(default = 64)]
    pub width: usize,
}

/// The frozen feature network (an enum so other networks plug in without a trait object).
// One per model, built once: the ResNet variant's inline size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum FeatureNetwork<B: Backend> {
    /// VGG19 (with or without batch norm) up to conv4_4.
    Vgg19(Vgg19Features<B>),
    /// A torchvision ResNet up to the configured stage, batch norm frozen (running stats).
    Resnet(Resnet<B>),
}

impl<B: Backend> FeatureNetwork<B> {
    /// Features of an already normalized batch.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            FeatureNetwork::Vgg19(net) => net.forward(x),
            FeatureNetwork::Resnet(net) => net.forward(x),
        }
    }
}

/// The content loss with its frozen network.
#[derive(Module, Debug)]
pub struct ContentLoss<B: Backend> {
    /// The feature network (no gradients to its own weights).
    pub network: FeatureNetwork<B>,
    /// ω.
    pub weight: f64,
    /// Whether to apply ImageNet mean/std (else plain (x+1)/2).
    pub imagenet: bool,
}

impl ContentLossConfig {
    /// Where the weights file is, for a file (not "random") setting, without downloading:
    /// a path that exists, or the official file name in `$TOONGAN_WEIGHTS_DIR`.
    pub fn weights_path(&self) -> Option<PathBuf> {
        if self.weights == "random" {
            return None;
        }
        let name = if self.weights.is_empty() {
            self.official_file()
        } else {
            self.weights.as_str()
        };
        let path = Path::new(name);
        if path.is_absolute() || path.exists() {
            return Some(path.to_path_buf());
        }
        let dir = std::env::var_os("TOONGAN_WEIGHTS_DIR").map(PathBuf::from);
        Some(
            dir.map(|d| d.join(path))
                .unwrap_or_else(|| path.to_path_buf()),
        )
    }

    /// torchvision's file name for `network` (e.g. `vgg19-dcbb9e9d.pth`).
    pub fn official_file(&self) -> &'static str {
        match self.network {
            FeatureNetKind::Vgg19 => VGG19_FILE,
            FeatureNetKind::Vgg19Bn => VGG19_BN_FILE,
            FeatureNetKind::Resnet { depth, .. } => official_file_name(depth),
        }
    }

    /// The weights file to load (`None`: random): an explicit path as given; the official
    /// file (empty setting, or its bare name) from the pretrained registry, verified:
    /// `$TORCH_HOME/hub/checkpoints`, toongan's cache, `$TOONGAN_WEIGHTS_DIR`, else
    /// downloaded into the cache unless offline.
    pub fn resolve_weights(&self) -> Result<Option<PathBuf>, FeatureNetError> {
        if self.weights == "random" {
            return Ok(None);
        }
        if self.weights.is_empty() || self.weights == self.official_file() {
            let mut registry = PretrainedRegistry::default();
            // Where earlier versions looked: the current folder.
            registry.search.push(PathBuf::from("."));
            let path = registry
                .locate_name(self.official_file())
                .map_err(Box::new)?;
            return Ok(Some(path));
        }
        Ok(self.weights_path())
    }

    /// Builds the loss: loads the weights (or initialises them randomly) and freezes them.
    /// A missing file is an error naming the official file and its download address.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Result<ContentLoss<B>, FeatureNetError> {
        let path = self.resolve_weights()?;
        let network = match self.network {
            FeatureNetKind::Vgg19 | FeatureNetKind::Vgg19Bn => {
                let vgg = Vgg19Config::new()
                    .with_batch_norm(self.network == FeatureNetKind::Vgg19Bn)
                    .with_width(self.width);
                FeatureNetwork::Vgg19(match path {
                    None => vgg.init::<B>(device),
                    Some(path) => vgg.load::<B>(&path, device)?,
                })
            }
            FeatureNetKind::Resnet { depth, layer } => {
                let resnet = ResnetConfig::new().with_depth(depth).with_output(layer);
                FeatureNetwork::Resnet(match path {
                    None => resnet.init::<B>(device),
                    Some(path) => load_torchvision_resnet::<B>(&path, &resnet, device)?,
                })
            }
        };
        Ok(ContentLoss {
            network: network.no_grad(),
            weight: self.weight,
            imagenet: self.normalization == InputNormalization::Imagenet,
        })
    }
}

impl<B: Backend> ContentLoss<B> {
    /// Maps images in [-1, 1] to the feature network's input.
    pub fn normalize(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let unit = (x + 1.0) * 0.5;
        if !self.imagenet {
            return unit;
        }
        let device = unit.device();
        let mean =
            Tensor::<B, 1>::from_floats([0.485, 0.456, 0.406], &device).reshape([1, 3, 1, 1]);
        let std = Tensor::<B, 1>::from_floats([0.229, 0.224, 0.225], &device).reshape([1, 3, 1, 1]);
        (unit - mean) / std
    }

    /// Features of images in [-1, 1].
    pub fn features(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.network.forward(self.normalize(x))
    }

    /// ω · mean |φ(generated) − φ(photo)|; the photo's features carry no gradient.
    pub fn forward(&self, photo: Tensor<B, 4>, generated: Tensor<B, 4>) -> Tensor<B, 1> {
        let target = self.features(photo).detach();
        (self.features(generated) - target).abs().mean() * self.weight
    }
}
