//! The AWS store: one DynamoDB table. Keys (see docs/dynamodb.md):
//! - tenant `TENANT#{t}` / `TENANT`
//! - callback `TENANT#{t}#CB#{id}` / `CB` (its own partition: writes spread)
//! - call link `TENANT#{t}#CALL#{CallSid}` / `CALL` → callback id (idempotency)
//! - open number `TENANT#{t}#OPEN#{E.164}` / `OPEN` → its one open record
//! - API key `APIKEY#{hash}` / `APIKEY`
//! - the key record of sealed secrets `META#SECRET_KEY` / `META`
//! - idempotency key `TENANT#{t}#IDEM#{key}` / `IDEM` (see `idempotency`)
//! - agents and sessions: see `agents`
//!
//! GSIs, keys only (lists read the records by BatchGetItem):
//! `status_due_keys` (a status's list, due order), `due_keys` (all
//! statuses), `open_number_keys` (sparse: open records of a number),
//! `received_keys` (newest first; also API keys and agents by tenant).
//! No transactions are needed: every write is one conditional put.

mod agents;
mod audit;
mod idempotency;
mod items;
mod open_numbers;
mod table;

pub use open_numbers::NumberMigration;
pub use table::{INDEXES, Index, create_table};

use items::{
    Item, backend, call_pk, callback_item, callback_pk, condition_failed, encode, ms_key, n,
    open_pk, parse, record_of, s, tenant_pk,
};

use super::{Inserted, KeyRecordStore, ListPosition, ListQuery, Page, Store, StoreError};
use crate::clock::{Clock, SystemClock};
use crate::domain::api_key::ApiKey;
use crate::domain::callback::CallbackRecord;
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::phone::E164;
use crate::domain::tenant::Tenant;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::Arc;

pub struct DynamoStore {
    client: Client,
    table: String,
    /// Decides what has expired: TTL deletes late, so every read filters.
    clock: Arc<dyn Clock>,
    linked: LinkedCalls,
}

/// The repeat calls of records as last read or written here, by record and
/// version: every call of a stored version has its link already, so an
/// update puts links only for calls new since (a read-modify-write reads
/// the version it writes over). Without an entry every link is put again,
/// which is harmless.
#[derive(Default)]
struct LinkedCalls(std::sync::Mutex<HashMap<RecordKey, (u64, Vec<CallSid>)>>);

/// Tenant and callback id.
type RecordKey = (String, String);

impl LinkedCalls {
    /// Records with repeat calls are few; a full map starts over.
    const MAX: usize = 4096;

    fn note(&self, record: &CallbackRecord) {
        if record.repeat_calls.is_empty() {
            return;
        }
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(
            (record.tenant_id.to_string(), record.id.to_string()),
            (record.version, record.repeat_calls.clone()),
        );
    }

