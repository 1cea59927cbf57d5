//! The survey's HTTP server (axum): the participant page and its JSON API, the survey's
//! images by content hash, and the admin results behind a token.
//!
//! Every request is validated against the survey loaded at start: unknown ids get 404,
//! candidates of another question 422, a second answer to a question 409, bodies over
//! [`MAX_BODY_BYTES`] 413. Images are looked up by SHA-256 in the survey's own set, never by
//! path. Database work runs on tokio's blocking pool.
//!
//! Enrolment (`POST /api/participants`) needs a JSON content type, which a cross-site form
//! cannot send, is rate-limited per client address, and the participant cap is checked in
//! the same SQL statement as the insert. Admin responses are `Cache-Control: no-store`.
//! Connections are served by [`crate::http::serve`] (timeouts, connection limit).

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::admin_token::AdminToken;
use super::assets;
use super::error::SurveyError;
use super::layout::Survey;
use super::participant::{ParticipantId, candidate_order, question_order};
use super::results_page::results_html;
use super::stats::survey_stats;
use super::store::{AnswerOutcome, NewAnswer, Store};
use crate::http::{RateLimiter, ServeLimits};

/// Largest request body accepted; an answer is well under 200 bytes.
pub const MAX_BODY_BYTES: usize = 4096;

/// Cookie holding the admin token once the admin opened the results link.
const ADMIN_COOKIE: &str = "toongan_admin";

/// Settings of the server beyond the database.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Token that unlocks `/admin`.
    pub token: AdminToken,
    /// Most participants the survey accepts, so a script cannot fill the disk.
    pub max_participants: u64,
    /// New participants accepted per minute from one client address (also the burst size):
    /// enough for a class behind one NAT, far too few to fill the cap.
    pub participants_per_minute: u32,
}

/// Default of [`ServeOptions::participants_per_minute`].
pub const DEFAULT_PARTICIPANTS_PER_MINUTE: u32 = 120;

struct AppState {
    enrolment: RateLimiter,
    store: Arc<Store>,
    survey: Survey,
    images: HashSet<String>,
    options: ServeOptions,
}

type Shared = Arc<AppState>;

/// An error answer: a status code and a JSON body `{"error": "..."}`.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<SurveyError> for ApiError {
    fn from(e: SurveyError) -> Self {
        eprintln!("survey server error: {e}");
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the survey database failed; please try again".into(),
        )
    }
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SurveyError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "worker failed".into()))?
        .map_err(ApiError::from)
}

