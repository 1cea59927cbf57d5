//! The studio's error type: each variant says what was wrong with the request or the setup
//! and what to do; [`StudioError::status`] maps it to the HTTP status the API answers.

use std::path::PathBuf;

/// Everything that can go wrong serving the studio or running one of its jobs.
#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    /// The upload is not a decodable image.
    #[error(
        "the upload is not a decodable image: {0} (send a complete PNG, JPEG, WebP, BMP, TIFF or GIF file)"
    )]
    Corrupt(String),
    /// The upload decodes to more pixels than the studio accepts.
    #[error(
        "the image is {width}x{height} = {pixels} pixels, more than the {max} this studio accepts; downscale it or start the studio with a larger --max-megapixels"
    )]
    TooManyPixels {
        /// Width from the file header.
        width: u32,
        /// Height from the file header.
        height: u32,
        /// width x height.
        pixels: u64,
        /// The limit.
        max: u64,
    },
    /// No style or run by that name.
    #[error("{0}")]
    UnknownModel(String),
    /// No run, file or result by that id.
    #[error("{0}")]
    NotFound(String),
    /// A request parameter is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The queue already holds as many jobs as it may.
    #[error("{0} jobs are waiting already; try again in a moment")]
    QueueFull(usize),
    /// A job ran past the time limit.
    #[error("the job took longer than {0} s and was stopped; try a smaller image")]
    Timeout(u64),
    /// A generator could not be loaded.
    #[error("cannot load the generator: {0}")]
    Model(String),
    /// Reading or writing the studio's temporary files failed.
    #[error("{path}: {message}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The options are inconsistent (bind address, token, limits).
    #[error("{0}")]
    Options(String),
    /// The HTTP server could not bind or failed while running.
    #[error("studio server on {bind}: {source}; pick another --bind address or free the port")]
    Serve {
        /// The address asked for.
        bind: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl StudioError {
    /// The HTTP status the API answers for this error.
    pub fn status(&self) -> u16 {
        match self {
            StudioError::Corrupt(_) => 422,
            StudioError::TooManyPixels { .. } => 413,
            StudioError::UnknownModel(_) | StudioError::NotFound(_) => 404,
            StudioError::BadRequest(_) => 400,
            StudioError::QueueFull(_) => 503,
            StudioError::Timeout(_) => 504,
            StudioError::Model(_)
            | StudioError::Io { .. }
            | StudioError::Options(_)
            | StudioError::Serve { .. } => 500,
        }
    }

    pub(crate) fn io(path: &std::path::Path, e: impl ToString) -> Self {
        StudioError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}
