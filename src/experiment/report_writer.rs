//! The report folder of an experiment: `results.md` and `results.csv` (mean ± 95% CI over
//! seeds per variant and metric; a distillation plan's also the identity and teacher bounds
//! and which variants beat identity), `grid.png` (the same test photos across variants),
//! `curves/<variant>.png` (losses averaged over seeds) and `report.md` linking them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::records::{RunRecord, RunStatus};
use super::scoring::{Bounds, higher_is_better};
use super::{ExperimentError, ExperimentPlan, Scale};
use crate::report::{ResultTable, SampleGrid};
use crate::train::{MetricsLog, MetricsRecord, plot_losses};

/// Test photos shown in the grid at most.
pub const GRID_ROWS: usize = 8;

/// The metric scorer's description: (Inception label, reference images, random weights).
pub type ScorerInfo<'a> = (&'a str, usize, bool);

/// Everything a report is written from.
pub struct ReportInputs<'a> {
    /// The plan.
    pub plan: &'a ExperimentPlan,
    /// Its file.
    pub plan_path: &'a Path,
    /// The scale it ran at.
    pub scale: Scale,
    /// The finished runs.
    pub runs: &'a [RunRecord],
    /// The prepared test photos.
    pub photos: &'a [PathBuf],
    /// The metric scorer, if the plan has metrics.
    pub scorer: Option<ScorerInfo<'a>>,
    /// A distillation plan's bounds.
    pub bounds: Option<&'a Bounds>,
    /// The crop the outputs share.
    pub crop: usize,
    /// Runs of the plan the report lacks (`variant/seed`).
    pub missing: &'a [String],
    /// The report folder.
    pub dir: &'a Path,
}

/// Row name of the identity bound (the test photo itself).
pub const IDENTITY_ROW: &str = "identity (the photo)";

/// Writes every report file into `inputs.dir`.
pub fn write_report(inputs: &ReportInputs<'_>) -> Result<(), ExperimentError> {
    let ReportInputs {
        plan,
        plan_path,
        scale,
        runs,
        photos,
        scorer,
        bounds,
        crop,
        missing,
        dir,
    } = *inputs;
    std::fs::create_dir_all(dir.join("curves")).map_err(|e| ExperimentError::io(dir, e))?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        crate::imageio::atomic_write(&path, text.as_bytes())
            .map_err(|e| ExperimentError::io(&path, e))
    };

    let mut table = ResultTable::default();
    for r in runs {
        let Some(s) = &r.scores else { continue };
        for m in &plan.metrics {
            if let Some(value) = s.metric(m) {
                table.add(&r.variant, m, r.seed, value);
            }
        }
    }
    if let Some(b) = bounds {
        let teacher_row = teacher_row(&b.teacher);
        for m in &plan.metrics {
            for (row, scores) in [
                (IDENTITY_ROW, &b.identity),
                (teacher_row.as_str(), &b.teacher_scores),
            ] {
                if let Some(value) = scores.metric(m) {
                    table.add(row, m, 0, value);
                }
            }
        }
    }
    write("results.csv", &table.to_csv())?;
    let mut results = results_markdown(plan, scale, runs, &table, photos.len(), scorer, missing);
    if let Some(b) = bounds {
        results.push_str(&against_bounds(plan, &table, b));
    }
    write("results.md", &results)?;

    let grid_path = dir.join("grid.png");
    write_grid(plan, runs, photos, crop, &grid_path)?;

    let mut curves = Vec::new();
    for v in &plan.variants {
        let path = dir.join("curves").join(format!("{}.png", v.name));
        let records = averaged_curves(runs.iter().filter(|r| r.variant == v.name))?;
        plot_losses(&path, &records).map_err(|e| ExperimentError::io(&path, e))?;
        curves.push(v.name.clone());
    }
    let summary = (!plan.metrics.is_empty()).then(|| table.to_markdown(4));
    let mut report = report_markdown(
        plan,
        plan_path,
        scale,
        runs,
        summary.as_deref(),
        &curves,
        missing,
    );
    if let Some(b) = bounds {
        report = report.replacen(
            "## Samples\n",
            &format!("{}## Samples\n", against_bounds(plan, &table, b)),
            1,
        );
    }
    write("report.md", &report)?;
    Ok(())
}

