//! Splitting a large image into overlapping tiles and blending them back, so memory stays
//! bounded whatever the image size.
//!
//! Tiles overlap by `overlap` pixels; in an overlap both tiles' outputs are mixed with
//! linear ramps, so no seam shows. Away from the overlaps a tile's output is used alone.

/// Where the tiles of an image lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TilePlan {
    /// Left edges of the tile columns.
    pub xs: Vec<usize>,
    /// Top edges of the tile rows.
    pub ys: Vec<usize>,
    /// Tile width (the image width when one column suffices).
    pub tile_w: usize,
    /// Tile height (the image height when one row suffices).
    pub tile_h: usize,
    /// Overlap between neighbouring tiles.
    pub overlap: usize,
}

fn starts(len: usize, tile: usize, overlap: usize) -> Vec<usize> {
    if len <= tile {
        return vec![0];
    }
    let step = tile - overlap;
    let n = (len - overlap).div_ceil(step);
    // Spread the tiles evenly so every overlap is at least `overlap` wide.
    (0..n)
        .map(|i| {
            let s = (i * (len - tile)) as f64 / (n - 1) as f64;
            let s = s.round() as usize;
            s - s % 4
        })
        .collect()
}

impl TilePlan {
    /// Plans tiles of at most `tile`x`tile` pixels (a multiple of 4) over a `width`x`height`
    /// image whose sides are multiples of 4.
    pub fn new(width: usize, height: usize, tile: usize, overlap: usize) -> Self {
        assert!(
            tile % 4 == 0 && tile > 2 * overlap,
            "tile must be a multiple of 4 and > 2*overlap"
        );
        Self {
            xs: starts(width, tile, overlap),
            ys: starts(height, tile, overlap),
            tile_w: width.min(tile),
            tile_h: height.min(tile),
            overlap,
        }
    }

    /// Number of tiles.
    pub fn len(&self) -> usize {
        self.xs.len() * self.ys.len()
    }

    /// Whether the plan has no tiles (only for an image with a zero side).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Blending weight along one axis at offset `i` of a tile starting at `start`, given
    /// whether a neighbour overlaps on the low and high side.
    pub fn ramp(&self, i: usize, len: usize, has_low: bool, has_high: bool) -> f32 {
        let o = self.overlap.max(1) as f32;
        let mut w = 1.0f32;
        if has_low {
            w = w.min((i as f32 + 0.5) / o);
        }
        if has_high {
            w = w.min(((len - i) as f32 - 0.5) / o);
        }
        w.clamp(1e-4, 1.0)
    }
}

/// Accumulates weighted tile outputs into a full image.
#[derive(Debug)]
pub struct TileBlender {
    width: usize,
    channels: usize,
    sum: Vec<f32>,
    weight: Vec<f32>,
}

impl TileBlender {
    /// An empty accumulator for a `width`x`height` image with `channels` interleaved channels.
    pub fn new(width: usize, height: usize, channels: usize) -> Self {
        Self {
            width,
            channels,
            sum: vec![0.0; width * height * channels],
            weight: vec![0.0; width * height],
        }
    }

    /// Adds one tile's interleaved output at (`x0`, `y0`).
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        plan: &TilePlan,
        x0: usize,
        y0: usize,
        tw: usize,
        th: usize,
        tile: &[f32],
        image_w: usize,
        image_h: usize,
    ) {
        let c = self.channels;
        let (has_left, has_right) = (x0 > 0, x0 + tw < image_w);
        let (has_top, has_bottom) = (y0 > 0, y0 + th < image_h);
        for ty in 0..th {
            let wy = plan.ramp(ty, th, has_top, has_bottom);
            for tx in 0..tw {
                let w = wy * plan.ramp(tx, tw, has_left, has_right);
                let dst = (y0 + ty) * self.width + x0 + tx;
                self.weight[dst] += w;
                for k in 0..c {
                    self.sum[dst * c + k] += w * tile[(ty * tw + tx) * c + k];
                }
            }
        }
    }

    /// The blended image.
    pub fn finish(mut self) -> Vec<f32> {
        let c = self.channels;
        for (i, &w) in self.weight.iter().enumerate() {
            for k in 0..c {
                self.sum[i * c + k] /= w;
            }
        }
        self.sum
    }
}
