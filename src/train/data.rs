//! Unpaired training data: photos and cartoons (with their edge-smoothed versions) read on
//! worker threads, resized, cropped and flipped deterministically from the seed, epoch and
//! step, so a resumed run sees exactly the batches an uninterrupted one would.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use image::RgbImage;
use image::imageops::{self, FilterType};
use rayon::prelude::*;

use super::TrainError;
pub use super::batch_source::HostBatch;
use super::batch_source::{BatchSource, unit_range};
use super::rng::{hash, mix, permutation};
use super::sections::DataConfig;
use crate::imageio::to_u8;
use crate::imageio::{collect_images, decode_image};

/// One item's photo, cartoon and smoothed-cartoon planes.
type ItemPlanes = (Vec<f32>, Vec<f32>, Vec<f32>);

/// Edge smoothing of an already resized cartoon, given its source file (for the cache).
pub type SmoothFn = dyn Fn(&Path, &RgbImage) -> Result<RgbImage, String> + Send + Sync;

/// The usable images of both folders and how to turn them into batches.
pub struct Dataset {
    /// Photos that decoded and are large enough, sorted.
    pub photos: Vec<PathBuf>,
    /// Cartoons that decoded and are large enough, sorted.
    pub cartoons: Vec<PathBuf>,
    config: DataConfig,
    batch_size: usize,
    seed: u64,
    smooth: Arc<SmoothFn>,
}

/// Keeps the files that decode and whose short side reaches `min_side`, warning once for each
/// other one.
fn usable(dir: &Path, min_side: usize, workers: usize) -> Result<Vec<PathBuf>, TrainError> {
    let err = |m: String| TrainError::Data {
        path: dir.to_path_buf(),
        message: m,
    };
    if !dir.is_dir() {
        return Err(err("not a folder".into()));
    }
    let files: Vec<PathBuf> = collect_images(&[dir.to_path_buf()])
        .map_err(|e| err(e.to_string()))?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers.max(1))
        .build()
        .map_err(|e| err(e.to_string()))?;
    let checks: Vec<Option<String>> = pool.install(|| {
        files
            .par_iter()
            .map(|p| match decode_image(p) {
                Err(e) => Some(format!("skipping unreadable image: {e}")),
                Ok(img) if (img.width.min(img.height) as usize) < min_side => Some(format!(
                    "skipping {}: {}x{} is smaller than the {min_side}-pixel crop",
                    p.display(),
                    img.width,
                    img.height
                )),
                Ok(_) => None,
            })
            .collect()
    });
    let mut kept = Vec::new();
    for (p, check) in files.into_iter().zip(checks) {
        match check {
            Some(warning) => eprintln!("warning: {warning}"),
            None => kept.push(p),
        }
    }
    Ok(kept)
}

/// Decodes a file and resizes its short side to `size` (bilinear with antialiasing).
pub fn load_resized(path: &Path, size: usize) -> Result<RgbImage, String> {
    let img = decode_image(path).map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = img.rgb.iter().map(|&v| to_u8(v)).collect();
    let rgb = RgbImage::from_raw(img.width, img.height, bytes)
        .ok_or_else(|| format!("{}: bad image buffer", path.display()))?;
    let (w, h) = (img.width as f64, img.height as f64);
    let scale = size as f64 / w.min(h);
    let (nw, nh) = (
        ((w * scale).round() as u32).max(size as u32),
        ((h * scale).round() as u32).max(size as u32),
    );
    if (nw, nh) == (img.width, img.height) {
        return Ok(rgb);
    }
    Ok(imageops::resize(&rgb, nw, nh, FilterType::Triangle))
}

/// Writes `crop` of `img` (optionally mirrored) as planes in [-1, 1] into `out`.
fn write_planes(img: &RgbImage, x0: u32, y0: u32, size: usize, flip: bool, out: &mut [f32]) {
    let n = size * size;
    for y in 0..size {
        for x in 0..size {
            let sx = if flip { size - 1 - x } else { x };
            let px = img.get_pixel(x0 + sx as u32, y0 + y as u32);
            for c in 0..3 {
                out[c * n + y * size + x] = unit_range(px[c]);
            }
        }
    }
}

/// Where to crop and whether to flip, for one item.
#[derive(Debug, Clone, Copy)]
struct Placement {
    key: u64,
    random_crop: bool,
    flip: bool,
}

