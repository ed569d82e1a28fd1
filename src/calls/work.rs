//! Agents' work on the callback list: the list, a record and its
//! recordings, and changes decided by the domain on the record's latest
//! version and written only if nobody wrote since.

use crate::domain::callback::{CallbackRecord, RecordingState};

use crate::deps::Deps;
use crate::domain::ids::{CallbackId, TenantId};
use crate::domain::work::ChangeError;
use crate::store::{ListQuery, Page, RecordingAccess, StoreError, modify_callback};

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// No such record for this tenant (another tenant's ids included).
    #[error("no callback {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Refused(#[from] ChangeError),
    /// The record has no stored recording (of that sid).
    #[error("this callback has no stored recording {}", if *.of_sid { "of that sid" } else { "yet" })]
    NoRecording { of_sid: bool },
    /// A correction would open the record again while another open record
    /// has its number (the customer called again meanwhile).
    #[error(
        "another open callback has this number (the customer called again): this one cannot open again"
    )]
    NumberOpenElsewhere,
    /// A stored record names audio the recording store does not have.
    #[error("recording {0} is missing from the store")]
    MissingAudio(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for WorkError {
    fn from(e: StoreError) -> Self {
        WorkError::Store(e)
    }
}

/// A page of the tenant's list, oldest due first.
pub async fn list(
    deps: Deps<'_>,
    tenant: &TenantId,
    query: &ListQuery,
) -> Result<Page, StoreError> {
    deps.store.list_callbacks(tenant, query).await
}

/// The tenant's newest `limit` records, newest call first.
pub async fn recent(
    deps: Deps<'_>,
    tenant: &TenantId,
    limit: usize,
) -> Result<Vec<CallbackRecord>, StoreError> {
    deps.store.recent_callbacks(tenant, limit).await
}

/// The stored recording `sid` of the record `id` (the newest stored one
/// when `sid` is `None`): its key, and how an agent gets it.
pub async fn recording(
    deps: Deps<'_>,
    tenant: &TenantId,
    id: &str,
    sid: Option<&str>,
) -> Result<(String, RecordingAccess), WorkError> {
    let record = load(deps, tenant, id).await?;
    let key = match sid {
        Some(sid) => record
            .recordings
            .iter()
            .find(|r| r.sid.as_str() == sid && r.state == RecordingState::Stored)
            .and_then(|r| r.storage_key.as_deref()),
        None => record.latest_stored_key(),
    }
    .ok_or(WorkError::NoRecording {
        of_sid: sid.is_some(),
    })?;
    match deps.audio.access(key).await? {
        Some(access) => Ok((key.to_owned(), access)),
        None => Err(WorkError::MissingAudio(key.to_owned())),
    }
}

/// The tenant's record `id` (as the client wrote it).
pub async fn load(
    deps: Deps<'_>,
    tenant: &TenantId,
    id: &str,
) -> Result<CallbackRecord, WorkError> {
    let not_found = || WorkError::NotFound(id.to_owned());
    let callback_id = CallbackId::parse(id).ok_or_else(not_found)?;
    deps.store
        .get_callback(tenant, &callback_id)
        .await?
        .ok_or_else(not_found)
}

/// Applies an agent's change to the tenant's record `id`.
pub async fn change(
    deps: Deps<'_>,
    tenant: &TenantId,
    id: &str,
    mut apply: impl FnMut(&mut CallbackRecord) -> Result<(), ChangeError> + Send,
) -> Result<CallbackRecord, WorkError> {
    let not_found = || WorkError::NotFound(id.to_owned());
    let callback_id = CallbackId::parse(id).ok_or_else(not_found)?;
    let mut refused = None;
    let updated = modify_callback(deps.store, tenant, &callback_id, |r| match apply(r) {
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
