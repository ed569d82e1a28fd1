//! How far each tenant's reconciliation got (`calls::reconcile`): the
//! start of its last complete run. Kept apart from `Store`, as its own
//! narrow trait.

use super::StoreError;
use crate::domain::ids::TenantId;
use async_trait::async_trait;
use jiff::Timestamp;

#[async_trait]
pub trait ReconciledStore: Send + Sync {
    /// When the tenant's last complete reconciliation started: its
    /// creation, before the first (`create_tenant` sets it); `None` for a
    /// tenant from before the progress was kept.
    async fn reconciled_at(&self, tenant: &TenantId) -> Result<Option<Timestamp>, StoreError>;
    async fn set_reconciled_at(&self, tenant: &TenantId, at: Timestamp) -> Result<(), StoreError>;
    /// The tenants the scheduled sweeper reconciles: every tenant, listed
    /// without a scan (on DynamoDB those with a progress item, which a
    /// tenant gets when it is created or first reconciled).
    async fn reconciled_tenants(&self) -> Result<Vec<TenantId>, StoreError>;
}
