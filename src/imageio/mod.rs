//! Image input and output: decoding any common format with EXIF orientation, conversion to
//! the float RGB the networks take, atomic encoding, and the tiling of large images.

pub(crate) mod collect;
mod decode;
mod encode;
pub(crate) mod jpeg;
mod limits;
mod output_plan;
mod resize;
pub(crate) mod tiling;

pub use collect::{FoundFile, IMAGE_EXTENSIONS, collect_files, collect_images, is_image};
pub use decode::{DecodedImage, decode_image, decode_image_with};
pub use encode::{atomic_write, encode_image, sync_dir, to_u8};
pub use limits::{DEFAULT_MAX_PIXELS, DecodeLimits, MAX_SIDE};
pub use output_plan::check_outputs;
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
    /// The image has more pixels than the limit (read from its header, before any pixel
    /// memory is allocated).
    #[error(
        "{path} is {width}x{height} ({megapixels:.1} MP): more than the {max_megapixels:.1} MP \
         --max-pixels allows; downscale it, or raise --max-pixels if the machine has the memory"
    )]
    TooManyPixels {
        /// The file.
        path: PathBuf,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// Its pixel count in millions.
        megapixels: f64,
        /// The limit in millions of pixels.
        max_megapixels: f64,
    },
    /// Two inputs would be written to the same output file.
    #[error(
        "{first} and {second} would both be written to {output}: rename one, or give them \
         separate --output folders"
    )]
    OutputCollision {
        /// The first input.
        first: PathBuf,
        /// The second input.
        second: PathBuf,
        /// The output both map to.
        output: PathBuf,
    },
    /// An output would overwrite one of the inputs.
    #[error(
        "output {output} is an input: toongan never overwrites its inputs; choose another --output"
    )]
    OutputIsInput {
        /// The output path.
        output: PathBuf,
    },
}
