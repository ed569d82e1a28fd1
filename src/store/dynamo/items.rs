//! DynamoDB items: attribute values, keys, and records to and from items.

use crate::domain::callback::CallbackRecord;
use crate::domain::ids::{CallSid, TenantId};
use crate::domain::number_search::tail_of;
use crate::domain::phone::E164;
use crate::store::{BoxError, StoreError, attempts_of};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// `e`: a request's error or a request builder's.
pub(super) fn backend(op: &'static str, e: impl Into<BoxError>) -> StoreError {
    StoreError::Dynamo {
        op,
        source: e.into(),
    }
}

pub(super) fn encode(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
    move |source| StoreError::Encode { what, source }
}

/// Whether an SDK error is DynamoDB's "the condition did not hold".
pub(super) fn condition_failed<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|se| se.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

/// Sort keys that order as numbers: 15 digits cover every millisecond
/// timestamp until the year 33658.
pub(super) fn ms_key(ms: i64, id: &str) -> String {
    format!("{:015}#{id}", ms.max(0))
}

pub(super) fn tenant_pk(t: &TenantId) -> String {
    format!("TENANT#{t}")
}

pub(super) fn callback_pk(t: &str, id: &str) -> String {
    format!("TENANT#{t}#CB#{id}")
}

pub(super) fn call_pk(t: &TenantId, call: &CallSid) -> String {
    format!("TENANT#{t}#CALL#{call}")
}

/// The guard item naming a number's one open record.
pub(super) fn open_pk(t: &TenantId, number: &E164) -> String {
    format!("TENANT#{t}#OPEN#{number}")
}

/// The partition of a tenant's open (or closed) records in arrival order
/// (`received_keys`); records move once, when they close.
pub(super) fn received_pk(t: &str, open: bool) -> String {
    let state = if open { "OPEN" } else { "CLOSED" };
    format!("TENANT#{t}#CB#{state}")
}

/// The partition of a tenant's records whose number ends in `tail`
/// (`number_tail_keys`).
pub(super) fn tail_pk(t: &str, tail: &str) -> String {
    format!("TENANT#{t}#TAIL#{tail}")
}

/// The partition of a tenant's open records that were tried (`tried_keys`).
pub(super) fn tried_pk(t: &str) -> String {
    format!("TENANT#{t}#TRIED")
}

/// Most attempts first, then the oldest call: `9999 - attempts`, zero-padded,
/// before the arrival's `ms_key`.
pub(super) fn tried_key(attempts: u32, received_ms: i64, id: &str) -> String {
    format!(
        "{:04}#{}",
        MAX_TRIED.saturating_sub(attempts),
        ms_key(received_ms, id)
    )
}

/// The attempts `tried_key` orders; a tenant allows far fewer.
pub(super) const MAX_TRIED: u32 = 9999;

fn doc_of(item: &Item, key: &str) -> Result<String, StoreError> {
    match item.get("doc") {
        Some(AttributeValue::S(doc)) => Ok(doc.clone()),
        _ => Err(StoreError::Incomplete {
            key: key.to_owned(),
            problem: "no doc attribute",
        }),
    }
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(
    item: &Item,
    key: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(&doc_of(item, key)?).map_err(|source| StoreError::Malformed {
        key: key.to_owned(),
        source: source.into(),
    })
}

pub(super) fn record_of(item: &Item) -> Result<CallbackRecord, StoreError> {
    let key = match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "callback without pk".to_owned(),
    };
    parse(item, &key)
}

/// The whole item of a record: its JSON plus the keys that index it.
pub(super) fn callback_item(r: &CallbackRecord) -> Result<Item, StoreError> {
    let t = r.tenant_id.as_str();
    let id = r.id.as_str();
    let due = r.due_at.as_millisecond();
    let received = r.received_at.as_millisecond();
    let mut item: Item = HashMap::from([
        ("pk".into(), s(callback_pk(t, id))),
        ("sk".into(), s("CB")),
        (
            "doc".into(),
            s(serde_json::to_string(r).map_err(encode("a callback"))?),
        ),
        ("version".into(), n(r.version)),
        ("status".into(), s(r.status.as_str())),
        (
            "gsi1pk".into(),
            s(format!("TENANT#{t}#STATUS#{}", r.status.as_str())),
        ),
        ("gsi1sk".into(), s(ms_key(due, id))),
        ("gsi2pk".into(), s(format!("TENANT#{t}#CB"))),
        ("gsi2sk".into(), s(ms_key(due, id))),
        ("gsi4pk".into(), s(received_pk(t, r.is_open()))),
        ("gsi4sk".into(), s(ms_key(received, id))),
        ("gsi5pk".into(), s(tail_pk(t, tail_of(&r.callback_number)))),
    ]);
    // The table's TTL, in whole seconds rounded up: never before the
    // record is gone for readers (the stream of TTL deletions then deletes
    // its recordings).
    if let Some(at) = r.expires_at {
        let second = at.as_second() + i64::from(at.subsec_nanosecond() > 0);
        item.insert("expires_at".into(), n(second));
    }
    // Sparse: only open records that were tried are in the attempts order.
    let attempts = attempts_of(r);
    if r.is_open() && attempts > 0 {
        item.insert("gsi6pk".into(), s(tried_pk(t)));
        item.insert("gsi6sk".into(), s(tried_key(attempts, received, id)));
    }
    // Sparse: only an open record is found by its number.
    if r.is_open() {
        item.insert(
            "gsi3pk".into(),
            s(open_pk(&r.tenant_id, &r.callback_number)),
        );
        item.insert("gsi3sk".into(), s(ms_key(received, id)));
    }
    Ok(item)
}
