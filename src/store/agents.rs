//! Agents and their sessions, behind their own narrow trait.

use super::StoreError;
use crate::domain::agent::{AgentAccount, Session};
use crate::domain::ids::TenantId;
use async_trait::async_trait;

#[async_trait]
pub trait AgentStore: Send + Sync {
    /// Fails with `AlreadyExists` when the tenant has that login.
    async fn create_agent(&self, agent: &AgentAccount) -> Result<(), StoreError>;
    async fn get_agent(
        &self,
        tenant: &TenantId,
        login: &str,
    ) -> Result<Option<AgentAccount>, StoreError>;
    /// The tenant's agents by login.
    async fn list_agents(&self, tenant: &TenantId) -> Result<Vec<AgentAccount>, StoreError>;
    /// Writes the agent if the stored version still equals `agent.version`
    /// and returns it with the new version; `Conflict` otherwise, `NotFound`
    /// when there is none.
    async fn update_agent(&self, agent: &AgentAccount) -> Result<AgentAccount, StoreError>;
    /// `update_agent`, for a change that may take away an active admin
    /// (a role, disabling): `LastAdmin` when the tenant would have none
    /// left, even when such changes run at once.
    async fn update_agent_keeping_an_admin(
        &self,
        agent: &AgentAccount,
    ) -> Result<AgentAccount, StoreError>;

    /// Sessions are kept by the hash of their token, never the token.
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The session, if stored; whether it is still valid is the caller's
    /// question (`Session::is_valid_for`).
    async fn find_session(&self, hash: &str) -> Result<Option<Session>, StoreError>;
    /// Records use of the session (its idle expiry counts from here); a
    /// session deleted meanwhile stays deleted.
    async fn touch_session(&self, session: &Session) -> Result<(), StoreError>;
    /// Deleting a session that is gone already is not an error.
    async fn delete_session(&self, hash: &str) -> Result<(), StoreError>;
}
