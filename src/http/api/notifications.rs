//! The tenant's notification endpoints, managed by a signed-in admin:
//! list (with each one's newest deliveries), add (a standard endpoint's
//! signing secret shown once), remove, and send the test event.

use crate::domain::notify::EventType;
use crate::domain::notify::endpoint::{DeliveryLog, DeliveryState, Endpoint, Format};
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::error::{AdminBodyErrors, AdminErrors, ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath};
use crate::notify::{self, NewEndpoint};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const WHAT: &str = "managing notification endpoints";

/// A try of a delivery, as an endpoint's admins see it.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id`: the same on every try of one event.
    #[schema(example = "msg_0193c0de000070008000000000000000_0_0")]
    pub id: String,
    /// The event's `type`.
    #[schema(example = "callback.created")]
    pub event: String,
    /// RFC 3339, UTC.
    pub first_at: String,
    pub last_at: String,
    pub attempts: u32,
    pub state: DeliveryState,
    /// The endpoint's HTTP status, when it answered.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why the latest try failed.
    #[schema(nullable = false, example = "HTTP 500: upstream unavailable")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<&DeliveryLog> for DeliveryView {
    fn from(d: &DeliveryLog) -> Self {
        DeliveryView {
            id: d.id.clone(),
            event: d.event.clone(),
            first_at: d.first_at.to_string(),
            last_at: d.last_at.to_string(),
            attempts: d.attempts,
            state: d.state,
            status: d.status,
            error: d.error.clone(),
        }
    }
}

/// An endpoint as listed: never its signing secret.
#[derive(Serialize, ToSchema)]
pub struct EndpointView {
    #[schema(example = "ne_0123456789abcdef")]
    pub id: String,
    #[schema(example = "https://hooks.example.com/afureko")]
    pub url: String,
    pub events: Vec<EventType>,
    pub format: Format,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// False once disabled (`410 Gone`).
    pub active: bool,
    /// Why it was disabled, and when.
    #[schema(nullable = false, example = "410 Gone")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<String>,
    /// The newest deliveries first (at most 20).
    pub deliveries: Vec<DeliveryView>,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        EndpointView {
            id: e.id.clone(),
            url: e.url.clone(),
            events: e.events.clone(),
            format: e.format,
            created_at: e.created_at.to_string(),
            active: e.disabled.is_none(),
            disabled_reason: e.disabled.as_ref().map(|d| d.reason.clone()),
            disabled_at: e.disabled.as_ref().map(|d| d.at.to_string()),
            deliveries: e.deliveries.iter().map(DeliveryView::from).collect(),
        }
    }
}

/// A new endpoint: a standard one's `secret` is in this answer only.
#[derive(Serialize, ToSchema)]
pub struct NewEndpointView {
    #[serde(flatten)]
    pub view: EndpointView,
    /// Verifies the `webhook-signature` of its deliveries (Standard
    /// Webhooks); none for Slack.
    #[schema(nullable = false, example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointBody {
    /// `https://` to a public address.
    #[schema(max_length = 2000, example = "https://hooks.example.com/afureko")]
    pub url: String,
    /// Event types, e.g. `callback.created` (or just `created`).
    #[schema(min_items = 1, example = json!(["callback.created", "callback.overdue"]))]
    pub events: Vec<String>,
    /// `standard` (signed JSON) unless `slack`.
    #[serde(default = "standard")]
    pub format: Format,
}

fn standard() -> Format {
    Format::Standard
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EndpointPath {
    pub id: String,
}

#[utoipa::path(
    get, path = "/api/v1/notifications", tag = "admin",
    responses(
        (status = 200, description = "The tenant's notification endpoints, oldest first, each with its newest deliveries", body = [EndpointView]),
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn list_notifications(
    State(state): State<AppState>,
    agent: Agent,
) -> Result<Json<Vec<EndpointView>>, ApiError> {
    agent.admin_session(WHAT)?;
    let endpoints = notify::list(state.deps(), &agent.tenant.id).await?;
    Ok(Json(endpoints.iter().map(EndpointView::from).collect()))
}

#[utoipa::path(
    post, path = "/api/v1/notifications", tag = "admin",
    request_body = NewEndpointBody,
    responses(
        (status = 201, description = "Added: a standard endpoint's secret is in this answer only", body = NewEndpointView),
        AdminBodyErrors,
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn add_notification(
    State(state): State<AppState>,
    agent: Agent,
    ApiJson(body): ApiJson<NewEndpointBody>,
) -> Result<(StatusCode, Json<NewEndpointView>), ApiError> {
    agent.admin_session(WHAT)?;
    let events = body
        .events
        .iter()
        .map(|e| e.parse::<EventType>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::bad_field("events", format!("events: {e}")))?;
    let new = NewEndpoint {
        url: &body.url,
        events: &events,
        format: body.format,
    };
    let reach = state.notifier.client().reach();
    let endpoint = notify::add(state.deps(), &agent.actor, &agent.tenant.id, new, reach).await?;
    tracing::info!(endpoint = endpoint.id, "notification endpoint added");
    Ok((
        StatusCode::CREATED,
        Json(NewEndpointView {
            view: EndpointView::from(&endpoint),
            secret: endpoint.secret.as_ref().map(|s| s.expose().to_owned()),
        }),
    ))
}

#[utoipa::path(
    delete, path = "/api/v1/notifications/{id}", tag = "admin",
    params(EndpointPath),
    responses(
        (status = 204, description = "Removed: nothing more goes to it"),
        (status = 404, description = "No such endpoint for this tenant", body = ErrorBody,
            example = json!({"error": {"code": "not_found", "message": "no notification endpoint \"ne_0123456789abcdef\""}})),
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn remove_notification(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<EndpointPath>,
) -> Result<StatusCode, ApiError> {
    agent.admin_session(WHAT)?;
    notify::remove(state.deps(), &agent.actor, &agent.tenant.id, &path.id).await?;
    tracing::info!(endpoint = path.id, "notification endpoint removed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/api/v1/notifications/{id}/test", tag = "admin",
    params(EndpointPath),
    responses(
        (status = 200, description = "The test event (`notification.test`) was sent once, now: \
the endpoint with the try first among its deliveries (delivered, or failed with its error; \
a `410 Gone` disables it)", body = EndpointView),
        (status = 404, description = "No such endpoint for this tenant", body = ErrorBody,
            example = json!({"error": {"code": "not_found", "message": "no notification endpoint \"ne_0123456789abcdef\""}})),
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn test_notification(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<EndpointPath>,
) -> Result<Json<EndpointView>, ApiError> {
    agent.admin_session(WHAT)?;
    let endpoint = notify::load(state.deps(), &agent.tenant.id, &path.id).await?;
    let tried = state.notifier.test(&agent.tenant, &endpoint).await?;
    Ok(Json(EndpointView::from(&tried)))
}