impl Placement {
    fn apply(&self, img: &RgbImage, size: usize) -> (u32, u32, bool) {
        let (sw, sh) = (img.width() - size as u32, img.height() - size as u32);
        let (x0, y0) = if self.random_crop {
            (
                (mix(self.key) % (sw as u64 + 1)) as u32,
                (mix(self.key ^ 1) % (sh as u64 + 1)) as u32,
            )
        } else {
            (sw / 2, sh / 2)
        };
        (x0, y0, self.flip && mix(self.key ^ 2) & 1 == 1)
    }
}

impl Dataset {
    /// Scans both folders (recursively), skipping unreadable and too-small images with a
    /// warning each; `smooth` edge-smooths a resized cartoon.
    pub fn open(
        config: &DataConfig,
        batch_size: usize,
        seed: u64,
        smooth: Arc<SmoothFn>,
    ) -> Result<Self, TrainError> {
        let photos = usable(&config.photos, config.crop_size, config.workers)?;
        let cartoons = usable(&config.cartoons, config.crop_size, config.workers)?;
        for (dir, list) in [(&config.photos, &photos), (&config.cartoons, &cartoons)] {
            if list.len() < batch_size {
                return Err(TrainError::Data {
                    path: dir.clone(),
                    message: format!(
                        "{} usable images, fewer than one batch of {batch_size}",
                        list.len()
                    ),
                });
            }
        }
        Ok(Self {
            photos,
            cartoons,
            config: config.clone(),
            batch_size,
            seed,
            smooth,
        })
    }

    /// Steps in one epoch: full batches over the smaller folder, capped by `max_steps`
    /// (0 = no cap).
    pub fn steps_per_epoch(&self, max_steps: usize) -> usize {
        let n = self.photos.len().min(self.cartoons.len()) / self.batch_size;
        if max_steps > 0 { n.min(max_steps) } else { n }
    }

    /// Builds batch `step` of `epoch` (pure: the same arguments give the same batch).
    pub fn batch(&self, epoch: usize, step: usize) -> Result<HostBatch, TrainError> {
        let (b, size) = (self.batch_size, self.config.crop_size);
        let e = epoch as u64;
        let photo_order = permutation(self.photos.len(), hash(&[self.seed, e, 1]));
        let cartoon_order = permutation(self.cartoons.len(), hash(&[self.seed, e, 2]));
        let plane = 3 * size * size;
        let items: Vec<Result<ItemPlanes, TrainError>> = (0..b)
            .into_par_iter()
            .map(|j| {
                let i = step * b + j;
                let place = |stream: u64| Placement {
                    key: hash(&[self.seed, e, step as u64, j as u64, stream]),
                    random_crop: self.config.random_crop,
                    flip: self.config.flip,
                };
                let data_err = |p: &Path, m: String| TrainError::Data {
                    path: p.to_path_buf(),
                    message: m,
                };
                let pp = &self.photos[photo_order[i]];
                let photo = load_resized(pp, self.config.load_size).map_err(|m| data_err(pp, m))?;
                let (x0, y0, flip) = place(3).apply(&photo, size);
                let mut p = vec![0.0; plane];
                write_planes(&photo, x0, y0, size, flip, &mut p);
                let cp = &self.cartoons[cartoon_order[i]];
                let cartoon =
                    load_resized(cp, self.config.load_size).map_err(|m| data_err(cp, m))?;
                let smoothed = (self.smooth)(cp, &cartoon).map_err(|m| data_err(cp, m))?;
                let (x0, y0, flip) = place(4).apply(&cartoon, size);
                let mut c = vec![0.0; plane];
                let mut s = vec![0.0; plane];
                write_planes(&cartoon, x0, y0, size, flip, &mut c);
                write_planes(&smoothed, x0, y0, size, flip, &mut s);
                Ok((p, c, s))
            })
            .collect();
        let mut batch = HostBatch {
            photos: Vec::with_capacity(b * plane),
            cartoons: Vec::with_capacity(b * plane),
            smoothed: Vec::with_capacity(b * plane),
            n: b,
            size,
            epoch,
            step_in_epoch: step,
        };
        for item in items {
            let (p, c, s) = item?;
            batch.photos.extend(p);
            batch.cartoons.extend(c);
            batch.smoothed.extend(s);
        }
        Ok(batch)
    }
}

