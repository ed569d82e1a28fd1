//! Signing in and out, the signed-in agent, and its password.

use crate::accounts::AccountError;
use crate::accounts::agents::{self, AgentChange};
use crate::accounts::sessions::{self, PasswordError, SignInError};
use crate::domain::agent::{self, AgentAccount, Role, csrf_token, verify_nobody};
use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::http::api::auth::{Agent, SESSION_COOKIE, SignedIn};
use crate::http::api::rules;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::http::limit::{ClientAddress, RetryAfter};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The one answer to every failed sign-in, so it tells nothing about
/// which part was wrong.
const WRONG_SIGN_IN: &str = "wrong tenant, login or password";

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    pub tenant: String,
    #[schema(schema_with = rules::login_schema)]
    pub login: String,
    pub password: String,
}

/// The signed-in agent, as the page needs it.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub tenant: String,
    pub login: String,
    pub name: String,
    pub role: Role,
    /// Until true turns false, only `POST /api/v1/me/password` works.
    pub must_change_password: bool,
    /// Send it back as `X-CSRF-Token` on every POST, PATCH, PUT and DELETE.
    pub csrf_token: String,
    /// The tenant's IANA time zone, for showing times.
    pub time_zone: String,
    /// The tenant's language (ja-JP or en-US): the page's default.
    pub language: String,
    /// Attempts before a record fails.
    pub max_attempts: u32,
    /// What click-to-call rings for this agent (`PATCH /api/v1/me` sets it).
    #[schema(example = "+819012345678")]
    pub phone: Option<String>,
    /// The tenant's number a call back shows; click-to-call is off while
    /// it is null.
    #[schema(example = "+815012345678")]
    pub outbound_caller_id: Option<String>,
}

fn me(tenant: &Tenant, account: &AgentAccount, token: &str) -> Me {
    Me {
        tenant: tenant.id.to_string(),
        login: account.login.clone(),
        name: account.name.clone(),
        role: account.role,
        must_change_password: account.must_change_password,
        csrf_token: csrf_token(token),
        time_zone: tenant.settings.time_zone.clone(),
        language: tenant.settings.language.to_string(),
        max_attempts: tenant.settings.max_callback_attempts,
        phone: account.phone.as_ref().map(ToString::to_string),
        outbound_caller_id: tenant
            .settings
            .outbound_caller_id
            .as_ref()
            .map(ToString::to_string),
    }
}

