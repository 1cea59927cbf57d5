//! CartoonGAN's content loss: ω·L1 between the feature maps of the photo and of the generated
//! image (VGG19 conv4_4 in the paper), with the feature network frozen.

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Tensor, backend::Backend};
use serde::{Deserialize, Serialize};

use crate::model::vgg::{VGG19_BN_FILE, VGG19_FILE, Vgg19Config, Vgg19Features, VggError};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureNetKind {
    /// VGG19 conv4_4 (the paper).
    Vgg19,
    /// VGG19 with batch norm, conv4_4 (the seed code's choice).
    Vgg19Bn,
    // TODO(issue 4): `Resnet { depth, layer }` once `model::resnet` exists; add a matching
    // `FeatureNetwork::Resnet` variant and its arm in `FeatureNetwork::forward`.
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
    /// Width of the feature network (64 = real VGG19; smaller only with random weights).
    #[config(default = 64)]
    pub width: usize,
}

/// The frozen feature network (an enum so other networks plug in without a trait object).
#[derive(Module, Debug)]
pub enum FeatureNetwork<B: Backend> {
    /// VGG19 (with or without batch norm) up to conv4_4.
    Vgg19(Vgg19Features<B>),
}

impl<B: Backend> FeatureNetwork<B> {
    /// Features of an already normalized batch.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            FeatureNetwork::Vgg19(net) => net.forward(x),
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
    /// Where the weights file is, for a file (not "random") setting.
    pub fn weights_path(&self) -> Option<PathBuf> {
        if self.weights == "random" {
            return None;
        }
        let name = if self.weights.is_empty() {
            match self.network {
                FeatureNetKind::Vgg19 => VGG19_FILE,
                FeatureNetKind::Vgg19Bn => VGG19_BN_FILE,
            }
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

    /// Builds the loss: loads the weights (or initialises them randomly) and freezes them.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Result<ContentLoss<B>, VggError> {
        let vgg = Vgg19Config::new()
            .with_batch_norm(self.network == FeatureNetKind::Vgg19Bn)
            .with_width(self.width);
        let net = match self.weights_path() {
            None => vgg.init::<B>(device),
            Some(path) => vgg.load::<B>(&path, device)?,
        };
        Ok(ContentLoss {
            network: FeatureNetwork::Vgg19(net).no_grad(),
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
