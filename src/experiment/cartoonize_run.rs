//! Cartoonizing the prepared test photos with a finished run's generator (its `latest`
//! checkpoint), as `toongan cartoonize --model RUN` would: CartoonGAN generators on toongan's
//! fast CPU engine, CycleGAN's ResNet generators on burn's CPU backend.

use std::path::{Path, PathBuf};

use crate::backend::DeviceChoice;
use crate::cartoonize::{BatchOptions, Translator, plan_outputs, run_batch};
use crate::inference::{CpuEngine, GeneratorSource, load_translator};
use crate::weights::checkpoint::resolve_generator_path;

/// The photo→cartoon translator of a training run folder, on the CPU.
pub fn translator_for_run(run_dir: &Path) -> Result<Box<dyn Translator>, String> {
    let path = resolve_generator_path(run_dir).map_err(|e| e.to_string())?;
    let source = GeneratorSource::Trained(path);
    load_translator(&source, DeviceChoice::Cpu, CpuEngine::Fast).map_err(|e| e.to_string())
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
