//! The studio's router: the page and its assets, the JSON and image API it uses, and the
//! protections of the survey server (strict headers and CSP, a body limit, a request time
//! limit, ids resolved only through the runs index, an optional token).
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/styles` | styles on disk, runs with a generator, upload limits |
//! | `POST /api/cartoonize?style=NAME` or `?model=RUN` (body: image bytes) | the PNG; `x-toongan-result` names it for `/api/zip` |
//! | `GET /api/progress/{job}` | where the job sent with `x-toongan-job: {job}` stands |
//! | `GET /api/zip?ids=a,b` | the results as a zip |
//! | `GET /api/runs`, `GET /api/runs/{id}` | the runs index, one entry's config, images, report |
//! | `GET /api/runs/{id}/metrics?after=STEP` | its `metrics.jsonl` records after STEP |
//! | `GET /api/runs/{id}/image?path=REL` | one of the entry's images |

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::StudioError;
use super::assets;
use super::job::cartoonize_upload;
use super::models::{Catalogue, ModelSource, run_generator};
use super::queue::JobQueue;
use super::results::{ResultStore, safe_name};
use super::runs_index::{self, RunEntry, RunKind};
use crate::backend::DeviceChoice;
use crate::cartoonize::TileOptions;
use crate::survey::AdminToken;
use crate::weights::Style;

/// Cookie holding the token once the page was opened with `?token=`.
const TOKEN_COOKIE: &str = "toongan_studio";

/// Everything the studio is started with.
#[derive(Debug, Clone)]
pub struct StudioOptions {
    /// Folder searched for training runs and experiments (`--runs`); none: no runs page.
    pub runs: Option<PathBuf>,
    /// Folder holding the published styles' `<style>/` folders.
    pub weights_dir: Option<PathBuf>,
    /// Where generators run.
    pub device: DeviceChoice,
    /// Required on every request when set (always when not bound to loopback).
    pub token: Option<AdminToken>,
    /// Largest upload in bytes (larger bodies get 413).
    pub max_upload_bytes: usize,
    /// Most pixels an upload may decode to (checked on the header; more gets 413).
    pub max_pixels: u64,
    /// Tiling of large images, as `toongan cartoonize --tile/--tile-overlap`.
    pub tiles: TileOptions,
    /// Jobs run at once (clamped to the number of cores).
    pub workers: usize,
    /// Jobs that may wait for a worker; more get 503.
    pub max_waiting: usize,
    /// Longest a request (a cartoonize job included) may take.
    pub request_timeout: Duration,
    /// Results kept for "download all".
    pub keep_results: usize,
    /// Bytes of results kept for "download all".
    pub keep_bytes: usize,
    /// Folder for the jobs' temporary files (a fresh folder inside it is made and removed).
    pub temp_dir: Option<PathBuf>,
}

impl Default for StudioOptions {
    fn default() -> Self {
        Self {
            runs: None,
            weights_dir: None,
            device: DeviceChoice::Cpu,
            token: None,
            max_upload_bytes: 40 << 20,
            max_pixels: 40_000_000,
            tiles: TileOptions::default(),
            workers: 1,
            max_waiting: 16,
            request_timeout: Duration::from_secs(600),
            keep_results: 200,
            keep_bytes: 512 << 20,
            temp_dir: None,
        }
    }
}

struct AppState {
    options: StudioOptions,
    catalogue: Catalogue,
    queue: JobQueue,
    results: ResultStore,
    work_dir: tempfile::TempDir,
}

type Shared = Arc<AppState>;

/// An error answer: a status code and `{"error": "..."}`.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<StudioError> for ApiError {
    fn from(e: StudioError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            eprintln!("studio: {e}");
        }
        ApiError(status, e.to_string())
    }
}

/// Builds the studio's router. Its temporary folder lives as long as the router.
pub fn router(options: StudioOptions) -> Result<Router, StudioError> {
    let work_dir = match &options.temp_dir {
        Some(d) => tempfile::Builder::new()
            .prefix("toongan-studio-")
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix("toongan-studio-").tempdir(),
    }
    .map_err(|e| {
        StudioError::io(
            options
                .temp_dir
                .as_deref()
                .unwrap_or(std::path::Path::new("$TMPDIR")),
            e,
        )
    })?;
    if !options.tiles.tile.is_multiple_of(4) || options.tiles.tile <= 2 * options.tiles.overlap {
        return Err(StudioError::Options(
            "--tile must be a multiple of 4 and more than twice --tile-overlap".into(),
        ));
    }
    let state = Arc::new(AppState {
        catalogue: Catalogue::new(options.weights_dir.clone(), options.device),
        queue: JobQueue::new(
            options.workers,
            options.max_waiting,
            options.request_timeout,
        ),
        results: ResultStore::new(options.keep_results, options.keep_bytes),
        work_dir,
        options: options.clone(),
    });
    let text = |body: &'static str, mime: &'static str| {
        move || async move {
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                body,
            )
        }
    };
    Ok(Router::new()
        .route("/", get(index))
        .route(
            "/assets/app.js",
            get(text(assets::APP_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/assets/runs.js",
            get(text(assets::RUNS_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/assets/chart.js",
            get(text(assets::CHART_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/assets/style.css",
            get(text(assets::STYLE_CSS, "text/css; charset=utf-8")),
        )
        .route("/api/styles", get(styles))
        .route("/api/cartoonize", post(cartoonize))
        .route("/api/progress/{job}", get(progress))
        .route("/api/zip", get(zip))
        .route("/api/runs", get(runs))
        .route("/api/runs/{id}", get(run_detail))
        .route("/api/runs/{id}/metrics", get(run_metrics))
        .route("/api/runs/{id}/image", get(run_image))
        .layer(DefaultBodyLimit::max(options.max_upload_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state))
}

/// Checks the token (when one is set) and bounds the request's time.
async fn guard(State(state): State<Shared>, req: Request, next: Next) -> Response {
    if let Some(token) = &state.options.token {
        let headers = req.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='))
            .next();
        let query_token = (req.uri().path() == "/")
            .then(|| req.uri().query())
            .flatten()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
        if let Some(t) = query_token {
            if !token.matches(t) {
                return ApiError(StatusCode::FORBIDDEN, "wrong token".into()).into_response();
            }
            // Move the token from the address bar (history, logs) into an HttpOnly cookie.
            let cookie = format!("{TOKEN_COOKIE}={t}; HttpOnly; SameSite=Strict; Path=/");
            return ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response();
        }
        match bearer.or(cookie) {
            None => {
                return ApiError(
                    StatusCode::UNAUTHORIZED,
                    "this studio needs its token: open the /?token=... link printed when it started".into(),
                )
                .into_response();
            }
            Some(t) if !token.matches(t) => {
                return ApiError(StatusCode::FORBIDDEN, "wrong token".into()).into_response();
            }
            Some(_) => {}
        }
    }
    let limit = state.options.request_timeout + Duration::from_secs(5);
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the request took longer than {} s", limit.as_secs()),
        )
        .into_response(),
    }
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    res
}

async fn index() -> Response {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(assets::INDEX_HTML),
    )
        .into_response()
}

/// `GET /api/styles`.
async fn styles(State(state): State<Shared>) -> Json<serde_json::Value> {
    let styles: Vec<_> = state
        .catalogue
        .styles()
        .into_iter()
        .map(|s| serde_json::json!({ "name": s.name() }))
        .collect();
    let models: Vec<_> = scan(&state)
        .into_iter()
        .filter(|r| r.has_generator)
        .map(|r| serde_json::json!({ "run": r.id, "name": r.name }))
        .collect();
    Json(serde_json::json!({
        "styles": styles,
        "models": models,
        "max_upload_bytes": state.options.max_upload_bytes,
        "max_pixels": state.options.max_pixels,
        "workers": state.queue.workers(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CartoonizeQuery {
    style: Option<String>,
    model: Option<String>,
    name: Option<String>,
}

/// A client-chosen job id: 8 to 64 of `A-Z a-z 0-9 -`.
fn job_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("x-toongan-job") else {
        return Ok(None);
    };
    let id = v.to_str().unwrap_or_default();
    let ok =
        (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "x-toongan-job must be 8-64 characters of A-Z a-z 0-9 -".into(),
        ));
    }
    Ok(Some(id.to_string()))
}

/// `POST /api/cartoonize?style=NAME` or `?model=RUN`.
async fn cartoonize(
    State(state): State<Shared>,
    Query(q): Query<CartoonizeQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (source, tag) = match (&q.style, &q.model) {
        (Some(s), None) => {
            let style: Style = s.parse().map_err(|_| {
                ApiError(
                    StatusCode::NOT_FOUND,
                    format!("unknown style {s:?}: use one of /api/styles"),
                )
            })?;
            if !state.catalogue.styles().contains(&style) {
                return Err(ApiError(
                    StatusCode::NOT_FOUND,
                    format!(
                        "style {s} has no weights on this machine: start the studio with --weights-dir"
                    ),
                ));
            }
            (ModelSource::Style(style), style.name().to_string())
        }
        (None, Some(id)) => {
            let entry = find(&state, id)?;
            let file = run_generator(&entry.dir).ok_or_else(|| {
                ApiError(
                    StatusCode::NOT_FOUND,
                    format!("run {} has no generator yet (no checkpoint)", entry.name),
                )
            })?;
            (
                ModelSource::Trained(file),
                safe_name(&entry.name).trim_end_matches(".png").to_string(),
            )
        }
        _ => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "give exactly one of ?style=NAME or ?model=RUN".into(),
            ));
        }
    };
    if body.is_empty() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body is empty: send the image file's bytes".into(),
        ));
    }
    let job = job_id(&headers)?;
    let st = state.clone();
    let png = state
        .queue
        .run(job, move |progress| {
            let translator = st.catalogue.translator(&source)?;
            cartoonize_upload(
                &body,
                translator.as_ref(),
                st.options.tiles,
                st.options.max_pixels,
                st.work_dir.path(),
                progress,
            )
        })
        .await?;
    let stem = q
        .name
        .as_deref()
        .map(safe_name)
        .unwrap_or_else(|| "photo.png".into());
    let name = format!("{}_{tag}.png", stem.trim_end_matches(".png"));
    let id = state.results.put(&name, png.clone());
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::HeaderName::from_static("x-toongan-result"), id),
            (
                header::HeaderName::from_static("x-toongan-name"),
                safe_name(&name),
            ),
        ],
        png,
    )
        .into_response())
}

/// `GET /api/progress/{job}`.
async fn progress(
    State(state): State<Shared>,
    Path(job): Path<String>,
) -> Result<Json<super::queue::JobState>, ApiError> {
    state.queue.state(&job).map(Json).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            "no such job queued or running (finished, or never sent)".into(),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZipQuery {
    ids: String,
}

/// `GET /api/zip?ids=a,b`.
async fn zip(State(state): State<Shared>, Query(q): Query<ZipQuery>) -> Result<Response, ApiError> {
    let ids: Vec<&str> = q.ids.split(',').filter(|s| !s.is_empty()).collect();
    if ids.is_empty() || ids.len() > 1000 {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "ids must list 1 to 1000 result ids, comma separated".into(),
        ));
    }
    let bytes = state.results.zip(&ids)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"toongan-cartoons.zip\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

fn scan(state: &AppState) -> Vec<RunEntry> {
    state
        .options
        .runs
        .as_deref()
        .map(runs_index::scan)
        .unwrap_or_default()
}

fn find(state: &AppState, id: &str) -> Result<RunEntry, ApiError> {
    scan(state).into_iter().find(|r| r.id == id).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("no run or experiment with id {id:?} under --runs"),
        )
    })
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    state: &Shared,
    f: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || f(&st))
        .await
        .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "worker failed".into()))?
}

/// `GET /api/runs`.
async fn runs(State(state): State<Shared>) -> Result<Json<serde_json::Value>, ApiError> {
    blocking(&state, |st| {
        Ok(Json(serde_json::json!({
            "root": st.options.runs.as_ref().map(|p| p.display().to_string()),
            "runs": scan(st),
        })))
    })
    .await
}

/// `GET /api/runs/{id}`.
async fn run_detail(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<runs_index::RunDetail>, ApiError> {
    blocking(&state, move |st| {
        let all = scan(st);
        let entry = all
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no run with id {id:?}")))?;
        Ok(Json(runs_index::detail(&entry, &all)))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsQuery {
    after: Option<usize>,
}

/// `GET /api/runs/{id}/metrics?after=STEP`.
async fn run_metrics(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<MetricsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    blocking(&state, move |st| {
        let entry = find(st, &id)?;
        if entry.kind != RunKind::Train {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                "an experiment has no metrics of its own: ask for one of its runs".into(),
            ));
        }
        let records = runs_index::metrics_after(&entry, q.after);
        Ok(Json(serde_json::json!({
            "records": records,
            "images": runs_index::images(&entry),
        })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageQuery {
    path: String,
}

/// `GET /api/runs/{id}/image?path=REL`.
async fn run_image(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<ImageQuery>,
) -> Result<Response, ApiError> {
    blocking(&state, move |st| {
        let entry = find(st, &id)?;
        let path = runs_index::image_path(&entry, &q.path).ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("{} has no image {:?}", entry.name, q.path),
            )
        })?;
        let bytes = std::fs::read(&path)
            .map_err(|_| ApiError(StatusCode::NOT_FOUND, format!("{} is gone", q.path)))?;
        Ok((
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            Body::from(bytes),
        )
            .into_response())
    })
    .await
}
