//! The history of generated images a CycleGAN discriminator learns from (Shrivastava et al.
//! 2017), with the semantics of junyanz/pytorch-CycleGAN-and-pix2pix `util/image_pool.py`:
//! until the pool is full every image is stored and returned as is; afterwards each image is,
//! with probability 0.5, swapped for a random stored one (which it replaces), else returned.
//!
//! The pool lives on the host and draws from its own counter-based generator, so its whole
//! state (images, counter) is saved with a checkpoint and a resumed run draws the same.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use super::TrainError;
use super::rng::mix;

/// A pool of at most `capacity` generated images (0 = no pool: images pass through).
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePool {
    capacity: usize,
    images: Vec<Vec<f32>>,
    counter: u64,
}

const KEY_CAPACITY: &str = "capacity";
const KEY_COUNTER: &str = "counter";
const KEY_IMAGE_LEN: &str = "image_len";

impl ImagePool {
    /// An empty pool whose random choices are seeded by `seed`.
    pub fn new(capacity: usize, seed: u64) -> Self {
        Self {
            capacity,
            images: Vec::new(),
            counter: mix(seed ^ 0x1A6E_F001),
        }
    }

    /// Images stored so far.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    fn next_u64(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        mix(self.counter)
    }

    /// Passes a batch of `n` images (`batch.len() / n` values each) through the pool and
    /// returns the batch the discriminator sees, in the same layout.
    pub fn query(&mut self, batch: &[f32], n: usize) -> Vec<f32> {
        if self.capacity == 0 || n == 0 {
            return batch.to_vec();
        }
        let len = batch.len() / n;
        let mut out = Vec::with_capacity(batch.len());
        for image in batch.chunks_exact(len) {
            if self.images.len() < self.capacity {
                self.images.push(image.to_vec());
                out.extend_from_slice(image);
                continue;
            }
            // p = uniform in [0, 1) from the top 53 bits; junyanz swaps when p > 0.5.
            let p = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            if p > 0.5 {
                let id = ((self.next_u64() as u128 * self.capacity as u128) >> 64) as usize;
                let old = std::mem::replace(&mut self.images[id], image.to_vec());
                out.extend_from_slice(&old);
            } else {
                out.extend_from_slice(image);
            }
        }
        out
    }

    /// Writes the pool (images, capacity, generator counter) as a safetensors file.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let err = |e: String| TrainError::checkpoint(path, e);
        let len = self.images.first().map_or(0, Vec::len);
        let flat: Vec<f32> = self.images.concat();
        let bytes: &[u8] = bytemuck::cast_slice(&flat);
        let meta: HashMap<String, String> = [
            (KEY_CAPACITY, self.capacity.to_string()),
            (KEY_COUNTER, self.counter.to_string()),
            (KEY_IMAGE_LEN, len.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut tensors = Vec::new();
        if !flat.is_empty() {
            let view = TensorView::new(Dtype::F32, vec![self.images.len(), len], bytes)
                .map_err(|e| err(e.to_string()))?;
            tensors.push(("images", view));
        }
        let out = safetensors::serialize(tensors, &Some(meta)).map_err(|e| err(e.to_string()))?;
        crate::imageio::atomic_write(path, &out).map_err(|e| err(e.to_string()))
    }

    /// Reads a pool written by [`ImagePool::save`].
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let err = |e: String| TrainError::checkpoint(path, e);
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| err(format!("not an image pool file: {e}")))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| err(format!("not an image pool file: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let field = |k: &str| -> Result<u64, TrainError> {
            meta.get(k)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| err(format!("no '{k}' in the pool file's metadata")))
        };
        let capacity = field(KEY_CAPACITY)? as usize;
        let counter = field(KEY_COUNTER)?;
        let len = field(KEY_IMAGE_LEN)? as usize;
        let images = match st.tensor("images") {
            Ok(view) if len > 0 => bytemuck::pod_collect_to_vec::<u8, f32>(view.data())
                .chunks_exact(len)
                .map(<[f32]>::to_vec)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            capacity,
            images,
            counter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(values: &[f32]) -> Vec<f32> {
        values.iter().flat_map(|&v| [v, v]).collect()
    }

    #[test]
    fn fills_first_then_swaps_about_half() {
        let mut pool = ImagePool::new(3, 7);
        // Filling: every image is returned unchanged and stored.
        assert_eq!(pool.query(&batch(&[1.0, 2.0]), 2), batch(&[1.0, 2.0]));
        assert_eq!(pool.query(&batch(&[3.0]), 1), batch(&[3.0]));
        assert_eq!(pool.len(), 3);
        let mut swapped = 0;
        let mut stored: Vec<f32> = vec![1.0, 2.0, 3.0];
        for i in 0..2000 {
            let v = 10.0 + i as f32;
            let out = pool.query(&batch(&[v]), 1);
            if out[0] != v {
                swapped += 1;
                let k = stored
                    .iter()
                    .position(|&s| s == out[0])
                    .expect("a stored image");
                stored[k] = v;
            }
        }
        assert!((850..1150).contains(&swapped), "{swapped} of 2000 swapped");
        let mut left: Vec<f32> = pool.images.iter().map(|im| im[0]).collect();
        left.sort_by(f32::total_cmp);
        stored.sort_by(f32::total_cmp);
        assert_eq!(left, stored);
    }

    #[test]
    fn zero_capacity_passes_through() {
        let mut pool = ImagePool::new(0, 1);
        assert_eq!(pool.query(&batch(&[5.0, 6.0]), 2), batch(&[5.0, 6.0]));
        assert!(pool.is_empty());
    }

    #[test]
    fn saved_pool_draws_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.safetensors");
        let mut pool = ImagePool::new(4, 3);
        ImagePool::new(4, 3).save(&path).unwrap();
        assert_eq!(ImagePool::load(&path).unwrap(), pool);
        for i in 0..6 {
            pool.query(&batch(&[i as f32]), 1);
        }
        pool.save(&path).unwrap();
        let mut back = ImagePool::load(&path).unwrap();
        assert_eq!(back, pool);
        for i in 0..50 {
            let b = batch(&[100.0 + i as f32]);
            assert_eq!(back.query(&b, 1), pool.query(&b, 1));
        }
    }
}
