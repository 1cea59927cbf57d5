//! The resolved configuration of a training run: data, schedule, outputs and each model's own
//! section, read from TOML, overridable field by field, saved in the run folder. What the
//! config means for the chosen model (its init epochs, edge smoothing, checks) is answered by
//! the registry ([`super::registry`]); the named presets are in [`super::presets`].

use std::path::{Path, PathBuf};

use burn::config::Config;

use super::TrainError;
use super::cartoongan::CartoonGanConfig;
use super::cyclegan::CycleGanConfig;
pub use super::sections::{DataConfig, OutputConfig, ScheduleConfig};

/// Everything a run needs; saved as `config.toml` in the run folder.
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// Model name in the registry (see [`super::registry::MODELS`]).
    #[config(default = "String::from(\"cartoongan\")")]
    pub model: String,
    /// Data.
    #[config(default = "DataConfig::new()")]
    pub data: DataConfig,
    /// Schedule.
    #[config(default = "ScheduleConfig::new()")]
    pub train: ScheduleConfig,
    /// Logging, samples and checkpoints.
    #[config(default = "OutputConfig::new()")]
    pub output: OutputConfig,
    /// CartoonGAN's networks and losses.
    #[config(default = "CartoonGanConfig::new()")]
    pub cartoongan: CartoonGanConfig,
    /// CycleGAN's networks and losses.
    #[config(default = "CycleGanConfig::new()")]
    pub cyclegan: CycleGanConfig,
}

impl TrainConfig {
    /// Reads a TOML file; missing fields take their defaults.
    pub fn from_toml_file(path: &Path) -> Result<Self, TrainError> {
        let err = |m: String| TrainError::Config {
            path: path.to_path_buf(),
            message: m,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::from_toml_str(&text).map_err(err)
    }

    /// Parses TOML text; missing fields take their defaults.
    pub fn from_toml_str(text: &str) -> Result<Self, String> {
        let value: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut base = toml::Value::try_from(Self::new()).map_err(|e| e.to_string())?;
        merge(&mut base, value);
        base.try_into().map_err(|e: toml::de::Error| e.to_string())
    }

    /// The config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot serialize: {e}"))
    }

    /// Applies `section.field=value` (value parsed as TOML, else taken as a string).
    pub fn set(&mut self, assignment: &str) -> Result<(), TrainError> {
        let err = |m: String| TrainError::Config {
            path: PathBuf::from(format!("--set {assignment}")),
            message: m,
        };
        let (key, raw) = assignment
            .split_once('=')
            .ok_or_else(|| err("expected KEY=VALUE, e.g. train.batch_size=4".into()))?;
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        let mut root = toml::Value::try_from(&*self).map_err(|e| err(e.to_string()))?;
        let parts: Vec<&str> = key.trim().split('.').collect();
        let (last, path) = parts.split_last().ok_or_else(|| err("empty key".into()))?;
        let mut slot = &mut root;
        for part in path {
            slot = slot
                .get_mut(*part)
                .ok_or_else(|| err(format!("no config section '{part}' in '{key}'")))?;
        }
        let table = slot
            .as_table_mut()
            .ok_or_else(|| err(format!("'{key}' is not inside a section")))?;
        // Unset optional fields are absent from the TOML, so a new key is allowed here; a
        // misspelt one is caught below, when the result no longer has the field it names.
        table.insert(last.to_string(), value);
        let updated: Self = root
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        let check = toml::Value::try_from(&updated).map_err(|e| err(e.to_string()))?;
        if parts.iter().try_fold(&check, |v, p| v.get(*p)).is_none() {
            return Err(err(format!("no config field '{key}'")));
        }
        *self = updated;
        Ok(())
    }
}

/// Recursively overlays `over` on `base` (tables merge, other values replace).
fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}
