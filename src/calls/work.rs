//! Agents' work on the callback list: changes decided by the domain on the
//! record's latest version and written only if nobody wrote since.

use crate::domain::callback::CallbackRecord;

use crate::domain::ids::{CallbackId, TenantId};
use crate::domain::work::ChangeError;
use crate::store::{Store, StoreError, modify_callback};

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// No such record for this tenant (another tenant's ids included).
    #[error("no callback {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Refused(#[from] ChangeError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for WorkError {
    fn from(e: StoreError) -> Self {
        WorkError::Store(e)
    }
}

/// The tenant's record `id` (as the client wrote it).
pub async fn load(
    store: &dyn Store,
    tenant: &TenantId,
    id: &str,
) -> Result<CallbackRecord, WorkError> {
    let not_found = || WorkError::NotFound(id.to_owned());
    let callback_id = CallbackId::parse(id).ok_or_else(not_found)?;
    store
        .get_callback(tenant, &callback_id)
        .await?
        .ok_or_else(not_found)
}

/// Applies an agent's change to the tenant's record `id`.
pub async fn change(
    store: &dyn Store,
    tenant: &TenantId,
    id: &str,
    mut apply: impl FnMut(&mut CallbackRecord) -> Result<(), ChangeError> + Send,
) -> Result<CallbackRecord, WorkError> {
    let not_found = || WorkError::NotFound(id.to_owned());
    let callback_id = CallbackId::parse(id).ok_or_else(not_found)?;
    let mut refused = None;
    let updated = modify_callback(store, tenant, &callback_id, |r| match apply(r) {
        Ok(()) => true,
        Err(e) => {
            refused = Some(e);
            false
        }
    })
    .await
    .map_err(|e| match e {
        StoreError::NotFound(_) => not_found(),
        other => other.into(),
    })?;
    match refused {
        Some(e) => Err(e.into()),
        None => Ok(updated),
    }
}
