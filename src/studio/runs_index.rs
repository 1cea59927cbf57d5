//! The runs under `--runs`: every `toongan train` run folder (it has `config.toml` plus
//! `metrics.jsonl`, `samples/` or `checkpoints/`) and every `toongan experiment` folder (it
//! has `runs/` plus `report/`, `outputs/` or `test-set/`), found by walking the folder
//! without following links. Ids are hashes of the relative path: a request can only name a
//! folder the walk found, and a file only by its name in that folder's own listing.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::experiment::Layout;
use crate::train::{MetricsLog, MetricsRecord};

/// How deep below `--runs` the walk looks (an experiment's runs are 3 levels below it).
pub const MAX_DEPTH: usize = 6;
/// Folders visited at most per walk, so a huge tree cannot stall the server.
pub const MAX_FOLDERS: usize = 20_000;
/// Largest config or report text returned.
pub const MAX_TEXT_BYTES: u64 = 256 * 1024;

/// What kind of folder an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A `toongan train` run.
    Train,
    /// A `toongan experiment` folder.
    Experiment,
}

/// One run or experiment found under the root.
#[derive(Debug, Clone, Serialize)]
pub struct RunEntry {
    /// Stable opaque id (16 hex digits of the SHA-256 of the relative path).
    pub id: String,
    /// Train run or experiment.
    pub kind: RunKind,
    /// Path relative to the root, with `/` separators.
    pub name: String,
    /// The experiment this run belongs to, if any.
    pub experiment: Option<String>,
    /// Whether the run has a generator to cartoonize with (`latest`).
    pub has_generator: bool,
    /// The folder (not sent to the page).
    #[serde(skip)]
    pub dir: PathBuf,
}

fn id_of(rel: &str) -> String {
    hex::encode(&Sha256::digest(rel.as_bytes())[..8])
}

fn is_train_run(dir: &Path) -> bool {
    dir.join("config.toml").is_file()
        && ["metrics.jsonl", "samples", "checkpoints", "latest"]
            .iter()
            .any(|f| dir.join(f).exists())
}

fn is_experiment(dir: &Path) -> bool {
    dir.join("runs").is_dir()
        && ["report", "outputs", "test-set"]
            .iter()
            .any(|f| dir.join(f).is_dir())
}

/// Sub-folders never searched: a run's or an experiment's bulky outputs.
const SKIP: [&str; 7] = [
    "checkpoints",
    "samples",
    "outputs",
    "test-set",
    "edge-cache",
    "tiny-train",
    "report",
];

