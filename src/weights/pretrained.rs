//! The pretrained networks toongan uses but does not train: torchvision's VGG19 (content
//! loss) and ResNets (improved content loss), and pytorch-fid's Inception (FID, KID).
//!
//! Each is found first where PyTorch users already have it (`$TORCH_HOME/hub/checkpoints`,
//! default `~/.cache/torch/hub/checkpoints`, as `torch.hub` keeps it), then in toongan's cache
//! and `$TOONGAN_WEIGHTS_DIR`, and otherwise downloaded into toongan's cache on first use,
//! unless offline. Every file is verified before use: by its full SHA-256 where one is
//! published, else (only `vgg19_bn`) by the hash prefix in its file name, as `torch.hub`'s
//! `check_hash` does.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use super::WeightsError;
use super::download::{Downloader, ExpectedHash, RetryPolicy, sha256_file};

/// File name of the published FID Inception weights (pytorch-fid's).
pub const FID_WEIGHTS_FILE: &str = "pt_inception-2015-12-05-6726825d.pth";

/// Where pytorch-fid downloads them from (its `FID_WEIGHTS_URL`).
pub const FID_WEIGHTS_URL: &str = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth";

/// Environment variable naming a folder that holds `<style>/` weight folders (and, for the
/// pretrained networks, their files).
pub const WEIGHTS_DIR_ENV: &str = "TOONGAN_WEIGHTS_DIR";

/// Environment variable that, set to anything but "" or "0", forbids every download.
pub const OFFLINE_ENV: &str = "TOONGAN_OFFLINE";

static OFFLINE: AtomicBool = AtomicBool::new(false);

/// Forbids (or allows again) every download in this process (`--offline`).
pub fn set_offline(offline: bool) {
    OFFLINE.store(offline, Ordering::SeqCst);
}

/// Whether downloads are forbidden: [`set_offline`] or `$TOONGAN_OFFLINE`.
pub fn offline() -> bool {
    OFFLINE.load(Ordering::SeqCst)
        || std::env::var(OFFLINE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// One downloadable network file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PretrainedNet {
    /// Registry name: `vgg19`, `vgg19_bn`, `resnet18` ... `resnet101`, `fid_inception`.
    pub name: String,
    /// File name, as the publisher and `torch.hub` name it (hash prefix included).
    pub file: String,
    /// Public download address.
    pub url: String,
    /// Full SHA-256, lower-case hex, when a published value is known.
    pub sha256: Option<String>,
    /// Size in bytes, when known.
    pub bytes: Option<u64>,
    /// What toongan uses it for.
    pub purpose: String,
}

impl PretrainedNet {
    /// What the file must hash to: the full SHA-256, else the prefix in the file name
    /// (`name-<prefix>.pth`, as `torch.hub`'s `HASH_REGEX`).
    pub fn expected(&self) -> ExpectedHash<'_> {
        match &self.sha256 {
            Some(h) => ExpectedHash::Full(h),
            None => ExpectedHash::Prefix(file_hash_prefix(&self.file)),
        }
    }
}

/// The hex digits between the last `-` and the first `.` of a file name ("" if none).
fn file_hash_prefix(file: &str) -> &str {
    let stem = file.split('.').next().unwrap_or("");
    stem.rsplit_once('-').map(|(_, h)| h).unwrap_or("")
}

const TORCHVISION: &str = "https://download.pytorch.org/models";

/// toongan's registry. Full SHA-256s are the values recorded by independent public
/// projects that pin these exact files (each begins with the prefix in the file name, which
/// torchvision and pytorch-fid derive from it). No full hash of `vgg19_bn-c79401a0.pth` could
/// be found published, so it is checked by its 8-digit prefix only, as `torch.hub` does.
fn builtin() -> Vec<PretrainedNet> {
    let tv = |name: &str, file: &str, sha: Option<&str>, bytes: Option<u64>, purpose: &str| {
        PretrainedNet {
            name: name.into(),
            file: file.into(),
            url: format!("{TORCHVISION}/{file}"),
            sha256: sha.map(str::to_string),
            bytes,
            purpose: purpose.into(),
        }
    };
    vec![
        tv(
            "vgg19",
            "vgg19-dcbb9e9d.pth",
            Some("dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44"),
            Some(574_673_361),
            "CartoonGAN content loss (torchvision VGG19, IMAGENET1K_V1)",
        ),
        tv(
            "vgg19_bn",
            "vgg19_bn-c79401a0.pth",
            None,
            None,
            "content loss with network = vgg19_bn (torchvision VGG19-BN, IMAGENET1K_V1)",
        ),
        tv(
            "resnet18",
            "resnet18-f37072fd.pth",
            Some("f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec"),
            Some(46_830_571),
            "improved content loss (torchvision ResNet-18, IMAGENET1K_V1)",
        ),
        tv(
            "resnet34",
            "resnet34-b627a593.pth",
            Some("b627a593bcbe140c234610266fe4f8ae95ea42fc881d091c9b6052e6b1d0590f"),
            None,
            "improved content loss (torchvision ResNet-34, IMAGENET1K_V1)",
        ),
        tv(
            "resnet50",
            "resnet50-0676ba61.pth",
            Some("0676ba61b6795bbe1773cffd859882e5e297624d384b6993f7c9e683e722fb8a"),
            None,
            "improved content loss (torchvision ResNet-50, IMAGENET1K_V1)",
        ),
        tv(
            "resnet101",
            "resnet101-63fe2227.pth",
            Some("63fe2227b86e8f1f2063f43a75c84d195911b6a0eace650907dd3dc62dd49a0a"),
            None,
            "improved content loss (torchvision ResNet-101, IMAGENET1K_V1)",
        ),
        PretrainedNet {
            name: "fid_inception".into(),
            file: FID_WEIGHTS_FILE.into(),
            url: FID_WEIGHTS_URL.into(),
            sha256: Some("6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2".into()),
            bytes: Some(95_628_359),
            purpose: "FID and KID (pytorch-fid's Inception, FID_WEIGHTS_URL)".into(),
        },
    ]
}

