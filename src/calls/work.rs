//! Agents' work on the callback list: the list, a record and its
//! recordings, and changes decided by the domain on the record's latest
//! version and written only if nobody wrote since.

use crate::domain::callback::{CallbackRecord, RecordingState, Status};

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

/// Counts stop here: a count this high means at least as many.
pub const COUNT_CAP: usize = 1000;
/// Claimed records read to count an agent's own: claims are few (each
/// agent holds a handful, and a claim lapses).
const MINE_READ: usize = 200;

/// What an agent keeping the list open needs to notice new calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub pending: usize,
    /// Pending records past their due time.
    pub overdue: usize,
    pub claimed: usize,
    /// Claimed by the signed-in agent (among the first `MINE_READ` claimed
    /// by due time); `None` for an API key.
    pub mine: Option<usize>,
    /// When the newest record's first call arrived: a new call changes it.
    pub latest_received_at: Option<jiff::Timestamp>,
}

/// The tenant's open records counted, and its newest call; `login` is the
/// signed-in agent's.
pub async fn counts(
    deps: Deps<'_>,
    tenant: &TenantId,
    login: Option<&str>,
) -> Result<Counts, StoreError> {
    let now = deps.clock.now().as_millisecond();
    let store = deps.store;
    let pending = store
        .count_callbacks(tenant, Status::Pending, None, COUNT_CAP)
        .await?;
    let overdue = store
        .count_callbacks(tenant, Status::Pending, Some(now), COUNT_CAP)
        .await?;
    let claimed = store
        .count_callbacks(tenant, Status::Claimed, None, COUNT_CAP)
        .await?;
    let mine = match login {
        Some(login) if claimed > 0 => {
            let query = ListQuery {
                status: Some(Status::Claimed),
                limit: MINE_READ,
                ..ListQuery::default()
            };
            let page = store.list_callbacks(tenant, &query).await?;
            Some(
                page.items
                    .iter()
                    .filter(|r| r.claimed_by.as_deref() == Some(login))
                    .count(),
            )
        }
        Some(_) => Some(0),
        None => None,
    };
    let latest_received_at = store
        .recent_callbacks(tenant, 1)
        .await?
        .first()
        .map(|r| r.received_at);
    Ok(Counts {
        pending,
        overdue,
        claimed,
        mine,
        latest_received_at,
    })
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
