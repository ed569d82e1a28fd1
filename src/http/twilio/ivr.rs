//! The callback IVR's webhooks: the incoming call, each question, the end
//! of the recording, and Twilio's recording status callback.

use crate::calls::intake::{Intake, RecordingEvent};
use crate::calls::reconcile;
use crate::domain::call_routing::{Incoming, route_incoming};
use crate::domain::ids::RecordingSid;
use crate::domain::ivr::{self, Effect, Ivr, IvrContext, Step};
use crate::domain::reason::Reason;
use crate::domain::twiml::Twiml;
use crate::http::AppState;
use crate::http::error::{ApiError, WebhookErrors};
use crate::http::extract::ApiPath;
use crate::http::twilio::forms::{CallForm, GatherForm, RecordingForm};
use crate::http::twilio::links::TwilioLinks;
use crate::http::twilio::webhook::{TenantPath, TwilioWebhook};
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;

/// When the call first arrived, as Unix seconds in an action URL.
pub fn arrival(seconds: i64) -> Result<Timestamp, ApiError> {
    Timestamp::from_second(seconds)
        .map_err(|_| ApiError::BadRequest("arrival time out of range".into()))
}

/// `arrival`'s range, for the document.
pub fn arrival_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(Timestamp::MIN.as_second()))
        .maximum(Some(Timestamp::MAX.as_second()))
        .description(Some("Unix seconds when the call arrived"))
        .into()
}

/// Starts the callback IVR. A known caller's record is kept first (or the
/// call joins the caller's open record), so a hang-up loses nothing.
pub async fn ivr_start(
    state: &AppState,
    hook: &TwilioWebhook,
    ctx: IvrContext,
) -> Result<Twiml, ApiError> {
    let call_sid = hook.call_sid()?;
    let now = state.clock.now();
    let links = TwilioLinks::new(state, &hook.tenant.id);
    let ivr = Ivr::new(&hook.tenant.settings, &links, hook.caller()?, ctx, now);
    let kept = match ivr.opens_on_caller_id() {
        Some(number) => Some(
            Intake::new(state.store.as_ref(), &hook.tenant, now)
                .open_for_caller(&call_sid, number, ctx)
                .await?,
        ),
        None => None,
    };
    Ok(ivr.start(kept.is_some_and(|r| r.repeat), kept.map(|r| r.due)))
}

