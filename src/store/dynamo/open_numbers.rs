//! One open record per number: the `TENANT#{t}#OPEN#{E.164}` guard item
//! names the open record of a number, and is moved or released as records
//! open, change number and close.

use super::DynamoStore;
use super::items::{Item, backend, condition_failed, ms_key, n, open_pk, record_of, s};
use crate::domain::callback::CallbackRecord;
use crate::domain::ids::TenantId;
use crate::domain::phone::E164;
use crate::store::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;

impl DynamoStore {
    /// Makes record `id` the open record of `number`, unless another open
    /// record of that number holds it: then returns that record. A guard
    /// whose record closed or moved to another number (a crash between the
    /// two writes) is taken over.
    pub(super) async fn hold_number(
        &self,
        t: &TenantId,
        number: &E164,
        id: &str,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let mut condition = (
            "attribute_not_exists(pk) OR callback_id = :id",
            id.to_owned(),
        );
        for _ in 0..8 {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(open_pk(t, number)))
                .item("sk", s("OPEN"))
                .item("callback_id", s(id))
                .condition_expression(condition.0)
                .expression_attribute_values(":id", s(&condition.1))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(None),
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(backend("put open number", e)),
            }
            let Some(holder) = self
                .get(open_pk(t, number), "OPEN")
                .await?
                .and_then(|item| match item.get("callback_id") {
                    Some(AttributeValue::S(id)) => Some(id.clone()),
                    _ => None,
                })
            else {
                condition = (
                    "attribute_not_exists(pk) OR callback_id = :id",
                    id.to_owned(),
                );
                continue;
            };
            match self.get_callback_raw(t.as_str(), &holder).await? {
                Some(open) if open.is_open() && &open.callback_number == number => {
                    return Ok(Some(open));
                }
                _ => condition = ("callback_id = :id", holder),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Frees `number` if record `id` holds it.
    pub(super) async fn release_number(
        &self,
        t: &TenantId,
        number: &E164,
        id: &str,
    ) -> Result<(), StoreError> {
        self.delete_if_points_at(open_pk(t, number), "OPEN", id)
            .await
    }

    /// Deletes a guard or call link that still points at callback `id`.
    pub(super) async fn delete_if_points_at(
        &self,
        pk: String,
        sk: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("callback_id = :id")
            .expression_attribute_values(":id", s(id))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(backend("delete guard", e)),
        }
    }

    /// After `old` became `next`: the open record of a number holds its
    /// guard. The record is written first, so a guard always names a record
    /// that had the number; if another open record holds the new number,
    /// `old` is put back and the change refused.
    pub(super) async fn move_number_guard(
        &self,
        old: &CallbackRecord,
        old_item: Item,
        next: &CallbackRecord,
    ) -> Result<(), StoreError> {
        let t = &next.tenant_id;
        let id = next.id.as_str();
        let moved = old.callback_number != next.callback_number;
        if next.is_open()
            && (moved || !old.is_open())
            && self
                .hold_number(t, &next.callback_number, id)
                .await?
                .is_some()
        {
            let revert = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(old_item))
                .condition_expression("version = :written")
                .expression_attribute_values(":written", n(next.version))
                .send()
                .await;
            return match revert {
                Ok(_) => Err(StoreError::OpenNumberTaken),
                Err(e) if condition_failed(&e) => Err(StoreError::Conflict),
                Err(e) => Err(backend("put callback back", e)),
            };
        }
        if old.is_open() && (moved || !next.is_open()) {
            self.release_number(t, &old.callback_number, id).await?;
        }
        Ok(())
    }
}

/// What `migrate_open_numbers` changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NumberMigration {
    /// Open records given their key in `open_number_keys`.
    pub indexed: usize,
    /// Closed records whose number key (of the old `by_number`) was removed.
    pub unindexed: usize,
    /// Open records that hold their number's guard.
    pub guarded: usize,
    /// Open records of a number an older open record holds (two open
    /// records of one number from before the guard): left as they are.
    pub shared: usize,
}

impl DynamoStore {
    /// One-off for a table written before the sparse number index and the
    /// open-number guard (docs/dynamodb.md, "Moving a deployment"): every
    /// open record gets its `open_number_keys` key and holds its number's
    /// guard, oldest first; closed records lose the old number key. A record
    /// changed meanwhile is left to its writer, which writes both. Running
    /// it again changes nothing.
    pub async fn migrate_open_numbers(&self) -> Result<NumberMigration, StoreError> {
        let mut report = NumberMigration::default();
        let mut open = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.scan_callbacks(start).await?;
            for item in items {
                let record = record_of(&item)?;
                let key = match item.get("gsi3pk") {
                    Some(AttributeValue::S(key)) => Some(key.as_str()),
                    _ => None,
                };
                let wanted = open_pk(&record.tenant_id, &record.callback_number);
                let update = if record.is_open() && key != Some(wanted.as_str()) {
                    report.indexed += 1;
                    Some((
                        "SET gsi3pk = :pk, gsi3sk = :sk",
                        Some((
                            wanted,
                            ms_key(record.received_at.as_millisecond(), record.id.as_str()),
                        )),
                    ))
                } else if !record.is_open() && key.is_some() {
                    report.unindexed += 1;
                    Some(("REMOVE gsi3pk, gsi3sk", None))
                } else {
                    None
                };
                if let Some((expression, keys)) = update {
                    let mut request = self
                        .client
                        .update_item()
                        .table_name(&self.table)
                        .key("pk", item.get("pk").cloned().unwrap_or_else(|| s("")))
                        .key("sk", s("CB"))
                        .update_expression(expression)
                        .condition_expression("version = :v")
                        .expression_attribute_values(":v", n(record.version));
                    if let Some((pk, sk)) = keys {
                        request = request
                            .expression_attribute_values(":pk", s(pk))
                            .expression_attribute_values(":sk", s(sk));
                    }
                    match request.send().await {
                        Ok(_) => {}
                        Err(e) if condition_failed(&e) => {}
                        Err(e) => return Err(backend("update callback", e)),
                    }
                }
                if record.is_open() {
                    open.push(record);
                }
            }
            match next {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        // The oldest open record of a number is the one repeat callers join.
        open.sort_by_key(|r| (r.received_at, r.id.to_string()));
        for record in open {
            let held = self
                .hold_number(
                    &record.tenant_id,
                    &record.callback_number,
                    record.id.as_str(),
                )
                .await?;
            match held {
                None => report.guarded += 1,
                Some(_) => report.shared += 1,
            }
        }
        Ok(report)
    }
}
