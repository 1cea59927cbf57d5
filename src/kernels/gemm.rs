//! The one place toongan calls the `gemm` crate (0.19, AVX-512 microkernels with its
//! `x86-v4` feature): strided matrix views and a product over them, shared by the inference
//! engine's convolutions and the training backend's.

/// A read-only f32 matrix: element (i, j) is at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mat {
    ptr: *const f32,
    rs: isize,
    cs: isize,
}

impl Mat {
    /// A row-major matrix with unit column stride and row stride `rs`.
    pub(crate) fn rows(ptr: *const f32, rs: usize) -> Self {
        Self {
            ptr,
            rs: rs as isize,
            cs: 1,
        }
    }

    /// The transpose of this matrix (no data moves).
    pub(crate) fn t(self) -> Self {
        Self {
            ptr: self.ptr,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

/// A writable f32 matrix: element (i, j) is at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatMut {
    ptr: *mut f32,
    rs: isize,
    cs: isize,
}

impl MatMut {
    /// A row-major matrix with unit column stride and row stride `rs`.
    pub(crate) fn rows(ptr: *mut f32, rs: usize) -> Self {
        Self {
            ptr,
            rs: rs as isize,
            cs: 1,
        }
    }
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` with `accumulate`; `lhs` is m×k, `rhs` k×n,
/// `dst` m×n. `threads` > 1 lets the gemm crate split the product over rayon threads.
///
/// # Safety
/// The views must address matrices of those sizes; `dst` must not alias the inputs, and no
/// other thread may touch the elements of `dst` meanwhile.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(
    m: usize,
    n: usize,
    k: usize,
    dst: MatMut,
    lhs: Mat,
    rhs: Mat,
    accumulate: bool,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m as isize {
                for j in 0..n as isize {
                    // SAFETY: (i, j) lies inside `dst` by the caller's contract.
                    unsafe { *dst.ptr.offset(i * dst.rs + j * dst.cs) = 0.0 };
                }
            }
        }
        return;
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.ptr,
            dst.cs,
            dst.rs,
            accumulate,
            lhs.ptr,
            lhs.cs,
            lhs.rs,
            rhs.ptr,
            rhs.cs,
            rhs.rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Threads to use for parallel work: rayon's pool size.
pub(crate) fn threads() -> usize {
    rayon::current_num_threads()
}

/// A raw pointer that may cross threads: used where parallel tasks write disjoint parts of
/// one buffer in a pattern slices cannot express.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub *mut f32);
// SAFETY: every user writes disjoint elements from each task and joins before reading.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer, `i` elements on. A method, so that closures capture the whole (`Send`)
    /// wrapper rather than its raw-pointer field.
    #[inline(always)]
    pub(crate) fn add(&self, i: usize) -> *mut f32 {
        self.0.wrapping_add(i)
    }
}
