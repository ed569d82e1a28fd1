//! Opening the file: pragmas, WAL and the schema migrations.

use crate::store::StoreError;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// Schema migrations, in order; `user_version` counts those applied.
const MIGRATIONS: [&str; 10] = [
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8,
    SCHEMA_V9, SCHEMA_V10,
];

pub(super) const SCHEMA_V1: &str = "
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
pub(super) const SCHEMA_V2: &str = "
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

/// One open (pending or claimed) record per callback number: racing first
/// calls from one number cannot both insert. Every record takes the shared
/// slot ''; records left open twice before this guard keep their own slot
/// (their id), so the index can be built and they still work.
const SCHEMA_V3: &str = "
ALTER TABLE callbacks ADD COLUMN open_slot TEXT NOT NULL DEFAULT '';
UPDATE callbacks SET open_slot = id
WHERE status IN ('pending', 'claimed') AND EXISTS (
    SELECT 1 FROM callbacks o
    WHERE o.tenant_id = callbacks.tenant_id AND o.callback_number = callbacks.callback_number
      AND o.status IN ('pending', 'claimed')
      AND (o.received_at_ms, o.id) < (callbacks.received_at_ms, callbacks.id)
);
CREATE UNIQUE INDEX callbacks_one_open_per_number ON callbacks (tenant_id, callback_number, open_slot)
WHERE status IN ('pending', 'claimed');
";

/// Idempotency keys of the agents' API, per tenant; `status` is NULL while
/// the first request runs.
const SCHEMA_V4: &str = "
CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    reserved_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at_ms);
";

/// Agents (by tenant and login) and their sessions (by token hash).
const SCHEMA_V5: &str = "
CREATE TABLE agents (
    tenant_id TEXT NOT NULL,
    login TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, login)
);
CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    login TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);
";

/// The store's own facts by name: the key record of sealed secrets.
const SCHEMA_V6: &str = "
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Retention: when a closed record expires (NULL: open, or closed before
/// this version). Reads leave expired rows out; the sweeper deletes them.
/// And the audit trail, append-only, per tenant in time order.
const SCHEMA_V7: &str = "
ALTER TABLE callbacks ADD COLUMN expires_at_ms INTEGER;
CREATE INDEX callbacks_by_expiry ON callbacks (expires_at_ms) WHERE expires_at_ms IS NOT NULL;
CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, at_ms, id)
);
";

/// The recording copy queue (`outbox`): one job per recording; a leased
/// job has a receipt and is hidden until `visible_at_ms`; `dead` is the
/// dead-letter queue. Recordings already pending are queued by the first
/// re-drive (`serve` runs one at start).
const SCHEMA_V8: &str = "
CREATE TABLE copy_jobs (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    callback_id TEXT NOT NULL,
    recording_sid TEXT NOT NULL,
    receives INTEGER NOT NULL DEFAULT 0,
    visible_at_ms INTEGER NOT NULL,
    receipt TEXT UNIQUE,
    dead INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, callback_id, recording_sid)
);
CREATE INDEX copy_jobs_due ON copy_jobs (dead, visible_at_ms);
";

/// Idempotency keys per sender too (`actor`: `agent:{login}` or
/// `api_key:{id}`), with the sender's role at the first request
/// (`role`), so that a replay answers no one the first request would have
/// refused. Keys kept before name no sender and are dropped: a retry of
/// such a request (within its 24 h) runs again.
const SCHEMA_V9: &str = "
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    key TEXT NOT NULL,
    role TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    reserved_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    PRIMARY KEY (tenant_id, actor, key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at_ms);
";

/// The agents' list: found by the number's last four digits, filtered by
/// reason and repeat calls, ordered by arrival or by attempts.
const SCHEMA_V10: &str = "
ALTER TABLE callbacks ADD COLUMN number_tail TEXT NOT NULL DEFAULT '';
ALTER TABLE callbacks ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE callbacks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE callbacks ADD COLUMN repeat_calls INTEGER NOT NULL DEFAULT 0;
UPDATE callbacks SET number_tail = substr(callback_number, -4),
    reason = json_extract(doc, '$.reason'),
    attempts = json_array_length(doc, '$.attempts'),
    repeat_calls = coalesce(json_array_length(doc, '$.repeat_calls'), 0);
CREATE INDEX callbacks_by_tail ON callbacks (tenant_id, number_tail, received_at_ms, id);
CREATE INDEX callbacks_by_status_received ON callbacks (tenant_id, status, received_at_ms, id);
CREATE INDEX callbacks_by_status_attempts ON callbacks (tenant_id, status, attempts DESC, received_at_ms, id);
";

/// Opens (or creates) the database file and brings its schema up to date.
/// Blocking: it may wait up to 5 s for another process.
pub(super) fn connect(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            what: "cannot create",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    // WAL and a busy timeout: the CLI may write while the server runs.
    conn.busy_timeout(Duration::from_secs(5))?;
    use_wal(&conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Switching a file to WAL needs it to itself for a moment, and SQLite does
/// not wait for that: another process opening it at once makes it busy.
fn use_wal(conn: &Connection) -> Result<(), StoreError> {
    let mut tries = 0;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                std::thread::sleep(Duration::from_millis(100));
                tries += 1;
                if tries == 50 {
                    return Err(StoreError::Locked(e));
                }
            }
            other => return Ok(other?),
        }
    }
}

/// Applies the migrations this file has not seen, each in a transaction.
/// The version is read inside an immediate (write-locked) transaction, so a
/// server and a CLI opening the file at once do not both run a step.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: usize = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let Some(migration) = MIGRATIONS.get(version) else {
            if version > MIGRATIONS.len() {
                return Err(StoreError::NewerSchema {
                    path: path.to_path_buf(),
                    version,
                });
            }
            return Ok(());
        };
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_from_a_newer_afureko_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("afureko.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() + 1)
            .unwrap();
        drop(conn);
        let err = connect(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::NewerSchema { version, .. } if version == MIGRATIONS.len() + 1),
            "{err}"
        );
    }

    #[test]
    fn reopening_applies_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("afureko.db");
        drop(connect(&path).unwrap());
        let conn = connect(&path).unwrap();
        let version: usize = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
