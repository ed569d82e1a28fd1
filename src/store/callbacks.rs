//! Callback records: one per caller's request, found by id, by CallSid
//! and by the open record of a number; the due-ordered list an agent
//! works through, a page at a time.

use super::StoreError;
use crate::domain::callback::{CallbackRecord, Status};
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::number_search::NumberSearch;
use crate::domain::phone::E164;
use crate::domain::reason::Reason;
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

/// Where a page of a list ended: the last item's place in the list's
/// order and its id. Keyset pagination, so pages stay right while records
/// change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPosition {
    /// The time the list is ordered by: the due time (`ListBy::Due`,
    /// `DueDesc`), else when the first call arrived.
    pub at_ms: i64,
    /// The attempts logged (`ListBy::Attempts`; 0 for the other orders).
    pub attempts: u32,
    pub id: String,
}

/// Which records a list holds, in which order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ListBy {
    /// Oldest due first, ties by id.
    #[default]
    Due,
    /// Latest due first: a closed list's newest records lead.
    DueDesc,
    /// Open records (pending or claimed), oldest call first: who waited longest.
    Received,
    /// Open records, most attempts first (those about to fail), then oldest call.
    Attempts,
    /// The records whose callback number ends in the search's digits,
    /// newest call first.
    Number(NumberSearch),
}

/// Due times a list keeps, in ms: `from` (inclusive) to `before`. A due
/// filter keeps open records only: a closed record is due no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DueRange {
    pub from: Option<i64>,
    pub before: Option<i64>,
}

impl DueRange {
    pub fn contains(&self, due_ms: i64) -> bool {
        self.from.is_none_or(|f| due_ms >= f) && self.before.is_none_or(|b| due_ms < b)
    }
}

/// What else a record must be to be listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListFilter {
    pub reason: Option<Reason>,
    pub due: Option<DueRange>,
    /// Only records a later call joined.
    pub repeat: bool,
}

impl ListFilter {
    /// Whether `record` passes (the status and the order's own rules aside).
    pub fn keeps(&self, record: &CallbackRecord) -> bool {
        self.reason.is_none_or(|r| record.reason == r)
            && (!self.repeat || !record.repeat_calls.is_empty())
            && self
                .due
                .is_none_or(|d| record.is_open() && d.contains(record.due_at.as_millisecond()))
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub by: ListBy,
    pub filter: ListFilter,
    pub limit: usize,
    /// Start after this position (exclusive).
    pub after: Option<ListPosition>,
}

impl ListQuery {
    /// Whether `record` belongs in this list: its status, its order's
    /// rules and the filter.
    pub fn keeps(&self, record: &CallbackRecord) -> bool {
        let order_keeps = match &self.by {
            ListBy::Due | ListBy::DueDesc => true,
            ListBy::Received | ListBy::Attempts => record.is_open(),
            ListBy::Number(search) => search.matches(&record.callback_number),
        };
        self.status.is_none_or(|s| record.status == s) && order_keeps && self.filter.keeps(record)
    }
}

#[derive(Debug)]
pub struct Page {
    pub items: Vec<CallbackRecord>,
    /// Set when more items may follow. A filtered list may end a page
    /// early (even with no items) and still have more.
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
    /// `record`'s place in a list ordered `by`.
    pub fn of(record: &CallbackRecord, by: &ListBy) -> Self {
        let (at, attempts) = match by {
            ListBy::Due | ListBy::DueDesc => (record.due_at, 0),
            ListBy::Received | ListBy::Number(_) => (record.received_at, 0),
            ListBy::Attempts => (record.received_at, attempts_of(record)),
        };
        ListPosition {
            at_ms: at.as_millisecond(),
            attempts,
            id: record.id.to_string(),
        }
    }
}

/// The attempts of a record, as the lists order them.
pub fn attempts_of(record: &CallbackRecord) -> u32 {
    u32::try_from(record.attempts.len()).unwrap_or(u32::MAX)
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
    /// A page of the tenant's records `query` keeps, in its order,
    /// starting after `query.after`. Unfiltered lists fill their pages;
    /// a filtered one reads a bounded number of records a page and may
    /// end it early.
    async fn list_callbacks(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page, StoreError>;
    /// How many of the tenant's records have `status` (and are due before
    /// `due_before`, in ms, when set), counting up to `cap`.
    async fn count_callbacks(
        &self,
        tenant: &TenantId,
        status: Status,
        due_before: Option<i64>,
        cap: usize,
    ) -> Result<usize, StoreError>;
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
