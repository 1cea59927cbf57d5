//! Element-wise kernels over strided, broadcast views: what a backward pass mostly feeds its
//! additions and products (gradients of `swap_dims`, per-channel statistics broadcast over
//! N×H×W), and the maps, masks and fills around them. Dimensions that are contiguous in every
//! operand are merged first, so the innermost loop runs over whole rows (often whole planes)
//! with unit or zero stride and vectorizes. Outputs are split into chunks of [`CHUNK`]
//! elements (rows may be cut between chunks) that run on rayon threads when there are at least
//! two of them; outputs are allocated without being zero-filled first.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::gemm::SendPtr;

/// A strided view of `data`: element at multi-index `i` is `data[offset + Σ i[d]·strides[d]]`.
#[derive(Debug, Clone, Copy)]
pub struct View<'a, T = f32> {
    /// The storage.
    pub data: &'a [T],
    /// Position of element 0.
    pub offset: usize,
    /// Step per dimension (0 for a broadcast dimension); non-negative.
    pub strides: &'a [usize],
}

/// Elements per task; outputs of fewer than two chunks run on the calling thread.
pub const CHUNK: usize = 1 << 15;

/// Whether an output of `total` elements is split over rayon threads.
pub fn is_parallel(total: usize) -> bool {
    total >= 2 * CHUNK
}

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

/// Calls `f(pos, len, offsets, steps)` for each run of consecutive elements
/// `start + pos .. start + pos + len` (row-major over `dims`) that lies in one innermost row:
/// `offsets` are each operand's position of the run's first element, `steps` their stride
/// along the row.
fn segments<const K: usize>(
    dims: &[(usize, [usize; K])],
    base: [usize; K],
    start: usize,
    len: usize,
    mut f: impl FnMut(usize, usize, [usize; K], [usize; K]),
) {
    let (&(n, s), outer) = dims.split_last().expect("coalesce is never empty");
    let mut e = start;
    while e < start + len {
        let (row, j) = (e / n, e % n);
        let seg = (n - j).min(start + len - e);
        let mut off = row_offsets(row, outer, base);
        for k in 0..K {
            off[k] += j * s[k];
        }
        f(e - start, seg, off, s);
        e += seg;
    }
}

/// A vector of `total` elements, built chunk by chunk (in parallel for large outputs):
/// `fill(start, chunk)` must write every element of `chunk`, which holds output elements
/// `start .. start + chunk.len()`.
pub fn build<T: Send>(total: usize, fill: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync) -> Vec<T> {
    build_chunked(total, CHUNK, is_parallel(total), fill)
}

/// [`build`] with chunks of `chunk` elements, run in parallel if `parallel`.
fn build_chunked<T: Send>(
    total: usize,
    chunk: usize,
    parallel: bool,
    fill: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    let mut out = Vec::with_capacity(total);
    let spare = &mut out.spare_capacity_mut()[..total];
    if parallel {
        spare
            .par_chunks_mut(chunk.max(1))
            .enumerate()
            .for_each(|(i, c)| fill(i * chunk.max(1), c));
    } else {
        fill(0, spare);
    }
    // SAFETY: `fill` wrote every one of the first `total` elements (its contract; all the
    // callers in this module write each element of every chunk they are given).
    unsafe { out.set_len(total) };
    out
}

/// Runs `f(start, chunk)` over `data` in chunks (in parallel for large slices).
fn for_chunks<T: Send>(data: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    if is_parallel(data.len()) {
        data.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, c)| f(i * CHUNK, c));
    } else {
        f(0, data);
    }
}

/// `out[i] = op(a[i], b[i])` over `shape` (both views already broadcast to it), row-major.
pub fn binary(shape: &[usize], a: View, b: View, op: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    let total: usize = shape.iter().product();
    let dims = coalesce(shape, [a.strides, b.strides]);
    build(total, |start, chunk| {
        segments(
            &dims,
            [a.offset, b.offset],
            start,
            chunk.len(),
            |pos, n, [oa, ob], [sa, sb]| {
                let line = &mut chunk[pos..pos + n];
                match (sa, sb) {
                    (1, 1) => {
                        let (x, y) = (&a.data[oa..oa + n], &b.data[ob..ob + n]);
                        for ((o, &x), &y) in line.iter_mut().zip(x).zip(y) {
                            o.write(op(x, y));
                        }
                    }
                    (1, 0) => {
                        let (x, y) = (&a.data[oa..oa + n], b.data[ob]);
                        for (o, &x) in line.iter_mut().zip(x) {
                            o.write(op(x, y));
                        }
                    }
                    (0, 1) => {
                        let (x, y) = (a.data[oa], &b.data[ob..ob + n]);
                        for (o, &y) in line.iter_mut().zip(y) {
                            o.write(op(x, y));
                        }
                    }
                    _ => {
                        for (j, o) in line.iter_mut().enumerate() {
                            o.write(op(a.data[oa + j * sa], b.data[ob + j * sb]));
                        }
                    }
                }
            },
        )
    })
}

