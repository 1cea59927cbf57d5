//! An experiment plan (`toongan experiment PLAN.toml`): named variants (a model plus config
//! overrides), the data (four folders, or a folder of photos and a teacher style for a
//! distillation benchmark), the seeds and the metrics to report.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::weights::Style;

/// The whole plan, as written in TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentPlan {
    /// Name of the experiment; the report folder is named after it.
    pub name: String,
    /// What the experiment asks, for the report's header.
    #[serde(default)]
    pub description: String,
    /// Training seeds; every variant is trained once per seed.
    pub seeds: Vec<u64>,
    /// Metrics to report: `fid`, `kid` (against the test cartoons); with a teacher also
    /// `delta_e` and `ssim` (paired distances to the teacher's output on each test photo).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// The data: four folders, or photos and a teacher style.
    pub data: DataSource,
    /// How the metrics are computed.
    #[serde(default)]
    pub eval: EvalSettings,
    /// Overrides applied to every variant before its own (e.g. epochs).
    #[serde(default)]
    pub defaults: toml::Table,
    /// The variants, in report order.
    #[serde(rename = "variant")]
    pub variants: Vec<Variant>,
}

/// Where the unpaired training and test images are. Relative paths are relative to the
/// plan file's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFolders {
    /// Training photos.
    pub train_photos: PathBuf,
    /// Training cartoons (anime frames).
    pub train_cartoons: PathBuf,
    /// Test photos, cartoonized by every variant for the metrics and the sample grid.
    pub test_photos: PathBuf,
    /// Test cartoons, the reference set for FID/KID.
    pub test_cartoons: PathBuf,
}

/// A distillation benchmark's data: one folder of photos and a published style as the
/// teacher. The experiment splits the photos itself (`distill`): held-out test
/// photos, whose teacher outputs are the paired references and the FID/KID set, and the rest
/// in two halves, the teacher's outputs on one being the cartoon domain and the other the
/// photo domain.
#[derive(Debug, Clone, PartialEq)]
pub struct DistillData {
    /// The photos (searched recursively). Relative to the plan's folder.
    pub photos: PathBuf,
    /// The teacher: a published CartoonGAN style, found as `toongan cartoonize --style` finds
    /// it (`$TOONGAN_WEIGHTS_DIR`, the cache, else downloaded).
    pub teacher: Style,
    /// Held-out test photos (default: a fifth of the photos, at least one).
    pub test_images: Option<usize>,
    /// Seed of the shuffle that makes the split.
    pub split_seed: u64,
}

/// Where a plan's images come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawData", into = "RawData")]
pub enum DataSource {
    /// `train_photos`, `train_cartoons`, `test_photos`, `test_cartoons`.
    Folders(DataFolders),
    /// `photos` and `teacher` (optionally `test_images`, `split_seed`).
    Distill(DistillData),
}

/// `[data]` as written: either form's fields, checked by [`DataSource::try_from`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    #[serde(skip_serializing_if = "Option::is_none")]
    train_photos: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    train_cartoons: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_photos: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_cartoons: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    photos: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    teacher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_images: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    split_seed: Option<u64>,
}

impl TryFrom<RawData> for DataSource {
    type Error = String;
    fn try_from(r: RawData) -> Result<Self, String> {
        let folders = [
            &r.train_photos,
            &r.train_cartoons,
            &r.test_photos,
            &r.test_cartoons,
        ];
        let any_folder = folders.iter().any(|f| f.is_some());
        match (r.photos, r.teacher) {
            (Some(photos), Some(teacher)) if !any_folder => {
                let teacher = teacher.parse::<Style>().map_err(|_| {
                    format!(
                        "data.teacher = \"{teacher}\" is not a published style: use {}",
                        Style::ALL.map(|s| s.name()).join(", ")
                    )
                })?;
                if r.test_images == Some(0) {
                    return Err("data.test_images must be at least 1".into());
                }
                Ok(Self::Distill(DistillData {
                    photos,
                    teacher,
                    test_images: r.test_images,
                    split_seed: r.split_seed.unwrap_or(0),
                }))
            }
            (None, None) if r.test_images.is_none() && r.split_seed.is_none() => {
                let need = |f: Option<PathBuf>, name: &str| {
                    f.ok_or_else(|| {
                        format!(
                            "data.{name} is missing: give train_photos, train_cartoons, \
                             test_photos and test_cartoons, or photos and teacher"
                        )
                    })
                };
                Ok(Self::Folders(DataFolders {
                    train_photos: need(r.train_photos, "train_photos")?,
                    train_cartoons: need(r.train_cartoons, "train_cartoons")?,
                    test_photos: need(r.test_photos, "test_photos")?,
                    test_cartoons: need(r.test_cartoons, "test_cartoons")?,
                }))
            }
            _ => Err(
                "[data] takes either train_photos, train_cartoons, test_photos and \
                 test_cartoons, or photos and teacher (with optional test_images and \
                 split_seed), not a mix"
                    .into(),
            ),
        }
    }
}