    /// The calls of `record` that version `record.version` did not have.
    fn new_in(&self, record: &CallbackRecord) -> Vec<CallSid> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = (record.tenant_id.to_string(), record.id.to_string());
        let linked = match map.get(&key) {
            Some((version, calls)) if *version == record.version => calls.as_slice(),
            _ => &[],
        };
        record
            .repeat_calls
            .iter()
            .filter(|c| !linked.contains(c))
            .cloned()
            .collect()
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: String) -> Self {
        DynamoStore {
            client,
            table,
            clock: Arc::new(SystemClock),
            linked: LinkedCalls::default(),
        }
    }

    /// The store with `clock` deciding which records have expired.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// `record` unless it has expired (the table's TTL deletes items days
    /// late, and moto never does).
    fn live(&self, record: CallbackRecord) -> Option<CallbackRecord> {
        (!record.is_expired(self.clock.now())).then_some(record)
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("get", e))?;
        Ok(out.item)
    }

    async fn get_callback_raw(
        &self,
        t: &str,
        id: &str,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let record = self
            .get(callback_pk(t, id), "CB")
            .await?
            .map(|item| record_of(&item))
            .transpose()?;
        if let Some(record) = &record {
            self.linked.note(record);
        }
        Ok(record)
    }

    /// Points `call` at callback `id`, unless it points elsewhere already.
    /// Returns the id the call belongs to.
    async fn link_call(
        &self,
        t: &TenantId,
        call: &CallSid,
        id: &str,
    ) -> Result<String, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(call_pk(t, call)))
            .item("sk", s("CALL"))
            .item("callback_id", s(id))
            .condition_expression("attribute_not_exists(pk) OR callback_id = :id")
            .expression_attribute_values(":id", s(id))
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

    async fn linked(&self, t: &TenantId, call: &CallSid) -> Result<Option<String>, StoreError> {
        Ok(self.get(call_pk(t, call), "CALL").await?.and_then(|item| {
            match item.get("callback_id") {
                Some(AttributeValue::S(id)) => Some(id.clone()),
                _ => None,
            }
        }))
    }

    /// Queries one index partition in order, up to `limit` items.
    async fn query(
        &self,
        index: &str,
        pk_attr: &str,
        pk: String,
        forward: bool,
        limit: Option<i32>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(forward)
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| backend("query", e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// The items an index names under `pk`, in its order, up to `limit`:
    /// read from the table when the index keeps only keys.
    async fn index_items(
        &self,
        index: &str,
        pk_attr: &str,
        pk: String,
        forward: bool,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let want = limit.map(|l| i32::try_from(l - items.len()).unwrap_or(i32::MAX));
            let (batch, last) = self
                .query(index, pk_attr, pk.clone(), forward, want, start)
                .await?;
            items.extend(batch);
            match last {
                Some(key) if limit.is_none_or(|l| items.len() < l) => start = Some(key),
                _ => break,
            }
        }
        if INDEXES.iter().any(|i| i.name == index && i.keys_only) {
            return self
                .batch_get(items.iter().map(primary_key).collect())
                .await;
        }
        Ok(items)
    }

    async fn query_records(
        &self,
        index: &str,
        pk_attr: &str,
        pk: String,
        forward: bool,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        let records = self
            .index_items(index, pk_attr, pk, forward, Some(limit))
            .await?
            .iter()
            .map(record_of)
            .collect::<Result<Vec<_>, _>>()?;
        // Expired records the TTL has not deleted yet are left out.
        Ok(records.into_iter().filter_map(|r| self.live(r)).collect())
    }

    /// The items of `keys` (each `pk` and `sk`), in that order; items gone
    /// since are left out. Eventually consistent, like the index that
    /// named them: half the read units of a consistent read.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        // DynamoDB's limit per BatchGetItem.
        const MAX_KEYS: usize = 100;
        const TRIES: u32 = 8;
        let mut found: HashMap<(String, String), Item> = HashMap::new();
        for chunk in keys.chunks(MAX_KEYS) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .build()
                .map_err(|e| backend("batch get", e))?;
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| backend("batch get", e))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    found.insert(key_pair(&item), item);
                }
                // Keys DynamoDB did not get to (throttling): asked again,
                // after a growing pause.
                match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    Some(rest) if !rest.keys().is_empty() && attempt + 1 < TRIES => {
                        pending = rest;
                        let pause = std::time::Duration::from_millis(25 << attempt);
                        tokio::time::sleep(pause).await;
                    }
                    Some(rest) if !rest.keys().is_empty() => {
                        return Err(backend(
                            "batch get",
                            format!("{} keys unprocessed after {TRIES} tries", rest.keys().len()),
                        ));
                    }
                    _ => break,
                }
            }
        }
        Ok(keys
            .iter()
            .filter_map(|k| found.remove(&key_pair(k)))
            .collect())
    }
}

