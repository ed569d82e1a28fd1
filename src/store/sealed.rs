//! Tenants' Twilio secrets sealed on their way into any store and opened on
//! their way out, so adapters store them as they get them and the domain
//! sees plaintext. Below this layer a `Tenant`'s secret fields hold sealed
//! text (`secrets` module). A legacy plaintext secret reads as it is, and is
//! sealed on the tenant's next write (`afureko tenant reseal`: at once).

use super::{Inserted, ListQuery, Opened, Page, Store, StoreError};
use crate::domain::api_key::ApiKey;
use crate::domain::callback::CallbackRecord;
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::phone::E164;
use crate::domain::tenant::{AuthToken, Tenant};
use crate::secrets::{OpenError, Sealer};
use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::Arc;

pub struct SealedTenants {
    inner: Arc<dyn Store>,
    sealer: Arc<Sealer>,
}

impl SealedTenants {
    pub fn new(inner: Arc<dyn Store>, sealer: Arc<Sealer>) -> Self {
        SealedTenants { inner, sealer }
    }

    /// Every secret of `tenant`, changed by `f` (seal or open).
    fn map_secrets(
        tenant: &Tenant,
        mut f: impl FnMut(&AuthToken) -> Result<AuthToken, OpenError>,
    ) -> Result<Tenant, StoreError> {
        let failed = |source| StoreError::Secret {
            tenant: tenant.id.to_string(),
            source,
        };
        let mut out = tenant.clone();
        let twilio = &mut out.twilio;
        twilio.auth_token = f(&twilio.auth_token).map_err(failed)?;
        if let Some(key) = &mut twilio.webhook_shared_key {
            *key = f(key).map_err(failed)?;
        }
        if let Some(retired) = &mut twilio.previous_auth_token {
            retired.token = f(&retired.token).map_err(failed)?;
        }
        Ok(out)
    }

    fn seal(&self, tenant: &Tenant) -> Result<Tenant, StoreError> {
        let aad = tenant.id.as_str();
        Self::map_secrets(tenant, |token| {
            token_of(self.sealer.seal(aad, token.expose()))
        })
    }

    fn open(&self, tenant: &Tenant) -> Result<Tenant, StoreError> {
        let aad = tenant.id.as_str();
        Self::map_secrets(tenant, |token| {
            token_of(self.sealer.open(aad, token.expose())?.into_plaintext())
        })
    }
}

/// Sealed text and opened tokens are never empty; one that is was damaged.
fn token_of(text: String) -> Result<AuthToken, OpenError> {
    AuthToken::new(&text).map_err(|_| OpenError::Malformed)
}

#[async_trait]
impl Store for SealedTenants {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.inner.create_tenant(&self.seal(tenant)?).await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.inner.update_tenant(&self.seal(tenant)?).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        match self.inner.get_tenant(id).await? {
            Some(stored) => Ok(Some(self.open(&stored)?)),
            None => Ok(None),
        }
    }

    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        self.inner.tenant_ids().await
    }

    async fn insert_callback(&self, record: &CallbackRecord) -> Result<Inserted, StoreError> {
        self.inner.insert_callback(record).await
    }

    async fn open_callback_for_call(
        &self,
        fresh: &CallbackRecord,
        now: Timestamp,
    ) -> Result<Opened, StoreError> {
        self.inner.open_callback_for_call(fresh, now).await
    }

    async fn get_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.inner.get_callback(tenant, id).await
    }

    async fn find_callback_by_call_sid(
        &self,
        tenant: &TenantId,
        call_sid: &CallSid,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.inner.find_callback_by_call_sid(tenant, call_sid).await
    }

    async fn find_open_callback_by_number(
        &self,
        tenant: &TenantId,
        number: &E164,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.inner
            .find_open_callback_by_number(tenant, number)
            .await
    }

    async fn update_callback(&self, record: &CallbackRecord) -> Result<CallbackRecord, StoreError> {
        self.inner.update_callback(record).await
    }

    async fn delete_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.inner.delete_callback(tenant, id).await
    }

    async fn unlink_callback(&self, record: &CallbackRecord) -> Result<(), StoreError> {
        self.inner.unlink_callback(record).await
    }

    async fn expired_callbacks(&self, limit: usize) -> Result<Vec<CallbackRecord>, StoreError> {
        self.inner.expired_callbacks(limit).await
    }

    async fn recent_callbacks(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        self.inner.recent_callbacks(tenant, limit).await
    }

    async fn list_callbacks(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page, StoreError> {
        self.inner.list_callbacks(tenant, query).await
    }

    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.inner.create_api_key(key).await
    }

    async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.inner.find_api_key(hash).await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        self.inner.list_api_keys(tenant).await
    }

    async fn revoke_api_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<ApiKey, StoreError> {
        self.inner.revoke_api_key(tenant, key_id, at).await
    }
}