/// `out[i] = op(a[i])` over `shape`, row-major.
pub fn unary(shape: &[usize], a: View, op: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let total: usize = shape.iter().product();
    let dims = coalesce(shape, [a.strides]);
    build(total, |start, chunk| {
        segments(
            &dims,
            [a.offset],
            start,
            chunk.len(),
            |pos, n, [oa], [sa]| {
                let line = &mut chunk[pos..pos + n];
                if sa == 1 {
                    for (o, &x) in line.iter_mut().zip(&a.data[oa..oa + n]) {
                        o.write(op(x));
                    }
                } else {
                    for (j, o) in line.iter_mut().enumerate() {
                        o.write(op(a.data[oa + j * sa]));
                    }
                }
            },
        )
    })
}

/// A row-major copy of the view over `shape`.
pub fn copy(shape: &[usize], a: View) -> Vec<f32> {
    unary(shape, a, |x| x)
}

/// `out[i] = if mask[i] != 0 { v[i] } else { t[i] }` over `shape` (all three broadcast to it).
pub fn select(shape: &[usize], t: View, mask: View<u8>, v: View) -> Vec<f32> {
    let total: usize = shape.iter().product();
    let dims = coalesce(shape, [t.strides, mask.strides, v.strides]);
    build(total, |start, chunk| {
        segments(
            &dims,
            [t.offset, mask.offset, v.offset],
            start,
            chunk.len(),
            |pos, n, [ot, om, ov], [st, sm, sv]| {
                let line = &mut chunk[pos..pos + n];
                if (st, sm, sv) == (1, 1, 1) {
                    let (x, m, y) = (
                        &t.data[ot..ot + n],
                        &mask.data[om..om + n],
                        &v.data[ov..ov + n],
                    );
                    for (((o, &x), &m), &y) in line.iter_mut().zip(x).zip(m).zip(y) {
                        o.write(if m != 0 { y } else { x });
                    }
                } else {
                    for (j, o) in line.iter_mut().enumerate() {
                        let m = mask.data[om + j * sm];
                        o.write(if m != 0 {
                            v.data[ov + j * sv]
                        } else {
                            t.data[ot + j * st]
                        });
                    }
                }
            },
        )
    })
}

/// `out[i] = if mask[i] != 0 { value } else { t[i] }` over `shape` (both broadcast to it).
pub fn fill_where(shape: &[usize], t: View, mask: View<u8>, value: f32) -> Vec<f32> {
    let total: usize = shape.iter().product();
    let dims = coalesce(shape, [t.strides, mask.strides]);
    build(total, |start, chunk| {
        segments(
            &dims,
            [t.offset, mask.offset],
            start,
            chunk.len(),
            |pos, n, [ot, om], [st, sm]| {
                for (j, o) in chunk[pos..pos + n].iter_mut().enumerate() {
                    let m = mask.data[om + j * sm];
                    o.write(if m != 0 { value } else { t.data[ot + j * st] });
                }
            },
        )
    })
}

/// `out[i] = cmp(a[i])` as 0/1 bytes over `shape`.
pub fn compare(shape: &[usize], a: View, cmp: impl Fn(f32) -> bool + Sync) -> Vec<u8> {
    let total: usize = shape.iter().product();
    let dims = coalesce(shape, [a.strides]);
    build(total, |start, chunk| {
        segments(
            &dims,
            [a.offset],
            start,
            chunk.len(),
            |pos, n, [oa], [sa]| {
                for (j, o) in chunk[pos..pos + n].iter_mut().enumerate() {
                    o.write(u8::from(cmp(a.data[oa + j * sa])));
                }
            },
        )
    })
}

/// `n` copies of `value`.
pub fn filled(n: usize, value: f32) -> Vec<f32> {
    build(n, |_, chunk| {
        for o in chunk {
            o.write(value);
        }
    })
}

