//! One log line per request: route (the pattern, never the raw path, which
//! can hold typed phone numbers), tenant, CallSid, status and latency; the
//! same figures counted for `/metrics` (`monitoring::request`).

use crate::http::error::{ApiError, InternalCause};
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use tracing::Instrument;

pub async fn log_request(route: MatchedPath, request: Request, next: Next) -> Response {
    // On Lambda every line carries the invocation's request id.
    let lambda_request_id = request
        .extensions()
        .get::<lambda_http::Context>()
        .map(|c| c.request_id.clone());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = route.as_str(),
        lambda_request_id = lambda_request_id.as_deref(),
        tenant = tracing::field::Empty,
        call_sid = tracing::field::Empty,
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    let latency_ms = seconds * 1000.0;
    let status = response.status().as_u16();
    crate::monitoring::request(route.as_str(), status, seconds);
    span.in_scope(|| match response.extensions().get::<InternalCause>() {
        Some(InternalCause(cause)) => {
            tracing::error!(status, latency_ms, error = %cause, "request failed");
        }
        None => tracing::info!(status, latency_ms, "request"),
    });
    response
}

pub async fn not_found(request: Request) -> Response {
    tracing::info!(method = %request.method(), status = 404, "request to no route");
    ApiError::NotFound("no such route".into()).into_response()
}

/// No route takes a URL this long; refused before routing, in our JSON.
/// (hyper itself answers an empty 414 past 64 KiB, before any of this.)
pub async fn limit_uri(request: Request, next: Next) -> Response {
    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if length > crate::http::MAX_URI_BYTES {
        return ApiError::UriTooLong(crate::http::MAX_URI_BYTES).into_response();
    }
    next.run(request).await
}

/// A route that exists, asked with another method; axum adds `Allow`.
pub async fn method_not_allowed(method: axum::http::Method) -> Response {
    ApiError::MethodNotAllowed(method).into_response()
}
