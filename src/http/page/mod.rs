//! The agents' page at `/app`: plain HTML, CSS and JS compiled into the
//! binary. It talks only to the JSON API, with the session cookie.

use crate::http::AppState;
use crate::http::api::sessions::cookie_is_secure;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const STRINGS_JS: &str = include_str!("strings.js");
const APP_CSS: &str = include_str!("app.css");

/// No inline script or style, nothing from elsewhere; audio also from a
/// presigned S3 link (any https host, or the loopback stand-ins locally).
fn content_security_policy(state: &AppState) -> String {
    let local_media = if cookie_is_secure(state) {
        ""
    } else {
        " http://127.0.0.1:* http://localhost:*"
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; media-src 'self' https:{local_media}; form-action 'self'; \
         base-uri 'none'; frame-ancestors 'none'"
    )
}

fn asset(state: &AppState, content_type: &'static str, body: &'static str) -> Response {
    let csp = HeaderValue::from_str(&content_security_policy(state))
        .unwrap_or(HeaderValue::from_static("default-src 'none'"));
    // `nosniff` is on every answer (`http::protective_headers`).
    let headers: [(HeaderName, HeaderValue); 5] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_SECURITY_POLICY, csp),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        // Revalidated each load: a new binary's page is seen at once.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (StatusCode::OK, headers, body).into_response()
}

#[utoipa::path(
    get, path = "/", tag = "page",
    responses((status = 303, description = "To the agents' page, /app"))
)]
pub async fn root() -> Redirect {
    Redirect::to("/app")
}

#[utoipa::path(
    get, path = "/app", tag = "page",
    responses((status = 200, description = "The agents' page", content_type = "text/html"))
)]
pub async fn index(State(state): State<AppState>) -> Response {
    asset(&state, "text/html; charset=utf-8", INDEX_HTML)
}

#[utoipa::path(
    get, path = "/app/app.js", tag = "page",
    responses((status = 200, description = "The page's script", content_type = "text/javascript"))
)]
pub async fn script(State(state): State<AppState>) -> Response {
    asset(&state, "text/javascript; charset=utf-8", APP_JS)
}

#[utoipa::path(
    get, path = "/app/strings.js", tag = "page",
    responses((status = 200, description = "The page's words in Japanese and English", content_type = "text/javascript"))
)]
pub async fn strings(State(state): State<AppState>) -> Response {
    asset(&state, "text/javascript; charset=utf-8", STRINGS_JS)
}

#[utoipa::path(
    get, path = "/app/app.css", tag = "page",
    responses((status = 200, description = "The page's style sheet", content_type = "text/css"))
)]
pub async fn style(State(state): State<AppState>) -> Response {
    asset(&state, "text/css; charset=utf-8", APP_CSS)
}