/// Sums over the middle axis of a row-major `outer × r × inner` array: `out[o·inner + i] =
/// Σ_k data[(o·r + k)·inner + i]`, in parallel when `data` is large. Along rows (`inner` > 1)
/// each output element adds its `r` terms in order; across a row (`inner` = 1) the terms are
/// added in 16 interleaved partial sums (so the loop vectorizes), combined at the end.
pub fn sum_middle(data: &[f32], outer: usize, r: usize, inner: usize) -> Vec<f32> {
    assert_eq!(data.len(), outer * r * inner, "sum_middle: size");
    let total = outer * inner;
    let parallel = is_parallel(data.len());
    // Output elements per task: about CHUNK input elements each.
    let chunk = (CHUNK / r.max(1)).max(1);
    if inner == 1 {
        return build_chunked(total, chunk, parallel, |start, out| {
            for (j, o) in out.iter_mut().enumerate() {
                let row = &data[(start + j) * r..(start + j + 1) * r];
                let mut acc = [0.0f32; 16];
                let mut lanes = row.chunks_exact(16);
                for c in &mut lanes {
                    for (a, &x) in acc.iter_mut().zip(c) {
                        *a += x;
                    }
                }
                let tail: f32 = lanes.remainder().iter().sum();
                o.write(acc.iter().sum::<f32>() + tail);
            }
        });
    }
    build_chunked(total, chunk, parallel, |start, out| {
        let mut e = start;
        let mut pos = 0;
        while pos < out.len() {
            let (o, i) = (e / inner, e % inner);
            let n = (inner - i).min(out.len() - pos);
            let line = &mut out[pos..pos + n];
            let base = o * r * inner + i;
            for (dst, &x) in line.iter_mut().zip(&data[base..base + n]) {
                dst.write(x);
            }
            // SAFETY: every element of `line` was written just above.
            let line = unsafe { &mut *(line as *mut [MaybeUninit<f32>] as *mut [f32]) };
            for k in 1..r {
                let row = &data[base + k * inner..base + k * inner + n];
                for (acc, &x) in line.iter_mut().zip(row) {
                    *acc += x;
                }
            }
            e += n;
            pos += n;
        }
    })
}

/// `data[i] = op(data[i])` in place.
pub fn map_inplace(data: &mut [f32], op: impl Fn(f32) -> f32 + Sync) {
    for_chunks(data, |_, c| {
        for x in c {
            *x = op(*x);
        }
    });
}

/// `data[i] = op(data[i], b[i])` in place, `data` being the row-major tensor of `shape` and
/// `b` a view broadcast to it.
pub fn zip_inplace(
    data: &mut [f32],
    shape: &[usize],
    b: View,
    op: impl Fn(f32, f32) -> f32 + Sync,
) {
    let dims = coalesce(shape, [b.strides]);
    for_chunks(data, |start, chunk| {
        segments(
            &dims,
            [b.offset],
            start,
            chunk.len(),
            |pos, n, [ob], [sb]| {
                let line = &mut chunk[pos..pos + n];
                match sb {
                    1 => {
                        for (x, &y) in line.iter_mut().zip(&b.data[ob..ob + n]) {
                            *x = op(*x, y);
                        }
                    }
                    0 => {
                        let y = b.data[ob];
                        for x in line {
                            *x = op(*x, y);
                        }
                    }
                    _ => {
                        for (j, x) in line.iter_mut().enumerate() {
                            *x = op(*x, b.data[ob + j * sb]);
                        }
                    }
                }
            },
        )
    });
}

/// Writes `src` (a view over `shape`) into the box of `dst` that starts at `dst_offset` with
/// steps `dst_strides`. The box's elements must be distinct positions of `dst` (true of a box
/// inside a row-major tensor, `dst_strides` being that tensor's strides).
pub fn assign(
    dst: &mut [f32],
    dst_offset: usize,
    dst_strides: &[usize],
    shape: &[usize],
    src: View,
) {
    let total: usize = shape.iter().product();
    if total == 0 {
        return;
    }
    let dims = coalesce(shape, [dst_strides, src.strides]);
    // Bounds: the box's last element must be inside `dst` (checked once here, so that the
    // raw writes below stay in bounds; every other element lies before it in each dimension).
    let last = dst_offset + dims.iter().map(|&(n, [sd, _])| (n - 1) * sd).sum::<usize>();
    assert!(last < dst.len(), "assign: box out of bounds");
    let ptr = SendPtr(dst.as_mut_ptr());
    let n_chunks = total.div_ceil(CHUNK);
    let task = |i: usize| {
        let start = i * CHUNK;
        let len = CHUNK.min(total - start);
        segments(
            &dims,
            [dst_offset, src.offset],
            start,
            len,
            |_, n, [od, os], [sd, ss]| {
                for j in 0..n {
                    // SAFETY: od + j·sd is a position of the box, in bounds (checked above);
                    // distinct box elements are distinct positions (the contract), and each is
                    // written by exactly one task, so no two threads write the same element
                    // and nothing reads `dst` meanwhile (it is borrowed mutably).
                    unsafe { *ptr.add(od + j * sd) = src.data[os + j * ss] };
                }
            },
        )
    };
    if is_parallel(total) {
        (0..n_chunks).into_par_iter().for_each(task);
    } else {
        (0..n_chunks).for_each(task);
    }
}
