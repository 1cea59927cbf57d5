//! Gathering image files from the files and folders a user names: one walk for every command
//! that takes folders (cartoonize, smooth, train data, survey create, experiment test sets).
//!
//! Folders are walked with `walkdir`, following symlinks but never into a folder that is
//! already being walked (a `loop -> .` link is skipped with a warning instead of repeating the
//! tree forever), and a file reached twice through links is listed once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::ImageIoError;

/// Extensions recognised as images when walking folders (lower case).
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"];

/// Whether `path`'s extension is one of [`IMAGE_EXTENSIONS`] (any case).
pub fn is_image(path: &Path) -> bool {
    has_extension(path, &IMAGE_EXTENSIONS)
}

/// Whether `path`'s extension, lower-cased, is one of `extensions`.
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
}

/// A file found by [`collect_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    /// The file, as reached (the named folder joined with the relative path).
    pub path: PathBuf,
    /// Its path relative to the folder it was found in (the bare file name for a file named
    /// directly).
    pub relative: PathBuf,
    /// Whether it was found by walking a folder (false: named directly).
    pub walked: bool,
}

/// Expands `paths` into files: a file is taken as is, whatever its name; a folder is walked
/// recursively (sorted by name) for files that `accept` keeps. Symlinks are followed, except
/// one that leads back into a folder being walked (reported on stderr and skipped); a file
/// reached twice (through a link) is listed once.
pub fn collect_files(
    paths: &[PathBuf],
    accept: impl Fn(&Path) -> bool,
) -> Result<Vec<FoundFile>, ImageIoError> {
    let mut found = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ImageIoError::Read {
            path: path.clone(),
            source,
        })?;
        if !meta.is_dir() {
            let name = path
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| path.clone());
            found.push(FoundFile {
                path: path.clone(),
                relative: name,
                walked: false,
            });
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walk {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if e.depth() == 0 => {
                    let source = e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("cannot walk the folder"));
                    return Err(ImageIoError::Read {
                        path: path.clone(),
                        source,
                    });
                }
                Err(e) => {
                    // A link back into the walk, a broken link or an unreadable folder: that
                    // entry is skipped, the rest of the walk goes on.
                    let at = e.path().unwrap_or(path.as_path()).display().to_string();
                    match e.loop_ancestor() {
                        Some(ancestor) => eprintln!(
                            "warning: not following {at}: it links back into {}, which is already being walked",
                            ancestor.display()
                        ),
                        None => eprintln!("warning: skipping {at}: {e}"),
                    }
                    continue;
                }
            };
            let p = entry.path();
            if entry.file_type().is_dir() || !accept(p) {
                continue;
            }
            // The same file reached through a second link is one input, not two.
            if let Ok(real) = std::fs::canonicalize(p)
                && !seen.insert(real)
            {
                continue;
            }
            found.push(FoundFile {
                path: p.to_path_buf(),
                relative: p.strip_prefix(path).unwrap_or(p).to_path_buf(),
                walked: true,
            });
        }
    }
    Ok(found)
}

/// [`collect_files`] for images ([`is_image`]), as `(file, relative path)` pairs.
pub fn collect_images(paths: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, ImageIoError> {
    Ok(collect_files(paths, is_image)?
        .into_iter()
        .map(|f| (f.path, f.relative))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.jpg"), b"x").unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("loop")).unwrap();
        std::os::unix::fs::symlink("..", dir.path().join("sub/up")).unwrap();
        let found = collect_images(&[dir.path().to_path_buf()]).unwrap();
        let rel: Vec<_> = found.iter().map(|(_, r)| r.clone()).collect();
        assert_eq!(rel, [PathBuf::from("a.png"), PathBuf::from("sub/b.jpg")]);
    }

    #[test]
    fn named_files_are_taken_whatever_their_extension() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("photo.data");
        std::fs::write(&f, b"x").unwrap();
        let found = collect_files(std::slice::from_ref(&f), is_image).unwrap();
        assert_eq!(found.len(), 1);
        assert!(!found[0].walked);
    }
}
