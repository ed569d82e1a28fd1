//! The tenants' API keys, kept by the hash of the key; the key itself
//! never is.

use super::StoreError;
use crate::domain::api_key::ApiKey;
use crate::domain::ids::TenantId;
use async_trait::async_trait;
use jiff::Timestamp;

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError>;
    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError>;
    /// Marks the key revoked; `NotFound` when the tenant has no such key.
    async fn revoke_api_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<ApiKey, StoreError>;
}
