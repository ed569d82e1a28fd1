//! A layer over tenants in front of any store (sealing secrets, caching
//! reads): it sees every tenant read and write, and everything else passes
//! straight through to the store below.

use super::{Inserted, ListQuery, Opened, Page, Store, StoreError};
use crate::domain::api_key::ApiKey;
use crate::domain::callback::CallbackRecord;
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::phone::E164;
use crate::domain::tenant::Tenant;
use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::Arc;

/// What a layer does to tenants on their way into and out of `inner`.
#[async_trait]
pub trait TenantLayer: Send + Sync {
    async fn create_tenant(&self, inner: &dyn Store, tenant: &Tenant) -> Result<(), StoreError>;
    async fn update_tenant(&self, inner: &dyn Store, tenant: &Tenant) -> Result<(), StoreError>;
    async fn get_tenant(
        &self,
        inner: &dyn Store,
        id: &TenantId,
    ) -> Result<Option<Tenant>, StoreError>;
    /// `Store::get_tenant_fresh`: past any cache.
    async fn get_tenant_fresh(
        &self,
        inner: &dyn Store,
        id: &TenantId,
    ) -> Result<Option<Tenant>, StoreError>;
}

/// `inner` with `layer` in front of its tenants.
pub struct Layered<L> {
    inner: Arc<dyn Store>,
    layer: L,
}

impl<L: TenantLayer> Layered<L> {
    pub fn new(inner: Arc<dyn Store>, layer: L) -> Self {
        Layered { inner, layer }
    }
}

#[async_trait]
impl<L: TenantLayer> Store for Layered<L> {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.layer.create_tenant(self.inner.as_ref(), tenant).await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.layer.update_tenant(self.inner.as_ref(), tenant).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.layer.get_tenant(self.inner.as_ref(), id).await
    }

    async fn get_tenant_fresh(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.layer.get_tenant_fresh(self.inner.as_ref(), id).await
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
