//! Rows and documents: each row keeps the whole item as JSON plus the
//! columns that queries filter and sort on.

use crate::domain::api_key::ApiKey;
use crate::domain::callback::CallbackRecord;
use crate::domain::number_search::tail_of;
use crate::store::{StoreError, attempts_of};
use rusqlite::Connection;

pub(super) const SELECT_CALLBACK: &str = "SELECT tenant_id, id, doc FROM callbacks";

/// Every read of records leaves out the expired ones (`expires_at_ms` at
/// or before now, in ms): an expired record is gone, whether or not the
/// sweeper has deleted it yet.
///
/// `?1` tenant, `?2` CallSid, `?3` now.
pub(super) const BY_CALL_SID: &str = "SELECT c.tenant_id, c.id, c.doc FROM callback_calls l
     JOIN callbacks c ON c.tenant_id = l.tenant_id AND c.id = l.callback_id
     WHERE l.tenant_id = ?1 AND l.call_sid = ?2
     AND (c.expires_at_ms IS NULL OR c.expires_at_ms > ?3)";

/// `what` names the kind of item for the error ("a tenant").
pub(super) fn to_json<T: serde::Serialize>(
    what: &'static str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { what, source })
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    key: String,
    doc: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|source| StoreError::Malformed {
        key,
        source: source.into(),
    })
}

pub(super) fn api_key_from(id: &str, doc: &str) -> Result<ApiKey, StoreError> {
    from_json(format!("api key {id}"), doc)
}

fn record_from(tenant: &str, id: &str, doc: &str) -> Result<CallbackRecord, StoreError> {
    from_json(format!("callback {tenant}/{id}"), doc)
}

/// The derived columns of a record, written beside its JSON.
pub(super) struct Row {
    pub tenant_id: String,
    pub id: String,
    pub call_sid: String,
    pub status: &'static str,
    pub callback_number: String,
    pub due_at_ms: i64,
    pub received_at_ms: i64,
    pub needs_copy: bool,
    pub expires_at_ms: Option<i64>,
    pub number_tail: String,
    pub reason: &'static str,
    pub attempts: u32,
    pub repeat_calls: u32,
    pub version: u64,
    pub doc: String,
}

impl Row {
    pub fn of(record: &CallbackRecord) -> Result<Row, StoreError> {
        Ok(Row {
            tenant_id: record.tenant_id.to_string(),
            id: record.id.to_string(),
            call_sid: record.call_sid.to_string(),
            status: record.status.as_str(),
            callback_number: record.callback_number.to_string(),
            due_at_ms: record.due_at.as_millisecond(),
            received_at_ms: record.received_at.as_millisecond(),
            needs_copy: record.has_pending_copy(),
            expires_at_ms: record.expires_at.map(|t| t.as_millisecond()),
            number_tail: tail_of(&record.callback_number).to_owned(),
            reason: record.reason.as_str(),
            attempts: attempts_of(record),
            repeat_calls: u32::try_from(record.repeat_calls.len()).unwrap_or(u32::MAX),
            version: record.version,
            doc: to_json("a callback", record)?,
        })
    }
}

/// Runs a query whose columns are `tenant_id, id, doc` of callbacks.
pub(super) fn query_records(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<CallbackRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(args, |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<Vec<(String, String, String)>, _>>()?;
    rows.iter()
        .map(|(tenant, id, doc)| record_from(tenant, id, doc))
        .collect()
}

pub(super) fn one_record(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Option<CallbackRecord>, StoreError> {
    Ok(query_records(conn, sql, args)?.into_iter().next())
}
