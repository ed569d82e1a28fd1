//! Who is calling the API: the tenant of the Bearer API key.

use crate::domain::api_key::hash_key;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// The tenant whose API key came with the request.
#[derive(Clone)]
pub struct Agent {
    pub tenant: Tenant,
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Found already by the Idempotency-Key layer: no second key lookup.
        if let Some(agent) = parts.extensions.remove::<Agent>() {
            return Ok(agent);
        }
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthorized("missing Authorization: Bearer <api key>".into())
        })?;
        let key = header
            .to_str()
            .ok()
            // The scheme is case-insensitive (RFC 9110).
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("Authorization must be Bearer <api key>".into())
            })?;
        let invalid = || ApiError::Unauthorized("the API key is not valid".into());
        let api_key = state
            .store
            .find_api_key(&hash_key(key))
            .await?
            .filter(|k| k.is_active())
            .ok_or_else(invalid)?;
        let tenant = state
            .store
            .get_tenant(&api_key.tenant_id)
            .await?
            .ok_or_else(invalid)?;
        tracing::Span::current().record("tenant", tenant.id.as_str());
        Ok(Agent { tenant })
    }
}
