//! Notifications in the embedded store (schema v11): endpoints, the queue
//! of deliveries (`notify_jobs`, whose rows are also the outbox: a record's
//! write adds the rows of what it raised in its own transaction, `enqueue`)
//! and the overdue sweep's progress per tenant.

use super::SqliteStore;
use super::rows::{from_json, to_json};
use super::table_queue::TableQueue;
use crate::domain::callback::CallbackRecord;
use crate::domain::ids::TenantId;
use crate::domain::notify::endpoint::Endpoint;
use crate::domain::notify::{EventType, Outgoing};
use crate::store::StoreError;
use crate::store::copy_queue::Depth;
use crate::store::notify::{
    EndpointStore, LEASE, MAX_RECEIVES, NotifyDelivery, NotifyJob, NotifyQueue,
};
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::time::Duration;

/// A delivery that failed is handed back with its delay (the sender counts
/// its attempts); only one whose sender died with it every time goes dead.
const NOTIFY_JOBS: TableQueue = TableQueue {
    table: "notify_jobs",
    columns: "doc",
    lease: LEASE,
    max_receives: MAX_RECEIVES,
    dead_on_failure: false,
};

/// Adds the jobs of what `record` (as written) raised, in the write's own
/// transaction: the outbox. Returns whether it added any.
pub(super) fn enqueue(conn: &Connection, record: &CallbackRecord) -> Result<bool, StoreError> {
    let jobs: Vec<NotifyJob> = Outgoing::of_write(record)
        .into_iter()
        .map(NotifyJob::of)
        .collect();
    insert_jobs(conn, &jobs, record.updated_at.as_millisecond())?;
    Ok(!jobs.is_empty())
}

fn insert_jobs(conn: &Connection, jobs: &[NotifyJob], at_ms: i64) -> Result<(), StoreError> {
    for job in jobs {
        conn.prepare_cached(
            "INSERT INTO notify_jobs (event_id, target, doc, visible_at_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            job.outgoing.id,
            job.target.key(),
            job.to_json()?,
            at_ms
        ])?;
    }
    Ok(())
}

fn endpoint_from(tenant: &str, id: &str, doc: &str) -> Result<Endpoint, StoreError> {
    from_json(format!("notification endpoint {tenant}/{id}"), doc)
}

/// The columns of an endpoint's row: whether it watches overdue records,
/// its version and its JSON.
fn endpoint_row(endpoint: &Endpoint) -> Result<(bool, i64, String), StoreError> {
    Ok((
        endpoint.wants(EventType::CallbackOverdue),
        i64::try_from(endpoint.version).unwrap_or(i64::MAX),
        to_json("a notification endpoint", endpoint)?,
    ))
}

#[async_trait]
impl EndpointStore for SqliteStore {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let (tenant, id) = (endpoint.tenant_id.to_string(), endpoint.id.clone());
        let (watches, version, doc) = endpoint_row(endpoint)?;
        self.writer
            .write(move |conn| {
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO notify_endpoints (tenant_id, id, watches_overdue, version, doc)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![tenant, id, watches, version, doc])?;
                match inserted {
                    0 => Err(StoreError::AlreadyExists(format!(
                        "notification endpoint {id}"
                    ))),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn get_endpoint(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Endpoint>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_owned());
        self.readers
            .read(move |conn| {
                let doc: Option<String> = conn
                    .prepare_cached(
                        "SELECT doc FROM notify_endpoints WHERE tenant_id = ?1 AND id = ?2",
                    )?
                    .query_row(params![tenant, id], |r| r.get(0))
                    .optional()?;
                doc.map(|doc| endpoint_from(&tenant, &id, &doc)).transpose()
            })
            .await
    }

    async fn list_endpoints(&self, tenant: &TenantId) -> Result<Vec<Endpoint>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |conn| {
                let rows = conn
                    .prepare_cached("SELECT id, doc FROM notify_endpoints WHERE tenant_id = ?1")?
                    .query_map(params![tenant], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<(String, String)>, _>>()?;
                let mut endpoints = rows
                    .iter()
                    .map(|(id, doc)| endpoint_from(&tenant, id, doc))
                    .collect::<Result<Vec<_>, _>>()?;
                endpoints.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
                Ok(endpoints)
            })
            .await
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<Endpoint, StoreError> {
        let expected = i64::try_from(endpoint.version).unwrap_or(i64::MAX);
        let mut next = endpoint.clone();
        next.version += 1;
        let (tenant, id) = (next.tenant_id.to_string(), next.id.clone());
        let (watches, version, doc) = endpoint_row(&next)?;
        self.writer
            .write(move |conn| {
                let updated = conn
                    .prepare_cached(
                        "UPDATE notify_endpoints SET watches_overdue = ?3, version = ?4, doc = ?5
                         WHERE tenant_id = ?1 AND id = ?2 AND version = ?6",
                    )?
                    .execute(params![tenant, id, watches, version, doc, expected])?;
                if updated == 1 {
                    return Ok(());
                }
                let exists = conn
                    .prepare_cached(
                        "SELECT 1 FROM notify_endpoints WHERE tenant_id = ?1 AND id = ?2",
                    )?
                    .exists(params![tenant, id])?;
                Err(match exists {
                    true => StoreError::Conflict,
                    false => StoreError::NotFound(format!("notification endpoint {id}")),
                })
            })
            .await?;
        Ok(next)
    }

    async fn delete_endpoint(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Endpoint>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_owned());
        self.writer
            .write(move |conn| {
                let doc: Option<String> = conn
                    .prepare_cached(
                        "DELETE FROM notify_endpoints WHERE tenant_id = ?1 AND id = ?2 RETURNING doc",
                    )?
                    .query_row(params![tenant, id], |r| r.get(0))
                    .optional()?;
                doc.map(|doc| endpoint_from(&tenant, &id, &doc)).transpose()
            })
            .await
    }

