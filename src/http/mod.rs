//! The one axum Router, served locally over TCP and (later) on Lambda.

pub mod error;
pub mod logging;
pub mod twilio;

use crate::clock::Clock;
use crate::config::BaseUrl;
use crate::recordings::RecordingCopier;
use crate::store::{RecordingStore, Store};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use std::sync::Arc;

/// Webhook bodies are small forms; anything bigger is refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a handler needs; no state between requests lives here.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub audio: Arc<dyn RecordingStore>,
    pub copier: Arc<RecordingCopier>,
    pub public_url: BaseUrl,
    pub clock: Arc<dyn Clock>,
}

pub fn app(state: AppState) -> Router {
    use twilio::*;
    Router::new()
        .route("/twilio/{tenant}/voice", post(voice))
        .route(
            "/twilio/{tenant}/ivr/offer/{reason}/{arrived}/{attempt}",
            post(offer),
        )
        .route(
            "/twilio/{tenant}/ivr/enter/{reason}/{arrived}/{attempt}",
            post(enter),
        )
        .route(
            "/twilio/{tenant}/ivr/confirm/{reason}/{arrived}/{attempt}/{typed}",
            post(confirm),
        )
        .route("/twilio/{tenant}/ivr/recorded", post(recorded))
        .route("/twilio/{tenant}/recording", post(recording_status))
        .route_layer(axum::middleware::from_fn(logging::log_request))
        .fallback(logging::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
