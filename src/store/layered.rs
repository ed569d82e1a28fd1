//! A store whose tenants go through a decorator of tenants (sealing
//! secrets, caching reads) while its records and API keys go straight to
//! the store below: the decorators implement `TenantStore` only.

use super::{
    ApiKeyStore, CallbackStore, Inserted, ListQuery, Opened, Page, ReceivedPage, ReceivedQuery,
    Store, StoreError, TenantStore,
};
use crate::domain::api_key::ApiKey;
use crate::domain::callback::{CallbackRecord, Status};
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::phone::E164;
use crate::domain::tenant::Tenant;
use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::Arc;

/// `store` with its tenants read and written through `tenants`, which
/// wraps the tenants of `store`.
pub struct Layered {
    store: Arc<dyn Store>,
    tenants: Arc<dyn TenantStore>,
}

impl Layered {
    pub fn new(store: Arc<dyn Store>, tenants: Arc<dyn TenantStore>) -> Self {
        Layered { store, tenants }
    }
}

#[async_trait]
impl TenantStore for Layered {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.tenants.create_tenant(tenant).await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.tenants.update_tenant(tenant).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.tenants.get_tenant(id).await
    }

    async fn get_tenant_fresh(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.tenants.get_tenant_fresh(id).await
    }

    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        self.tenants.tenant_ids().await
    }
}

#[async_trait]
impl CallbackStore for Layered {
    async fn insert_callback(&self, record: &CallbackRecord) -> Result<Inserted, StoreError> {
        self.store.insert_callback(record).await
    }

    async fn open_callback_for_call(
        &self,
        fresh: &CallbackRecord,
        now: Timestamp,
    ) -> Result<Opened, StoreError> {
        self.store.open_callback_for_call(fresh, now).await
    }

    async fn get_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.store.get_callback(tenant, id).await
    }

    async fn find_callback_by_call_sid(
        &self,
        tenant: &TenantId,
        call_sid: &CallSid,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.store.find_callback_by_call_sid(tenant, call_sid).await
    }

    async fn find_open_callback_by_number(
        &self,
        tenant: &TenantId,
        number: &E164,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.store
            .find_open_callback_by_number(tenant, number)
            .await
    }

    async fn update_callback(&self, record: &CallbackRecord) -> Result<CallbackRecord, StoreError> {
        self.store.update_callback(record).await
    }

    async fn delete_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.store.delete_callback(tenant, id).await
    }

    async fn unlink_callback(&self, record: &CallbackRecord) -> Result<(), StoreError> {
        self.store.unlink_callback(record).await
    }

    async fn expired_callbacks(&self, limit: usize) -> Result<Vec<CallbackRecord>, StoreError> {
        self.store.expired_callbacks(limit).await
    }

    async fn recent_callbacks(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        self.store.recent_callbacks(tenant, limit).await
    }

    async fn list_callbacks(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page, StoreError> {
        self.store.list_callbacks(tenant, query).await
    }

    async fn count_callbacks(
        &self,
        tenant: &TenantId,
        status: Status,
        due_before: Option<i64>,
        cap: usize,
    ) -> Result<usize, StoreError> {
        self.store
            .count_callbacks(tenant, status, due_before, cap)
            .await
    }

    async fn received_callbacks(
        &self,
        tenant: &TenantId,
        query: &ReceivedQuery,
    ) -> Result<ReceivedPage, StoreError> {
        self.store.received_callbacks(tenant, query).await
    }

    async fn count_received(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<usize, StoreError> {
        self.store.count_received(tenant, from, until).await
    }
}

#[async_trait]
impl ApiKeyStore for Layered {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.store.create_api_key(key).await
    }

    async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.store.find_api_key(hash).await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        self.store.list_api_keys(tenant).await
    }

    async fn revoke_api_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<ApiKey, StoreError> {
        self.store.revoke_api_key(tenant, key_id, at).await
    }
}
