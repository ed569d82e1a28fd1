//! The embedded default store: one SQLite file (see `schema` and `rows`),
//! written by one writer thread (`writer`) and read on connections of
//! their own (`readers`).

mod agents;
mod audit;
mod idempotency;
mod outbox;
mod readers;
mod rows;
mod schema;
mod writer;
mod writes;

use super::{Inserted, KeyRecordStore, ListPosition, ListQuery, Opened, Page, Store, StoreError};
use crate::clock::{Clock, SystemClock};
use crate::domain::api_key::ApiKey;
use crate::domain::callback::CallbackRecord;
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
impl Store for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.write_tenant(
            tenant,
            "INSERT INTO tenants (id, doc) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
            StoreError::AlreadyExists,
        )
        .await
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

    async fn insert_callback(&self, record: &CallbackRecord) -> Result<Inserted, StoreError> {
        let record = record.clone();
        let now_ms = self.now_ms();
        self.writer
            .write(move |conn| writes::insert(conn, &record, now_ms))
            .await
    }

    async fn open_callback_for_call(
        &self,
        fresh: &CallbackRecord,
        now: Timestamp,
    ) -> Result<Opened, StoreError> {
        let fresh = fresh.clone();
        self.writer
            .write(move |conn| writes::open_for_call(conn, &fresh, now))
            .await
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
        let record = record.clone();
        self.writer
            .write(move |conn| writes::update(conn, &record))
            .await
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
        let tenant = tenant.to_string();
        let status = query.status.map(|s| s.as_str());
        let (after_due, after_id) = match &query.after {
            Some(p) => (Some(p.due_at_ms), Some(p.id.clone())),
            None => (None, None),
        };
        let limit = query.limit;
        let now_ms = self.now_ms();
        // One more than asked tells whether another page follows.
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        self.readers
            .read(move |conn| {
                let mut items = query_records(
                    conn,
                    &format!(
                        "{SELECT_CALLBACK} WHERE tenant_id = ?1 AND (?2 IS NULL OR status = ?2)
                         AND (?3 IS NULL OR (due_at_ms, id) > (?3, ?4))
                         AND (expires_at_ms IS NULL OR expires_at_ms > ?6)
                         ORDER BY due_at_ms, id LIMIT ?5"
                    ),
                    params![tenant, status, after_due, after_id, fetch, now_ms],
                )?;
                let more = items.len() > limit;
                items.truncate(limit);
                let next = if more {
                    items.last().map(ListPosition::of)
                } else {
                    None
                };
                Ok(Page { items, next })
            })
            .await
    }

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

#[cfg(test)]
mod tests {
    //! What only SQLite has: the file, its migrations, raw rows. The rules
    //! every backend keeps are in tests/integration/store_suite.rs.
    use super::*;
    use crate::domain::callback::{Confirmation, NewCallback};
    use crate::domain::phone::Region;
    use crate::domain::reason::Reason;
    use rows::Row;
    use rusqlite::Connection;

    fn record(tenant: &str, n: u32, received: &str) -> CallbackRecord {
        let number = E164::parse(&format!("+8131234{n:04}"), Region::JP).unwrap();
        CallbackRecord::new(
            TenantId::parse(tenant).unwrap(),
            NewCallback {
                call_sid: CallSid::parse(&format!("CA{n:032x}")).unwrap(),
                caller_number: Some(number.clone()),
                callback_number: number,
                confirmation: Confirmation::CallerId,
                reason: Reason::Overflow,
                received_at: received.parse().unwrap(),
                due_from: None,
            },
            60,
            received.parse().unwrap(),
        )
    }