/// The table key of an item (or of an index entry, which carries it).
fn primary_key(item: &Item) -> Item {
    item.iter()
        .filter(|(k, _)| k.as_str() == "pk" || k.as_str() == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn key_pair(item: &Item) -> (String, String) {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    };
    (text("pk"), text("sk"))
}

/// Where a list page ends: the due time and id in an index entry's sort key
/// (`ms_key`).
fn position_of(entry: &Item, sk_attr: &str) -> Result<ListPosition, StoreError> {
    let bad = || StoreError::Incomplete {
        key: format!("index entry {:?}", key_pair(entry).0),
        problem: "its sort key is not a time and an id",
    };
    let Some(AttributeValue::S(sk)) = entry.get(sk_attr) else {
        return Err(bad());
    };
    let (ms, id) = sk.split_once('#').ok_or_else(bad)?;
    Ok(ListPosition {
        due_at_ms: ms.parse().map_err(|_| bad())?,
        id: id.to_owned(),
    })
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.put_tenant(
            tenant,
            "attribute_not_exists(pk)",
            StoreError::AlreadyExists,
        )
        .await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.put_tenant(tenant, "attribute_exists(pk)", StoreError::NotFound)
            .await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get(tenant_pk(id), "TENANT")
            .await?
            .map(|item| parse(&item, &format!("tenant {id}")))
            .transpose()
    }

    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        // A scan: only operators' tools list every tenant.
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :sk")
                .expression_attribute_values(":sk", s("TENANT"))
                .projection_expression("pk")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| backend("scan", e))?;
            for item in out.items.unwrap_or_default() {
                let pk = match item.get("pk") {
                    Some(AttributeValue::S(pk)) => pk.as_str(),
                    _ => "",
                };
                let id = pk.strip_prefix("TENANT#").unwrap_or_default();
                ids.push(TenantId::parse(id).map_err(|_| StoreError::Incomplete {
                    key: format!("tenant item {pk:?}"),
                    problem: "its key does not name a tenant",
                })?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(ids),
            }
        }
    }

    async fn insert_callback(&self, record: &CallbackRecord) -> Result<Inserted, StoreError> {
        let owner = self
            .link_call(&record.tenant_id, &record.call_sid, record.id.as_str())
            .await?;
        if owner != record.id.as_str() {
            // A retried webhook: the call belongs to a record already. If a
            // crash left the link without its record, the record is made now.
            if let Some(existing) = self
                .get_callback_raw(record.tenant_id.as_str(), &owner)
                .await?
            {
                return Ok(Inserted::Existing(existing));
            }
            let mut adopted = record.clone();
            adopted.id = CallbackId::parse(&owner).ok_or_else(|| StoreError::Incomplete {
                key: format!("call link {}", record.call_sid),
                problem: "bad callback id",
            })?;
            return self.put_new(&adopted).await;
        }
        self.put_new(record).await
    }

    async fn get_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let record = self.get_callback_raw(tenant.as_str(), id.as_str()).await?;
        Ok(record.and_then(|r| self.live(r)))
    }

    async fn find_callback_by_call_sid(
        &self,
        tenant: &TenantId,
        call_sid: &CallSid,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        match self.linked(tenant, call_sid).await? {
            Some(id) => Ok(self
                .get_callback_raw(tenant.as_str(), &id)
                .await?
                .and_then(|r| self.live(r))),
            None => Ok(None),
        }
    }

    async fn find_open_callback_by_number(
        &self,
        tenant: &TenantId,
        number: &E164,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        // Only open records are in the index, oldest first: the first
        // entry is the one, unless the index lags a close.
        let mut start = None;
        loop {
            let (entries, last) = self
                .query(
                    "open_number_keys",
                    "gsi3pk",
                    open_pk(tenant, number),
                    true,
                    Some(1),
                    start,
                )
                .await?;
            for entry in &entries {
                let (pk, _) = key_pair(entry);
                let Some(item) = self.get(pk, "CB").await? else {
                    continue;
                };
                let record = record_of(&item)?;
                if record.is_open() && &record.callback_number == number {
                    return Ok(Some(record));
                }
            }
            match last {
                Some(key) => start = Some(key),
                None => return Ok(None),
            }
        }
    }

    async fn update_callback(&self, record: &CallbackRecord) -> Result<CallbackRecord, StoreError> {
        // A repeat call's link is put before the record names the call.
        for call in &self.linked.new_in(record) {
            let owner = self
                .link_call(&record.tenant_id, call, record.id.as_str())
                .await?;
            if owner != record.id.as_str() {
                return Err(StoreError::Conflict);
            }
        }
        let mut next = record.clone();
        next.version += 1;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .condition_expression("attribute_exists(pk) AND version = :expected")
            .expression_attribute_values(":expected", n(record.version))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld);
        for (k, v) in callback_item(&next)? {
            put = put.item(k, v);
        }
        match put.send().await {
            Ok(out) => {
                let Some(old_item) = out.attributes else {
                    return Ok(next);
                };
                let old = record_of(&old_item)?;
                self.move_number_guard(&old, old_item, &next).await?;
                self.linked.note(&next);
                Ok(next)
            }
            Err(e) if condition_failed(&e) => {
                match self
                    .get_callback_raw(record.tenant_id.as_str(), record.id.as_str())
                    .await?
                {
                    Some(_) => Err(StoreError::Conflict),
                    None => Err(StoreError::NotFound(format!("callback {}", record.id))),
                }
            }
            Err(e) => Err(backend("put callback", e)),
        }
    }

    async fn recent_callbacks(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        self.query_records(
            "received_keys",
            "gsi4pk",
            format!("TENANT#{tenant}#CB"),
            false,
            limit,
        )
        .await
    }

    async fn list_callbacks(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page, StoreError> {
        let t = tenant.as_str();
        let (index, pk_attr, sk_attr, pk) = match query.status {
            Some(status) => (
                "status_due_keys",
                "gsi1pk",
                "gsi1sk",
                format!("TENANT#{t}#STATUS#{}", status.as_str()),
            ),
            None => ("due_keys", "gsi2pk", "gsi2sk", format!("TENANT#{t}#CB")),
        };
        // The cursor's position is a full index key: keyset pagination.
        let start = query.after.as_ref().map(|p| {
            HashMap::from([
                ("pk".to_owned(), s(callback_pk(t, &p.id))),
                ("sk".to_owned(), s("CB")),
                (pk_attr.to_owned(), s(pk.clone())),
                (sk_attr.to_owned(), s(ms_key(p.due_at_ms, &p.id))),
            ])
        });
        let mut entries = Vec::new();
        let mut start = start;
        // One more than asked tells whether another page follows.
        let want = query.limit + 1;
        loop {
            let room = i32::try_from(want - entries.len()).unwrap_or(i32::MAX);
            let (batch, last) = self
                .query(index, pk_attr, pk.clone(), true, Some(room), start)
                .await?;
            entries.extend(batch);
            match last {
                Some(key) if entries.len() < want => start = Some(key),
                _ => break,
            }
        }
        let more = entries.len() > query.limit;
        entries.truncate(query.limit);
        let next = match entries.last() {
            Some(entry) if more => Some(position_of(entry, sk_attr)?),
            _ => None,
        };
        let items = self
            .batch_get(entries.iter().map(primary_key).collect())
            .await?
            .iter()
            .map(record_of)
            // The index lags a change by a moment: a record whose status
            // changed since is left to the list of its new status.
            .filter(|r| {
                r.as_ref().map_or(true, |r| {
                    query.status.is_none_or(|s| r.status == s) && !r.is_expired(self.clock.now())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }

    async fn delete_callback(
        &self,
        tenant: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let (t, id) = (tenant.as_str(), id.as_str());
        let Some(record) = self.get_callback_raw(t, id).await? else {
            return Ok(None);
        };
        // The record goes last: a crash before it leaves the record to
        // delete again, never links or a number guard without it.
        self.unlink_callback(&record).await?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(callback_pk(t, id)))
            .key("sk", s("CB"))
            .send()
            .await
            .map_err(|e| backend("delete callback", e))?;
        Ok(Some(record))
    }

    async fn unlink_callback(&self, record: &CallbackRecord) -> Result<(), StoreError> {
        let (tenant, id) = (&record.tenant_id, record.id.as_str());
        for call in std::iter::once(&record.call_sid).chain(&record.repeat_calls) {
            self.delete_if_points_at(call_pk(tenant, call), "CALL", id)
                .await?;
        }
        if record.is_open() {
            self.release_number(tenant, &record.callback_number, id)
                .await?;
        }
        Ok(())
    }

    /// None to give: listing them would be a scan. The table's TTL deletes
    /// expired records, and the sweeper, fed the stream of those deletions,
    /// deletes their recordings (`calls::retention::removed_from_table`).
    async fn expired_callbacks(&self, _limit: usize) -> Result<Vec<CallbackRecord>, StoreError> {
        Ok(Vec::new())
    }

    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("APIKEY#{}", key.hash)))
            .item("sk", s("APIKEY"))
            .item(
                "doc",
                s(serde_json::to_string(key).map_err(encode("an API key"))?),
            )
            .item("gsi4pk", s(format!("TENANT#{}#APIKEYS", key.tenant_id)))
            .item(
                "gsi4sk",
                s(ms_key(key.created_at.as_millisecond(), &key.id)),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => {
                Err(StoreError::AlreadyExists(format!("api key {}", key.id)))
            }
            Err(e) => Err(backend("put API key", e)),
        }
    }

    async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.get(format!("APIKEY#{hash}"), "APIKEY")
            .await?
            .map(|item| parse(&item, "api key"))
            .transpose()
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let pk = format!("TENANT#{tenant}#APIKEYS");
        self.index_items("received_keys", "gsi4pk", pk, true, None)
            .await?
            .iter()
            .map(|item| parse::<ApiKey>(item, "api key"))
            .collect()
    }

    async fn revoke_api_key(
        &self,
        tenant: &TenantId,
        key_id: &str,
        at: jiff::Timestamp,
    ) -> Result<ApiKey, StoreError> {
        let mut key = self
            .list_api_keys(tenant)
            .await?
            .into_iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| StoreError::NotFound(format!("api key {key_id}")))?;
        if key.revoked_at.is_none() {
            key.revoked_at = Some(at);
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(format!("APIKEY#{}", key.hash)))
                .key("sk", s("APIKEY"))
                .update_expression("SET doc = :doc")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(
                    ":doc",
                    s(serde_json::to_string(&key).map_err(encode("an API key"))?),
                )
                .send()
                .await
                .map_err(|e| backend("update API key", e))?;
        }
        Ok(key)
    }
}