/// Row name of the teacher bound.
pub fn teacher_row(teacher: &str) -> String {
    format!("teacher ({teacher})")
}

/// A distillation plan's verdicts: for each variant and metric, whether its mean beats the
/// identity bound, and whether its 95% interval clears it; the best variant per metric.
fn against_bounds(plan: &ExperimentPlan, table: &ResultTable, b: &Bounds) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Against the known answer\n\nThe test references are the teacher ('{}')'s outputs \
         on the test photos, so each metric has two bounds: the photo itself (identity: a \
         generator that changes nothing) and the teacher (the answer: FID/KID of the reference \
         set against itself, ΔE00 0, SSIM 1). ΔE00 is the CIEDE2000 colour difference in \
         CIELAB (D65), averaged over every pixel; SSIM is Wang et al.'s (11x11 Gaussian \
         window, σ 1.5) on the luma. A variant beats identity when its mean is better; \
         'clearly' when the whole 95% interval is.\n",
        b.teacher
    );
    let _ = writeln!(s, "| variant | {} |", plan.metrics.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(plan.metrics.len()));
    for v in &plan.variants {
        let cells: Vec<String> = plan
            .metrics
            .iter()
            .map(|m| {
                let (Some(x), Some(id)) = (table.summary(&v.name, m), b.identity.metric(m)) else {
                    return "–".into();
                };
                let better = |a: f64| if higher_is_better(m) { a > id } else { a < id };
                let ci = x.ci95.unwrap_or(0.0);
                let (lo, hi) = (x.mean - ci, x.mean + ci);
                if better(lo) && better(hi) && x.ci95.is_some() {
                    "beats identity, clearly".into()
                } else if better(x.mean) {
                    "beats identity".into()
                } else {
                    "no better than identity".into()
                }
            })
            .collect();
        let _ = writeln!(s, "| {} | {} |", v.name, cells.join(" | "));
    }
    let _ = writeln!(s);
    for m in &plan.metrics {
        let best = plan
            .variants
            .iter()
            .filter_map(|v| table.summary(&v.name, m).map(|x| (v.name.as_str(), x.mean)))
            .reduce(|a, c| {
                let c_better = if higher_is_better(m) {
                    c.1 > a.1
                } else {
                    c.1 < a.1
                };
                if c_better { c } else { a }
            });
        if let Some((name, mean)) = best {
            let _ = writeln!(s, "- Best {m} (mean): {name} ({mean:.4}).");
        }
    }
    let _ = writeln!(s);
    s
}

/// A warning naming the runs the report lacks (none: empty).
fn missing_note(missing: &[String]) -> String {
    if missing.is_empty() {
        return String::new();
    }
    format!(
        "**Incomplete: {} run(s) not finished when this report was written: {}.** Their \
         variants' cells use the seeds that finished.\n\n",
        missing.len(),
        missing.join(", ")
    )
}

fn scale_note(scale: Scale) -> &'static str {
    match scale {
        Scale::Full => "full (as the plan says)",
        Scale::Tiny => {
            "tiny (64² crops, narrow networks, random feature-network weights (He-normal, at \
             a trained network's scale), 2 epochs of 2 steps, 2 seeds): a test of the \
             pipeline; the numbers say nothing about the models"
        }
    }
}

