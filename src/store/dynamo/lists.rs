//! The agents' lists: each order is a walk of one keys-only index partition
//! (two for `Attempts`), reading the records it names by BatchGetItem and
//! keeping those the query keeps. A walk reads at most `MAX_EXAMINED`
//! entries a page, so a selective filter ends a page early rather than
//! reading a tenant's history; the cursor goes on from the last entry read.

use super::DynamoStore;
use super::items::{
    Item, MAX_TRIED, backend, callback_item, callback_pk, condition_failed, ms_key, n, received_pk,
    record_of, s, tail_pk, tried_key, tried_pk,
};
use super::queries::{key_pair, primary_key};
use crate::domain::callback::{CallbackRecord, Status};
use crate::domain::ids::TenantId;
use crate::store::{ListBy, ListPosition, ListQuery, Page, StoreError, attempts_of};
use aws_sdk_dynamodb::types::Select;
use std::collections::HashMap;

/// Index entries a filtered page reads at most (0.5 RRU each for its
/// record): an unfiltered page of 200 reads 201.
const MAX_EXAMINED: usize = 250;
/// BatchGetItem's limit, and so the most entries read at once.
const MAX_CHUNK: usize = 100;

/// One index partition in one direction, its sort key between `from` and
/// `to` (both inclusive) when set.
struct Source {
    index: &'static str,
    pk_attr: &'static str,
    sk_attr: &'static str,
    pk: String,
    forward: bool,
    from: Option<String>,
    to: Option<String>,
    /// How an entry's sort key reads as a list position.
    key: Key,
}

#[derive(Clone, Copy, PartialEq)]
enum Key {
    /// `ms_key`: a time and an id.
    Time,
    /// `tried_key`: attempts, arrival and id.
    Tried,
}

/// What a walk found: the records kept with their entries, the last entry
/// read, and whether the partition has no more.
struct Walked {
    kept: Vec<(CallbackRecord, Item)>,
    last: Option<Item>,
    exhausted: bool,
}

impl Source {
    /// The entry that would sit at `p` (ExclusiveStartKey).
    fn start_at(&self, p: &ListPosition, tenant: &str) -> Item {
        let sk = match self.key {
            Key::Time => ms_key(p.at_ms, &p.id),
            Key::Tried => tried_key(p.attempts, p.at_ms, &p.id),
        };
        HashMap::from([
            ("pk".to_owned(), s(callback_pk(tenant, &p.id))),
            ("sk".to_owned(), s("CB")),
            (self.pk_attr.to_owned(), s(self.pk.clone())),
            (self.sk_attr.to_owned(), s(sk)),
        ])
    }

    /// The list position of an entry of this source.
    fn position(&self, entry: &Item) -> Result<ListPosition, StoreError> {
        let bad = || StoreError::Incomplete {
            key: format!("index entry {:?}", key_pair(entry).0),
            problem: "its sort key is not a list position",
        };
        let Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) = entry.get(self.sk_attr) else {
            return Err(bad());
        };
        let (attempts, rest) = match self.key {
            Key::Time => (0, sk.as_str()),
            Key::Tried => {
                let (left, rest) = sk.split_once('#').ok_or_else(bad)?;
                let left: u32 = left.parse().map_err(|_| bad())?;
                (MAX_TRIED.saturating_sub(left), rest)
            }
        };
        let (ms, id) = rest.split_once('#').ok_or_else(bad)?;
        Ok(ListPosition {
            at_ms: ms.parse().map_err(|_| bad())?,
            attempts,
            id: id.to_owned(),
        })
    }
}

/// The sort keys of due times in `[from, before)`, inclusive bounds for a
/// key condition (`ms_key` orders by the padded time first).
fn due_bounds(from: Option<i64>, before: Option<i64>) -> (Option<String>, Option<String>) {
    (
        from.map(|f| format!("{:015}#", f.max(0))),
        // `~` sorts after every character of an id.
        before.map(|b| format!("{:015}#~", (b - 1).max(0))),
    )
}

