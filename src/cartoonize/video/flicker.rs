//! Two flicker figures for a translated clip.
//!
//! - The flicker ratio, `mean|out[t+1] − out[t]| / mean|in[t+1] − in[t]|` over all consecutive
//!   pairs (issue 18's measure). It counts every change, including the output's legitimate
//!   motion: on a pan, a cartoon that moves exactly with the content still scores about as
//!   much as its own edges are strong (0.84 on the test pan; docs/video.md).
//! - The change beyond the motion: `mean|out[t+1] − out[t] moved by the input's global shift|`
//!   in 8-bit levels, over the pixels both frames show. Zero for a cartoon that moves exactly
//!   with the content; what is left is the network re-deciding edges and flat areas, the
//!   flicker a viewer sees.

use super::stabilize::moved_pairs;

/// Accumulates the frame-to-frame differences of a clip's input and output.
#[derive(Debug, Clone, Default)]
pub struct Flicker {
    input: f64,
    output: f64,
    beyond_motion: f64,
    pairs: usize,
    prev: Option<(Vec<u8>, Vec<u8>)>,
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.len().max(1) as f64
}

/// Mean absolute difference between `cur` and `prev` moved by `shift` (`cur(x, y)` against
/// `prev(x − dx, y − dy)`), over the pixels both have; RGB frames of `w` x `h`.
pub fn moved_difference(prev: &[u8], cur: &[u8], w: usize, h: usize, shift: (i32, i32)) -> f64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for (i, j) in moved_pairs(w, h, shift) {
        for k in 0..3 {
            sum += u64::from(cur[i + k].abs_diff(prev[j + k]));
        }
        n += 3;
    }
    sum as f64 / n.max(1) as f64
}

impl Flicker {
    /// Adds the next frame (8-bit RGB input and output of `w` x `h`); `shift` is the input's
    /// global motion from the previous frame (see `stabilize::global_shift`; ignored
    /// for the first frame).
    pub fn add(&mut self, input: &[u8], output: &[u8], w: usize, h: usize, shift: (i32, i32)) {
        if let Some((pi, po)) = &self.prev {
            self.input += mean_abs_diff(pi, input);
            self.output += mean_abs_diff(po, output);
            self.beyond_motion += moved_difference(po, output, w, h, shift);
            self.pairs += 1;
        }
        self.prev = Some((input.to_vec(), output.to_vec()));
    }

    /// The ratio of the output's to the input's total frame-to-frame change (`None` before
    /// two frames or for a still input).
    pub fn ratio(&self) -> Option<f64> {
        (self.input > 0.0).then(|| self.output / self.input)
    }

    /// Mean change of the output beyond the input's global motion, in 8-bit levels per frame
    /// (`None` before two frames).
    pub fn beyond_motion(&self) -> Option<f64> {
        (self.pairs > 0).then(|| self.beyond_motion / self.pairs as f64)
    }
}

/// Mean absolute 8-bit difference between two frames, for scene-cut detection.
pub fn frame_difference(a: &[u8], b: &[u8]) -> f64 {
    mean_abs_diff(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame whose every pixel is its own x coordinate (times 7, wrapping).
    fn ramp(w: usize, h: usize, offset: usize) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| [((i % w + offset) * 7 % 256) as u8; 3])
            .collect()
    }

    #[test]
    fn an_output_that_moves_with_the_content_changes_nothing_beyond_the_motion() {
        let (w, h) = (32, 8);
        let mut f = Flicker::default();
        // The content moves left by one pixel a frame: cur(x) = prev(x + 1), shift (−1, 0).
        for t in 0..4 {
            let frame = ramp(w, h, t);
            f.add(&frame, &frame, w, h, (-1, 0));
        }
        assert_eq!(f.beyond_motion(), Some(0.0));
        // Yet the ratio counts the motion itself.
        assert_eq!(f.ratio(), Some(1.0));
        // With the wrong shift the same clip does change.
        let mut g = Flicker::default();
        for t in 0..4 {
            let frame = ramp(w, h, t);
            g.add(&frame, &frame, w, h, (1, 0));
        }
        assert!(g.beyond_motion().unwrap() > 5.0);
    }
}
