//! The audit trail's store: append-only, per tenant, newest first. Kept
//! apart from `Store`, as its own narrow trait.

use super::StoreError;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::TenantId;
use async_trait::async_trait;

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Adds an entry; entries are never changed or deleted.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The tenant's newest `limit` entries, newest first.
    async fn list_audit(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
