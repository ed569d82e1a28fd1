//! Use cases of a tenant as a whole: made and changed by the operator
//! (CLI), its settings changed by its admins too (API, `settings`), its
//! audit trail read. A change writes its audit entry itself, so the API
//! and the CLI leave the same one.

pub mod settings;

use crate::deps::Deps;
use crate::domain::audit::{Actor, AuditAction, AuditEntry};
use crate::domain::ids::{AccountSid, TenantId};
use crate::domain::settings::{SettingsChange, SettingsError};
use crate::domain::tenant::{AuthToken, Tenant, TenantError, TenantSettings, TwilioCredentials};
use crate::store::StoreError;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum TenantsError {
    #[error("no tenant {0}")]
    NoTenant(TenantId),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A credential change the domain refuses (e.g. a rotation's overlap).
    #[error(transparent)]
    Credentials(TenantError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tenant `id`, as the cache has it.
pub async fn get(deps: Deps<'_>, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
    deps.store.get_tenant(id).await
}

/// The tenant `id`, which must exist.
pub async fn load(deps: Deps<'_>, id: &TenantId) -> Result<Tenant, TenantsError> {
    get(deps, id)
        .await?
        .ok_or_else(|| TenantsError::NoTenant(id.clone()))
}

/// Makes a tenant with `twilio` and the defaults changed by `change`;
/// an id that is taken is `StoreError::AlreadyExists`.
pub async fn create(
    deps: Deps<'_>,
    id: TenantId,
    twilio: TwilioCredentials,
    change: SettingsChange,
) -> Result<Tenant, TenantsError> {
    let mut settings = TenantSettings::default();
    change.apply(&mut settings)?;
    let tenant = Tenant {
        id,
        twilio,
        settings,
        created_at: deps.clock.now(),
    };
    deps.store.create_tenant(&tenant).await?;
    Ok(tenant)
}

/// A change to the Twilio credentials: the operator's only.
#[derive(Default)]
pub struct CredentialsChange {
    pub account_sid: Option<AccountSid>,
    /// The new auth token, and for how many minutes the old one is still
    /// accepted (calls under way are signed with it).
    pub auth_token: Option<(AuthToken, u32)>,
    pub webhook_shared_key: Option<AuthToken>,
}

impl CredentialsChange {
    fn is_empty(&self) -> bool {
        self.account_sid.is_none() && self.auth_token.is_none() && self.webhook_shared_key.is_none()
    }
}

/// Changes the tenant `id`: its credentials, and its settings (audited as
/// `settings_changed`, counting the settings named). Tenants carry no
/// version: the last change wins. The tenant is read past the cache, so a
/// change made elsewhere a moment ago (a rotated token) is not written
/// back over. Nothing named, nothing written.
pub async fn update(
    deps: Deps<'_>,
    actor: &Actor,
    id: &TenantId,
    credentials: CredentialsChange,
    change: SettingsChange,
) -> Result<Tenant, TenantsError> {
    let mut tenant = deps
        .store
        .get_tenant_fresh(id)
        .await?
        .ok_or_else(|| TenantsError::NoTenant(id.clone()))?;
    let named = change.named();
    if named == 0 && credentials.is_empty() {
        return Ok(tenant);
    }
    let now = deps.clock.now();
    let twilio = &mut tenant.twilio;
    if let Some(sid) = credentials.account_sid {
        twilio.account_sid = sid;
    }
    if let Some((token, overlap_minutes)) = credentials.auth_token {
        twilio
            .rotate_auth_token(token, overlap_minutes, now)
            .map_err(TenantsError::Credentials)?;
    }
    if let Some(key) = credentials.webhook_shared_key {
        twilio.webhook_shared_key = Some(key);
    }
    change.apply(&mut tenant.settings)?;
    deps.store.update_tenant(&tenant).await?;
    if named > 0 {
        let counts = BTreeMap::from([("settings".to_owned(), named)]);
        let action = AuditAction::SettingsChanged;
        deps.record_audit(&tenant.id, actor, action, tenant.id.as_str(), counts)
            .await?;
    }
    Ok(tenant)
}

/// Writes every tenant again: read opened, written sealed, so a secret an
/// older afureko stored in plaintext is sealed. How many there were.
pub async fn reseal(deps: Deps<'_>) -> Result<usize, TenantsError> {
    let ids = deps.store.tenant_ids().await?;
    for id in &ids {
        let tenant = load(deps, id).await?;
        deps.store.update_tenant(&tenant).await?;
    }
    Ok(ids.len())
}

/// The tenant's newest `limit` audit entries, newest first.
pub async fn audit_trail(
    deps: Deps<'_>,
    tenant: &TenantId,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    deps.audit.list_audit(tenant, limit).await
}
