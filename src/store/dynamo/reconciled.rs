//! Reconciliation progress: `TENANT#{t}` / `RECONCILED`, beside the tenant
//! item, with `at_ms`; indexed in `received_keys` on `RECONCILED` (the
//! tenant id as sort key), so the sweeper lists the tenants with one Query.

use super::DynamoStore;
use super::items::{backend, n, s};
use crate::domain::ids::TenantId;
use crate::store::StoreError;
use crate::store::reconciled::ReconciledStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;

fn progress_pk(t: &TenantId) -> String {
    format!("TENANT#{t}")
}

const SK: &str = "RECONCILED";
/// The index partition of every tenant's progress item.
const TENANTS: &str = "RECONCILED";

#[async_trait]
impl ReconciledStore for DynamoStore {
    async fn reconciled_at(&self, tenant: &TenantId) -> Result<Option<Timestamp>, StoreError> {
        let item = self.get(progress_pk(tenant), SK).await?;
        Ok(item
            .as_ref()
            .and_then(|item| match item.get("at_ms") {
                Some(AttributeValue::N(ms)) => ms.parse().ok(),
                _ => None,
            })
            .and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }

    async fn set_reconciled_at(&self, tenant: &TenantId, at: Timestamp) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(progress_pk(tenant)))
            .item("sk", s(SK))
            .item("at_ms", n(at.as_millisecond()))
            .item("gsi4pk", s(TENANTS))
            .item("gsi4sk", s(tenant.as_str()))
            .send()
            .await
            .map_err(|e| backend("put reconciliation progress", e))?;
        Ok(())
    }

    async fn reconciled_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let (items, last) = self
                .query(
                    "received_keys",
                    "gsi4pk",
                    TENANTS.to_owned(),
                    true,
                    None,
                    start,
                )
                .await?;
            for item in items {
                if let Some(AttributeValue::S(id)) = item.get("gsi4sk") {
                    ids.push(TenantId::parse(id).map_err(|_| StoreError::Incomplete {
                        key: format!("reconciliation item {id:?}"),
                        problem: "its index key does not name a tenant",
                    })?);
                }
            }
            match last {
                Some(key) => start = Some(key),
                None => return Ok(ids),
            }
        }
    }
}
