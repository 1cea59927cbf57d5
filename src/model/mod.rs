//! Network definitions, each written once and generic over the burn backend.

mod activation;
mod channel_order;
mod discriminator;
pub(crate) mod generator;
pub(crate) mod inception;
mod inception_blocks;
mod norm;
mod padding;
mod patchgan;
mod resnet;
mod resnet_blocks;
mod resnet_generator;
pub(crate) mod vgg;

pub use activation::{Activation, DEFAULT_LEAKY_SLOPE};
pub use channel_order::ChannelOrder;
pub use discriminator::{Discriminator, DiscriminatorConfig};
pub use generator::{Generator, GeneratorConfig};
pub use inception::{FID_DIMS, FidInception, FidInceptionConfig, block_for_dims};
pub use norm::{Norm, NormKind};
pub use padding::{PaddingScheme, pad_tensor};
pub use patchgan::{PatchGan, PatchGanConfig};
pub use resnet::{Resnet, ResnetConfig, ResnetDepth, ResnetLayer};
pub use resnet_generator::{ResnetGenerator, ResnetGeneratorConfig};
pub use vgg::{Vgg19Config, Vgg19Features, VggError};
