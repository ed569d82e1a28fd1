//! Copies recordings from Twilio into our recording store: at once from the
//! status callback, and again from the sweeper when that failed.

use crate::clock::Clock;
use crate::domain::callback::{CallbackRecord, RecordingState, recording_key};
use crate::domain::ids::RecordingSid;
use crate::domain::tenant::Tenant;
use crate::store::{RecordingStore, Store, StoreError, modify_callback};
use crate::telemetry::error_chain;
use crate::twilio::api::TwilioApi;
use std::sync::Arc;

pub struct RecordingCopier {
    store: Arc<dyn Store>,
    audio: Arc<dyn RecordingStore>,
    api: TwilioApi,
    clock: Arc<dyn Clock>,
}

/// What one copy attempt ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOutcome {
    Stored {
        key: String,
    },
    /// Failed; still retryable by the sweeper.
    Failed {
        error: String,
    },
    /// Failed for the last time: the record keeps Twilio's URL only.
    GaveUp {
        error: String,
    },
    /// Nothing to do (already stored, absent, unknown, or another copier
    /// holds it).
    Skipped,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub stored: usize,
    pub failed: usize,
    pub gave_up: usize,
    pub skipped: usize,
    /// Twilio's copies deleted on a retry, and deletes that failed again.
    pub deleted: usize,
    pub delete_failed: usize,
}

impl RecordingCopier {
    pub fn new(
        store: Arc<dyn Store>,
        audio: Arc<dyn RecordingStore>,
        api: TwilioApi,
        clock: Arc<dyn Clock>,
    ) -> Self {
        RecordingCopier {
            store,
            audio,
            api,
            clock,
        }
    }

    pub fn api(&self) -> &TwilioApi {
        &self.api
    }

    /// Copies one recording that is pending a copy, and notes the outcome on
    /// the record. Only a storage failure is an error; a failed download is
    /// an outcome.
    pub async fn copy(
        &self,
        tenant: &Tenant,
        record: &CallbackRecord,
        sid: &RecordingSid,
    ) -> Result<CopyOutcome, StoreError> {
        let Some(recording) = record.recording(sid) else {
            return Ok(CopyOutcome::Skipped);
        };
        // The audio is fetched from the recording's own media URL under the
        // API base, never from a URL a request named.
        if recording.state != RecordingState::PendingCopy {
            return Ok(CopyOutcome::Skipped);
        }
        let call_sid = recording.call_sid.as_ref().unwrap_or(&record.call_sid);
        let format = tenant.settings.recording_format;
        let key = recording_key(&tenant.id, call_sid, sid, format.extension());
        if !self.claim(tenant, record, sid).await? {
            return Ok(CopyOutcome::Skipped);
        }
        let copied = self.transfer(tenant, sid, &key).await;
        let now = self.clock.now();
        match copied {
            Ok(()) => {
                let delete = tenant.settings.delete_twilio_recording;
                let stored = modify_callback(self.store.as_ref(), &tenant.id, &record.id, |r| {
                    r.recording_stored(sid, key.clone(), delete, now)
                })
                .await?;
                tracing::info!(call_sid = %record.call_sid, recording_sid = %sid, key, "recording stored");
                // Ours is safe; a failed delete is retried by the sweeper.
                self.delete_twilio_copy(tenant, &stored, sid).await?;
                Ok(CopyOutcome::Stored { key })
            }
            Err(error) => {
                let updated = modify_callback(self.store.as_ref(), &tenant.id, &record.id, |r| {
                    r.recording_copy_failed(sid, error.clone(), now)
                })
                .await?;
                let gave_up = updated
                    .recording(sid)
                    .is_some_and(|r| r.state == RecordingState::CopyFailed);
                tracing::warn!(call_sid = %record.call_sid, recording_sid = %sid, error, gave_up, "recording copy failed");
                Ok(if gave_up {
                    CopyOutcome::GaveUp { error }
                } else {
                    CopyOutcome::Failed { error }
                })
            }
        }
    }

    /// Takes the recording for this copier: a conditional write on the
    /// record, so of several copiers at once (Twilio retrying a slow
    /// callback, the sweeper) one wins and the others skip it.
    async fn claim(
        &self,
        tenant: &Tenant,
        record: &CallbackRecord,
        sid: &RecordingSid,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut won = false;
        modify_callback(self.store.as_ref(), &tenant.id, &record.id, |r| {
            won = r.begin_copy(sid, now);
            won
        })
        .await?;
        Ok(won)
    }

    /// Downloads the audio into a temporary file and stores it from there:
    /// a long recording is never held in memory.
    async fn transfer(&self, tenant: &Tenant, sid: &RecordingSid, key: &str) -> Result<(), String> {
        let spool = Spool::new();
        let mut file = tokio::fs::File::create(&spool.0)
            .await
            .map_err(|e| format!("cannot create {}: {e}", spool.0.display()))?;
        let (format, max) = (
            tenant.settings.recording_format,
            tenant.settings.max_recording_bytes(),
        );
        self.api
            .download(&tenant.twilio, sid, format, max, &mut file)
            .await
            .map_err(|e| error_chain(&e))?;
        drop(file);
        self.audio
            .put_file(key, &spool.0, format.content_type())
            .await
            .map_err(|e| error_chain(&e))
    }

