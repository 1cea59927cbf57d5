//! Padding geometry: how a convolution pads its input, and which source pixel a padded
//! coordinate reads.

/// How one convolution pads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pad {
    /// Zero padding of the given width.
    Zeros(usize),
    /// Mirror padding that does not repeat the edge pixel (PyTorch `ReflectionPad2d`).
    Reflect(usize),
}

impl Pad {
    /// Width of the padding on each side.
    pub fn width(self) -> usize {
        match self {
            Pad::Zeros(p) | Pad::Reflect(p) => p,
        }
    }

    /// Source index of padded coordinate `i` (may be negative) in an axis of length `n`, or
    /// `None` where the padded value is zero. Reflection mirrors without repeating the edge
    /// (PyTorch `ReflectionPad2d`); coordinates more than the width outside read as zero.
    #[inline]
    pub fn source_index(self, i: isize, n: usize) -> Option<usize> {
        let n = n as isize;
        if (0..n).contains(&i) {
            return Some(i as usize);
        }
        match self {
            Pad::Zeros(_) => None,
            Pad::Reflect(p) => {
                let p = p as isize;
                if (-p..0).contains(&i) {
                    Some((-i).min(n - 1) as usize)
                } else if (n..n + p).contains(&i) {
                    Some((2 * (n - 1) - i).max(0) as usize)
                } else {
                    None
                }
            }
        }
    }
}
