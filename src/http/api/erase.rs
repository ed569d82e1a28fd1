//! `DELETE /api/v1/callbacks/{id}`: a record erased on request (a caller's
//! deletion request under Japan's APPI or the GDPR), by a signed-in admin.

use crate::calls::retention::{self, Erasure};
use crate::calls::work::WorkError;
use crate::domain::agent::Role;
use crate::domain::ids::CallbackId;
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::api::handlers::CallbackPath;
use crate::http::error::{ApiError, EraseErrors};
use crate::http::extract::ApiPath;
use axum::extract::State;
use axum::http::StatusCode;

/// Erasure cannot be undone, so a person answers for it: a signed-in
/// admin, named in the audit trail. An API key names no one (its `agent`
/// is whatever the integration writes), so it may not erase.
#[utoipa::path(
    delete, path = "/api/v1/callbacks/{id}", tag = "callbacks",
    params(CallbackPath),
    responses(
        (status = 204, description = "Erased: the record, our copies of its recordings, and \
Twilio's copies still there. The audit trail keeps who, when, the record's id and counts, \
nothing of its content. Erasing it again is 404."),
        EraseErrors,
    ),
    security(("session" = []))
)]
pub async fn erase_callback(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<CallbackPath>,
) -> Result<StatusCode, ApiError> {
    if !matches!(&agent.signed_in, Some(me) if me.account.role == Role::Admin) {
        return Err(ApiError::Forbidden(
            "erasing a record needs an admin signed in".into(),
        ));
    }
    let not_found = || ApiError::from(WorkError::NotFound(path.id.clone()));
    let id = CallbackId::parse(&path.id).ok_or_else(not_found)?;
    let erased = retention::erase(
        state.store.as_ref(),
        state.audio.as_ref(),
        state.audit.as_ref(),
        state.copier.api(),
        Erasure {
            tenant: &agent.tenant,
            id: &id,
            actor: &agent.actor,
            at: state.clock.now(),
        },
    )
    .await?
    .ok_or_else(not_found)?;
    tracing::info!(
        callback_id = %id,
        recordings = erased.recordings,
        twilio_copies = erased.twilio_copies,
        twilio_failures = erased.twilio_failures,
        "callback erased"
    );
    Ok(StatusCode::NO_CONTENT)
}
