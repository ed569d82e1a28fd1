//! Callback records: one per caller's request, found by id, by CallSid
//! and by the open record of a number; the due-ordered list an agent
//! works through, a page at a time.

use super::StoreError;
use crate::domain::callback::{CallbackRecord, Status};
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::phone::E164;
use async_trait::async_trait;
use jiff::Timestamp;

/// What `insert_callback` found.
#[derive(Debug)]
pub enum Inserted {
    Created(CallbackRecord),
    /// A record for this CallSid existed already (a retried webhook).
    Existing(CallbackRecord),
    /// Another call's open record has this callback number: nothing was
    /// written, and the call may join that record.
    NumberOpen(CallbackRecord),
}

impl Inserted {
    pub fn into_record(self) -> CallbackRecord {
        match self {
            Inserted::Created(r) | Inserted::Existing(r) | Inserted::NumberOpen(r) => r,
        }
    }
}

/// What `open_callback_for_call` found or did.
#[derive(Debug)]
pub enum Opened {
    /// The call had a record already (a retried webhook, a later step).
    Existing(CallbackRecord),
    /// The call joined the open record of its number (a repeat caller).
    Joined(CallbackRecord),
    Created(CallbackRecord),
}

/// Where a page of the due-ordered list ended: the last item's due time
/// and id. Keyset pagination, so pages stay right while records change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPosition {
    pub due_at_ms: i64,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub limit: usize,
    /// Start after this position (exclusive).
    pub after: Option<ListPosition>,
}

#[derive(Debug)]
pub struct Page {
    pub items: Vec<CallbackRecord>,
    /// Set when more items may follow.
    pub next: Option<ListPosition>,
}

/// Records by arrival: those received in `[from, until)`, oldest first
/// (ties by id), a page at a time.
#[derive(Debug, Clone)]
pub struct ReceivedQuery {
    pub from: Timestamp,
    pub until: Timestamp,
    pub limit: usize,
    /// Start after this record (exclusive).
    pub after: Option<ReceivedPosition>,
}

/// A record's place in arrival order: its received time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPosition {
    pub received_at_ms: i64,
    pub id: String,
}

impl ReceivedPosition {
    pub fn of(record: &CallbackRecord) -> Self {
        ReceivedPosition {
            received_at_ms: record.received_at.as_millisecond(),
            id: record.id.to_string(),
        }
    }
}

/// A page of records by arrival.
#[derive(Debug)]
pub struct ReceivedPage {
    pub items: Vec<CallbackRecord>,
    /// Set when more items may follow (after the last of this page, or
    /// after `next` when the page's records all expired meanwhile).
    pub next: Option<ReceivedPosition>,
}

impl ListPosition {
    pub fn of(record: &CallbackRecord) -> Self {
        ListPosition {
            due_at_ms: record.due_at.as_millisecond(),
            id: record.id.to_string(),
        }
    }
}

