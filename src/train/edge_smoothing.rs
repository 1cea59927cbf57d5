//! CartoonGAN's edge smoothing ("edge promoting", Chen et al., CVPR 2018, section 3.2): the
//! discriminator learns that cartoon images with blurred edges are *not* cartoons, which
//! pushes the generator towards clear edges.
//!
//! On an RGB image already resized to the training size: Canny edges (100/200) of its
//! grey version, dilated with a 5x5 square, and at the dilated pixels every channel is
//! replaced by its 5x5 Gaussian blur. Each step follows OpenCV 5's integer rules exactly
//! (`cv2.cvtColor(RGB2GRAY)`, `cv2.Canny`, `cv2.dilate`, `cv2.GaussianBlur`), checked
//! against the fixtures of `tools/ref_edge_smoothing.py`; see `docs/smoothing.md`.

mod canny;
mod gaussian;

pub use canny::canny;

use burn::config::Config;
use image::{GrayImage, RgbImage};
use imageproc::distance_transform::Norm;

/// What can go wrong configuring or caching edge smoothing.
#[derive(Debug, thiserror::Error)]
pub enum SmoothingError {
    /// The configuration asks for something OpenCV's rules do not define here.
    #[error("invalid edge-smoothing config: {0}")]
    BadConfig(String),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong and what to do.
        message: String,
    },
}

/// Parameters of edge smoothing; the defaults are CartoonGAN's (`edge_promoting.py`).
#[derive(Config, Debug, PartialEq, Eq)]
pub struct EdgeSmootherConfig {
    /// Canny lower threshold on the L1 Sobel magnitude (candidates need more than this).
    #[config(default = 100)]
    pub canny_low: u32,
    /// Canny upper threshold (edges start at pixels above this).
    #[config(default = 200)]
    pub canny_high: u32,
    /// Side of the square dilating the edge map (odd, up to 511).
    #[config(default = 5)]
    pub dilation: u32,
    /// Side of the Gaussian blur kernel, sigma from OpenCV's rule for sigma 0: 3, 5 or 7.
    #[config(default = 5)]
    pub gaussian: u32,
}

impl EdgeSmootherConfig {
    /// Checks the config and builds the smoother.
    pub fn init(&self) -> Result<EdgeSmoother, SmoothingError> {
        if self.dilation.is_multiple_of(2) || self.dilation > 511 {
            return Err(SmoothingError::BadConfig(format!(
                "dilation must be odd and at most 511 (got {})",
                self.dilation
            )));
        }
        let kernel = gaussian::integer_kernel(self.gaussian as usize).ok_or_else(|| {
            SmoothingError::BadConfig(format!(
                "gaussian must be 3, 5 or 7 (got {})",
                self.gaussian
            ))
        })?;
        Ok(EdgeSmoother {
            config: self.clone(),
            kernel,
        })
    }
}

/// The maps edge smoothing computes, for inspection and tests.
#[derive(Debug, Clone)]
pub struct SmoothingMaps {
    /// Canny edges, 255 / 0.
    pub edges: GrayImage,
    /// The edges dilated, 255 / 0: the pixels that get blurred.
    pub dilated: GrayImage,
    /// The result: blurred at dilated pixels, the input elsewhere.
    pub smoothed: RgbImage,
}

/// Applies CartoonGAN's edge smoothing; build it with [`EdgeSmootherConfig::init`].
#[derive(Debug, Clone)]
pub struct EdgeSmoother {
    config: EdgeSmootherConfig,
    kernel: &'static [i64],
}

impl Default for EdgeSmoother {
    fn default() -> Self {
        EdgeSmootherConfig::new()
            .init()
            .expect("the default config is valid")
    }
}

impl EdgeSmoother {
    /// The configuration this smoother was built from.
    pub fn config(&self) -> &EdgeSmootherConfig {
        &self.config
    }

    /// Edge-smooths an image already resized to the training size.
    pub fn smooth(&self, img: &RgbImage) -> RgbImage {
        self.smooth_with_maps(img).smoothed
    }

    /// Canny edge map of `img`'s grey version (255 / 0).
    pub fn edges(&self, img: &RgbImage) -> GrayImage {
        canny(
            &rgb_to_gray(img),
            self.config.canny_low,
            self.config.canny_high,
        )
    }

    /// The edge map dilated with the configured square (255 / 0).
    pub fn dilated(&self, img: &RgbImage) -> GrayImage {
        self.dilate(&self.edges(img))
    }

    /// Runs every step and returns the intermediate maps with the result.
    pub fn smooth_with_maps(&self, img: &RgbImage) -> SmoothingMaps {
        let edges = self.edges(img);
        let dilated = self.dilate(&edges);
        let blurred = gaussian::gaussian_blur(img, self.kernel);
        let mut smoothed = img.clone();
        for ((out, blur), &d) in smoothed
            .chunks_exact_mut(3)
            .zip(blurred.chunks_exact(3))
            .zip(dilated.iter())
        {
            if d != 0 {
                out.copy_from_slice(blur);
            }
        }
        SmoothingMaps {
            edges,
            dilated,
            smoothed,
        }
    }

    /// `cv2.dilate` with a square of ones: pixels outside the image are ignored.
    fn dilate(&self, edges: &GrayImage) -> GrayImage {
        // Square of side 2k+1 = distance k in the L-infinity norm; 0 / 255 output.
        let k = (self.config.dilation / 2) as u8;
        imageproc::morphology::dilate(edges, Norm::LInf, k)
    }
}

/// `cv2.cvtColor(img, COLOR_RGB2GRAY)` on 8-bit data in OpenCV 5:
/// `(9798 R + 19235 G + 3735 B + 2^14) >> 15` (differs from the 14-bit rule of older
/// versions on 43,864 of the 2^24 colours).
pub fn rgb_to_gray(img: &RgbImage) -> GrayImage {
    let mut gray = GrayImage::new(img.width(), img.height());
    for (g, p) in gray.iter_mut().zip(img.chunks_exact(3)) {
        let v = 9798 * u32::from(p[0]) + 19235 * u32::from(p[1]) + 3735 * u32::from(p[2]);
        *g = ((v + (1 << 14)) >> 15) as u8;
    }
    gray
}
