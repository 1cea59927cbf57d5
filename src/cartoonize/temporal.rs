//! Instance-norm statistics carried from one video frame to the next.
//!
//! Each frame of a clip normalizes with statistics that move a little from frame to frame
//! (the content shifts in a pan, noise changes), and the network amplifies that into
//! flicker. Smoothing every norm's statistics with an exponential moving average over the
//! frames removes that part of the flicker; at a scene cut the average is reset so the new
//! scene is normalized with its own statistics from its first frame.

/// Exponentially smoothed per-channel (mean, variance) of every instance norm of a network.
#[derive(Debug, Clone)]
pub struct TemporalStats {
    keep: f64,
    layers: Vec<Vec<(f64, f64)>>,
}

impl TemporalStats {
    /// `keep` in [0, 1): weight of the running average against the current frame's
    /// statistics (0 gives every frame its own statistics, the image result).
    pub fn new(keep: f64) -> Self {
        Self {
            keep: keep.clamp(0.0, 0.999),
            layers: Vec::new(),
        }
    }

    /// Forgets the running average (a scene cut): the next frame uses its own statistics.
    pub fn reset(&mut self) {
        self.layers.clear();
    }

    /// Replaces `stats` of the `layer`-th norm by the running average updated with them.
    pub fn smooth(&mut self, layer: usize, stats: &mut [(f64, f64)]) {
        if self.layers.len() <= layer {
            self.layers.resize(layer + 1, Vec::new());
        }
        let prev = &mut self.layers[layer];
        if prev.len() == stats.len() {
            let k = self.keep;
            for (s, p) in stats.iter_mut().zip(prev.iter()) {
                s.0 = k * p.0 + (1.0 - k) * s.0;
                s.1 = k * p.1 + (1.0 - k) * s.1;
            }
        }
        prev.clear();
        prev.extend_from_slice(stats);
    }
}
