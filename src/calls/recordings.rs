//! Copies recordings from Twilio into our recording store. The recording
//! callback only queues a job (`enqueue`); a copier (`serve`'s background
//! task, `run`, or the copier Lambda) works it: downloads, stores, deletes
//! Twilio's copy. The sweeper re-drives what the queue gave up on.

use super::spool::Spool;
use crate::clock::Clock;
use crate::domain::callback::{CallbackRecord, RecordingKind, RecordingState, recording_key};
use crate::domain::ids::RecordingSid;
use crate::domain::tenant::Tenant;
use crate::store::copy_queue::{CopyJob, CopyQueue, Delivery, Depth, Redriven};
use crate::store::{RecordingStore, Store, StoreError, modify_callback};
use crate::telemetry::error_chain;
use crate::twilio::api::TwilioApi;
use std::sync::Arc;
use std::time::Duration;

pub struct RecordingCopier {
    store: Arc<dyn Store>,
    audio: Arc<dyn RecordingStore>,
    queue: Arc<dyn CopyQueue>,
    api: TwilioApi,
    clock: Arc<dyn Clock>,
}

/// What working one job came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worked {
    /// Our copy is stored (and Twilio's deleted, or kept by the tenant).
    Stored,
    /// Stored, but deleting Twilio's copy failed: tried again.
    StoredDeletePending,
    /// A download or upload failed: tried again.
    CopyFailed,
    /// The copy failed for the last time: the record keeps Twilio's URL.
    GaveUp,
    /// A delete of Twilio's copy left from an earlier try is done.
    Deleted,
    /// Deleting Twilio's copy failed again: tried again unless given up.
    DeleteFailed { given_up: bool },
    /// Another copier holds the recording: tried again after it.
    Held,
    /// Nothing was left to do (already stored, absent, or its tenant or
    /// record is gone): a job delivered twice ends here.
    NothingToDo,
    /// The job does not parse, or the store failed: tried again, and dead
    /// after the queue's receives.
    Unworkable,
}

impl Worked {
    /// The outcome's name, as `/metrics` counts it.
    pub fn name(self) -> &'static str {
        match self {
            Worked::Stored => "stored",
            Worked::StoredDeletePending => "stored_delete_pending",
            Worked::CopyFailed => "copy_failed",
            Worked::GaveUp => "gave_up",
            Worked::Deleted => "deleted",
            Worked::DeleteFailed { .. } => "delete_failed",
            Worked::Held => "held",
            Worked::NothingToDo => "nothing_to_do",
            Worked::Unworkable => "unworkable",
        }
    }

    /// Whether the job is finished (acked), rather than tried again.
    pub fn is_done(self) -> bool {
        match self {
            Worked::Stored | Worked::GaveUp | Worked::Deleted | Worked::NothingToDo => true,
            Worked::DeleteFailed { given_up } => given_up,
            Worked::StoredDeletePending
            | Worked::CopyFailed
            | Worked::Held
            | Worked::Unworkable => false,
        }
    }
}

/// What a round of jobs came to, by outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkReport {
    pub stored: usize,
    pub copy_failed: usize,
    pub gave_up: usize,
    pub deleted: usize,
    pub delete_failed: usize,
    pub held: usize,
    pub nothing_to_do: usize,
    pub unworkable: usize,
}

impl WorkReport {
    pub fn add(&mut self, worked: Worked) {
        match worked {
            Worked::Stored => self.stored += 1,
            Worked::StoredDeletePending => {
                self.stored += 1;
                self.delete_failed += 1;
            }
            Worked::CopyFailed => self.copy_failed += 1,
            Worked::GaveUp => self.gave_up += 1,
            Worked::Deleted => self.deleted += 1,
            Worked::DeleteFailed { .. } => self.delete_failed += 1,
            Worked::Held => self.held += 1,
            Worked::NothingToDo => self.nothing_to_do += 1,
            Worked::Unworkable => self.unworkable += 1,
        }
    }

    fn merge(&mut self, other: &WorkReport) {
        self.stored += other.stored;
        self.copy_failed += other.copy_failed;
        self.gave_up += other.gave_up;
        self.deleted += other.deleted;
        self.delete_failed += other.delete_failed;
        self.held += other.held;
        self.nothing_to_do += other.nothing_to_do;
        self.unworkable += other.unworkable;
    }
}

