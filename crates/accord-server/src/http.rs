//! The HTTP surface: routes, authentication, limits, JSON errors.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

use crate::activity::ActivityRecorder;
use crate::auth;
use crate::metrics::Metrics;
use crate::rate_limit::{RateLimit, TokenBuckets};
use crate::storage::{ActivityCounts, ActivityKey, Storage, StorageError, TokenAccess, User};
use accord_protocol::{
    now_ms, ChangesPage, ErrorBody, ErrorCode, Health, LogReceipt, LogReport, MutationBatch,
    MutationResult, MutationResults, RawData, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_STREAM_PAGES,
};

/// Server limits and access settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerOptions {
    /// Largest request body accepted, after decompression (413 above it).
    pub max_body_bytes: usize,
    /// Requests allowed per bearer token (429 with `Retry-After` above it); `None`
    /// turns limiting off.
    pub rate_limit: Option<RateLimit>,
    /// When set, `/metrics` answers only requests bearing this token (compared in
    /// constant time); when `None`, `/metrics` is open, as Prometheus scrapers expect on
    /// a private network.
    pub metrics_token: Option<String>,
    /// When set (at least [`crate::console::MIN_TOKEN_LEN`] characters), the read-only
    /// web console is served under `/console`, opened by signing in with this token;
    /// when `None`, there is no console.
    pub console_token: Option<String>,
    /// How long a mutation id is remembered when no device acknowledges its answer
    /// (clients that do not send `answered_below`, and devices that stopped syncing).
    /// Ids of devices that do acknowledge are forgotten as soon as they do. See
    /// `docs/reliability.md`.
    pub mutation_id_window: Duration,
}

/// Default of [`ServerOptions::mutation_id_window`]: a year.
pub const DEFAULT_MUTATION_ID_WINDOW: Duration = Duration::from_secs(365 * 24 * 3600);

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: 8 * 1024 * 1024,
            rate_limit: Some(RateLimit::default()),
            metrics_token: None,
            console_token: None,
            mutation_id_window: DEFAULT_MUTATION_ID_WINDOW,
        }
    }
}

/// When the retention window last ran and when it runs next: at most every tenth of
/// the window (and at least hourly), before a push, in a transaction of its own.
#[derive(Debug, Default)]
pub struct RetentionClock {
    next_ms: AtomicI64,
}

impl RetentionClock {
    /// True when the window is due at `now_ms`; then it is not due again for `every`
    /// (only one caller of several at the same instant gets true).
    fn due(&self, now_ms: i64, every: Duration) -> bool {
        let next = self.next_ms.load(Ordering::Acquire);
        now_ms >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(every.as_millis() as i64),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }
}

/// What every handler shares.
pub struct AppState {
    /// Where data lives.
    pub storage: Arc<dyn Storage>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Limits.
    pub options: ServerOptions,
    /// Per-token request budgets (empty when limiting is off).
    pub buckets: Option<TokenBuckets>,
    /// Sync activity counted since it was last written to storage.
    pub activity: Arc<ActivityRecorder>,
    /// True when served over TLS: the console's cookie is then marked `Secure`.
    pub https: bool,
    /// Console sign-in attempts.
    pub console_sign_ins: crate::console::SignInLimit,
    /// When the mutation-id retention window runs next.
    pub retention: RetentionClock,
}

impl AppState {
    /// State for serving `storage` with `options`.
    pub fn new(storage: Arc<dyn Storage>, options: ServerOptions) -> Self {
        AppState {
            storage,
            metrics: Metrics::default(),
            buckets: options.rate_limit.map(TokenBuckets::new),
            activity: Arc::default(),
            https: false,
            console_sign_ins: Default::default(),
            retention: RetentionClock::default(),
            options,
        }
    }
}

/// An error answer: status from the code, JSON body.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    /// Seconds for `Retry-After` (429).
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: self.code,
            message: self.message,
        };
        let mut resp = (status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Invalid(m) => ApiError::new(ErrorCode::BadRequest, m),
            StorageError::NotFound(m) => ApiError::new(ErrorCode::NotFound, m),
            StorageError::Conflict(m) => ApiError::new(ErrorCode::BadRequest, m),
            StorageError::Busy(m) => {
                tracing::warn!("storage busy: {m}");
                ApiError {
                    code: ErrorCode::Unavailable,
                    message: "the server is busy; retry shortly".into(),
                    retry_after: Some(1),
                }
            }
            StorageError::Database(m) => {
                tracing::error!("storage failed: {m}");
                ApiError::new(
                    ErrorCode::Internal,
                    "the server's storage failed; retry later",
                )
            }
        }
    }
}

/// Runs a blocking storage call on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => {
            tracing::error!("storage task failed: {e}");
            Err(ApiError::new(
                ErrorCode::Internal,
                "the server failed; retry later",
            ))
        }
    }
}