    async fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db/afureko.db"))
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn records_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("afureko.db");
        let store = SqliteStore::open(&path).await.unwrap();
        for n in 1..=2 {
            let received = format!("2026-11-25T0{n}:00:00Z");
            store
                .insert_callback(&record("acme", n, &received))
                .await
                .unwrap();
        }
        drop(store);
        let reopened = SqliteStore::open(&path).await.unwrap();
        let acme = TenantId::parse("acme").unwrap();
        assert_eq!(reopened.recent_callbacks(&acme, 10).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_version_1_file_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("afureko.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(schema::SCHEMA_V1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            let r = record("acme", 7, "2026-11-25T01:00:00Z");
            conn.execute(
                "INSERT INTO callbacks (tenant_id, id, call_sid, status, due_at_ms, received_at_ms, needs_copy, version, doc)
                 VALUES ('acme', ?1, ?2, 'pending', 0, 0, 0, 0, ?3)",
                params![r.id.to_string(), r.call_sid.to_string(), to_json("a callback", &r).unwrap()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let tenant = TenantId::parse("acme").unwrap();
        let sid = CallSid::parse(&format!("CA{:032x}", 7)).unwrap();
        assert!(
            store
                .find_callback_by_call_sid(&tenant, &sid)
                .await
                .unwrap()
                .is_some()
        );
        let number = E164::parse("+81312340007", Region::JP).unwrap();
        assert!(
            store
                .find_open_callback_by_number(&tenant, &number)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn records_left_open_twice_before_the_guard_still_migrate_and_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("afureko.db");
        let number = E164::parse("+81312340001", Region::JP).unwrap();
        let twins: Vec<CallbackRecord> = (1..=2)
            .map(|n| {
                let mut r = record("acme", n, &format!("2026-11-25T0{n}:00:00Z"));
                r.callback_number = number.clone();
                r
            })
            .collect();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(schema::SCHEMA_V1).unwrap();
            conn.execute_batch(schema::SCHEMA_V2).unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            for r in &twins {
                let row = Row::of(r).unwrap();
                conn.execute(
                    "INSERT INTO callbacks (tenant_id, id, call_sid, status, callback_number, due_at_ms, received_at_ms, needs_copy, version, doc)
                     VALUES ('acme', ?1, ?2, 'pending', ?3, ?4, ?5, 0, 0, ?6)",
                    params![row.id, row.call_sid, row.callback_number, row.due_at_ms, row.received_at_ms, row.doc],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path).await.unwrap();
        for r in &twins {
            let mut claimed = r.clone();
            claimed.status = crate::domain::callback::Status::Claimed;
            store.update_callback(&claimed).await.unwrap();
        }
        let mut third = record("acme", 3, "2026-11-25T03:00:00Z");
        third.callback_number = number;
        assert!(matches!(
            store.insert_callback(&third).await.unwrap(),
            Inserted::NumberOpen(r) if r.id == twins[0].id
        ));
    }

    #[test]
    fn opening_a_file_at_once_from_two_connections_migrates_it_once() {
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("afureko.db");
            let barrier = Arc::new(std::sync::Barrier::new(2));
            let opens: Vec<_> = (0..2)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        SqliteStore::open_blocking(&path).map(|_| ())
                    })
                })
                .collect();
            for open in opens {
                open.join().unwrap().unwrap();
            }
        }
    }

    #[tokio::test]
    async fn a_malformed_tenant_is_an_error_naming_it() {
        let (_dir, store) = open().await;
        store
            .writer
            .write(|conn| {
                conn.execute(
                    "INSERT INTO tenants (id, doc) VALUES ('acme', 'not json')",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let err = store
            .get_tenant(&TenantId::parse("acme").unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Malformed { key, .. } if key == "tenant acme"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn malformed_rows_are_errors_naming_the_key() {
        let (_dir, store) = open().await;
        let r = store
            .insert_callback(&record("acme", 1, "2026-11-25T01:00:00Z"))
            .await
            .unwrap()
            .into_record();
        store
            .writer
            .write(|conn| {
                conn.execute("UPDATE callbacks SET doc = '{\"id\": 7}'", [])?;
                Ok(())
            })
            .await
            .unwrap();
        let err = store.get_callback(&r.tenant_id, &r.id).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("stored item callback acme/{} is malformed", r.id)),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_malformed_row_does_not_quote_its_content() {
        let (_dir, store) = open().await;
        let r = store
            .insert_callback(&record("acme", 1, "2026-11-25T01:00:00Z"))
            .await
            .unwrap()
            .into_record();
        // A number where a string belongs: serde's message quotes it.
        let doc = to_json("a callback", &r)
            .unwrap()
            .replace("\"+81312340001\"", "81312340001");
        store
            .writer
            .write(move |conn| {
                conn.execute("UPDATE callbacks SET doc = ?1", params![doc])?;
                Ok(())
            })
            .await
            .unwrap();
        let err = store.get_callback(&r.tenant_id, &r.id).await.unwrap_err();
        let text = crate::telemetry::error_chain(&err);
        assert!(!text.contains("81312340001"), "{text}");
        assert!(
            text.contains("is malformed: JSON data error at line 1 column"),
            "{text}"
        );
    }
}
