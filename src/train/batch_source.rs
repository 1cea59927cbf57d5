//! Where the training loop's batches come from: [`BatchSource`], implemented by the image
//! folders ([`super::data::Dataset`]) and by [`ReplayBatches`], a fixed sequence of batches
//! read from a file (the trajectory-parity tests replay the batches a reference script wrote,
//! so neither side's data pipeline decides what is trained on).

use std::path::{Path, PathBuf};

use super::TrainError;

/// An 8-bit channel value as the networks take it, in [-1, 1]: `v / 127.5 − 1`. The one place
/// that says so (the image loader, [`super::data`], and [`ReplayBatches`] both use it).
pub(super) fn unit_range(v: u8) -> f32 {
    v as f32 / 127.5 - 1.0
}

/// One batch on the host: NCHW planes in [-1, 1], RGB.
#[derive(Debug, Clone)]
pub struct HostBatch {
    /// Photos, `n·3·size·size` values.
    pub photos: Vec<f32>,
    /// Cartoons.
    pub cartoons: Vec<f32>,
    /// The same cartoons, edge-smoothed.
    pub smoothed: Vec<f32>,
    /// Images per batch.
    pub n: usize,
    /// Crop side.
    pub size: usize,
    /// Epoch (0-based) the batch belongs to.
    pub epoch: usize,
    /// Step within that epoch (0-based).
    pub step_in_epoch: usize,
}

/// What [`super::Trainer`]'s loader pulls batches from. A batch must be a pure function of
/// its position (epoch, step): a resumed run asks for the batches after its checkpoint and
/// must get what an uninterrupted run would have.
pub trait BatchSource: Send + Sync {
    /// Steps in one epoch, capped by `max_steps` (0 = no cap).
    fn steps_per_epoch(&self, max_steps: usize) -> usize;

    /// Side of the (square) images of every batch.
    fn size(&self) -> usize;

    /// Batch `step` (0-based) of `epoch` (0-based).
    fn batch(&self, epoch: usize, step: usize) -> Result<HostBatch, TrainError>;

    /// The fixed photos of the sample grids: up to `n` images as NCHW planes of
    /// [`BatchSource::size`]², and how many there are.
    fn validation(&self, n: usize) -> Result<(Vec<f32>, usize), TrainError>;
}

/// Batches replayed from a safetensors file, in the order it holds them: tensors `photos`,
/// `cartoons` and `smoothed`, each `u8` of shape `[batches, n, 3, size, size]` (8-bit RGB, as
/// the loader's decoded images are), mapped to [-1, 1] as the loader does (`v / 127.5 − 1`),
/// and the metadata key `steps_per_epoch`. Batch `step` of `epoch` is number
/// `epoch · steps_per_epoch + step`.
#[derive(Debug, Clone)]
pub struct ReplayBatches {
    path: PathBuf,
    photos: Vec<u8>,
    cartoons: Vec<u8>,
    smoothed: Vec<u8>,
    count: usize,
    n: usize,
    size: usize,
    steps_per_epoch: usize,
}

/// Metadata key of a replay file: steps in one epoch.
const REPLAY_STEPS_PER_EPOCH: &str = "steps_per_epoch";

impl ReplayBatches {
    /// Reads a replay file (format in [`ReplayBatches`]).
    pub fn open(path: &Path) -> Result<Self, TrainError> {
        let err = |m: String| TrainError::Data {
            path: path.to_path_buf(),
            message: m,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| err(format!("not a safetensors file: {e}")))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| err(format!("not a safetensors file: {e}")))?;
        let steps_per_epoch = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(REPLAY_STEPS_PER_EPOCH))
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&s| s > 0)
            .ok_or_else(|| err(format!("no positive '{REPLAY_STEPS_PER_EPOCH}' metadata")))?;
        let mut shape = None;
        let mut read = |name: &str| -> Result<Vec<u8>, TrainError> {
            let view = st
                .tensor(name)
                .map_err(|e| err(format!("tensor '{name}': {e}")))?;
            if view.dtype() != safetensors::Dtype::U8 {
                return Err(err(format!(
                    "tensor '{name}' is {:?}, not U8",
                    view.dtype()
                )));
            }
            let dims = view.shape().to_vec();
            let square = dims.len() == 5 && dims[2] == 3 && dims[3] == dims[4];
            if !square || shape.is_some_and(|s: [usize; 3]| s != [dims[0], dims[1], dims[3]]) {
                return Err(err(format!(
                    "tensor '{name}' has shape {dims:?}; want [batches, n, 3, size, size], \
                     the same for photos, cartoons and smoothed"
                )));
            }
            shape = Some([dims[0], dims[1], dims[3]]);
            Ok(view.data().to_vec())
        };
        let (photos, cartoons, smoothed) = (read("photos")?, read("cartoons")?, read("smoothed")?);
        let [count, n, size] = shape.unwrap_or_default();
        Ok(Self {
            path: path.to_path_buf(),
            photos,
            cartoons,
            smoothed,
            count,
            n,
            size,
            steps_per_epoch,
        })
    }

    /// Batches in the file.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the file holds no batch.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Images per batch.
    pub fn batch_size(&self) -> usize {
        self.n
    }

    fn planes(&self, data: &[u8], index: usize) -> Vec<f32> {
        let len = self.n * 3 * self.size * self.size;
        data[index * len..(index + 1) * len]
            .iter()
            .map(|&v| unit_range(v))
            .collect()
    }
}

