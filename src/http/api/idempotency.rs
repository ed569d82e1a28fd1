//! `Idempotency-Key` on every state-changing API operation but those whose
//! answer must not be kept (`NEVER_REPLAYED`): a retry with
//! the same key and body gets the first answer again (status and body), the
//! same key with another request is refused (422). Keys are per tenant and
//! sender (the signed-in agent or the API key: another sender's same key is
//! another key) and kept for 24 h (`store::idempotency`). A replay goes
//! only to a sender who still has the role it had at the first request.

use crate::http::error::ApiError;
use crate::http::extract::too_large;
use crate::http::{AppState, MAX_BODY_BYTES};
use crate::store::idempotency::{KeyUse, Reservation, StoredAnswer};
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::auth::Agent;

pub const HEADER: &str = "Idempotency-Key";
/// Set on an answer that is a replay of the first one.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
pub const MAX_KEY_CHARS: usize = 255;
/// Visible ASCII, no spaces: what `key_of` accepts, as the document says it.
pub const KEY_PATTERN: &str = "^[!-~]+$";

/// Operations that change state but take no key, as (method, path): their
/// answer must not be kept or replayed. Sign-in's and a password change's
/// answers start a session (a cookie and its CSRF token), a new or reset
/// agent's holds a one-time password, a new API key's the key: keeping
/// them would store secrets.
/// Sign-out's is a cleared cookie, which a replay (status and body) would
/// leave out; signing out twice does no harm anyway.
pub const NEVER_REPLAYED: [(Method, &str); 6] = [
    (Method::POST, "/api/v1/sessions"),
    (Method::DELETE, "/api/v1/sessions/current"),
    (Method::POST, "/api/v1/me/password"),
    (Method::POST, "/api/v1/agents"),
    (Method::POST, "/api/v1/agents/{login}/password"),
    (Method::POST, "/api/v1/api-keys"),
];

/// The operations that take a key: every API operation that changes
/// state, but those of `NEVER_REPLAYED`. `path` is a request's path or the
/// document's template.
pub fn changes_state(method: &Method, path: &str) -> bool {
    let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    writes
        && path.starts_with("/api/v1/")
        && !NEVER_REPLAYED
            .iter()
            .any(|(m, template)| m == method && matches_template(template, path))
}

/// `/a/{b}/c` matches `/a/anything/c`: a `{...}` segment matches any one.
fn matches_template(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t == p || (t.starts_with('{') && !p.is_empty()) => {}
            _ => return false,
        }
    }
}

fn key_of(value: &HeaderValue) -> Result<String, ApiError> {
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_KEY_CHARS
        || !bytes.iter().all(|b| (b'!'..=b'~').contains(b))
    {
        return Err(bad_key());
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// The answer to a malformed key (the document's example too).
pub fn bad_key() -> ApiError {
    ApiError::BadRequest(format!(
        "{HEADER} must be 1-{MAX_KEY_CHARS} visible ASCII characters"
    ))
}

/// What the key is bound to: the operation and the body. A JSON body counts
/// by its value, so a retry that re-serializes it the same way matches.
fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok());
    let mut hash = Sha256::new();
    hash.update(method.as_str());
    hash.update(b"\n");
    hash.update(path);
    hash.update(b"\n");
    hash.update(canonical.as_deref().unwrap_or(body));
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match run(state, request, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn run(state: AppState, request: Request, next: Next) -> Result<Response, ApiError> {
    let key = match request.headers().get(HEADER) {
        Some(value) if changes_state(request.method(), request.uri().path()) => key_of(value)?,
        _ => return Ok(next.run(request).await),
    };
    let (mut parts, body) = request.into_parts();
    // The key belongs to its sender: unauthenticated, nothing is kept.
    let agent = Agent::from_request_parts(&mut parts, &state).await?;
    let body = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| too_large("request bodies"))?;
    let fingerprint = fingerprint(&parts.method, parts.uri.path(), &body);
    let (tenant, actor) = (agent.tenant.id.clone(), agent.actor.to_string());
    let key = KeyUse {
        tenant: &tenant,
        actor: &actor,
        role: agent.role(),
        key: &key,
        fingerprint: &fingerprint,
        at: state.clock.now(),
    };
    match state.idempotency.reserve_idempotency_key(key).await? {
        Reservation::Reserved => {}
        // Whatever role the operation checked, the first request passed it
        // with this one; a sender demoted since gets no answer made for it.
        Reservation::Taken { role, .. } if role > agent.role() => {
            return Err(ApiError::Forbidden(format!(
                "this {HEADER}'s first request was made with the {role} role, \
                 which you no longer have: its answer is not replayed"
            )));
        }
        Reservation::Taken { fingerprint: f, .. } if f != fingerprint => {
            return Err(ApiError::KeyReused);
        }
        Reservation::Taken { answer: None, .. } => {
            return Err(ApiError::Conflict(format!(
                "a request with this {HEADER} is still running; retry later"
            )));
        }
        Reservation::Taken {
            answer: Some(answer),
            ..
        } => {
            // An erasure's answer is that the record is gone.
            if parts.method != Method::DELETE {
                gone_since(&state, &tenant, parts.uri.path()).await?;
            }
            return Ok(replay(answer));
        }
    }
    parts.extensions.insert(agent);
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            finish(&state, key, None).await;
            return Err(ApiError::internal(e));
        }
    };
    // A 5xx is not an answer to keep: a retry should run again.
    let answer = (!parts.status.is_server_error()).then(|| StoredAnswer {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.to_vec(),
    });
    finish(&state, key, answer.as_ref()).await;
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// The change is done whatever happens here, so its answer goes out; a key
/// left reserved is taken over by a retry after `LEASE`.
async fn finish(state: &AppState, key: KeyUse<'_>, answer: Option<&StoredAnswer>) {
    if let Err(e) = state.idempotency.finish_idempotency_key(key, answer).await {
        tracing::error!(
            error = %crate::telemetry::error_chain(&e),
            "cannot keep the answer of an idempotent request"
        );
    }
}

