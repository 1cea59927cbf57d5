//! The ffmpeg and ffprobe command-line tools: probing a clip, and the decoder and encoder
//! processes whose raw RGB frames are piped through toongan (no frame files on disk).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::VideoError;

/// What toongan needs to know about a clip.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// Frame rate as ffmpeg writes it (`30000/1001`).
    pub frame_rate: String,
    /// Frame count from the container, when it states one.
    pub frames: Option<usize>,
    /// Whether the clip has at least one audio stream.
    pub has_audio: bool,
}

/// Runs `tool --version` and reports a missing tool with how to install it.
pub fn check_tool(tool: &'static str) -> Result<(), VideoError> {
    match Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Ok(()),
        Err(_) => Err(VideoError::MissingTool { tool }),
    }
}

fn tool_error(path: &Path, message: impl Into<String>) -> VideoError {
    VideoError::Tool {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads the first video stream's size, frame rate and frame count and whether there is audio.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    check_tool("ffprobe")?;
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(path)
        .output()
        .map_err(|source| VideoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        return Err(tool_error(
            path,
            format!(
                "ffprobe cannot read it: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| tool_error(path, format!("unreadable ffprobe output: {e}")))?;
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .ok_or_else(|| tool_error(path, "no video stream"))?;
    let dim = |k: &str| {
        video[k]
            .as_u64()
            .filter(|&v| v > 0)
            .map(|v| v as usize)
            .ok_or_else(|| tool_error(path, format!("video stream without a {k}")))
    };
    let rate = video["r_frame_rate"]
        .as_str()
        .filter(|r| !r.starts_with('0'))
        .or_else(|| video["avg_frame_rate"].as_str())
        .unwrap_or("25/1")
        .to_string();
    Ok(VideoInfo {
        width: dim("width")?,
        height: dim("height")?,
        frame_rate: rate,
        frames: video["nb_frames"].as_str().and_then(|n| n.parse().ok()),
        has_audio: streams.iter().any(|s| s["codec_type"] == "audio"),
    })
}

/// Starts ffmpeg decoding `path`'s first video stream to raw RGB24 frames on its stdout,
/// one output frame per decoded frame (no frames dropped or duplicated).
pub fn spawn_decoder(path: &Path) -> Result<Child, VideoError> {
    check_tool("ffmpeg")?;
    Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args([
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| VideoError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Starts ffmpeg encoding raw RGB24 frames from its stdin into `output` (H.264 at `crf`, the
/// container from `output`'s extension), copying the audio streams of `audio_from`.
pub fn spawn_encoder(
    output: &Path,
    info: &VideoInfo,
    crf: u8,
    audio_from: Option<&Path>,
) -> Result<Child, VideoError> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
    ])
    .args(["-s", &format!("{}x{}", info.width, info.height)])
    .args(["-framerate", &info.frame_rate, "-i", "-"]);
    if let Some(a) = audio_from {
        cmd.arg("-i")
            .arg(a)
            .args(["-map", "0:v:0", "-map", "1:a?", "-c:a", "copy"]);
    }
    // 4:2:0 chroma needs even sides; odd-sized clips keep full chroma.
    let even = info.width.is_multiple_of(2) && info.height.is_multiple_of(2);
    cmd.args([
        "-c:v",
        "libx264",
        "-crf",
        &crf.to_string(),
        "-preset",
        "medium",
    ])
    .args(["-pix_fmt", if even { "yuv420p" } else { "yuv444p" }])
    .arg(output)
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd.spawn().map_err(|source| VideoError::Io {
        path: output.to_path_buf(),
        source,
    })
}

/// A sibling of `output` to write to before renaming: same folder (so the rename is atomic)
/// and same extension (so ffmpeg picks the same container).
pub fn partial_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into());
    output
        .with_file_name(format!(".{name}.partial.{}", std::process::id()))
        .with_extension(
            output
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_else(|| "mp4".into()),
        )
}