/// `Secure` is left out only where a browser could not send it back: a
/// plain-http public URL on this machine.
pub fn cookie_is_secure(state: &AppState) -> bool {
    let Some(rest) = state.public_url.as_str().strip_prefix("http://") else {
        return true;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

fn set_cookie(state: &AppState, value: &str, max_age_seconds: i64) -> (header::HeaderName, String) {
    let secure = if cookie_is_secure(state) {
        "; Secure"
    } else {
        ""
    };
    (
        header::SET_COOKIE,
        format!(
            "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_seconds}{secure}"
        ),
    )
}

/// Answers a started session with its cookie.
fn with_session(
    state: &AppState,
    tenant: &Tenant,
    account: &AgentAccount,
    token: &str,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let max_age = agent::SESSION_MAX.as_secs();
    let mut response = (status, Json(me(tenant, account, token))).into_response();
    let (name, value) = set_cookie(state, token, max_age);
    let value = HeaderValue::from_str(&value).map_err(ApiError::internal)?;
    response.headers_mut().insert(name, value);
    Ok(response)
}

#[utoipa::path(
    post, path = "/api/v1/sessions", tag = "sessions",
    request_body = SignInBody,
    responses(
        (status = 201, description = "Signed in: the agent, and the session cookie `afureko_session`", body = Me),
        (status = 400, description = "Bad body", body = ErrorBody,
            example = json!({"error": {"code": "bad_request", "message": "Failed to deserialize the JSON body into the target type: missing field `password` at line 1 column 31"}})),
        (status = 401, description = "Wrong tenant, login or password (one message for all)", body = ErrorBody,
            example = json!({"error": {"code": "unauthorized", "message": WRONG_SIGN_IN}})),
        (status = 429, description = "Too many failed sign-ins for this login (locked for 15 minutes), this tenant or this client address", body = ErrorBody,
            example = json!({"error": {"code": "too_many_requests", "message": "too many failed sign-ins: retry after 60 s"}})),
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<SignInBody>,
) -> Result<Response, ApiError> {
    // Failed sign-ins are limited per client address and per tenant, so
    // trying many logins (each with fewer guesses than lock it) is slowed
    // too. Only failures count: a whole office signing in at nine is fine.
    let limits = &state.limits;
    let now = state.clock.now();
    let tenant = TenantId::parse(&body.tenant).ok();
    let too_many = |retry_after: RetryAfter| ApiError::TooManyRequests {
        message: format!("too many failed sign-ins: retry after {} s", retry_after.0),
        retry_after,
    };
    if let Some(address) = &address {
        limits
            .sign_in_by_address
            .check(address, now)
            .map_err(too_many)?;
    }
    if let Some(tenant) = &tenant {
        limits
            .sign_in_by_tenant
            .check(tenant, now)
            .map_err(too_many)?;
    }
    let answer = check_password(&state, &body).await;
    if let Err(ApiError::Unauthorized(_) | ApiError::TooManyRequests { .. }) = &answer {
        if let Some(address) = &address {
            limits.sign_in_by_address.spend(address, now);
        }
        if let Some(tenant) = &tenant {
            limits.sign_in_by_tenant.spend(tenant, now);
        }
    }
    answer
}

/// A sign-in past the limits: the password checked against the login's
/// lockout.
async fn check_password(state: &AppState, body: &SignInBody) -> Result<Response, ApiError> {
    match sessions::sign_in(state.deps(), &body.tenant, &body.login, &body.password).await {
        Ok(signed_in) => with_session(
            state,
            &signed_in.tenant,
            &signed_in.account,
            &signed_in.token,
            StatusCode::CREATED,
        ),
        Err(SignInError::NoAccount) => no_account(state, body),
        Err(SignInError::WrongPassword) => Err(ApiError::Unauthorized(WRONG_SIGN_IN.into())),
        Err(SignInError::Locked { until }) => Err(locked(state, until)),
        Err(SignInError::Store(e)) => Err(e.into()),
    }
}

fn locked(state: &AppState, until: Timestamp) -> ApiError {
    ApiError::TooManyRequests {
        message: format!("too many failed sign-ins for this login: try again after {until}"),
        retry_after: RetryAfter::until(until, state.clock.now()),
    }
}

/// A sign-in naming no active account answers as one naming a real login:
/// 401 after as slow a check, and locked after as many failures (counted in
/// memory, `NoAccountLockouts`).
fn no_account(state: &AppState, body: &SignInBody) -> Result<Response, ApiError> {
    let now = state.clock.now();
    // The names as a real login's lock would key them.
    let tenant =
        TenantId::parse(&body.tenant).map_or_else(|_| body.tenant.clone(), |t| t.to_string());
    let login = agent::login(&body.login).unwrap_or_else(|_| body.login.clone());
    let lockouts = &state.limits.no_account;
    if let Some(until) = lockouts.locked(&tenant, &login, now) {
        return Err(locked(state, until));
    }
    verify_nobody(&body.password);
    lockouts.fail(&tenant, &login, now);
    Err(ApiError::Unauthorized(WRONG_SIGN_IN.into()))
}

fn signed_in(agent: &Agent) -> Result<&SignedIn, ApiError> {
    agent.signed_in.as_ref().ok_or_else(|| {
        ApiError::Unauthorized("this needs a signed-in agent, not an API key".into())
    })
}

#[utoipa::path(
    delete, path = "/api/v1/sessions/current", tag = "sessions",
    responses(
        (status = 204, description = "Signed out: the session is deleted and the cookie cleared"),
        (status = 401, description = "Not signed in (an API key has no session)", body = ErrorBody,
            example = json!({"error": {"code": "unauthorized", "message": "your session has ended: sign in again"}})),
        (status = 403, description = "Missing or wrong X-CSRF-Token", body = ErrorBody,
            example = json!({"error": {"code": "forbidden", "message": "missing or wrong X-CSRF-Token header (GET /api/v1/me gives it)"}})),
    ),
    security(("session" = []))
)]
pub async fn sign_out(State(state): State<AppState>, agent: Agent) -> Result<Response, ApiError> {
    let me = signed_in(&agent)?;
    sessions::end(state.deps(), &me.session).await?;
    Ok((StatusCode::NO_CONTENT, [set_cookie(&state, "", 0)]).into_response())
}

