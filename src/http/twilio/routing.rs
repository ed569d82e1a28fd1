//! The webhooks of `dial` and `queue` mode: what happened at the agents'
//! phones or in the queue, and whether the caller goes on to the IVR.

use crate::calls::intake::Intake;
use crate::domain::call_routing::{self, Wait};
use crate::domain::ivr::IvrContext;
use crate::domain::twiml::{Twiml, Verb};
use crate::http::AppState;
use crate::http::error::{ApiError, WebhookErrors};
use crate::http::extract::ApiPath;
use crate::http::twilio::forms::{DialForm, GatherForm, QueueResultForm, QueueWaitForm};
use crate::http::twilio::ivr::{arrival, arrival_schema, ivr_start};
use crate::http::twilio::links::TwilioLinks;
use crate::http::twilio::webhook::{TenantPath, TwilioWebhook};
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;

/// A routing step's URL: when the call first arrived.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ArrivedPath {
    #[param(schema_with = arrival_schema)]
    pub arrived: i64,
}

fn hang_up() -> Twiml {
    Twiml::new().push(Verb::Hangup)
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/dial-result/{arrived}", tag = "twilio",
    description = "The Dial action: hang up when an agent answered, else the callback IVR.",
    params(TenantPath, ArrivedPath),
    request_body(content = DialForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn dial_result(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ArrivedPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let arrived = arrival(path.arrived)?;
    match call_routing::after_dial(hook.required("DialCallStatus")?) {
        None => {
            hook.call_sid()?;
            Ok(hang_up())
        }
        Some(reason) => ivr_start(&state, &hook, IvrContext { reason, arrived }).await,
    }
}

/// Carries out a wait decision: a caller who leaves keeps a record with the
/// reason (when the caller ID is known), so the Enqueue action can tell why.
async fn waited(
    state: &AppState,
    hook: &TwilioWebhook,
    wait: Wait,
    arrived: Timestamp,
) -> Result<Twiml, ApiError> {
    let call_sid = hook.call_sid()?;
    if let (Wait::Leave(reason), Some(number)) = (&wait, hook.caller()?.number()) {
        let ctx = IvrContext {
            reason: *reason,
            arrived,
        };
        Intake::new(state.store.as_ref(), &hook.tenant, state.clock.now())
            .open_for_caller(&call_sid, number, ctx)
            .await?;
    }
    Ok(wait.twiml())
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/queue/wait/{arrived}", tag = "twilio",
    description = "The Enqueue wait URL: hold audio and the callback offer, or Leave past the limits.",
    params(TenantPath, ArrivedPath),
    request_body(content = QueueWaitForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn queue_wait(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ArrivedPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let arrived = arrival(path.arrived)?;
    let links = TwilioLinks::new(&state, &hook.tenant.id);
    let wait = call_routing::queue_wait(
        &hook.tenant.settings,
        hook.count("QueueTime"),
        hook.count("CurrentQueueSize"),
        arrived,
        &links,
    );
    waited(&state, &hook, wait, arrived).await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/queue/offer/{arrived}", tag = "twilio",
    description = "Digits pressed at the callback offer while waiting: 1 leaves the queue.",
    params(TenantPath, ArrivedPath),
    request_body(content = GatherForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn queue_offer(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ArrivedPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let arrived = arrival(path.arrived)?;
    let links = TwilioLinks::new(&state, &hook.tenant.id);
    let wait = call_routing::queue_offer(&hook.tenant.settings, hook.digits(), arrived, &links);
    waited(&state, &hook, wait, arrived).await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/queue/result/{arrived}", tag = "twilio",
    description = "The Enqueue action: the callback IVR after leaving or a full queue; hang up after an agent.",
    params(TenantPath, ArrivedPath),
    request_body(content = QueueResultForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn queue_result(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ArrivedPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let arrived = arrival(path.arrived)?;
    let call_sid = hook.call_sid()?;
    let left_for = Intake::new(state.store.as_ref(), &hook.tenant, state.clock.now())
        .reason_of(&call_sid)
        .await?;
    let outcome = call_routing::after_queue(
        hook.required("QueueResult")?,
        left_for,
        hook.count("QueueTime"),
        &hook.tenant.settings,
    );
    match outcome {
        None => Ok(hang_up()),
        Some(reason) => ivr_start(&state, &hook, IvrContext { reason, arrived }).await,
    }
}
