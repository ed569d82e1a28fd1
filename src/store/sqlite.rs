//! The embedded default store: one SQLite file. Each row keeps the whole
//! record as JSON plus the columns that queries filter and sort on.

use super::{Inserted, ListPosition, ListQuery, Page, Store, StoreError};
use crate::domain::api_key::ApiKey;
use crate::domain::callback::CallbackRecord;
use crate::domain::ids::CallSid;
use crate::domain::ids::CallbackId;
use crate::domain::ids::TenantId;
use crate::domain::phone::E164;
use crate::domain::tenant::Tenant;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Schema migrations, in order; `user_version` counts those applied.
const MIGRATIONS: [&str; 2] = [SCHEMA_V1, SCHEMA_V2];

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS callbacks (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at_ms INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    needs_copy INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, call_sid)
);
CREATE INDEX IF NOT EXISTS callbacks_by_due ON callbacks (tenant_id, status, due_at_ms, id);
CREATE INDEX IF NOT EXISTS callbacks_by_tenant_due ON callbacks (tenant_id, due_at_ms, id);
CREATE INDEX IF NOT EXISTS callbacks_by_received ON callbacks (tenant_id, received_at_ms);
CREATE INDEX IF NOT EXISTS callbacks_needing_copy ON callbacks (needs_copy) WHERE needs_copy = 1;
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_by_tenant ON api_keys (tenant_id);
";

/// Repeat callers: open records by callback number, and every call of a
/// record (its first and its repeat calls) by CallSid.
const SCHEMA_V2: &str = "
ALTER TABLE callbacks ADD COLUMN callback_number TEXT NOT NULL DEFAULT '';
UPDATE callbacks SET callback_number = json_extract(doc, '$.callback_number');
CREATE INDEX callbacks_by_number ON callbacks (tenant_id, callback_number, status);
CREATE TABLE callback_calls (
    tenant_id TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    callback_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, call_sid)
);
INSERT INTO callback_calls (tenant_id, call_sid, callback_id) SELECT tenant_id, call_sid, id FROM callbacks;
";

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (or creates) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        // WAL and a busy timeout: the CLI may write while the server runs.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        use_wal(&conn)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        let mut conn = conn;
        migrate(&mut conn, path)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs a tenant write (`?1` id, `?2` doc); no row written is `refused`.
    async fn write_tenant(
        &self,
        tenant: &Tenant,
        sql: &'static str,
        refused: fn(String) -> StoreError,
    ) -> Result<(), StoreError> {
        let id = tenant.id.to_string();
        let doc = to_json(tenant)?;
        self.with(
            move |conn| match conn.execute(sql, params![id, doc]).map_err(backend)? {
                0 => Err(refused(format!("tenant {id}"))),
                _ => Ok(()),
            },
        )
        .await
    }

    /// Runs `f` on the connection off the async runtime.
    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| backend(format!("store task failed: {e}")))?
    }
}

/// Applies the migrations this file has not seen, each in a transaction.
/// Switching a file to WAL needs it to itself for a moment, and SQLite does
/// not wait for that: another process opening it at once makes it busy.
fn use_wal(conn: &Connection) -> Result<(), StoreError> {
    for _ in 0..50 {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            other => return other.map_err(backend),
        }
    }
    Err(backend("the database stayed locked for 5 s"))
}

/// The version is read inside an immediate (write-locked) transaction, so a
/// server and a CLI opening the file at once do not both run a step.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let version: usize = tx
            .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
            .map_err(backend)?
            .try_into()
            .map_err(backend)?;
        let Some(migration) = MIGRATIONS.get(version) else {
            if version > MIGRATIONS.len() {
                return Err(backend(format!(
                    "{} was written by a newer afureko (schema {version})",
                    path.display()
                )));
            }
            return Ok(());
        };
        tx.execute_batch(migration).map_err(backend)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(version + 1).map_err(backend)?,
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(backend)
}

fn from_json<T: serde::de::DeserializeOwned>(key: String, doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Malformed {
        key,
        reason: e.to_string(),
    })
}

fn record_from(tenant: &str, id: &str, doc: &str) -> Result<CallbackRecord, StoreError> {
    from_json(format!("callback {tenant}/{id}"), doc)
}