/// What a sweep did, and what the queue holds after it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub redriven: Redriven,
    pub depth: Depth,
}

/// How long a failed job waits before it is tried again: `base` (a
/// minute by default), doubling with each receive, at most `MAX_RETRY_WAIT`.
/// With a minute, the waits of a copy's `MAX_COPY_ATTEMPTS` tries come to
/// 24.5 hours: a day of Twilio's media failing loses no recording.
pub fn retry_delay(base: Duration, receives: u32) -> Duration {
    let doublings = receives.saturating_sub(1).min(16);
    base.saturating_mul(1 << doublings).min(MAX_RETRY_WAIT)
}

/// The longest wait between two tries (SQS hides a message 12 hours at most).
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(8 * 3600);

/// Jobs a copier takes at once.
pub const BATCH: usize = 10;

impl RecordingCopier {
    pub fn new(
        store: Arc<dyn Store>,
        audio: Arc<dyn RecordingStore>,
        queue: Arc<dyn CopyQueue>,
        api: TwilioApi,
        clock: Arc<dyn Clock>,
    ) -> Self {
        RecordingCopier {
            store,
            audio,
            queue,
            api,
            clock,
        }
    }

    pub fn api(&self) -> &TwilioApi {
        &self.api
    }

    /// Hands a recording's copy to the queue (the recording callback).
    pub async fn enqueue(&self, job: &CopyJob) -> Result<(), StoreError> {
        self.queue.send(job, self.clock.now()).await
    }

    /// Queues the job of `record`'s recording `sid` while there is a copy
    /// (or a delete of Twilio's) to do, also on a retried callback: a queue
    /// that failed the first time gets it now. `delete_unkept`: a completed
    /// recording past the record's bound (not on it) still has Twilio's copy
    /// to delete.
    pub async fn queue_copy(
        &self,
        record: &CallbackRecord,
        sid: &RecordingSid,
        delete_unkept: bool,
    ) -> Result<(), StoreError> {
        let pending = match record.recording(sid) {
            Some(r) => r.state == RecordingState::PendingCopy || record.twilio_delete_pending(sid),
            None => delete_unkept,
        };
        if !pending {
            return Ok(());
        }
        self.enqueue(&CopyJob {
            tenant: record.tenant_id.clone(),
            callback: record.id.clone(),
            recording: sid.clone(),
        })
        .await
    }

    /// Works a delivered job, then acks it when it is finished or hands it
    /// back to be tried again after `retry_delay(retry_base, receives)`.
    /// Store failures are outcomes here (`Unworkable`), logged: the queue
    /// keeps the job.
    pub async fn work(&self, delivery: &Delivery, retry_base: Duration) -> Worked {
        let worked = match &delivery.job {
            None => Worked::Unworkable,
            Some(job) => match self.handle(job).await {
                Ok(worked) => worked,
                Err(e) => {
                    tracing::warn!(recording_sid = %job.recording, error = error_chain(&e), "copy job failed");
                    Worked::Unworkable
                }
            },
        };
        crate::monitoring::copy_worked(worked.name());
        let settled = if worked.is_done() {
            self.queue.ack(delivery).await
        } else {
            let retry_in = retry_delay(retry_base, delivery.receives);
            self.queue.fail(delivery, retry_in, self.clock.now()).await
        };
        if let Err(e) = settled {
            // Unsettled, the job comes back when its lease lapses.
            tracing::warn!(error = error_chain(&e), "could not settle a copy job");
        }
        worked
    }

    /// Takes up to `max` due jobs and works them.
    pub async fn round(
        self: &Arc<Self>,
        max: usize,
        retry_base: Duration,
    ) -> Result<WorkReport, StoreError> {
        let deliveries = self
            .queue
            .receive(max, Duration::ZERO, self.clock.now())
            .await?;
        self.work_all(deliveries, retry_base).await
    }

