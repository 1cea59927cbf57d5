//! Inception features of a folder of images: files decoded and converted on worker
//! threads while the network runs batches on the caller's thread; unreadable files are
//! reported and skipped, not fatal.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::{EvalError, Features};
use crate::imageio::decode_image;
use crate::model::FidInception;
use crate::model::inception::preprocess;

/// Extensions pytorch-fid's `fid_score.py` picks up (`IMAGE_EXTENSIONS`), lower case.
pub const FID_IMAGE_EXTENSIONS: [&str; 9] = [
    "bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp",
];

/// The image files directly in `dir` (not in sub-folders, like pytorch-fid), sorted.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let io = |source| EvalError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if path.is_file() && ext.is_some_and(|e| FID_IMAGE_EXTENSIONS.contains(&e.as_str())) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// How features are extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Feature dimensions: 64, 192, 768 or 2048 (pytorch-fid's `--dims`).
    pub dims: usize,
    /// Images per network batch.
    pub batch_size: usize,
    /// Decoding threads.
    pub workers: usize,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            dims: 2048,
            batch_size: 50,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Features of the readable images, in file order, and the files that were skipped.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// One row per readable image.
    pub features: Features,
    /// The images the rows come from.
    pub paths: Vec<PathBuf>,
    /// Unreadable images with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// A decoded image as a CHW float buffer.
struct Chw {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

fn load_chw(path: &Path) -> Result<Chw, String> {
    let img = decode_image(path).map_err(|e| e.to_string())?;
    let (w, h) = (img.width as usize, img.height as usize);
    let mut data = vec![0f32; 3 * w * h];
    for (i, px) in img.rgb.chunks_exact(3).enumerate() {
        for c in 0..3 {
            data[c * w * h + i] = px[c];
        }
    }
    Ok(Chw {
        width: w,
        height: h,
        data,
    })
}

/// Extracts `options.dims`-dimensional features of `paths` with `model`, calling
/// `progress(done, total)` after each batch.
pub fn extract_features<B: Backend>(
    model: &FidInception<B>,
    paths: &[PathBuf],
    options: &ExtractOptions,
    device: &B::Device,
    mut progress: impl FnMut(usize, usize),
) -> Result<Extracted, EvalError> {
    let batch_size = options.batch_size.max(1);
    let next = AtomicUsize::new(0);
    let mut rows: Vec<(usize, Vec<f32>)> = Vec::with_capacity(paths.len());
    let mut skipped = Vec::new();
    std::thread::scope(|scope| -> Result<(), EvalError> {
        let (tx, rx) = mpsc::sync_channel::<(usize, Result<Chw, String>)>(2 * batch_size);
        for _ in 0..options.workers.max(1) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= paths.len() || tx.send((i, load_chw(&paths[i]))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut batch: Vec<(usize, Tensor<B, 4>)> = Vec::with_capacity(batch_size);
        let mut done = 0;
        let mut received = 0;
        for (i, result) in rx.iter() {
            received += 1;
            match result {
                Ok(img) => {
                    let data = TensorData::new(img.data, [1, 3, img.height, img.width]);
                    let x = Tensor::<B, 4>::from_data(data, device);
                    batch.push((i, preprocess(x, true, false)));
                }
                Err(reason) => {
                    skipped.push((paths[i].clone(), reason));
                    done += 1;
                }
            }
            if batch.len() == batch_size || (received == paths.len() && !batch.is_empty()) {
                let (idx, xs): (Vec<usize>, Vec<Tensor<B, 4>>) = batch.drain(..).unzip();
                let feats = model.features(Tensor::cat(xs, 0), options.dims);
                let values = feats
                    .into_data()
                    .into_vec::<f32>()
                    .map_err(|e| EvalError::Shape(format!("{e:?}")))?;
                for (k, i) in idx.iter().enumerate() {
                    rows.push((
                        *i,
                        values[k * options.dims..(k + 1) * options.dims].to_vec(),
                    ));
                }
                done += idx.len();
                progress(done, paths.len());
            }
        }
        Ok(())
    })?;
    rows.sort_by_key(|(i, _)| *i);
    skipped.sort();
    let kept: Vec<PathBuf> = rows.iter().map(|(i, _)| paths[*i].clone()).collect();
    let values = rows.into_iter().flat_map(|(_, v)| v).collect();
    Ok(Extracted {
        features: Features::new(options.dims, values)?,
        paths: kept,
        skipped,
    })
}
