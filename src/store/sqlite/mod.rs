//! The embedded default store: one SQLite file (see `schema` and `rows`),
//! written by one writer thread (`writer`) and read on connections of
//! their own (`readers`).

mod agents;
mod audit;
mod idempotency;
mod lists;
mod notify;
mod outbox;
mod readers;
mod reconciled;
mod rows;
mod schema;
mod table_queue;
mod writer;
mod writes;

use super::key_record::KeyRecordStore;
use super::{
    ApiKeyStore, CallbackStore, Inserted, ListQuery, Opened, Page, ReceivedPage, ReceivedPosition,
    ReceivedQuery, StoreError, TenantStore,
};
use crate::clock::{Clock, SystemClock};
use crate::domain::api_key::ApiKey;
use crate::domain::callback::{CallbackRecord, Status};
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::phone::E164;
use crate::domain::tenant::Tenant;
use async_trait::async_trait;
use jiff::Timestamp;
use readers::Readers;
use rows::{
    BY_CALL_SID, SELECT_CALLBACK, api_key_from, from_json, one_record, query_records, to_json,
};
use rusqlite::{OptionalExtension, params};
use std::path::Path;
use std::sync::Arc;
use writer::Writer;

/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 64;

pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
    /// Decides what has expired (retention).
    clock: Arc<dyn Clock>,
    /// Wakes a copier waiting for jobs (`outbox`).
    copy_sent: tokio::sync::Notify,
    /// Wakes a notification sender waiting for jobs (`notify`).
    notify_sent: tokio::sync::Notify,
}

impl SqliteStore {
    /// Opens (or creates) the database file and brings its schema up to
    /// date, off the async runtime: it may wait seconds for another process.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path)).await?
    }

    fn open_blocking(path: &Path) -> Result<Self, StoreError> {
        let conn = schema::connect(path)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(SqliteStore {
            writer: Writer::spawn(conn)?,
            readers: Readers::new(path.to_path_buf()),
            clock: Arc::new(SystemClock),
            copy_sent: tokio::sync::Notify::new(),
            notify_sent: tokio::sync::Notify::new(),
        })
    }

    /// The store with `clock` deciding which records have expired.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().as_millisecond()
    }

    /// Runs a tenant write (`?1` id, `?2` doc); no row written is `refused`.
    async fn write_tenant(
        &self,
        tenant: &Tenant,
        sql: &'static str,
        refused: fn(String) -> StoreError,
    ) -> Result<(), StoreError> {
        let id = tenant.id.to_string();
        let doc = to_json("a tenant", tenant)?;
        self.writer
            .write(
                move |conn| match conn.prepare_cached(sql)?.execute(params![id, doc])? {
                    0 => Err(refused(format!("tenant {id}"))),
                    _ => Ok(()),
                },
            )
            .await
    }
}

/// The key record's name in `meta`.
const KEY_RECORD: &str = "secret_key";

#[async_trait]
impl KeyRecordStore for SqliteStore {
    async fn key_record(&self) -> Result<Option<String>, StoreError> {
        self.readers
            .read(|conn| {
                Ok(conn
                    .prepare_cached("SELECT value FROM meta WHERE name = ?1")?
                    .query_row(params![KEY_RECORD], |row| row.get(0))
                    .optional()?)
            })
            .await
    }

    async fn create_key_record(&self, record: &str) -> Result<bool, StoreError> {
        let record = record.to_owned();
        self.writer
            .write(move |conn| {
                let written = conn
                    .prepare_cached(
                        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
                    )?
                    .execute(params![KEY_RECORD, record])?;
                Ok(written == 1)
            })
            .await
    }
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.write_tenant(
            tenant,
            "INSERT INTO tenants (id, doc) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
            StoreError::AlreadyExists,
        )
        .await?;
        // Reconciled from its creation on: nothing was lost before it.
        use crate::store::reconciled::ReconciledStore;
        self.set_reconciled_at(&tenant.id, tenant.created_at).await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.write_tenant(
            tenant,
            "UPDATE tenants SET doc = ?2 WHERE id = ?1",
            StoreError::NotFound,
        )
        .await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let id = id.to_string();
        self.readers
            .read(move |conn| {
                let doc: Option<String> = conn
                    .prepare_cached("SELECT doc FROM tenants WHERE id = ?1")?
                    .query_row(params![id], |row| row.get(0))
                    .optional()?;
                doc.map(|doc| from_json(format!("tenant {id}"), &doc))
                    .transpose()
            })
            .await
    }

    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        self.readers
            .read(|conn| {
                let ids: Vec<String> = conn
                    .prepare_cached("SELECT id FROM tenants ORDER BY id")?
                    .query_map([], |row| row.get(0))?
                    .collect::<Result<_, _>>()?;
                ids.iter()
                    .map(|id| {
                        TenantId::parse(id).map_err(|_| StoreError::Incomplete {
                            key: format!("tenant {id:?}"),
                            problem: "its id is not a tenant id",
                        })
                    })
                    .collect()
            })
            .await
    }
}

