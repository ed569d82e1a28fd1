//! A tenant's agents: added, changed, disabled and given a one-time
//! password by an admin (API) or the operator (CLI).

use super::AccountError;
use crate::deps::Deps;
use crate::domain::agent::{self, AgentAccount, Role, initial_password};
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::ids::TenantId;
use crate::domain::routing::Destination;
use crate::store::StoreError;
use std::collections::BTreeMap;

/// The tenant's agents by login.
pub async fn list(deps: Deps<'_>, tenant: &TenantId) -> Result<Vec<AgentAccount>, StoreError> {
    deps.agents.list_agents(tenant).await
}

/// The tenant's active agent `login` (as typed), if there is one.
pub async fn active(
    deps: Deps<'_>,
    tenant: &TenantId,
    login: &str,
) -> Result<Option<AgentAccount>, StoreError> {
    let Ok(login) = agent::login(login) else {
        return Ok(None);
    };
    let account = deps.agents.get_agent(tenant, &login).await?;
    Ok(account.filter(AgentAccount::is_active))
}

/// A new agent, as given.
pub struct NewAgent<'a> {
    pub login: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub phone: Option<Destination>,
    /// A one-time password is made when none is given.
    pub password: Option<String>,
}

/// An agent with the one-time password to hand over.
pub struct WithPassword {
    pub account: AgentAccount,
    pub password: String,
    /// Whether the password was made here (and so must be shown).
    pub generated: bool,
}

fn password_of(given: Option<String>) -> (String, bool) {
    match given {
        Some(p) => (p, false),
        None => (initial_password(), true),
    }
}

/// Adds an agent who must choose a password at first sign-in; a login
/// the tenant has already is `StoreError::AlreadyExists`.
pub async fn add(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &TenantId,
    new: NewAgent<'_>,
) -> Result<WithPassword, AccountError> {
    let login = agent::login(new.login)?;
    let name = agent::display_name(new.name)?;
    let (password, generated) = password_of(new.password);
    let mut account = AgentAccount::new(
        tenant.clone(),
        login,
        name,
        new.role,
        &password,
        deps.clock.now(),
    )?;
    account.phone = new.phone;
    deps.agents.create_agent(&account).await?;
    deps.record_audit(
        tenant,
        actor,
        AuditAction::AgentAdded,
        &account.login,
        BTreeMap::new(),
    )
    .await?;
    Ok(WithPassword {
        account,
        password,
        generated,
    })
}

/// The tenant's agent `login` (as typed).
async fn target(
    deps: Deps<'_>,
    tenant: &TenantId,
    login: &str,
) -> Result<AgentAccount, AccountError> {
    let missing = || AccountError::NoAgent(login.to_owned());
    let login = agent::login(login).map_err(|_| missing())?;
    deps.agents
        .get_agent(tenant, &login)
        .await?
        .ok_or_else(missing)
}

/// What to change of an agent; what is `None` stays.
#[derive(Debug, Default)]
pub struct AgentChange {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// The phone click-to-call rings (`Some(None)` removes it).
    pub phone: Option<Option<Destination>>,
    /// Disables the agent (every session ends at once); a disabled agent
    /// stays disabled.
    pub disable: bool,
}

/// Changes the tenant's agent `login`. Nobody disables themself or drops
/// their own admin role, and the tenant's last active admin stays one
/// (`StoreError::LastAdmin`); an agent changes their own phone.
pub async fn change(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &TenantId,
    login: &str,
    change: AgentChange,
) -> Result<AgentAccount, AccountError> {
    let mut account = target(deps, tenant, login).await?;
    let demoted = change.role.is_some_and(|r| r != Role::Admin);
    if *actor == Actor::Agent(account.login.clone()) && (change.disable || demoted) {
        return Err(AccountError::OwnAdmin);
    }
    let mut named = BTreeMap::new();
    if let Some(name) = change.name {
        account.name = agent::display_name(&name)?;
        named.insert("name".to_owned(), 1);
    }
    if let Some(role) = change.role {
        account.role = role;
        named.insert("role".to_owned(), 1);
    }
    if let Some(phone) = change.phone {
        account.phone = phone;
        named.insert("phone".to_owned(), 1);
    }
    if change.disable {
        account.disable(deps.clock.now());
    }
    // The tenant keeps an active admin, also against a change at once.
    let account = deps.agents.update_agent_keeping_an_admin(&account).await?;
    if !named.is_empty() {
        let action = AuditAction::AgentChanged;
        deps.record_audit(tenant, actor, action, &account.login, named)
            .await?;
    }
    if change.disable {
        let action = AuditAction::AgentDisabled;
        deps.record_audit(tenant, actor, action, &account.login, BTreeMap::new())
            .await?;
    }
    Ok(account)
}

/// Sets a one-time password (`password`, or one made here): every
/// session of the agent ends, and a new password is chosen at sign-in.
pub async fn reset_password(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &TenantId,
    login: &str,
    password: Option<String>,
) -> Result<WithPassword, AccountError> {
    let mut account = target(deps, tenant, login).await?;
    let (password, generated) = password_of(password);
    account.reset_password(&password)?;
    let account = deps.agents.update_agent(&account).await?;
    let action = AuditAction::AgentPasswordReset;
    deps.record_audit(tenant, actor, action, &account.login, BTreeMap::new())
        .await?;
    Ok(WithPassword {
        account,
        password,
        generated,
    })
}
