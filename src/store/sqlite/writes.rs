//! The callback writes, run by the writer inside a write's savepoint: an
//! error returned here rolls back everything the write did.

use super::rows::{BY_CALL_SID, Row, one_record};
use crate::domain::callback::CallbackRecord;
use crate::store::{Inserted, Opened, StoreError};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

const LINK_CALL: &str =
    "INSERT INTO callback_calls (tenant_id, call_sid, callback_id) VALUES (?1, ?2, ?3)
     ON CONFLICT DO NOTHING";

/// Whether a write broke the one-open-record-per-number index (schema v3).
pub(super) fn open_number_taken(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, Some(message))
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            && message.contains("callbacks.open_slot"))
}

/// `now_ms`: what is expired by then is not found.
pub(super) fn insert(
    conn: &Connection,
    record: &CallbackRecord,
    now_ms: i64,
) -> Result<Inserted, StoreError> {
    let row = Row::of(record)?;
    // The call's link decides first: a CallSid belongs to one record only.
    if let Some(existing) = one_record(
        conn,
        BY_CALL_SID,
        params![row.tenant_id, row.call_sid, now_ms],
    )? {
        return Ok(Inserted::Existing(existing));
    }
    // One open record per number: writes run one at a time in the writer's
    // transaction, so this check and the insert below cannot interleave
    // (the unique index still refuses a second one from another process).
    if record.is_open()
        && let Some(open) = one_record(
            conn,
            OPEN_BY_NUMBER,
            params![row.tenant_id, row.callback_number],
        )?
    {
        return Ok(Inserted::NumberOpen(open));
    }
    // The link is the guard itself: another process may have linked the
    // call since the lookup above.
    let linked =
        conn.prepare_cached(LINK_CALL)?
            .execute(params![row.tenant_id, row.call_sid, row.id])?;
    if linked == 1 {
        conn.prepare_cached(
            "INSERT INTO callbacks (tenant_id, id, call_sid, status, callback_number, due_at_ms, received_at_ms, needs_copy, version, doc, expires_at_ms,
                number_tail, reason, attempts, repeat_calls)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?
        .execute(params![
            row.tenant_id,
            row.id,
            row.call_sid,
            row.status,
            row.callback_number,
            row.due_at_ms,
            row.received_at_ms,
            row.needs_copy,
            row.version,
            row.doc,
            row.expires_at_ms,
            row.number_tail,
            row.reason,
            row.attempts,
            row.repeat_calls
        ])?;
        return Ok(Inserted::Created(record.clone()));
    }
    let existing = one_record(
        conn,
        BY_CALL_SID,
        params![row.tenant_id, row.call_sid, now_ms],
    )?
    .ok_or_else(|| StoreError::Unreadable(format!("callback for call {}", row.call_sid)))?;
    Ok(Inserted::Existing(existing))
}

/// Writes `record` if the stored version still is `record.version`.
pub(super) fn update(
    conn: &Connection,
    record: &CallbackRecord,
) -> Result<CallbackRecord, StoreError> {
    let expected = record.version;
    let mut next = record.clone();
    next.version += 1;
    let row = Row::of(&next)?;
    let updated = conn
        .prepare_cached(
            "UPDATE callbacks SET status = ?3, callback_number = ?4, due_at_ms = ?5, needs_copy = ?6, version = ?7, doc = ?8, expires_at_ms = ?10,
                number_tail = ?11, reason = ?12, attempts = ?13, repeat_calls = ?14
             WHERE tenant_id = ?1 AND id = ?2 AND version = ?9",
        )?
        .execute(params![
            row.tenant_id,
            row.id,
            row.status,
            row.callback_number,
            row.due_at_ms,
            row.needs_copy,
            row.version,
            row.doc,
            expected,
            row.expires_at_ms,
            row.number_tail,
            row.reason,
            row.attempts,
            row.repeat_calls
        ])
        .map_err(|e| {
            if open_number_taken(&e) {
                StoreError::OpenNumberTaken
            } else {
                e.into()
            }
        })?;
    if updated == 0 {
        let exists: Option<i64> = conn
            .prepare_cached("SELECT version FROM callbacks WHERE tenant_id = ?1 AND id = ?2")?
            .query_row(params![row.tenant_id, row.id], |r| r.get(0))
            .optional()?;
        return Err(match exists {
            None => StoreError::NotFound(format!("callback {}", row.id)),
            Some(_) => StoreError::Conflict,
        });
    }
    for call_sid in next.repeat_call_sids() {
        let call_sid = call_sid.as_str();
        let linked =
            conn.prepare_cached(LINK_CALL)?
                .execute(params![row.tenant_id, call_sid, row.id])?;
        let owner: String = conn
            .prepare_cached(
                "SELECT callback_id FROM callback_calls WHERE tenant_id = ?1 AND call_sid = ?2",
            )?
            .query_row(params![row.tenant_id, call_sid], |r| r.get(0))?;
        // A call already linked elsewhere cannot join this record too.
        if linked == 0 && owner != row.id {
            return Err(StoreError::Conflict);
        }
    }
    Ok(next)
}

