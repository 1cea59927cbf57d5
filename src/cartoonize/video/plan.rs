//! Finding clips among the inputs and choosing where their results go, with the same rules
//! as images (`--output` a file for one input, a folder, or `<stem>_<tag>` next to the input).

use std::path::{Path, PathBuf};

use super::is_video;
use crate::cartoonize::InputFile;

/// Video files under the folders in `paths` (recursively, sorted), each with its path
/// relative to that folder. Files given directly are not included (the image collector
/// already returns them).
pub fn collect_videos_in_folders(paths: &[PathBuf]) -> Vec<(PathBuf, PathBuf)> {
    // Files named directly are already among the inputs; only folders are walked here, with
    // the one folder walk (no symlink loops), and a folder that cannot be read adds nothing.
    let folders: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    crate::imageio::collect_files(&folders, is_video)
        .map(|found| found.into_iter().map(|f| (f.path, f.relative)).collect())
        .unwrap_or_default()
}

/// Output extension for a clip: its own where H.264 fits the container, else `mp4`.
pub fn video_output_extension(input: &Path) -> String {
    match input
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    {
        Some(e) if ["mp4", "mov", "mkv", "m4v", "avi", "ts"].contains(&e.as_str()) => e,
        _ => "mp4".into(),
    }
}

/// Output paths of clips: `single_file` when the user named one output file for one input,
/// else under `folder` (relative path kept) or next to the input as `<stem>_<tag>.<ext>`.
pub fn plan_video_outputs(
    videos: &[(PathBuf, PathBuf)],
    single_file: Option<&Path>,
    folder: Option<&Path>,
    tag: &str,
) -> Vec<InputFile> {
    videos
        .iter()
        .map(|(input, rel)| {
            let ext = video_output_extension(input);
            let output = if let Some(f) = single_file {
                f.to_path_buf()
            } else if let Some(dir) = folder {
                dir.join(rel).with_extension(ext)
            } else {
                let stem = input
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("video");
                input.with_file_name(format!("{stem}_{tag}.{ext}"))
            };
            InputFile {
                input: input.clone(),
                output,
            }
        })
        .collect()
}
