//! The queue of recording copies: the recording callback sends a job and
//! answers; a copier (`serve`'s background task, or the copier Lambda)
//! receives it, copies, and acks it. Adapters: an outbox table in the
//! embedded store (`sqlite::outbox`), and SQS with a dead-letter queue
//! (`sqs`). Delivery is at least once: a job may come twice, and the
//! copier's conditional write on the record makes the second a no-op.

use crate::domain::ids::{CallbackId, RecordingSid, TenantId};
use crate::store::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One recording to copy (and Twilio's copy to delete after).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CopyJob {
    pub tenant: TenantId,
    pub callback: CallbackId,
    pub recording: RecordingSid,
}

/// A job as a worker received it: hidden from other workers until it is
/// acked, failed, or its lease (`LEASE`) lapses.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `None` when the message does not parse (a poison message): it is
    /// failed until it goes to the dead-letter queue.
    pub job: Option<CopyJob>,
    /// Names this delivery to `ack` and `fail`.
    pub receipt: String,
    /// How many times the job was received, this time included.
    pub receives: u32,
}

/// How long a received job stays hidden from other workers: longer than
/// the slowest copy (every step is bounded), short enough that a job whose
/// worker was killed comes back soon.
pub const LEASE: Duration = Duration::from_secs(120);

/// Receives after which a job that keeps failing is dead (the embedded
/// store's count; on AWS the queue's `maxReceiveCount`, the same in
/// template.yaml and `afureko aws init`). More than the copy's own
/// `MAX_COPY_ATTEMPTS`, so a copy that keeps failing ends on the record
/// first, and only jobs that cannot be worked at all die.
pub const MAX_RECEIVES: u32 = 16;
const _: () = assert!(MAX_RECEIVES > crate::domain::callback::MAX_COPY_ATTEMPTS);

/// What the queue holds now (approximate on SQS).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Depth {
    /// Waiting for a worker, including jobs waiting for a retry.
    pub waiting: usize,
    /// Received and not yet acked or failed.
    pub in_flight: usize,
    /// In the dead-letter queue.
    pub dead: usize,
}

/// What a re-drive did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Redriven {
    /// Jobs put back on the queue: dead ones, and (embedded) recordings
    /// pending a copy that had no job.
    pub requeued: usize,
    /// Dead messages that do not parse: left in the dead-letter queue for
    /// an operator.
    pub unreadable: usize,
}

#[async_trait]
pub trait CopyQueue: Send + Sync {
    async fn send(&self, job: &CopyJob, now: Timestamp) -> Result<(), StoreError>;
    /// Up to `max` jobs due by `now`, each leased for `LEASE`; waits up to
    /// `wait` for the first when none is due.
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        now: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// The job is done: removes it.
    async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError>;
    /// The job is to be tried again after `retry_in`; one received
    /// `MAX_RECEIVES` times goes to the dead-letter queue instead.
    async fn fail(
        &self,
        delivery: &Delivery,
        retry_in: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Moves up to `limit` dead jobs back onto the queue (the sweeper).
    async fn redrive(&self, limit: usize, now: Timestamp) -> Result<Redriven, StoreError>;
    async fn depth(&self, now: Timestamp) -> Result<Depth, StoreError>;
}

impl CopyJob {
    /// The message body on SQS.
    pub fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|source| StoreError::Encode {
            what: "a copy job",
            source,
        })
    }

    /// A body that does not parse, or names an id of the wrong shape, is
    /// `None`.
    pub fn from_json(body: &str) -> Option<CopyJob> {
        #[derive(Deserialize)]
        struct Raw {
            tenant: String,
            callback: String,
            recording: String,
        }
        let raw: Raw = serde_json::from_str(body).ok()?;
        Some(CopyJob {
            tenant: TenantId::parse(&raw.tenant).ok()?,
            callback: CallbackId::parse(&raw.callback)?,
            recording: RecordingSid::parse(&raw.recording).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_and_garbage_is_none() {
        let job = CopyJob {
            tenant: TenantId::parse("acme").unwrap(),
            callback: CallbackId::parse("01938f2e-0000-7000-8000-000000000001").unwrap(),
            recording: RecordingSid::parse("RE0123456789abcdef0123456789abcdef").unwrap(),
        };
        let body = job.to_json().unwrap();
        assert_eq!(
            body,
            r#"{"tenant":"acme","callback":"01938f2e-0000-7000-8000-000000000001","recording":"RE0123456789abcdef0123456789abcdef"}"#
        );
        assert_eq!(CopyJob::from_json(&body), Some(job));
        assert_eq!(CopyJob::from_json("not json"), None);
        let bad_sid = body.replace("RE0123", "XX0123");
        assert_eq!(CopyJob::from_json(&bad_sid), None);
    }
}