    /// A copy dropped before it finished (its time ran out): noted as a
    /// failed try, which also ends its lease, so the sweeper takes it next.
    pub async fn abandon(
        &self,
        tenant: &Tenant,
        record: &CallbackRecord,
        sid: &RecordingSid,
        error: String,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        modify_callback(self.store.as_ref(), &tenant.id, &record.id, |r| {
            r.recording_copy_failed(sid, error.clone(), now)
        })
        .await?;
        Ok(())
    }

    /// Deletes Twilio's copy when the record says it is due, and notes the
    /// outcome; returns whether it is gone.
    async fn delete_twilio_copy(
        &self,
        tenant: &Tenant,
        record: &CallbackRecord,
        sid: &RecordingSid,
    ) -> Result<bool, StoreError> {
        if !record.twilio_delete_pending(sid) {
            return Ok(false);
        }
        let deleted = self.api.delete_recording(&tenant.twilio, sid).await;
        let now = self.clock.now();
        let store = self.store.as_ref();
        match deleted {
            Ok(()) => {
                modify_callback(store, &tenant.id, &record.id, |r| {
                    r.twilio_deleted(sid, now)
                })
                .await?;
                Ok(true)
            }
            Err(e) => {
                let error = error_chain(&e);
                tracing::warn!(recording_sid = %sid, error, "could not delete Twilio's copy");
                modify_callback(store, &tenant.id, &record.id, |r| {
                    r.twilio_delete_failed(sid, error.clone(), now)
                })
                .await?;
                Ok(false)
            }
        }
    }

    /// Retries every recording still pending a copy, and every delete of
    /// Twilio's copy still to do, up to `limit` records.
    pub async fn sweep(&self, limit: usize) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        for record in self.store.callbacks_with_pending_copies(limit).await? {
            let Some(tenant) = self.store.get_tenant(&record.tenant_id).await? else {
                tracing::warn!(tenant = %record.tenant_id, "record of an unknown tenant skipped");
                report.skipped += 1;
                continue;
            };
            let pending: Vec<RecordingSid> = record
                .recordings
                .iter()
                .filter(|r| r.state == RecordingState::PendingCopy)
                .map(|r| r.sid.clone())
                .collect();
            for sid in pending {
                match self.copy(&tenant, &record, &sid).await? {
                    CopyOutcome::Stored { .. } => report.stored += 1,
                    CopyOutcome::Failed { .. } => report.failed += 1,
                    CopyOutcome::GaveUp { .. } => report.gave_up += 1,
                    CopyOutcome::Skipped => report.skipped += 1,
                }
            }
            let undeleted: Vec<RecordingSid> = record
                .recordings
                .iter()
                .filter(|r| {
                    r.state == RecordingState::Stored && record.twilio_delete_pending(&r.sid)
                })
                .map(|r| r.sid.clone())
                .collect();
            for sid in undeleted {
                if self.delete_twilio_copy(&tenant, &record, &sid).await? {
                    report.deleted += 1;
                } else {
                    report.delete_failed += 1;
                }
            }
        }
        Ok(report)
    }
}

/// A download's temporary file, removed when dropped (also on a failure or
/// when the copy's budget runs out).
struct Spool(std::path::PathBuf);

const SPOOL_PREFIX: &str = "afureko-";
const SPOOL_SUFFIX: &str = ".wav.part";

impl Spool {
    fn new() -> Self {
        let name = format!(
            "{SPOOL_PREFIX}{}{SPOOL_SUFFIX}",
            uuid::Uuid::new_v4().simple()
        );
        Spool(std::env::temp_dir().join(name))
    }
}

/// Removes download spools left in `dir` by a process that was killed
/// (a `Drop` never ran). Only files older than `older_than` go: other
/// processes on this machine may be copying right now. Returns how many.
pub fn remove_stale_spools(dir: &std::path::Path, older_than: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(SPOOL_PREFIX) && name.ends_with(SPOOL_SUFFIX)
        })
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() > older_than)
        })
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn only_old_spools_are_removed() {
        let dir = std::env::temp_dir().join(format!("afureko-spools-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        let touch = |name: &str, age: Duration| {
            let file = std::fs::File::create(dir.join(name)).unwrap();
            file.set_modified(SystemTime::now() - age).unwrap();
        };
        let hour = Duration::from_secs(3600);
        touch("afureko-old.wav.part", 2 * hour);
        touch("afureko-fresh.wav.part", Duration::ZERO);
        touch("someone-else.wav.part", 2 * hour);
        touch("afureko-old.wav", 2 * hour);

        assert_eq!(remove_stale_spools(&dir, hour), 1);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "afureko-fresh.wav.part",
                "afureko-old.wav",
                "someone-else.wav.part"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
