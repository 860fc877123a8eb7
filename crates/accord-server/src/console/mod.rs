//! The read-only web console of `accord serve`, on only when the operator gives a
//! console token: spaces (members, records, last change), sync activity over time (what
//! the server sees: pulls, pushes, conflict answers, per user, token and device), and
//! the log reports devices uploaded.
//!
//! Security, in one place:
//! - Signing in takes the console token (compared in constant time, attempts rate
//!   limited) and sets a signed session cookie ([`session`]): HttpOnly, SameSite=Strict,
//!   scoped to `/console`. Every other console route answers 401 with the sign-in page
//!   and nothing else when the session is missing, forged or expired.
//! - A session is not a sync credential (the sync API reads only bearer tokens) and a
//!   sync token does not open the console (it reads only its own cookie).
//! - Pages are askama templates, which escape every value: all that devices upload is
//!   untrusted. Every response carries [`CONTENT_SECURITY_POLICY`], which allows no
//!   script at all, and is never cached.

mod chart;
mod session;
mod view;

use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::auth;
use crate::http::AppState;
use crate::rate_limit::{RateLimit, TokenBuckets};
use crate::storage::{StorageError, HOUR_MS};
use accord_protocol::now_ms;
use view::{Frame, Section};

/// Shortest console token accepted: it is the one secret between the internet and
/// every space's activity and log reports.
pub const MIN_TOKEN_LEN: usize = 16;

/// Sent with every console response: no script from anywhere, styles only from the
/// console's own stylesheet, forms only to the console, never inside a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Sign-in attempts allowed: a burst of 10, then one a second (for the whole server,
/// so guessing a token costs a second a guess).
pub const SIGN_IN_LIMIT: RateLimit = RateLimit {
    per_second: 1.0,
    burst: 10,
};

const STYLESHEET: &str = include_str!("../../templates/console/console.css");

/// Reports listed on the reports page, and per space on a space's page.
const REPORTS_LISTED: u32 = 50;

/// Sign-in attempts, shared by every request of one server.
pub struct SignInLimit(TokenBuckets);

impl Default for SignInLimit {
    fn default() -> Self {
        SignInLimit(TokenBuckets::new(SIGN_IN_LIMIT))
    }
}

/// The console's routes, for a state whose options hold a console token.
pub fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let signed_in = Router::new()
        .route("/console", get(spaces))
        .route("/console/", get(spaces))
        .route("/console/activity", get(activity))
        .route("/console/reports", get(reports))
        .route("/console/spaces/{space}", get(space))
        .route("/console/spaces/{space}/reports/{report}", get(report))
        .route("/console/logout", post(logout))
        .route("/console/{*rest}", any(not_found))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_session,
        ));
    Router::new()
        .route("/console/login", get(sign_in_form).post(sign_in))
        .route("/console/console.css", get(stylesheet))
        .merge(signed_in)
        .layer(middleware::from_fn(security_headers))
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn console_token(state: &AppState) -> &str {
    state.options.console_token.as_deref().unwrap_or_default()
}

/// Lets a request with a valid session through; anything else gets the sign-in page.
async fn require_session(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let token = console_token(&state);
    let valid = !token.is_empty()
        && session::from_headers(req.headers())
            .is_some_and(|s| session::is_valid(token, s, now_ms()));
    if valid {
        next.run(req).await
    } else {
        sign_in_page(StatusCode::UNAUTHORIZED, None)
    }
}

fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!("console page failed to render: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

fn sign_in_page(status: StatusCode, error: Option<String>) -> Response {
    html(
        status,
        &view::LoginPage {
            frame: Frame::new("Sign in", Section::SignIn),
            error,
        },
    )
}

fn not_found_page(what: String) -> Response {
    html(
        StatusCode::NOT_FOUND,
        &view::NotFoundPage {
            frame: Frame::new("Not found", Section::Spaces),
            what,
        },
    )
}

fn failure_page(e: StorageError) -> Response {
    if let StorageError::NotFound(what) = e {
        return not_found_page(what);
    }
    tracing::error!("console: storage failed: {e}");
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        &view::NotFoundPage {
            frame: Frame::new("Storage unavailable", Section::Spaces),
            what: "The server's storage did not answer; reload in a moment.".into(),
        },
    )
}

/// Runs a blocking storage read for a page, after writing the activity counted so far
/// (so the page shows this server's latest figures).
async fn read<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&dyn crate::storage::Storage) -> Result<T, StorageError> + Send + 'static,
) -> Result<T, Response> {
    state
        .activity
        .flush_in_background(state.storage.clone())
        .await;
    let storage = state.storage.clone();
    match tokio::task::spawn_blocking(move || f(storage.as_ref())).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(failure_page(e)),
        Err(e) => Err(failure_page(StorageError::Database(e.to_string()))),
    }
}

async fn stylesheet() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        STYLESHEET,
    )
        .into_response()
}

async fn sign_in_form() -> Response {
    sign_in_page(StatusCode::OK, None)
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
}

