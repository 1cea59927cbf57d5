//! Which files a cartoonize batch takes from the folders it is given: images, but never the
//! outputs of an earlier run (`<name>_<style>.<ext>` beside the photos when cartoonizing in
//! place, or anything under the `--output` folder when it lies inside an input folder), so
//! cartoonizing a folder twice does not cartoonize the cartoons.

use std::path::{Path, PathBuf};

use crate::imageio::{ImageIoError, collect_files, is_image};

/// Whether `path`'s stem ends with `_<tag>` for one of `tags` (an earlier in-place output).
pub fn is_earlier_output(path: &Path, tags: &[&str]) -> bool {
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
        return false;
    };
    tags.iter().any(|tag| {
        stem.strip_suffix(tag)
            .is_some_and(|rest| rest.ends_with('_') && rest.len() > 1)
    })
}

/// Collects the images under `paths` for a batch whose outputs go to `output` (or in place,
/// tagged with each of `tags`): [`crate::imageio::collect_images`] less the earlier outputs.
/// Files named directly are always taken; only folder walks skip earlier outputs.
pub fn collect_batch_inputs(
    paths: &[PathBuf],
    output: Option<&Path>,
    tags: &[&str],
) -> Result<Vec<(PathBuf, PathBuf)>, ImageIoError> {
    let output_dir = output
        .filter(|o| o.is_dir())
        .and_then(|o| std::fs::canonicalize(o).ok());
    let accept = |p: &Path| {
        if !is_image(p) {
            return false;
        }
        match &output_dir {
            Some(dir) => !std::fs::canonicalize(p).is_ok_and(|real| real.starts_with(dir)),
            None => output.is_some() || !is_earlier_output(p, tags),
        }
    };
    Ok(collect_files(paths, accept)?
        .into_iter()
        .map(|f| (f.path, f.relative))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_outputs_are_recognised_by_their_tag() {
        assert!(is_earlier_output(
            Path::new("d/cat_shinkai.png"),
            &["shinkai"]
        ));
        assert!(!is_earlier_output(
            Path::new("d/cat_shinkai.png"),
            &["hayao"]
        ));
        assert!(!is_earlier_output(Path::new("d/shinkai.png"), &["shinkai"]));
        assert!(!is_earlier_output(
            Path::new("d/catshinkai.png"),
            &["shinkai"]
        ));
    }
}