/// The oldest open record of a number (`?1` tenant, `?2` number; open
/// records never expire). Without `INDEXED BY` the planner
/// walks the tenant's records in `received_at_ms` order (to skip a sort),
/// a scan that grows with the table.
pub(super) const OPEN_BY_NUMBER: &str =
    "SELECT tenant_id, id, doc FROM callbacks INDEXED BY callbacks_by_number
     WHERE tenant_id = ?1 AND callback_number = ?2
     AND status IN ('pending', 'claimed') ORDER BY received_at_ms, id LIMIT 1";

/// `CallbackStore::open_callback_for_call` as one transaction.
pub(super) fn open_for_call(
    conn: &Connection,
    fresh: &CallbackRecord,
    now: Timestamp,
) -> Result<Opened, StoreError> {
    let (tenant, call_sid) = (fresh.tenant_id.as_str(), fresh.call_sid.as_str());
    let now_ms = now.as_millisecond();
    if let Some(existing) = one_record(conn, BY_CALL_SID, params![tenant, call_sid, now_ms])? {
        return Ok(Opened::Existing(existing));
    }
    let open = one_record(
        conn,
        OPEN_BY_NUMBER,
        params![tenant, fresh.callback_number.as_str()],
    )?;
    if let Some(open) = open {
        return join(conn, open, fresh, now);
    }
    match insert(conn, fresh, now_ms)? {
        Inserted::Created(r) => Ok(Opened::Created(r)),
        Inserted::Existing(r) => Ok(Opened::Existing(r)),
        Inserted::NumberOpen(open) => join(conn, open, fresh, now),
    }
}

/// The call of `fresh` joins `open` as a repeat call.
fn join(
    conn: &Connection,
    mut open: CallbackRecord,
    fresh: &CallbackRecord,
    now: Timestamp,
) -> Result<Opened, StoreError> {
    if open.has_call(&fresh.call_sid) {
        return Ok(Opened::Existing(open));
    }
    if open.attach_call(fresh.call_sid.clone(), fresh.received_at, now) {
        open = update(conn, &open)?;
    }
    Ok(Opened::Joined(open))
}

/// Deletes a record and its call links; returns what was deleted.
pub(super) fn delete(
    conn: &Connection,
    tenant: &str,
    id: &str,
) -> Result<Option<CallbackRecord>, StoreError> {
    let Some(record) = one_record(
        conn,
        "SELECT tenant_id, id, doc FROM callbacks WHERE tenant_id = ?1 AND id = ?2",
        params![tenant, id],
    )?
    else {
        return Ok(None);
    };
    unlink(conn, &record)?;
    conn.prepare_cached("DELETE FROM callbacks WHERE tenant_id = ?1 AND id = ?2")?
        .execute(params![tenant, id])?;
    Ok(Some(record))
}

/// Deletes the call links that still point at `record`.
pub(super) fn unlink(conn: &Connection, record: &CallbackRecord) -> Result<(), StoreError> {
    let (tenant, id) = (record.tenant_id.as_str(), record.id.as_str());
    for call_sid in std::iter::once(&record.call_sid).chain(record.repeat_call_sids()) {
        conn.prepare_cached(
            "DELETE FROM callback_calls WHERE tenant_id = ?1 AND call_sid = ?2 AND callback_id = ?3",
        )?
        .execute(params![tenant, call_sid.as_str(), id])?;
    }
    Ok(())
}
