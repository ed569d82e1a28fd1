//! The one axum Router, served locally over TCP and on Lambda.

pub mod api;
pub mod error;
pub mod extract;
pub mod limit;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod page;
pub mod range;
pub mod twilio;

use crate::calls::reconcile::Reconciler;
use crate::calls::recordings::RecordingCopier;
use crate::clock::Clock;
use crate::deps::Deps;
use crate::notify::sender::Notifier;
use crate::settings::BaseUrl;
use crate::store::agents::AgentStore;
use crate::store::audit::AuditStore;
use crate::store::idempotency::IdempotencyStore;
use crate::store::notify::EndpointStore;
use crate::store::{RecordingStore, Store};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Webhook bodies are small forms; anything bigger is refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest path and query any route needs (an IVR step with typed
/// digits is under 200 bytes); longer is refused with 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Everything a handler needs; no state between requests lives here.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub audio: Arc<dyn RecordingStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub agents: Arc<dyn AgentStore>,
    pub audit: Arc<dyn AuditStore>,
    /// Notification endpoints.
    pub endpoints: Arc<dyn EndpointStore>,
    pub copier: Arc<RecordingCopier>,
    /// Sends notifications (the endpoints' test event, here).
    pub notifier: Arc<Notifier>,
    /// Requests left while afureko could not answer (the sweeper's).
    pub reconciler: Arc<Reconciler>,
    pub public_url: BaseUrl,
    pub clock: Arc<dyn Clock>,
    /// Rate limits: in memory, shared by every request of this process.
    pub limits: Arc<limit::Limits>,
    /// `/metrics`: its token and the recorder it renders; `None`: off.
    pub metrics: Option<Arc<metrics::MetricsEndpoint>>,
}