const KEY_RECORD_PK: &str = "META#SECRET_KEY";

#[async_trait]
impl KeyRecordStore for DynamoStore {
    async fn key_record(&self) -> Result<Option<String>, StoreError> {
        let Some(item) = self.get(KEY_RECORD_PK.to_owned(), "META").await? else {
            return Ok(None);
        };
        match item.get("doc") {
            Some(AttributeValue::S(doc)) => Ok(Some(doc.clone())),
            _ => Err(StoreError::Incomplete {
                key: KEY_RECORD_PK.to_owned(),
                problem: "no doc",
            }),
        }
    }

    async fn create_key_record(&self, record: &str) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(KEY_RECORD_PK))
            .item("sk", s("META"))
            .item("doc", s(record))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(backend("put key record", e)),
        }
    }
}

impl DynamoStore {
    /// Writes the tenant if `condition` holds; `refused` names the failure.
    async fn put_tenant(
        &self,
        tenant: &Tenant,
        condition: &str,
        refused: fn(String) -> StoreError,
    ) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(tenant_pk(&tenant.id)))
            .item("sk", s("TENANT"))
            .item(
                "doc",
                s(serde_json::to_string(tenant).map_err(encode("a tenant"))?),
            )
            .condition_expression(condition)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(refused(format!("tenant {}", tenant.id))),
            Err(e) => Err(backend("put tenant", e)),
        }
    }

    /// Writes a new record, then takes its number's guard; if another
    /// open record of the number has it, the new record and its call link
    /// are removed again and that record is answered.
    async fn put_new(&self, record: &CallbackRecord) -> Result<Inserted, StoreError> {
        let inserted = self.put_new_record(record).await?;
        let Inserted::Created(created) = &inserted else {
            return Ok(inserted);
        };
        if !created.is_open() {
            return Ok(inserted);
        }
        let t = &created.tenant_id;
        let Some(open) = self
            .hold_number(t, &created.callback_number, created.id.as_str())
            .await?
        else {
            return Ok(inserted);
        };
        let removed = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(callback_pk(t.as_str(), created.id.as_str())))
            .key("sk", s("CB"))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(created.version))
            .send()
            .await;
        match removed {
            Ok(_) => {}
            // Someone changed it already (joined it): keep it.
            Err(e) if condition_failed(&e) => return Ok(inserted),
            Err(e) => return Err(backend("delete callback", e)),
        }
        self.delete_if_points_at(call_pk(t, &created.call_sid), "CALL", created.id.as_str())
            .await?;
        Ok(Inserted::NumberOpen(open))
    }

    async fn put_new_record(&self, record: &CallbackRecord) -> Result<Inserted, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .condition_expression("attribute_not_exists(pk)");
        for (k, v) in callback_item(record)? {
            put = put.item(k, v);
        }
        match put.send().await {
            Ok(_) => Ok(Inserted::Created(record.clone())),
            Err(e) if condition_failed(&e) => self
                .get_callback_raw(record.tenant_id.as_str(), record.id.as_str())
                .await?
                .map(Inserted::Existing)
                .ok_or_else(|| StoreError::Unreadable(format!("callback {}", record.id))),
            Err(e) => Err(backend("put callback", e)),
        }
    }
}
