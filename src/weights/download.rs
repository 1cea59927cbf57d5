//! Downloading weight files: one reused HTTP agent, retries with exponential backoff on
//! 429, 5xx and network errors, a SHA-256 check of every file before it is moved into place
//! (a file with the wrong hash is never kept), and a progress bar in files and bytes.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

/// What a downloaded file must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedHash<'a> {
    /// The full SHA-256, lower-case hex.
    Full(&'a str),
    /// Only a prefix of the SHA-256 is published (torch.hub's check for file names like
    /// `vgg19_bn-c79401a0.pth`, whose full hash toongan could not find published).
    Prefix(&'a str),
}

impl ExpectedHash<'_> {
    /// Whether `actual` (full lower-case hex) satisfies this expectation.
    pub fn matches(&self, actual: &str) -> bool {
        match self {
            ExpectedHash::Full(h) => actual.eq_ignore_ascii_case(h),
            ExpectedHash::Prefix(p) => {
                actual.len() >= p.len() && actual[..p.len()].eq_ignore_ascii_case(p)
            }
        }
    }
}

impl std::fmt::Display for ExpectedHash<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedHash::Full(h) => f.write_str(h),
            ExpectedHash::Prefix(p) => write!(f, "{p}… (prefix)"),
        }
    }
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The server answered with an error status (after the retries, for 429 and 5xx).
    #[error("GET {url}: HTTP {status}")]
    Status {
        /// The address.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The connection failed or broke (after the retries).
    #[error("GET {url}: {message}")]
    Network {
        /// The address.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The bytes received do not hash to the published SHA-256; nothing was kept.
    #[error("{url} has SHA-256 {actual}, expected {expected}: not kept")]
    HashMismatch {
        /// The address.
        url: String,
        /// The hash of what was received.
        actual: String,
        /// The published hash.
        expected: String,
    },
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Retry policy: `retries` more attempts after the first, waiting `backoff`, then twice
/// that, and so on (capped at 60 s); a `Retry-After` header in seconds is honoured instead.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    /// The first wait.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 5,
            backoff: Duration::from_secs(1),
        }
    }
}

/// One HTTP agent reused for every file of a download session, with its progress bar.
pub struct Downloader {
    agent: ureq::Agent,
    retry: RetryPolicy,
    bar: ProgressBar,
    files_done: u64,
    files_total: u64,
    label: String,
}

impl Downloader {
    /// A downloader with connect and read timeouts of 30 s; the progress bar draws on a
    /// terminal's stderr only.
    pub fn new(retry: RetryPolicy) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(30))
            .timeout_read(Duration::from_secs(30))
            .user_agent(concat!("toongan/", env!("CARGO_PKG_VERSION")))
            .build();
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {msg} {bytes}/{total_bytes} {bytes_per_sec} [{elapsed_precise}]",
        ) {
            bar.set_style(style);
        }
        Self {
            agent,
            retry,
            bar,
            files_done: 0,
            files_total: 0,
            label: String::new(),
        }
    }

    /// Starts a group of `files` downloads shown as `label` (e.g. "shinkai").
    pub fn begin(&mut self, label: &str, files: u64) {
        self.label = label.to_string();
        self.files_done = 0;
        self.files_total = files;
        self.bar.set_position(0);
        self.bar.set_length(0);
        self.update_message();
    }

    /// Clears the progress bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn update_message(&self) {
        self.bar.set_message(format!(
            "downloading {}: {}/{} files",
            self.label, self.files_done, self.files_total
        ));
    }

    /// Downloads `url` to `dest`: streamed to a temporary file beside it while hashed, moved
    /// into place only when the hash matches `expected`. Retries 429, 5xx and network errors.
    pub fn fetch(
        &mut self,
        url: &str,
        dest: &Path,
        expected: ExpectedHash<'_>,
    ) -> Result<(), DownloadError> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|source| DownloadError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut attempt = 0;
        loop {
            match self.attempt(url, dest, dir, expected) {
                Ok(()) => break,
                Err((err, retry_after)) if attempt < self.retry.retries => {
                    let Some(wait) = retry_after else {
                        return Err(err);
                    };
                    let backoff = self.retry.backoff.saturating_mul(1 << attempt.min(6));
                    let wait = wait.unwrap_or(backoff).min(Duration::from_secs(60));
                    self.bar
                        .println(format!("{err}; retrying in {:.1} s", wait.as_secs_f32()));
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                Err((err, _)) => return Err(err),
            }
        }
        self.files_done += 1;
        self.update_message();
        Ok(())
    }

    /// One try. On failure, also says whether to retry: `None` no, `Some(None)` after the
    /// backoff, `Some(Some(d))` after the server's `Retry-After`.
    #[allow(clippy::type_complexity)]
    fn attempt(
        &mut self,
        url: &str,
        dest: &Path,
        dir: &Path,
        expected: ExpectedHash<'_>,
    ) -> Result<(), (DownloadError, Option<Option<Duration>>)> {
        let response = match self.agent.get(url).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(status, r)) => {
                let retry = (status == 429 || status >= 500).then(|| {
                    r.header("Retry-After")
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .map(Duration::from_secs)
                });
                let url = url.to_string();
                return Err((DownloadError::Status { url, status }, retry));
            }
            Err(ureq::Error::Transport(t)) => {
                // A name that does not resolve will not resolve in a second either.
                let retry = (t.kind() != ureq::ErrorKind::Dns).then_some(None);
                let err = DownloadError::Network {
                    url: url.to_string(),
                    message: t.to_string(),
                };
                return Err((err, retry));
            }
        };
        if let Some(len) = response
            .header("Content-Length")
            .and_then(|s| s.parse::<u64>().ok())
        {
            self.bar.inc_length(len);
        }
        let write_err = |source| {
            (
                DownloadError::Write {
                    path: dest.to_path_buf(),
                    source,
                },
                None,
            )
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".download-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(write_err)?;
        let mut hasher = Sha256::new();
        let mut reader = response.into_reader();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let err = DownloadError::Network {
                        url: url.to_string(),
                        message: e.to_string(),
                    };
                    return Err((err, Some(None)));
                }
            };
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n]).map_err(write_err)?;
            self.bar.inc(n as u64);
        }
        let actual = hex::encode(hasher.finalize());
        if !expected.matches(&actual) {
            // `tmp` is deleted when dropped: a wrong file is never kept.
            return Err((
                DownloadError::HashMismatch {
                    url: url.to_string(),
                    actual,
                    expected: expected.to_string(),
                },
                None,
            ));
        }
        tmp.as_file().sync_all().map_err(write_err)?;
        tmp.persist(dest).map_err(|e| write_err(e.error))?;
        Ok(())
    }
}

/// SHA-256 of a file on disk, lower-case hex, read in chunks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
