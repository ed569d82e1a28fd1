//! Storage behind narrow traits: tenants (`TenantStore`), callback
//! records (`CallbackStore`), API keys (`ApiKeyStore`), and `Store`, which
//! is all three; audio (`RecordingStore`), agents and sessions
//! (`agents::AgentStore`), the audit trail (`audit::AuditStore`), the
//! API's Idempotency-Keys (`idempotency::IdempotencyStore`), the recording
//! copy queue (`copy_queue::CopyQueue`), and the key record of tenants'
//! secrets (`key_record`: where the sealing key comes from and its check at
//! start-up). Adapters: embedded (SQLite and a folder) and AWS (DynamoDB,
//! S3 and SQS, their clients made by `aws`). Tenants are read and written
//! through decorators of `TenantStore` only (`sealed`, `tenant_cache`),
//! joined to the rest of a store by `layered`.

pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod aws;
pub mod callbacks;
pub mod copy_queue;
pub mod dynamo;
pub mod fs;
pub mod idempotency;
pub mod key_record;
pub mod layered;
pub mod s3;
pub mod sealed;
pub mod sqlite;
pub mod sqs;
pub mod tenant_cache;
pub mod tenants;

pub use api_keys::ApiKeyStore;
pub use callbacks::{
    CallbackStore, DueRange, Inserted, ListBy, ListFilter, ListPosition, ListQuery, Opened, Page,
    ReceivedPage, ReceivedPosition, ReceivedQuery, attempts_of, modify_callback, open_by_lookups,
};
pub use tenants::TenantStore;

use async_trait::async_trait;

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

/// The records-and-tenants store as one: what `AppState` and the use cases
/// hold. Implemented by everything that implements its three parts.
pub trait Store: TenantStore + CallbackStore + ApiKeyStore {}

impl<S: TenantStore + CallbackStore + ApiKeyStore + ?Sized> Store for S {}

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
