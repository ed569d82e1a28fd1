//! Tenants read from a short-lived cache in front of any store: every
//! webhook reads its tenant, and tenants hardly ever change. A change made
//! through this process is seen at once; one made elsewhere (the CLI, a
//! second server, another Lambda instance) within `TTL`.

use super::{Inserted, ListQuery, Opened, Page, Store, StoreError};
use crate::clock::Clock;
use crate::domain::api_key::ApiKey;
use crate::domain::callback::CallbackRecord;
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::phone::E164;
use crate::domain::tenant::Tenant;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// How long a tenant read is reused: the bound on seeing a token rotation
/// or a settings change made by another process.
pub const TTL: SignedDuration = SignedDuration::from_secs(2);

/// Tenants kept at most; past it the cache starts over.
const MAX_TENANTS: usize = 1024;

pub struct TenantCache {
    inner: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ttl: SignedDuration,
    tenants: Mutex<HashMap<TenantId, (Timestamp, Arc<Tenant>)>>,
}

impl TenantCache {
    pub fn new(inner: Arc<dyn Store>, clock: Arc<dyn Clock>, ttl: SignedDuration) -> Self {
        TenantCache {
            inner,
            clock,
            ttl,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    fn tenants(&self) -> MutexGuard<'_, HashMap<TenantId, (Timestamp, Arc<Tenant>)>> {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self, id: &TenantId, now: Timestamp) -> Option<Arc<Tenant>> {
        let tenants = self.tenants();
        let (read_at, tenant) = tenants.get(id)?;
        // A clock that went back does not make an entry live longer.
        let age = now.duration_since(*read_at);
        (age >= SignedDuration::ZERO && age < self.ttl).then(|| tenant.clone())
    }

    fn keep(&self, tenant: &Tenant, read_at: Timestamp) {
        let mut tenants = self.tenants();
        if tenants.len() >= MAX_TENANTS && !tenants.contains_key(&tenant.id) {
            tenants.clear();
        }
        tenants.insert(tenant.id.clone(), (read_at, Arc::new(tenant.clone())));
    }

    fn forget(&self, id: &TenantId) {
        self.tenants().remove(id);
    }
}

#[async_trait]
impl Store for TenantCache {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let result = self.inner.create_tenant(tenant).await;
        self.forget(&tenant.id);
        result
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let result = self.inner.update_tenant(tenant).await;
        self.forget(&tenant.id);
        result
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        // The time before the read: the entry is never older than it says.
        let now = self.clock.now();
        if let Some(tenant) = self.fresh(id, now) {
            return Ok(Some(Tenant::clone(&tenant)));
        }
        let read = self.inner.get_tenant(id).await?;
        match &read {
            Some(tenant) => self.keep(tenant, now),
            // Unknown tenants are not kept: a new one works at once.
            None => self.forget(id),
        }
        Ok(read)
    }

    async fn get_tenant_fresh(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let now = self.clock.now();
        let read = self.inner.get_tenant_fresh(id).await?;
        match &read {
            Some(tenant) => self.keep(tenant, now),
            None => self.forget(id),
        }
        Ok(read)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::domain::ids::AccountSid;
    use crate::domain::tenant::{AuthToken, TenantSettings, TwilioCredentials};
    use crate::store::sqlite::SqliteStore;

    const T0: &str = "2026-11-25T01:00:00Z";
    const TTL_MS: i64 = 2_000;

    fn at(offset_ms: i64) -> Timestamp {
        T0.parse::<Timestamp>().unwrap() + SignedDuration::from_millis(offset_ms)
    }

    async fn tenant_in(store: &dyn Store) -> Tenant {
        let tenant = Tenant {
            id: TenantId::parse("acme").unwrap(),
            twilio: TwilioCredentials {
                account_sid: AccountSid::parse(&format!("AC{:032x}", 1)).unwrap(),
                auth_token: AuthToken::new("first").unwrap(),
                webhook_shared_key: None,
                previous_auth_token: None,
            },
            settings: TenantSettings::default(),
            created_at: at(0),
        };
        store.create_tenant(&tenant).await.unwrap();
        tenant
    }

    #[tokio::test]
    async fn a_token_rotated_elsewhere_is_seen_within_the_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let db: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("afureko.db"))
                .await
                .unwrap(),
        );
        let clock = Arc::new(FixedClock::new(at(0)));
        let cache = TenantCache::new(
            db.clone(),
            clock.clone(),
            SignedDuration::from_millis(TTL_MS),
        );
        let mut tenant = tenant_in(db.as_ref()).await;
        let id = tenant.id.clone();
        let token = |t: Option<Tenant>| t.unwrap().twilio.auth_token.expose().to_owned();
        assert_eq!(token(cache.get_tenant(&id).await.unwrap()), "first");

        // Another process (the CLI) rotates the token behind the cache.
        tenant.twilio.auth_token = AuthToken::new("rotated").unwrap();
        db.update_tenant(&tenant).await.unwrap();

        clock.set(at(TTL_MS - 1));
        assert_eq!(token(cache.get_tenant(&id).await.unwrap()), "first");
        clock.set(at(TTL_MS));
        assert_eq!(token(cache.get_tenant(&id).await.unwrap()), "rotated");
    }

    #[tokio::test]
    async fn a_fresh_read_sees_a_change_made_elsewhere_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let db: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("afureko.db"))
                .await
                .unwrap(),
        );
        let clock = Arc::new(FixedClock::new(at(0)));
        let cache = TenantCache::new(db.clone(), clock, TTL);
        let mut tenant = tenant_in(db.as_ref()).await;
        cache.get_tenant(&tenant.id).await.unwrap();
        tenant.twilio.auth_token = AuthToken::new("rotated").unwrap();
        db.update_tenant(&tenant).await.unwrap();
        let token = |t: Option<Tenant>| t.unwrap().twilio.auth_token.expose().to_owned();
        assert_eq!(
            token(cache.get_tenant_fresh(&tenant.id).await.unwrap()),
            "rotated"
        );
        // And it refreshed the cache for the readers after it.
        assert_eq!(
            token(cache.get_tenant(&tenant.id).await.unwrap()),
            "rotated"
        );
    }

    #[tokio::test]
    async fn a_change_through_the_cache_is_seen_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let db: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("afureko.db"))
                .await
                .unwrap(),
        );
        let clock = Arc::new(FixedClock::new(at(0)));
        let cache = TenantCache::new(db, clock, TTL);
        let mut tenant = tenant_in(&cache).await;
        cache.get_tenant(&tenant.id).await.unwrap();
        tenant.twilio.auth_token = AuthToken::new("rotated").unwrap();
        cache.update_tenant(&tenant).await.unwrap();
        let read = cache.get_tenant(&tenant.id).await.unwrap().unwrap();
        assert_eq!(read.twilio.auth_token.expose(), "rotated");
    }
}
