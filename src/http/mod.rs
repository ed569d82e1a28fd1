//! The one axum Router, served locally over TCP and (later) on Lambda.

pub mod api;
pub mod error;
pub mod logging;
pub mod twilio;

use crate::clock::Clock;
use crate::config::BaseUrl;
use crate::recordings::RecordingCopier;
use crate::store::{RecordingStore, Store};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "afureko agents' API",
        description = "The callback list: claim a callback, call the customer back, log what happened. \
Authenticate with `Authorization: Bearer <api key>`; the key decides the tenant. \
Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "callbacks", description = "Work the callback list"),
        (name = "twilio", description = "Webhooks Twilio calls: signed forms in, TwiML out"),
        (name = "operations", description = "Health and this document")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Every route with its OpenAPI document: both come from the handlers'
/// annotations, so a route cannot exist undocumented.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut doc = ApiDoc::openapi();
    // The document's own route: described here, served by `app`.
    doc.paths.add_path_operation(
        OPENAPI_PATH,
        vec![utoipa::openapi::HttpMethod::Get],
        utoipa::openapi::path::OperationBuilder::new()
            .tag("operations")
            .summary(Some("This OpenAPI document"))
            .response("200", utoipa::openapi::Response::new("OpenAPI 3.1 JSON"))
            .build(),
    );
    OpenApiRouter::with_openapi(doc)
        .routes(routes!(twilio::voice))
        .routes(routes!(twilio::dial_result))
        .routes(routes!(twilio::queue_wait))
        .routes(routes!(twilio::queue_offer))
        .routes(routes!(twilio::queue_result))
        .routes(routes!(twilio::offer))
        .routes(routes!(twilio::enter))
        .routes(routes!(twilio::confirm))
        .routes(routes!(twilio::recorded))
        .routes(routes!(twilio::recording_status))
        .routes(routes!(api::list_callbacks))
        .routes(routes!(api::get_callback))
        .routes(routes!(api::claim))
        .routes(routes!(api::release))
        .routes(routes!(api::log_attempt))
        .routes(routes!(api::complete))
        .routes(routes!(api::recording))
        .routes(routes!(api::healthz))
        .split_for_parts()
}

pub fn app(state: AppState) -> Router {
    let (router, openapi) = routes();
    let openapi = Arc::new(openapi);
    router
        .route(
            OPENAPI_PATH,
            get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .route_layer(axum::middleware::from_fn(logging::log_request))
        .fallback(logging::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
