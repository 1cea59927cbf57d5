//! Kernel Inception Distance (Bińkowski et al., ICLR 2018): the unbiased MMD² between two
//! feature sets with the cubic polynomial kernel `k(x, y) = (x·y / d + 1)³`, averaged over
//! random subsets, as torch-fidelity's `kid_features_to_metric` (`mmd2` with
//! `mmd_est="unbiased"`, `kernel_poly` with degree 3, gamma 1/d, coef0 1). Unbiased, so
//! usable at the small sample sizes where FID is biased.

use nalgebra::DMatrix;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::index::sample;

use super::{EvalError, Features};

/// How KID samples subsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KidOptions {
    /// Number of random subsets (torch-fidelity's `kid_subsets`, default 100).
    pub subsets: usize,
    /// Subset size; smaller feature sets use all their rows (`kid_subset_size`, 1000).
    pub subset_size: usize,
    /// Seed of the subset sampler, so a run is reproducible.
    pub seed: u64,
}

impl Default for KidOptions {
    fn default() -> Self {
        Self {
            subsets: 100,
            subset_size: 1000,
            seed: 2020,
        }
    }
}

/// KID over subsets: mean and (population) standard deviation of the per-subset MMD².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kid {
    /// Mean MMD² over subsets.
    pub mean: f64,
    /// Standard deviation over subsets (`np.std`, ddof 0).
    pub std: f64,
    /// Subset size used.
    pub subset_size: usize,
}

/// The cubic polynomial kernel matrix `(X Yᵀ / d + 1)³`.
fn poly_kernel(x: &DMatrix<f64>, y: &DMatrix<f64>) -> DMatrix<f64> {
    let d = x.ncols() as f64;
    (x * y.transpose()).map(|v| (v / d + 1.0).powi(3))
}

/// Unbiased MMD² of two equally sized samples (rows), torch-fidelity's `mmd2`.
pub fn mmd2_unbiased(x: &DMatrix<f64>, y: &DMatrix<f64>) -> f64 {
    let m = x.nrows() as f64;
    let kxx = poly_kernel(x, x);
    let kyy = poly_kernel(y, y);
    let kxy = poly_kernel(x, y);
    let off_diag = |k: &DMatrix<f64>| k.sum() - k.trace();
    (off_diag(&kxx) + off_diag(&kyy)) / (m * (m - 1.0)) - 2.0 * kxy.sum() / (m * m)
}

fn rows(m: &DMatrix<f64>, idx: &[usize]) -> DMatrix<f64> {
    m.select_rows(idx)
}

/// KID on given subsets: `subsets[i] = (rows of a, rows of b)`, equal lengths ≥ 2.
pub fn kid_on_subsets(
    a: &Features,
    b: &Features,
    subsets: &[(Vec<usize>, Vec<usize>)],
) -> Result<Kid, EvalError> {
    if a.dims != b.dims {
        return Err(EvalError::Shape(format!(
            "features of {} and {} dimensions cannot be compared",
            a.dims, b.dims
        )));
    }
    let (xa, xb) = (a.to_matrix(), b.to_matrix());
    let mut mmds = Vec::with_capacity(subsets.len());
    for (ia, ib) in subsets {
        if ia.len() != ib.len() || ia.len() < 2 {
            return Err(EvalError::Shape(
                "KID subsets must have equal sizes ≥ 2".into(),
            ));
        }
        if ia.iter().any(|&i| i >= a.rows()) || ib.iter().any(|&i| i >= b.rows()) {
            return Err(EvalError::Shape("KID subset index out of range".into()));
        }
        mmds.push(mmd2_unbiased(&rows(&xa, ia), &rows(&xb, ib)));
    }
    let n = mmds.len().max(1) as f64;
    let mean = mmds.iter().sum::<f64>() / n;
    let var = mmds.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    Ok(Kid {
        mean,
        std: var.sqrt(),
        subset_size: subsets.first().map_or(0, |s| s.0.len()),
    })
}

/// KID with `options.subsets` random subsets of `min(subset_size, rows of a, rows of b)`
/// rows each, drawn without replacement.
pub fn kid(a: &Features, b: &Features, options: &KidOptions) -> Result<Kid, EvalError> {
    let size = options.subset_size.min(a.rows()).min(b.rows());
    if size < 2 {
        return Err(EvalError::TooFewImages {
            found: a.rows().min(b.rows()),
            needed: 2,
        });
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    let subsets: Vec<_> = (0..options.subsets.max(1))
        .map(|_| {
            (
                sample(&mut rng, a.rows(), size).into_vec(),
                sample(&mut rng, b.rows(), size).into_vec(),
            )
        })
        .collect();
    kid_on_subsets(a, b, &subsets)
}
