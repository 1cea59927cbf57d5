//! JPEG decoding as PIL decodes JPEGs: libjpeg(-turbo)'s decoder (the `mozjpeg` crate),
//! so pixels are identical to `PIL.Image.open(f).convert("RGB")`, which pytorch-fid and every
//! PyTorch reference decode with (see `shared/DECODING-NOTES.md`: the `image` crate's decoder
//! differs by up to 9 levels).
//!
//! A file that ends before its image data does (libjpeg's "Premature end of JPEG file"
//! warning, after which it fills the rest of the picture with gray) is an error naming the
//! file, as PIL raises "image file is truncated" for it: a half-gray picture is never
//! cartoonized or scored as if it were the photo.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};

use super::ImageIoError;
use super::limits::DecodeLimits;

/// Whether the file starts like a JPEG (SOI marker), whatever its extension.
pub fn file_is_jpeg(path: &Path) -> bool {
    let mut head = [0u8; 3];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == [0xFF, 0xD8, 0xFF])
}

/// Opens any image as 8-bit RGB for display (report grids), JPEGs decoded as PIL does;
/// `None` if it cannot be read.
pub fn open_rgb8(path: &Path) -> Option<RgbImage> {
    if file_is_jpeg(path)
        && let Ok(JpegDecode::Rgb(img)) = decode_jpeg(path, &DecodeLimits::default())
    {
        return Some(img.to_rgb8());
    }
    image::open(path).ok().map(|i| i.to_rgb8())
}

/// The result of reading a JPEG with libjpeg.
pub enum JpegDecode {
    /// RGB pixels (upright: EXIF orientation applied).
    Rgb(DynamicImage),
    /// A colour space libjpeg does not convert to RGB (CMYK/YCCK): decode it another way.
    Unsupported,
}

/// Decodes a JPEG file to RGB with libjpeg, applying its EXIF orientation. `limits` (sides
/// and pixel count) are checked from libjpeg's own header read, before any pixel buffer is
/// allocated, so a file whose name does not say JPEG is held to them too.
pub fn decode_jpeg(path: &Path, limits: &DecodeLimits) -> Result<JpegDecode, ImageIoError> {
    let file = std::fs::File::open(path).map_err(|source| ImageIoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let eof = Arc::new(AtomicBool::new(false));
    let reader = EofSpy {
        inner: BufReader::new(file),
        eof: eof.clone(),
    };
    let decode_err = |message: String| ImageIoError::Decode {
        path: path.to_path_buf(),
        message,
    };
    // libjpeg's fatal errors unwind (mozjpeg's error manager) and are caught here.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_reader(reader, |w, h| limits.check(path, w, h).is_ok())
    }));
    let decoded = match result {
        Ok(r) => r.map_err(|e| match e {
            Failure::Io(e) => decode_err(e.to_string()),
            Failure::TooLarge(w, h) => match limits.check(path, w, h) {
                Err(e) => e,
                Ok(()) => decode_err(format!("{w}x{h} refused")),
            },
        })?,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "libjpeg failed".into());
            if message.contains("Unsupported color conversion") {
                return Ok(JpegDecode::Unsupported);
            }
            let truncated = if eof.load(Ordering::SeqCst) {
                " (the file is truncated)"
            } else {
                ""
            };
            return Err(decode_err(format!("{message}{truncated}")));
        }
    };
    if eof.load(Ordering::SeqCst) {
        return Err(decode_err(
            "truncated: the file ends before its image data does (libjpeg: Premature end of \
             JPEG file); re-copy or re-export it"
                .into(),
        ));
    }
    Ok(decoded)
}

enum Failure {
    Io(std::io::Error),
    TooLarge(u32, u32),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

fn decode_reader<R: BufRead>(
    reader: R,
    admissible: impl Fn(u32, u32) -> bool,
) -> Result<JpegDecode, Failure> {
    let decompress = mozjpeg::Decompress::with_markers(mozjpeg::ALL_MARKERS).from_reader(reader)?;
    let (w, h) = decompress.size();
    let side = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    if !admissible(side(w), side(h)) {
        return Err(Failure::TooLarge(w as u32, h as u32));
    }
    if matches!(
        decompress.color_space(),
        mozjpeg::ColorSpace::JCS_CMYK | mozjpeg::ColorSpace::JCS_YCCK
    ) {
        return Ok(JpegDecode::Unsupported);
    }
    let orientation = decompress
        .markers()
        .filter(|m| m.marker == mozjpeg::Marker::APP(1))
        .find_map(|m| {
            let chunk = m.data.strip_prefix(b"Exif\0\0")?;
            Orientation::from_exif_chunk(chunk)
        });
    let mut started = decompress.rgb()?;
    let (width, height) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<u8> = started.read_scanlines::<u8>()?;
    started.finish()?;
    let rgb = RgbImage::from_raw(width, height, pixels).ok_or_else(|| {
        Failure::Io(std::io::Error::other(
            "libjpeg returned fewer pixels than the image has",
        ))
    })?;
    let mut img = DynamicImage::ImageRgb8(rgb);
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok(JpegDecode::Rgb(img))
}

/// A reader that remembers whether libjpeg asked for bytes past the end of the file (which
/// is when it warns "Premature end of JPEG file" and invents an end-of-image marker).
struct EofSpy<R> {
    inner: R,
    eof: Arc<AtomicBool>,
}

impl<R: Read> Read for EofSpy<BufReader<R>> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof.store(true, Ordering::SeqCst);
        }
        Ok(n)
    }
}

impl<R: Read> BufRead for EofSpy<BufReader<R>> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            self.eof.store(true, Ordering::SeqCst);
        }
        Ok(buf)
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
    }
}
