//! The agent's leg of a call back (click-to-call): Twilio's requests
//! while it rings the agent, whispers, dials the customer and reports how
//! it ended. Signed like every webhook; which call it is travels in the
//! path (record, agent, when it was placed).

use crate::calls::outbound;
use crate::domain::agent;
use crate::domain::ids::{CallSid, CallbackId};
use crate::domain::outbound::{CallKey, DialResult};
use crate::domain::twiml::Twiml;
use crate::http::AppState;
use crate::http::error::{ApiError, WebhookErrors};
use crate::http::extract::ApiPath;
use crate::http::twilio::forms::{
    CallBackDialForm, CallForm, CallStatusForm, GatherForm, RecordingForm,
};
use crate::http::twilio::ivr::{arrival, arrival_schema, recording_event};
use crate::http::twilio::links::TwilioLinks;
use crate::http::twilio::webhook::{TenantPath, TwilioWebhook};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

/// Which call back a request is about.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CallBackPath {
    /// The callback record's id
    pub callback: String,
    /// The login of the agent it rings
    pub agent: String,
    #[param(schema_with = started_schema)]
    pub started: i64,
}

/// `arrival`'s range, for when the call back was placed.
fn started_schema() -> utoipa::openapi::schema::Schema {
    let mut schema = arrival_schema();
    if let utoipa::openapi::schema::Schema::Object(object) = &mut schema {
        object.description = Some("Unix seconds when the call back was placed".into());
    }
    schema
}

impl CallBackPath {
    fn key(&self) -> Result<CallKey, ApiError> {
        let bad = |what: &str| ApiError::BadRequest(format!("not a call back's {what}"));
        let callback = CallbackId::parse(&self.callback).ok_or_else(|| bad("record id"))?;
        let agent = agent::login(&self.agent).map_err(|_| bad("agent"))?;
        arrival(self.started)?;
        Ok(CallKey {
            callback,
            agent,
            started: self.started,
        })
    }
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/answer", tag = "twilio",
    description = "A call back: the agent answered. Who is called back and why, then \"press 1\".",
    params(TenantPath, CallBackPath),
    request_body(content = CallForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn answer(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CallBackPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let key = path.key()?;
    let call_sid = hook.call_sid()?;
    let links = TwilioLinks::new(&state, &hook.tenant.id);
    Ok(outbound::agent_answered(state.deps(), &hook.tenant, &links, &key, &call_sid).await?)
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/connect", tag = "twilio",
    description = "A call back: the key the agent pressed (none when Digits is absent). 1 dials the customer; \
anything else ends the call with nothing logged.",
    params(TenantPath, CallBackPath),
    request_body(content = GatherForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn connect(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CallBackPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let key = path.key()?;
    hook.call_sid()?;
    let links = TwilioLinks::new(&state, &hook.tenant.id);
    let twiml =
        outbound::agent_pressed(state.deps(), &hook.tenant, &links, &key, hook.digits()).await?;
    Ok(twiml)
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/customer", tag = "twilio",
    description = "A call back: the customer answered. Joined at once, after a consent notice when the call is recorded.",
    params(TenantPath, CallBackPath),
    request_body(content = CallForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn customer(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CallBackPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let key = path.key()?;
    hook.call_sid()?;
    Ok(outbound::customer_answered(state.deps(), &hook.tenant, &key).await?)
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/dialed", tag = "twilio",
    description = "A call back: the Dial's action. DialCallStatus becomes the attempt, once however often Twilio asks.",
    params(TenantPath, CallBackPath),
    request_body(content = CallBackDialForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn dialed(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CallBackPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let key = path.key()?;
    let call_sid = hook.call_sid()?;
    let dial = DialResult {
        status: hook.required("DialCallStatus")?.to_owned(),
        customer_call_sid: hook
            .param("DialCallSid")
            .and_then(|s| CallSid::parse(s).ok()),
        duration_seconds: hook
            .param("DialCallDuration")
            .and_then(|d| d.trim().parse().ok()),
    };
    Ok(outbound::customer_leg_ended(state.deps(), &hook.tenant, &key, &call_sid, &dial).await?)
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/status", tag = "twilio",
    description = "A call back: the agent leg's status callback (initiated, ringing, answered, completed, busy, no-answer, failed).",
    params(TenantPath, CallBackPath),
    request_body(content = CallStatusForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 204, description = "Noted"), WebhookErrors)
)]
pub async fn status(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CallBackPath>,
    hook: TwilioWebhook,
) -> Result<StatusCode, ApiError> {
    let key = path.key()?;
    let call_sid = hook.call_sid()?;
    let call_status = hook.required("CallStatus")?;
    outbound::agent_leg_status(state.deps(), &hook.tenant, &key, &call_sid, call_status).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/recording", tag = "twilio",
    operation_id = "outbound_recording",
    description = "A recorded call back: the recording's status callback. Kept on the record and copied like a caller's request.",
    params(TenantPath, CallBackPath),
    request_body(content = RecordingForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 204, description = "Taken; the copy is queued"), WebhookErrors)
)]
pub async fn recording(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CallBackPath>,
    hook: TwilioWebhook,
) -> Result<StatusCode, ApiError> {
    let key = path.key()?;
    let call_sid = hook.call_sid()?;
    let Some(event) = recording_event(&hook, &state)? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let kept = outbound::recording(state.deps(), &hook.tenant, &key, &call_sid, &event).await?;
    if let Some(record) = kept {
        // A queue that fails answers 5xx, so Twilio tries again.
        state.copier.queue_copy(&record, event.sid(), false).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
