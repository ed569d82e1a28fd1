//! The audit trail: who did what to which item, and when. It names items
//! by id and counts what was touched, never their content (no phone
//! numbers, no notes), so it may outlive what it names.

use crate::domain::ids::TenantId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A record and its recordings erased on request (APPI, GDPR).
    CallbackErased,
    /// An API key made by an admin (subject: the key's id).
    ApiKeyCreated,
    /// An API key revoked by an admin (subject: the key's id).
    ApiKeyRevoked,
    /// The tenant's settings changed by an admin (subject: the tenant's
    /// id; counts: how many settings the request named).
    SettingsChanged,
    /// An agent added (subject: the login).
    AgentAdded,
    /// An agent's name, role or phone changed (subject: the login; counts:
    /// 1 for each of `name`, `role` and `phone` the change named).
    AgentChanged,
    /// An agent disabled: every session ends (subject: the login).
    AgentDisabled,
    /// An agent's password reset to a one-time one (subject: the login).
    AgentPasswordReset,
    /// Click-to-call placed a call back (subject: the callback's id).
    CallBackPlaced,
    /// An attempt's outcome corrected (subject: the callback's id; counts:
    /// `attempt`, its number).
    AttemptCorrected,
    /// A period's records exported with whole phone numbers (subject: the
    /// period, `from..to`; counts: the records).
    RecordsExported,
}

/// Who made a change, as the audit trail names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in agent, by login.
    Agent(String),
    /// An integration, by its API key's id.
    ApiKey(String),
    /// Whoever runs the `afureko` command line.
    Operator,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Agent(login) => write!(f, "agent:{login}"),
            Actor::ApiKey(id) => write!(f, "api_key:{id}"),
            Actor::Operator => f.write_str("operator"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Time-ordered (UUIDv7).
    pub id: String,
    pub tenant_id: TenantId,
    pub at: Timestamp,
    /// Who did it (`Actor`): `agent:{login}`, `api_key:{id}` or `operator`.
    pub actor: String,
    pub action: AuditAction,
    /// The item acted on: a callback id, an API key id, a tenant id.
    pub subject: String,
    /// What the action touched, counted.
    pub counts: BTreeMap<String, u64>,
}

impl AuditEntry {
    pub fn new(
        tenant_id: TenantId,
        at: Timestamp,
        actor: &Actor,
        action: AuditAction,
        subject: String,
        counts: BTreeMap<String, u64>,
    ) -> Self {
        AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id,
            at,
            actor: actor.to_string(),
            action,
            subject,
            counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_named_by_kind_and_id() {
        assert_eq!(Actor::Agent("ann".into()).to_string(), "agent:ann");
        assert_eq!(
            Actor::ApiKey("key_0123456789ab".into()).to_string(),
            "api_key:key_0123456789ab"
        );
        assert_eq!(Actor::Operator.to_string(), "operator");
        assert_eq!(
            serde_json::json!(AuditAction::AgentPasswordReset),
            "agent_password_reset"
        );
    }
}
