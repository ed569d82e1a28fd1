//! Notification endpoints: `TENANT#{t}#NOTIFY#{id}` / `NOTIFY`, listed per
//! tenant by `received_keys` (`TENANT#{t}#NOTIFY`, in creation order); an
//! active endpoint for `callback.overdue` is also in `status_due_keys`
//! under `NOTIFY#OVERDUE` (sparse, a few items: the sweeper's tenants). How
//! far the overdue sweep got: `TENANT#{t}#OVERDUE` / `SWEEP`.

use super::DynamoStore;
use super::items::{Item, backend, condition_failed, encode, ms_key, n, parse, s};
use crate::domain::ids::TenantId;
use crate::domain::notify::EventType;
use crate::domain::notify::endpoint::Endpoint;
use crate::store::StoreError;
use crate::store::notify::EndpointStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use jiff::Timestamp;
use std::collections::{BTreeSet, HashMap};

const WATCHING_OVERDUE: &str = "NOTIFY#OVERDUE";

fn endpoint_pk(t: &TenantId, id: &str) -> String {
    format!("TENANT#{t}#NOTIFY#{id}")
}

fn sweep_pk(t: &TenantId) -> String {
    format!("TENANT#{t}#OVERDUE")
}

fn endpoint_item(e: &Endpoint) -> Result<Item, StoreError> {
    let t = &e.tenant_id;
    let mut item: Item = HashMap::from([
        ("pk".into(), s(endpoint_pk(t, &e.id))),
        ("sk".into(), s("NOTIFY")),
        (
            "doc".into(),
            s(serde_json::to_string(e).map_err(encode("a notification endpoint"))?),
        ),
        ("version".into(), n(e.version)),
        ("gsi4pk".into(), s(format!("TENANT#{t}#NOTIFY"))),
        (
            "gsi4sk".into(),
            s(ms_key(e.created_at.as_millisecond(), &e.id)),
        ),
    ]);
    if e.wants(EventType::CallbackOverdue) {
        item.insert("gsi1pk".into(), s(WATCHING_OVERDUE));
        item.insert("gsi1sk".into(), s(format!("{t}#{}", e.id)));
    }
    Ok(item)
}

fn endpoint_of(item: &Item) -> Result<Endpoint, StoreError> {
    parse(item, "notification endpoint")
}

impl DynamoStore {
    /// Puts `endpoint` if `condition` holds; false when it does not.
    async fn put_endpoint(
        &self,
        endpoint: &Endpoint,
        condition: &str,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(endpoint_item(endpoint)?))
            .condition_expression(condition);
        if let Some(version) = expected {
            put = put.expression_attribute_values(":expected", n(version));
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(backend("put notification endpoint", e)),
        }
    }
}

#[async_trait]
impl EndpointStore for DynamoStore {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        if self
            .put_endpoint(endpoint, "attribute_not_exists(pk)", None)
            .await?
        {
            return Ok(());
        }
        Err(StoreError::AlreadyExists(format!(
            "notification endpoint {}",
            endpoint.id
        )))
    }

    async fn get_endpoint(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Endpoint>, StoreError> {
        self.get(endpoint_pk(tenant, id), "NOTIFY")
            .await?
            .map(|item| endpoint_of(&item))
            .transpose()
    }

    async fn list_endpoints(&self, tenant: &TenantId) -> Result<Vec<Endpoint>, StoreError> {
        let pk = format!("TENANT#{tenant}#NOTIFY");
        self.index_items("received_keys", "gsi4pk", pk, true, None)
            .await?
            .iter()
            .map(endpoint_of)
            .collect()
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<Endpoint, StoreError> {
        let mut next = endpoint.clone();
        next.version += 1;
        let condition = "attribute_exists(pk) AND version = :expected";
        if self
            .put_endpoint(&next, condition, Some(endpoint.version))
            .await?
        {
            return Ok(next);
        }
        match self.get_endpoint(&endpoint.tenant_id, &endpoint.id).await? {
            Some(_) => Err(StoreError::Conflict),
            None => Err(StoreError::NotFound(format!(
                "notification endpoint {}",
                endpoint.id
            ))),
        }
    }

    async fn delete_endpoint(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Endpoint>, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(endpoint_pk(tenant, id)))
            .key("sk", s("NOTIFY"))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| backend("delete notification endpoint", e))?;
        // Nothing deleted: no attributes (moto: an empty map).
        out.attributes
            .filter(|item| !item.is_empty())
            .map(|item| endpoint_of(&item))
            .transpose()
    }

    async fn tenants_watching_overdue(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut tenants = BTreeSet::new();
        let mut start = None;
        loop {
            let (entries, last) = self
                .query(
                    "status_due_keys",
                    "gsi1pk",
                    WATCHING_OVERDUE.to_owned(),
                    true,
                    None,
                    start,
                )
                .await?;
            for entry in &entries {
                let tenant = match entry.get("gsi1sk") {
                    Some(AttributeValue::S(key)) => key.split('#').next().unwrap_or_default(),
                    _ => "",
                };
                tenants.insert(TenantId::parse(tenant).map_err(|_| StoreError::Incomplete {
                    key: format!("index entry {WATCHING_OVERDUE}"),
                    problem: "it does not name a tenant",
                })?);
            }
            match last {
                Some(key) => start = Some(key),
                None => return Ok(tenants.into_iter().collect()),
            }
        }
    }

    async fn overdue_swept_to(&self, tenant: &TenantId) -> Result<Option<Timestamp>, StoreError> {
        let Some(item) = self.get(sweep_pk(tenant), "SWEEP").await? else {
            return Ok(None);
        };
        let ms = match item.get("swept_to") {
            Some(AttributeValue::N(ms)) => ms.parse::<i64>().ok(),
            _ => None,
        };
        Ok(ms.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }

    async fn set_overdue_swept_to(
        &self,
        tenant: &TenantId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(sweep_pk(tenant)))
            .item("sk", s("SWEEP"))
            .item("swept_to", n(at.as_millisecond()))
            .send()
            .await
            .map_err(|e| backend("put overdue sweep", e))?;
        Ok(())
    }
}
