//! The audit trail: `TENANT#{t}#AUDIT` / `{ms}#{id}`, one partition per
//! tenant in time order; items are only ever put, never changed.

use super::DynamoStore;
use super::items::{backend, encode, ms_key, parse, s};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::TenantId;
use crate::store::StoreError;
use crate::store::audit::AuditStore;
use async_trait::async_trait;

fn audit_pk(t: &TenantId) -> String {
    format!("TENANT#{t}#AUDIT")
}

#[async_trait]
impl AuditStore for DynamoStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(audit_pk(&entry.tenant_id)))
            .item("sk", s(ms_key(entry.at.as_millisecond(), &entry.id)))
            .item(
                "doc",
                s(serde_json::to_string(entry).map_err(encode("an audit entry"))?),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| backend("put audit entry", e))?;
        Ok(())
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut start = None;
        while entries.len() < limit {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(audit_pk(tenant)))
                .scan_index_forward(false)
                .limit(i32::try_from(limit - entries.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| backend("query audit", e))?;
            for item in out.items.unwrap_or_default() {
                entries.push(parse(&item, "audit entry")?);
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        Ok(entries)
    }
}
