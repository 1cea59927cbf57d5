//! `toongan studio`: a local web app to cartoonize photos and watch training runs.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use toongan::backend::DeviceChoice;
use toongan::cartoonize::TileOptions;
use toongan::studio::{StudioOptions, router, serve};
use toongan::survey::AdminToken;

/// Arguments of `toongan studio`.
#[derive(Debug, Args)]
pub struct StudioArgs {
    /// Address to listen on. Anything but loopback (e.g. 0.0.0.0:8080 for phones on the
    /// network) needs --token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Folder searched for `toongan train` runs and `toongan experiment` folders (read only).
    #[arg(long)]
    runs: Option<PathBuf>,
    /// Folder holding <style>/ weight folders (the studio never downloads).
    #[arg(long, env = "TOONGAN_WEIGHTS_DIR")]
    weights_dir: Option<PathBuf>,
    /// Where generators run: cpu, cuda[:N], wgpu[:N], wgpu:cpu or auto (`toongan devices`;
    /// CUDA and wgpu need a build with --features cuda / wgpu).
    #[arg(long, default_value = "cpu", value_parser = super::device_arg::parse)]
    device: DeviceChoice,
    /// Token every request must carry (at least 12 of A-Z a-z 0-9 - _ . ~); required when
    /// --bind is not loopback. Open the printed /?token=... link once.
    #[arg(long, env = "TOONGAN_STUDIO_TOKEN")]
    token: Option<String>,
    /// Largest upload in megabytes.
    #[arg(long, default_value_t = 40)]
    max_upload_mb: usize,
    /// Most megapixels an upload may have (read from its header before decoding).
    #[arg(long, default_value_t = 40.0)]
    max_megapixels: f64,
    /// Jobs run at once (at most the number of cores; one job already uses every core).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Jobs that may wait; more are refused with 503.
    #[arg(long, default_value_t = 16)]
    queue: usize,
    /// Longest a job may take, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Largest tile side in pixels, as `toongan cartoonize --tile`.
    #[arg(long, default_value_t = 1024)]
    tile: usize,
    /// Overlap between tiles in pixels, as `toongan cartoonize --tile-overlap`.
    #[arg(long, default_value_t = 64)]
    tile_overlap: usize,
}

pub fn run(args: StudioArgs) -> anyhow::Result<ExitCode> {
    args.device.check()?;
    let addrs: Vec<_> = args
        .bind
        .to_socket_addrs()
        .with_context(|| format!("--bind {}: not an address (use HOST:PORT)", args.bind))?
        .collect();
    let loopback = !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback());
    let token = match &args.token {
        Some(t) => Some(
            AdminToken::from_text(t)
                .context("--token must be 12-256 characters of A-Z a-z 0-9 - _ . ~")?,
        ),
        None if loopback => None,
        None => bail!(
            "--bind {} is reachable from other machines: give --token (12+ characters of A-Z a-z 0-9 - _ . ~), or bind 127.0.0.1",
            args.bind
        ),
    };
    if let Some(dir) = &args.runs
        && !dir.is_dir()
    {
        bail!("--runs {} is not a folder", dir.display());
    }
    // Written so that NaN is refused too.
    if args.max_megapixels.is_nan() || args.max_megapixels <= 0.0 {
        bail!("--max-megapixels must be positive");
    }
    let options = StudioOptions {
        runs: args.runs.clone(),
        weights_dir: args.weights_dir.clone(),
        device: args.device,
        token: token.clone(),
        max_upload_bytes: args.max_upload_mb.max(1) << 20,
        max_pixels: (args.max_megapixels * 1e6) as u64,
        tiles: TileOptions {
            tile: args.tile,
            overlap: args.tile_overlap,
        },
        workers: args.jobs,
        max_waiting: args.queue,
        request_timeout: Duration::from_secs(args.timeout),
        ..StudioOptions::default()
    };
    let app = router(options)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.bind)
            .await
            .with_context(|| format!("cannot listen on {}; pick another --bind", args.bind))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        match &token {
            Some(t) => eprintln!("studio: http://{addr}/?token={}", t.as_str()),
            None => eprintln!("studio: http://{addr}/"),
        }
        if let Some(dir) = &args.runs {
            eprintln!("runs from {}", dir.display());
        }
        eprintln!("press Ctrl-C to stop");
        serve(
            listener,
            app,
            Duration::from_secs(args.timeout),
            super::survey::shutdown_signal(),
        )
        .await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
