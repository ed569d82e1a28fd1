//! A tenant's settings, as its admins read and change them.

use super::{CredentialsChange, TenantsError, update};
use crate::deps::Deps;
use crate::domain::audit::Actor;
use crate::domain::settings::SettingsChange;
use crate::domain::tenant::{Tenant, TenantSettings};
use crate::store::StoreError;

/// The settings of `tenant` as stored now, past the cache (the page shows
/// what the last change left).
pub async fn read(deps: Deps<'_>, tenant: &Tenant) -> Result<TenantSettings, StoreError> {
    let fresh = deps.store.get_tenant_fresh(&tenant.id).await?;
    Ok(fresh.map_or_else(|| tenant.settings.clone(), |t| t.settings))
}

/// Applies `change` to the settings of `tenant`, audited as
/// `settings_changed`; the settings as they are now.
pub async fn change(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &Tenant,
    change: SettingsChange,
) -> Result<TenantSettings, TenantsError> {
    let changed = update(
        deps,
        actor,
        &tenant.id,
        CredentialsChange::default(),
        change,
    )
    .await?;
    Ok(changed.settings)
}
