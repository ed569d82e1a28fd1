//! A tenant's records by arrival, for a period only: a Query on
//! `received_keys` bounded by the period's first and last millisecond,
//! then the records by BatchGetItem, several requests at once
//! (docs/dynamodb.md, "Service-level figures").

use super::DynamoStore;
use super::items::{Item, backend, callback_pk, ms_key, received_pk, record_of, s};
use super::queries::{batch_get, key_pair, primary_key};
use crate::domain::ids::TenantId;
use crate::store::{ReceivedPage, ReceivedPosition, ReceivedQuery, StoreError};
use aws_sdk_dynamodb::types::Select;
use jiff::Timestamp;
use std::collections::HashMap;

const INDEX: &str = "received_keys";

/// BatchGetItem requests of one page in flight together.
const PARALLEL_GETS: usize = 4;
/// Keys per BatchGetItem (DynamoDB's limit).
const KEYS_PER_GET: usize = 100;

/// The index has two partitions a tenant: open records and closed ones
/// (`received_pk`); a period is read from both, merged in order.
fn partitions(tenant: &TenantId) -> [String; 2] {
    [true, false].map(|open| received_pk(tenant.as_str(), open))
}

fn sort_key(entry: &Item) -> &str {
    match entry.get("gsi4sk") {
        Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) => sk,
        _ => "",
    }
}

/// `gsi4sk` is `{ms:015}#{id}`: every key of a millisecond in
/// `[from, until)` sorts from `{from:015}` up to, not including,
/// `{until:015}`.
fn bounds(from: Timestamp, until: Timestamp) -> (String, String) {
    let key = |ms: i64| format!("{:015}", ms.max(0));
    (key(from.as_millisecond()), key(until.as_millisecond()))
}

/// Where a page ends: the received time and id in an entry's `gsi4sk`.
fn position_of(entry: &Item) -> Result<ReceivedPosition, StoreError> {
    let bad = || StoreError::Incomplete {
        key: format!("index entry {:?}", key_pair(entry).0),
        problem: "its sort key is not a time and an id",
    };
    let Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) = entry.get("gsi4sk") else {
        return Err(bad());
    };
    let (ms, id) = sk.split_once('#').ok_or_else(bad)?;
    Ok(ReceivedPosition {
        received_at_ms: ms.parse().map_err(|_| bad())?,
        id: id.to_owned(),
    })
}

impl DynamoStore {
    /// One Query of the period's index entries, in order.
    async fn received_keys(
        &self,
        partition: &str,
        from: Timestamp,
        until: Timestamp,
        limit: Option<i32>,
        select: Option<Select>,
        start: Option<Item>,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput, StoreError> {
        let (low, high) = bounds(from, until);
        self.client
            .query()
            .table_name(&self.table)
            .index_name(INDEX)
            // BETWEEN includes `high`, which no key equals: every key has
            // `#id` after its 15 digits.
            .key_condition_expression("gsi4pk = :pk AND gsi4sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .set_limit(limit)
            .set_select(select)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| backend("query received", e))
    }

    pub(super) async fn received_page(
        &self,
        tenant: &TenantId,
        query: &ReceivedQuery,
    ) -> Result<ReceivedPage, StoreError> {
        let mut entries = Vec::new();
        // One more than asked tells whether another page follows.
        let want = query.limit + 1;
        for partition in partitions(tenant) {
            let mut start = query.after.as_ref().map(|p| {
                HashMap::from([
                    ("pk".to_owned(), s(callback_pk(tenant.as_str(), &p.id))),
                    ("sk".to_owned(), s("CB")),
                    ("gsi4pk".to_owned(), s(partition.clone())),
                    ("gsi4sk".to_owned(), s(ms_key(p.received_at_ms, &p.id))),
                ])
            });
            let mut found = Vec::new();
            loop {
                let room = i32::try_from(want - found.len()).unwrap_or(i32::MAX);
                let out = self
                    .received_keys(&partition, query.from, query.until, Some(room), None, start)
                    .await?;
                found.extend(out.items.unwrap_or_default());
                match out.last_evaluated_key {
                    Some(key) if found.len() < want => start = Some(key),
                    _ => break,
                }
            }
            entries.extend(found);
        }
        entries.sort_by(|a, b| sort_key(a).cmp(sort_key(b)));
        let more = entries.len() > query.limit;
        entries.truncate(query.limit);
        let next = match entries.last() {
            Some(entry) if more => Some(position_of(entry)?),
            _ => None,
        };
        let keys: Vec<Item> = entries.iter().map(primary_key).collect();
        let mut items = Vec::with_capacity(keys.len());
        for wave in keys.chunks(PARALLEL_GETS * KEYS_PER_GET) {
            let mut gets = tokio::task::JoinSet::new();
            for (n, chunk) in wave.chunks(KEYS_PER_GET).enumerate() {
                let (client, table, chunk) =
                    (self.client.clone(), self.table.clone(), chunk.to_vec());
                gets.spawn(async move { (n, batch_get(&client, &table, chunk).await) });
            }
            let mut got = Vec::new();
            while let Some(done) = gets.join_next().await {
                let (n, found) = done.map_err(|e| backend("batch get", e))?;
                got.push((n, found?));
            }
            got.sort_by_key(|(n, _)| *n);
            items.extend(got.into_iter().flat_map(|(_, found)| found));
        }
        let records = items
            .iter()
            .map(record_of)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            // Expired records the TTL has not deleted yet are left out.
            .filter_map(|r| self.live(r))
            .collect();
        Ok(ReceivedPage {
            items: records,
            next,
        })
    }

    /// Counts the period's index entries: keys only, no record is read.
    pub(super) async fn count_received_keys(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut count = 0;
        for partition in partitions(tenant) {
            let mut start = None;
            loop {
                let out = self
                    .received_keys(&partition, from, until, None, Some(Select::Count), start)
                    .await?;
                count += usize::try_from(out.count).unwrap_or(0);
                match out.last_evaluated_key {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_hold_every_key_of_the_period_and_no_other() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let (low, high) = bounds(at("2026-12-01T00:00:00Z"), at("2026-12-02T00:00:00Z"));
        let id = "01938f2e-0000-7000-8000-000000000001";
        let inside = [
            ms_key(at("2026-12-01T00:00:00Z").as_millisecond(), id),
            ms_key(at("2026-12-01T23:59:59.999Z").as_millisecond(), id),
        ];
        for key in inside {
            assert!(low <= key && key <= high, "{key}");
        }
        let outside = [
            ms_key(at("2026-11-30T23:59:59.999Z").as_millisecond(), id),
            ms_key(at("2026-12-02T00:00:00Z").as_millisecond(), id),
        ];
        for key in outside {
            assert!(key < low || key > high, "{key}");
        }
    }
}
