//! The four published CartoonGAN styles: where their files live publicly, their SHA-256
//! hashes, and where toongan finds (or downloads) them on this machine.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::cartoongan_npy::published_keys;
use super::download::{Downloader, ExpectedHash, RetryPolicy, sha256_file};
use super::{StyleUnavailable, WeightsError};

/// Public repository commit whose `pretrained_weights/<style>/` folders hold the weights
/// (mnicnc404/CartoonGan-tensorflow; see shared/weights/cartoongan/SOURCES.md).
pub const SOURCE_URL: &str = "https://raw.githubusercontent.com/mnicnc404/CartoonGan-tensorflow/2f26a525f8b604b8e98fb84ebad0af5aef727944/style_transfer/cartoongan/pretrained_weights";

/// `sha256sum` lines for every published file, `<hash>  <style>/<key>.npy`.
const SHA256SUMS: &str = include_str!("cartoongan.sha256");

pub use super::pretrained::WEIGHTS_DIR_ENV;

/// One of the four published CartoonGAN styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// Hayao Miyazaki (Spirited Away).
    Hayao,
    /// Mamoru Hosoda (Wolf Children).
    Hosoda,
    /// Satoshi Kon (Paprika).
    Paprika,
    /// Makoto Shinkai (Your Name).
    Shinkai,
}

impl Style {
    /// All styles, in alphabetical order.
    pub const ALL: [Style; 4] = [Style::Hayao, Style::Hosoda, Style::Paprika, Style::Shinkai];

    /// The folder name, lower case.
    pub fn name(&self) -> &'static str {
        match self {
            Style::Hayao => "hayao",
            Style::Hosoda => "hosoda",
            Style::Paprika => "paprika",
            Style::Shinkai => "shinkai",
        }
    }
}

impl FromStr for Style {
    type Err = WeightsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Style::ALL
            .into_iter()
            .find(|st| st.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| WeightsError::UnknownStyle(s.to_string()))
    }
}

impl std::fmt::Display for Style {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Finds a style's weights: an explicit folder first, then the user cache, then a download
/// into the cache. Every file is checked against its published SHA-256; a cached style
/// counts as present only when all its files are there and verify, and a partial download
/// continues where it stopped.
#[derive(Debug, Clone)]
pub struct StyleRegistry {
    /// Folder given by `--weights-dir` or `$TOONGAN_WEIGHTS_DIR`, holding `<style>/` folders.
    pub weights_dir: Option<PathBuf>,
    /// Cache folder (default: the user cache folder + `toongan/cartoongan`).
    pub cache_dir: Option<PathBuf>,
    /// Whether a missing style may be downloaded into the cache.
    pub allow_download: bool,
    /// Base address under which `<style>/<key>.npy` are found (`--weights-url`,
    /// `$TOONGAN_WEIGHTS_URL`; default `SOURCE_URL`).
    pub base_url: String,
    /// Retries and backoff of the downloads.
    pub retry: RetryPolicy,
}

/// Environment variable naming a mirror of [`SOURCE_URL`].
pub const WEIGHTS_URL_ENV: &str = "TOONGAN_WEIGHTS_URL";

/// The repository page (at the pinned commit) a person can open to see a style's files.
pub const TREE_URL: &str = "https://github.com/mnicnc404/CartoonGan-tensorflow/tree/2f26a525f8b604b8e98fb84ebad0af5aef727944/style_transfer/cartoongan/pretrained_weights";

impl Default for StyleRegistry {
    fn default() -> Self {
        Self {
            weights_dir: std::env::var_os(WEIGHTS_DIR_ENV)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            cache_dir: dirs::cache_dir().map(|d| d.join("toongan").join("cartoongan")),
            allow_download: !super::pretrained::offline(),
            base_url: std::env::var(WEIGHTS_URL_ENV)
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| SOURCE_URL.to_string()),
            retry: RetryPolicy::default(),
        }
    }
}

/// How much of a style a folder holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StyleStatus {
    /// No file of the style.
    Absent,
    /// Some files are missing (`present` of `total` there, unverified).
    Partial {
        /// Files there.
        present: usize,
        /// Files the style has.
        total: usize,
    },
    /// Every file is there; `bad` names those whose hash is wrong (empty: verified).
    Complete {
        /// Files with a wrong SHA-256.
        bad: Vec<String>,
    },
}

