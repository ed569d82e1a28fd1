//! Tenants' Twilio secrets, and the signing secrets of their notification
//! endpoints, sealed on their way into any store and opened on their way
//! out, so adapters store them as they get them and the domain sees
//! plaintext. Below this layer a `Tenant`'s secret fields and an
//! `Endpoint`'s `secret` hold sealed text (`secrets` module). A legacy
//! plaintext tenant secret reads as it is, and is sealed on the tenant's
//! next write (`afureko tenant reseal`: at once).

use super::notify::EndpointStore;
use super::{StoreError, TenantStore};
use crate::domain::ids::TenantId;
use crate::domain::notify::endpoint::Endpoint;
use crate::domain::notify::signing::WebhookSecret;
use crate::domain::tenant::{AuthToken, Tenant};
use crate::secrets::{OpenError, Sealer};
use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::Arc;

/// The tenants of `inner`, sealed on their way in and opened on their way out.
pub struct SealedTenants {
    inner: Arc<dyn TenantStore>,
    sealer: Arc<Sealer>,
}

impl SealedTenants {
    pub fn new(inner: Arc<dyn TenantStore>, sealer: Arc<Sealer>) -> Self {
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
impl TenantStore for SealedTenants {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.inner.create_tenant(&self.seal(tenant)?).await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.inner.update_tenant(&self.seal(tenant)?).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.inner
            .get_tenant(id)
            .await?
            .map(|stored| self.open(&stored))
            .transpose()
    }

    async fn get_tenant_fresh(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.inner
            .get_tenant_fresh(id)
            .await?
            .map(|stored| self.open(&stored))
            .transpose()
    }

    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        self.inner.tenant_ids().await
    }
}

/// Notification endpoints of `inner`, their signing secrets sealed on the
/// way in and opened on the way out; the associated data is the tenant and
/// the endpoint, so a secret moved to another endpoint does not open.
pub struct SealedEndpoints {
    inner: Arc<dyn EndpointStore>,
    sealer: Arc<Sealer>,
}

impl SealedEndpoints {
    pub fn new(inner: Arc<dyn EndpointStore>, sealer: Arc<Sealer>) -> Self {
        SealedEndpoints { inner, sealer }
    }

    fn seal(&self, endpoint: &Endpoint) -> Endpoint {
        let mut sealed = endpoint.clone();
        sealed.secret = endpoint
            .secret
            .as_ref()
            .map(|secret| WebhookSecret::stored(self.sealer.seal(&aad(endpoint), secret.expose())));
        sealed
    }

    fn open(&self, stored: Endpoint) -> Result<Endpoint, StoreError> {
        let Some(secret) = &stored.secret else {
            return Ok(stored);
        };
        let failed = |source| StoreError::Secret {
            tenant: stored.tenant_id.to_string(),
            source,
        };
        let plain = self
            .sealer
            .open(&aad(&stored), secret.expose())
            .map_err(failed)?
            .into_plaintext();
        let secret = WebhookSecret::parse(&plain).ok_or_else(|| failed(OpenError::Malformed))?;
        Ok(Endpoint {
            secret: Some(secret),
            ..stored
        })
    }
}

fn aad(endpoint: &Endpoint) -> String {
    format!("{}/notify/{}", endpoint.tenant_id, endpoint.id)
}

#[async_trait]
impl EndpointStore for SealedEndpoints {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.inner.create_endpoint(&self.seal(endpoint)).await
    }

    async fn get_endpoint(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Endpoint>, StoreError> {
        self.inner
            .get_endpoint(tenant, id)
            .await?
            .map(|stored| self.open(stored))
            .transpose()
    }

    async fn list_endpoints(&self, tenant: &TenantId) -> Result<Vec<Endpoint>, StoreError> {
        self.inner
            .list_endpoints(tenant)
            .await?
            .into_iter()
            .map(|stored| self.open(stored))
            .collect()
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<Endpoint, StoreError> {
        let written = self.inner.update_endpoint(&self.seal(endpoint)).await?;
        Ok(Endpoint {
            secret: endpoint.secret.clone(),
            ..written
        })
    }

    async fn delete_endpoint(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Endpoint>, StoreError> {
        self.inner
            .delete_endpoint(tenant, id)
            .await?
            .map(|stored| self.open(stored))
            .transpose()
    }

    async fn tenants_watching_overdue(&self) -> Result<Vec<TenantId>, StoreError> {
        self.inner.tenants_watching_overdue().await
    }

    async fn overdue_swept_to(&self, tenant: &TenantId) -> Result<Option<Timestamp>, StoreError> {
        self.inner.overdue_swept_to(tenant).await
    }

    async fn set_overdue_swept_to(
        &self,
        tenant: &TenantId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.inner.set_overdue_swept_to(tenant, at).await
    }
}
