//! pytorch-fid's statistics files: an `.npz` (`np.savez`) holding `mu` (d,) and `sigma`
//! (d, d) as float64, read by pytorch-fid with `np.load(path)['mu']`, `['sigma']`.

use std::io::Cursor;
use std::path::Path;

use nalgebra::{DMatrix, DVector};
use npyz::npz::{NpzArchive, NpzWriter};
use npyz::{DType, TypeStr, WriterBuilder};

use super::{EvalError, Statistics};
use crate::imageio::atomic_write;

fn bad(path: &Path, message: impl ToString) -> EvalError {
    EvalError::StatsFile {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Writes `mu` and `sigma` as float64 arrays in a pytorch-fid-compatible `.npz`, atomically.
pub fn write_stats(path: &Path, stats: &Statistics) -> Result<(), EvalError> {
    let d = stats.dims() as u64;
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    let io = |e: std::io::Error| bad(path, e);
    {
        let mut w = npz
            .array::<f64>("mu", Default::default())
            .map_err(io)?
            .default_dtype()
            .shape(&[d])
            .begin_nd()
            .map_err(io)?;
        w.extend(stats.mu.iter().copied()).map_err(io)?;
        w.finish().map_err(io)?;
    }
    {
        let mut w = npz
            .array::<f64>("sigma", Default::default())
            .map_err(io)?
            .default_dtype()
            .shape(&[d, d])
            .begin_nd()
            .map_err(io)?;
        // Row-major (C order); sigma is symmetric anyway.
        for r in 0..stats.sigma.nrows() {
            w.extend(stats.sigma.row(r).iter().copied()).map_err(io)?;
        }
        w.finish().map_err(io)?;
    }
    let cursor = npz.zip_writer().finish().map_err(|e| bad(path, e))?;
    atomic_write(path, cursor.get_ref()).map_err(|e| bad(path, e))
}

fn read_array(
    archive: &mut NpzArchive<std::io::BufReader<std::fs::File>>,
    path: &Path,
    name: &str,
) -> Result<(Vec<u64>, Vec<f64>), EvalError> {
    let file = archive
        .by_name(name)
        .map_err(|e| bad(path, e))?
        .ok_or_else(|| {
            bad(
                path,
                format!("no '{name}' array: not a pytorch-fid statistics file"),
            )
        })?;
    let shape = file.shape().to_vec();
    let is_f32 = matches!(file.dtype(), DType::Plain(t) if t == "<f4".parse::<TypeStr>().expect("valid type string"));
    let values = if is_f32 {
        let v: Vec<f32> = file.into_vec().map_err(|e| bad(path, e))?;
        v.into_iter().map(f64::from).collect()
    } else {
        file.into_vec::<f64>()
            .map_err(|e| bad(path, format!("'{name}' is not float64 or float32: {e}")))?
    };
    Ok((shape, values))
}

/// Reads `mu` and `sigma` from a `.npz` written by pytorch-fid (`--save-stats`) or toongan.
pub fn read_stats(path: &Path) -> Result<Statistics, EvalError> {
    let mut archive = NpzArchive::open(path).map_err(|e| bad(path, e))?;
    let (mu_shape, mu) = read_array(&mut archive, path, "mu")?;
    let (sigma_shape, sigma) = read_array(&mut archive, path, "sigma")?;
    let d = mu.len();
    if mu_shape.len() != 1 || sigma_shape != [d as u64, d as u64] {
        return Err(bad(
            path,
            format!(
                "mu has shape {mu_shape:?} and sigma {sigma_shape:?}: expected (d,) and (d, d)"
            ),
        ));
    }
    Ok(Statistics {
        mu: DVector::from_vec(mu),
        sigma: DMatrix::from_row_slice(d, d, &sigma),
        count: 0,
    })
}
