//! Buffers reused between layers and between calls, so a forward pass allocates nothing
//! once the workspace has seen an image of its size.

/// Activation buffers and kernel scratch of the CPU engine.
///
/// Three activation buffers suffice for the whole generator: the current activation, the
/// next layer's output, and a third for residual blocks (whose input must survive two
/// convolutions). Buffers only grow; their peak is what the largest layer needs.
#[derive(Debug, Default)]
pub struct Workspace {
    /// Activation buffers.
    pub(crate) bufs: [Vec<f32>; 3],
    /// Kernel scratch (Winograd transform domain, im2col or per-tap products).
    pub(crate) scratch: Vec<f32>,
}

impl Workspace {
    /// An empty workspace; buffers grow on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes currently held.
    pub fn bytes(&self) -> usize {
        4 * (self.bufs.iter().map(Vec::capacity).sum::<usize>() + self.scratch.capacity())
    }
}

/// The first `n` elements of `buf`, growing it if needed. Contents are stale: callers
/// overwrite every element.
pub(crate) fn sized(buf: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if buf.len() < n {
        buf.resize(n, 0.0);
    }
    &mut buf[..n]
}