impl From<DataSource> for RawData {
    fn from(d: DataSource) -> Self {
        match d {
            DataSource::Folders(f) => RawData {
                train_photos: Some(f.train_photos),
                train_cartoons: Some(f.train_cartoons),
                test_photos: Some(f.test_photos),
                test_cartoons: Some(f.test_cartoons),
                ..RawData::default()
            },
            DataSource::Distill(d) => RawData {
                photos: Some(d.photos),
                teacher: Some(d.teacher.name().to_string()),
                test_images: d.test_images,
                split_seed: Some(d.split_seed),
                ..RawData::default()
            },
        }
    }
}

/// How FID and KID are computed (pytorch-fid's Inception, torch-fidelity's KID).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSettings {
    /// Inception feature dimensions: 2048 (the standard FID), 768, 192 or 64.
    pub dims: usize,
    /// pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`; unset looks at
    /// `$TOONGAN_FID_WEIGHTS`, then the user cache. Relative to the plan's folder.
    pub fid_weights: Option<PathBuf>,
    /// KID: number of random subsets.
    pub kid_subsets: usize,
    /// KID: subset size (smaller sets use all their images).
    pub kid_subset_size: usize,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self {
            dims: 2048,
            fid_weights: None,
            kid_subsets: 100,
            kid_subset_size: 1000,
        }
    }
}

/// One model configuration to train and compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Short name (a folder name: letters, digits, `-`, `_`).
    pub name: String,
    /// Registered model name (`cartoongan`, `cyclegan`).
    pub model: String,
    /// What the variant tests, for the report.
    #[serde(default)]
    pub description: String,
    /// Named presets of `toongan train --preset` (e.g. `["improved"]`), applied before the
    /// plan's defaults and the variant's overrides.
    #[serde(default)]
    pub presets: Vec<String>,
    /// Training config overrides (any field of the model's config).
    #[serde(default)]
    pub overrides: toml::Table,
}

