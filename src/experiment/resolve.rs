//! The training config of one run of a plan: defaults of `TrainConfig`, the variant's model
//! and presets, the plan's `[defaults]`, the variant's `overrides`, the seed, the plan's data
//! folders, then the scale.

use std::path::Path;

use super::plan::DataSource;
use super::{ExperimentError, ExperimentPlan, Scale, Variant};
use crate::train::MODELS;
use crate::train::TrainConfig;

/// Resolves the config of `variant` trained with `seed` at `scale`. `plan_path` names the
/// plan in errors.
pub fn resolve_config(
    plan: &ExperimentPlan,
    plan_path: &Path,
    variant: &Variant,
    seed: u64,
    scale: Scale,
) -> Result<TrainConfig, ExperimentError> {
    let field = |field: String, message: String| ExperimentError::Field {
        plan: plan_path.to_path_buf(),
        field,
        message,
    };
    let name = &variant.name;
    if !MODELS.contains(&variant.model.as_str()) {
        return Err(field(
            format!("variant '{name}' model"),
            format!(
                "unknown model '{}': this toongan trains {}",
                variant.model,
                MODELS.join(", ")
            ),
        ));
    }
    let mut config = TrainConfig::new();
    config.model = variant.model.clone();
    for preset in &variant.presets {
        config
            .apply_preset(preset)
            .map_err(|e| field(format!("variant '{name}' presets"), e.to_string()))?;
    }
    apply_overrides(&mut config, &plan.overrides_for(variant))
        .map_err(|m| field(format!("variant '{name}' overrides (after [defaults])"), m))?;
    config.train.seed = seed;
    // A distillation plan's training folders are made by the experiment
    // ([`super::planned::point_at_training_data`] sets them).
    if let DataSource::Folders(d) = &plan.data {
        config.data.photos = d.train_photos.clone();
        config.data.cartoons = d.train_cartoons.clone();
    }
    scale
        .apply(&mut config)
        .map_err(|e| field("--scale".into(), e.to_string()))?;
    config
        .validate()
        .map_err(|e| field(format!("variant '{name}'"), e.to_string()))?;
    Ok(config)
}

/// Deep-merges a table of config fields into `config`. Every key must name a field: a
/// misspelt one is an error naming it, not silently ignored.
pub fn apply_overrides(config: &mut TrainConfig, overrides: &toml::Table) -> Result<(), String> {
    let mut root = toml::Value::try_from(&*config).map_err(|e| e.to_string())?;
    let over = toml::Value::Table(overrides.clone());
    merge_value(&mut root, &over);
    let updated: TrainConfig = root
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string().trim().replace('\n', " "))?;
    let check = toml::Value::try_from(&updated).map_err(|e| e.to_string())?;
    let mut missing = Vec::new();
    unknown_keys(&check, &over, String::new(), &mut missing);
    if let Some(key) = missing.first() {
        return Err(format!(
            "no config field '{key}' (see `toongan train --help` and docs/train.md for the fields)"
        ));
    }
    *config = updated;
    Ok(())
}

fn merge_value(base: &mut toml::Value, over: &toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge_value(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// Keys of `over` (dotted) with no counterpart in `have`.
fn unknown_keys(have: &toml::Value, over: &toml::Value, prefix: String, out: &mut Vec<String>) {
    let toml::Value::Table(o) = over else {
        return;
    };
    for (k, v) in o {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match have.get(k) {
            None => out.push(key),
            Some(h) => unknown_keys(h, v, key, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, NormKind};
    use crate::train::{FeatureNetKind, GanLossKind};

    fn plan(variant: &str) -> ExperimentPlan {
        toml::from_str(&format!(
            r#"
name = "t"
seeds = [3]
[data]
train_photos = "/p"
train_cartoons = "/c"
test_photos = "/tp"
test_cartoons = "/tc"
[defaults.train]
epochs = 20
init_epochs = 5
{variant}
"#
        ))
        .unwrap()
    }

    #[test]
    fn defaults_then_overrides_then_seed_then_scale() {
        let p = plan(
            r#"[[variant]]
name = "v"
model = "cartoongan"
presets = ["lsgan"]
[variant.overrides.train]
epochs = 30
[variant.overrides.cartoongan.generator.activation]
kind = "leaky_relu"
[variant.overrides.cartoongan.content]
network = "resnet50_layer3""#,
        );
        let v = &p.variants[0];
        let c = resolve_config(&p, Path::new("plan.toml"), v, 3, Scale::Full).unwrap();
        assert_eq!(
            (c.train.epochs, c.train.init_epochs, c.train.seed),
            (30, Some(5), 3)
        );
        assert_eq!(c.cartoongan.gan_loss, GanLossKind::Lsgan);
        assert_eq!(
            c.cartoongan.generator.activation,
            Activation::LeakyRelu { slope: 0.2 }
        );
        assert_eq!(c.cartoongan.content.network.to_string(), "resnet50_layer3");
        assert_eq!(c.cartoongan.generator.norm, NormKind::Batch);
        assert_eq!(c.data.photos, Path::new("/p"));
        let t = resolve_config(&p, Path::new("plan.toml"), v, 3, Scale::Tiny).unwrap();
        assert_eq!((t.train.epochs, t.train.init_epochs), (2, Some(1)));
        assert_eq!(t.data.crop_size, 64);
        // The scale shrinks sizes but keeps the variant's switches.
        assert_eq!(t.cartoongan.gan_loss, GanLossKind::Lsgan);
        assert!(matches!(
            t.cartoongan.content.network,
            FeatureNetKind::Resnet { .. }
        ));
        assert_eq!(t.cartoongan.content.weights, "random");
    }

    #[test]
    fn misspelt_fields_and_models_name_the_variant() {
        let p = plan(
            r#"[[variant]]
name = "bad"
model = "cartoongan"
[variant.overrides.cartoongan]
gan_los = "lsgan""#,
        );
        let err = resolve_config(&p, Path::new("x.toml"), &p.variants[0], 0, Scale::Full)
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.toml"), "{err}");
        assert!(err.contains("variant 'bad'"), "{err}");
        assert!(err.contains("cartoongan.gan_los"), "{err}");
        let p = plan("[[variant]]\nname = \"m\"\nmodel = \"pix2pix\"");
        let err = resolve_config(&p, Path::new("x.toml"), &p.variants[0], 0, Scale::Full)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown model 'pix2pix'"), "{err}");
        let p = plan(
            "[[variant]]\nname = \"n\"\nmodel = \"cartoongan\"\n[variant.overrides.cartoongan.content]\nnetwork = \"resnet42\"",
        );
        let err = resolve_config(&p, Path::new("x.toml"), &p.variants[0], 0, Scale::Full)
            .unwrap_err()
            .to_string();
        assert!(err.contains("resnet42"), "{err}");
    }
}