#[async_trait]
impl CallbackStore for SqliteStore {
    async fn insert_callback(&self, record: &CallbackRecord) -> Result<Inserted, StoreError> {
        let record = record.clone();
        let now_ms = self.now_ms();
        let inserted = self
            .writer
            .write(move |conn| writes::insert(conn, &record, now_ms))
            .await?;
        if let Inserted::Created(_) = inserted {
            self.notify_sent.notify_one();
        }
        Ok(inserted)
    }

    async fn open_callback_for_call(
        &self,
        fresh: &CallbackRecord,
        now: Timestamp,
    ) -> Result<Opened, StoreError> {
        let fresh = fresh.clone();
        let opened = self
            .writer
            .write(move |conn| writes::open_for_call(conn, &fresh, now))
            .await?;
        // A new record and a repeat call raise events.
        if let Opened::Created(_) | Opened::Joined(_) = opened {
            self.notify_sent.notify_one();
        }
        Ok(opened)
    }

    async fn get_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let (tenant, id, now_ms) = (tenant.to_string(), id.to_string(), self.now_ms());
        self.readers
            .read(move |conn| {
                one_record(
                    conn,
                    &format!(
                        "{SELECT_CALLBACK} WHERE tenant_id = ?1 AND id = ?2
                         AND (expires_at_ms IS NULL OR expires_at_ms > ?3)"
                    ),
                    params![tenant, id, now_ms],
                )
            })
            .await
    }

    async fn find_callback_by_call_sid(
        &self,
        tenant: &TenantId,
        call_sid: &CallSid,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let (tenant, call_sid, now_ms) = (tenant.to_string(), call_sid.to_string(), self.now_ms());
        self.readers
            .read(move |conn| one_record(conn, BY_CALL_SID, params![tenant, call_sid, now_ms]))
            .await
    }

    async fn find_open_callback_by_number(
        &self,
        tenant: &TenantId,
        number: &E164,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let (tenant, number) = (tenant.to_string(), number.to_string());
        self.readers
            .read(move |conn| one_record(conn, writes::OPEN_BY_NUMBER, params![tenant, number]))
            .await
    }

    async fn update_callback(&self, record: &CallbackRecord) -> Result<CallbackRecord, StoreError> {
        let raised = !record.raised.is_empty();
        let record = record.clone();
        let updated = self
            .writer
            .write(move |conn| writes::update(conn, &record))
            .await?;
        if raised {
            self.notify_sent.notify_one();
        }
        Ok(updated)
    }

    async fn recent_callbacks(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        let (tenant, now_ms) = (tenant.to_string(), self.now_ms());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.readers
            .read(move |conn| {
                query_records(
                    conn,
                    &format!(
                        "{SELECT_CALLBACK} WHERE tenant_id = ?1 AND (expires_at_ms IS NULL OR expires_at_ms > ?3)
                         ORDER BY received_at_ms DESC, id DESC LIMIT ?2"
                    ),
                    params![tenant, limit, now_ms],
                )
            })
            .await
    }

    async fn list_callbacks(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page, StoreError> {
        let (tenant, query, now_ms) = (tenant.to_string(), query.clone(), self.now_ms());
        self.readers
            .read(move |conn| lists::list(conn, &tenant, &query, now_ms))
            .await
    }

    async fn count_callbacks(
        &self,
        tenant: &TenantId,
        status: Status,
        due_before: Option<i64>,
        cap: usize,
    ) -> Result<usize, StoreError> {
        let (tenant, now_ms) = (tenant.to_string(), self.now_ms());
        self.readers
            .read(move |conn| lists::count(conn, &tenant, status.as_str(), due_before, cap, now_ms))
            .await
    }

    async fn received_callbacks(
        &self,
        tenant: &TenantId,
        query: &ReceivedQuery,
    ) -> Result<ReceivedPage, StoreError> {
        let tenant = tenant.to_string();
        let (from, until) = (query.from.as_millisecond(), query.until.as_millisecond());
        let (after_ms, after_id) = match &query.after {
            Some(p) => (Some(p.received_at_ms), Some(p.id.clone())),
            None => (None, None),
        };
        let limit = query.limit;
        let now_ms = self.now_ms();
        // One more than asked tells whether another page follows.
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        self.readers
            .read(move |conn| {
                // `callbacks_by_received`: the period's rows, nothing else.
                let mut items = query_records(
                    conn,
                    &format!(
                        "{SELECT_CALLBACK} WHERE tenant_id = ?1 AND received_at_ms >= ?2 AND received_at_ms < ?3
                         AND (?4 IS NULL OR (received_at_ms, id) > (?4, ?5))
                         AND (expires_at_ms IS NULL OR expires_at_ms > ?7)
                         ORDER BY received_at_ms, id LIMIT ?6"
                    ),
                    params![tenant, from, until, after_ms, after_id, fetch, now_ms],
                )?;
                let more = items.len() > limit;
                items.truncate(limit);
                let next = if more {
                    items.last().map(ReceivedPosition::of)
                } else {
                    None
                };
                Ok(ReceivedPage { items, next })
            })
            .await
    }

    async fn count_received(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<usize, StoreError> {
        let tenant = tenant.to_string();
        let (from, until) = (from.as_millisecond(), until.as_millisecond());
        let now_ms = self.now_ms();
        self.readers
            .read(move |conn| {
                let n: i64 = conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM callbacks WHERE tenant_id = ?1
                         AND received_at_ms >= ?2 AND received_at_ms < ?3
                         AND (expires_at_ms IS NULL OR expires_at_ms > ?4)",
                    )?
                    .query_row(params![tenant, from, until, now_ms], |row| row.get(0))?;
                Ok(usize::try_from(n).unwrap_or(0))
            })
            .await
    }

    async fn delete_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.writer
            .write(move |conn| writes::delete(conn, &tenant, &id))
            .await
    }

    async fn unlink_callback(&self, record: &CallbackRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.writer
            .write(move |conn| writes::unlink(conn, &record))
            .await
    }

    async fn expired_callbacks(&self, limit: usize) -> Result<Vec<CallbackRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let now_ms = self.now_ms();
        self.readers
            .read(move |conn| {
                query_records(
                    conn,
                    &format!(
                        "{SELECT_CALLBACK} WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?1
                         ORDER BY expires_at_ms, id LIMIT ?2"
                    ),
                    params![now_ms, limit],
                )
            })
            .await
    }
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let (id, tenant, hash) = (key.id.clone(), key.tenant_id.to_string(), key.hash.clone());
        let doc = to_json("an API key", key)?;
        self.writer
            .write(move |conn| {
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO api_keys (id, tenant_id, hash, doc) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![id, tenant, hash, doc])?;
                if inserted == 0 {
                    return Err(StoreError::AlreadyExists(format!("api key {id}")));
                }
                Ok(())
            })
            .await
    }

    async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let hash = hash.to_owned();
        self.readers
            .read(move |conn| {
                let row: Option<(String, String)> = conn
                    .prepare_cached("SELECT id, doc FROM api_keys WHERE hash = ?1")?
                    .query_row(params![hash], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                row.map(|(id, doc)| api_key_from(&id, &doc)).transpose()
            })
            .await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, doc FROM api_keys WHERE tenant_id = ?1 ORDER BY id",
                )?;
                let rows = stmt
                    .query_map(params![tenant], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<(String, String)>, _>>()?;
                let mut keys = rows
                    .iter()
                    .map(|(id, doc)| api_key_from(id, doc))
                    .collect::<Result<Vec<_>, _>>()?;
                keys.sort_by_key(|k| k.created_at);
                Ok(keys)
            })
            .await
    }

    async fn revoke_api_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
        at: jiff::Timestamp,
    ) -> Result<ApiKey, StoreError> {
        let (tenant, key_id) = (tenant.to_string(), key_id.to_owned());
        // The writer's transaction holds the write lock: nothing changes
        // the key between the read and the write.
        self.writer
            .write(move |conn| {
                let doc: Option<String> = conn
                    .prepare_cached("SELECT doc FROM api_keys WHERE id = ?1 AND tenant_id = ?2")?
                    .query_row(params![key_id, tenant], |r| r.get(0))
                    .optional()?;
                let mut key = match doc {
                    Some(doc) => api_key_from(&key_id, &doc)?,
                    None => return Err(StoreError::NotFound(format!("api key {key_id}"))),
                };
                if key.revoked_at.is_none() {
                    key.revoked_at = Some(at);
                    conn.prepare_cached("UPDATE api_keys SET doc = ?2 WHERE id = ?1")?
                        .execute(params![key_id, to_json("an API key", &key)?])?;
                }
                Ok(key)
            })
            .await
    }
}

#[cfg(test)]
mod tests;
