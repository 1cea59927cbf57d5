//! A folder of edge-smoothed training images, so each cartoon is smoothed once rather than
//! every epoch. An entry is keyed by the SHA-256 of the source file's bytes, the smoother
//! config and the training size, so renaming a file keeps its entry and editing it does not.
//!
//! The cache assumes the resized image handed in is a deterministic function of the source
//! file (short-side resize + centre crop). With random crops, smooth on the fly instead.

use std::path::{Path, PathBuf};

use image::{ImageFormat, RgbImage};
use sha2::{Digest, Sha256};

use super::edge_smoothing::{EdgeSmoother, SmoothingError};

/// Bumped when the smoothing algorithm changes, which invalidates every entry.
const ALGORITHM_VERSION: &str = "toongan-edge-smoothing-v1";

/// A cache of smoothed images in `dir`, one PNG per (source content, config, size).
#[derive(Debug, Clone)]
pub struct SmoothingCache {
    dir: PathBuf,
    smoother: EdgeSmoother,
    size: u32,
    /// Hex digest of the algorithm version, config and size: part of every file name.
    settings_tag: String,
}

/// Hex SHA-256 of `bytes`: the content part of a cache key.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn file_err(path: &Path, message: impl ToString) -> SmoothingError {
    SmoothingError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl SmoothingCache {
    /// A cache in `dir` (created on first write) for images smoothed by `smoother` at
    /// `size`x`size`.
    pub fn new(dir: impl Into<PathBuf>, smoother: EdgeSmoother, size: u32) -> Self {
        let config = serde_json::to_string(smoother.config()).unwrap_or_default();
        let settings = format!("{ALGORITHM_VERSION}|{config}|size={size}");
        let settings_tag = content_hash(settings.as_bytes())[..16].to_string();
        Self {
            dir: dir.into(),
            smoother,
            size,
            settings_tag,
        }
    }

    /// The folder holding the entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for a source whose bytes hash to `source_hash` lives.
    pub fn entry_path(&self, source_hash: &str) -> PathBuf {
        self.dir
            .join(format!("{source_hash}-{}.png", self.settings_tag))
    }

    /// The smoothed version of `resized`, the training-size image made from `source_path`:
    /// read from the cache when present, else computed and stored (atomically).
    pub fn get_or_create(
        &self,
        source_path: &Path,
        resized: &RgbImage,
    ) -> Result<RgbImage, SmoothingError> {
        let bytes = std::fs::read(source_path)
            .map_err(|e| file_err(source_path, format!("cannot read the source image: {e}")))?;
        self.get_or_create_by_hash(&content_hash(&bytes), resized)
    }

    /// Like [`get_or_create`](Self::get_or_create) with the source's hash already known
    /// (see [`content_hash`]), to avoid reading the file twice.
    pub fn get_or_create_by_hash(
        &self,
        source_hash: &str,
        resized: &RgbImage,
    ) -> Result<RgbImage, SmoothingError> {
        // Training smooths the whole image resized to `size` on its short side, before cropping.
        if resized.width().min(resized.height()) != self.size {
            return Err(SmoothingError::BadConfig(format!(
                "the image to smooth is {}x{}, the cache is for a short side of {s}: resize it first",
                resized.width(),
                resized.height(),
                s = self.size
            )));
        }
        let path = self.entry_path(source_hash);
        if let Some(img) = self.read_entry(&path, resized.dimensions()) {
            return Ok(img);
        }
        let smoothed = self.smoother.smooth(resized);
        let mut png = std::io::Cursor::new(Vec::new());
        smoothed
            .write_to(&mut png, ImageFormat::Png)
            .map_err(|e| file_err(&path, e))?;
        crate::imageio::atomic_write(&path, png.get_ref()).map_err(|e| {
            file_err(
                &path,
                format!("cannot write the cache entry ({e}); check the cache folder is writable"),
            )
        })?;
        Ok(smoothed)
    }

    /// A readable entry of the right size, or `None` (missing or damaged: recomputed).
    fn read_entry(&self, path: &Path, dims: (u32, u32)) -> Option<RgbImage> {
        let img = image::open(path).ok()?.into_rgb8();
        (img.dimensions() == dims).then_some(img)
    }
}
