//! Reading single `.npy` arrays (NumPy format 1.0/2.0) as float32.

use std::path::Path;

use super::WeightsError;

/// A float32 array read from a `.npy` file, in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Elements in C (row-major) order.
    pub data: Vec<f32>,
}

/// Reads a `.npy` file holding float32 (or float64, converted) values.
pub fn read_npy(path: &Path) -> Result<NpyArray, WeightsError> {
    let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_npy(&bytes).map_err(|message| WeightsError::BadArray {
        path: path.to_path_buf(),
        message,
    })
}

/// Parses the bytes of a `.npy` file.
pub fn parse_npy(bytes: &[u8]) -> Result<NpyArray, String> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a .npy file: {e}"))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let fortran = npy.order() == npyz::Order::Fortran;
    let dtype = npy.dtype();
    let data: Vec<f32> = match dtype.descr().trim_matches(|c| c == '\'' || c == '"') {
        "<f4" => npy.into_vec::<f32>().map_err(|e| e.to_string())?,
        "<f8" => npy
            .into_vec::<f64>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        other => return Err(format!("dtype {other} is not float32 or float64")),
    };
    if fortran && shape.len() > 1 {
        return Err("Fortran-ordered arrays are not supported".to_string());
    }
    Ok(NpyArray { shape, data })
}
