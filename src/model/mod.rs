//! Network definitions, each written once and generic over the burn backend.

pub mod activation;
pub mod channel_order;
pub mod discriminator;
pub mod generator;
pub mod inception;
pub mod inception_blocks;
pub mod norm;
pub mod padding;
pub mod patchgan;
pub mod resnet;
pub mod resnet_blocks;
pub mod resnet_generator;
pub mod vgg;

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