    /// Works `deliveries` all at once; returns when every one is settled.
    async fn work_all(
        self: &Arc<Self>,
        deliveries: Vec<Delivery>,
        retry_base: Duration,
    ) -> Result<WorkReport, StoreError> {
        let mut jobs = tokio::task::JoinSet::new();
        for delivery in deliveries {
            let copier = self.clone();
            jobs.spawn(async move { copier.work(&delivery, retry_base).await });
        }
        let mut report = WorkReport::default();
        while let Some(worked) = jobs.join_next().await {
            report.add(worked?);
        }
        Ok(report)
    }

    /// Works the queue until a round finds nothing due (the demo; tests).
    /// Gives up after `max_rounds`, returning what was done.
    pub async fn drain(
        self: &Arc<Self>,
        retry_base: Duration,
        max_rounds: usize,
    ) -> Result<WorkReport, StoreError> {
        let mut total = WorkReport::default();
        for _ in 0..max_rounds {
            let round = self.round(BATCH, retry_base).await?;
            if round == WorkReport::default() {
                break;
            }
            total.merge(&round);
        }
        Ok(total)
    }

    /// Works one job as far as it can go now.
    pub async fn handle(&self, job: &CopyJob) -> Result<Worked, StoreError> {
        let Some(tenant) = self.store.get_tenant(&job.tenant).await? else {
            tracing::warn!(tenant = %job.tenant, "copy job of an unknown tenant dropped");
            return Ok(Worked::NothingToDo);
        };
        let Some(record) = self.store.get_callback(&job.tenant, &job.callback).await? else {
            tracing::warn!(tenant = %job.tenant, callback = %job.callback, "copy job of an unknown record dropped");
            return Ok(Worked::NothingToDo);
        };
        let sid = &job.recording;
        let Some(recording) = record.recording(sid) else {
            // Past the record's bound (`MAX_RECORDINGS`): not kept, so
            // Twilio's copy goes unless the tenant keeps Twilio's copies.
            if record.recordings_not_kept > 0 && tenant.settings.delete_twilio_recording {
                return Ok(self.discard(&tenant, sid).await);
            }
            return Ok(Worked::NothingToDo);
        };
        match recording.state {
            RecordingState::PendingCopy => self.copy(&tenant, &record, sid).await,
            RecordingState::Stored if record.twilio_delete_pending(sid) => Ok(
                match self.delete_twilio_copy(&tenant, &record, sid).await? {
                    Deletion::Gone => Worked::Deleted,
                    Deletion::Failed { given_up } => Worked::DeleteFailed { given_up },
                    Deletion::NotDue => Worked::NothingToDo,
                },
            ),
            _ => Ok(Worked::NothingToDo),
        }
    }