/// The router with every route, limit and layer.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.options.max_body_bytes;
    let console = match &state.options.console_token {
        Some(t) if t.len() >= crate::console::MIN_TOKEN_LEN => crate::console::routes(&state),
        Some(_) => {
            tracing::error!(
                "console token shorter than {} characters: the console is off",
                crate::console::MIN_TOKEN_LEN
            );
            Router::new()
        }
        None => Router::new(),
    };
    Router::new()
        .merge(console)
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/spaces/{space}/changes", get(changes))
        .route("/v1/spaces/{space}/mutations", post(mutations))
        .route("/v1/spaces/{space}/logs", post(logs))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestDecompressionLayer::new())
        // zstd for clients that accept it (ours do), gzip for the others, each at its
        // default level: on 1 KB records zstd's default compresses a page to about the
        // size gzip's does (24% against 23% of the JSON) at 16 times the speed, and gzip's
        // default level was two thirds of all CPU time of an initial sync
        // (bench/results/sync.md).
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(ErrorCode::Internal, "the server failed; retry later").into_response()
        }))
        // Outermost, so it wraps the body as it came off the wire: a refused body is read
        // to its end and the client can read the answer (see `drain`).
        .layer(middleware::map_request(crate::drain::drain_unread_body))
        .with_state(state)
}

async fn count_requests(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let started = Instant::now();
    let resp = next.run(req).await;
    state.metrics.request(
        &route,
        resp.status().as_u16(),
        started.elapsed().as_micros() as u64,
    );
    resp
}

async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such route; the API lives under /v1",
    )
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    let storage = state.storage.clone();
    let kind = storage.kind().to_string();
    let ok = blocking(move || storage.ping()).await.is_ok();
    let body = Health {
        status: if ok { "ok" } else { "unavailable" }.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        storage: kind,
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.options.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::bearer)
            .unwrap_or("");
        if !auth::secrets_equal(given, expected) {
            Metrics::add(&state.metrics.auth_failures, 1);
            return ApiError::new(
                ErrorCode::Unauthorized,
                "/metrics needs the metrics token: send Authorization: Bearer <token>",
            )
            .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Who makes a sync request, once authorized.
struct Caller {
    user: User,
    space_id: i64,
    /// Public id of the token.
    token: String,
    /// The device the request named, empty when none.
    device: String,
}

impl Caller {
    /// Counts what the request did, under this caller in the current hour.
    fn count(&self, state: &AppState, counts: ActivityCounts) {
        let now = now_ms();
        state.activity.add(
            ActivityKey {
                space_id: self.space_id,
                user_id: self.user.user_id,
                token: self.token.clone(),
                device: self.device.clone(),
                hour_ms: ActivityKey::hour_of(now),
            },
            ActivityCounts {
                last_ms: now,
                ..counts
            },
        );
    }
}

/// The device a request names in [`accord_protocol::DEVICE_HEADER`] (empty when it
/// names none); 400 for a value that is not a valid name.
fn device_of(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(accord_protocol::DEVICE_HEADER) else {
        return Ok(String::new());
    };
    let bad = |why: String| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("{} header: {why}", accord_protocol::DEVICE_HEADER),
        )
    };
    let device = value
        .to_str()
        .map_err(|_| bad("must be visible ASCII".into()))?;
    accord_protocol::check_name("device", device).map_err(bad)?;
    Ok(device.to_string())
}

/// Resolves the token and the space: 401 for a missing, unknown or revoked token; 404
/// for a space that does not exist or is not granted (the same answer, so a token
/// cannot probe which spaces exist).
async fn authorize(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    space: Result<Path<String>, PathRejection>,
) -> Result<Caller, ApiError> {
    let Path(space) = space.map_err(|e| ApiError::new(ErrorCode::BadRequest, e.body_text()))?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::bearer)
        .ok_or_else(|| {
            Metrics::add(&state.metrics.auth_failures, 1);
            ApiError::new(
                ErrorCode::Unauthorized,
                "missing bearer token: send Authorization: Bearer <token>",
            )
        })?;
    let hash = auth::token_hash(token);
    let token_id = auth::token_id(&hash).to_string();
    let space_name = space.clone();
    // Limited before the database is asked, so guessing tokens costs the server little.
    if let Some(buckets) = &state.buckets {
        if let Err(wait) = buckets.take(&hash, Instant::now()) {
            Metrics::add(&state.metrics.rate_limited, 1);
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            return Err(ApiError {
                code: ErrorCode::RateLimited,
                message: format!("too many requests with this token; retry in {secs} s"),
                retry_after: Some(secs),
            });
        }
    }
    let storage = state.storage.clone();
    match blocking(move || storage.access(&hash, &space_name)).await? {
        TokenAccess::Granted(user, space_id) => Ok(Caller {
            user,
            space_id,
            token: token_id,
            device: device_of(headers)?,
        }),
        TokenAccess::NoGrant(_) => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("space '{space}' does not exist or this token has no grant for it"),
        )),
        TokenAccess::UnknownToken => {
            Metrics::add(&state.metrics.auth_failures, 1);
            Err(ApiError::new(
                ErrorCode::Unauthorized,
                "unknown or revoked token",
            ))
        }
    }
}

fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                "request body too large; send fewer mutations per request",
            )
        } else {
            ApiError::new(
                ErrorCode::BadRequest,
                format!("cannot read the request body: {}", e.body_text()),
            )
        }
    })
}

/// What a `GET .../changes` asks for.
struct FeedQuery {
    since: i64,
    limit: u32,
    /// Streamed pages wanted ([`accord_protocol::FEATURE_FEED_STREAM`]); `None`: one page
    /// as a JSON object, as before the feature.
    pages: Option<u32>,
}

fn parse_query(raw: Option<String>) -> Result<FeedQuery, ApiError> {
    let mut since = 0i64;
    let mut limit = DEFAULT_PAGE_LIMIT;
    let mut pages = None;
    for pair in raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "since" => {
                since = v.parse().ok().filter(|s: &i64| *s >= 0).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::BadRequest,
                        format!("since must be a sequence number ≥ 0, got '{v}'"),
                    )
                })?
            }
            "limit" => {
                limit = v.parse().ok().filter(|l: &u32| *l >= 1).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::BadRequest,
                        format!("limit must be a number ≥ 1, got '{v}'"),
                    )
                })?
            }
            "pages" => {
                let n = v.parse().ok().filter(|n: &u32| *n >= 1).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::BadRequest,
                        format!("pages must be a number ≥ 1, got '{v}'"),
                    )
                })?;
                pages = Some(n.min(MAX_STREAM_PAGES));
            }
            other => {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    format!("unknown query parameter '{other}'"),
                ))
            }
        }
    }
    Ok(FeedQuery {
        since,
        limit: limit.min(MAX_PAGE_LIMIT),
        pages,
    })
}

/// The optional parts of the protocol this server understands, listed on every page.
fn features() -> Vec<String> {
    vec![
        accord_protocol::FEATURE_ANSWERED_BELOW.to_string(),
        accord_protocol::FEATURE_FEED_STREAM.to_string(),
    ]
}

/// One page of `caller`'s feed from `since`, with the count of what follows when asked.
async fn read_page(
    state: &Arc<AppState>,
    caller: &Caller,
    since: i64,
    limit: u32,
    count_remaining: bool,
) -> Result<ChangesPage<RawData>, ApiError> {
    let storage = state.storage.clone();
    let space_id = caller.space_id;
    let page = blocking(move || {
        let mut page = storage.changes(space_id, since, limit)?;
        if count_remaining {
            page.remaining = Some(if page.more {
                storage.count_changes(space_id, page.next)?
            } else {
                0
            });
        }
        page.features = features();
        Ok(page)
    })
    .await?;
    Metrics::add(&state.metrics.changes_served, page.changes.len() as u64);
    caller.count(
        state,
        ActivityCounts {
            pulls: 1,
            records_pulled: page.changes.len() as u64,
            ..ActivityCounts::default()
        },
    );
    Ok(page)
}

async fn changes(
    State(state): State<Arc<AppState>>,
    space: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, space).await?;
    let query = parse_query(query)?;
    let count_remaining = headers.contains_key(accord_protocol::COUNT_REMAINING_HEADER);
    let page = read_page(&state, &caller, query.since, query.limit, count_remaining).await?;
    match query.pages {
        None => Ok(Json(page).into_response()),
        Some(pages) => Ok(stream_pages(state, caller, page, query.limit, pages)),
    }
}

/// A streamed feed ([`accord_protocol::FEATURE_FEED_STREAM`]) that starts with `first`
/// (read before answering, so a failure there still gets its status code). Each next page
/// is read while the client takes the one before: the channel holds one page, so a slow
/// client holds the server to two pages in memory. A failure after the first page ends the
/// stream cut short; the client keeps the whole pages it has and asks again.
fn stream_pages(
    state: Arc<AppState>,
    caller: Caller,
    first: ChangesPage<RawData>,
    limit: u32,
    pages: u32,
) -> Response {
    let (lines, received) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::spawn(async move {
        let mut page = first;
        for sent in 1..=pages {
            let (more, next) = (page.more && !page.changes.is_empty(), page.next);
            let line = page_line(page).await;
            let failed = line.is_err();
            // A closed channel: the client went away.
            if lines.send(line).await.is_err() || failed || !more || sent == pages {
                return;
            }
            page = match read_page(&state, &caller, next, limit, false).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!("streamed feed cut short at {next}: {}", e.message);
                    let _ = lines
                        .send(Err(std::io::Error::other("the feed could not be read")))
                        .await;
                    return;
                }
            };
        }
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(accord_protocol::STREAM_CONTENT_TYPE),
        )],
        axum::body::Body::new(FeedBody(received)),
    )
        .into_response()
}

