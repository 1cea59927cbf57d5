//! The four published CartoonGAN styles: where their files live publicly, their SHA-256
//! hashes, and where toongan finds (or downloads) them on this machine.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::cartoongan_npy::published_keys;
use super::{StyleUnavailable, WeightsError};

/// Public repository commit whose `pretrained_weights/<style>/` folders hold the weights
/// (mnicnc404/CartoonGan-tensorflow; see shared/weights/cartoongan/SOURCES.md).
pub const SOURCE_URL: &str = "https://raw.githubusercontent.com/mnicnc404/CartoonGan-tensorflow/2f26a525f8b604b8e98fb84ebad0af5aef727944/style_transfer/cartoongan/pretrained_weights";

/// `sha256sum` lines for every published file, `<hash>  <style>/<key>.npy`.
const SHA256SUMS: &str = include_str!("cartoongan.sha256");

/// Environment variable naming a folder that holds `<style>/` weight folders.
pub const WEIGHTS_DIR_ENV: &str = "TOONGAN_WEIGHTS_DIR";

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
/// into the cache. Every file is checked against its published SHA-256.
#[derive(Debug, Clone)]
pub struct StyleRegistry {
    /// Folder given by `--weights-dir` or `$TOONGAN_WEIGHTS_DIR`, holding `<style>/` folders.
    pub weights_dir: Option<PathBuf>,
    /// Cache folder (default: the user cache folder + `toongan/cartoongan`).
    pub cache_dir: Option<PathBuf>,
    /// Whether a missing style may be downloaded into the cache.
    pub allow_download: bool,
}

impl Default for StyleRegistry {
    fn default() -> Self {
        Self {
            weights_dir: std::env::var_os(WEIGHTS_DIR_ENV).map(PathBuf::from),
            cache_dir: dirs::cache_dir().map(|d| d.join("toongan").join("cartoongan")),
            allow_download: true,
        }
    }
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

    /// Returns a folder holding all of the style's files, each verified; downloads into the
    /// cache if no searched folder has them.
    pub fn locate(&self, style: Style) -> Result<PathBuf, WeightsError> {
        let candidates: Vec<PathBuf> = [&self.weights_dir, &self.cache_dir]
            .into_iter()
            .flatten()
            .map(|d| d.join(style.name()))
            .collect();
        for dir in &candidates {
            if dir.join("conv01_1.weight.npy").exists() {
                verify_style_dir(style, dir)?;
                return Ok(dir.clone());
            }
        }
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
                url_dir: format!("{SOURCE_URL}/{}/", style.name()),
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
        if !self.allow_download {
            return Err(unavailable("downloads are disabled".into(), &target));
        }
        download_style(style, &target).map_err(|cause| unavailable(cause, &target))?;
        Ok(target)
    }
}

/// Checks every file of a style folder against the published hashes.
pub fn verify_style_dir(style: Style, dir: &Path) -> Result<(), WeightsError> {
    for key in published_keys() {
        let path = dir.join(format!("{key}.npy"));
        let bytes = std::fs::read(&path).map_err(|source| WeightsError::Io {
            path: path.clone(),
            source,
        })?;
        let actual = hex::encode(Sha256::digest(&bytes));
        let expected = StyleRegistry::expected_sha256(style, &key).unwrap_or("?");
        if actual != expected {
            return Err(WeightsError::HashMismatch {
                path,
                actual,
                expected: expected.to_string(),
                url: StyleRegistry::url(style, &key),
            });
        }
    }
    Ok(())
}

/// Downloads a style into `target`, verifying each file before it is moved into place.
fn download_style(style: Style, target: &Path) -> Result<(), String> {
    std::fs::create_dir_all(target)
        .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    for key in published_keys() {
        let path = target.join(format!("{key}.npy"));
        if path.exists() {
            continue;
        }
        let url = StyleRegistry::url(style, &key);
        let response = ureq::get(&url)
            .timeout(std::time::Duration::from_secs(60))
            .call()
            .map_err(|e| format!("GET {url}: {e}"))?;
        let mut bytes = Vec::new();
        response
            .into_reader()
            .take(64 << 20)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("GET {url}: {e}"))?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if Some(actual.as_str()) != StyleRegistry::expected_sha256(style, &key) {
            return Err(format!("{url} has an unexpected SHA-256 ({actual})"));
        }
        crate::imageio::atomic_write(&path, &bytes).map_err(|e| e.to_string())?;
    }
    Ok(())
}
