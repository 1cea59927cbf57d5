//! VGG19 `features` up to conv4_4 (before its ReLU), the feature network of CartoonGAN's
//! content loss, with and without batch norm, readable from the official torchvision files.
//!
//! Matches torchvision's `vgg19().features[:26]` (conv4_4 is `features.25`) and, for the
//! batch-norm variant, `vgg19_bn().features[:37]` (conv4_4 is `features.36`, taken before its
//! BatchNorm and ReLU). Batch norm always uses its running statistics: the network is a frozen,
//! pretrained feature extractor, as `model.eval()` in PyTorch.

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::store::{ModuleSnapshot, PytorchStore};
use burn::tensor::{Tensor, activation::relu, backend::Backend};

/// Output channels of the 12 convs up to conv4_4, at full width; 0 marks a 2x2 max pool.
const LAYOUT: [usize; 15] = [
    64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512,
];

/// He-normal initialization: fan in, gain √2 (what keeps a ReLU network's activations at
/// the input's scale).
const HE_NORMAL: burn::nn::Initializer = burn::nn::Initializer::KaimingNormal {
    gain: std::f64::consts::SQRT_2,
    fan_out_only: false,
};

/// The official torchvision VGG19 weights file.
pub const VGG19_FILE: &str = "vgg19-dcbb9e9d.pth";
/// The official torchvision VGG19 with batch norm weights file.
pub const VGG19_BN_FILE: &str = "vgg19_bn-c79401a0.pth";

/// Where torchvision publishes a weights file.
pub fn torchvision_url(file: &str) -> String {
    format!("https://download.pytorch.org/models/{file}")
}

/// Hyperparameters of the VGG19 feature extractor.
#[derive(Config, Debug, PartialEq)]
pub struct Vgg19Config {
    /// Batch norm after every conv (torchvision `vgg19_bn`).
    #[config(default = false)]
    pub batch_norm: bool,
    /// Channels of the first conv (64 in VGG19); the others scale with it. Only 64 can load
    /// the official files; smaller widths serve random-init tiny models.
    #[config(default = 64)]
    pub width: usize,
}

/// VGG19 features up to conv4_4, before its (norm and) ReLU.
#[derive(Module, Debug)]
pub struct Vgg19Features<B: Backend> {
    /// The 12 convs conv1_1 .. conv4_4 (3x3, zero padding 1).
    pub convs: Vec<Conv2d<B>>,
    /// Batch norms after convs 1..11 (empty without batch norm); conv4_4's is not applied.
    pub norms: Vec<BatchNorm<B>>,
    /// The 2x2 max pool between stages.
    pub pool: MaxPool2d,
}

