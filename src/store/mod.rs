//! Storage behind two narrow traits: records and tenants (`Store`), audio
//! (`RecordingStore`). Adapters: embedded (SQLite + a folder); AWS later.

pub mod fs;
pub mod sqlite;

use crate::domain::callback::{CallbackId, CallbackRecord};
use crate::domain::ids::CallSid;
use crate::domain::tenant::{Tenant, TenantId};
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} does not exist")]
    NotFound(String),
    /// The record changed since it was read (optimistic concurrency).
    #[error("the record was changed by someone else")]
    Conflict,
    #[error("stored item {key} is malformed: {reason}")]
    Malformed { key: String, reason: String },
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// What `insert_callback` found.
#[derive(Debug)]
pub enum Inserted {
    Created(CallbackRecord),
    /// A record for this CallSid existed already (a retried webhook).
    Existing(CallbackRecord),
}

impl Inserted {
    pub fn into_record(self) -> CallbackRecord {
        match self {
            Inserted::Created(r) | Inserted::Existing(r) => r,
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

    /// Creates the record unless one exists for its (tenant, CallSid); the
    /// check and the write are one atomic step, so racing retries make one.
    async fn insert_callback(&self, record: &CallbackRecord) -> Result<Inserted, StoreError>;
    async fn get_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError>;
    async fn find_callback_by_call_sid(
        &self,
        tenant: &TenantId,
        call_sid: &CallSid,
    ) -> Result<Option<CallbackRecord>, StoreError>;
    /// Writes `record` if the stored version still equals `record.version`,
    /// and returns it with the new version; `Conflict` otherwise.
    async fn update_callback(&self, record: &CallbackRecord) -> Result<CallbackRecord, StoreError>;
    /// The tenant's records, newest call first.
    async fn recent_callbacks(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError>;
    /// Records, of any tenant, with a recording still to be copied.
    async fn callbacks_with_pending_copies(
        &self,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError>;
}

#[async_trait]
pub trait RecordingStore: Send + Sync {
    /// Stores the audio under `key`, replacing any earlier copy; returns
    /// only once the audio is durably stored.
    async fn put(&self, key: &str, audio: Vec<u8>, content_type: &str) -> Result<(), StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Optimistic read-modify-write: applies `change` to the latest record and
/// writes it conditionally, re-reading on a conflict. `change` returns false
/// when there is nothing to write (e.g. a retried webhook).
pub async fn modify_callback(
    store: &dyn Store,
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
