//! `toongan survey`: create a human preference survey from image folders, then serve it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use toongan::survey::{
    AdminToken, CreateOptions, ServeOptions, Store, create_survey, router, serve_with_limits,
};

/// Arguments of `toongan survey`.
#[derive(Debug, Args)]
pub struct SurveyArgs {
    #[command(subcommand)]
    command: SurveyCommand,
}

#[derive(Debug, Subcommand)]
enum SurveyCommand {
    /// Build a survey into a new SQLite file (images are copied in, so the file is all you need).
    Create(CreateArgs),
    /// Serve a survey: the participant page and the results behind an admin token.
    Serve(ServeArgs),
}

/// Arguments of `toongan survey create`.
#[derive(Debug, Args)]
struct CreateArgs {
    /// New survey database file (never overwritten).
    #[arg(long)]
    db: PathBuf,
    /// Folder of reference images in the target style (e.g. anime frames).
    #[arg(long)]
    reference: PathBuf,
    /// A method to compare, as NAME=DIR; give it at least twice. Folders holding outputs for
    /// the same photos (same file names) are matched so each question shows one photo.
    #[arg(long = "candidate", value_name = "NAME=DIR", required = true)]
    candidates: Vec<String>,
    /// Number of questions.
    #[arg(long, default_value_t = 24)]
    questions: usize,
    /// Seed of the random draws (same inputs and seed, same survey).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Arguments of `toongan survey serve`.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Survey database made by `toongan survey create`.
    #[arg(long)]
    db: PathBuf,
    /// Address to listen on; use 0.0.0.0:PORT to reach it from phones on the network.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Admin token for the results page (at least 12 of A-Z a-z 0-9 - _ . ~); random if not
    /// given. Printed at start.
    #[arg(long, env = "TOONGAN_SURVEY_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Most participants accepted.
    #[arg(long, default_value_t = 100_000)]
    max_participants: u64,
    /// New participants accepted per minute from one client address (also the burst size).
    #[arg(long, default_value_t = toongan::survey::DEFAULT_PARTICIPANTS_PER_MINUTE)]
    participants_per_minute: u32,
    /// Most connections open at once (further ones wait).
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
}

pub fn run(args: SurveyArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SurveyCommand::Create(a) => create(a),
        SurveyCommand::Serve(a) => serve_cmd(a),
    }
}

fn create(a: CreateArgs) -> anyhow::Result<ExitCode> {
    let mut candidates = Vec::new();
    for c in &a.candidates {
        let Some((name, dir)) = c.split_once('=') else {
            bail!("--candidate {c:?} must be NAME=DIR, e.g. --candidate cartoongan=out/cartoongan");
        };
        candidates.push((name.to_string(), PathBuf::from(dir)));
    }
    let opts = CreateOptions {
        reference: a.reference,
        candidates,
        questions: a.questions,
        seed: a.seed,
    };
    let s = create_survey(&a.db, &opts)?;
    eprintln!(
        "wrote {}: {} questions, {} images ({:.1} MB)",
        a.db.display(),
        s.questions,
        s.images,
        s.image_bytes as f64 / 1e6
    );
    if !s.matched_by_name.is_empty() {
        eprintln!("matched by file name: {}", s.matched_by_name.join(", "));
    }
    if !s.drawn.is_empty() {
        eprintln!("drawn independently: {}", s.drawn.join(", "));
    }
    eprintln!("next: toongan survey serve --db {}", a.db.display());
    Ok(ExitCode::SUCCESS)
}

fn serve_cmd(a: ServeArgs) -> anyhow::Result<ExitCode> {
    if !a.db.is_file() {
        bail!(
            "{} does not exist; make it with `toongan survey create --db {} ...`",
            a.db.display(),
            a.db.display()
        );
    }
    let token = match &a.admin_token {
        Some(t) => AdminToken::from_text(t).context(
            "--admin-token must be 12-256 characters of A-Z a-z 0-9 - _ . ~ (or leave it out for a random one)",
        )?,
        None => AdminToken::random(),
    };
    // Nothing is created or migrated unless the file is a toongan survey.
    let store = Arc::new(Store::open_existing(&a.db)?);
    let survey = store.survey()?;
    let app = router(
        store.clone(),
        ServeOptions {
            token: token.clone(),
            max_participants: a.max_participants,
            participants_per_minute: a.participants_per_minute,
        },
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&a.bind)
            .await
            .with_context(|| format!("cannot listen on {}; pick another --bind", a.bind))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        eprintln!(
            "survey {}: {} questions, methods {}",
            a.db.display(),
            survey.questions.len(),
            survey
                .methods
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        eprintln!("participants: http://{addr}/");
        eprintln!(
            "results (keep this link secret): http://{addr}/admin?token={}",
            token.as_str()
        );
        eprintln!("press Ctrl-C to stop; answers are saved as they arrive");
        let limits = toongan::http::ServeLimits {
            max_connections: a.max_connections,
            ..Default::default()
        };
        serve_with_limits(listener, app, limits, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    store.checkpoint()?;
    eprintln!("stopped; every answer is in {}", a.db.display());
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("shutting down: finishing requests in flight (at most 10 s)");
}
