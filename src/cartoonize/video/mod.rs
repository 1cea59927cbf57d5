//! Cartoonizing video clips (through the ffmpeg command-line tool) and animated GIFs and WebPs, frame
//! by frame, each frame blended with the previous output moved by the input's global motion
//! (`stabilize`) unless asked for the exact image result of every frame.

mod animation;
mod clip;
mod ffmpeg;
mod flicker;
mod plan;
mod stabilize;

pub use animation::{AnimationFormat, animation_format, cartoonize_animation};
pub use clip::{VideoOptions, VideoSummary, cartoonize_video};
pub use ffmpeg::{VideoInfo, probe};
pub use flicker::Flicker;
pub use plan::{collect_videos_in_folders, plan_video_outputs};
pub use stabilize::BlendOptions;

use std::path::PathBuf;

/// Extensions recognised as video clips when walking folders.
pub const VIDEO_EXTENSIONS: [&str; 9] = [
    "mp4", "mov", "mkv", "webm", "avi", "m4v", "mpg", "mpeg", "ts",
];

/// Whether `path` has a video extension.
pub fn is_video(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// What can go wrong cartoonizing a clip or an animation.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// ffmpeg or ffprobe is not installed.
    #[error(
        "{tool} not found: videos are read and written with the ffmpeg command-line tools; \
         install them (Debian/Ubuntu: `sudo apt-get install ffmpeg`, macOS: `brew install ffmpeg`) \
         or put them on PATH"
    )]
    MissingTool {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
    },
    /// ffprobe or ffmpeg failed on the file.
    #[error("{path}: {message}")]
    Tool {
        /// The file.
        path: PathBuf,
        /// What the tool said.
        message: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The animation could not be decoded or encoded.
    #[error("{path}: {message} (is it a complete animated GIF or WebP?)")]
    Animation {
        /// The file.
        path: PathBuf,
        /// The codec's message.
        message: String,
    },
}
