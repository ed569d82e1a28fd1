//! Who is calling the API: an agent signed in with the session cookie, or
//! an integration with the tenant's Bearer API key.

use crate::accounts::{keys, sessions};
use crate::domain::agent::{self, AgentAccount, Role, Session, csrf_token};
use crate::domain::audit::Actor;
use crate::domain::phone::Region;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::tenants;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

pub const SESSION_COOKIE: &str = "afureko_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Routes a session with a password still to change may call.
const BEFORE_PASSWORD_CHANGE: [&str; 3] = [
    "/api/v1/me",
    "/api/v1/me/password",
    "/api/v1/sessions/current",
];

/// The caller: always a tenant, and the agent when signed in.
#[derive(Clone)]
pub struct Agent {
    pub tenant: Tenant,
    /// `None` for a tenant API key.
    pub signed_in: Option<SignedIn>,
    /// Who the audit trail names for the caller's changes: the agent, or
    /// the API key by its id.
    pub actor: Actor,
}

#[derive(Clone)]
pub struct SignedIn {
    pub account: AgentAccount,
    pub session: Session,
    /// The cookie's token (its CSRF token derives from it).
    pub token: String,
}

impl Agent {
    /// The agent a change is made as. Signed in, it is the agent itself: a
    /// body naming someone else is refused. With an API key the body names
    /// the agent, as integrations have no agent of their own.
    pub fn acting(&self, named: Option<&str>) -> Result<String, ApiError> {
        match (&self.signed_in, named) {
            (Some(me), None) => Ok(me.account.login.clone()),
            (Some(me), Some(name)) => match agent::login(name) {
                Ok(login) if login == me.account.login => Ok(login),
                _ => Err(ApiError::Forbidden(format!(
                    "you are signed in as {}: you cannot act as someone else",
                    me.account.login
                ))),
            },
            (None, Some(name)) => crate::http::api::rules::agent_of(name),
            (None, None) => Err(ApiError::bad_field(
                "agent",
                "agent is required with an API key: who is acting?",
            )),
        }
    }

    /// API keys belong to the tenant's integrations: they may hand records
    /// over like a supervisor, but never manage agents.
    pub fn role(&self) -> Role {
        match &self.signed_in {
            Some(me) => me.account.role,
            None => Role::Supervisor,
        }
    }

    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role() >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("this needs the {role} role")))
        }
    }

    /// Agent management: a signed-in admin only.
    pub fn require_admin_session(&self) -> Result<&SignedIn, ApiError> {
        self.admin_session("managing agents")
    }

    /// `what` (agents, API keys, settings) needs a person who answers for
    /// it: a signed-in admin. An API key names no one, and a key must not
    /// mint keys or change the tenant.
    pub fn admin_session(&self, what: &str) -> Result<&SignedIn, ApiError> {
        match &self.signed_in {
            Some(me) if me.account.role == Role::Admin => Ok(me),
            _ => Err(ApiError::Forbidden(format!(
                "{what} needs an admin signed in"
            ))),
        }
    }

    /// The login when signed in.
    pub fn login(&self) -> Option<&str> {
        self.signed_in.as_ref().map(|me| me.account.login.as_str())
    }

    /// Where the tenant's numbers are national: how agents read them.
    pub fn region(&self) -> Region {
        self.tenant.settings.default_region
    }
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Compares secrets without stopping at the first difference.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Found already by the Idempotency-Key layer: no second lookup.
        if let Some(agent) = parts.extensions.remove::<Agent>() {
            return Ok(agent);
        }
        let agent = authenticate(parts, state).await?;
        // Once the tenant is known: requests that are refused before are
        // a key or session lookup each, and keys and tokens are 256-bit
        // random, so there is nothing to guess at (API Gateway's throttling
        // bounds them on Lambda).
        state
            .limits
            .api
            .take(&agent.tenant.id, state.clock.now())
            .map_err(|retry_after| ApiError::TooManyRequests {
                message: format!(
                    "too many requests for this tenant: retry after {} s",
                    retry_after.0
                ),
                retry_after,
            })?;
        Ok(agent)
    }
}

/// The caller, by API key or by session cookie (and its CSRF token).
async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Agent, ApiError> {
    if let Some(header) = parts.headers.get(header::AUTHORIZATION) {
        return by_api_key(header, state).await;
    }
    let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(|| {
        ApiError::Unauthorized("sign in, or send Authorization: Bearer <api key>".into())
    })?;
    let signed_in = by_session(token, state).await?;
    if changes_state(&parts.method) {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !same_secret(sent, csrf_token(token).as_bytes()) {
            return Err(ApiError::Forbidden(
                "missing or wrong X-CSRF-Token header (GET /api/v1/me gives it)".into(),
            ));
        }
    }
    if signed_in.account.must_change_password && !BEFORE_PASSWORD_CHANGE.contains(&parts.uri.path())
    {
        return Err(ApiError::Forbidden(
            "choose a new password first: POST /api/v1/me/password".into(),
        ));
    }
    let tenant = tenants::get(state.deps(), &signed_in.session.tenant_id)
        .await?
        .ok_or_else(session_ended)?;
    tracing::Span::current().record("tenant", tenant.id.as_str());
    Ok(Agent {
        tenant,
        actor: Actor::Agent(signed_in.account.login.clone()),
        signed_in: Some(signed_in),
    })
}

fn session_ended() -> ApiError {
    ApiError::Unauthorized("your session has ended: sign in again".into())
}

/// The valid session of `token`.
async fn by_session(token: &str, state: &AppState) -> Result<SignedIn, ApiError> {
    let (account, session) = sessions::find(state.deps(), token)
        .await?
        .ok_or_else(session_ended)?;
    Ok(SignedIn {
        account,
        session,
        token: token.to_owned(),
    })
}

async fn by_api_key(header: &axum::http::HeaderValue, state: &AppState) -> Result<Agent, ApiError> {
    let key = header
        .to_str()
        .ok()
        // The scheme is case-insensitive (RFC 9110).
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("Authorization must be Bearer <api key>".into()))?;
    let (tenant, api_key) = keys::authenticate(state.deps(), key)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the API key is not valid".into()))?;
    tracing::Span::current().record("tenant", tenant.id.as_str());
    Ok(Agent {
        tenant,
        signed_in: None,
        actor: Actor::ApiKey(api_key.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "a=1; afureko_session=tok".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&headers, "b"), None);
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd") && !same_secret(b"ab", b"abc"));
    }
}