#[async_trait]
pub trait CallbackStore: Send + Sync {
    /// Creates the record unless one exists for its (tenant, CallSid), or
    /// another open record has its callback number; each check and its
    /// write are one atomic step, so racing calls make one open record.
    async fn insert_callback(&self, record: &CallbackRecord) -> Result<Inserted, StoreError>;
    async fn get_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError>;
    /// The record a call belongs to: its first call or a repeat call.
    async fn find_callback_by_call_sid(
        &self,
        tenant: &TenantId,
        call_sid: &CallSid,
    ) -> Result<Option<CallbackRecord>, StoreError>;
    /// The tenant's oldest pending or claimed record with this callback
    /// number (a repeat caller's earlier request).
    async fn find_open_callback_by_number(
        &self,
        tenant: &TenantId,
        number: &E164,
    ) -> Result<Option<CallbackRecord>, StoreError>;
    /// The record of `fresh.call_sid`: the one the call belongs to, else
    /// the tenant's open record of `fresh.callback_number` (the call joins
    /// it), else `fresh`, inserted. A webhook's whole store step: backends
    /// that can run it as one transaction override this composition.
    async fn open_callback_for_call(
        &self,
        fresh: &CallbackRecord,
        now: Timestamp,
    ) -> Result<Opened, StoreError> {
        open_by_lookups(self, fresh, now).await
    }
    /// Writes `record` if the stored version still equals `record.version`,
    /// and returns it with the new version; `Conflict` otherwise, and
    /// `OpenNumberTaken` if an open record would take another open
    /// record's number.
    async fn update_callback(&self, record: &CallbackRecord) -> Result<CallbackRecord, StoreError>;
    /// The tenant's records, newest call first.
    async fn recent_callbacks(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError>;
    /// The tenant's records, oldest due first (ties by id), optionally of
    /// one status, starting after `query.after`.
    async fn list_callbacks(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page, StoreError>;
    /// The tenant's records received in a period, oldest first: read
    /// through an index on arrival time, never the rest of the history.
    async fn received_callbacks(
        &self,
        tenant: &TenantId,
        query: &ReceivedQuery,
    ) -> Result<ReceivedPage, StoreError>;
    /// How many of the tenant's records were received in `[from, until)`;
    /// on DynamoDB records past their retention still count until its TTL
    /// deletes them.
    async fn count_received(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<usize, StoreError>;
    /// Deletes a record, expired or not, with its call links (and number
    /// guard); returns what it deleted, `None` when there was nothing.
    async fn delete_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError>;
    /// Deletes what still points at `record` once it is gone (its call
    /// links and number guard): after the table's TTL deleted it.
    async fn unlink_callback(&self, record: &CallbackRecord) -> Result<(), StoreError>;
    /// Records of any tenant past their `expires_at` and still stored,
    /// soonest expired first: the sweeper deletes them and their audio.
    /// DynamoDB has none to give without a scan: its TTL deletes them, and
    /// the table's stream of those deletions removes their audio
    /// (docs/retention.md).
    async fn expired_callbacks(&self, limit: usize) -> Result<Vec<CallbackRecord>, StoreError>;
}

/// `CallbackStore::open_callback_for_call` composed of lookups and conditional
/// writes (DynamoDB's way); a wrapper store can run it through itself.
pub async fn open_by_lookups<S: CallbackStore + ?Sized>(
    store: &S,
    fresh: &CallbackRecord,
    now: Timestamp,
) -> Result<Opened, StoreError> {
    let (tenant, call_sid) = (&fresh.tenant_id, &fresh.call_sid);
    if let Some(existing) = store.find_callback_by_call_sid(tenant, call_sid).await? {
        return Ok(Opened::Existing(existing));
    }
    let number = &fresh.callback_number;
    let open = match store.find_open_callback_by_number(tenant, number).await? {
        Some(open) => open,
        None => match store.insert_callback(fresh).await? {
            Inserted::Created(r) => return Ok(Opened::Created(r)),
            Inserted::Existing(r) => return Ok(Opened::Existing(r)),
            // A call from the same number came first a moment ago.
            Inserted::NumberOpen(open) => open,
        },
    };
    // A concurrent delivery of this very call made it: the call's own
    // record, not a repeat caller's.
    if open.has_call(call_sid) {
        return Ok(Opened::Existing(open));
    }
    let joined = modify_callback(store, tenant, &open.id, |r| {
        r.attach_call(call_sid.clone(), fresh.received_at, now)
    })
    .await?;
    Ok(Opened::Joined(joined))
}

/// Optimistic read-modify-write: applies `change` to the latest record and
/// writes it conditionally, re-reading on a conflict. `change` returns false
/// when there is nothing to write (e.g. a retried webhook).
pub async fn modify_callback<S: CallbackStore + ?Sized>(
    store: &S,
    tenant: &TenantId,
    id: &CallbackId,
    mut change: impl FnMut(&mut CallbackRecord) -> bool + Send,
) -> Result<CallbackRecord, StoreError> {
    const TRIES: usize = 8;
    for _ in 0..TRIES {
        let mut record = store
            .get_callback(tenant, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("callback {id}")))?;
        if !change(&mut record) {
            return Ok(record);
        }
        match store.update_callback(&record).await {
            Err(StoreError::Conflict) => continue,
            other => return other,
        }
    }
    Err(StoreError::Conflict)
}
