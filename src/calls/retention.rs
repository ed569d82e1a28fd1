//! Retention and erasure. A closed record expires `retention_days` after it
//! closed: from then on every read treats it as gone, and it is deleted with
//! its recordings, by the sweeper on the embedded store, by the table's TTL
//! on DynamoDB (the stream of those deletions brings its recordings here).
//! An admin may also erase a record at once, on the caller's request.

use crate::domain::audit::{Actor, AuditAction, AuditEntry};
use crate::domain::callback::{CallbackRecord, TwilioCopy};
use crate::domain::ids::CallbackId;
use crate::domain::tenant::Tenant;
use crate::store::audit::AuditStore;
use crate::store::{RecordingStore, Store, StoreError};
use crate::telemetry::error_chain;
use crate::twilio::api::TwilioApi;
use jiff::Timestamp;
use std::collections::BTreeMap;

/// What the retention sweep deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Purged {
    pub records: usize,
    pub recordings: usize,
}

/// Deletes our copies of a record's recordings; returns how many it had.
pub async fn delete_recordings(
    audio: &dyn RecordingStore,
    record: &CallbackRecord,
) -> Result<usize, StoreError> {
    let mut deleted = 0;
    for key in record
        .recordings
        .iter()
        .filter_map(|r| r.storage_key.as_deref())
    {
        audio.delete(key).await?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Deletes up to `limit` expired records with their recordings: the
/// recordings first, so a crash in between leaves an expired record (that
/// no one reads) to delete again, never audio without its record.
pub async fn purge_expired(
    store: &dyn Store,
    audio: &dyn RecordingStore,
    limit: usize,
) -> Result<Purged, StoreError> {
    let mut purged = Purged::default();
    for record in store.expired_callbacks(limit).await? {
        purged.recordings += delete_recordings(audio, &record).await?;
        store.delete_callback(&record.tenant_id, &record.id).await?;
        purged.records += 1;
    }
    Ok(purged)
}

/// What a batch of the table's stream came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamBatch {
    pub purged: Purged,
    /// The `SequenceNumber` of the first change that failed: Lambda retries
    /// the batch from it (`ReportBatchItemFailures`); the changes before it
    /// are done.
    pub failed_at: Option<String>,
}

/// Handles a batch of the DynamoDB table's stream (a Lambda event), in
/// order: for every callback item removed, its recordings and call links
/// go too. The template hands over only the TTL's removals; an erasure's
/// own removal would find nothing left to delete. At the first change that
/// fails the rest is left for the retry (every delete here may run twice).
pub async fn removed_from_table(
    store: &dyn Store,
    audio: &dyn RecordingStore,
    event: &serde_json::Value,
) -> StreamBatch {
    let mut batch = StreamBatch::default();
    let records = event["Records"].as_array().map_or(&[][..], Vec::as_slice);
    for change in records {
        if let Err(e) = purge_removed(store, audio, change, &mut batch.purged).await {
            let sequence = change["dynamodb"]["SequenceNumber"]
                .as_str()
                .unwrap_or_default();
            tracing::warn!(
                sequence,
                error = error_chain(&e),
                "a removed record's recordings could not be deleted; retried from it"
            );
            batch.failed_at = Some(sequence.to_owned());
            break;
        }
    }
    batch
}

/// One change of the stream.
async fn purge_removed(
    store: &dyn Store,
    audio: &dyn RecordingStore,
    change: &serde_json::Value,
    purged: &mut Purged,
) -> Result<(), StoreError> {
    if change["eventName"] != "REMOVE" {
        return Ok(());
    }
    let image = &change["dynamodb"]["OldImage"];
    if image["sk"]["S"] != "CB" {
        return Ok(());
    }
    let Some(doc) = image["doc"]["S"].as_str() else {
        return Ok(());
    };
    let record: CallbackRecord = match serde_json::from_str(doc) {
        Ok(record) => record,
        Err(e) => {
            // Retrying cannot mend it: logged (without the content), skipped.
            let key = image["pk"]["S"].as_str().unwrap_or("?");
            tracing::error!(key, error = %crate::store::JsonProblem::from(e), "removed callback item unreadable; its recordings stay");
            return Ok(());
        }
    };
    purged.recordings += delete_recordings(audio, &record).await?;
    store.unlink_callback(&record).await?;
    purged.records += 1;
    Ok(())
}

/// What an erasure removed, counted (the audit entry keeps these).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Erased {
    /// Our stored copies.
    pub recordings: u64,
    /// Twilio's copies deleted now.
    pub twilio_copies: u64,
    /// Twilio's copies that could not be deleted (logged).
    pub twilio_failures: u64,
}

/// One erasure request: whose record, and who asks.
pub struct Erasure<'a> {
    pub tenant: &'a Tenant,
    pub id: &'a CallbackId,
    pub actor: &'a Actor,
    pub at: Timestamp,
}

/// Erases the tenant's record with every recording: ours, and Twilio's
/// where it may still be there. `None` when there is no such (live)
/// record. Our copies go first, then the record (a failure before it
/// leaves the record to erase again), then the audit entry, which names
/// the actor, the record's id and counts, nothing of its content.
pub async fn erase(
    store: &dyn Store,
    audio: &dyn RecordingStore,
    audit: &dyn AuditStore,
    api: &TwilioApi,
    request: Erasure<'_>,
) -> Result<Option<Erased>, StoreError> {
    let Erasure {
        tenant,
        id,
        actor,
        at,
    } = request;
    let Some(record) = store.get_callback(&tenant.id, id).await? else {
        return Ok(None);
    };
    let mut erased = Erased {
        recordings: delete_recordings(audio, &record).await? as u64,
        ..Erased::default()
    };
    // Twilio holds a copy until we deleted it: recordings not yet copied,
    // kept there by the tenant, or whose delete failed.
    for recording in record
        .recordings
        .iter()
        .filter(|r| r.twilio_url.is_some() && !matches!(r.twilio_copy, Some(TwilioCopy::Deleted)))
    {
        match api.delete_recording(&tenant.twilio, &recording.sid).await {
            Ok(()) => erased.twilio_copies += 1,
            Err(e) => {
                tracing::warn!(recording_sid = %recording.sid, error = error_chain(&e), "erasure: could not delete Twilio's copy");
                erased.twilio_failures += 1;
            }
        }
    }
    store.delete_callback(&tenant.id, id).await?;
    let counts = BTreeMap::from([
        ("recordings".to_owned(), erased.recordings),
        ("twilio_copies_deleted".to_owned(), erased.twilio_copies),
        (
            "twilio_copies_not_deleted".to_owned(),
            erased.twilio_failures,
        ),
        ("attempts".to_owned(), record.attempts.len() as u64),
        ("notes".to_owned(), record.notes.len() as u64),
    ]);
    audit
        .append_audit(&AuditEntry::new(
            tenant.id.clone(),
            at,
            actor,
            AuditAction::CallbackErased,
            id.to_string(),
            counts,
        ))
        .await?;
    Ok(Some(erased))
}
