//! Calling back from the callback list (click-to-call), and correcting
//! the outcome an attempt was logged with.

use crate::accounts::agents;
use crate::calls::outbound;
use crate::domain::agent::Role;
use crate::domain::callback::Outcome;
use crate::domain::outbound::CallState;
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::api::handlers::{AgentBody, CallbackPath};
use crate::http::api::rules::{self, note_of};
use crate::http::api::views::CallbackView;
use crate::http::error::{ApiError, CallErrors, ChangeErrors};
use crate::http::extract::{ApiJson, ApiPath, OptionalJson};
use crate::http::twilio::links::TwilioLinks;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A call back Twilio is placing.
#[derive(Serialize, ToSchema)]
pub struct CallPlaced {
    /// The call to the agent's phone (Twilio's CallSid).
    #[schema(example = "CA0123456789abcdef0123456789abcdef")]
    pub call_sid: String,
    /// `calling_agent`: the agent's phone is ringing; the record's `call`
    /// follows the call from here.
    pub state: CallState,
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/call", tag = "callbacks",
    description = "Calls the customer back, agent first: Twilio rings the phone of the agent holding the record \
(from the tenant's `outbound_caller_id`); when they answer they hear who is called back and why, and 1 dials the customer. \
The outcome is logged as an attempt by itself when the call ends; `GET /api/v1/callbacks/{id}` shows the call's progress (`call`).",
    params(CallbackPath),
    request_body(content = Option<AgentBody>,
        description = "With an API key `{\"agent\": login}`, the active agent who holds the record; with a session empty (or `{}`)"),
    responses(
        (status = 202, description = "Twilio is ringing the agent's phone", body = CallPlaced),
        CallErrors,
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn call_back(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
    OptionalJson(body): OptionalJson<AgentBody>,
) -> Result<(StatusCode, Json<CallPlaced>), ApiError> {
    let named = body.and_then(|b| b.agent);
    let login = agent.acting(named.as_deref())?;
    let account = agents::active(state.deps(), &agent.tenant.id, &login)
        .await?
        .ok_or_else(|| {
            ApiError::bad_field(
                "agent",
                format!("no active agent {login:?}: click-to-call rings an agent's own phone"),
            )
        })?;
    let links = TwilioLinks::new(&state, &agent.tenant.id);
    let placed = outbound::place(
        state.deps(),
        state.copier.api(),
        &links,
        &agent.actor,
        &agent.tenant,
        &account,
        &path.id,
    )
    .await?;
    let call_state = placed
        .record
        .call
        .as_ref()
        .map_or(CallState::CallingAgent, |c| c.state);
    Ok((
        StatusCode::ACCEPTED,
        Json(CallPlaced {
            call_sid: placed.call_sid.to_string(),
            state: call_state,
        }),
    ))
}

/// An attempt of a record: its number, 1 for the first.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AttemptPath {
    /// Callback id
    pub id: String,
    /// The attempt's number in `attempts`, 1 for the first
    #[param(minimum = 1)]
    pub n: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    #[schema(schema_with = rules::agent_schema)]
    pub agent: Option<String>,
    /// What really happened.
    pub outcome: Outcome,
    /// Why the outcome changes (required).
    #[schema(schema_with = rules::text_schema)]
    pub note: String,
}

#[utoipa::path(
    patch, path = "/api/v1/callbacks/{id}/attempts/{n}", tag = "callbacks",
    description = "Corrects a logged outcome (e.g. a call back that reached a voicemail: `reached` → `voicemail`), \
with a note, by the agent who made the attempt or a supervisor; no attempt is added, and the audit trail keeps it. \
The record's status follows: completed once an attempt reached the customer, failed once the unreached ones reach \
`max_callback_attempts`; a record that closed on the old outcome opens again (pending, due `retry_delay_minutes` \
after its last attempt). A record completed by hand stays completed.",
    params(AttemptPath),
    request_body = CorrectionBody,
    responses((status = 200, description = "Corrected (or had that outcome already); the record's new state", body = CallbackView), ChangeErrors),
    security(("api_key" = []), ("session" = []))
)]
pub async fn correct_attempt(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<AttemptPath>,
    ApiJson(body): ApiJson<CorrectionBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let by = agent.acting(body.agent.as_deref())?;
    let note = note_of(Some(body.note))?
        .ok_or_else(|| ApiError::bad_field("note", "note must say why the outcome changes"))?;
    let record = outbound::correct_attempt(
        state.deps(),
        &agent.actor,
        &agent.tenant,
        &path.id,
        path.n as usize,
        &by,
        agent.role() >= Role::Supervisor,
        body.outcome,
        note,
    )
    .await?;
    Ok(Json(CallbackView::for_caller(
        &record,
        agent.login(),
        agent.region(),
    )))
}
