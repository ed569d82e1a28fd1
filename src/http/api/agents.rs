//! The tenant's agents: everyone may list them (to hand a record over);
//! a signed-in admin adds, changes, disables and resets them.

use crate::accounts::AccountError;
use crate::accounts::agents::{self, AgentChange, NewAgent, WithPassword};
use crate::domain::agent::{AgentAccount, Role, phone as parse_phone};
use crate::http::AppState;
use crate::http::api::auth::Agent;
use crate::http::api::rules;
use crate::http::error::{AdminErrors, ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct AgentView {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub must_change_password: bool,
    /// What click-to-call rings: a number in E.164 or a sip: URI.
    #[schema(example = "+819012345678")]
    pub phone: Option<String>,
}

impl From<&AgentAccount> for AgentView {
    fn from(a: &AgentAccount) -> Self {
        AgentView {
            login: a.login.clone(),
            name: a.name.clone(),
            role: a.role,
            active: a.is_active(),
            must_change_password: a.must_change_password,
            phone: a.phone.as_ref().map(ToString::to_string),
        }
    }
}

/// An agent with a one-time password, shown only in this answer.
#[derive(Serialize, ToSchema)]
pub struct AgentWithPassword {
    pub agent: AgentView,
    pub initial_password: String,
}

impl From<WithPassword> for AgentWithPassword {
    fn from(made: WithPassword) -> Self {
        AgentWithPassword {
            agent: AgentView::from(&made.account),
            initial_password: made.password,
        }
    }
}

#[utoipa::path(
    get, path = "/api/v1/agents", tag = "agents",
    responses(
        (status = 200, description = "The tenant's agents by login", body = [AgentView]),
        (status = 401, description = "No or bad API key or session", body = ErrorBody,
            example = json!({"error": {"code": "unauthorized", "message": "the API key is not valid"}})),
        (status = 403, description = "A password still to change", body = ErrorBody,
            example = json!({"error": {"code": "forbidden", "message": "choose a new password first: POST /api/v1/me/password"}})),
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn list_agents(
    State(state): State<AppState>,
    agent: Agent,
) -> Result<Json<Vec<AgentView>>, ApiError> {
    let list = agents::list(state.deps(), &agent.tenant.id).await?;
    Ok(Json(list.iter().map(AgentView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentBody {
    #[schema(schema_with = rules::login_schema)]
    pub login: String,
    #[schema(schema_with = rules::name_schema)]
    pub name: String,
    /// `agent` when absent.
    pub role: Option<Role>,
    /// What click-to-call rings: a number (E.164, or national in the
    /// tenant's region) or a sip: URI; none when absent or "".
    #[schema(schema_with = rules::phone_schema)]
    pub phone: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/agents", tag = "agents",
    request_body = NewAgentBody,
    responses(
        (status = 201, description = "Added, with a one-time password to hand over", body = AgentWithPassword),
        (status = 400, description = "Bad body, login, name or role", body = ErrorBody,
            example = json!({"error": {"code": "bad_request", "message": "login must be 1-64 characters of a-z, 0-9, '.', '_' or '-'"}})),
        (status = 409, description = "The login is taken", body = ErrorBody,
            example = json!({"error": {"code": "conflict", "message": "agent bob already exists"}})),
        AdminErrors,
    ),
    security(("session" = []))
)]
pub async fn add_agent(
    State(state): State<AppState>,
    agent: Agent,
    ApiJson(body): ApiJson<NewAgentBody>,
) -> Result<(StatusCode, Json<AgentWithPassword>), ApiError> {
    agent.require_admin_session()?;
    let region = agent.tenant.settings.default_region;
    let new = NewAgent {
        login: &body.login,
        name: &body.name,
        role: body.role.unwrap_or(Role::Agent),
        phone: match &body.phone {
            Some(phone) => parse_phone(phone, region).map_err(AccountError::from)?,
            None => None,
        },
        password: None,
    };
    let added = agents::add(state.deps(), &agent.actor, &agent.tenant.id, new).await?;
    Ok((StatusCode::CREATED, Json(AgentWithPassword::from(added))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgentPath {
    pub login: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeAgentBody {
    #[schema(schema_with = rules::name_schema)]
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `false` disables the agent (its sessions end at once); a disabled
    /// agent stays disabled.
    pub active: Option<bool>,
    /// What click-to-call rings; "" removes it.
    #[schema(schema_with = rules::phone_schema)]
    pub phone: Option<String>,
}

#[utoipa::path(
    patch, path = "/api/v1/agents/{login}", tag = "agents",
    params(AgentPath),
    request_body = ChangeAgentBody,
    responses(
        (status = 200, description = "Changed", body = AgentView),
        (status = 400, description = "Bad body, name, role or Idempotency-Key, or an admin disabling or demoting themself", body = ErrorBody,
            example = json!({"error": {"code": "bad_request", "message": "you cannot disable yourself or drop your own admin role"}})),
        (status = 404, description = "No such agent", body = ErrorBody,
            example = json!({"error": {"code": "not_found", "message": "no agent \"bob\""}})),
        (status = 409, description = "The agent changed meanwhile, or the change would leave the tenant without an active admin \
(another admin's change at the same moment), or a request with this Idempotency-Key is still running", body = ErrorBody,
            example = json!({"error": {"code": "conflict", "message": "bob is the tenant's last active admin"}})),
        AdminErrors,
    ),
    security(("session" = []))
)]
pub async fn change_agent(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<AgentPath>,
    ApiJson(body): ApiJson<ChangeAgentBody>,
) -> Result<Json<AgentView>, ApiError> {
    agent.require_admin_session()?;
    let region = agent.tenant.settings.default_region;
    let change = AgentChange {
        name: body.name,
        role: body.role,
        phone: body
            .phone
            .map(|p| parse_phone(&p, region))
            .transpose()
            .map_err(AccountError::from)?,
        disable: body.active == Some(false),
    };
    let changed = agents::change(
        state.deps(),
        &agent.actor,
        &agent.tenant.id,
        &path.login,
        change,
    )
    .await?;
    Ok(Json(AgentView::from(&changed)))
}

#[utoipa::path(
    post, path = "/api/v1/agents/{login}/password", tag = "agents",
    params(AgentPath),
    responses(
        (status = 200, description = "A new one-time password; the agent's sessions end", body = AgentWithPassword),
        (status = 404, description = "No such agent", body = ErrorBody,
            example = json!({"error": {"code": "not_found", "message": "no agent \"bob\""}})),
        AdminErrors,
    ),
    security(("session" = []))
)]
pub async fn reset_password(
    State(state): State<AppState>,
    agent: Agent,
    ApiPath(path): ApiPath<AgentPath>,
) -> Result<Json<AgentWithPassword>, ApiError> {
    agent.require_admin_session()?;
    let reset = agents::reset_password(
        state.deps(),
        &agent.actor,
        &agent.tenant.id,
        &path.login,
        None,
    )
    .await?;
    Ok(Json(AgentWithPassword::from(reset)))
}
