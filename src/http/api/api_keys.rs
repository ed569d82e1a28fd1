//! The tenant's API keys, managed by a signed-in admin: list, create (the
//! key shown once), revoke. An API key may not manage keys: a leaked key
//! could otherwise mint itself successors that outlive its revocation.

use crate::accounts::keys;
use crate::domain::api_key::ApiKey;
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::error::{AdminBodyErrors, AdminErrors, ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const WHAT: &str = "managing API keys";

/// A key as listed: never the key itself, nor its hash.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyView {
    #[schema(example = "key_0123456789ab")]
    pub id: String,
    /// What the key is for.
    pub name: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC; null while the key works.
    pub revoked_at: Option<String>,
    pub active: bool,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(key: &ApiKey) -> Self {
        ApiKeyView {
            id: key.id.clone(),
            name: key.name.clone(),
            created_at: key.created_at.to_string(),
            revoked_at: key.revoked_at.map(|at| at.to_string()),
            active: key.is_active(),
        }
    }
}

/// A new key: `key` is shown in this answer only; it is stored as a hash.
#[derive(Serialize, ToSchema)]
pub struct NewApiKeyView {
    #[serde(flatten)]
    pub view: ApiKeyView,
    /// `Authorization: Bearer <key>`.
    #[schema(example = "afk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    pub key: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyBody {
    /// What the key is for, e.g. "front desk" (blank: none).
    #[schema(max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ApiKeyPath {
    pub id: String,
}

#[utoipa::path(
    get, path = "/api/v1/api-keys", tag = "admin",
    responses(
        (status = 200, description = "The tenant's keys, revoked ones included", body = [ApiKeyView]),
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn list_api_keys(
    State(state): State<AppState>,
    agent: Agent,
) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    agent.admin_session(WHAT)?;
    let keys = keys::list(state.deps(), &agent.tenant.id).await?;
    Ok(Json(keys.iter().map(ApiKeyView::from).collect()))
}

#[utoipa::path(
    post, path = "/api/v1/api-keys", tag = "admin",
    request_body = NewApiKeyBody,
    responses(
        (status = 201, description = "Made: the key is in this answer only", body = NewApiKeyView),
        AdminBodyErrors,
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn create_api_key(
    State(state): State<AppState>,
    agent: Agent,
    ApiJson(body): ApiJson<NewApiKeyBody>,
) -> Result<(StatusCode, Json<NewApiKeyView>), ApiError> {
    agent.admin_session(WHAT)?;
    let made = keys::create(
        state.deps(),
        &agent.actor,
        &agent.tenant.id,
        body.name.as_deref(),
    )
    .await?;
    tracing::info!(key_id = %made.key.id, "API key created");
    Ok((
        StatusCode::CREATED,
        Json(NewApiKeyView {
            view: ApiKeyView::from(&made.key),
            key: made.secret,
        }),
    ))
}

#[utoipa::path(
    delete, path = "/api/v1/api-keys/{id}", tag = "admin",
    params(ApiKeyPath),
    responses(
        (status = 204, description = "Revoked: the key stops working at once. Revoking it again \
is 204 too, and keeps the first revocation time."),
        (status = 404, description = "No such key for this tenant", body = ErrorBody,
            example = json!({"error": {"code": "not_found", "message": "no API key \"key_0123456789ab\""}})),
        AdminErrors,
    ),
    security(("session" = []), ("api_key" = []))
)]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<ApiKeyPath>,
) -> Result<StatusCode, ApiError> {
    agent.admin_session(WHAT)?;
    let key = keys::revoke(state.deps(), &agent.actor, &agent.tenant.id, &path.id).await?;
    tracing::info!(key_id = %key.id, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use crate::http::api::idempotency::changes_state;
    use axum::http::Method;

    /// A kept answer is stored as it was sent: for a new key that would be
    /// the key in plaintext, which the store must never hold.
    #[test]
    fn a_new_key_is_never_kept_for_replay() {
        assert!(!changes_state(&Method::POST, "/api/v1/api-keys"));
    }
}