/// A kept answer shows the record as it was: once the record is erased or
/// expired, a replay is 404 like any other request for it.
async fn gone_since(
    state: &AppState,
    tenant: &crate::domain::ids::TenantId,
    path: &str,
) -> Result<(), ApiError> {
    let Some(id) = path
        .strip_prefix("/api/v1/callbacks/")
        .and_then(|rest| rest.split('/').next())
    else {
        return Ok(());
    };
    crate::calls::work::load(state.deps(), tenant, id).await?;
    Ok(())
}

fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    if let Some(value) = answer.content_type.and_then(|c| c.parse().ok()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_the_limit() {
        let ok = |k: &str| key_of(&HeaderValue::from_str(k).unwrap()).is_ok();
        assert!(ok("a"));
        assert!(ok(&"k".repeat(MAX_KEY_CHARS)));
        assert!(!ok(&"k".repeat(MAX_KEY_CHARS + 1)));
        assert!(!ok(""));
        assert!(!ok("a b"));
    }

    #[test]
    fn secrets_and_cookies_are_never_replayed() {
        let yes = |m: Method, p: &str| changes_state(&m, p);
        assert!(yes(Method::POST, "/api/v1/callbacks/x/attempts"));
        assert!(yes(Method::DELETE, "/api/v1/callbacks/x"));
        assert!(yes(Method::PATCH, "/api/v1/agents/bob"));
        assert!(!yes(Method::GET, "/api/v1/callbacks/x"));
        assert!(!yes(Method::POST, "/twilio/acme/voice"));
        assert!(!yes(Method::POST, "/api/v1/sessions"));
        assert!(!yes(Method::DELETE, "/api/v1/sessions/current"));
        assert!(!yes(Method::POST, "/api/v1/me/password"));
        assert!(!yes(Method::POST, "/api/v1/agents"));
        assert!(!yes(Method::POST, "/api/v1/agents/bob/password"));
        assert!(!yes(Method::POST, "/api/v1/agents/{login}/password"));
        assert!(yes(Method::POST, "/api/v1/agents/bob/other"));
    }

    #[test]
    fn a_json_body_counts_by_its_value() {
        let post = Method::POST;
        let a = fingerprint(&post, "/p", br#"{"agent":"ann","note":null}"#);
        let b = fingerprint(&post, "/p", br#"{ "note": null, "agent": "ann" }"#);
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint(&post, "/q", br#"{"agent":"ann","note":null}"#)
        );
        assert_ne!(
            a,
            fingerprint(&post, "/p", br#"{"agent":"bob","note":null}"#)
        );
    }
}