/// Walks `root` and returns its runs and experiments, sorted by relative path.
pub fn scan(root: &Path) -> Vec<RunEntry> {
    let mut found = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize, None::<String>)];
    let mut visited = 0usize;
    while let Some((dir, depth, experiment)) = stack.pop() {
        visited += 1;
        if visited > MAX_FOLDERS {
            break;
        }
        let rel = dir
            .strip_prefix(root)
            .map(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default();
        let mut experiment = experiment;
        if is_train_run(&dir) {
            found.push(RunEntry {
                id: id_of(&rel),
                kind: RunKind::Train,
                name: if rel.is_empty() { ".".into() } else { rel },
                experiment: experiment.clone(),
                has_generator: super::models::run_generator(&dir).is_some(),
                dir,
            });
            continue;
        }
        if is_experiment(&dir) {
            let id = id_of(&rel);
            found.push(RunEntry {
                id: id.clone(),
                kind: RunKind::Experiment,
                name: if rel.is_empty() { ".".into() } else { rel },
                experiment: None,
                has_generator: false,
                dir: dir.clone(),
            });
            experiment = Some(id);
        }
        if depth >= MAX_DEPTH {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            // file_type() does not follow links: a link out of the root is never entered.
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            let name = e.file_name().to_string_lossy().into_owned();
            if is_dir && !name.starts_with('.') && !SKIP.contains(&name.as_str()) {
                stack.push((e.path(), depth + 1, experiment.clone()));
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// The names of the plain files in `dir` with extension `ext`, sorted.
fn files_in(dir: &Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n.ends_with(ext))
        .collect();
    names.sort();
    names
}

fn read_text(path: &Path) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut s = String::new();
    f.take(MAX_TEXT_BYTES).read_to_string(&mut s).ok()?;
    Some(s)
}

/// The images of an entry the page may show, as paths relative to its folder.
pub fn images(entry: &RunEntry) -> Vec<String> {
    match entry.kind {
        RunKind::Train => {
            let mut v: Vec<String> = files_in(&entry.dir.join("samples"), ".png")
                .into_iter()
                .map(|n| format!("samples/{n}"))
                .collect();
            if entry.dir.join("loss_curves.png").is_file() {
                v.push("loss_curves.png".into());
            }
            v
        }
        RunKind::Experiment => {
            let report = Layout::new(&entry.dir).report();
            let mut v = Vec::new();
            if report.join("grid.png").is_file() {
                v.push("report/grid.png".into());
            }
            v.extend(
                files_in(&report.join("curves"), ".png")
                    .into_iter()
                    .map(|n| format!("report/curves/{n}")),
            );
            v
        }
    }
}

/// The file `rel` of `entry` if it is one of its [`images`] (so never outside the folder).
pub fn image_path(entry: &RunEntry, rel: &str) -> Option<PathBuf> {
    images(entry)
        .into_iter()
        .find(|i| i == rel)
        .map(|i| entry.dir.join(i))
}

/// What the runs page shows about one entry.
#[derive(Debug, Serialize)]
pub struct RunDetail {
    /// The entry.
    #[serde(flatten)]
    pub entry: RunEntry,
    /// `config.toml` (train runs).
    pub config: Option<String>,
    /// Checkpoint folders, oldest first.
    pub checkpoints: Vec<String>,
    /// Images, see [`images`].
    pub images: Vec<String>,
    /// `report/results.csv` as rows (experiments), header first.
    pub results: Vec<Vec<String>>,
    /// `report/report.md` (experiments).
    pub report: Option<String>,
    /// Ids of the experiment's runs.
    pub runs: Vec<String>,
}

/// Gathers the detail of `entry`; `all` is the scan it came from (for an experiment's runs).
pub fn detail(entry: &RunEntry, all: &[RunEntry]) -> RunDetail {
    let dir = &entry.dir;
    let mut checkpoints: Vec<String> = std::fs::read_dir(dir.join("checkpoints"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    checkpoints.sort();
    let (results, report) = if entry.kind == RunKind::Experiment {
        let report = Layout::new(dir).report();
        let rows = read_text(&report.join("results.csv"))
            .map(|text| {
                csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(text.as_bytes())
                    .records()
                    .flatten()
                    .map(|r| r.iter().map(str::to_string).collect())
                    .collect()
            })
            .unwrap_or_default();
        (rows, read_text(&report.join("report.md")))
    } else {
        (Vec::new(), None)
    };
    RunDetail {
        entry: entry.clone(),
        config: read_text(&dir.join("config.toml")),
        checkpoints,
        images: images(entry),
        results,
        report,
        runs: all
            .iter()
            .filter(|r| r.experiment.as_deref() == Some(entry.id.as_str()))
            .map(|r| r.id.clone())
            .collect(),
    }
}

/// The metrics of a train run logged after step `after` (all when `None`).
pub fn metrics_after(entry: &RunEntry, after: Option<usize>) -> Vec<MetricsRecord> {
    MetricsLog::new(&entry.dir)
        .read()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| after.is_none_or(|a| r.step > a))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_runs_and_experiments_and_only_their_images() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        let run = root.join("try");
        std::fs::create_dir_all(run.join("samples")).expect("mkdir");
        std::fs::write(run.join("config.toml"), "x = 1").expect("write");
        std::fs::write(run.join("samples/epoch-001_step-000000002.png"), b"png").expect("w");
        std::fs::write(run.join("secret.png"), b"no").expect("w");
        let exp = root.join("exp");
        let seed = exp.join("runs/base/seed-0");
        std::fs::create_dir_all(seed.join("samples")).expect("mkdir");
        std::fs::write(seed.join("config.toml"), "x = 2").expect("write");
        std::fs::create_dir_all(exp.join("report")).expect("mkdir");
        std::fs::write(exp.join("report/grid.png"), b"png").expect("w");
        std::fs::create_dir_all(root.join("notes")).expect("mkdir");
        let all = scan(root);
        let names: Vec<(&str, RunKind)> = all.iter().map(|e| (e.name.as_str(), e.kind)).collect();
        assert_eq!(
            names,
            [
                ("exp", RunKind::Experiment),
                ("exp/runs/base/seed-0", RunKind::Train),
                ("try", RunKind::Train)
            ]
        );
        assert_eq!(all[1].experiment.as_deref(), Some(all[0].id.as_str()));
        let t = &all[2];
        assert_eq!(images(t), ["samples/epoch-001_step-000000002.png"]);
        assert!(image_path(t, "samples/epoch-001_step-000000002.png").is_some());
        for bad in [
            "secret.png",
            "../exp/report/grid.png",
            "samples/../secret.png",
            "config.toml",
        ] {
            assert!(image_path(t, bad).is_none(), "{bad}");
        }
        let d = detail(&all[0], &all);
        assert_eq!(d.runs, [all[1].id.clone()]);
        assert_eq!(d.images, ["report/grid.png"]);
    }
}
