//! Timing the generator on the fast engine and on burn's Flex backend: forward passes at
//! fixed sizes and a photo end to end (decode + forward + encode), each reported as the
//! median of several runs after a warm-up, with the process's peak resident memory.
//!
//! Peak memory (`VmHWM`) is per process, so `toongan bench` runs every case in a child
//! process of its own; this module holds what one child does and the table the parent
//! prints (the same format as `bench/pytorch_generator.py`).

use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::backend::Cpu;
use crate::cartoonize::{BurnTranslator, TileOptions, Translator, cartoonize_image};
use crate::engine::{CpuGenerator, EngineError};
use crate::imageio::{ImageIoError, decode_image, encode_image};
use crate::model::{Generator, GeneratorConfig};

/// Which implementation runs the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchEngine {
    /// This engine ([`CpuGenerator`]).
    Fast,
    /// burn's Flex backend ([`BurnTranslator`]).
    Burn,
}

/// What is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchCase {
    /// One generator forward pass on a `width`x`height` image (no image I/O).
    Forward {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// Decode the benchmark photo, cartoonize it (default tiling), encode a PNG.
    Photo,
}

/// One benchmark: an engine and a case, written `fast:256`, `burn:512x384`, `fast:photo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchSpec {
    /// The implementation.
    pub engine: BenchEngine,
    /// The workload.
    pub case: BenchCase,
}

impl FromStr for BenchSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("bad case '{s}': write ENGINE:CASE, e.g. fast:256, burn:512x384, fast:photo")
        };
        let (e, c) = s.split_once(':').ok_or_else(bad)?;
        let engine = match e {
            "fast" => BenchEngine::Fast,
            "burn" => BenchEngine::Burn,
            _ => return Err(bad()),
        };
        let case = if c == "photo" {
            BenchCase::Photo
        } else {
            let (w, h) = c.split_once('x').unwrap_or((c, c));
            let parse = |v: &str| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| n.is_multiple_of(4) && *n > 0)
            };
            match (parse(w), parse(h)) {
                (Some(width), Some(height)) => BenchCase::Forward { width, height },
                _ => return Err(format!("{}: sides must be positive multiples of 4", bad())),
            }
        };
        Ok(Self { engine, case })
    }
}

impl std::fmt::Display for BenchSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = match self.engine {
            BenchEngine::Fast => "fast",
            BenchEngine::Burn => "burn",
        };
        match self.case {
            BenchCase::Photo => write!(f, "{e}:photo"),
            BenchCase::Forward { width, height } => write!(f, "{e}:{width}x{height}"),
        }
    }
}

/// The default suite: 256², 512² and the 1024x768 photo, on both engines.
pub fn standard_suite() -> Vec<BenchSpec> {
    let mut v = Vec::new();
    for engine in [BenchEngine::Fast, BenchEngine::Burn] {
        for case in [
            BenchCase::Forward {
                width: 256,
                height: 256,
            },
            BenchCase::Forward {
                width: 512,
                height: 512,
            },
            BenchCase::Photo,
        ] {
            v.push(BenchSpec { engine, case });
        }
    }
    v
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The photo could not be read or the output written.
    #[error(transparent)]
    Image(#[from] ImageIoError),
    /// The engine cannot run the generator.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// No temporary folder for the output.
    #[error("cannot create a temporary folder for the benchmark output: {0}")]
    TempDir(std::io::Error),
}

/// Timings of one benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    /// Implementation name (`toongan-fast`, `burn-fastcpu`, `pytorch`, `onnxruntime`).
    pub engine: String,
    /// Workload (`forward 256x256`, `photo 1024x768 e2e`).
    pub case: String,
    /// Timed runs (after one warm-up).
    pub runs: usize,
    /// Median seconds per run.
    pub median_s: f64,
    /// Fastest run in seconds.
    pub min_s: f64,
    /// Peak resident memory of the process in MiB (`VmHWM`), if known.
    pub peak_rss_mib: Option<f64>,
}

/// Peak resident set size of this process in bytes (`VmHWM` of `/proc/self/status`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// One timed run of a case.
type RunOnce<'a> = Box<dyn FnMut() -> Result<(), ImageIoError> + 'a>;

/// Runs one benchmark in this process: one warm-up, then `runs` timed runs.
pub fn run_bench(
    spec: BenchSpec,
    generator: Generator<Cpu>,
    photo: &Path,
    runs: usize,
) -> Result<BenchResult, BenchError> {
    let config = GeneratorConfig::published();
    let (translator, engine): (Box<dyn Translator>, &str) = match spec.engine {
        BenchEngine::Fast => (
            Box::new(CpuGenerator::from_generator(&generator, &config)?),
            "toongan-fast",
        ),
        BenchEngine::Burn => (
            Box::new(BurnTranslator::new(generator, &config, Default::default())),
            "burn-fastcpu",
        ),
    };
    let out_dir = tempfile::tempdir().map_err(BenchError::TempDir)?;
    let (case, mut once): (String, RunOnce<'_>) = match spec.case {
        BenchCase::Forward { width, height } => {
            let rgb: Vec<f32> = (0..width * height * 3)
                .map(|i| ((i * 7919) % 256) as f32 / 255.0)
                .collect();
            let t = translator.as_ref();
            (
                format!("forward {width}x{height}"),
                Box::new(move || {
                    std::hint::black_box(t.translate(&rgb, width, height));
                    Ok(())
                }),
            )
        }
        BenchCase::Photo => {
            let probe = decode_image(photo)?;
            let out = out_dir.path().join("bench.png");
            let t = translator.as_ref();
            (
                format!("photo {}x{} e2e", probe.width, probe.height),
                Box::new(move || {
                    let img = decode_image(photo)?;
                    let (w, h) = (img.width as usize, img.height as usize);
                    let rgb = cartoonize_image(t, &img.rgb, w, h, TileOptions::default());
                    encode_image(&out, img.width, img.height, &rgb, img.alpha.as_deref())
                }),
            )
        }
    };
    once()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        once()?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(BenchResult {
        engine: engine.to_string(),
        case,
        runs: times.len(),
        median_s: times[times.len() / 2],
        min_s: times[0],
        peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / (1 << 20) as f64),
    })
}

/// Formats results as the Markdown table both benchmark commands print.
pub fn format_table(results: &[BenchResult]) -> String {
    let mut s = String::from(
        "| engine | case | median s | min s | runs | peak RSS MiB |\n|---|---|---:|---:|---:|---:|\n",
    );
    for r in results {
        let rss = r
            .peak_rss_mib
            .map_or("?".to_string(), |m| format!("{m:.0}"));
        s.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {} | {} |\n",
            r.engine, r.case, r.median_s, r.min_s, r.runs, rss
        ));
    }
    s
}