impl DynamoStore {
    /// Reads `source` from `start` until `want` records are kept, the
    /// partition ends or `MAX_EXAMINED` entries are read.
    async fn walk(
        &self,
        source: &Source,
        mut start: Option<Item>,
        want: usize,
        selective: bool,
        keep: impl Fn(&CallbackRecord) -> bool,
    ) -> Result<Walked, StoreError> {
        let mut walked = Walked {
            kept: Vec::new(),
            last: None,
            exhausted: false,
        };
        let cap = MAX_EXAMINED.max(want);
        let mut examined = 0;
        let now = self.clock.now();
        while examined < cap {
            let left = want - walked.kept.len();
            // A selective walk reads ahead: most entries will not be kept.
            let chunk = (cap - examined)
                .min(if selective { left.max(MAX_CHUNK) } else { left })
                .min(MAX_CHUNK);
            let (entries, last) = self.query_source(source, chunk, start.take()).await?;
            let records: HashMap<(String, String), CallbackRecord> = self
                .batch_get(entries.iter().map(primary_key).collect())
                .await?
                .iter()
                .map(|item| Ok((key_pair(item), record_of(item)?)))
                .collect::<Result<_, StoreError>>()?;
            for entry in entries {
                examined += 1;
                walked.last = Some(entry.clone());
                // A record gone since the index named it, or changed so
                // that it no longer belongs (the index lags a moment).
                let Some(record) = records.get(&key_pair(&entry)) else {
                    continue;
                };
                if !record.is_expired(now) && keep(record) {
                    walked.kept.push((record.clone(), entry));
                    if walked.kept.len() == want {
                        return Ok(walked);
                    }
                }
            }
            match last {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => {
                    walked.exhausted = true;
                    break;
                }
            }
        }
        Ok(walked)
    }

