//! Storage behind narrow traits: records and tenants (`Store`), audio
//! (`RecordingStore`), agents and sessions (`agents::AgentStore`), the
//! recording copy queue (`copy_queue::CopyQueue`). Adapters: embedded
//! (SQLite + a folder), and AWS (DynamoDB + S3 + SQS).

pub mod agents;
pub mod audit;
pub mod copy_queue;
pub mod dynamo;
pub mod fs;
pub mod idempotency;
pub mod layered;
pub mod s3;
pub mod sealed;
pub mod sqlite;
pub mod sqs;
pub mod tenant_cache;

use crate::domain::api_key::ApiKey;
use crate::domain::callback::{CallbackRecord, Status};
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::phone::E164;
use crate::domain::tenant::Tenant;
use async_trait::async_trait;
use jiff::Timestamp;

/// A failure an adapter (SDK, SQLite, disk) reports, kept as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A message names what failed; its cause is the `source()` (print the
/// whole chain with `telemetry::error_chain`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} does not exist")]
    NotFound(String),
    /// The record changed since it was read (optimistic concurrency).
    #[error("the record was changed by someone else")]
    Conflict,
    /// The change would leave the tenant with no active admin.
    #[error("{0} is the tenant's last active admin")]
    LastAdmin(String),
    /// An open record may not take a number another open record has.
    #[error("another open record has this callback number")]
    OpenNumberTaken,
    /// A stored item's JSON does not parse.
    #[error("stored item {key} is malformed")]
    Malformed {
        key: String,
        #[source]
        source: JsonProblem,
    },
    /// A stored item lacks a part that every such item has.
    #[error("stored item {key} is malformed: {problem}")]
    Incomplete { key: String, problem: &'static str },
    #[error("cannot encode {what} as JSON")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// Seen to exist (a failed condition) yet not found on reading it.
    #[error("{0} exists but cannot be read")]
    Unreadable(String),
    #[error("SQLite failed")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot open {path}", path = path.display())]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path} was written by a newer afureko (schema {version})", path = path.display())]
    NewerSchema {
        path: std::path::PathBuf,
        version: usize,
    },
    #[error("the database stayed locked for 5 s")]
    Locked(#[source] rusqlite::Error),
    #[error("the store's worker thread failed")]
    Worker(#[from] tokio::task::JoinError),
    #[error("cannot start the SQLite writer thread")]
    WriterThread(#[source] std::io::Error),
    #[error("the SQLite writer thread stopped")]
    WriterStopped,
    #[error("a SQLite write panicked")]
    WritePanicked,
    /// The transaction this write shared with others did not commit.
    #[error("SQLite could not commit the write")]
    Commit(#[source] std::sync::Arc<rusqlite::Error>),
    #[error("{what} {path}", path = path.display())]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("recording key {0:?} is not a safe relative path")]
    UnsafeKey(String),
    #[error("DynamoDB {op} failed")]
    Dynamo {
        op: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("table {0} did not become active within 30 s")]
    TableNotActive(String),
    #[error("SQS {op} failed")]
    Sqs {
        op: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("S3 {op} failed")]
    S3 {
        op: &'static str,
        #[source]
        source: BoxError,
    },
    /// A tenant's sealed secret does not open with the key in use.
    #[error("the secrets of tenant {tenant} do not open")]
    Secret {
        tenant: String,
        #[source]
        source: crate::secrets::OpenError,
    },
}

/// Where a stored item's JSON broke, not what it held: serde's own
/// message may quote the stored value (a phone number), and error chains
/// are logged.
#[derive(Debug, thiserror::Error)]
#[error("JSON {kind} at line {line} column {column}")]
pub struct JsonProblem {
    kind: &'static str,
    line: usize,
    column: usize,
}

impl From<serde_json::Error> for JsonProblem {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let kind = match e.classify() {
            Category::Io => "read error",
            Category::Syntax => "syntax error",
            Category::Data => "data error",
            Category::Eof => "unexpected end",
        };
        JsonProblem {
            kind,
            line: e.line(),
            column: e.column(),
        }
    }
}

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

impl ListPosition {
    pub fn of(record: &CallbackRecord) -> Self {
        ListPosition {
            due_at_ms: record.due_at.as_millisecond(),
            id: record.id.to_string(),
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Fails with `AlreadyExists` when the id is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Fails with `NotFound` when there is no such tenant.
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// The tenant as stored now, past any cache: the read of a
    /// read-modify-write, so a change made elsewhere moments ago (a token
    /// rotated by the CLI) is not written back over.
    async fn get_tenant_fresh(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get_tenant(id).await
    }
    /// Every tenant's id, in no particular order: for operators' tools.
    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError>;

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

    /// API keys are kept by the hash of the key; the key itself never is.
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError>;
    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError>;
    /// Marks the key revoked; `NotFound` when the tenant has no such key.
    async fn revoke_api_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
        at: jiff::Timestamp,
    ) -> Result<ApiKey, StoreError>;
}

/// The store's one key record (see `secrets::keys`): what proves at
/// start-up that the configured key is the one its secrets were sealed with.
#[async_trait]
pub trait KeyRecordStore: Send + Sync {
    async fn key_record(&self) -> Result<Option<String>, StoreError>;
    /// Writes `record` unless there is one already; false when there was.
    async fn create_key_record(&self, record: &str) -> Result<bool, StoreError>;
}

/// How an agent gets a recording.
#[derive(Debug)]
pub enum RecordingAccess {
    /// The file itself, to stream (the embedded store).
    File {
        path: std::path::PathBuf,
        length: u64,
    },
    /// A short-lived link to it (S3).
    Redirect(String),
}

/// Audio moves through files, never whole in memory: a download is
/// streamed to a file, and the file is streamed into the store.
#[async_trait]
pub trait RecordingStore: Send + Sync {
    /// Stores the file at `file` under `key`, replacing any earlier copy;
    /// returns only once the audio is durably stored. The file is left as
    /// it was.
    async fn put_file(
        &self,
        key: &str,
        file: &std::path::Path,
        content_type: &str,
    ) -> Result<(), StoreError>;
    /// The whole object, read into memory: for checks and tools, never on
    /// a request's path.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// What to hand an agent for `key`.
    async fn access(&self, key: &str) -> Result<Option<RecordingAccess>, StoreError>;
    /// Deletes the audio under `key`; a key with nothing under it is fine.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// `Store::open_callback_for_call` composed of lookups and conditional
/// writes (DynamoDB's way); a wrapper store can run it through itself.
pub async fn open_by_lookups<S: Store + ?Sized>(
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
pub async fn modify_callback<S: Store + ?Sized>(
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
