//! Idempotency keys: item `TENANT#{t}#IDEM#{actor}#{key}` / `IDEM` (an
//! actor holds no `#`). One conditional put reserves a key; `expires_at`
//! (epoch seconds) is the table's TTL, and reads also treat an expired
//! item as gone, since TTL deletes late.

use super::DynamoStore;
use super::items::{Item, backend, condition_failed, n, s};
use crate::store::StoreError;
use crate::store::idempotency::{IdempotencyStore, KeyUse, Reservation, StoredAnswer};
use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

fn key_pk(key: &KeyUse<'_>) -> String {
    format!("TENANT#{}#IDEM#{}#{}", key.tenant, key.actor, key.key)
}

fn number(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// A live item as a reservation; `None` when it expired.
fn taken(item: &Item, key: &KeyUse<'_>) -> Result<Option<Reservation>, StoreError> {
    if number(item, "expires_at").is_none_or(|at| at <= key.at.as_second()) {
        return Ok(None);
    }
    let Some(AttributeValue::S(fingerprint)) = item.get("fingerprint") else {
        return Err(StoreError::Incomplete {
            key: key_pk(key),
            problem: "no fingerprint",
        });
    };
    let role = match item.get("role") {
        Some(AttributeValue::S(role)) => role.parse().ok(),
        _ => None,
    };
    let Some(role) = role else {
        return Err(StoreError::Incomplete {
            key: key_pk(key),
            problem: "no role",
        });
    };
    let status = number(item, "answer_status")
        .map(|status| {
            u16::try_from(status).map_err(|_| StoreError::Incomplete {
                key: key_pk(key),
                problem: "answer_status is not an HTTP status",
            })
        })
        .transpose()?;
    let answer = status.map(|status| StoredAnswer {
        status,
        content_type: match item.get("content_type") {
            Some(AttributeValue::S(c)) => Some(c.clone()),
            _ => None,
        },
        body: match item.get("body") {
            Some(AttributeValue::B(b)) => b.clone().into_inner(),
            _ => Vec::new(),
        },
    });
    Ok(Some(Reservation::Taken {
        fingerprint: fingerprint.clone(),
        role,
        answer,
    }))
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn reserve_idempotency_key(&self, key: KeyUse<'_>) -> Result<Reservation, StoreError> {
        // An item that expires between a failed put and the read is tried again.
        for _ in 0..3 {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(key_pk(&key)))
                .item("sk", s("IDEM"))
                .item("fingerprint", s(key.fingerprint))
                .item("role", s(key.role.as_str()))
                .item("reserved_at", n(key.at.as_millisecond()))
                .item("expires_at", n(key.expires_at().as_second()))
                .condition_expression(
                    "attribute_not_exists(pk) OR expires_at <= :now \
                     OR (attribute_not_exists(answer_status) AND reserved_at <= :stale)",
                )
                .expression_attribute_values(":now", n(key.at.as_second()))
                .expression_attribute_values(":stale", n(key.stale_before().as_millisecond()))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Reservation::Reserved),
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(backend("put idempotency key", e)),
            }
            if let Some(item) = self.get(key_pk(&key), "IDEM").await?
                && let Some(found) = taken(&item, &key)?
            {
                return Ok(found);
            }
        }
        Err(StoreError::Unreadable(key_pk(&key)))
    }

    async fn finish_idempotency_key(
        &self,
        key: KeyUse<'_>,
        answer: Option<&StoredAnswer>,
    ) -> Result<(), StoreError> {
        // The reservation is ours while it still carries our start time.
        let ours = "reserved_at = :at AND attribute_not_exists(answer_status)";
        let at = n(key.at.as_millisecond());
        let result = match answer {
            Some(a) => {
                let mut update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", s(key_pk(&key)))
                    .key("sk", s("IDEM"))
                    .condition_expression(ours)
                    .expression_attribute_values(":at", at)
                    .expression_attribute_values(":status", n(a.status))
                    .expression_attribute_values(
                        ":body",
                        AttributeValue::B(Blob::new(a.body.clone())),
                    );
                update = match &a.content_type {
                    Some(c) => update
                        .update_expression(
                            "SET answer_status = :status, body = :body, content_type = :ct",
                        )
                        .expression_attribute_values(":ct", s(c)),
                    None => update.update_expression("SET answer_status = :status, body = :body"),
                };
                update
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| (condition_failed(&e), backend("update idempotency key", e)))
            }
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(key_pk(&key)))
                .key("sk", s("IDEM"))
                .condition_expression(ours)
                .expression_attribute_values(":at", at)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (condition_failed(&e), backend("delete idempotency key", e))),
        };
        match result {
            Ok(()) | Err((true, _)) => Ok(()),
            Err((false, e)) => Err(e),
        }
    }
}