    async fn query_source(
        &self,
        source: &Source,
        limit: usize,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(source.index)
            .expression_attribute_names("#pk", source.pk_attr)
            .expression_attribute_values(":pk", s(source.pk.clone()))
            .scan_index_forward(source.forward)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        let condition = match (&source.from, &source.to) {
            (None, None) => "#pk = :pk",
            (Some(_), None) => "#pk = :pk AND #sk >= :from",
            (None, Some(_)) => "#pk = :pk AND #sk <= :to",
            (Some(_), Some(_)) => "#pk = :pk AND #sk BETWEEN :from AND :to",
        };
        if source.from.is_some() || source.to.is_some() {
            query = query.expression_attribute_names("#sk", source.sk_attr);
        }
        if let Some(from) = &source.from {
            query = query.expression_attribute_values(":from", s(from.clone()));
        }
        if let Some(to) = &source.to {
            query = query.expression_attribute_values(":to", s(to.clone()));
        }
        let out = query
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(|e| backend("query", e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    pub(super) async fn list(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page, StoreError> {
        let t = tenant.as_str();
        let want = query.limit + 1;
        // A due filter on a due order is the key condition itself; every
        // other filter reads records the query may not keep.
        let due_keyed = matches!(query.by, ListBy::Due | ListBy::DueDesc);
        let (from, to) = match query.filter.due {
            Some(d) if due_keyed => due_bounds(d.from, d.before),
            _ => (None, None),
        };
        let filtered = query.filter.reason.is_some()
            || query.filter.repeat
            || (query.filter.due.is_some() && (!due_keyed || query.status.is_none()));
        let source = |index, pk_attr, sk_attr, pk, forward, key| Source {
            index,
            pk_attr,
            sk_attr,
            pk,
            forward,
            from: from.clone(),
            to: to.clone(),
            key,
        };
        let open = received_pk(t, true);
        let (first, then) = match &query.by {
            ListBy::Due | ListBy::DueDesc => {
                let forward = query.by == ListBy::Due;
                let by_due = match query.status {
                    Some(status) => source(
                        "status_due_keys",
                        "gsi1pk",
                        "gsi1sk",
                        format!("TENANT#{t}#STATUS#{}", status.as_str()),
                        forward,
                        Key::Time,
                    ),
                    None => source(
                        "due_keys",
                        "gsi2pk",
                        "gsi2sk",
                        format!("TENANT#{t}#CB"),
                        forward,
                        Key::Time,
                    ),
                };
                (by_due, None)
            }
            ListBy::Received => (
                source("received_keys", "gsi4pk", "gsi4sk", open, true, Key::Time),
                None,
            ),
            ListBy::Number(search) => (
                source(
                    "number_tail_keys",
                    "gsi5pk",
                    "gsi4sk",
                    tail_pk(t, search.tail()),
                    false,
                    Key::Time,
                ),
                None,
            ),
            // The tried records, most attempts first; then the others,
            // oldest call first.
            ListBy::Attempts => (
                source(
                    "tried_keys",
                    "gsi6pk",
                    "gsi6sk",
                    tried_pk(t),
                    true,
                    Key::Tried,
                ),
                Some(source(
                    "received_keys",
                    "gsi4pk",
                    "gsi4sk",
                    open,
                    true,
                    Key::Time,
                )),
            ),
        };
        // Whether the partition holds records the query may not keep: other
        // open statuses, other numbers ending alike, untried or tried.
        let selective = filtered
            || match query.by {
                ListBy::Due | ListBy::DueDesc => false,
                ListBy::Received => query.status.is_some(),
                ListBy::Number(_) | ListBy::Attempts => true,
            };
        // A cursor with no attempts is past the tried records.
        let in_first = query
            .after
            .as_ref()
            .is_none_or(|p| query.by != ListBy::Attempts || p.attempts > 0);
        let mut kept = Vec::new();
        let mut stopped: Option<(&Source, Item)> = None;
        let mut exhausted = true;
        if in_first {
            let start = query.after.as_ref().map(|p| first.start_at(p, t));
            let walked = self
                .walk(&first, start, want, selective, |r| {
                    query.keeps(r) && (query.by != ListBy::Attempts || attempts_of(r) > 0)
                })
                .await?;
            kept.extend(walked.kept.into_iter().map(|(r, e)| (r, e, &first)));
            exhausted = walked.exhausted;
            if let Some(last) = walked.last {
                stopped = Some((&first, last));
            }
        }
        if let Some(then) = &then
            && exhausted
            && kept.len() < want
        {
            let start = match &query.after {
                Some(p) if !in_first => Some(then.start_at(p, t)),
                _ => None,
            };
            let walked = self
                .walk(then, start, want - kept.len(), selective, |r| {
                    query.keeps(r) && attempts_of(r) == 0
                })
                .await?;
            kept.extend(walked.kept.into_iter().map(|(r, e)| (r, e, then)));
            exhausted = walked.exhausted;
            if let Some(last) = walked.last {
                stopped = Some((then, last));
            }
        }
        let more = kept.len() > query.limit;
        kept.truncate(query.limit);
        let next = match kept.last() {
            Some((_, entry, source)) if more => Some(source.position(entry)?),
            _ if exhausted => None,
            // The walk stopped reading: go on after the last entry read.
            _ => match stopped {
                Some((source, entry)) => Some(source.position(&entry)?),
                None => query.after.clone(),
            },
        };
        Ok(Page {
            items: kept.into_iter().map(|(r, _, _)| r).collect(),
            next,
        })
    }

    /// Counts a status's index entries (due before `due_before`), up to
    /// `cap`: keys only, 0.5 RRU per 4 KB of them (about 25 entries).
    pub(super) async fn count(
        &self,
        tenant: &TenantId,
        status: Status,
        due_before: Option<i64>,
        cap: usize,
    ) -> Result<usize, StoreError> {
        let (_, to) = due_bounds(None, due_before);
        let source = Source {
            index: "status_due_keys",
            pk_attr: "gsi1pk",
            sk_attr: "gsi1sk",
            pk: format!("TENANT#{tenant}#STATUS#{}", status.as_str()),
            forward: true,
            from: None,
            to,
            key: Key::Time,
        };
        let mut counted = 0;
        let mut start = None;
        while counted < cap {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(source.index)
                .select(Select::Count)
                .expression_attribute_names("#pk", source.pk_attr)
                .expression_attribute_values(":pk", s(source.pk.clone()))
                .limit(i32::try_from(cap - counted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            query = match &source.to {
                Some(to) => query
                    .key_condition_expression("#pk = :pk AND #sk <= :to")
                    .expression_attribute_names("#sk", source.sk_attr)
                    .expression_attribute_values(":to", s(to.clone())),
                None => query.key_condition_expression("#pk = :pk"),
            };
            let out = query.send().await.map_err(|e| backend("count", e))?;
            counted += usize::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(counted.min(cap))
    }

    /// The tenant's newest records, open and closed merged.
    pub(super) async fn recent(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        let t = tenant.as_str();
        let mut records = Vec::new();
        for open in [true, false] {
            records.extend(
                self.query_records(
                    "received_keys",
                    "gsi4pk",
                    received_pk(t, open),
                    false,
                    limit,
                )
                .await?,
            );
        }
        records.sort_by(|a, b| (b.received_at, b.id.as_str()).cmp(&(a.received_at, a.id.as_str())));
        records.truncate(limit);
        Ok(records)
    }
}

/// The attributes of the list orders added with the number search.
const LIST_KEYS: [&str; 4] = ["gsi4pk", "gsi5pk", "gsi6pk", "gsi6sk"];

impl DynamoStore {
    /// One-off for a table written before the number search and the open
    /// orders (docs/dynamodb.md, "Moving a deployment"): every record gets
    /// the list keys its item has now (`received_keys` by open or closed,
    /// `number_tail_keys`, `tried_keys`); returns how many changed. A
    /// record changed meanwhile is left to its writer, which writes them.
    /// Running it again changes nothing.
    pub async fn migrate_list_keys(&self) -> Result<usize, StoreError> {
        let mut rekeyed = 0;
        let mut start = None;
        loop {
            let (items, next) = self.scan_callbacks(start).await?;
            for item in items {
                let record = record_of(&item)?;
                let wanted = callback_item(&record)?;
                let mut set = Vec::new();
                let mut remove = Vec::new();
                let mut values = HashMap::new();
                for (n, attr) in LIST_KEYS.into_iter().enumerate() {
                    match (wanted.get(attr), item.get(attr)) {
                        (Some(want), have) if have != Some(want) => {
                            set.push(format!("{attr} = :k{n}"));
                            values.insert(format!(":k{n}"), want.clone());
                        }
                        (None, Some(_)) => remove.push(attr),
                        _ => {}
                    }
                }
                if set.is_empty() && remove.is_empty() {
                    continue;
                }
                let mut expression = String::new();
                if !set.is_empty() {
                    expression = format!("SET {}", set.join(", "));
                }
                if !remove.is_empty() {
                    expression = format!("{expression} REMOVE {}", remove.join(", "));
                }
                values.insert(":v".to_owned(), n(record.version));
                let updated = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(
                        "pk",
                        s(callback_pk(record.tenant_id.as_str(), record.id.as_str())),
                    )
                    .key("sk", s("CB"))
                    .update_expression(expression.trim())
                    .condition_expression("version = :v")
                    .set_expression_attribute_values(Some(values))
                    .send()
                    .await;
                match updated {
                    Ok(_) => rekeyed += 1,
                    Err(e) if condition_failed(&e) => {}
                    Err(e) => return Err(backend("update callback", e)),
                }
            }
            match next {
                Some(key) => start = Some(key),
                None => return Ok(rekeyed),
            }
        }
    }
}
