//! A meter on the SDK clients: counts the requests of each operation and
//! computes the capacity units DynamoDB bills for them. The local stand-ins
//! do not report index units (dynalite reports the table's, moto a constant),
//! so the meter prices every request itself, by DynamoDB's published rules:
//! - a write: 1 WRU per started KB of the larger of the item before and
//!   after, at least 1; a failed condition bills the item as it is;
//! - each GSI whose entry the write adds or removes: 1 WRU per started KB of
//!   the entry (its keys and projected attributes); a changed index key is a
//!   delete and a put; an entry left as it was costs nothing;
//! - a read: 1 RRU per started 4 KB (GetItem per item, Query summed over
//!   what it returns, BatchGetItem per item), half for eventual consistency.
//!
//! Before/after item images come from a shadow copy of the table that the
//! meter keeps from the writes it sees, so the table must be new and written
//! only through the metered client.

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, ProjectionType, ReturnConsumedCapacity, ReturnValue,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

type Item = HashMap<String, AttributeValue>;

/// One GSI as the table describes it.
#[derive(Debug, Clone)]
pub struct Index {
    pub name: String,
    pub pk: String,
    pub sk: String,
    /// `None`: every attribute (ALL); else the non-key attributes kept.
    pub projected: Option<Vec<String>>,
}

/// What a period of requests cost.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Usage {
    /// `DynamoDB.PutItem`, `S3.PutObject`, …
    pub requests: BTreeMap<String, u32>,
    pub table_wru: f64,
    pub index_wru: BTreeMap<String, f64>,
    pub rru: f64,
    /// What the server said the table's writes cost (dynalite computes it).
    pub reported_table_wru: f64,
    /// The meter's own figure for the same successful writes.
    pub successful_table_wru: f64,
}

impl Usage {
    pub fn wru(&self) -> f64 {
        self.table_wru + self.index_wru.values().sum::<f64>()
    }

    pub fn count(&self, service: &str) -> u32 {
        self.requests
            .iter()
            .filter(|(op, _)| op.starts_with(&format!("{service}.")))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn add(&mut self, other: &Usage) {
        for (op, n) in &other.requests {
            *self.requests.entry(op.clone()).or_default() += n;
        }
        self.table_wru += other.table_wru;
        for (index, wru) in &other.index_wru {
            *self.index_wru.entry(index.clone()).or_default() += wru;
        }
        self.rru += other.rru;
        self.reported_table_wru += other.reported_table_wru;
        self.successful_table_wru += other.successful_table_wru;
    }
}

#[derive(Default)]
struct State {
    indexes: Vec<Index>,
    usage: Usage,
    shadow: HashMap<(String, String), Item>,
}

#[derive(Clone, Default)]
pub struct Meter(Arc<Mutex<State>>);

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Meter")
    }
}

impl Meter {
    /// Reads the table's GSIs (their keys and projections).
    pub async fn learn_table(&self, client: &aws_sdk_dynamodb::Client, table: &str) {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .expect("describe table")
            .table
            .expect("a table");
        let indexes = described
            .global_secondary_indexes()
            .iter()
            .map(|gsi| {
                let key = |kind: &str| {
                    gsi.key_schema()
                        .iter()
                        .find(|k| k.key_type().as_str() == kind)
                        .map(|k| k.attribute_name().to_owned())
                        .expect("index key")
                };
                let projection = gsi.projection().expect("a projection");
                let projected = match projection.projection_type() {
                    Some(ProjectionType::All) => None,
                    Some(ProjectionType::KeysOnly) => Some(Vec::new()),
                    _ => Some(projection.non_key_attributes().to_vec()),
                };
                Index {
                    name: gsi.index_name().expect("index name").to_owned(),
                    pk: key("HASH"),
                    sk: key("RANGE"),
                    projected,
                }
            })
            .collect();
        self.0.lock().unwrap().indexes = indexes;
    }

    /// What was used since the last call; starts a new period.
    pub fn take(&self) -> Usage {
        std::mem::take(&mut self.0.lock().unwrap().usage)
    }
}

/// The request as sent, kept until its answer comes.
#[derive(Debug)]
enum Sent {
    Put(PutItemInput),
    Update(UpdateItemInput),
    Delete(DeleteItemInput),
    Get(GetItemInput),
    Query(QueryInput),
    BatchGet(BatchGetItemInput),
    Other,
}

