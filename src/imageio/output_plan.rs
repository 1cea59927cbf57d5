//! Checking a batch's planned outputs once, before any work: no two inputs may be written to
//! the same file, and no output may be one of the inputs. Shared by `cartoonize` and `smooth`.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use super::ImageIoError;

/// `path` made absolute and lexically normalised (`.` and `..` resolved), with its folder
/// resolved through symlinks when it exists, so two spellings of one file compare equal.
fn identity(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    match (out.parent(), out.file_name()) {
        (Some(dir), Some(name)) => match std::fs::canonicalize(dir) {
            Ok(real_dir) => real_dir.join(name),
            Err(_) => out.clone(),
        },
        _ => out,
    }
}

/// Checks `(input, output)` pairs: two inputs with one output, or an output that is an
/// input, is an error naming the files (nothing has been written yet).
pub fn check_outputs<'a>(
    jobs: impl IntoIterator<Item = (&'a Path, &'a Path)>,
) -> Result<(), ImageIoError> {
    let jobs: Vec<(&Path, &Path)> = jobs.into_iter().collect();
    let inputs: HashMap<PathBuf, &Path> = jobs.iter().map(|(i, _)| (identity(i), *i)).collect();
    let mut outputs: HashMap<PathBuf, &Path> = HashMap::new();
    for (input, output) in &jobs {
        let id = identity(output);
        if inputs.contains_key(&id) {
            return Err(ImageIoError::OutputIsInput {
                output: output.to_path_buf(),
            });
        }
        if let Some(first) = outputs.insert(id, input) {
            return Err(ImageIoError::OutputCollision {
                first: first.to_path_buf(),
                second: input.to_path_buf(),
                output: output.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_spellings_of_one_output_collide() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let a = d.join("a.png");
        let b = d.join("b.png");
        let o1 = d.join("out/x.png");
        let o2 = d.join("out/../out/./x.png");
        let err = check_outputs([(a.as_path(), o1.as_path()), (b.as_path(), o2.as_path())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.png") && err.contains("b.png"), "{err}");
    }

    #[test]
    fn an_output_that_is_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        std::fs::write(&a, b"x").unwrap();
        let err = check_outputs([(a.as_path(), a.as_path())]).unwrap_err();
        assert!(matches!(err, ImageIoError::OutputIsInput { .. }));
    }
}