/// Runs one IVR step: carries out its effect, then answers its TwiML.
async fn ivr_step(
    state: &AppState,
    hook: &TwilioWebhook,
    ctx: IvrContext,
    decide: impl FnOnce(&Ivr<'_>) -> Step,
) -> Result<Twiml, ApiError> {
    let call_sid = hook.call_sid()?;
    let caller = hook.caller()?;
    let now = state.clock.now();
    let links = TwilioLinks::new(state, &hook.tenant.id);
    let step = decide(&Ivr::new(
        &hook.tenant.settings,
        &links,
        caller.clone(),
        ctx,
        now,
    ));
    let intake = Intake::new(state.store.as_ref(), &hook.tenant, now);
    match step.effect {
        Effect::None => {}
        Effect::Confirm { number, how } => {
            intake
                .settle_number(&call_sid, caller.number(), number, how, ctx)
                .await?;
        }
        Effect::Window(window) => intake.choose_window(&call_sid, window).await?,
    }
    Ok(step.twiml)
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/voice", tag = "twilio",
    description = "Incoming call: by routing mode and hours, ring the agents, enqueue, or the callback IVR.",
    params(TenantPath),
    request_body(content = CallForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn voice(State(state): State<AppState>, hook: TwilioWebhook) -> Result<Twiml, ApiError> {
    let now = state.clock.now();
    let links = TwilioLinks::new(&state, &hook.tenant.id);
    match route_incoming(&hook.tenant.settings, now, &links) {
        Incoming::Ivr(reason) => {
            ivr_start(
                &state,
                &hook,
                IvrContext {
                    reason,
                    arrived: now,
                },
            )
            .await
        }
        Incoming::Connect(twiml) => {
            hook.call_sid()?;
            Ok(twiml)
        }
    }
}

/// An IVR question's action URL: why the caller is here, when the call
/// arrived, and how many times the question was asked.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StepPath {
    /// Why the caller is here, e.g. overflow
    #[param(inline)]
    pub reason: Reason,
    #[param(schema_with = arrival_schema)]
    pub arrived: i64,
    /// How many times this question was asked
    pub attempt: u32,
}

impl StepPath {
    fn context(&self) -> Result<IvrContext, ApiError> {
        Ok(IvrContext {
            reason: self.reason,
            arrived: arrival(self.arrived)?,
        })
    }
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/ivr/offer/{reason}/{arrived}/{attempt}", tag = "twilio",
    description = "The answer at the caller-ID offer: digits pressed (or, with number_entry dtmf-speech, yes or no said).",
    params(TenantPath, StepPath),
    request_body(content = GatherForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn offer(
    State(state): State<AppState>,
    ApiPath(step): ApiPath<StepPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let answer = hook.answer();
    ivr_step(&state, &hook, step.context()?, |ivr| {
        ivr.on_offer(&answer, step.attempt)
    })
    .await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/ivr/enter/{reason}/{arrived}/{attempt}", tag = "twilio",
    description = "The callback number, typed (or, with number_entry dtmf-speech, said).",
    params(TenantPath, StepPath),
    request_body(content = GatherForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn enter(
    State(state): State<AppState>,
    ApiPath(step): ApiPath<StepPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let answer = hook.answer();
    ivr_step(&state, &hook, step.context()?, |ivr| {
        ivr.on_entry(&answer, step.attempt)
    })
    .await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/ivr/window/{reason}/{arrived}/{attempt}", tag = "twilio",
    description = "The choice of a callback window (0: as soon as possible), after the number is settled.",
    params(TenantPath, StepPath),
    request_body(content = GatherForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn window(
    State(state): State<AppState>,
    ApiPath(step): ApiPath<StepPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let answer = hook.answer();
    ivr_step(&state, &hook, step.context()?, |ivr| {
        ivr.on_window(&answer, step.attempt)
    })
    .await
}

/// The read-back question's action URL: a step plus the digits typed.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConfirmPath {
    /// Why the caller is here, e.g. overflow
    #[param(inline)]
    pub reason: Reason,
    #[param(schema_with = arrival_schema)]
    pub arrived: i64,
    /// How many times this question was asked
    pub attempt: u32,
    /// The digits typed
    pub typed: String,
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/ivr/confirm/{reason}/{arrived}/{attempt}/{typed}", tag = "twilio",
    description = "The answer when the number given was read back: digits pressed (or, with number_entry dtmf-speech, yes or no said).",
    params(TenantPath, ConfirmPath),
    request_body(content = GatherForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn confirm(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ConfirmPath>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let ctx = IvrContext {
        reason: path.reason,
        arrived: arrival(path.arrived)?,
    };
    let answer = hook.answer();
    ivr_step(&state, &hook, ctx, |ivr| {
        ivr.on_confirm(&path.typed, &answer, path.attempt)
    })
    .await
}

#[utoipa::path(
    post, path = "/twilio/{tenant}/ivr/recorded", tag = "twilio",
    description = "After the recording: thanks, when the callback comes, and hang up.",
    params(TenantPath),
    request_body(content = CallForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 200, description = "TwiML", content_type = "text/xml", body = String), WebhookErrors)
)]
pub async fn recorded(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> Result<Twiml, ApiError> {
    let call_sid = hook.call_sid()?;
    let now = state.clock.now();
    // The thanks says when the callback comes; the record is safe whatever
    // the store answers now, so a failed read only makes it vaguer.
    let due = Intake::new(state.store.as_ref(), &hook.tenant, now)
        .due_of(&call_sid)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(
                error = crate::telemetry::error_chain(&e),
                "could not read the record's due time for the thanks"
            );
            None
        });
    Ok(ivr::after_recording(
        &hook.tenant.settings,
        due.as_ref(),
        now,
    ))
}

/// What a recording status callback reports, or `None` for a state with
/// nothing to keep yet (in-progress and anything newer).
pub(super) fn recording_event(
    hook: &TwilioWebhook,
    state: &AppState,
) -> Result<Option<RecordingEvent>, ApiError> {
    let sid = RecordingSid::parse(hook.required("RecordingSid")?)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(match hook.required("RecordingStatus")? {
        "completed" => {
            let url = hook.required("RecordingUrl")?.to_owned();
            state
                .copier
                .api()
                .check_url(&url, &hook.tenant.twilio.account_sid, &sid)
                .map_err(|e| ApiError::BadRequest(format!("RecordingUrl refused: {e}")))?;
            let duration_seconds = hook.param("RecordingDuration").and_then(|d| d.parse().ok());
            Some(RecordingEvent::Completed {
                sid,
                url,
                duration_seconds,
            })
        }
        "absent" => Some(RecordingEvent::Absent { sid }),
        _ => None,
    })
}

/// Twilio's recordingStatusCallback: keep the URL at once and queue the
/// copy; the copier does the rest, so the answer never waits on media. A
/// call afureko never saw (the fallback's record-only flow) gets its
/// record here, from Twilio's view of the call.
#[utoipa::path(
    post, path = "/twilio/{tenant}/recording", tag = "twilio",
    description = "recordingStatusCallback: keeps the recording URL and queues the copy of the audio; a call afureko never saw (the fallback URL's) gets its record, reason outage.",
    params(TenantPath),
    request_body(content = RecordingForm, content_type = "application/x-www-form-urlencoded", description = "Twilio's webhook parameters (those afureko reads)"),
    responses((status = 204, description = "Taken; the copy is queued"), WebhookErrors)
)]
pub async fn recording_status(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> Result<StatusCode, ApiError> {
    let call_sid = hook.call_sid()?;
    let Some(event) = recording_event(&hook, &state)? else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let now = state.clock.now();
    // When the recording began: the call's arrival, for a call never seen.
    let started = hook
        .param("RecordingStartTime")
        .and_then(|t| {
            jiff::fmt::rfc2822::DateTimeParser::new()
                .parse_timestamp(t)
                .ok()
        })
        .filter(|t| *t <= now)
        .unwrap_or(now);
    reconcile::keep_recording(
        state.store.as_ref(),
        &state.copier,
        &hook.tenant,
        &call_sid,
        event,
        started,
        now,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document's bounds for `arrived` are the ones `arrival` takes.
    #[test]
    fn the_documented_arrival_range_is_the_accepted_one() {
        let schema = serde_json::to_value(arrival_schema()).unwrap();
        let (min, max) = (
            schema["minimum"].as_i64().unwrap(),
            schema["maximum"].as_i64().unwrap(),
        );
        assert!(arrival(min).is_ok() && arrival(max).is_ok());
        assert!(arrival(min - 1).is_err() && arrival(max + 1).is_err());
    }
}