    /// Copies one recording that is pending a copy, notes the outcome on
    /// the record, then deletes Twilio's copy when the tenant says so.
    async fn copy(
        &self,
        tenant: &Tenant,
        record: &CallbackRecord,
        sid: &RecordingSid,
    ) -> Result<Worked, StoreError> {
        let Some(recording) = record.recording(sid) else {
            return Ok(Worked::NothingToDo);
        };
        let call_sid = recording.call_sid.as_ref().unwrap_or(&record.call_sid);
        let max = match recording.kind {
            RecordingKind::Request => tenant.settings.max_recording_bytes(),
            RecordingKind::Callback => tenant.settings.max_callback_recording_bytes(),
        };
        let format = tenant.settings.recording_format;
        let key = recording_key(&tenant.id, call_sid, sid, format.extension());
        if !self.claim(tenant, record, sid).await? {
            return Ok(Worked::Held);
        }
        // The audio is fetched from the recording's own media URL under the
        // API base, never from a URL a request named.
        let copied = self.transfer(tenant, sid, &key, max).await;
        let now = self.clock.now();
        match copied {
            Ok(()) => {
                let delete = tenant.settings.delete_twilio_recording;
                let stored = modify_callback(self.store.as_ref(), &tenant.id, &record.id, |r| {
                    r.recording_stored(sid, key.clone(), delete, now)
                })
                .await?;
                tracing::info!(call_sid = %record.call_sid, recording_sid = %sid, key, "recording stored");
                // Ours is safe; a failed delete is tried again.
                Ok(match self.delete_twilio_copy(tenant, &stored, sid).await? {
                    Deletion::Failed { given_up: false } => Worked::StoredDeletePending,
                    Deletion::Gone | Deletion::NotDue | Deletion::Failed { given_up: true } => {
                        Worked::Stored
                    }
                })
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
                    Worked::GaveUp
                } else {
                    Worked::CopyFailed
                })
            }
        }
    }

    /// Takes the recording for this copier: a conditional write on the
    /// record, so of several copiers at once (a job delivered twice) one
    /// wins and the others leave it.
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

    /// Downloads the audio (at most `max` bytes) into a temporary file and
    /// stores it from there: a long recording is never held in memory.
    async fn transfer(
        &self,
        tenant: &Tenant,
        sid: &RecordingSid,
        key: &str,
        max: u64,
    ) -> Result<(), String> {
        let spool = Spool::new();
        let mut file = tokio::fs::File::create(spool.path())
            .await
            .map_err(|e| format!("cannot create {}: {e}", spool.path().display()))?;
        let format = tenant.settings.recording_format;
        self.api
            .download(&tenant.twilio, sid, format, max, &mut file)
            .await
            .map_err(|e| error_chain(&e))?;
        drop(file);
        self.audio
            .put_file(key, spool.path(), format.content_type())
            .await
            .map_err(|e| error_chain(&e))
    }

    /// Deletes Twilio's copy when the record says it is due, and notes the
    /// outcome.
    async fn delete_twilio_copy(
        &self,
        tenant: &Tenant,
        record: &CallbackRecord,
        sid: &RecordingSid,
    ) -> Result<Deletion, StoreError> {
        if !record.twilio_delete_pending(sid) {
            return Ok(Deletion::NotDue);
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
                Ok(Deletion::Gone)
            }
            Err(e) => {
                let error = error_chain(&e);
                tracing::warn!(recording_sid = %sid, error, "could not delete Twilio's copy");
                let updated = modify_callback(store, &tenant.id, &record.id, |r| {
                    r.twilio_delete_failed(sid, error.clone(), now)
                })
                .await?;
                Ok(Deletion::Failed {
                    given_up: !updated.twilio_delete_pending(sid),
                })
            }
        }
    }

    /// Deletes Twilio's copy of a recording no record keeps.
    async fn discard(&self, tenant: &Tenant, sid: &RecordingSid) -> Worked {
        match self.api.delete_recording(&tenant.twilio, sid).await {
            Ok(()) => {
                tracing::info!(recording_sid = %sid, "recording past the record's bound deleted at Twilio");
                Worked::Deleted
            }
            Err(e) => {
                tracing::warn!(recording_sid = %sid, error = error_chain(&e), "could not delete Twilio's copy of a recording not kept");
                Worked::DeleteFailed { given_up: false }
            }
        }
    }

    /// The sweeper: moves up to `limit` jobs the queue gave up on back onto
    /// it (on the embedded store also queues recordings pending a copy
    /// that have no job), and says what the queue holds.
    pub async fn sweep(&self, limit: usize) -> Result<SweepReport, StoreError> {
        let redriven = self.queue.redrive(limit, self.clock.now()).await?;
        let depth = self.depth().await?;
        Ok(SweepReport { redriven, depth })
    }

    /// What the queue holds now; kept for `/metrics` too.
    pub async fn depth(&self) -> Result<Depth, StoreError> {
        let depth = self.queue.depth(self.clock.now()).await?;
        crate::monitoring::copy_queue(depth.waiting, depth.in_flight, depth.dead);
        Ok(depth)
    }

    /// `serve`'s copier: a sweep at start and every `SWEEP_EVERY`, and
    /// otherwise up to `IN_FLIGHT` copies at once, a new job taken as soon
    /// as a copy ends (a stalled download holds only its own slot), until
    /// `stop` says so; the copies under way finish first.
    pub async fn run(
        self: Arc<Self>,
        retry_base: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut in_flight = tokio::task::JoinSet::new();
        let mut failed_receives = 0u32;
        let mut next_sweep = tokio::time::Instant::now();
        while !*stop.borrow() {
            if tokio::time::Instant::now() >= next_sweep {
                match self.sweep(SWEEP_LIMIT).await {
                    Ok(report) if report.redriven.requeued > 0 => {
                        tracing::info!(requeued = report.redriven.requeued, "copy jobs re-driven");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = error_chain(&e), "copy sweep failed"),
                }
                next_sweep = tokio::time::Instant::now() + SWEEP_EVERY;
            }
            let free = IN_FLIGHT - in_flight.len();
            if free == 0 {
                in_flight.join_next().await;
                continue;
            }
            // With copies under way, take only what is due now; idle, wait
            // for a job (a long poll on SQS).
            let wait = if in_flight.is_empty() {
                POLL_WAIT
            } else {
                Duration::ZERO
            };
            let received = tokio::select! {
                received = self.queue.receive(free.min(BATCH), wait, self.clock.now()) => received,
                _ = stop.changed() => break,
            };
            if received.is_ok() {
                failed_receives = 0;
            }
            match received {
                Ok(deliveries) if deliveries.is_empty() && !in_flight.is_empty() => {
                    // Nothing due: wait for a copy to end or a short while,
                    // whichever is first, then look again.
                    tokio::select! {
                        _ = in_flight.join_next() => {}
                        () = tokio::time::sleep(IDLE_LOOK) => {}
                        _ = stop.changed() => break,
                    }
                }
                Ok(deliveries) => {
                    for delivery in deliveries {
                        let copier = self.clone();
                        in_flight.spawn(async move { copier.work(&delivery, retry_base).await });
                    }
                }
                Err(e) => {
                    failed_receives += 1;
                    tracing::warn!(error = error_chain(&e), "could not receive copy jobs");
                    // A store or queue that is down is not asked again at
                    // once; one that was only slow is asked again soon.
                    tokio::select! {
                        () = tokio::time::sleep(receive_backoff(failed_receives)) => {}
                        _ = stop.changed() => break,
                    }
                }
            }
        }
        while in_flight.join_next().await.is_some() {}
    }
}