impl Storable for Sent {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "test meter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        let indexes = Some(ReturnConsumedCapacity::Indexes);
        let sent = if let Some(i) = input.downcast_mut::<PutItemInput>() {
            i.return_consumed_capacity = indexes;
            Sent::Put(i.clone())
        } else if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
            i.return_consumed_capacity = indexes;
            // The item after the update, for the shadow copy.
            assert!(
                matches!(i.return_values, None | Some(ReturnValue::AllNew)),
                "the meter needs ALL_NEW from UpdateItem"
            );
            i.return_values = Some(ReturnValue::AllNew);
            Sent::Update(i.clone())
        } else if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
            i.return_consumed_capacity = indexes;
            Sent::Delete(i.clone())
        } else if let Some(i) = input.downcast_mut::<GetItemInput>() {
            Sent::Get(i.clone())
        } else if let Some(i) = input.downcast_mut::<QueryInput>() {
            Sent::Query(i.clone())
        } else if let Some(i) = input.downcast_mut::<BatchGetItemInput>() {
            Sent::BatchGet(i.clone())
        } else {
            Sent::Other
        };
        cfg.interceptor_state().store_put(sent);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg.load::<Metadata>().expect("operation metadata");
        let op = format!("{}.{}", service_name(metadata.service()), metadata.name());
        let mut state = self.0.lock().unwrap();
        *state.usage.requests.entry(op).or_default() += 1;
        let Some(sent) = cfg.load::<Sent>() else {
            return Ok(());
        };
        let Some(outcome) = context.output_or_error() else {
            return Ok(());
        };
        let output = outcome.ok();
        state.price(sent, output);
        Ok(())
    }
}

fn service_name(service: &str) -> &str {
    match service {
        "dynamodb" | "DynamoDB" => "DynamoDB",
        "s3" | "S3" => "S3",
        other => other,
    }
}

fn key_of(item: &Item) -> (String, String) {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => panic!("item without {name}"),
    };
    (text("pk"), text("sk"))
}

/// DynamoDB's item size: attribute names and values, in bytes.
pub fn size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => {
            let digits = n.trim_start_matches(['-', '0']).replace('.', "");
            1 + digits.len().div_ceil(2)
        }
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
        other => panic!("the meter does not size {other:?}"),
    }
}

fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

fn reported(capacity: Option<&ConsumedCapacity>) -> f64 {
    capacity
        .and_then(|c| {
            c.table()
                .and_then(|t| t.capacity_units())
                .or(c.capacity_units())
        })
        .unwrap_or(0.0)
}

