//! The copy queue of the embedded store: the `copy_jobs` table (schema
//! v6), in the same file as the records, so a job survives a restart or a
//! kill. One row per recording; a dead row is the dead-letter queue.

use super::SqliteStore;
use super::table_queue::TableQueue;
use crate::domain::ids::{CallbackId, RecordingSid, TenantId};
use crate::store::StoreError;
use crate::store::copy_queue::{
    CopyJob, CopyQueue, Delivery, Depth, LEASE, MAX_RECEIVES, Redriven,
};
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Row, params};
use std::time::Duration;

/// A job past its receives goes dead, also when its last try failed.
const COPY_JOBS: TableQueue = TableQueue {
    table: "copy_jobs",
    columns: "tenant_id, callback_id, recording_sid",
    lease: LEASE,
    max_receives: MAX_RECEIVES,
    dead_on_failure: true,
};

#[async_trait]
impl CopyQueue for SqliteStore {
    async fn send(&self, job: &CopyJob, now: Timestamp) -> Result<(), StoreError> {
        let (tenant, callback, recording) = (
            job.tenant.to_string(),
            job.callback.to_string(),
            job.recording.to_string(),
        );
        let at = now.as_millisecond();
        // A job already queued for the recording (a retried callback) stays
        // as it is.
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO copy_jobs (tenant_id, callback_id, recording_sid, visible_at_ms)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                )?
                .execute(params![tenant, callback, recording, at])?;
                Ok(())
            })
            .await?;
        self.copy_sent.notify_one();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        now: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        let received = COPY_JOBS.take_due(self, max, now, delivery).await?;
        if received.is_empty() {
            COPY_JOBS
                .wait_for_more(self, wait, now, &self.copy_sent)
                .await?;
        }
        Ok(received)
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError> {
        COPY_JOBS.ack(self, &delivery.receipt).await
    }

    async fn fail(
        &self,
        delivery: &Delivery,
        retry_in: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        COPY_JOBS.fail(self, &delivery.receipt, retry_in, now).await
    }

    async fn redrive(&self, limit: usize, now: Timestamp) -> Result<Redriven, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let at = now.as_millisecond();
        let requeued = self
            .writer
            .write(move |conn| {
                let revived = conn
                    .prepare_cached(
                        "UPDATE copy_jobs SET dead = 0, receives = 0, visible_at_ms = ?1, receipt = NULL
                         WHERE id IN (SELECT id FROM copy_jobs WHERE dead = 1 ORDER BY id LIMIT ?2)",
                    )?
                    .execute(params![at, limit])?;
                // A recording pending a copy with no job: a process killed
                // between the record's write and the job's, or a record from
                // before the queue.
                let orphans = conn
                    .prepare_cached(
                        "INSERT INTO copy_jobs (tenant_id, callback_id, recording_sid, visible_at_ms)
                         SELECT c.tenant_id, c.id, json_extract(r.value, '$.sid'), ?1
                         FROM callbacks c, json_each(c.doc, '$.recordings') r
                         WHERE c.needs_copy = 1
                           AND (json_extract(r.value, '$.state') = 'pending_copy'
                                OR json_extract(r.value, '$.twilio_copy.state') = 'delete_pending')
                           AND NOT EXISTS (SELECT 1 FROM copy_jobs j
                                WHERE j.tenant_id = c.tenant_id AND j.callback_id = c.id
                                  AND j.recording_sid = json_extract(r.value, '$.sid'))
                         LIMIT ?2
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![at, limit])?;
                Ok(revived + orphans)
            })
            .await?;
        if requeued > 0 {
            self.copy_sent.notify_one();
        }
        // Rows hold parsed ids: none is unreadable.
        Ok(Redriven {
            requeued,
            unreadable: 0,
        })
    }

    async fn depth(&self, now: Timestamp) -> Result<Depth, StoreError> {
        COPY_JOBS.depth(self, now).await
    }
}

fn delivery(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let (tenant, callback, recording): (String, String, String) =
        (row.get(2)?, row.get(3)?, row.get(4)?);
    Ok(Delivery {
        job: job_of(&tenant, &callback, &recording),
        receipt: row.get(0)?,
        receives: row.get(1)?,
    })
}

fn job_of(tenant: &str, callback: &str, recording: &str) -> Option<CopyJob> {
    Some(CopyJob {
        tenant: TenantId::parse(tenant).ok()?,
        callback: CallbackId::parse(callback)?,
        recording: RecordingSid::parse(recording).ok()?,
    })
}
