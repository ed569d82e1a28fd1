//! `GET /metrics` on `afureko serve`: the Prometheus text format, for the
//! holder of `AFUREKO_METRICS_TOKEN`; without the token set it does not
//! exist (404). On Lambda the same figures leave as EMF log lines
//! (`monitoring`).

use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::settings::MetricsToken;
use crate::telemetry::error_chain;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The OpenAPI security scheme of `/metrics` (its annotation names it too).
pub const TOKEN_SCHEME: &str = "metrics_token";

/// A recorder that renders the Prometheus text format: the exporter's,
/// linked by `serve` only (the Lambda build has none).
pub trait Exposition: Send + Sync {
    fn render(&self) -> String;
    /// Drains histograms, which otherwise grow between scrapes.
    fn upkeep(&self);
}

/// What `/metrics` needs: the token it asks for and the recorder it renders.
pub struct MetricsEndpoint {
    token: MetricsToken,
    recorder: Box<dyn Exposition>,
}

impl MetricsEndpoint {
    pub fn new(token: MetricsToken, recorder: Box<dyn Exposition>) -> Self {
        MetricsEndpoint { token, recorder }
    }

    /// `serve` calls it every few seconds.
    pub fn upkeep(&self) {
        self.recorder.upkeep();
    }
}

#[cfg(feature = "cli")]
impl Exposition for metrics_exporter_prometheus::PrometheusHandle {
    fn render(&self) -> String {
        metrics_exporter_prometheus::PrometheusHandle::render(self)
    }
    fn upkeep(&self) {
        self.run_upkeep();
    }
}

/// Compares the SHA-256 of both in constant time: neither the token nor
/// its length leaks through timing.
fn same_token(sent: &str, token: &MetricsToken) -> bool {
    let (a, b) = (
        Sha256::digest(sent.as_bytes()),
        Sha256::digest(token.expose().as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// Requests by route and status, latency histograms, webhooks by outcome,
/// recording copies by outcome, and the copy queue's depth (read now).
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "The Prometheus text format (0.0.4)", content_type = "text/plain",
            body = String, example = "# TYPE afureko_http_requests_total counter\n"),
        (status = 401, description = "No or wrong token", body = ErrorBody,
            example = json!({"error": {"code": "unauthorized", "message": "Authorization must be Bearer <AFUREKO_METRICS_TOKEN>"}})),
        (status = 404, description = "Off: AFUREKO_METRICS_TOKEN is not set (always on Lambda, which sends the figures to CloudWatch)",
            body = ErrorBody, example = json!({"error": {"code": "not_found", "message": "no such route"}})),
    ),
    security(("metrics_token" = []))
)]
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(endpoint) = &state.metrics else {
        return Err(ApiError::NotFound("no such route".into()));
    };
    if !bearer(&headers).is_some_and(|sent| same_token(sent, &endpoint.token)) {
        return Err(ApiError::Unauthorized(
            "Authorization must be Bearer <AFUREKO_METRICS_TOKEN>".into(),
        ));
    }
    if let Err(e) = state.copier.depth().await {
        // The rest is still worth having.
        tracing::warn!(error = error_chain(&e), "the copy queue's depth is unknown");
    }
    let text = endpoint.recorder.render();
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_passes() {
        let token = MetricsToken::parse("AFUREKO_METRICS_TOKEN", "0123456789abcdef").unwrap();
        assert!(same_token("0123456789abcdef", &token));
        assert!(!same_token("0123456789abcdeF", &token));
        assert!(!same_token("0123456789abcdef0", &token));
        assert!(!same_token("", &token));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer  tok ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("tok"));
        headers.insert(header::AUTHORIZATION, "Basic tok".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