impl BatchSource for ReplayBatches {
    fn steps_per_epoch(&self, max_steps: usize) -> usize {
        if max_steps > 0 {
            self.steps_per_epoch.min(max_steps)
        } else {
            self.steps_per_epoch
        }
    }

    fn size(&self) -> usize {
        self.size
    }

    fn batch(&self, epoch: usize, step: usize) -> Result<HostBatch, TrainError> {
        let index = epoch * self.steps_per_epoch + step;
        if index >= self.count {
            return Err(TrainError::Data {
                path: self.path.clone(),
                message: format!(
                    "holds {} batches ({} per epoch); epoch {epoch} step {step} asks for \
                     batch {index}: lower train.epochs",
                    self.count, self.steps_per_epoch
                ),
            });
        }
        Ok(HostBatch {
            photos: self.planes(&self.photos, index),
            cartoons: self.planes(&self.cartoons, index),
            smoothed: self.planes(&self.smoothed, index),
            n: self.n,
            size: self.size,
            epoch,
            step_in_epoch: step,
        })
    }

    /// The photos of the first batch.
    fn validation(&self, n: usize) -> Result<(Vec<f32>, usize), TrainError> {
        let count = n.min(self.n);
        let mut planes = self.batch(0, 0)?.photos;
        planes.truncate(count * 3 * self.size * self.size);
        Ok((planes, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replay file of `count` batches of one 2x2 image, every value of batch k being 10·k.
    fn write(path: &Path, count: usize, steps_per_epoch: &str) {
        let data: Vec<u8> = (0..count * 12).map(|i| ((i / 12) * 10) as u8).collect();
        let shape = vec![count, 1, 3, 2, 2];
        let views: Vec<(&str, safetensors::tensor::TensorView)> =
            ["photos", "cartoons", "smoothed"]
                .into_iter()
                .map(|name| {
                    let view = safetensors::tensor::TensorView::new(
                        safetensors::Dtype::U8,
                        shape.clone(),
                        &data,
                    );
                    (name, view.unwrap())
                })
                .collect();
        let meta = [(
            REPLAY_STEPS_PER_EPOCH.to_string(),
            steps_per_epoch.to_string(),
        )];
        let meta = Some(meta.into_iter().collect());
        safetensors::serialize_to_file(views, &meta, path).unwrap();
    }

    #[test]
    fn replays_batches_in_file_order_by_epoch_and_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batches.safetensors");
        write(&path, 6, "3");
        let replay = ReplayBatches::open(&path).unwrap();
        assert_eq!(
            (replay.len(), replay.batch_size(), replay.size()),
            (6, 1, 2)
        );
        assert_eq!(replay.steps_per_epoch(0), 3);
        assert_eq!(replay.steps_per_epoch(2), 2);
        let b = replay.batch(1, 2).unwrap();
        assert_eq!((b.epoch, b.step_in_epoch, b.n, b.size), (1, 2, 1, 2));
        // Batch 5 holds the byte 50: 50 / 127.5 − 1, as the image loader maps it.
        assert!(b.photos.iter().all(|&v| v == 50.0 / 127.5 - 1.0));
        let err = replay.batch(2, 0).unwrap_err().to_string();
        assert!(
            err.contains("holds 6 batches") && err.contains("batch 6"),
            "{err}"
        );
    }

    #[test]
    fn refuses_a_file_without_steps_per_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batches.safetensors");
        write(&path, 2, "0");
        let err = ReplayBatches::open(&path).unwrap_err().to_string();
        assert!(err.contains(REPLAY_STEPS_PER_EPOCH), "{err}");
    }
}
