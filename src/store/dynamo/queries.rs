//! Reading index partitions in order, and the items a keys-only index
//! names.

use super::DynamoStore;
use super::items::{Item, backend, record_of, s};
use super::table::INDEXES;
use crate::domain::callback::CallbackRecord;
use crate::store::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

impl DynamoStore {
    /// One page of a scan of every callback record's item (the one-off
    /// migrations): its items and where the next page starts, if any.
    pub(super) async fn scan_callbacks(
        &self,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("sk = :cb")
            .expression_attribute_values(":cb", s("CB"))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| backend("scan", e))?;
        let next = out.last_evaluated_key.filter(|key| !key.is_empty());
        Ok((out.items.unwrap_or_default(), next))
    }

    /// Queries one index partition in order, up to `limit` items.
    pub(super) async fn query(
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
    pub(super) async fn index_items(
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

    pub(super) async fn query_records(
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
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        batch_get(&self.client, &self.table, keys).await
    }
}

/// `DynamoStore::batch_get` on a client and table of its own: for requests
/// run as tasks beside each other.
pub(super) async fn batch_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<Vec<Item>, StoreError> {
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
            let out = client
                .batch_get_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| backend("batch get", e))?;
            for item in out
                .responses
                .and_then(|mut r| r.remove(table))
                .unwrap_or_default()
            {
                found.insert(key_pair(&item), item);
            }
            // Keys DynamoDB did not get to (throttling): asked again,
            // after a growing pause.
            match out.unprocessed_keys.and_then(|mut u| u.remove(table)) {
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

/// The table key of an item (or of an index entry, which carries it).
pub(super) fn primary_key(item: &Item) -> Item {
    item.iter()
        .filter(|(k, _)| k.as_str() == "pk" || k.as_str() == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(super) fn key_pair(item: &Item) -> (String, String) {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    };
    (text("pk"), text("sk"))
}
