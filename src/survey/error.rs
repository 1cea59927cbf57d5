//! The survey's error type: each variant names the file or input at fault and what to do.

use std::path::PathBuf;

/// Everything that can go wrong creating, storing or serving a survey.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    /// SQLite refused an operation on the survey database.
    #[error(
        "survey database {path}: {source}; check that the file is a toongan survey and that the disk is writable"
    )]
    Db {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is a SQLite database made by something else.
    #[error(
        "{path} is not a toongan survey database (application id {found:#x}); pass a file made by `toongan survey create`"
    )]
    NotASurvey {
        /// The database file.
        path: PathBuf,
        /// The application id found in the file.
        found: i64,
    },
    /// The file was written by a newer toongan with a schema this build does not know.
    #[error(
        "{path} has survey schema version {found} but this toongan knows only up to {known}; upgrade toongan"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Schema version in the file.
        found: i64,
        /// Newest schema version this build knows.
        known: i64,
    },
    /// `create` was pointed at a database that already holds a survey.
    #[error("{path} already exists; choose a new --db file (toongan never overwrites a survey)")]
    AlreadyExists {
        /// The database file.
        path: PathBuf,
    },
    /// `serve` was pointed at a database without a survey in it.
    #[error("{path} holds no survey; run `toongan survey create --db {path} ...` first")]
    NoSurvey {
        /// The database file.
        path: PathBuf,
    },
    /// An input folder or file could not be read or is unusable.
    #[error("{path}: {message}")]
    Input {
        /// The folder or file at fault.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The options given to `create` or `serve` are inconsistent.
    #[error("{0}")]
    Options(String),
    /// The HTTP server could not bind or failed while running.
    #[error("survey server on {bind}: {source}; pick another --bind address or free the port")]
    Serve {
        /// The address asked for.
        bind: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
