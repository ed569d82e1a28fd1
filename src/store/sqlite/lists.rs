//! The agents' lists as SQL: one statement per shape of query, holding
//! only the conditions it needs, so the planner walks the index of its
//! order (`callbacks_by_due`, `_by_status_received`, `_by_status_attempts`,
//! `_by_tail`) and stops at the page's end.

use super::rows::{SELECT_CALLBACK, query_records};
use crate::store::{ListBy, ListPosition, ListQuery, Page, StoreError};
use rusqlite::Connection;
use rusqlite::types::Value;

const OPEN: &str = "status IN ('pending', 'claimed')";

/// A page of `query` for `tenant`, what expired by `now_ms` left out.
pub(super) fn list(
    conn: &Connection,
    tenant: &str,
    query: &ListQuery,
    now_ms: i64,
) -> Result<Page, StoreError> {
    let mut conditions = vec!["tenant_id = ?".to_owned()];
    let mut args: Vec<Value> = vec![tenant.to_owned().into()];
    let mut with = |condition: &str, values: Vec<Value>| {
        conditions.push(condition.to_owned());
        args.extend(values);
    };
    if let Some(status) = query.status {
        with("status = ?", vec![status.as_str().to_owned().into()]);
    }
    let open_only = matches!(query.by, ListBy::Received | ListBy::Attempts);
    if open_only || query.filter.due.is_some() {
        with(OPEN, vec![]);
    }
    if let ListBy::Number(search) = &query.by {
        with(
            "number_tail = ? AND callback_number LIKE '%' || ?",
            vec![
                search.tail().to_owned().into(),
                search.suffix().to_owned().into(),
            ],
        );
    }
    if let Some(reason) = query.filter.reason {
        with("reason = ?", vec![reason.as_str().to_owned().into()]);
    }
    if query.filter.repeat {
        with("repeat_calls > 0", vec![]);
    }
    if let Some(due) = query.filter.due {
        if let Some(from) = due.from {
            with("due_at_ms >= ?", vec![from.into()]);
        }
        if let Some(before) = due.before {
            with("due_at_ms < ?", vec![before.into()]);
        }
    }
    with(
        "(expires_at_ms IS NULL OR expires_at_ms > ?)",
        vec![now_ms.into()],
    );
    let (after, order) = match &query.by {
        ListBy::Due => ("(due_at_ms, id) > (?, ?)", "due_at_ms, id"),
        ListBy::DueDesc => ("(due_at_ms, id) < (?, ?)", "due_at_ms DESC, id DESC"),
        ListBy::Received => ("(received_at_ms, id) > (?, ?)", "received_at_ms, id"),
        ListBy::Number(_) => (
            "(received_at_ms, id) < (?, ?)",
            "received_at_ms DESC, id DESC",
        ),
        ListBy::Attempts => (
            "(attempts < ? OR (attempts = ? AND (received_at_ms, id) > (?, ?)))",
            "attempts DESC, received_at_ms, id",
        ),
    };
    if let Some(p) = &query.after {
        let mut values: Vec<Value> = Vec::new();
        if query.by == ListBy::Attempts {
            values.extend([i64::from(p.attempts).into(), i64::from(p.attempts).into()]);
        }
        values.extend([p.at_ms.into(), p.id.clone().into()]);
        with(after, values);
    }
    // One more than asked tells whether another page follows.
    let fetch = i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX);
    args.push(fetch.into());
    let sql = format!(
        "{SELECT_CALLBACK} WHERE {} ORDER BY {order} LIMIT ?",
        conditions.join(" AND ")
    );
    let mut items = query_records(conn, &sql, rusqlite::params_from_iter(args))?;
    let more = items.len() > query.limit;
    items.truncate(query.limit);
    let next = match items.last() {
        Some(last) if more => Some(ListPosition::of(last, &query.by)),
        _ => None,
    };
    Ok(Page { items, next })
}

/// Records of `status` (due before `due_before` when set), up to `cap`.
pub(super) fn count(
    conn: &Connection,
    tenant: &str,
    status: &str,
    due_before: Option<i64>,
    cap: usize,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    let counted: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM (SELECT 1 FROM callbacks INDEXED BY callbacks_by_due
             WHERE tenant_id = ?1 AND status = ?2 AND (?3 IS NULL OR due_at_ms < ?3)
             AND (expires_at_ms IS NULL OR expires_at_ms > ?4) LIMIT ?5)",
        )?
        .query_row(
            rusqlite::params![tenant, status, due_before, now_ms, cap],
            |row| row.get(0),
        )?;
    Ok(usize::try_from(counted).unwrap_or(0))
}
