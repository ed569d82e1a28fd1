//! The embedded store's queues (`copy_jobs`, `notify_jobs`): rows in the
//! records' file, so a job survives a restart or a kill. A receive leases
//! due rows (a fresh receipt; visible again when the lease ends); an ack
//! deletes a row by its receipt; a failure makes it visible again later. A
//! row leased `max_receives` times whose worker never answered goes dead:
//! the dead-letter queue.

use super::SqliteStore;
use crate::store::StoreError;
use crate::store::copy_queue::Depth;
use jiff::Timestamp;
use rusqlite::{Row, params};
use std::time::Duration;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[derive(Clone, Copy)]
pub(super) struct TableQueue {
    pub table: &'static str,
    /// The columns a lease returns of each row, after its receipt and
    /// receives.
    pub columns: &'static str,
    pub lease: Duration,
    pub max_receives: u32,
    /// A failure at `max_receives` kills the row too (the copy queue; a
    /// notification is handed back with its delay whatever its receives).
    pub dead_on_failure: bool,
}

impl TableQueue {
    /// Leases up to `max` rows due by `now`, each made by `delivery` from
    /// its row (receipt, receives, then `columns`); a row past its receives
    /// goes dead instead.
    pub async fn take_due<T: Send + 'static>(
        self,
        store: &SqliteStore,
        max: usize,
        now: Timestamp,
        delivery: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let at = now.as_millisecond();
        let until = at.saturating_add(ms(self.lease));
        let Self { table, columns, .. } = self;
        let max_receives = self.max_receives;
        store
            .writer
            .write(move |conn| {
                conn.prepare_cached(&format!(
                    "UPDATE {table} SET dead = 1
                     WHERE dead = 0 AND visible_at_ms <= ?1 AND receives >= ?2"
                ))?
                .execute(params![at, max_receives])?;
                let mut taken = conn.prepare_cached(&format!(
                    "UPDATE {table} SET receives = receives + 1, visible_at_ms = ?2,
                       receipt = lower(hex(randomblob(16)))
                     WHERE id IN (SELECT id FROM {table} WHERE dead = 0 AND visible_at_ms <= ?1
                                  ORDER BY visible_at_ms, id LIMIT ?3)
                     RETURNING receipt, receives, {columns}"
                ))?;
                let rows = taken.query_map(params![at, until, max], delivery)?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }

    /// Waits, when nothing was received, up to `wait`: until a send
    /// (`sent`) or the next row is due. The caller asks again with a fresh
    /// `now`.
    pub async fn wait_for_more(
        self,
        store: &SqliteStore,
        wait: Duration,
        now: Timestamp,
        sent: &tokio::sync::Notify,
    ) -> Result<(), StoreError> {
        if wait.is_zero() {
            return Ok(());
        }
        let table = self.table;
        let next: Option<i64> = store
            .readers
            .read(move |conn| {
                Ok(conn
                    .prepare_cached(&format!(
                        "SELECT min(visible_at_ms) FROM {table} WHERE dead = 0"
                    ))?
                    .query_row([], |row| row.get(0))?)
            })
            .await?;
        let at = now.as_millisecond();
        let due_in = next.map_or(wait, |next| {
            Duration::from_millis(u64::try_from(next.saturating_sub(at)).unwrap_or(0))
        });
        let _ = tokio::time::timeout(wait.min(due_in), sent.notified()).await;
        Ok(())
    }

    /// Done: the leased row goes.
    pub async fn ack(self, store: &SqliteStore, receipt: &str) -> Result<(), StoreError> {
        let (table, receipt) = (self.table, receipt.to_owned());
        store
            .writer
            .write(move |conn| {
                conn.prepare_cached(&format!("DELETE FROM {table} WHERE receipt = ?1"))?
                    .execute(params![receipt])?;
                Ok(())
            })
            .await
    }

    /// To be tried again after `retry_in`. A row that went dead while its
    /// worker was late stays dead.
    pub async fn fail(
        self,
        store: &SqliteStore,
        receipt: &str,
        retry_in: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (table, receipt) = (self.table, receipt.to_owned());
        let at = now.as_millisecond().saturating_add(ms(retry_in));
        let dead_at = if self.dead_on_failure {
            i64::from(self.max_receives)
        } else {
            i64::MAX
        };
        store
            .writer
            .write(move |conn| {
                conn.prepare_cached(&format!(
                    "UPDATE {table} SET visible_at_ms = ?2, receipt = NULL,
                       dead = max(dead, receives >= ?3)
                     WHERE receipt = ?1"
                ))?
                .execute(params![receipt, at, dead_at])?;
                Ok(())
            })
            .await
    }

    /// Rows waiting (due or not), leased, and dead.
    pub async fn depth(self, store: &SqliteStore, now: Timestamp) -> Result<Depth, StoreError> {
        let (table, at) = (self.table, now.as_millisecond());
        store
            .readers
            .read(move |conn| {
                Ok(conn
                    .prepare_cached(&format!(
                        "SELECT
                           count(*) FILTER (WHERE dead = 0 AND (receipt IS NULL OR visible_at_ms <= ?1)),
                           count(*) FILTER (WHERE dead = 0 AND receipt IS NOT NULL AND visible_at_ms > ?1),
                           count(*) FILTER (WHERE dead = 1)
                         FROM {table}"
                    ))?
                    .query_row(params![at], |row| {
                        Ok(Depth {
                            waiting: row.get(0)?,
                            in_flight: row.get(1)?,
                            dead: row.get(2)?,
                        })
                    })?)
            })
            .await
    }
}
