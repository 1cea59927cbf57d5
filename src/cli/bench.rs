//! `toongan bench`: times the generator on the fast engine and on burn (256², 512², a photo
//! end to end), each case in a child process so its peak memory is its own.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use clap::Args;
use toongan::backend::Cpu;
use toongan::bench::{BenchResult, BenchSpec, format_table, run_bench, standard_suite};
use toongan::model::GeneratorConfig;
use toongan::weights::{Style, StyleRegistry, load_published_generator};

/// Arguments of `toongan bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Cases to run, as ENGINE:CASE (fast|burn : 256 | 512x384 | photo). Default: 256, 512
    /// and photo on both engines.
    #[arg(long = "case", value_name = "ENGINE:CASE")]
    cases: Vec<BenchSpec>,
    /// Timed runs per case on the fast engine (after one warm-up).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Timed runs per case on burn (slower, so fewer by default).
    #[arg(long, default_value_t = 3)]
    burn_runs: usize,
    /// Photo for the end-to-end case. Default: <shared>/images/photos/mountain-lake.jpg.
    #[arg(long)]
    photo: Option<PathBuf>,
    /// Folder holding <style>/ weight folders (shinkai is timed; random weights if absent).
    #[arg(long, env = "TOONGAN_WEIGHTS_DIR")]
    weights_dir: Option<PathBuf>,
    /// Run the given cases in this process and print one JSON line each (used by the parent).
    #[arg(long, hide = true)]
    child: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let photo = args.photo.clone().unwrap_or_else(|| {
        let shared = std::env::var_os("TOONGAN_SHARED_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("../shared"));
        shared.join("images/photos/mountain-lake.jpg")
    });
    let cases = if args.cases.is_empty() {
        standard_suite()
    } else {
        args.cases.clone()
    };
    if args.child {
        for spec in cases {
            let runs = match spec.engine {
                toongan::bench::BenchEngine::Fast => args.runs,
                toongan::bench::BenchEngine::Burn => args.burn_runs,
            };
            let result = run_bench(spec, generator(&args)?, &photo, runs)?;
            println!("{}", serde_json::to_string(&result)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !photo.is_file() {
        bail!(
            "benchmark photo {} not found: pass --photo or set TOONGAN_SHARED_DIR",
            photo.display()
        );
    }
    let exe = std::env::current_exe().context("locating the toongan binary")?;
    eprintln!(
        "threads: {}; each case in its own process",
        rayon::current_num_threads()
    );
    let mut results: Vec<BenchResult> = Vec::new();
    for spec in cases {
        let mut cmd = Command::new(&exe);
        cmd.args(["bench", "--child", "--case", &spec.to_string()])
            .args([
                "--runs",
                &args.runs.to_string(),
                "--burn-runs",
                &args.burn_runs.to_string(),
            ])
            .arg("--photo")
            .arg(&photo);
        if let Some(dir) = &args.weights_dir {
            cmd.arg("--weights-dir").arg(dir);
        }
        let out = cmd
            .output()
            .with_context(|| format!("running case {spec}"))?;
        if !out.status.success() {
            bail!(
                "case {spec} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let r: BenchResult = serde_json::from_str(line)
                .with_context(|| format!("case {spec} printed {line}"))?;
            eprintln!("{}: {} median {:.3} s", r.engine, r.case, r.median_s);
            results.push(r);
        }
    }
    print!("{}", format_table(&results));
    Ok(ExitCode::SUCCESS)
}

/// The published shinkai generator, or a randomly initialised one of the same layout when
/// its weights are not on disk (timings do not depend on the weight values).
fn generator(args: &BenchArgs) -> anyhow::Result<toongan::model::Generator<Cpu>> {
    let registry = StyleRegistry {
        weights_dir: args.weights_dir.clone(),
        allow_download: false,
        ..StyleRegistry::default()
    };
    let device = Default::default();
    Ok(match registry.locate(Style::Shinkai) {
        Ok(dir) => load_published_generator::<Cpu>(&dir, &device)?,
        Err(e) => {
            eprintln!("note: timing random weights ({e})");
            GeneratorConfig::published().init::<Cpu>(&device)
        }
    })
}
