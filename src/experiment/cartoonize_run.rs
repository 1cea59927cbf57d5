//! Cartoonizing the prepared test photos with a finished run's generator (its `latest`
//! checkpoint), as `toongan cartoonize --model RUN` would: CartoonGAN generators on toongan's
//! fast CPU engine, CycleGAN's ResNet generators on burn's CPU backend.

use std::path::{Path, PathBuf};

use crate::backend::Cpu;
use crate::cartoonize::{BatchOptions, ResnetTranslator, Translator, plan_outputs, run_batch};
use crate::engine::CpuGenerator;
use crate::weights::checkpoint::resolve_generator_path;
use crate::weights::{TrainedGenerator, load_trained_generator};

/// The photo→cartoon translator of a training run folder.
pub fn translator_for_run(run_dir: &Path) -> Result<Box<dyn Translator>, String> {
    let path = resolve_generator_path(run_dir).map_err(|e| e.to_string())?;
    let device = Default::default();
    Ok(
        match load_trained_generator::<Cpu>(&path, &device).map_err(|e| e.to_string())? {
            TrainedGenerator::Cartoongan(g, config) => {
                Box::new(CpuGenerator::from_generator(&g, &config).map_err(|e| e.to_string())?)
            }
            TrainedGenerator::Resnet(g, _) => Box::new(ResnetTranslator::new(g, device)),
        },
    )
}

/// Writes `<out_dir>/<name of each photo>` translated by the run's generator. With
/// `fresh`, earlier outputs are removed first (the run was just trained); otherwise photos
/// whose output exists are skipped. Returns the number written.
pub fn cartoonize_test_photos(
    run_dir: &Path,
    photos: &[PathBuf],
    out_dir: &Path,
    fresh: bool,
) -> Result<usize, String> {
    if fresh && out_dir.exists() {
        std::fs::remove_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    }
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let inputs: Vec<(PathBuf, PathBuf)> = photos
        .iter()
        .map(|p| (p.clone(), PathBuf::from(p.file_name().unwrap_or_default())))
        .collect();
    let jobs = plan_outputs(&inputs, Some(out_dir), "cartoon")?;
    if jobs.iter().all(|j| j.output.exists()) {
        return Ok(0);
    }
    let translator = translator_for_run(run_dir)?;
    let options = BatchOptions {
        skip_existing: true,
        ..BatchOptions::default()
    };
    let summary = run_batch(translator.as_ref(), &jobs, options, |_, _| {});
    if let Some((path, reason)) = summary.failures.first() {
        return Err(format!("{}: {reason}", path.display()));
    }
    Ok(summary.written)
}
