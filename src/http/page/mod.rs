//! The agents' page at `/app`: plain HTML, CSS and JS modules compiled into
//! the binary, the files served from one table. It talks only to the JSON
//! API, with the session cookie.

use crate::http::AppState;
use crate::http::api::sessions::cookie_is_secure;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiPath;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

const INDEX_HTML: &str = include_str!("index.html");

/// `[(name, text)]` of files next to this one, each compiled in.
macro_rules! files {
    ($($name:literal),* $(,)?) => { &[$(($name, include_str!($name))),*] };
}

/// The files under `/app/`: the style sheet, the modules of the script
/// (index.html loads main.js, which imports the others) and the icon.
pub const ASSETS: &[(&str, &str)] = files![
    "app.css",
    "main.js",
    "api.js",
    "dom.js",
    "view.js",
    "i18n.js",
    "strings.js",
    "schema.js",
    "session.js",
    "callbacks.js",
    "list.js",
    "record.js",
    "call.js",
    "admin.js",
    "agents.js",
    "keys.js",
    "settings.js",
    "stats.js",
    "window.js",
    "alerts.js",
    "names.js",
    "dialog.js",
    "shortcuts.js",
    "favicon.svg",
];

/// The content type of a file of the table, by its extension.
pub fn content_type(name: &str) -> &'static str {
    if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else if name.ends_with(".svg") {
        "image/svg+xml"
    } else {
        "text/javascript; charset=utf-8"
    }
}

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

fn serve(state: &AppState, content_type: &'static str, body: &'static str) -> Response {
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
    serve(&state, "text/html; charset=utf-8", INDEX_HTML)
}

/// A file of the page, by name.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AssetPath {
    #[param(schema_with = asset_names)]
    pub file: String,
}

/// The names of `ASSETS`, for the document.
fn asset_names() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ASSETS.iter().map(|(name, _)| *name)))
        .description(Some(
            "A file of the page: its style sheet, a module of its script, or its icon",
        ))
        .into()
}

#[utoipa::path(
    get, path = "/app/{file}", tag = "page",
    params(AssetPath),
    responses(
        (status = 200, description = "The file: the page's style sheet, a module of its script \
(main.js is the entry; strings.js holds the words in Japanese and English), or its icon",
            content(("text/css"), ("text/javascript"), ("image/svg+xml"))),
        (status = 404, description = "No such file", body = ErrorBody,
            example = json!({"error": {"code": "not_found", "message": "the page has no such file"}}))
    )
)]
pub async fn asset(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<AssetPath>,
) -> Result<Response, ApiError> {
    let (name, body) = ASSETS
        .iter()
        .find(|(name, _)| *name == path.file)
        .ok_or_else(|| ApiError::NotFound("the page has no such file".into()))?;
    Ok(serve(&state, content_type(name), body))
}
