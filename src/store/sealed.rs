//! Tenants' Twilio secrets sealed on their way into any store and opened on
//! their way out, so adapters store them as they get them and the domain
//! sees plaintext. Below this layer a `Tenant`'s secret fields hold sealed
//! text (`secrets` module). A legacy plaintext secret reads as it is, and is
//! sealed on the tenant's next write (`afureko tenant reseal`: at once).

use super::{StoreError, TenantStore};
use crate::domain::ids::TenantId;
use crate::domain::tenant::{AuthToken, Tenant};
use crate::secrets::{OpenError, Sealer};
use async_trait::async_trait;
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
