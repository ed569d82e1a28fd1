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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Time-ordered (UUIDv7).
    pub id: String,
    pub tenant_id: TenantId,
    pub at: Timestamp,
    /// Who did it: `agent:{login}`.
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
        actor: String,
        action: AuditAction,
        subject: String,
        counts: BTreeMap<String, u64>,
    ) -> Self {
        AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id,
            at,
            actor,
            action,
            subject,
            counts,
        }
    }
}