impl AppState {
    /// What the use cases run on.
    pub fn deps(&self) -> Deps<'_> {
        Deps {
            store: self.store.as_ref(),
            audio: self.audio.as_ref(),
            agents: self.agents.as_ref(),
            audit: self.audit.as_ref(),
            endpoints: self.endpoints.as_ref(),
            clock: self.clock.as_ref(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "afureko agents' API",
        description = "The callback list: claim a callback, call the customer back, log what happened. \
Authenticate with `Authorization: Bearer <api key>` (the key decides the tenant), \
or sign in (`POST /api/v1/sessions`) for the `afureko_session` cookie; with the cookie, \
every POST, PATCH, PUT and DELETE carries the session's `X-CSRF-Token` header. \
Errors are `{\"error\": {\"code\", \"message\"}}`, with `field` on a `bad_request` about one input \
and `holder` on the `conflict` of a record another agent holds: read those, never the message. \
Every answer carries `X-Content-Type-Options: nosniff`, every API answer `Cache-Control: no-store`."
    ),
    modifiers(&BearerAuth),
    // The error families refer to these by name.
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    tags(
        (name = "callbacks", description = "Work the callback list"),
        (name = "sessions", description = "Sign in and out; the signed-in agent"),
        (name = "agents", description = "The tenant's agents"),
        (name = "admin", description = "The tenant's API keys, settings and notification endpoints: a signed-in admin only"),
        (name = "stats", description = "Service-level figures and the export of a period's records: supervisors, admins and API keys"),
        (name = "page", description = "The agents' page"),
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
        components.add_security_scheme(
            metrics::TOKEN_SCHEME,
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("AFUREKO_METRICS_TOKEN, the operator's"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(api::auth::SESSION_COOKIE))),
        );
        // With the cookie, every write carries it too (`GET /api/v1/me` gives it).
        components.add_security_scheme(
            openapi::CSRF_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token, from GET /api/v1/me or the sign-in answer",
            ))),
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
    let (router, mut doc) = OpenApiRouter::with_openapi(doc)
        .routes(routes!(twilio::ivr::voice))
        .routes(routes!(twilio::routing::dial_result))
        .routes(routes!(twilio::routing::queue_wait))
        .routes(routes!(twilio::routing::queue_offer))
        .routes(routes!(twilio::routing::queue_result))
        .routes(routes!(twilio::ivr::offer))
        .routes(routes!(twilio::ivr::enter))
        .routes(routes!(twilio::ivr::confirm))
        .routes(routes!(twilio::ivr::window))
        .routes(routes!(twilio::ivr::recorded))
        .routes(routes!(twilio::ivr::recording_status))
        .routes(routes!(api::lists::list_callbacks))
        .routes(routes!(
            api::handlers::get_callback,
            api::erase::erase_callback
        ))
        .routes(routes!(api::handlers::claim))
        .routes(routes!(api::handlers::release))
        .routes(routes!(api::handlers::log_attempt))
        .routes(routes!(api::handlers::complete))
        .routes(routes!(api::handlers::recording))
        .routes(routes!(api::notes::add_note))
        .routes(routes!(api::notes::assign))
        .routes(routes!(api::sessions::sign_in))
        .routes(routes!(api::sessions::sign_out))
        .routes(routes!(api::sessions::get_me, api::sessions::change_me))
        .routes(routes!(api::sessions::change_password))
        .routes(routes!(api::agents::list_agents, api::agents::add_agent))
        .routes(routes!(api::agents::change_agent))
        .routes(routes!(api::agents::reset_password))
        .routes(routes!(
            api::api_keys::list_api_keys,
            api::api_keys::create_api_key
        ))
        .routes(routes!(api::api_keys::revoke_api_key))
        .routes(routes!(
            api::settings::get_settings,
            api::settings::change_settings
        ))
        .routes(routes!(api::settings::next_call))
        .routes(routes!(
            api::notifications::list_notifications,
            api::notifications::add_notification
        ))
        .routes(routes!(api::notifications::remove_notification))
        .routes(routes!(api::notifications::test_notification))
        // Calling back (click-to-call).
        .routes(routes!(api::calls::call_back))
        .routes(routes!(api::calls::correct_attempt))
        .routes(routes!(twilio::outbound::answer))
        .routes(routes!(twilio::outbound::connect))
        .routes(routes!(twilio::outbound::customer))
        .routes(routes!(twilio::outbound::dialed))
        .routes(routes!(twilio::outbound::status))
        .routes(routes!(twilio::outbound::recording))
        .routes(routes!(api::stats::get_stats))
        .routes(routes!(api::stats::export_records))
        .routes(routes!(api::lists::counts))
        .routes(routes!(page::root))
        .routes(routes!(page::index))
        .routes(routes!(page::asset))
        .routes(routes!(healthz))
        .routes(routes!(metrics::metrics))
        .split_for_parts();
    openapi::complete(&mut doc);
    (router, doc)
}

#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = String, example = "ok"))
)]
pub async fn healthz() -> &'static str {
    "ok"
}

pub fn app(state: AppState) -> Router {
    let (router, openapi) = routes();
    let openapi = Arc::new(openapi::document(&openapi));
    router
        .route(
            OPENAPI_PATH,
            get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            twilio::deadline::within_budget,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::idempotency::idempotent,
        ))
        .route_layer(axum::middleware::from_fn(logging::log_request))
        .fallback(logging::not_found)
        .method_not_allowed_fallback(logging::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(logging::limit_uri))
        .layer(axum::middleware::from_fn(protective_headers))
        .with_state(state)
}

/// The API's path prefix: its answers are never stored by a browser.
pub const API_PREFIX: &str = "/api/v1";

/// On every answer, fallbacks and errors included: `nosniff`, so no
/// browser reads a JSON, TwiML or audio answer as something else; and on
/// every API answer `no-store`, so a shared browser keeps no callback
/// number, recording, one-time password or key (nor an error about them).
async fn protective_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let api = request.uri().path().starts_with(API_PREFIX);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
