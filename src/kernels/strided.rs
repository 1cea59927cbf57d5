//! Element-wise kernels over strided, broadcast f32 views: what a backward pass mostly feeds
//! its additions and products (gradients of `swap_dims`, per-channel statistics broadcast
//! over N×H×W). Dimensions that are contiguous in every operand are merged first, so the
//! innermost loop runs over whole rows (often whole planes) with unit or zero stride and
//! vectorizes; rows are split over rayon threads.

use rayon::prelude::*;

/// A strided view of `data`: element at multi-index `i` is `data[offset + Σ i[d]·strides[d]]`.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The storage.
    pub data: &'a [f32],
    /// Position of element 0.
    pub offset: usize,
    /// Step per dimension (0 for a broadcast dimension); non-negative.
    pub strides: &'a [usize],
}

/// Outputs below this many elements run on one thread.
const PAR_MIN: usize = 1 << 15;

/// Merged dimensions: (size, stride of each operand), outermost first; size-1 dimensions
/// dropped; never empty (a scalar is one dimension of size 1).
fn coalesce<const K: usize>(shape: &[usize], strides: [&[usize]; K]) -> Vec<(usize, [usize; K])> {
    let mut dims: Vec<(usize, [usize; K])> = Vec::new();
    for (d, &n) in shape.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let s: [usize; K] = std::array::from_fn(|k| strides[k][d]);
        if let Some(last) = dims.last_mut()
            && (0..K).all(|k| last.1[k] == s[k] * n)
        {
            last.0 *= n;
            last.1 = s;
            continue;
        }
        dims.push((n, s));
    }
    if dims.is_empty() {
        dims.push((1, [0; K]));
    }
    dims
}

/// Offsets of each operand at the start of outer row `row` (row-major over `outer`).
fn row_offsets<const K: usize>(
    mut row: usize,
    outer: &[(usize, [usize; K])],
    base: [usize; K],
) -> [usize; K] {
    let mut off = base;
    for &(n, s) in outer.iter().rev() {
        let i = row % n;
        row /= n;
        for k in 0..K {
            off[k] += i * s[k];
        }
    }
    off
}

/// `out[i] = op(a[i], b[i])` over `shape` (both views already broadcast to it), row-major.
pub fn binary(shape: &[usize], a: View, b: View, op: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    let total: usize = shape.iter().product();
    let mut out = vec![0.0f32; total];
    if total == 0 {
        return out;
    }
    let dims = coalesce(shape, [a.strides, b.strides]);
    let (&(n, [sa, sb]), outer) = dims.split_last().expect("coalesce is never empty");
    let rows_per_task = (PAR_MIN / n).max(1);
    let task = |(t, chunk): (usize, &mut [f32])| {
        for (r, line) in chunk.chunks_exact_mut(n).enumerate() {
            let [oa, ob] = row_offsets(t * rows_per_task + r, outer, [a.offset, b.offset]);
            match (sa, sb) {
                (1, 1) => {
                    let (x, y) = (&a.data[oa..oa + n], &b.data[ob..ob + n]);
                    for ((o, &x), &y) in line.iter_mut().zip(x).zip(y) {
                        *o = op(x, y);
                    }
                }
                (1, 0) => {
                    let (x, y) = (&a.data[oa..oa + n], b.data[ob]);
                    for (o, &x) in line.iter_mut().zip(x) {
                        *o = op(x, y);
                    }
                }
                (0, 1) => {
                    let (x, y) = (a.data[oa], &b.data[ob..ob + n]);
                    for (o, &y) in line.iter_mut().zip(y) {
                        *o = op(x, y);
                    }
                }
                _ => {
                    for (j, o) in line.iter_mut().enumerate() {
                        *o = op(a.data[oa + j * sa], b.data[ob + j * sb]);
                    }
                }
            }
        }
    };
    if total >= 2 * PAR_MIN {
        out.par_chunks_mut(rows_per_task * n)
            .enumerate()
            .for_each(task);
    } else {
        out.chunks_mut(rows_per_task * n).enumerate().for_each(task);
    }
    out
}

/// A row-major copy of the view over `shape`.
pub fn copy(shape: &[usize], a: View) -> Vec<f32> {
    let total: usize = shape.iter().product();
    let mut out = vec![0.0f32; total];
    if total == 0 {
        return out;
    }
    let dims = coalesce(shape, [a.strides]);
    let (&(n, [sa]), outer) = dims.split_last().expect("coalesce is never empty");
    let rows_per_task = (PAR_MIN / n).max(1);
    let task = |(t, chunk): (usize, &mut [f32])| {
        for (r, line) in chunk.chunks_exact_mut(n).enumerate() {
            let [oa] = row_offsets(t * rows_per_task + r, outer, [a.offset]);
            if sa == 1 {
                line.copy_from_slice(&a.data[oa..oa + n]);
            } else {
                for (j, o) in line.iter_mut().enumerate() {
                    *o = a.data[oa + j * sa];
                }
            }
        }
    };
    if total >= 2 * PAR_MIN {
        out.par_chunks_mut(rows_per_task * n)
            .enumerate()
            .for_each(task);
    } else {
        out.chunks_mut(rows_per_task * n).enumerate().for_each(task);
    }
    out
}
