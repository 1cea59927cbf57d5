//! Decoding an image file into float RGB in [0, 1] plus its alpha channel, whatever the
//! format, bit depth or EXIF orientation.

use std::io::BufReader;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use super::ImageIoError;

use super::limits::DecodeLimits;

/// A decoded image, upright, as the networks take it.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Interleaved RGB in [0, 1], row-major (grayscale is replicated to the three channels).
    pub rgb: Vec<f32>,
    /// The alpha channel in [0, 1], if the file had one.
    pub alpha: Option<Vec<f32>>,
}

/// Decodes `path`, applying its EXIF orientation, under the default [`DecodeLimits`].
pub fn decode_image(path: &Path) -> Result<DecodedImage, ImageIoError> {
    decode_image_with(path, &DecodeLimits::default())
}

/// Decodes `path`, applying its EXIF orientation; the header's dimensions are checked against
/// `limits` before any pixel memory is allocated. JPEGs are decoded as PIL decodes them
/// (`jpeg`), and a truncated one is an error.
pub fn decode_image_with(
    path: &Path,
    decode_limits: &DecodeLimits,
) -> Result<DecodedImage, ImageIoError> {
    if super::jpeg::file_is_jpeg(path)
        && let super::jpeg::JpegDecode::Rgb(img) = super::jpeg::decode_jpeg(path, decode_limits)?
    {
        return Ok(to_decoded(&img));
    }
    let decode_err = |message: String| ImageIoError::Decode {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| ImageIoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|source| ImageIoError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    // Sides and area are checked below from the header, so the error can name the real size.
    let mut limits = Limits::no_limits();
    limits.max_alloc = Some(8 << 30);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| classify(path, e))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(decode_err(format!("empty image ({w}x{h})")));
    }
    decode_limits.check(path, w, h)?;
    let orientation = decoder
        .orientation()
        .map_err(|e| decode_err(e.to_string()))?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| classify(path, e))?;
    img.apply_orientation(orientation);
    Ok(to_decoded(&img))
}

fn classify(path: &Path, e: image::ImageError) -> ImageIoError {
    match e {
        image::ImageError::Limits(e) => ImageIoError::Decode {
            path: path.to_path_buf(),
            message: format!("it asks for more memory than toongan allows ({e})"),
        },
        image::ImageError::IoError(source) => ImageIoError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => ImageIoError::Decode {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    }
}

/// Converts any decoded image to float RGB + optional alpha.
///
/// 8-bit RGB and RGBA (every JPEG, most PNGs) go straight from their bytes to the float
/// buffers; other layouts through `image`'s float RGBA, a whole-image copy of 16 bytes per
/// pixel on top of the 12 of the result, which is what the direct path saves for large photos.
pub fn to_decoded(img: &DynamicImage) -> DecodedImage {
    let (width, height) = (img.width(), img.height());
    let level = |v: &u8| f32::from(*v) / 255.0;
    let (rgb, alpha) = match img {
        DynamicImage::ImageRgb8(buf) => (buf.as_raw().iter().map(level).collect(), None),
        DynamicImage::ImageRgba8(buf) => {
            let raw = buf.as_raw();
            let rgb = raw
                .chunks_exact(4)
                .flat_map(|p| [level(&p[0]), level(&p[1]), level(&p[2])])
                .collect();
            (
                rgb,
                Some(raw.iter().skip(3).step_by(4).map(level).collect()),
            )
        }
        _ => {
            let has_alpha = img.color().has_alpha();
            let rgba = img.to_rgba32f();
            let n = (width as usize) * (height as usize);
            let mut rgb = Vec::with_capacity(n * 3);
            let mut alpha = has_alpha.then(|| Vec::with_capacity(n));
            for p in rgba.pixels() {
                rgb.extend_from_slice(&[p[0], p[1], p[2]]);
                if let Some(a) = alpha.as_mut() {
                    a.push(p[3]);
                }
            }
            (rgb, alpha)
        }
    };
    DecodedImage {
        width,
        height,
        rgb,
        alpha,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    /// Every byte value in every channel, in an image of 256 pixels.
    fn ramp<P: image::Pixel<Subpixel = u8>>(make: impl Fn(u8) -> P) -> ImageBuffer<P, Vec<u8>> {
        ImageBuffer::from_fn(16, 16, |x, y| make((y * 16 + x) as u8))
    }

    #[test]
    fn the_direct_8_bit_paths_equal_images_float_conversion_bit_for_bit() {
        let rgb = DynamicImage::ImageRgb8(ramp(|v| Rgb([v, 255 - v, v / 2])));
        let rgba = DynamicImage::ImageRgba8(ramp(|v| Rgba([v, 255 - v, v / 3, 255 - v / 5])));
        for img in [rgb, rgba] {
            let direct = to_decoded(&img);
            let reference = img.to_rgba32f();
            let want_rgb: Vec<f32> = reference
                .pixels()
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            assert_eq!(direct.rgb, want_rgb);
            let want_alpha: Option<Vec<f32>> = img
                .color()
                .has_alpha()
                .then(|| reference.pixels().map(|p| p[3]).collect());
            assert_eq!(direct.alpha, want_alpha);
            assert_eq!((direct.width, direct.height), (16, 16));
        }
    }
}