/// The wait after `failures` receives in a row failed: 1 s, doubling, at
/// most `POLL_WAIT`.
fn receive_backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(POLL_WAIT)
}

/// Copies `run` keeps going at once.
const IN_FLIGHT: usize = 32;
/// With copies under way and nothing due, how long `run` waits before it
/// looks at the queue again.
const IDLE_LOOK: Duration = Duration::from_millis(200);
/// How long `run` waits for a job before it looks again.
const POLL_WAIT: Duration = Duration::from_secs(20);
/// How often `run` sweeps.
const SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);
/// Dead jobs moved back by one sweep.
pub const SWEEP_LIMIT: usize = 500;

/// What became of a due delete of Twilio's copy.
enum Deletion {
    NotDue,
    Gone,
    Failed { given_up: bool },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_job_waits_twice_as_long_each_time_for_about_a_day_in_all() {
        let base = Duration::from_secs(60);
        assert_eq!(retry_delay(base, 0), base);
        assert_eq!(retry_delay(base, 1), base);
        assert_eq!(retry_delay(base, 3), Duration::from_secs(240));
        assert_eq!(retry_delay(base, 9), Duration::from_secs(256 * 60));
        assert_eq!(retry_delay(base, 10), MAX_RETRY_WAIT);
        assert_eq!(retry_delay(base, 40), MAX_RETRY_WAIT);
        assert_eq!(retry_delay(Duration::ZERO, 5), Duration::ZERO);
        // The waits between a copy's tries (docs/operations.md's schedule).
        let waits: Duration = (1..crate::domain::callback::MAX_COPY_ATTEMPTS)
            .map(|receives| retry_delay(base, receives))
            .sum();
        assert_eq!(waits, Duration::from_secs((511 + 2 * 480) * 60));
    }

    #[test]
    fn only_finished_outcomes_ack_the_job() {
        let done = [
            Worked::Stored,
            Worked::GaveUp,
            Worked::Deleted,
            Worked::NothingToDo,
            Worked::DeleteFailed { given_up: true },
        ];
        let again = [
            Worked::StoredDeletePending,
            Worked::CopyFailed,
            Worked::Held,
            Worked::Unworkable,
            Worked::DeleteFailed { given_up: false },
        ];
        assert!(done.iter().all(|w| w.is_done()));
        assert!(again.iter().all(|w| !w.is_done()));
    }
    #[test]
    fn a_failed_receive_waits_longer_each_time_up_to_the_poll_wait() {
        let waits: Vec<u64> = (1..=7).map(|n| receive_backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 20, 20]);
    }
}
