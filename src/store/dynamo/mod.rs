//! The AWS store: one DynamoDB table. Keys (see docs/dynamodb.md):
//! - tenant `TENANT#{t}` / `TENANT`
//! - callback `TENANT#{t}#CB#{id}` / `CB` (its own partition: writes spread)
//! - call link `TENANT#{t}#CALL#{CallSid}` / `CALL` → callback id (idempotency)
//! - open number `TENANT#{t}#OPEN#{E.164}` / `OPEN` → its one open record
//! - API key `APIKEY#{hash}` / `APIKEY`
//! - the key record of sealed secrets `META#SECRET_KEY` / `META`
//! - idempotency key `TENANT#{t}#IDEM#{actor}#{key}` / `IDEM` (see `idempotency`)
//! - agents and sessions: see `agents`
//!
//! GSIs, keys only (lists read the records by BatchGetItem):
//! `status_due_keys` (a status's list, due order), `due_keys` (all
//! statuses), `open_number_keys` (sparse: open records of a number),
//! `received_keys` (newest first; also API keys and agents by tenant).
//! No transactions are needed: every write is one conditional put.

mod agents;
mod audit;
mod call_links;
mod idempotency;
mod items;
mod lists;
mod open_numbers;
mod queries;
mod received;
mod table;
mod writes;

pub use open_numbers::NumberMigration;
pub use table::{INDEXES, Index, create_table};

use items::{
    Item, backend, call_pk, callback_item, callback_pk, condition_failed, encode, ms_key, n,
    open_pk, parse, record_of, s, tenant_pk,
};

use super::key_record::KeyRecordStore;
use super::{
    ApiKeyStore, CallbackStore, Inserted, ListQuery, Page, ReceivedPage, ReceivedQuery, StoreError,
    TenantStore,
};
use crate::clock::{Clock, SystemClock};
use crate::domain::api_key::ApiKey;
use crate::domain::callback::{CallbackRecord, Status};
use crate::domain::ids::{CallSid, CallbackId, TenantId};
use crate::domain::phone::E164;
use crate::domain::tenant::Tenant;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use call_links::LinkedCalls;
use queries::key_pair;
use std::sync::Arc;

pub struct DynamoStore {
    client: Client,
    table: String,
    /// Decides what has expired: TTL deletes late, so every read filters.
    clock: Arc<dyn Clock>,
    linked: LinkedCalls,
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
}

#[async_trait]
impl TenantStore for DynamoStore {
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
}

#[async_trait]
impl CallbackStore for DynamoStore {
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
        self.recent(tenant, limit).await
    }

    async fn list_callbacks(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page, StoreError> {
        self.list(tenant, query).await
    }

    async fn count_callbacks(
        &self,
        tenant: &TenantId,
        status: Status,
        due_before: Option<i64>,
        cap: usize,
    ) -> Result<usize, StoreError> {
        self.count(tenant, status, due_before, cap).await
    }

    async fn received_callbacks(
        &self,
        tenant: &TenantId,
        query: &ReceivedQuery,
    ) -> Result<ReceivedPage, StoreError> {
        self.received_page(tenant, query).await
    }

    async fn count_received(
        &self,
        tenant: &TenantId,
        from: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<usize, StoreError> {
        self.count_received_keys(tenant, from, until).await
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
        for call in std::iter::once(&record.call_sid).chain(record.repeat_call_sids()) {
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
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
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