impl StyleRegistry {
    /// The published SHA-256 of `<style>/<key>.npy`.
    pub fn expected_sha256(style: Style, key: &str) -> Option<&'static str> {
        let want = format!("{}/{key}.npy", style.name());
        SHA256SUMS.lines().find_map(|line| {
            let (hash, file) = line.split_once("  ")?;
            (file == want).then_some(hash)
        })
    }

    /// The public URL of one file.
    pub fn url(style: Style, key: &str) -> String {
        format!("{SOURCE_URL}/{}/{key}.npy", style.name())
    }

    /// The repository page of a style's folder, at the pinned commit.
    pub fn tree_url(style: Style) -> String {
        format!("{TREE_URL}/{}", style.name())
    }

    /// Where one file is downloaded from: [`Self::base_url`]`/<style>/<key>.npy`.
    pub fn download_url(&self, style: Style, key: &str) -> String {
        format!(
            "{}/{}/{key}.npy",
            self.base_url.trim_end_matches('/'),
            style.name()
        )
    }

    /// The folders searched for `style`, in order.
    pub fn candidates(&self, style: Style) -> Vec<PathBuf> {
        [&self.weights_dir, &self.cache_dir]
            .into_iter()
            .flatten()
            .map(|d| d.join(style.name()))
            .collect()
    }

    /// Returns a folder holding all of the style's files, each verified; downloads into the
    /// cache (only the files not already there and verified) if no searched folder has them.
    ///
    /// A style folder under `--weights-dir` that exists but is incomplete or corrupt is an
    /// error naming the file (it was named on purpose); one in the cache is completed.
    pub fn locate(&self, style: Style) -> Result<PathBuf, WeightsError> {
        if let Some(dir) = self.weights_dir.as_ref().map(|d| d.join(style.name()))
            && dir.is_dir()
        {
            if let StyleStatus::Partial { present, total } = style_status(style, &dir) {
                return Err(WeightsError::IncompleteStyle {
                    dir,
                    present,
                    total,
                    url: Self::tree_url(style),
                });
            }
            verify_style_dir(style, &dir)?;
            return Ok(dir);
        }
        let candidates = self.candidates(style);
        let searched = if candidates.is_empty() {
            "no folder (no --weights-dir, $TOONGAN_WEIGHTS_DIR or cache folder)".to_string()
        } else {
            candidates
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let unavailable = |cause: String, target: &Path| {
            WeightsError::Unavailable(Box::new(StyleUnavailable {
                style: style.name().to_string(),
                searched: searched.clone(),
                cause,
                n: published_keys().len(),
                url_dir: Self::tree_url(style),
                target: target.display().to_string(),
            }))
        };
        let Some(cache) = &self.cache_dir else {
            return Err(unavailable(
                "no cache folder".into(),
                Path::new("<style folder>"),
            ));
        };
        let target = cache.join(style.name());
        if style_status(style, &target) == (StyleStatus::Complete { bad: vec![] }) {
            return Ok(target);
        }
        if !self.allow_download {
            let cause = match style_status(style, &target) {
                StyleStatus::Partial { present, total } => format!(
                    "the cache holds {present} of its {total} files and downloads are disabled \
                     (--offline)"
                ),
                StyleStatus::Complete { bad } => format!(
                    "{} cached files have a wrong SHA-256 ({}) and downloads are disabled \
                     (--offline)",
                    bad.len(),
                    bad.join(", ")
                ),
                StyleStatus::Absent => "downloads are disabled (--offline)".into(),
            };
            return Err(unavailable(cause, &target));
        }
        let mut downloader = Downloader::new(self.retry);
        let result = self.download_into(style, &target, &mut downloader);
        downloader.finish();
        result.map_err(|cause| unavailable(cause, &target))?;
        Ok(target)
    }

    /// Downloads the files of `style` that `target` does not already hold verified.
    pub fn download_into(
        &self,
        style: Style,
        target: &Path,
        downloader: &mut Downloader,
    ) -> Result<(), String> {
        let keys = published_keys();
        let missing: Vec<String> = keys
            .into_iter()
            .filter(|key| !file_verifies(style, key, &target.join(format!("{key}.npy"))))
            .collect();
        downloader.begin(style.name(), missing.len() as u64);
        for key in &missing {
            let expected = Self::expected_sha256(style, key)
                .ok_or_else(|| format!("no published hash for {style}/{key}.npy"))?;
            let url = self.download_url(style, key);
            downloader
                .fetch(
                    &url,
                    &target.join(format!("{key}.npy")),
                    ExpectedHash::Full(expected),
                )
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Whether `path` exists and has the published hash of `<style>/<key>.npy`.
fn file_verifies(style: Style, key: &str, path: &Path) -> bool {
    let Some(expected) = StyleRegistry::expected_sha256(style, key) else {
        return false;
    };
    sha256_file(path).is_ok_and(|actual| actual == expected)
}

/// How much of `style` the folder `dir` holds, every present file hashed when all are there.
pub fn style_status(style: Style, dir: &Path) -> StyleStatus {
    let keys = published_keys();
    let total = keys.len();
    let present = keys
        .iter()
        .filter(|k| dir.join(format!("{k}.npy")).is_file())
        .count();
    if present == 0 {
        return StyleStatus::Absent;
    }
    if present < total {
        return StyleStatus::Partial { present, total };
    }
    let bad = keys
        .into_iter()
        .filter(|k| !file_verifies(style, k, &dir.join(format!("{k}.npy"))))
        .map(|k| format!("{k}.npy"))
        .collect();
    StyleStatus::Complete { bad }
}

/// Checks every file of a style folder against the published hashes.
pub fn verify_style_dir(style: Style, dir: &Path) -> Result<(), WeightsError> {
    for key in published_keys() {
        let path = dir.join(format!("{key}.npy"));
        let actual = sha256_file(&path).map_err(|source| WeightsError::Io {
            path: path.clone(),
            source,
        })?;
        let expected = StyleRegistry::expected_sha256(style, &key).unwrap_or("?");
        if actual != expected {
            return Err(WeightsError::HashMismatch {
                path,
                actual,
                expected: expected.to_string(),
                url: StyleRegistry::tree_url(style),
            });
        }
    }
    Ok(())
}
