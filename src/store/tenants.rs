//! Tenants: their Twilio credentials and settings. The part of the store a
//! decorator of tenants (`sealed`, `tenant_cache`) wraps.

use super::StoreError;
use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;
use async_trait::async_trait;

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Fails with `AlreadyExists` when the id is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Fails with `NotFound` when there is no such tenant.
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// The tenant as stored now, past any cache: the read of a
    /// read-modify-write, so a change made elsewhere moments ago (a token
    /// rotated by the CLI) is not written back over.
    async fn get_tenant_fresh(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get_tenant(id).await
    }
    /// Every tenant's id, in no particular order: for operators' tools.
    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError>;
}
