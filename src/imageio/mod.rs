//! Image input and output: decoding any common format with EXIF orientation, conversion to
//! the float RGB the networks take, atomic encoding, and the tiling of large images.

pub mod decode;
pub mod encode;
pub mod jpeg;
pub mod resize;
pub mod tiling;

pub use decode::{DecodedImage, decode_image};
pub use encode::{atomic_write, encode_image};
pub use resize::{fit_within, resize_center_crop};
pub use tiling::TilePlan;

use std::path::PathBuf;

/// What can go wrong reading or writing an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageIoError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bytes are not a decodable image (corrupt, truncated or unsupported).
    #[error(
        "cannot decode {path}: {message} (is it a complete PNG, JPEG, WebP, BMP, TIFF or GIF file?)"
    )]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// The image is larger than toongan accepts.
    #[error(
        "{path} is {width}x{height}: larger than the {max}x{max} toongan accepts; downscale it first"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// Largest side accepted.
        max: u32,
    },
    /// The output could not be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}