fn records(rows: Vec<(String, String, String)>) -> Result<Vec<CallbackRecord>, StoreError> {
    rows.iter()
        .map(|(tenant, id, doc)| record_from(tenant, id, doc))
        .collect()
}

/// The derived columns of a record, written beside its JSON.
struct Row {
    tenant_id: String,
    id: String,
    call_sid: String,
    status: &'static str,
    callback_number: String,
    due_at_ms: i64,
    received_at_ms: i64,
    needs_copy: bool,
    version: i64,
    doc: String,
}

impl Row {
    fn of(record: &CallbackRecord) -> Result<Row, StoreError> {
        Ok(Row {
            tenant_id: record.tenant_id.to_string(),
            id: record.id.to_string(),
            call_sid: record.call_sid.to_string(),
            status: record.status.as_str(),
            callback_number: record.callback_number.to_string(),
            due_at_ms: record.due_at.as_millisecond(),
            received_at_ms: record.received_at.as_millisecond(),
            needs_copy: record.has_pending_copy(),
            version: i64::try_from(record.version).map_err(backend)?,
            doc: to_json(record)?,
        })
    }
}

const SELECT_CALLBACK: &str = "SELECT tenant_id, id, doc FROM callbacks";

const BY_CALL_SID: &str = "SELECT c.tenant_id, c.id, c.doc FROM callback_calls l
     JOIN callbacks c ON c.tenant_id = l.tenant_id AND c.id = l.callback_id
     WHERE l.tenant_id = ?1 AND l.call_sid = ?2";