fn results_markdown(
    plan: &ExperimentPlan,
    scale: Scale,
    runs: &[RunRecord],
    table: &ResultTable,
    n_photos: usize,
    scorer: Option<ScorerInfo<'_>>,
    missing: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}: results\n", plan.name);
    let _ = writeln!(s, "Scale: {}.\n", scale_note(scale));
    s.push_str(&missing_note(missing));
    match scorer {
        None => {
            let _ = writeln!(s, "The plan asks for no metrics (`metrics = []`).\n");
        }
        Some((label, n_ref, _)) if !plan.metrics.iter().any(|m| m == "fid" || m == "kid") => {
            let _ = writeln!(
                s,
                "Paired distances of the {n_photos} cartoonized test photos to their {n_ref} \
                 references ({label}). Each cell: mean ± 95% confidence half-width (Student's \
                 t, n − 1 degrees of freedom) over n seeds.\n"
            );
            let _ = writeln!(
                s,
                "delta_e: mean CIEDE2000 ΔE (CIELAB, D65) between each output and its paired \
                 reference, over every pixel (lower is better); ssim: mean SSIM to it (higher \
                 is better). The bound rows are scored once (n=1).\n"
            );
            s.push_str(&table.to_markdown(4));
            s.push('\n');
        }
        Some((label, n_ref, random)) => {
            let _ = writeln!(
                s,
                "FID and KID of the {n_photos} cartoonized test photos against {n_ref} test \
                 cartoons; {label}. Each cell: mean ± 95% confidence half-width (Student's t, \
                 n − 1 degrees of freedom) over n seeds; a single seed shows its value alone. \
                 Lower is better for both.\n"
            );
            if plan.metrics.iter().any(|m| m == "delta_e" || m == "ssim") {
                let _ = writeln!(
                    s,
                    "delta_e: mean CIEDE2000 ΔE (CIELAB, D65) between each output and its \
                     paired reference, over every pixel (lower is better); ssim: mean SSIM to \
                     it (higher is better). The bound rows are scored once (n=1).\n"
                );
            }
            if random {
                let _ = writeln!(
                    s,
                    "**The Inception has random weights: these numbers only show that the \
                     pipeline runs.** Give pytorch-fid's weights (`--fid-weights`) for real \
                     ones.\n"
                );
            }
            s.push_str(&table.to_markdown(4));
            s.push('\n');
        }
    }
    let _ = writeln!(s, "## Runs\n");
    let _ = writeln!(
        s,
        "| variant | seed | this invocation | steps | training s | FID | KID |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for r in runs {
        let status = match r.status {
            RunStatus::Trained => "trained",
            RunStatus::Resumed => "resumed",
            RunStatus::Reused => "reused",
        };
        let (fid, kid) = r.scores.as_ref().map_or(("–".into(), "–".into()), |x| {
            (
                x.fid.map_or("–".into(), |f| format!("{f:.4}")),
                match (x.kid, x.kid_std) {
                    (Some(k), Some(sd)) => format!("{k:.5} ± {sd:.5}"),
                    _ => "–".into(),
                },
            )
        });
        let _ = writeln!(
            s,
            "| {} | {} | {status} | {} | {:.1} | {fid} | {kid} |",
            r.variant, r.seed, r.steps, r.train_seconds
        );
    }
    s
}

/// Photo | each variant's output (its first seed), one row per test photo.
fn write_grid(
    plan: &ExperimentPlan,
    runs: &[RunRecord],
    photos: &[PathBuf],
    crop: usize,
    path: &Path,
) -> Result<(), ExperimentError> {
    let cell = crop.clamp(128, 256) as u32;
    let mut grid = SampleGrid::new(cell, 4);
    let columns: Vec<Option<&RunRecord>> = plan
        .variants
        .iter()
        .map(|v| runs.iter().find(|r| r.variant == v.name))
        .collect();
    for photo in photos.iter().take(GRID_ROWS) {
        let name = photo.file_name().unwrap_or_default();
        let mut row = vec![crate::imageio::jpeg::open_rgb8(photo)];
        for col in &columns {
            row.push(col.and_then(|r| crate::imageio::jpeg::open_rgb8(&r.outputs_dir.join(name))));
        }
        grid.push_row(row);
    }
    grid.render()
        .save(path)
        .map_err(|e| ExperimentError::io(path, e))
}

