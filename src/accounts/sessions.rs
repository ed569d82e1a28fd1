//! Signing in, the sessions that follow, and an agent's own password.

use crate::deps::Deps;
use crate::domain::agent::{self, AgentAccount, AgentError, Session, SignIn, hash_token};
use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;
use crate::store::StoreError;
use jiff::Timestamp;

/// Reads of a login whose writes kept conflicting: every failure counts,
/// so a count lost to a concurrent sign-in is read and counted again.
const SIGN_IN_TRIES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// No active agent of that login in that tenant. The door answers it as
    /// a wrong password, after as slow a check (`agent::verify_nobody`).
    #[error("no such active agent")]
    NoAccount,
    /// A wrong password (counted against the login's lockout).
    #[error("wrong password")]
    WrongPassword,
    #[error("the login is locked until {until}")]
    Locked { until: Timestamp },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A signed-in agent: the token goes into the cookie, only its hash is
/// stored.
pub struct SignedIn {
    pub tenant: Tenant,
    pub account: AgentAccount,
    pub token: String,
}

/// Checks `password` against the login's lockout and, if right, starts a
/// session.
pub async fn sign_in(
    deps: Deps<'_>,
    tenant: &str,
    login: &str,
    password: &str,
) -> Result<SignedIn, SignInError> {
    for _ in 0..SIGN_IN_TRIES {
        let found = find_agent(deps, tenant, login).await?;
        let Some((tenant, mut account)) = found.filter(|(_, a)| a.is_active()) else {
            return Err(SignInError::NoAccount);
        };
        let before = account.clone();
        let outcome = account.sign_in(password, deps.clock.now());
        if account != before {
            match deps.agents.update_agent(&account).await {
                Err(StoreError::Conflict) => continue,
                other => account = other?,
            }
        }
        return match outcome {
            SignIn::Ok => {
                tracing::info!(login = %account.login, "signed in");
                let token = start(deps, &account).await?;
                Ok(SignedIn {
                    tenant,
                    account,
                    token,
                })
            }
            SignIn::WrongPassword | SignIn::Disabled => {
                tracing::info!(login = %account.login, "sign-in refused");
                Err(SignInError::WrongPassword)
            }
            SignIn::Locked { until } => Err(SignInError::Locked { until }),
        };
    }
    Err(StoreError::Conflict.into())
}

/// The tenant and agent a sign-in names, if both exist.
async fn find_agent(
    deps: Deps<'_>,
    tenant: &str,
    login: &str,
) -> Result<Option<(Tenant, AgentAccount)>, StoreError> {
    let (Ok(tenant_id), Ok(login)) = (TenantId::parse(tenant), agent::login(login)) else {
        return Ok(None);
    };
    let Some(tenant) = deps.store.get_tenant(&tenant_id).await? else {
        return Ok(None);
    };
    let account = deps.agents.get_agent(&tenant.id, &login).await?;
    Ok(account.map(|account| (tenant, account)))
}

/// Starts a session for `account`: its token, for the cookie.
async fn start(deps: Deps<'_>, account: &AgentAccount) -> Result<String, StoreError> {
    let made = Session::start(account, deps.clock.now());
    deps.agents.create_session(&made.session).await?;
    Ok(made.token)
}

/// The session of `token` while it stands, with its agent; its last use
/// is recorded now and then.
pub async fn find(
    deps: Deps<'_>,
    token: &str,
) -> Result<Option<(AgentAccount, Session)>, StoreError> {
    let now = deps.clock.now();
    let Some(mut session) = deps.agents.find_session(&hash_token(token)).await? else {
        return Ok(None);
    };
    let Some(account) = deps
        .agents
        .get_agent(&session.tenant_id, &session.login)
        .await?
        .filter(|account| session.is_valid_for(account, now))
    else {
        return Ok(None);
    };
    if session.needs_touch(now) {
        session.last_seen_at = now;
        deps.agents.touch_session(&session).await?;
    }
    Ok(Some((account, session)))
}

/// Signs out: the session (by its hash) is deleted.
pub async fn end(deps: Deps<'_>, session: &Session) -> Result<(), StoreError> {
    deps.agents.delete_session(&session.hash).await
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the current password is wrong")]
    Wrong,
    #[error("too many wrong passwords: try again after {until}")]
    Locked { until: Timestamp },
    #[error(transparent)]
    Rules(#[from] AgentError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The signed-in agent's own new password, checked against the current
/// one (which counts towards the lockout): the session ends, and a new
/// one starts (its token is returned).
pub async fn change_password(
    deps: Deps<'_>,
    account: &AgentAccount,
    session: &Session,
    current: &str,
    new: &str,
) -> Result<(AgentAccount, String), PasswordError> {
    let mut account = account.clone();
    match account.sign_in(current, deps.clock.now()) {
        SignIn::Ok => {}
        SignIn::Locked { until } => {
            deps.agents.update_agent(&account).await?;
            return Err(PasswordError::Locked { until });
        }
        SignIn::WrongPassword | SignIn::Disabled => {
            deps.agents.update_agent(&account).await?;
            return Err(PasswordError::Wrong);
        }
    }
    account.change_password(new)?;
    let account = deps.agents.update_agent(&account).await?;
    end(deps, session).await?;
    tracing::info!(login = %account.login, "password changed");
    let token = start(deps, &account).await?;
    Ok((account, token))
}
