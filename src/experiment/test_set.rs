//! The test images as every variant sees them: each test photo and test cartoon resized
//! (short side) to the training crop size and centre-cropped, as PNG, so every variant
//! cartoonizes the same pixels and FID/KID compare images of one size. Prepared once per
//! experiment folder; a manifest of the sources and size tells when to prepare again.

use std::path::{Path, PathBuf};

use image::RgbImage;

use super::ExperimentError;
use crate::imageio::collect_images;
use crate::imageio::{decode_image, resize_center_crop, to_u8};

/// File listing the sources and size a prepared folder was made from.
const MANIFEST: &str = "manifest.txt";

/// The prepared copies of the images in `source` (recursive, sorted; the first `limit` if
/// given), each `size`x`size`, in `dest` as `NNN_<stem>.png`. Unreadable images are
/// skipped with a warning. Reuses `dest` when its manifest matches.
pub fn prepare_test_images(
    source: &Path,
    dest: &Path,
    size: u32,
    limit: Option<usize>,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<PathBuf>, ExperimentError> {
    let mut inputs =
        collect_images(&[source.to_path_buf()]).map_err(|e| ExperimentError::io(source, e))?;
    if let Some(n) = limit {
        inputs.truncate(n);
    }
    let manifest = format!(
        "size {size}\n{}\n",
        inputs
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let manifest_path = dest.join(MANIFEST);
    if std::fs::read_to_string(&manifest_path).is_ok_and(|m| m == manifest) {
        return list_pngs(dest);
    }
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|e| ExperimentError::io(dest, e))?;
    }
    std::fs::create_dir_all(dest).map_err(|e| ExperimentError::io(dest, e))?;
    for (i, (path, _)) in inputs.iter().enumerate() {
        let square = match load_square(path, size) {
            Ok(img) => img,
            Err(e) => {
                warn(format!("skipping test image {}: {e}", path.display()));
                continue;
            }
        };
        let out = dest.join(numbered_png(i, path));
        square
            .save(&out)
            .map_err(|e| ExperimentError::io(&out, e))?;
    }
    crate::imageio::atomic_write(&manifest_path, manifest.as_bytes())
        .map_err(|e| ExperimentError::io(&manifest_path, e))?;
    list_pngs(dest)
}

/// An image decoded (EXIF orientation applied), its short side resized to `size` and
/// centre-cropped to `size`x`size`.
pub fn load_square(path: &Path, size: u32) -> Result<RgbImage, String> {
    let img = decode_image(path).map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = img.rgb.iter().map(|&v| to_u8(v)).collect();
    let rgb = RgbImage::from_raw(img.width, img.height, bytes)
        .ok_or_else(|| "decoded buffer has the wrong size".to_string())?;
    Ok(resize_center_crop(&rgb, size))
}

/// `NNN_<stem>.png`: the name of the `i`-th prepared copy of `path`.
pub fn numbered_png(i: usize, path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    format!("{i:03}_{stem}.png")
}

/// The PNG files directly in `dir`, sorted.
pub fn list_pngs(dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ExperimentError::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    Ok(files)
}
