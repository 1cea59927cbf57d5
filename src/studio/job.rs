//! One cartoonize job: an uploaded file's bytes in, PNG bytes out, through exactly the
//! decoding, padding, tiling and encoding of `toongan cartoonize`. The upload's header is
//! read first so an image with too many pixels is refused before anything is decoded; the
//! bytes pass through files in the studio's temporary folder only (deleted when the job ends).

use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use image::ImageReader;

use super::StudioError;
use crate::cartoonize::{TileOptions, Translator, cartoonize_image};
use crate::imageio::{ImageIoError, TilePlan, decode_image, encode_image};

/// How far a running job is: tiles done out of tiles planned, and whether it was abandoned.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicUsize,
    total: AtomicUsize,
    cancelled: AtomicBool,
}

impl Progress {
    /// (tiles done, tiles planned); (0, 0) before the image is decoded.
    pub fn tiles(&self) -> (usize, usize) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    /// Asks the job to stop: remaining tiles are skipped and its result is thrown away.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`Progress::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// Counts the tiles a translator has run, and skips the rest once the job is cancelled.
struct Counting<'a> {
    inner: &'a dyn Translator,
    progress: &'a Progress,
}

impl Translator for Counting<'_> {
    fn translate(&self, rgb: &[f32], width: usize, height: usize) -> Vec<f32> {
        if self.progress.is_cancelled() {
            return rgb.to_vec();
        }
        let out = self.inner.translate(rgb, width, height);
        self.progress.done.fetch_add(1, Ordering::Relaxed);
        out
    }

    /// The whole-image path `toongan cartoonize` takes for images larger than the tile (so the
    /// studio's result stays the CLI's); it runs in one piece, so progress jumps to the end.
    fn translate_large(
        &self,
        rgb: &[f32],
        width: usize,
        height: usize,
        tile: usize,
    ) -> Option<Vec<f32>> {
        if self.progress.is_cancelled() {
            return None;
        }
        let out = self.inner.translate_large(rgb, width, height, tile)?;
        let total = self.progress.total.load(Ordering::Relaxed);
        self.progress.done.store(total, Ordering::Relaxed);
        Some(out)
    }
}

/// Reads width and height from the file header only (no pixel is decoded).
pub fn header_dimensions(bytes: &[u8]) -> Result<(u32, u32), StudioError> {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| StudioError::Corrupt(e.to_string()))?
        .into_dimensions()
        .map_err(|e| StudioError::Corrupt(e.to_string()))
}

/// Cartoonizes an uploaded file with `translator` and returns the PNG `toongan cartoonize
/// --output out.png` would write for it. `work_dir` holds the job's temporary files.
pub fn cartoonize_upload(
    bytes: &[u8],
    translator: &dyn Translator,
    tiles: TileOptions,
    max_pixels: u64,
    work_dir: &Path,
    progress: &Progress,
) -> Result<Vec<u8>, StudioError> {
    let (width, height) = header_dimensions(bytes)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(StudioError::TooManyPixels {
            width,
            height,
            pixels,
            max: max_pixels,
        });
    }
    let input = tempfile::Builder::new()
        .prefix("upload-")
        .tempfile_in(work_dir)
        .map_err(|e| StudioError::io(work_dir, e))?;
    std::fs::write(input.path(), bytes).map_err(|e| StudioError::io(input.path(), e))?;
    let img = decode_image(input.path()).map_err(|e| match e {
        ImageIoError::Decode { message, .. } => StudioError::Corrupt(message),
        ImageIoError::TooLarge { .. } => StudioError::TooManyPixels {
            width,
            height,
            pixels,
            max: max_pixels,
        },
        other => StudioError::Corrupt(other.to_string()),
    })?;
    drop(input);
    let (w, h) = (img.width as usize, img.height as usize);
    let plan = TilePlan::new(
        w.div_ceil(4) * 4,
        h.div_ceil(4) * 4,
        tiles.tile,
        tiles.overlap,
    );
    progress.total.store(plan.len(), Ordering::Relaxed);
    let counting = Counting {
        inner: translator,
        progress,
    };
    let rgb = cartoonize_image(&counting, &img.rgb, w, h, tiles);
    if progress.is_cancelled() {
        return Err(StudioError::BadRequest("the job was cancelled".into()));
    }
    let output = tempfile::Builder::new()
        .prefix("result-")
        .suffix(".png")
        .tempfile_in(work_dir)
        .map_err(|e| StudioError::io(work_dir, e))?;
    encode_image(
        output.path(),
        img.width,
        img.height,
        &rgb,
        img.alpha.as_deref(),
    )
    .map_err(|e| StudioError::io(output.path(), e))?;
    let png = std::fs::read(output.path()).map_err(|e| StudioError::io(output.path(), e))?;
    Ok(png)
}
