//! Named presets of a run's config: `tiny` (small sizes for tests and CI, each model's part
//! in its file) and the improved CartoonGAN's switches.

use std::path::PathBuf;

use super::content_loss::FeatureNetKind;
use super::gan_loss::GanLossKind;
use super::registry::ModelKind;
use super::{TrainConfig, TrainError};
use crate::model::DEFAULT_LEAKY_SLOPE;
use crate::model::{Activation, NormKind};

/// Named presets. `tiny` only shrinks sizes and widths and the others only flip the improved
/// CartoonGAN's switches, so they compose in any order (`--preset tiny --preset improved`).
pub const PRESETS: [&str; 6] = [
    "tiny",
    "improved",
    "instance_norm",
    "leaky_relu",
    "resnet_content",
    "lsgan",
];

impl TrainConfig {
    /// Applies a named preset on top of the current values.
    pub fn apply_preset(&mut self, name: &str) -> Result<(), TrainError> {
        match name {
            // 64² crops, batches of 2, and every model's own small networks
            // (`ModelSection::apply_tiny` in each model's file): a step takes well under a second on a laptop CPU.
            "tiny" => {
                self.data.load_size = 64;
                self.data.crop_size = 64;
                self.data.n_validation = 2;
                self.train.batch_size = 2;
                self.output.sample_every = 0;
                self.output.checkpoint_every = 0;
                self.output.log_every = 1;
                for kind in ModelKind::ALL {
                    kind.section_mut(self).apply_tiny();
                }
                Ok(())
            }
            // The improved CartoonGAN: all four switches below.
            "improved" => ["instance_norm", "leaky_relu", "resnet_content", "lsgan"]
                .iter()
                .try_for_each(|p| self.apply_preset(p)),
            // Instance norm instead of batch norm in the generator and the discriminator.
            "instance_norm" => {
                let c = &mut self.cartoongan;
                c.generator.norm = NormKind::Instance;
                c.discriminator.norm = NormKind::Instance;
                Ok(())
            }
            // LeakyReLU (slope 0.2) instead of ReLU in the generator.
            "leaky_relu" => {
                self.cartoongan.generator.activation = Activation::LeakyRelu {
                    slope: DEFAULT_LEAKY_SLOPE,
                };
                Ok(())
            }
            // ResNet-101 `layer2` features for the content loss (the seed code's choice).
            "resnet_content" => {
                self.cartoongan.content.network = FeatureNetKind::RESNET101_LAYER2;
                Ok(())
            }
            // Least-squares adversarial loss instead of BCE.
            "lsgan" => {
                self.cartoongan.gan_loss = GanLossKind::Lsgan;
                Ok(())
            }
            other => Err(TrainError::Config {
                path: PathBuf::from(format!("--preset {other}")),
                message: format!("unknown preset; choose one of {PRESETS:?}"),
            }),
        }
    }
}