fn query_records(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<CallbackRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(args, |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .map_err(backend)?
        .collect::<Result<Vec<(String, String, String)>, _>>()
        .map_err(backend)?;
    records(rows)
}

fn one_record(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Option<CallbackRecord>, StoreError> {
    Ok(query_records(conn, sql, args)?.into_iter().next())
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
        self.with(move |conn| {
            let doc: Option<String> = conn
                .query_row(
                    "SELECT doc FROM tenants WHERE id = ?1",
                    params![id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?;
            doc.map(|doc| from_json(format!("tenant {id}"), &doc))
                .transpose()
        })
        .await
    }

    async fn insert_callback(&self, record: &CallbackRecord) -> Result<Inserted, StoreError> {
        let row = Row::of(record)?;
        let created = record.clone();
        self.with(move |conn| {
            let tx = conn.transaction().map_err(backend)?;
            // The call's link decides: a CallSid belongs to one record only.
            let linked = tx
                .execute(
                    "INSERT INTO callback_calls (tenant_id, call_sid, callback_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                    params![row.tenant_id, row.call_sid, row.id],
                )
                .map_err(backend)?;
            if linked == 1 {
                tx.execute(
                    "INSERT INTO callbacks (tenant_id, id, call_sid, status, callback_number, due_at_ms, received_at_ms, needs_copy, version, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        row.tenant_id,
                        row.id,
                        row.call_sid,
                        row.status,
                        row.callback_number,
                        row.due_at_ms,
                        row.received_at_ms,
                        row.needs_copy,
                        row.version,
                        row.doc
                    ],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)?;
                return Ok(Inserted::Created(created));
            }
            drop(tx);
            let existing = one_record(conn, BY_CALL_SID, params![row.tenant_id, row.call_sid])?
            .ok_or_else(|| backend("a callback with this CallSid exists but cannot be read"))?;
            Ok(Inserted::Existing(existing))
        })
        .await
    }

    async fn get_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.with(move |conn| {
            one_record(
                conn,
                &format!("{SELECT_CALLBACK} WHERE tenant_id = ?1 AND id = ?2"),
                params![tenant, id],
            )
        })
        .await
    }

    async fn find_callback_by_call_sid(
        &self,
        tenant: &TenantId,
        call_sid: &CallSid,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let (tenant, call_sid) = (tenant.to_string(), call_sid.to_string());
        self.with(move |conn| one_record(conn, BY_CALL_SID, params![tenant, call_sid]))
            .await
    }

    async fn find_open_callback_by_number(
        &self,
        tenant: &TenantId,
        number: &E164,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let (tenant, number) = (tenant.to_string(), number.to_string());
        self.with(move |conn| {
            one_record(
                conn,
                &format!(
                    "{SELECT_CALLBACK} WHERE tenant_id = ?1 AND callback_number = ?2
                     AND status IN ('pending', 'claimed') ORDER BY received_at_ms, id LIMIT 1"
                ),
                params![tenant, number],
            )
        })
        .await
    }

    async fn update_callback(&self, record: &CallbackRecord) -> Result<CallbackRecord, StoreError> {
        let expected = i64::try_from(record.version).map_err(backend)?;
        let mut next = record.clone();
        next.version += 1;
        let row = Row::of(&next)?;
        let repeat_calls: Vec<String> = next.repeat_calls.iter().map(|c| c.to_string()).collect();
        self.with(move |conn| {
            let tx = conn.transaction().map_err(backend)?;
            let updated = tx
                .execute(
                    "UPDATE callbacks SET status = ?3, callback_number = ?4, due_at_ms = ?5, needs_copy = ?6, version = ?7, doc = ?8
                     WHERE tenant_id = ?1 AND id = ?2 AND version = ?9",
                    params![
                        row.tenant_id,
                        row.id,
                        row.status,
                        row.callback_number,
                        row.due_at_ms,
                        row.needs_copy,
                        row.version,
                        row.doc,
                        expected
                    ],
                )
                .map_err(backend)?;
            if updated == 1 {
                for call_sid in &repeat_calls {
                    let linked = tx
                        .execute(
                            "INSERT INTO callback_calls (tenant_id, call_sid, callback_id) VALUES (?1, ?2, ?3)
                             ON CONFLICT DO NOTHING",
                            params![row.tenant_id, call_sid, row.id],
                        )
                        .map_err(backend)?;
                    let owner: String = tx
                        .query_row(
                            "SELECT callback_id FROM callback_calls WHERE tenant_id = ?1 AND call_sid = ?2",
                            params![row.tenant_id, call_sid],
                            |r| r.get(0),
                        )
                        .map_err(backend)?;
                    // A call already linked elsewhere cannot join this record too.
                    if linked == 0 && owner != row.id {
                        return Err(StoreError::Conflict);
                    }
                }
                tx.commit().map_err(backend)?;
                return Ok(next);
            }
            drop(tx);
            let exists: Option<i64> = conn
                .query_row(
                    "SELECT version FROM callbacks WHERE tenant_id = ?1 AND id = ?2",
                    params![row.tenant_id, row.id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            match exists {
                None => Err(StoreError::NotFound(format!("callback {}", row.id))),
                Some(_) => Err(StoreError::Conflict),
            }
        })
        .await
    }

    async fn recent_callbacks(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        let tenant = tenant.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(move |conn| {
            query_records(
                conn,
                &format!(
                    "{SELECT_CALLBACK} WHERE tenant_id = ?1 ORDER BY received_at_ms DESC, id DESC LIMIT ?2"
                ),
                params![tenant, limit],
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
        // One more than asked tells whether another page follows.
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        self.with(move |conn| {
            let mut items = query_records(
                conn,
                &format!(
                    "{SELECT_CALLBACK} WHERE tenant_id = ?1 AND (?2 IS NULL OR status = ?2)
                     AND (?3 IS NULL OR (due_at_ms, id) > (?3, ?4))
                     ORDER BY due_at_ms, id LIMIT ?5"
                ),
                params![tenant, status, after_due, after_id, fetch],
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
        let doc = to_json(key)?;
        self.with(move |conn| {
            let inserted = conn
                .execute(
                    "INSERT INTO api_keys (id, tenant_id, hash, doc) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    params![id, tenant, hash, doc],
                )
                .map_err(backend)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(format!("api key {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let hash = hash.to_owned();
        self.with(move |conn| {
            let row: Option<(String, String)> = conn
                .query_row(
                    "SELECT id, doc FROM api_keys WHERE hash = ?1",
                    params![hash],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            row.map(|(id, doc)| api_key_from(&id, &doc)).transpose()
        })
        .await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let tenant = tenant.to_string();
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id, doc FROM api_keys WHERE tenant_id = ?1 ORDER BY id")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![tenant], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(backend)?
                .collect::<Result<Vec<(String, String)>, _>>()
                .map_err(backend)?;
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
        self.with(move |conn| {
            // Read then write: take the write lock first, or a write from
            // another process in between fails the upgrade at once (WAL).
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let doc: Option<String> = tx
                .query_row(
                    "SELECT doc FROM api_keys WHERE id = ?1 AND tenant_id = ?2",
                    params![key_id, tenant],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let mut key = match doc {
                Some(doc) => api_key_from(&key_id, &doc)?,
                None => return Err(StoreError::NotFound(format!("api key {key_id}"))),
            };
            if key.revoked_at.is_none() {
                key.revoked_at = Some(at);
                tx.execute(
                    "UPDATE api_keys SET doc = ?2 WHERE id = ?1",
                    params![key_id, to_json(&key)?],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(key)
        })
        .await
    }

    async fn callbacks_with_pending_copies(
        &self,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(move |conn| {
            query_records(
                conn,
                &format!(
                    "{SELECT_CALLBACK} WHERE needs_copy = 1 ORDER BY received_at_ms, id LIMIT ?1"
                ),
                params![limit],
            )
        })
        .await
    }
}

fn api_key_from(id: &str, doc: &str) -> Result<ApiKey, StoreError> {
    from_json(format!("api key {id}"), doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::callback::{Confirmation, NewCallback};
    use crate::domain::ids::{AccountSid, RecordingSid};
    use crate::domain::phone::{E164, Region};
    use crate::domain::reason::Reason;
    use crate::domain::tenant::{AuthToken, TenantSettings, TwilioCredentials};

    fn tenant(id: &str) -> Tenant {
        Tenant {
            id: TenantId::parse(id).unwrap(),
            twilio: TwilioCredentials {
                account_sid: AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
                auth_token: AuthToken::new("token").unwrap(),
                webhook_shared_key: None,
            },
            settings: TenantSettings::default(),
            created_at: "2026-11-25T00:00:00Z".parse().unwrap(),
        }
    }

    fn record(tenant: &str, n: u32, received: &str) -> CallbackRecord {
        let number = E164::parse("+81312345678", Region::JP).unwrap();
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

    fn open() -> (tempfile::TempDir, Arc<SqliteStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db/afureko.db")).unwrap();
        (dir, Arc::new(store))
    }

    #[tokio::test]
    async fn tenants_round_trip() {
        let (_dir, store) = open();
        let mut acme = tenant("acme");
        store.create_tenant(&acme).await.unwrap();
        assert!(matches!(
            store.create_tenant(&acme).await,
            Err(StoreError::AlreadyExists(what)) if what == "tenant acme"
        ));
        acme.settings.max_recording_seconds = 60;
        store.update_tenant(&acme).await.unwrap();
        assert_eq!(store.get_tenant(&acme.id).await.unwrap(), Some(acme));
        let ghost = tenant("ghost");
        assert!(matches!(
            store.update_tenant(&ghost).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.get_tenant(&ghost.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn one_record_per_call_sid_even_under_racing_inserts() {
        let (_dir, store) = open();
        let first = record("acme", 1, "2026-11-25T01:00:00Z");
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            // Same CallSid, a different id each time: as retried webhooks make.
            let mut attempt = first.clone();
            attempt.id = CallbackId::generate();
            tasks.push(tokio::spawn(async move {
                store.insert_callback(&attempt).await
            }));
        }
        let mut created = 0;
        let mut ids = std::collections::HashSet::new();
        for task in tasks {
            match task.await.unwrap().unwrap() {
                Inserted::Created(r) => {
                    created += 1;
                    ids.insert(r.id);
                }
                Inserted::Existing(r) => {
                    ids.insert(r.id);
                }
            }
        }
        assert_eq!(created, 1);
        assert_eq!(ids.len(), 1, "every caller sees the one stored record");
        assert_eq!(
            store
                .recent_callbacks(&first.tenant_id, 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn updates_are_conditional_on_the_version() {
        let (_dir, store) = open();
        let r = store
            .insert_callback(&record("acme", 1, "2026-11-25T01:00:00Z"))
            .await
            .unwrap()
            .into_record();
        let mut changed = r.clone();
        changed.claimed_by = Some("ann".into());
        let written = store.update_callback(&changed).await.unwrap();
        assert_eq!(written.version, 1);
        assert!(matches!(
            store.update_callback(&changed).await,
            Err(StoreError::Conflict)
        ));
        let stored = store
            .get_callback(&r.tenant_id, &r.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored, written);
        let mut ghost = r.clone();
        ghost.id = CallbackId::generate();
        assert!(matches!(
            store.update_callback(&ghost).await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn racing_updates_from_one_read_have_one_winner() {
        let (_dir, store) = open();
        let r = store
            .insert_callback(&record("acme", 1, "2026-11-25T01:00:00Z"))
            .await
            .unwrap()
            .into_record();
        let mut tasks = Vec::new();
        for n in 0..16 {
            let store = store.clone();
            let mut mine = r.clone();
            mine.claimed_by = Some(format!("agent{n}"));
            tasks.push(tokio::spawn(
                async move { store.update_callback(&mine).await },
            ));
        }
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => winners += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(winners, 1);
    }

    #[tokio::test]
    async fn recent_order_pending_copies_and_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("afureko.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .insert_callback(&record("acme", 1, "2026-11-25T01:00:00Z"))
            .await
            .unwrap();
        let mut second = record("acme", 2, "2026-11-25T02:00:00Z");
        second.recording_completed(
            second.call_sid.clone(),
            RecordingSid::parse(&format!("RE{:032x}", 9)).unwrap(),
            "https://api.twilio.com/x".into(),
            Some(3),
            second.updated_at,
        );
        store.insert_callback(&second).await.unwrap();
        store
            .insert_callback(&record("other", 3, "2026-11-25T03:00:00Z"))
            .await
            .unwrap();
        let acme = TenantId::parse("acme").unwrap();
        let recent: Vec<String> = store
            .recent_callbacks(&acme, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.call_sid.to_string())
            .collect();
        assert_eq!(recent, [format!("CA{:032x}", 2), format!("CA{:032x}", 1)]);
        let pending = store.callbacks_with_pending_copies(10).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, second.id);
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(reopened.recent_callbacks(&acme, 10).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn due_ordered_pages_have_no_gaps_or_duplicates() {
        let (_dir, store) = open();
        let tenant = TenantId::parse("acme").unwrap();
        for n in 0..25u32 {
            // Pairs share a due time, so ties are broken by id.
            let minute = n / 2;
            let r = record("acme", n, &format!("2026-11-25T01:{minute:02}:00Z"));
            store.insert_callback(&r).await.unwrap();
        }
        store
            .insert_callback(&record("other", 99, "2026-11-25T00:00:00Z"))
            .await
            .unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_callbacks(
                    &tenant,
                    &ListQuery {
                        status: None,
                        limit: 7,
                        after,
                    },
                )
                .await
                .unwrap();
            seen.extend(page.items.iter().map(|r| (r.due_at, r.id.clone())));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seen, sorted, "oldest due first, each once");
        let none = store
            .list_callbacks(
                &tenant,
                &ListQuery {
                    status: Some(crate::domain::callback::Status::Failed),
                    limit: 10,
                    after: None,
                },
            )
            .await
            .unwrap();
        assert!(none.items.is_empty() && none.next.is_none());
    }

    #[tokio::test]
    async fn api_keys_by_hash_and_revocation() {
        let (_dir, store) = open();
        let tenant = TenantId::parse("acme").unwrap();
        let now: jiff::Timestamp = "2026-11-25T00:00:00Z".parse().unwrap();
        let made = ApiKey::generate(tenant.clone(), Some("desk".into()), now);
        store.create_api_key(&made.key).await.unwrap();
        let found = store.find_api_key(&made.key.hash).await.unwrap().unwrap();
        assert_eq!(found, made.key);
        assert_eq!(store.find_api_key("nope").await.unwrap(), None);
        let other = TenantId::parse("other").unwrap();
        assert!(matches!(
            store.revoke_api_key(&other, &made.key.id, now).await,
            Err(StoreError::NotFound(_))
        ));
        let revoked = store
            .revoke_api_key(&tenant, &made.key.id, now)
            .await
            .unwrap();
        assert_eq!(revoked.revoked_at, Some(now));
        assert!(
            !store
                .find_api_key(&made.key.hash)
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );
        assert_eq!(store.list_api_keys(&tenant).await.unwrap().len(), 1);
        assert!(store.list_api_keys(&other).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn repeat_calls_are_found_by_their_call_sid_and_open_records_by_number() {
        let (_dir, store) = open();
        let tenant = TenantId::parse("acme").unwrap();
        let first = store
            .insert_callback(&record("acme", 1, "2026-11-25T01:00:00Z"))
            .await
            .unwrap()
            .into_record();
        let number = first.callback_number.clone();
        assert_eq!(
            store
                .find_open_callback_by_number(&tenant, &number)
                .await
                .unwrap()
                .map(|r| r.id),
            Some(first.id.clone())
        );
        let later = CallSid::parse(&format!("CA{:032x}", 2)).unwrap();
        let mut joined = first.clone();
        joined.attach_call(later.clone(), "2026-11-25T02:00:00Z".parse().unwrap());
        store.update_callback(&joined).await.unwrap();
        assert_eq!(
            store
                .find_callback_by_call_sid(&tenant, &later)
                .await
                .unwrap()
                .map(|r| r.id),
            Some(first.id.clone())
        );
        // The joined call cannot also start a record of its own.
        let mut own = record("acme", 2, "2026-11-25T02:00:00Z");
        own.id = CallbackId::generate();
        assert!(
            matches!(store.insert_callback(&own).await.unwrap(), Inserted::Existing(r) if r.id == first.id)
        );
        // A completed record is no longer open.
        let mut done = store
            .get_callback(&tenant, &first.id)
            .await
            .unwrap()
            .unwrap();
        done.status = crate::domain::callback::Status::Completed;
        store.update_callback(&done).await.unwrap();
        assert_eq!(
            store
                .find_open_callback_by_number(&tenant, &number)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_version_1_file_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("afureko.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA_V1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            let r = record("acme", 7, "2026-11-25T01:00:00Z");
            conn.execute(
                "INSERT INTO callbacks (tenant_id, id, call_sid, status, due_at_ms, received_at_ms, needs_copy, version, doc)
                 VALUES ('acme', ?1, ?2, 'pending', 0, 0, 0, 0, ?3)",
                params![r.id.to_string(), r.call_sid.to_string(), to_json(&r).unwrap()],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let tenant = TenantId::parse("acme").unwrap();
        let sid = CallSid::parse(&format!("CA{:032x}", 7)).unwrap();
        assert!(
            store
                .find_callback_by_call_sid(&tenant, &sid)
                .await
                .unwrap()
                .is_some()
        );
        let number = E164::parse("+81312345678", Region::JP).unwrap();
        assert!(
            store
                .find_open_callback_by_number(&tenant, &number)
                .await
                .unwrap()
                .is_some()
        );
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
                        SqliteStore::open(&path).map(|_| ())
                    })
                })
                .collect();
            for open in opens {
                open.join().unwrap().unwrap();
            }
        }
    }

    #[tokio::test]
    async fn pending_copies_follow_the_recording_state() {
        let (_dir, store) = open();
        let mut r = record("acme", 1, "2026-11-25T01:00:00Z");
        let sid = RecordingSid::parse(&format!("RE{:032x}", 1)).unwrap();
        r.recording_completed(
            r.call_sid.clone(),
            sid.clone(),
            "https://api.twilio.com/x".into(),
            None,
            r.updated_at,
        );
        let r = store.insert_callback(&r).await.unwrap().into_record();
        assert_eq!(
            store.callbacks_with_pending_copies(10).await.unwrap().len(),
            1
        );
        let mut stored = r.clone();
        assert!(stored.recording_stored(&sid, "recordings/acme/x.wav".into(), r.updated_at));
        store.update_callback(&stored).await.unwrap();
        assert!(
            store
                .callbacks_with_pending_copies(10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_malformed_tenant_is_an_error_naming_it() {
        let (_dir, store) = open();
        store
            .with(|conn| {
                conn.execute(
                    "INSERT INTO tenants (id, doc) VALUES ('acme', 'not json')",
                    [],
                )
                .map_err(backend)
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
        let (_dir, store) = open();
        let r = store
            .insert_callback(&record("acme", 1, "2026-11-25T01:00:00Z"))
            .await
            .unwrap()
            .into_record();
        store
            .with(|conn| {
                conn.execute("UPDATE callbacks SET doc = '{\"id\": 7}'", [])
                    .map_err(backend)
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
}