/// Where a network's file was found and whether it verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetStatus {
    /// Not in any searched folder.
    Absent,
    /// Found and verified.
    Verified(PathBuf),
    /// Found but its hash is wrong (the hash it has).
    Corrupt(PathBuf, String),
}

/// Finds, verifies and downloads pretrained network files.
#[derive(Debug, Clone)]
pub struct PretrainedRegistry {
    /// The networks known.
    pub nets: Vec<PretrainedNet>,
    /// Folders searched, in order (see [`PretrainedRegistry::default`]).
    pub search: Vec<PathBuf>,
    /// Where downloads go (toongan's cache).
    pub download_dir: Option<PathBuf>,
    /// Whether a missing file may be downloaded.
    pub allow_download: bool,
    /// Retries and backoff of the downloads.
    pub retry: RetryPolicy,
}

/// `torch.hub`'s checkpoint folder: `$TORCH_HOME/hub/checkpoints`, else
/// `$XDG_CACHE_HOME/torch/hub/checkpoints` (default `~/.cache/torch/hub/checkpoints`).
pub fn torch_hub_checkpoints() -> Option<PathBuf> {
    std::env::var_os("TORCH_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("torch")))
        .map(|d| d.join("hub").join("checkpoints"))
}

impl Default for PretrainedRegistry {
    /// Searches `torch.hub`'s checkpoint folder, toongan's cache (`<cache>/toongan`, where
    /// downloads go) and `$TOONGAN_WEIGHTS_DIR`; downloads unless [`offline`].
    fn default() -> Self {
        let cache = dirs::cache_dir().map(|d| d.join("toongan"));
        let weights_dir = std::env::var_os(WEIGHTS_DIR_ENV)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        Self {
            nets: builtin(),
            search: [torch_hub_checkpoints(), cache.clone(), weights_dir]
                .into_iter()
                .flatten()
                .collect(),
            download_dir: cache,
            allow_download: !offline(),
            retry: RetryPolicy::default(),
        }
    }
}

impl PretrainedRegistry {
    /// The network called `name` (registry name or file name).
    pub fn get(&self, name: &str) -> Option<&PretrainedNet> {
        self.nets.iter().find(|n| n.name == name || n.file == name)
    }

    /// The first searched folder holding the file, if any.
    pub fn find(&self, net: &PretrainedNet) -> Option<PathBuf> {
        self.search
            .iter()
            .map(|d| d.join(&net.file))
            .find(|p| p.is_file())
    }

    /// Where the file is and whether it verifies (hashes it).
    pub fn status(&self, net: &PretrainedNet) -> NetStatus {
        match self.find(net) {
            None => NetStatus::Absent,
            Some(path) => match sha256_file(&path) {
                Ok(h) if net.expected().matches(&h) => NetStatus::Verified(path),
                Ok(h) => NetStatus::Corrupt(path, h),
                Err(e) => NetStatus::Corrupt(path, format!("unreadable: {e}")),
            },
        }
    }

    /// A verified copy of `net`: found in a searched folder, or downloaded into the cache.
    pub fn locate(&self, net: &PretrainedNet) -> Result<PathBuf, WeightsError> {
        match self.status(net) {
            NetStatus::Verified(path) => return Ok(path),
            NetStatus::Corrupt(path, actual) => {
                return Err(WeightsError::PretrainedHashMismatch {
                    name: net.name.clone(),
                    path,
                    actual,
                    expected: net.expected().to_string(),
                    url: net.url.clone(),
                });
            }
            NetStatus::Absent => {}
        }
        let missing = |cause: String| WeightsError::PretrainedMissing {
            name: net.name.clone(),
            file: net.file.clone(),
            searched: self.searched(),
            cause,
            url: net.url.clone(),
        };
        let Some(dir) = &self.download_dir else {
            return Err(missing("; no cache folder to download into".into()));
        };
        if !self.allow_download {
            return Err(missing("; downloads are disabled (--offline)".into()));
        }
        let dest = dir.join(&net.file);
        let mut downloader = Downloader::new(self.retry);
        downloader.begin(&net.name, 1);
        let result = downloader.fetch(&net.url, &dest, net.expected());
        downloader.finish();
        result.map_err(|e| missing(format!("; the download failed: {e}")))?;
        Ok(dest)
    }

    /// A verified copy of the network called `name`.
    pub fn locate_name(&self, name: &str) -> Result<PathBuf, WeightsError> {
        let net = self
            .get(name)
            .ok_or_else(|| WeightsError::UnknownPretrained(name.to_string()))?;
        self.locate(net)
    }

    /// The searched folders, for messages.
    pub fn searched(&self) -> String {
        if self.search.is_empty() {
            return "no folder".into();
        }
        self.search
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_taken_from_file_names() {
        assert_eq!(file_hash_prefix("vgg19_bn-c79401a0.pth"), "c79401a0");
        assert_eq!(
            file_hash_prefix("pt_inception-2015-12-05-6726825d.pth"),
            "6726825d"
        );
    }

    #[test]
    fn every_full_hash_starts_with_its_file_name_prefix() {
        for net in builtin() {
            let prefix = file_hash_prefix(&net.file);
            assert_eq!(prefix.len(), 8, "{}", net.file);
            if let Some(h) = &net.sha256 {
                assert_eq!(h.len(), 64, "{}", net.name);
                assert!(h.starts_with(prefix), "{}: {h} vs {prefix}", net.name);
            }
        }
    }
}
