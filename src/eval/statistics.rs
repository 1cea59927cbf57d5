//! Feature statistics in f64: the mean vector and the unbiased covariance matrix that FID
//! compares (`np.mean(act, axis=0)`, `np.cov(act, rowvar=False)` in pytorch-fid).

use nalgebra::{DMatrix, DVector};

use super::EvalError;

/// A set of feature vectors, one row per image, stored row-major in f32 as the network
/// produces them.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Number of feature dimensions (columns).
    pub dims: usize,
    /// Row-major values, `rows() * dims` of them.
    pub values: Vec<f32>,
}

impl Features {
    /// Wraps row-major `values` of `dims` columns.
    pub fn new(dims: usize, values: Vec<f32>) -> Result<Self, EvalError> {
        if dims == 0 || !values.len().is_multiple_of(dims) {
            return Err(EvalError::Shape(format!(
                "{} values do not form rows of {dims} features",
                values.len()
            )));
        }
        Ok(Self { dims, values })
    }

    /// Number of feature vectors.
    pub fn rows(&self) -> usize {
        self.values.len() / self.dims
    }

    /// The features as an f64 `rows x dims` matrix.
    pub fn to_matrix(&self) -> DMatrix<f64> {
        DMatrix::from_row_iterator(
            self.rows(),
            self.dims,
            self.values.iter().map(|&v| f64::from(v)),
        )
    }
}

/// Mean and covariance of a feature set: what a pytorch-fid `.npz` holds (`mu`, `sigma`).
#[derive(Debug, Clone, PartialEq)]
pub struct Statistics {
    /// Mean feature vector.
    pub mu: DVector<f64>,
    /// Covariance matrix, normalised by n − 1 like `np.cov`.
    pub sigma: DMatrix<f64>,
    /// How many feature vectors they were computed from (0 when read from a file).
    pub count: usize,
}

impl Statistics {
    /// Computes mean and covariance in f64 (centred two-pass, so large means do not cost
    /// precision). Needs at least two rows for a covariance.
    pub fn from_features(features: &Features) -> Result<Self, EvalError> {
        let n = features.rows();
        if n < 2 {
            return Err(EvalError::TooFewImages {
                found: n,
                needed: 2,
            });
        }
        let x = features.to_matrix();
        let mu = x.row_mean().transpose();
        let mut centred = x;
        for mut row in centred.row_iter_mut() {
            row -= mu.transpose();
        }
        let sigma = centred.transpose() * &centred / (n as f64 - 1.0);
        Ok(Self {
            mu,
            sigma,
            count: n,
        })
    }

    /// Feature dimensionality.
    pub fn dims(&self) -> usize {
        self.mu.len()
    }
}
