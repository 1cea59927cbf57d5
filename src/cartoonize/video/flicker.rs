//! A flicker figure for a translated clip: how much the output changes from frame to frame
//! relative to how much the input changes, `mean|out[t+1] − out[t]| / mean|in[t+1] − in[t]|`
//! over all consecutive pairs.

/// Accumulates the frame-to-frame differences of a clip's input and output.
#[derive(Debug, Clone, Default)]
pub struct Flicker {
    input: f64,
    output: f64,
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

impl Flicker {
    /// Adds the next frame (8-bit input and output of the same size).
    pub fn add(&mut self, input: &[u8], output: &[u8]) {
        if let Some((pi, po)) = &self.prev {
            self.input += mean_abs_diff(pi, input);
            self.output += mean_abs_diff(po, output);
        }
        self.prev = Some((input.to_vec(), output.to_vec()));
    }

    /// The ratio of the output's to the input's total frame-to-frame change (`None` before
    /// two frames or for a still input).
    pub fn ratio(&self) -> Option<f64> {
        (self.input > 0.0).then(|| self.output / self.input)
    }
}

/// Mean absolute 8-bit difference between two frames, for scene-cut detection.
pub fn frame_difference(a: &[u8], b: &[u8]) -> f64 {
    mean_abs_diff(a, b)
}