/// Builds the router for the survey in `store`.
pub fn router(store: Arc<Store>, options: ServeOptions) -> Result<Router, SurveyError> {
    let survey = store.survey()?;
    let images = survey
        .questions
        .iter()
        .flat_map(|q| {
            std::iter::once(q.reference_image.clone())
                .chain(q.candidates.iter().map(|c| c.image.clone()))
        })
        .collect();
    let state = Arc::new(AppState {
        enrolment: RateLimiter::new(
            options.participants_per_minute,
            options.participants_per_minute,
        ),
        store,
        survey,
        images,
        options,
    });
    Ok(Router::new()
        .route("/", get(|| async { Html(assets::INDEX_HTML) }))
        .route(
            "/assets/app.js",
            get(|| async { asset(assets::APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/style.css",
            get(|| async { asset(assets::STYLE_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/survey", get(survey_info))
        .route("/api/participants", post(new_participant))
        .route("/api/participants/{pid}", get(participant_state))
        .route("/api/participants/{pid}/answers", post(answer))
        .route("/images/{sha}", get(image))
        .merge(
            Router::new()
                .route("/admin", get(admin_page))
                .route("/admin/stats.json", get(admin_stats))
                .route("/admin/chart.svg", get(admin_chart))
                .route("/admin/answers.csv", get(admin_csv))
                .layer(axum::middleware::map_response(no_store)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state))
}

/// Serves `router` on `listener` with the default [`ServeLimits`] until `shutdown` completes,
/// then lets requests in flight finish (up to the shutdown deadline).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SurveyError> {
    serve_with_limits(listener, router, ServeLimits::default(), shutdown).await
}

/// [`serve`] under explicit limits.
pub async fn serve_with_limits(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SurveyError> {
    let bind = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    crate::http::serve(listener, router, limits, shutdown)
        .await
        .map_err(|source| SurveyError::Serve { bind, source })
}

/// Admin pages and exports hold the results: never cached by a browser or proxy.
async fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn asset(body: &'static str, mime: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
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
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    res
}

/// One screen as the page shows it.
#[derive(Serialize)]
struct QuestionView {
    number: u32,
    reference: String,
    candidates: Vec<CandidateView>,
}

#[derive(Serialize)]
struct CandidateView {
    id: String,
    image: String,
}

/// Where a participant stands.
#[derive(Serialize)]
struct ParticipantView {
    participant: String,
    answered: usize,
    total: usize,
    question: Option<QuestionView>,
}

fn view(state: &AppState, pid: &ParticipantId, seed: u64, answered: &[i64]) -> ParticipantView {
    let survey = &state.survey;
    let next = question_order(survey.questions.len(), seed)
        .into_iter()
        .map(|i| &survey.questions[i])
        .find(|q| !answered.contains(&q.id));
    let question = next.map(|q| QuestionView {
        number: q.number,
        reference: format!("/images/{}", q.reference_image),
        candidates: candidate_order(q.candidates.len(), seed, q.number)
            .into_iter()
            .map(|i| CandidateView {
                id: q.candidates[i].token.clone(),
                image: format!("/images/{}", q.candidates[i].image),
            })
            .collect(),
    });
    ParticipantView {
        participant: pid.as_str().to_string(),
        answered: answered.len(),
        total: survey.questions.len(),
        question,
    }
}

/// `GET /api/survey`: what the intro screen says about the survey.
async fn survey_info(State(state): State<Shared>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "questions": state.survey.questions.len(),
        "candidates": state.survey.methods.len(),
    }))
}

fn parse_pid(pid: &str) -> Result<ParticipantId, ApiError> {
    ParticipantId::parse(pid).ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "participant ids are 32 lowercase hex digits".into(),
        )
    })
}

async fn load_participant(
    state: &Shared,
    pid: &ParticipantId,
) -> Result<(u64, Vec<i64>), ApiError> {
    let (store, id) = (state.store.clone(), pid.as_str().to_string());
    blocking(move || store.participant(&id))
        .await?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "unknown participant".into()))
}

/// Whether the request says its body is JSON (`application/json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

async fn new_participant(
    State(state): State<Shared>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<ParticipantView>), ApiError> {
    if !is_json(&headers) {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "start the survey from its page (a JSON request is required)".into(),
        ));
    }
    if let Some(axum::Extension(ConnectInfo(addr))) = peer
        && !state.enrolment.allow(addr.ip())
    {
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            "too many new participants from your network just now; please try again in a minute"
                .into(),
        ));
    }
    let pid = ParticipantId::random();
    let seed: u64 = rand::random();
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect::<String>());
    let (store, id) = (state.store.clone(), pid.as_str().to_string());
    let max = state.options.max_participants;
    let added =
        blocking(move || store.add_participant_capped(&id, seed, agent.as_deref(), max)).await?;
    if !added {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "this survey is full; thank you for your interest".into(),
        ));
    }
    Ok((StatusCode::CREATED, Json(view(&state, &pid, seed, &[]))))
}

async fn participant_state(
    State(state): State<Shared>,
    Path(pid): Path<String>,
) -> Result<Json<ParticipantView>, ApiError> {
    let pid = parse_pid(&pid)?;
    let (seed, answered) = load_participant(&state, &pid).await?;
    Ok(Json(view(&state, &pid, seed, &answered)))
}

/// Body of `POST /api/participants/{pid}/answers`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    question: u32,
    candidate: String,
    #[serde(default)]
    ms: Option<u32>,
}