/// A page as one line of a streamed feed, encoded off the async workers.
async fn page_line(page: ChangesPage<RawData>) -> Result<Bytes, std::io::Error> {
    let encoded = tokio::task::spawn_blocking(move || {
        let mut line = serde_json::to_vec(&page)?;
        line.push(b'\n');
        Ok::<_, serde_json::Error>(Bytes::from(line))
    })
    .await;
    match encoded {
        Ok(Ok(line)) => Ok(line),
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// The body of a streamed feed: the lines a page reader sends, then its end (or an
/// error, which cuts the response short).
struct FeedBody(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl http_body::Body for FeedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|line| line.map(|r| r.map(http_body::Frame::data)))
    }
}

async fn mutations(
    State(state): State<Arc<AppState>>,
    space: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, space).await?;
    let space_id = caller.space_id;
    let body = read_body(body)?;
    let batch: MutationBatch = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("invalid mutations body: {e}"),
        )
    })?;
    forget_old_mutation_ids(&state).await;
    let storage = state.storage.clone();
    let results = blocking(move || storage.apply(space_id, &batch)).await?;
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, MutationResult::Conflict { .. }))
        .count() as u64;
    Metrics::add(&state.metrics.mutations_conflicted, conflicts);
    Metrics::add(
        &state.metrics.mutations_applied,
        results.len() as u64 - conflicts,
    );
    caller.count(
        &state,
        ActivityCounts {
            pushes: 1,
            mutations_applied: results.len() as u64 - conflicts,
            conflicts,
            ..ActivityCounts::default()
        },
    );
    Ok(Json(MutationResults { results }).into_response())
}

/// Runs the retention window when it is due: forgets the mutation ids applied longer
/// than [`ServerOptions::mutation_id_window`] ago. Its own transaction, before the push
/// (not inside it: on PostgreSQL a scan over every space's ids inside each push would
/// make pushes of different spaces conflict). A failure is logged and the push goes on:
/// keeping ids longer is always safe.
async fn forget_old_mutation_ids(state: &Arc<AppState>) {
    let window = state.options.mutation_id_window;
    let every = (window / 10).min(Duration::from_secs(3600));
    let now = now_ms();
    if !state.retention.due(now, every) {
        return;
    }
    let before = now.saturating_sub(window.as_millis().min(i64::MAX as u128) as i64);
    let storage = state.storage.clone();
    match blocking(move || storage.forget_mutations(before)).await {
        Ok(n) => Metrics::add(&state.metrics.mutation_ids_forgotten, n),
        Err(e) => tracing::warn!("cannot forget old mutation ids: {}", e.message),
    }
}

async fn logs(
    State(state): State<Arc<AppState>>,
    space: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, space).await?;
    let (user, space_id) = (caller.user.clone(), caller.space_id);
    let body = read_body(body)?;
    let report: LogReport = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("invalid log report: {e}")))?;
    accord_protocol::check_name("report_id", &report.report_id)
        .map_err(|m| ApiError::new(ErrorCode::BadRequest, m))?;
    let storage = state.storage.clone();
    let report_id = report.report_id.clone();
    let stored = blocking(move || storage.store_log_report(space_id, &user, &report)).await?;
    if stored {
        Metrics::add(&state.metrics.log_reports, 1);
        caller.count(
            &state,
            ActivityCounts {
                log_reports: 1,
                ..ActivityCounts::default()
            },
        );
    }
    Ok(Json(LogReceipt { report_id, stored }).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_parsed_and_clamped() {
        let parsed = |q: Option<&str>| {
            parse_query(q.map(str::to_string)).map(|f| (f.since, f.limit, f.pages))
        };
        assert_eq!(parsed(None).unwrap(), (0, DEFAULT_PAGE_LIMIT, None));
        assert_eq!(
            parsed(Some("since=5&limit=99999")).unwrap(),
            (5, MAX_PAGE_LIMIT, None)
        );
        assert_eq!(
            parsed(Some("since=5&pages=99999")).unwrap(),
            (5, DEFAULT_PAGE_LIMIT, Some(MAX_STREAM_PAGES))
        );
        assert!(parse_query(Some("pages=0".into())).is_err());
        assert!(parse_query(Some("since=-1".into())).is_err());
        assert!(parse_query(Some("limit=0".into())).is_err());
        assert!(parse_query(Some("sincе=1".into())).is_err());
    }
}
