//! The copy queue of the embedded store: the `copy_jobs` table (schema
//! v6), in the same file as the records, so a job survives a restart or a
//! kill. One row per recording; a dead row is the dead-letter queue.

use super::SqliteStore;
use crate::domain::ids::{CallbackId, RecordingSid, TenantId};
use crate::store::StoreError;
use crate::store::copy_queue::{
    CopyJob, CopyQueue, Delivery, Depth, LEASE, MAX_RECEIVES, Redriven,
};
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::params;
use std::time::Duration;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

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
        let received = self.take_due(max, now).await?;
        if received.is_empty() && !wait.is_zero() {
            // Until a send, or the next job is due; the caller asks again
            // with a fresh `now`.
            let at = now.as_millisecond();
            let next: Option<i64> = self
                .readers
                .read(move |conn| {
                    Ok(conn
                        .prepare_cached("SELECT min(visible_at_ms) FROM copy_jobs WHERE dead = 0")?
                        .query_row([], |row| row.get(0))?)
                })
                .await?;
            let due_in = next.map_or(wait, |next| {
                Duration::from_millis(u64::try_from(next.saturating_sub(at)).unwrap_or(0))
            });
            let _ = tokio::time::timeout(wait.min(due_in), self.copy_sent.notified()).await;
        }
        Ok(received)
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let receipt = delivery.receipt.clone();
        self.writer
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM copy_jobs WHERE receipt = ?1")?
                    .execute(params![receipt])?;
                Ok(())
            })
            .await
    }

    async fn fail(
        &self,
        delivery: &Delivery,
        retry_in: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let receipt = delivery.receipt.clone();
        let at = now.as_millisecond().saturating_add(ms(retry_in));
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE copy_jobs SET visible_at_ms = ?2, receipt = NULL, dead = (receives >= ?3)
                     WHERE receipt = ?1",
                )?
                .execute(params![receipt, at, MAX_RECEIVES])?;
                Ok(())
            })
            .await
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
        let at = now.as_millisecond();
        self.readers
            .read(move |conn| {
                let counts = conn
                    .prepare_cached(
                        "SELECT
                           count(*) FILTER (WHERE dead = 0 AND (receipt IS NULL OR visible_at_ms <= ?1)),
                           count(*) FILTER (WHERE dead = 0 AND receipt IS NOT NULL AND visible_at_ms > ?1),
                           count(*) FILTER (WHERE dead = 1)
                         FROM copy_jobs",
                    )?
                    .query_row(params![at], |row| {
                        Ok(Depth {
                            waiting: row.get(0)?,
                            in_flight: row.get(1)?,
                            dead: row.get(2)?,
                        })
                    })?;
                Ok(counts)
            })
            .await
    }
}

impl SqliteStore {
    /// Leases up to `max` due jobs; a job past its receives (its worker
    /// died with it every time) goes dead instead.
    async fn take_due(&self, max: usize, now: Timestamp) -> Result<Vec<Delivery>, StoreError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let at = now.as_millisecond();
        let until = at.saturating_add(ms(LEASE));
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE copy_jobs SET dead = 1
                     WHERE dead = 0 AND visible_at_ms <= ?1 AND receives >= ?2",
                )?
                .execute(params![at, MAX_RECEIVES])?;
                let mut taken = conn.prepare_cached(
                    "UPDATE copy_jobs SET receives = receives + 1, visible_at_ms = ?2,
                       receipt = lower(hex(randomblob(16)))
                     WHERE id IN (SELECT id FROM copy_jobs WHERE dead = 0 AND visible_at_ms <= ?1
                                  ORDER BY visible_at_ms, id LIMIT ?3)
                     RETURNING tenant_id, callback_id, recording_sid, receipt, receives",
                )?;
                let rows = taken.query_map(params![at, until, max], |row| {
                    let (tenant, callback, recording): (String, String, String) =
                        (row.get(0)?, row.get(1)?, row.get(2)?);
                    Ok(Delivery {
                        job: job_of(&tenant, &callback, &recording),
                        receipt: row.get(3)?,
                        receives: row.get(4)?,
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }
}

fn job_of(tenant: &str, callback: &str, recording: &str) -> Option<CopyJob> {
    Some(CopyJob {
        tenant: TenantId::parse(tenant).ok()?,
        callback: CallbackId::parse(callback)?,
        recording: RecordingSid::parse(recording).ok()?,
    })
}