/// The runs' logged losses averaged over seeds, step by step.
fn averaged_curves<'a>(
    runs: impl Iterator<Item = &'a RunRecord>,
) -> Result<Vec<MetricsRecord>, ExperimentError> {
    type Acc = (usize, String, BTreeMap<String, (f64, usize)>);
    let mut by_step: BTreeMap<usize, Acc> = BTreeMap::new();
    for r in runs {
        let log = MetricsLog::new(&r.run_dir);
        let records = log.read().map_err(|e| ExperimentError::io(log.path(), e))?;
        for rec in records {
            let slot = by_step
                .entry(rec.step)
                .or_insert_with(|| (rec.epoch, rec.phase.clone(), BTreeMap::new()));
            for (k, v) in rec.losses {
                let e = slot.2.entry(k).or_insert((0.0, 0));
                e.0 += v;
                e.1 += 1;
            }
        }
    }
    Ok(by_step
        .into_iter()
        .map(|(step, (epoch, phase, losses))| MetricsRecord {
            step,
            epoch,
            phase,
            losses: losses
                .into_iter()
                .map(|(k, (sum, n))| (k, sum / n as f64))
                .collect(),
            seconds_per_step: 0.0,
        })
        .collect())
}

fn report_markdown(
    plan: &ExperimentPlan,
    plan_path: &Path,
    scale: Scale,
    runs: &[RunRecord],
    table: Option<&str>,
    curves: &[String],
    missing: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", plan.name);
    if !plan.description.is_empty() {
        let _ = writeln!(s, "{}\n", plan.description.trim());
    }
    let seeds: Vec<String> = {
        let mut v: Vec<u64> = runs.iter().map(|r| r.seed).collect();
        v.sort_unstable();
        v.dedup();
        v.iter().map(u64::to_string).collect()
    };
    let _ = writeln!(
        s,
        "Plan: `{}`. Scale: {}. Seeds: {}.\n",
        plan_path.display(),
        scale_note(scale),
        seeds.join(", ")
    );
    let _ = writeln!(s, "## Results\n");
    s.push_str(&missing_note(missing));
    if let Some(t) = table {
        let _ = writeln!(s, "Mean ± 95% CI over seeds (lower is better):\n\n{t}");
    }
    let _ = writeln!(
        s,
        "[results.md](results.md) (table and every run), [results.csv](results.csv) (one row \
         per variant and metric: n, mean, std, ci95, each seed's value).\n"
    );
    let _ = writeln!(s, "## Samples\n");
    let mut cols = vec!["test photo".to_string()];
    cols.extend(plan.variants.iter().map(|v| v.name.clone()));
    let _ = writeln!(
        s,
        "![sample grid](grid.png)\n\nColumns, left to right: {}. Each variant's column is its \
         first seed's generator; all outputs are in `outputs/<variant>/seed-<s>/`.\n",
        cols.join(" | ")
    );
    let _ = writeln!(s, "## Variants and loss curves\n");
    let _ = writeln!(
        s,
        "Each curve is every logged loss averaged over the seeds, against the step; each run's \
         own plot is `runs/<variant>/seed-<s>/loss_curves.png`.\n"
    );
    for v in &plan.variants {
        let _ = writeln!(s, "### {} (`{}`)\n", v.name, v.model);
        if !v.description.is_empty() {
            let _ = writeln!(s, "{}\n", v.description.trim());
        }
        if !v.presets.is_empty() {
            let _ = writeln!(s, "Presets: {}.\n", v.presets.join(", "));
        }
        let o = plan.overrides_for(v);
        if !o.is_empty() {
            let text = toml::to_string(&o).unwrap_or_default();
            let _ = writeln!(s, "Overrides (defaults merged):\n\n```toml\n{}```\n", text);
        }
        if curves.contains(&v.name) {
            let _ = writeln!(s, "![{0} losses](curves/{0}.png)\n", v.name);
        }
    }
    s
}
