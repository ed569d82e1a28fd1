//! Preparing the answer together: notes on a record and hand-overs.

use crate::accounts::agents;
use crate::domain::agent::Role;
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::api::handlers::{CallbackPath, respond};
use crate::http::api::rules::{self, note_of, text_of};
use crate::http::api::views::CallbackView;
use crate::http::error::{ApiError, ChangeErrors};
use crate::http::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// Required with an API key; the signed-in agent otherwise.
    #[schema(schema_with = rules::agent_schema)]
    pub agent: Option<String>,
    #[schema(schema_with = rules::text_schema)]
    pub text: String,
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/notes", tag = "callbacks",
    params(CallbackPath),
    request_body = NoteBody,
    responses((status = 200, description = "Note added; the record with its notes", body = CallbackView), ChangeErrors),
    security(("api_key" = []), ("session" = []))
)]
pub async fn add_note(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let name = agent.acting(body.agent.as_deref())?;
    let text = text_of(body.text)?;
    let now = state.clock.now();
    respond(&state, &agent, &path.id, |r| {
        r.add_note(&name, text.clone(), now);
        Ok(())
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// Required with an API key; the signed-in agent otherwise.
    #[schema(schema_with = rules::agent_schema)]
    pub agent: Option<String>,
    /// The login of the active agent who holds the record from now.
    #[schema(schema_with = rules::login_schema)]
    pub to: String,
    /// What the colleague should know.
    #[schema(schema_with = rules::note_schema)]
    pub note: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/callbacks/{id}/assign", tag = "callbacks",
    params(CallbackPath),
    request_body = AssignBody,
    responses((status = 200, description = "Handed over: claimed by `to`", body = CallbackView), ChangeErrors),
    security(("api_key" = []), ("session" = []))
)]
pub async fn assign(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Json<CallbackView>, ApiError> {
    let by = agent.acting(body.agent.as_deref())?;
    let note = note_of(body.note)?;
    let unknown = || ApiError::bad_field("to", format!("no active agent {:?}", body.to));
    let to = agents::active(state.deps(), &agent.tenant.id, &body.to)
        .await?
        .ok_or_else(unknown)?
        .login;
    let supervisor = agent.role() >= Role::Supervisor;
    let (now, rules) = (state.clock.now(), agent.tenant.settings.work_rules());
    respond(&state, &agent, &path.id, |r| {
        r.assign(&by, &to, supervisor, note.clone(), now, &rules)
    })
    .await
}