async fn sign_in(
    State(state): State<Arc<AppState>>,
    form: Result<Form<SignIn>, FormRejection>,
) -> Response {
    if let Err(wait) = state.console_sign_ins.0.take("sign-in", Instant::now()) {
        return sign_in_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!(
                "Too many sign-in attempts; try again in {} s.",
                wait.as_secs_f64().ceil().max(1.0)
            )),
        );
    }
    let expected = console_token(&state);
    let given = form.map(|Form(f)| f.token).unwrap_or_default();
    if expected.is_empty() || !auth::secrets_equal(given.trim(), expected) {
        return sign_in_page(
            StatusCode::UNAUTHORIZED,
            Some("That is not this server's console token.".into()),
        );
    }
    let Some(cookie) = session::issue(expected, now_ms()) else {
        return sign_in_page(StatusCode::INTERNAL_SERVER_ERROR, None);
    };
    redirect("/console/", Some(session::set_cookie(&cookie, state.https)))
}

async fn logout(State(state): State<Arc<AppState>>) -> Response {
    redirect("/console/login", Some(session::clear_cookie(state.https)))
}

fn redirect(to: &'static str, cookie: Option<String>) -> Response {
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

async fn not_found() -> Response {
    not_found_page("There is no such page in the console.".into())
}

async fn spaces(State(state): State<Arc<AppState>>) -> Response {
    let now = now_ms();
    let since = now - 24 * HOUR_MS;
    let page = read(&state, move |s| {
        let activity = s.activity(since - HOUR_MS)?;
        Ok(s.spaces()?
            .into_iter()
            .map(|info| view::space_row(info, &activity, now))
            .collect())
    })
    .await;
    match page {
        Ok(spaces) => html(
            StatusCode::OK,
            &view::SpacesPage {
                frame: Frame::new("Spaces", Section::Spaces),
                spaces,
            },
        ),
        Err(resp) => resp,
    }
}

async fn space(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let now = now_ms();
    let since = now - view::DEVICE_DAYS * 24 * HOUR_MS;
    let wanted = name.clone();
    let data = read(&state, move |s| {
        let Some(info) = s.spaces()?.into_iter().find(|i| i.name == wanted) else {
            return Ok(None);
        };
        let activity: Vec<_> = s
            .activity(since)?
            .into_iter()
            .filter(|a| a.space == wanted)
            .collect();
        let users = s.users()?;
        let reports = s.log_reports(&wanted, REPORTS_LISTED)?;
        Ok(Some((info, activity, users, reports)))
    })
    .await;
    let (info, activity, users, reports) = match data {
        Ok(Some(d)) => d,
        Ok(None) => return not_found_page(format!("There is no space named '{name}'.")),
        Err(resp) => return resp,
    };
    html(
        StatusCode::OK,
        &view::SpacePage {
            frame: Frame::new(format!("Space {name}"), Section::Spaces),
            members: view::members(&users, &name),
            charts: view::charts(activity.iter(), now),
            devices: view::devices(activity.iter(), now),
            reports: reports.iter().map(|r| view::report_row(r, now)).collect(),
            space: view::space_row(info, &activity, now),
        },
    )
}

async fn activity(State(state): State<Arc<AppState>>) -> Response {
    let now = now_ms();
    let since = now - view::DEVICE_DAYS * 24 * HOUR_MS;
    match read(&state, move |s| s.activity(since)).await {
        Ok(rows) => html(
            StatusCode::OK,
            &view::ActivityPage {
                frame: Frame::new("Sync activity", Section::Activity),
                charts: view::charts(rows.iter(), now),
                devices: view::devices(rows.iter(), now),
            },
        ),
        Err(resp) => resp,
    }
}

async fn reports(State(state): State<Arc<AppState>>) -> Response {
    let now = now_ms();
    let all = read(&state, |s| {
        let mut all = Vec::new();
        for space in s.spaces()? {
            all.extend(s.log_reports(&space.name, REPORTS_LISTED)?);
        }
        all.sort_by_key(|r| std::cmp::Reverse(r.received_ms));
        all.truncate(REPORTS_LISTED as usize);
        Ok(all)
    })
    .await;
    match all {
        Ok(all) => html(
            StatusCode::OK,
            &view::ReportsPage {
                frame: Frame::new("Log reports", Section::Reports),
                reports: all.iter().map(|r| view::report_row(r, now)).collect(),
            },
        ),
        Err(resp) => resp,
    }
}

async fn report(
    State(state): State<Arc<AppState>>,
    Path((space, id)): Path<(String, String)>,
) -> Response {
    let now = now_ms();
    let (s2, id2) = (space.clone(), id.clone());
    match read(&state, move |s| s.log_report(&s2, &id2)).await {
        Ok(Some(r)) => html(StatusCode::OK, &view::report_page(&r, now)),
        Ok(None) => not_found_page(format!("Space '{space}' has no log report '{id}'.")),
        Err(resp) => resp,
    }
}