impl State {
    /// An item's entry in `index`: its keys and projected attributes, if
    /// the item has the index's keys.
    fn entry(index: &Index, item: &Item) -> Option<Item> {
        let has = |name: &str| matches!(item.get(name), Some(AttributeValue::S(_)));
        if !has(&index.pk) || !has(&index.sk) {
            return None;
        }
        Some(
            item.iter()
                .filter(|(k, _)| {
                    let k = k.as_str();
                    ["pk", "sk", index.pk.as_str(), index.sk.as_str()].contains(&k)
                        || index
                            .projected
                            .as_ref()
                            .is_none_or(|p| p.iter().any(|a| a == k))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    fn price_write(&mut self, old: Option<Item>, new: Option<Item>) {
        let bytes = old
            .as_ref()
            .map_or(0, size)
            .max(new.as_ref().map_or(0, size));
        let units = write_units(bytes);
        self.usage.table_wru += units;
        self.usage.successful_table_wru += units;
        for index in self.indexes.clone() {
            let before = old.as_ref().and_then(|i| Self::entry(&index, i));
            let after = new.as_ref().and_then(|i| Self::entry(&index, i));
            let units = match (&before, &after) {
                (None, None) => 0.0,
                (Some(e), None) | (None, Some(e)) => write_units(size(e)),
                (Some(b), Some(a)) if b == a => 0.0,
                (Some(b), Some(a))
                    if b.get(&index.pk) != a.get(&index.pk)
                        || b.get(&index.sk) != a.get(&index.sk) =>
                {
                    write_units(size(b)) + write_units(size(a))
                }
                (Some(b), Some(a)) => write_units(size(b).max(size(a))),
            };
            if units > 0.0 {
                *self.usage.index_wru.entry(index.name.clone()).or_default() += units;
            }
        }
    }

    fn price(
        &mut self,
        sent: &Sent,
        output: Option<&aws_smithy_runtime_api::client::interceptors::context::Output>,
    ) {
        match sent {
            Sent::Put(i) => {
                let new = i.item.clone().expect("an item");
                let key = key_of(&new);
                match output.and_then(|o| o.downcast_ref::<PutItemOutput>()) {
                    Some(out) => {
                        self.usage.reported_table_wru += reported(out.consumed_capacity());
                        let old = self.shadow.insert(key, new.clone());
                        self.price_write(old, Some(new));
                    }
                    None => self.failed_write(&key),
                }
            }
            Sent::Update(i) => {
                let key = key_of(i.key.as_ref().expect("a key"));
                match output.and_then(|o| o.downcast_ref::<UpdateItemOutput>()) {
                    Some(out) => {
                        self.usage.reported_table_wru += reported(out.consumed_capacity());
                        let new = out.attributes.clone().expect("ALL_NEW");
                        let old = self.shadow.insert(key, new.clone());
                        self.price_write(old, Some(new));
                    }
                    None => self.failed_write(&key),
                }
            }
            Sent::Delete(i) => {
                let key = key_of(i.key.as_ref().expect("a key"));
                match output.and_then(|o| o.downcast_ref::<DeleteItemOutput>()) {
                    Some(out) => {
                        self.usage.reported_table_wru += reported(out.consumed_capacity());
                        let old = self.shadow.remove(&key);
                        self.price_write(old, None);
                    }
                    None => self.failed_write(&key),
                }
            }
            Sent::Get(i) => {
                let consistent = i.consistent_read == Some(true);
                let bytes = output
                    .and_then(|o| o.downcast_ref::<GetItemOutput>())
                    .and_then(|o| o.item.as_ref())
                    .map_or(0, size);
                self.usage.rru += read_units(bytes, consistent);
            }
            Sent::Query(i) => {
                let consistent = i.consistent_read == Some(true);
                let bytes = output
                    .and_then(|o| o.downcast_ref::<QueryOutput>())
                    .map_or(0, |o| o.items().iter().map(size).sum());
                self.usage.rru += read_units(bytes, consistent);
            }
            Sent::BatchGet(i) => {
                let consistent: HashMap<&String, bool> = i
                    .request_items
                    .iter()
                    .flatten()
                    .map(|(t, k)| (t, k.consistent_read() == Some(true)))
                    .collect();
                if let Some(out) = output.and_then(|o| o.downcast_ref::<BatchGetItemOutput>()) {
                    for (table, items) in out.responses.iter().flatten() {
                        let consistent = consistent.get(table).copied().unwrap_or(false);
                        for item in items {
                            self.usage.rru += read_units(size(item), consistent);
                        }
                    }
                }
            }
            Sent::Other => {}
        }
    }

    /// A refused conditional write bills the item as it stands.
    fn failed_write(&mut self, key: &(String, String)) {
        self.usage.table_wru += write_units(self.shadow.get(key).map_or(0, size));
    }
}

/// The usage of each step as a Markdown table.
pub fn table(steps: &[(&str, Usage)]) -> String {
    let mut out = String::from(
        "| step | DynamoDB requests | S3 requests | WRU table | WRU indexes | RRU |\n|---|---|---|---|---|---|\n",
    );
    let mut total = Usage::default();
    let describe = |u: &Usage| {
        let ops: Vec<String> = u
            .requests
            .iter()
            .filter(|(op, _)| op.starts_with("DynamoDB."))
            .map(|(op, n)| format!("{n} {}", op.trim_start_matches("DynamoDB.")))
            .collect();
        let index: Vec<String> = u
            .index_wru
            .iter()
            .map(|(i, w)| format!("{i} {w}"))
            .collect();
        format!(
            "{} ({}) | {} | {} | {} ({}) | {} |",
            u.count("DynamoDB"),
            ops.join(", "),
            u.count("S3"),
            u.table_wru,
            u.wru() - u.table_wru,
            index.join(", "),
            u.rru
        )
    };
    for (step, usage) in steps {
        out.push_str(&format!("| {step} | {}\n", describe(usage)));
        total.add(usage);
    }
    out.push_str(&format!("| whole call | {}\n", describe(&total)));
    out
}