    async fn tenants_watching_overdue(&self) -> Result<Vec<TenantId>, StoreError> {
        self.readers
            .read(|conn| {
                let ids = conn
                    .prepare_cached(
                        "SELECT DISTINCT tenant_id FROM notify_endpoints WHERE watches_overdue = 1
                         ORDER BY tenant_id",
                    )?
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                ids.iter()
                    .map(|id| {
                        TenantId::parse(id).map_err(|_| StoreError::Incomplete {
                            key: format!("notification endpoint of {id:?}"),
                            problem: "its tenant id is not a tenant id",
                        })
                    })
                    .collect()
            })
            .await
    }

    async fn overdue_swept_to(&self, tenant: &TenantId) -> Result<Option<Timestamp>, StoreError> {
        let tenant = tenant.to_string();
        let at: Option<i64> = self
            .readers
            .read(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT overdue_to_ms FROM notify_sweeps WHERE tenant_id = ?1")?
                    .query_row(params![tenant], |r| r.get(0))
                    .optional()?)
            })
            .await?;
        Ok(at.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }

    async fn set_overdue_swept_to(
        &self,
        tenant: &TenantId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (tenant, at) = (tenant.to_string(), at.as_millisecond());
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO notify_sweeps (tenant_id, overdue_to_ms) VALUES (?1, ?2)
                     ON CONFLICT (tenant_id) DO UPDATE SET overdue_to_ms = excluded.overdue_to_ms",
                )?
                .execute(params![tenant, at])?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl NotifyQueue for SqliteStore {
    async fn send(&self, jobs: &[NotifyJob], now: Timestamp) -> Result<(), StoreError> {
        let (jobs, at) = (jobs.to_vec(), now.as_millisecond());
        self.writer
            .write(move |conn| insert_jobs(conn, &jobs, at))
            .await?;
        self.notify_sent.notify_one();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        now: Timestamp,
    ) -> Result<Vec<NotifyDelivery>, StoreError> {
        let received = NOTIFY_JOBS.take_due(self, max, now, delivery).await?;
        if received.is_empty() {
            NOTIFY_JOBS
                .wait_for_more(self, wait, now, &self.notify_sent)
                .await?;
        }
        Ok(received)
    }

    async fn ack(&self, delivery: &NotifyDelivery) -> Result<(), StoreError> {
        NOTIFY_JOBS.ack(self, &delivery.receipt).await
    }

    async fn fail(
        &self,
        delivery: &NotifyDelivery,
        retry_in: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        NOTIFY_JOBS
            .fail(self, &delivery.receipt, retry_in, now)
            .await
    }

    async fn depth(&self, now: Timestamp) -> Result<Depth, StoreError> {
        NOTIFY_JOBS.depth(self, now).await
    }
}

fn delivery(row: &Row<'_>) -> rusqlite::Result<NotifyDelivery> {
    let doc: String = row.get(2)?;
    Ok(NotifyDelivery {
        job: NotifyJob::from_json(&doc),
        receipt: row.get(0)?,
        receives: row.get(1)?,
    })
}
