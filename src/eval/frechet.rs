//! The Fréchet distance between two Gaussians, the number FID reports:
//! `|mu1 − mu2|² + tr(S1) + tr(S2) − 2 tr((S1 S2)^½)`, as pytorch-fid's
//! `calculate_frechet_distance`.
//!
//! pytorch-fid takes `scipy.linalg.sqrtm(S1 S2)` of the non-symmetric product. Here the
//! trace term comes from the symmetric matrix `S1^½ S2 S1^½`, which has the same eigenvalues
//! as `S1 S2`, with two symmetric eigendecompositions (nalgebra's `SymmetricEigen`): real
//! arithmetic throughout, and tiny negative eigenvalues from rounding (singular
//! covariances, fewer images than dimensions) clamp to zero where scipy would need its
//! `eps` offset retry or return a complex result.

use nalgebra::{DMatrix, SymmetricEigen};

use super::{EvalError, Statistics};

/// Symmetric positive semi-definite square root via eigendecomposition, with negative
/// eigenvalues (rounding noise) clamped to zero.
pub fn sqrt_psd(m: &DMatrix<f64>) -> DMatrix<f64> {
    let sym = (m + m.transpose()) * 0.5;
    let eig = SymmetricEigen::new(sym);
    let roots = eig.eigenvalues.map(|v| v.max(0.0).sqrt());
    let v = &eig.eigenvectors;
    v * DMatrix::from_diagonal(&roots) * v.transpose()
}

/// `tr((S1 S2)^½)` computed as `Σ sqrt(λ_i(S1^½ S2 S1^½))`.
pub fn trace_sqrt_product(s1: &DMatrix<f64>, s2: &DMatrix<f64>) -> f64 {
    let a = sqrt_psd(s1);
    let m = &a * s2 * &a;
    let m = (&m + m.transpose()) * 0.5;
    SymmetricEigen::new(m)
        .eigenvalues
        .iter()
        .map(|&v| v.max(0.0).sqrt())
        .sum()
}

/// The Fréchet distance between `N(mu1, sigma1)` and `N(mu2, sigma2)`.
pub fn frechet_distance(a: &Statistics, b: &Statistics) -> Result<f64, EvalError> {
    if a.dims() != b.dims()
        || a.sigma.shape() != (a.dims(), a.dims())
        || b.sigma.shape() != (b.dims(), b.dims())
    {
        return Err(EvalError::Shape(format!(
            "statistics of {} and {} dimensions cannot be compared (use the same --dims on both sides)",
            a.dims(),
            b.dims()
        )));
    }
    let finite = |s: &Statistics| s.mu.iter().chain(s.sigma.iter()).all(|v| v.is_finite());
    if !finite(a) || !finite(b) {
        return Err(EvalError::Shape(
            "statistics contain NaN or infinity".into(),
        ));
    }
    let diff = &a.mu - &b.mu;
    let tr = trace_sqrt_product(&a.sigma, &b.sigma);
    Ok(diff.dot(&diff) + a.sigma.trace() + b.sigma.trace() - 2.0 * tr)
}