/// Why a plan cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read plan {path}: {source}")]
    Read {
        /// The plan file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown fields.
    #[error("plan {path} is not valid: {message}")]
    Invalid {
        /// The plan file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Metrics the runner knows.
pub const KNOWN_METRICS: [&str; 4] = ["fid", "kid", "delta_e", "ssim"];

/// Metrics against paired references: only for plans with a teacher.
pub const PAIRED_METRICS: [&str; 2] = ["delta_e", "ssim"];

impl ExperimentPlan {
    /// Reads and validates a plan; relative data folders are resolved against its folder.
    pub fn load(path: &Path) -> Result<Self, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut plan: ExperimentPlan = toml::from_str(&text).map_err(|e| PlanError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        plan.validate().map_err(|message| PlanError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(w) = plan.eval.fid_weights.as_mut().filter(|w| w.is_relative()) {
            *w = base.join(&*w);
        }
        let paths: Vec<&mut PathBuf> = match &mut plan.data {
            DataSource::Folders(d) => vec![
                &mut d.train_photos,
                &mut d.train_cartoons,
                &mut d.test_photos,
                &mut d.test_cartoons,
            ],
            DataSource::Distill(d) => vec![&mut d.photos],
        };
        for p in paths {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(plan)
    }

    /// Checks names, seeds and metrics.
    pub fn validate(&self) -> Result<(), String> {
        if self.seeds.is_empty() {
            return Err("`seeds` is empty: give at least one".into());
        }
        if let Some(s) = self
            .seeds
            .iter()
            .enumerate()
            .find_map(|(i, s)| self.seeds[..i].contains(s).then_some(s))
        {
            return Err(format!("seed {s} appears twice in `seeds`"));
        }
        if self.variants.is_empty() {
            return Err("no [[variant]]".into());
        }
        let mut names = BTreeSet::new();
        for v in &self.variants {
            let ok = !v.name.is_empty()
                && v.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(format!(
                    "variant name '{}' must be letters, digits, '-' or '_'",
                    v.name
                ));
            }
            if !names.insert(&v.name) {
                return Err(format!("variant '{}' appears twice", v.name));
            }
        }
        if !crate::model::FID_DIMS.contains(&self.eval.dims) {
            return Err(format!(
                "eval.dims = {} is not supported: use 64, 192, 768 or 2048",
                self.eval.dims
            ));
        }
        if let Some(m) = self
            .metrics
            .iter()
            .find(|m| !KNOWN_METRICS.contains(&m.as_str()))
        {
            return Err(format!(
                "unknown metric '{m}': use {}",
                KNOWN_METRICS.join(", ")
            ));
        }
        if self.distill().is_none()
            && let Some(m) = self
                .metrics
                .iter()
                .find(|m| PAIRED_METRICS.contains(&m.as_str()))
        {
            return Err(format!(
                "metric '{m}' needs paired references: give [data] photos and teacher (a \
                 distillation benchmark), or drop it"
            ));
        }
        Ok(())
    }

    /// The distillation data, when the plan has a teacher.
    pub fn distill(&self) -> Option<&DistillData> {
        match &self.data {
            DataSource::Distill(d) => Some(d),
            DataSource::Folders(_) => None,
        }
    }

    /// The overrides of one variant: the plan's defaults, then the variant's own.
    pub fn overrides_for(&self, variant: &Variant) -> toml::Table {
        let mut merged = self.defaults.clone();
        merge(&mut merged, &variant.overrides);
        merged
    }
}

/// Deep-merges `over` into `base` (tables merge, other values replace).
pub fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"
name = "t"
seeds = [1, 2]
metrics = ["fid"]
[data]
train_photos = "p"
train_cartoons = "c"
test_photos = "tp"
test_cartoons = "tc"
[defaults]
epochs = 5
[defaults.optimizer]
lr = 0.0002
[[variant]]
name = "a"
model = "cartoongan"
[variant.overrides]
epochs = 7
[variant.overrides.optimizer]
beta1 = 0.5
"#;

    #[test]
    fn overrides_merge_defaults_first() {
        let plan: ExperimentPlan = toml::from_str(PLAN).unwrap();
        plan.validate().unwrap();
        let o = plan.overrides_for(&plan.variants[0]);
        assert_eq!(o["epochs"].as_integer(), Some(7));
        assert_eq!(o["optimizer"]["lr"].as_float(), Some(0.0002));
        assert_eq!(o["optimizer"]["beta1"].as_float(), Some(0.5));
    }

    #[test]
    fn bad_plans_are_refused_with_the_reason() {
        let dup = format!("{PLAN}\n[[variant]]\nname = \"a\"\nmodel = \"cyclegan\"\n");
        let plan: ExperimentPlan = toml::from_str(&dup).unwrap();
        assert!(plan.validate().unwrap_err().contains("appears twice"));
        let bad_metric = PLAN.replace("[\"fid\"]", "[\"lpips\"]");
        let plan: ExperimentPlan = toml::from_str(&bad_metric).unwrap();
        assert!(
            plan.validate()
                .unwrap_err()
                .contains("unknown metric 'lpips'")
        );
        assert!(toml::from_str::<ExperimentPlan>(&PLAN.replace("seeds", "seed")).is_err());
    }

    #[test]
    fn distill_data_is_photos_and_teacher_not_a_mix() {
        let distill = PLAN.replace(
            "train_photos = \"p\"\ntrain_cartoons = \"c\"\ntest_photos = \"tp\"\ntest_cartoons = \"tc\"",
            "photos = \"ph\"\nteacher = \"Hayao\"\ntest_images = 3",
        );
        let plan: ExperimentPlan = toml::from_str(&distill).unwrap();
        let d = plan.distill().unwrap();
        assert_eq!(
            (d.teacher, d.test_images, d.split_seed),
            (Style::Hayao, Some(3), 0)
        );
        let paired = distill.replace("[\"fid\"]", "[\"fid\", \"delta_e\", \"ssim\"]");
        let plan: ExperimentPlan = toml::from_str(&paired).unwrap();
        plan.validate().unwrap();
        // Paired metrics need a teacher; a mix of both forms and unknown styles are refused.
        let plan: ExperimentPlan =
            toml::from_str(&PLAN.replace("[\"fid\"]", "[\"ssim\", \"fid\"]")).unwrap();
        assert!(plan.validate().unwrap_err().contains("paired references"));
        let mix = distill.replace("photos = \"ph\"", "photos = \"ph\"\ntrain_photos = \"p\"");
        let err = toml::from_str::<ExperimentPlan>(&mix)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a mix"), "{err}");
        let bad = distill.replace("Hayao", "ghibli");
        let err = toml::from_str::<ExperimentPlan>(&bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ghibli") && err.contains("shinkai"), "{err}");
    }
}
