//! A tenant's API keys: made (the key shown once, stored as a hash),
//! listed and revoked by an admin (API) or the operator (CLI); and the
//! caller a key stands for.

use super::AccountError;
use crate::deps::Deps;
use crate::domain::api_key::{ApiKey, NewApiKey, hash_key, key_name};
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;
use crate::store::StoreError;
use std::collections::BTreeMap;

/// The tenant's keys, revoked ones included.
pub async fn list(deps: Deps<'_>, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
    deps.store.list_api_keys(tenant).await
}

/// Makes a key named `name` (trimmed; blank is none).
pub async fn create(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &TenantId,
    name: Option<&str>,
) -> Result<NewApiKey, AccountError> {
    let name = key_name(name)?;
    let made = ApiKey::generate(tenant.clone(), name, deps.clock.now());
    deps.store.create_api_key(&made.key).await?;
    let action = AuditAction::ApiKeyCreated;
    deps.record_audit(tenant, actor, action, &made.key.id, BTreeMap::new())
        .await?;
    Ok(made)
}

/// Revokes the tenant's key `id`: it stops working at once. Revoking it
/// again keeps the first revocation time.
pub async fn revoke(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &TenantId,
    id: &str,
) -> Result<ApiKey, AccountError> {
    let key = deps
        .store
        .revoke_api_key(tenant, id, deps.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => AccountError::NoKey(id.to_owned()),
            other => other.into(),
        })?;
    let action = AuditAction::ApiKeyRevoked;
    deps.record_audit(tenant, actor, action, &key.id, BTreeMap::new())
        .await?;
    Ok(key)
}

/// The active key `key` and its tenant, if it is one.
pub async fn authenticate(
    deps: Deps<'_>,
    key: &str,
) -> Result<Option<(Tenant, ApiKey)>, StoreError> {
    let Some(api_key) = deps
        .store
        .find_api_key(&hash_key(key))
        .await?
        .filter(ApiKey::is_active)
    else {
        return Ok(None);
    };
    let tenant = deps.store.get_tenant(&api_key.tenant_id).await?;
    Ok(tenant.map(|tenant| (tenant, api_key)))
}
