//! Writing images and other outputs atomically: a temporary file in the target folder,
//! fsynced, renamed into place, then the folder fsynced, so neither an interrupted run nor a
//! power loss leaves a half-written or empty file. Files get the mode the umask gives (as
//! `cp` or an editor would), not the temporary file's private 0600.

use std::io::Write;
use std::path::Path;

use image::{DynamicImage, ImageFormat, RgbImage, RgbaImage};

use super::ImageIoError;

/// JPEG quality of written outputs (the `image` crate's default, 75, blurs cartoon edges).
pub const JPEG_QUALITY: u8 = 95;

/// Flushes a folder's entries (a rename or a new file in it) to disk. Folders cannot be
/// opened for syncing on every platform; there this does nothing.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A temporary file in `dir` created with mode 0666 minus the umask (not 0600), so the file
/// renamed from it has the mode any new file would.
fn temp_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

/// Writes `bytes` to `path` atomically and durably (see the module doc).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), ImageIoError> {
    let err = |message: String| ImageIoError::Write {
        path: path.to_path_buf(),
        message,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let mut tmp = temp_file_in(dir).map_err(|e| err(e.to_string()))?;
    tmp.write_all(bytes).map_err(|e| err(e.to_string()))?;
    tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    sync_dir(dir).map_err(|e| err(format!("cannot sync its folder: {e}")))
}

/// Quantizes a value in [0, 1] to 8 bits, rounding to nearest.
pub fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Encodes float RGB in [0, 1] (and alpha, if given) to the format `path`'s extension names
/// and writes it atomically. Alpha is dropped for formats without it (JPEG).
pub fn encode_image(
    path: &Path,
    width: u32,
    height: u32,
    rgb: &[f32],
    alpha: Option<&[f32]>,
) -> Result<(), ImageIoError> {
    let err = |message: String| ImageIoError::Write {
        path: path.to_path_buf(),
        message,
    };
    let format = ImageFormat::from_path(path).map_err(|_| {
        err("unknown output extension: use .png, .jpg, .webp, .bmp or .tif".to_string())
    })?;
    let keeps_alpha = !matches!(format, ImageFormat::Jpeg);
    let img = match alpha.filter(|_| keeps_alpha) {
        Some(a) => {
            let mut buf = Vec::with_capacity(a.len() * 4);
            for (px, &al) in rgb.chunks_exact(3).zip(a) {
                buf.extend_from_slice(&[to_u8(px[0]), to_u8(px[1]), to_u8(px[2]), to_u8(al)]);
            }
            DynamicImage::ImageRgba8(
                RgbaImage::from_raw(width, height, buf)
                    .ok_or_else(|| err("size mismatch".into()))?,
            )
        }
        None => {
            let buf = rgb.iter().map(|&v| to_u8(v)).collect();
            DynamicImage::ImageRgb8(
                RgbImage::from_raw(width, height, buf)
                    .ok_or_else(|| err("size mismatch".into()))?,
            )
        }
    };
    let mut bytes = std::io::Cursor::new(Vec::new());
    if format == ImageFormat::Jpeg {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY);
        img.write_with_encoder(encoder)
            .map_err(|e| err(e.to_string()))?;
    } else {
        img.write_to(&mut bytes, format)
            .map_err(|e| err(e.to_string()))?;
    }
    atomic_write(path, bytes.get_ref())
}
