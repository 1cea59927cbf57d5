//! Limits on what an image file may ask for, checked against its header before any pixel
//! memory is allocated: a small file whose header claims 16384x16384 is refused by name
//! instead of asking for gigabytes.

use std::path::Path;

use super::ImageIoError;

/// Largest width or height accepted (a 32768x32768 RGB float image is 12 GiB).
pub const MAX_SIDE: u32 = 32768;

/// Default of `--max-pixels`: 100 million pixels, more than any camera's photo.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// What a decode may allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most pixels (width x height) an image may have.
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

impl DecodeLimits {
    /// Checks the dimensions a header gives: each side at most [`MAX_SIDE`], the area at most
    /// `max_pixels`. Errors name the file and its real size.
    pub fn check(&self, path: &Path, width: u32, height: u32) -> Result<(), ImageIoError> {
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(ImageIoError::TooLarge {
                path: path.to_path_buf(),
                width,
                height,
                max: MAX_SIDE,
            });
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(ImageIoError::TooManyPixels {
                path: path.to_path_buf(),
                width,
                height,
                megapixels: pixels as f64 / 1e6,
                max_megapixels: self.max_pixels as f64 / 1e6,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_past_the_maximum_are_reported_with_their_real_size() {
        let e = DecodeLimits::default()
            .check(Path::new("big.png"), 40000, 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("40000x10"), "{e}");
    }

    #[test]
    fn the_pixel_limit_is_named() {
        let e = DecodeLimits::default()
            .check(Path::new("big.png"), 16384, 16384)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--max-pixels") && e.contains("268.4 MP"), "{e}");
        assert!(
            DecodeLimits::default()
                .check(Path::new("ok.png"), 10000, 10000)
                .is_ok()
        );
    }
}
