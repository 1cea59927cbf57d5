//! The colour channel order a generator expects: the published CartoonGAN weights take BGR.

use serde::{Deserialize, Serialize};

/// Channel order of a network's input and output planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelOrder {
    /// Red, green, blue.
    Rgb,
    /// Blue, green, red (the published CartoonGAN weights, from Lua Torch).
    Bgr,
}

impl ChannelOrder {
    /// The plane index holding RGB channel `c` (0 = red).
    pub fn plane_of_rgb(&self, c: usize) -> usize {
        match self {
            ChannelOrder::Rgb => c,
            ChannelOrder::Bgr => 2 - c,
        }
    }
}