/// The image folders: random (seeded) crops and flips, a new order every epoch.
impl BatchSource for Dataset {
    fn steps_per_epoch(&self, max_steps: usize) -> usize {
        Dataset::steps_per_epoch(self, max_steps)
    }

    fn size(&self) -> usize {
        self.config.crop_size
    }

    fn batch(&self, epoch: usize, step: usize) -> Result<HostBatch, TrainError> {
        Dataset::batch(self, epoch, step)
    }

    /// The first `n` photos, centre-cropped.
    fn validation(&self, n: usize) -> Result<(Vec<f32>, usize), TrainError> {
        validation_planes(
            &self.photos,
            n,
            self.config.load_size,
            self.config.crop_size,
        )
    }
}

/// Fixed validation photos, centre-cropped: the first `n` of `paths`. Returns the planes and
/// how many images they hold.
pub fn validation_planes(
    paths: &[PathBuf],
    n: usize,
    load_size: usize,
    crop: usize,
) -> Result<(Vec<f32>, usize), TrainError> {
    let mut out = Vec::new();
    let mut count = 0;
    for p in paths.iter().take(n) {
        let img = load_resized(p, load_size).map_err(|m| TrainError::Data {
            path: p.clone(),
            message: m,
        })?;
        let (x0, y0) = (
            (img.width() - crop as u32) / 2,
            (img.height() - crop as u32) / 2,
        );
        let mut planes = vec![0.0; 3 * crop * crop];
        write_planes(&img, x0, y0, crop, false, &mut planes);
        out.extend(planes);
        count += 1;
    }
    Ok((out, count))
}

/// Batches prepared on a background thread (which decodes on `workers` threads), in order,
/// `prefetch` ahead of the consumer.
pub struct Loader {
    rx: Receiver<Result<HostBatch, TrainError>>,
    _thread: std::thread::JoinHandle<()>,
}

impl Loader {
    /// Starts producing the batches of epochs `start_epoch..epochs` from `source`, the first
    /// epoch from `start_step`, each epoch `steps` long, `prefetch` batches ahead, on a pool
    /// of `workers` threads.
    pub fn spawn(
        source: Arc<dyn BatchSource>,
        workers: usize,
        prefetch: usize,
        (start_epoch, start_step): (usize, usize),
        (epochs, steps): (usize, usize),
    ) -> Result<Self, TrainError> {
        let (tx, rx): (SyncSender<_>, _) = sync_channel(prefetch.max(1));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers.max(1))
            .build()
            .map_err(|e| TrainError::Model(format!("cannot start data workers: {e}")))?;
        let thread = std::thread::spawn(move || {
            for epoch in start_epoch..epochs {
                let first = if epoch == start_epoch { start_step } else { 0 };
                for step in first..steps {
                    let batch = pool.install(|| source.batch(epoch, step));
                    let failed = batch.is_err();
                    if tx.send(batch).is_err() || failed {
                        return;
                    }
                }
            }
        });
        Ok(Self {
            rx,
            _thread: thread,
        })
    }

    /// The next batch, or `None` when all epochs are done.
    pub fn next_batch(&self) -> Option<Result<HostBatch, TrainError>> {
        self.rx.recv().ok()
    }
}

/// No edge smoothing: the "smoothed" cartoon is the cartoon itself (ablations, tests).
pub fn identity_smoothing() -> Arc<SmoothFn> {
    Arc::new(|_path, img| Ok(img.clone()))
}

/// CartoonGAN's edge smoothing ([`super::edge_smoothing::EdgeSmoother`]) through a cache in
/// `dir` keyed by the source file's content and the resize `size`.
pub fn cached_smoothing(dir: &Path, size: usize) -> Arc<SmoothFn> {
    let cache = super::smoothing_cache::SmoothingCache::new(
        dir.to_path_buf(),
        super::edge_smoothing::EdgeSmoother::default(),
        size as u32,
    );
    Arc::new(move |path, img| cache.get_or_create(path, img).map_err(|e| e.to_string()))
}

/// The edge smoothing a run uses: [`cached_smoothing`] in `data.edge_cache`, default
/// `<run_dir>/edge_cache`.
pub fn run_smoothing(config: &DataConfig, run_dir: &Path) -> Arc<SmoothFn> {
    let dir = config
        .edge_cache
        .clone()
        .unwrap_or_else(|| run_dir.join("edge_cache"));
    cached_smoothing(&dir, config.load_size)
}