async fn answer(
    State(state): State<Shared>,
    Path(pid): Path<String>,
    body: Result<Json<AnswerBody>, JsonRejection>,
) -> Result<(StatusCode, Json<ParticipantView>), ApiError> {
    let pid = parse_pid(&pid)?;
    let Json(body) = body.map_err(|r| ApiError(r.status(), r.body_text()))?;
    let question = state.survey.question(body.question).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("unknown question {}", body.question),
        )
    })?;
    let Some(index) = question
        .candidates
        .iter()
        .position(|c| c.token == body.candidate)
    else {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "candidate {:?} is not part of question {}",
                body.candidate, body.question
            ),
        ));
    };
    let (seed, _) = load_participant(&state, &pid).await?;
    let shown = candidate_order(question.candidates.len(), seed, question.number)
        .iter()
        .position(|&i| i == index)
        .unwrap_or(0) as u32;
    let (store, id) = (state.store.clone(), pid.as_str().to_string());
    let (qid, cid) = (question.id, question.candidates[index].id);
    let ms = body.ms;
    let (outcome, answered) = blocking(move || {
        let outcome = store.record_answer(&NewAnswer {
            participant: &id,
            question_id: qid,
            candidate_id: cid,
            shown_position: shown,
            ms_on_question: ms,
        })?;
        let answered = store.participant(&id)?.map(|p| p.1).unwrap_or_default();
        Ok((outcome, answered))
    })
    .await?;
    if outcome == AnswerOutcome::Duplicate {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!(
                "question {} was already answered; answers cannot be changed",
                body.question
            ),
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(view(&state, &pid, seed, &answered)),
    ))
}

async fn image(State(state): State<Shared>, Path(sha): Path<String>) -> Result<Response, ApiError> {
    let not_found = || ApiError(StatusCode::NOT_FOUND, "no such image in this survey".into());
    if !state.images.contains(&sha) {
        return Err(not_found());
    }
    let store = state.store.clone();
    let tag = sha.clone();
    let (mime, bytes) = blocking(move || store.image(&sha))
        .await?
        .ok_or_else(not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".to_string(),
            ),
            (header::ETAG, format!("\"{tag}\"")),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Checks the admin token from `Authorization: Bearer`, or the admin cookie: 401 when none is
/// given, 403 when it is wrong.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix(ADMIN_COOKIE)?.strip_prefix('='))
        .next();
    match bearer.or(cookie) {
        None => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "the results need the admin token: open the /admin?token=... link printed when the server started".into(),
        )),
        Some(t) if state.options.token.matches(t) => Ok(()),
        Some(_) => Err(ApiError(StatusCode::FORBIDDEN, "wrong admin token".into())),
    }
}

async fn admin_page(
    State(state): State<Shared>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(t) = q.token {
        if !state.options.token.matches(&t) {
            return Err(ApiError(StatusCode::FORBIDDEN, "wrong admin token".into()));
        }
        // Move the token from the URL (history, logs) into an HttpOnly cookie.
        let cookie = format!("{ADMIN_COOKIE}={t}; HttpOnly; SameSite=Strict; Path=/admin");
        return Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/admin")).into_response());
    }
    authorize(&state, &headers)?;
    let stats = load_stats(&state).await?;
    Ok(Html(results_html(&state.survey, &stats)).into_response())
}

async fn load_stats(state: &Shared) -> Result<super::stats::SurveyStats, ApiError> {
    let st = state.clone();
    blocking(move || {
        let answers = st.store.answers(&st.survey)?;
        let participants = st.store.participant_count()?;
        Ok(survey_stats(&st.survey, &answers, participants))
    })
    .await
}

async fn admin_stats(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    Ok(Json(load_stats(&state).await?).into_response())
}

async fn admin_chart(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let stats = load_stats(&state).await?;
    let svg = super::chart::bar_chart_svg(&stats, "Closest in style to the reference");
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

async fn admin_csv(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let st = state.clone();
    let csv = blocking(move || {
        let answers = st.store.answers(&st.survey)?;
        super::export::answers_csv(&st.survey, &answers)
            .map_err(|e| SurveyError::Options(e.to_string()))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"answers.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}
