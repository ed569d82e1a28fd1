//! Tenants read from a short-lived cache in front of any store: every
//! webhook reads its tenant, and tenants hardly ever change. A change made
//! through this process is seen at once; one made elsewhere (the CLI, a
//! second server, another Lambda instance) within `TTL`.

use super::{StoreError, TenantStore};
use crate::clock::Clock;
use crate::domain::ids::TenantId;
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

/// The tenants of `inner`, each read kept for `ttl`.
pub struct TenantCache {
    inner: Arc<dyn TenantStore>,
    clock: Arc<dyn Clock>,
    ttl: SignedDuration,
    tenants: Mutex<HashMap<TenantId, (Timestamp, Arc<Tenant>)>>,
}

impl TenantCache {
    pub fn new(inner: Arc<dyn TenantStore>, clock: Arc<dyn Clock>, ttl: SignedDuration) -> Self {
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
impl TenantStore for TenantCache {
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
        if let Some(tenant) = self.fresh(id, self.clock.now()) {
            return Ok(Some(Tenant::clone(&tenant)));
        }
        self.get_tenant_fresh(id).await
    }

    /// Reads past the cache and keeps what it read.
    async fn get_tenant_fresh(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        // The time before the read: the entry is never older than it says.
        let now = self.clock.now();
        let read = self.inner.get_tenant_fresh(id).await?;
        match &read {
            Some(tenant) => self.keep(tenant, now),
            // Unknown tenants are not kept: a new one works at once.
            None => self.forget(id),
        }
        Ok(read)
    }

    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        self.inner.tenant_ids().await
    }
}

// On the embedded store, which a Lambda build leaves out.
#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::domain::ids::AccountSid;
    use crate::domain::tenant::{AuthToken, TenantSettings, TwilioCredentials};
    use crate::store::sqlite::SqliteStore;

    const T0: &str = "2026-11-25T01:00:00Z";

    fn at(offset_ms: i64) -> Timestamp {
        T0.parse::<Timestamp>().unwrap() + SignedDuration::from_millis(offset_ms)
    }

    async fn sqlite() -> (tempfile::TempDir, Arc<dyn TenantStore>) {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(&dir.path().join("afureko.db"))
            .await
            .unwrap();
        (dir, Arc::new(db))
    }

    async fn tenant_in(store: &dyn TenantStore) -> Tenant {
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
        let (_dir, db) = sqlite().await;
        let clock = Arc::new(FixedClock::new(at(0)));
        // The production TTL, which docs/operations.md promises is 2 s.
        assert_eq!(TTL, SignedDuration::from_secs(2));
        let ttl_ms = i64::try_from(TTL.as_millis()).unwrap();
        let cache = TenantCache::new(db.clone(), clock.clone(), TTL);
        let mut tenant = tenant_in(db.as_ref()).await;
        let id = tenant.id.clone();
        let token = |t: Option<Tenant>| t.unwrap().twilio.auth_token.expose().to_owned();
        assert_eq!(token(cache.get_tenant(&id).await.unwrap()), "first");

        // Another process (the CLI) rotates the token behind the cache.
        tenant.twilio.auth_token = AuthToken::new("rotated").unwrap();
        db.update_tenant(&tenant).await.unwrap();

        clock.set(at(ttl_ms - 1));
        assert_eq!(token(cache.get_tenant(&id).await.unwrap()), "first");
        clock.set(at(ttl_ms));
        assert_eq!(token(cache.get_tenant(&id).await.unwrap()), "rotated");
    }

    #[tokio::test]
    async fn a_fresh_read_sees_a_change_made_elsewhere_at_once() {
        let (_dir, db) = sqlite().await;
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
        let (_dir, db) = sqlite().await;
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
