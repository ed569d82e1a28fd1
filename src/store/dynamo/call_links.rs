//! Call links: `CALL#{t}#{sid}` names the record a call belongs to, and
//! what this process last linked, so an update puts only new links.

use super::DynamoStore;
use super::items::{backend, call_pk, condition_failed, n, s};
use crate::domain::callback::CallbackRecord;
use crate::domain::ids::{CallSid, TenantId};
use crate::store::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// The repeat calls of records as last read or written here, by record and
/// version: every call of a stored version has its link already, so an
/// update puts links only for calls new since (a read-modify-write reads
/// the version it writes over). Without an entry every link is put again,
/// which is harmless.
#[derive(Default)]
pub(super) struct LinkedCalls(std::sync::Mutex<HashMap<RecordKey, (u64, Vec<CallSid>)>>);

/// Tenant and callback id.
type RecordKey = (String, String);

impl LinkedCalls {
    /// Records with repeat calls are few; a full map starts over.
    const MAX: usize = 4096;

    pub(super) fn note(&self, record: &CallbackRecord) {
        if record.repeat_calls.is_empty() {
            return;
        }
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(
            (record.tenant_id.to_string(), record.id.to_string()),
            (record.version, record.repeat_call_sids().cloned().collect()),
        );
    }

    /// The calls of `record` that version `record.version` did not have.
    pub(super) fn new_in(&self, record: &CallbackRecord) -> Vec<CallSid> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = (record.tenant_id.to_string(), record.id.to_string());
        let linked = match map.get(&key) {
            Some((version, calls)) if *version == record.version => calls.as_slice(),
            _ => &[],
        };
        record
            .repeat_call_sids()
            .filter(|c| !linked.contains(c))
            .cloned()
            .collect()
    }
}

impl DynamoStore {
    /// Points `call` at callback `id`, unless it points elsewhere already;
    /// a link with `expires_at` (epoch seconds) is the table's TTL's to
    /// delete. Returns the id the call belongs to.
    pub(super) async fn link_call(
        &self,
        t: &TenantId,
        call: &CallSid,
        id: &str,
        expires_at: Option<i64>,
    ) -> Result<String, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(call_pk(t, call)))
            .item("sk", s("CALL"))
            .item("callback_id", s(id))
            .condition_expression("attribute_not_exists(pk) OR callback_id = :id")
            .expression_attribute_values(":id", s(id));
        let put = match expires_at {
            Some(at) => put.item("expires_at", n(at)),
            None => put,
        }
        .send()
        .await;
        match put {
            Ok(_) => Ok(id.to_owned()),
            Err(e) if condition_failed(&e) => self
                .linked(t, call)
                .await?
                .ok_or_else(|| StoreError::Unreadable(format!("call link {call}"))),
            Err(e) => Err(backend("put call link", e)),
        }
    }

    pub(super) async fn linked(
        &self,
        t: &TenantId,
        call: &CallSid,
    ) -> Result<Option<String>, StoreError> {
        Ok(self.get(call_pk(t, call), "CALL").await?.and_then(|item| {
            match item.get("callback_id") {
                Some(AttributeValue::S(id)) => Some(id.clone()),
                _ => None,
            }
        }))
    }
}