/// Errors loading VGG19 weights.
#[derive(Debug, thiserror::Error)]
pub enum VggError {
    /// The weights file is not there.
    #[error(
        "VGG19 weights {path} not found: download {url} (torchvision's file, used as it is) \
         and set content.vgg_weights to its path"
    )]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
        /// Where to download it.
        url: String,
    },
    /// The file could not be read as a torchvision VGG19 state dict.
    #[error("cannot load VGG19 weights from {path}: {message}")]
    Load {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl Vgg19Config {
    /// Indices in torchvision's `features` Sequential of the convs and (with batch norm) the
    /// norms, up to conv4_4.
    pub fn torchvision_indices(&self) -> (Vec<usize>, Vec<usize>) {
        let per_conv = if self.batch_norm { 3 } else { 2 };
        let (mut convs, mut norms, mut i) = (Vec::new(), Vec::new(), 0);
        for &c in &LAYOUT {
            if c == 0 {
                i += 1;
            } else {
                convs.push(i);
                if self.batch_norm {
                    norms.push(i + 1);
                }
                i += per_conv;
            }
        }
        (convs, norms)
    }

    /// Builds the network with random weights: He-normal convs (fan in, gain √2) and zero
    /// biases, so that, as in a trained VGG19, conv4_4's features keep the scale of the input
    /// instead of shrinking about 6x per layer as with burn's default init (a tiny run's
    /// content loss was then ~1e-4 against an adversarial loss of ~1, and ω did nothing).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Vgg19Features<B> {
        let mut convs = Vec::new();
        let mut norms = Vec::new();
        let mut cin = 3;
        for &c in LAYOUT.iter().filter(|&&c| c != 0) {
            let cout = c * self.width / 64;
            let mut conv: Conv2d<B> = Conv2dConfig::new([cin, cout], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(HE_NORMAL)
                .init(device);
            conv.bias = conv.bias.map(|b| b.map(|t| t.zeros_like()));
            convs.push(conv);
            if self.batch_norm {
                norms.push(BatchNormConfig::new(cout).init(device));
            }
            cin = cout;
        }
        Vgg19Features {
            convs,
            norms,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
        }
    }

    /// Builds the network from a torchvision `.pth` file (`vgg19-dcbb9e9d.pth` or
    /// `vgg19_bn-c79401a0.pth`), read as it is; keys past conv4_4 and the classifier are
    /// skipped without being loaded.
    pub fn load<B: Backend>(
        &self,
        path: &Path,
        device: &B::Device,
    ) -> Result<Vgg19Features<B>, VggError> {
        if !path.is_file() {
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let official = if self.batch_norm {
                VGG19_BN_FILE
            } else {
                VGG19_FILE
            };
            let file = if file.ends_with(".pth") {
                file
            } else {
                official.to_string()
            };
            return Err(VggError::Missing {
                path: path.to_path_buf(),
                url: torchvision_url(&file),
            });
        }
        let mut net = self.init::<B>(device);
        let (conv_idx, norm_idx) = self.torchvision_indices();
        let mut store = PytorchStore::from_file(path)
            .map_indices_contiguous(false)
            .allow_partial(false);
        for (i, &t) in conv_idx.iter().enumerate() {
            store = store.with_key_remapping(
                format!(r"^features\.{t}\.(weight|bias)$"),
                format!("convs.{i}.$1"),
            );
        }
        for (i, &t) in norm_idx.iter().enumerate() {
            store = store.with_key_remapping(
                format!(r"^features\.{t}\.(weight|bias|running_mean|running_var)$"),
                format!("norms.{i}.$1"),
            );
        }
        let result = net.load_from(&mut store).map_err(|e| VggError::Load {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if !result.missing.is_empty() || !result.errors.is_empty() {
            return Err(VggError::Load {
                path: path.to_path_buf(),
                message: format!(
                    "not a torchvision VGG19{} state dict: missing {:?}, errors {:?}",
                    if self.batch_norm { "_bn" } else { "" },
                    result.missing,
                    result.errors
                ),
            });
        }
        Ok(net)
    }
}

impl<B: Backend> Vgg19Features<B> {
    /// conv4_4 features (before its norm and ReLU) of an NCHW batch already normalized as the
    /// weights expect. Output: 8·width channels at 1/8 resolution.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut y = x;
        let mut conv = 0;
        let last = self.convs.len() - 1;
        for &c in &LAYOUT {
            if c == 0 {
                y = self.pool.forward(y);
                continue;
            }
            y = self.convs[conv].forward(y);
            if conv == last {
                break;
            }
            if let Some(bn) = self.norms.get(conv) {
                y = frozen_batch_norm(bn, y);
            }
            y = relu(y);
            conv += 1;
        }
        y
    }
}

/// Batch norm with its running statistics, whatever the backend's training mode.
fn frozen_batch_norm<B: Backend>(bn: &BatchNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let c = bn.gamma.val().dims()[0];
    let mean = bn.running_mean.value().reshape([1, c, 1, 1]);
    let var = bn.running_var.value().reshape([1, c, 1, 1]);
    let scale = bn.gamma.val().reshape([1, c, 1, 1]) / (var + bn.epsilon).sqrt();
    (x - mean) * scale + bn.beta.val().reshape([1, c, 1, 1])
}