#[utoipa::path(
    get, path = "/api/v1/me", tag = "sessions",
    responses(
        (status = 200, description = "The signed-in agent, with the session's CSRF token", body = Me),
        (status = 401, description = "Not signed in (an API key has no session)", body = ErrorBody,
            example = json!({"error": {"code": "unauthorized", "message": "this needs a signed-in agent, not an API key"}})),
    ),
    security(("session" = []))
)]
pub async fn get_me(agent: Agent) -> Result<Response, ApiError> {
    let me_ = signed_in(&agent)?;
    Ok(Json(me(&agent.tenant, &me_.account, &me_.token)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub current_password: String,
    #[schema(schema_with = rules::password_schema)]
    pub new_password: String,
}

#[utoipa::path(
    post, path = "/api/v1/me/password", tag = "sessions",
    request_body = PasswordBody,
    responses(
        (status = 200, description = "Changed: every session of the agent ends, and this answer starts a new one (new cookie, new CSRF token)", body = Me),
        (status = 400, description = "Bad body, the new password is the current one (`bad_request`, `field` `new_password`), or the current password is wrong (`wrong_password`, `field` `current_password`; counted against the login's lockout, and the session stays)", body = ErrorBody,
            examples(
                ("new_password" = (value = json!({"error": {"code": "bad_request", "message": "the new password must differ from the current one", "field": "new_password"}}))),
                ("wrong_password" = (value = json!({"error": {"code": "wrong_password", "message": "the current password is wrong", "field": "current_password"}}))),
            )),
        (status = 401, description = "Not signed in", body = ErrorBody,
            example = json!({"error": {"code": "unauthorized", "message": "your session has ended: sign in again"}})),
        (status = 403, description = "Missing or wrong X-CSRF-Token", body = ErrorBody,
            example = json!({"error": {"code": "forbidden", "message": "missing or wrong X-CSRF-Token header (GET /api/v1/me gives it)"}})),
        (status = 429, description = "Too many wrong passwords (locked for 15 minutes), or too many requests for this tenant", body = ErrorBody,
            example = json!({"error": {"code": "too_many_requests", "message": "too many wrong passwords: try again after 2026-01-01T09:15:00Z"}})),
    ),
    security(("session" = []))
)]
pub async fn change_password(
    State(state): State<AppState>,
    agent: Agent,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Response, ApiError> {
    let me = signed_in(&agent)?;
    let changed = sessions::change_password(
        state.deps(),
        &me.account,
        &me.session,
        &body.current_password,
        &body.new_password,
    )
    .await;
    let (account, token) = match changed {
        Ok(changed) => changed,
        Err(e @ PasswordError::Locked { until }) => {
            return Err(ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after: RetryAfter::until(until, state.clock.now()),
            });
        }
        Err(PasswordError::Wrong) => return Err(ApiError::WrongPassword),
        Err(PasswordError::Rules(e)) => return Err(ApiError::bad_field("new_password", e)),
        Err(PasswordError::Store(e)) => return Err(e.into()),
    };
    with_session(&state, &agent.tenant, &account, &token, StatusCode::OK)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// What click-to-call rings; "" removes it.
    #[schema(schema_with = rules::phone_schema)]
    pub phone: Option<String>,
}

/// The signed-in agent's own profile (no session secrets: the answer may
/// be kept for an Idempotency-Key).
#[derive(Serialize, ToSchema)]
pub struct Profile {
    pub login: String,
    pub name: String,
    pub phone: Option<String>,
}

#[utoipa::path(
    patch, path = "/api/v1/me", tag = "sessions",
    request_body = ProfileBody,
    responses(
        (status = 200, description = "Changed: the agent's own profile", body = Profile),
        (status = 400, description = "Bad body or phone (`field` names it)", body = ErrorBody,
            example = json!({"error": {"code": "bad_request", "message": "phone: not a phone number or sip: URI: \"call me\"", "field": "phone"}})),
        (status = 401, description = "Not signed in (an API key has no session)", body = ErrorBody,
            example = json!({"error": {"code": "unauthorized", "message": "this needs a signed-in agent, not an API key"}})),
        (status = 403, description = "Missing or wrong X-CSRF-Token", body = ErrorBody,
            example = json!({"error": {"code": "forbidden", "message": "missing or wrong X-CSRF-Token header (GET /api/v1/me gives it)"}})),
    ),
    security(("session" = []))
)]
pub async fn change_me(
    State(state): State<AppState>,
    agent: Agent,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<Json<Profile>, ApiError> {
    let me = signed_in(&agent)?;
    let region = agent.tenant.settings.default_region;
    let change = AgentChange {
        phone: body
            .phone
            .map(|p| agent::phone(&p, region))
            .transpose()
            .map_err(AccountError::from)?,
        ..AgentChange::default()
    };
    let account = agents::change(
        state.deps(),
        &agent.actor,
        &agent.tenant.id,
        &me.account.login,
        change,
    )
    .await?;
    Ok(Json(Profile {
        login: account.login.clone(),
        name: account.name.clone(),
        phone: account.phone.as_ref().map(ToString::to_string),
    }))
}
