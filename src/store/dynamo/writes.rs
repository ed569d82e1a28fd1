//! Conditional puts of new items: tenants, and new records with their
//! number's guard.

use super::DynamoStore;
use super::items::{
    backend, call_pk, callback_item, callback_pk, condition_failed, encode, n, s, tenant_pk,
};
use crate::domain::callback::CallbackRecord;
use crate::domain::tenant::Tenant;
use crate::store::{Inserted, StoreError};

impl DynamoStore {
    /// Writes the tenant if `condition` holds; `refused` names the failure.
    pub(super) async fn put_tenant(
        &self,
        tenant: &Tenant,
        condition: &str,
        refused: fn(String) -> StoreError,
    ) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(tenant_pk(&tenant.id)))
            .item("sk", s("TENANT"))
            .item(
                "doc",
                s(serde_json::to_string(tenant).map_err(encode("a tenant"))?),
            )
            .condition_expression(condition)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(refused(format!("tenant {}", tenant.id))),
            Err(e) => Err(backend("put tenant", e)),
        }
    }

    /// Writes a new record, then takes its number's guard; if another
    /// open record of the number has it, the new record and its call link
    /// are removed again and that record is answered.
    pub(super) async fn put_new(&self, record: &CallbackRecord) -> Result<Inserted, StoreError> {
        let inserted = self.put_new_record(record).await?;
        let Inserted::Created(created) = &inserted else {
            return Ok(inserted);
        };
        if !created.is_open() {
            return Ok(inserted);
        }
        let t = &created.tenant_id;
        let Some(open) = self
            .hold_number(t, &created.callback_number, created.id.as_str())
            .await?
        else {
            return Ok(inserted);
        };
        let removed = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(callback_pk(t.as_str(), created.id.as_str())))
            .key("sk", s("CB"))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(created.version))
            .send()
            .await;
        match removed {
            Ok(_) => {}
            // Someone changed it already (joined it): keep it.
            Err(e) if condition_failed(&e) => return Ok(inserted),
            Err(e) => return Err(backend("delete callback", e)),
        }
        self.delete_if_points_at(call_pk(t, &created.call_sid), "CALL", created.id.as_str())
            .await?;
        Ok(Inserted::NumberOpen(open))
    }

    pub(super) async fn put_new_record(
        &self,
        record: &CallbackRecord,
    ) -> Result<Inserted, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .condition_expression("attribute_not_exists(pk)");
        for (k, v) in callback_item(record)? {
            put = put.item(k, v);
        }
        match put.send().await {
            Ok(_) => {
                let mut created = record.clone();
                created.raised.clear();
                Ok(Inserted::Created(created))
            }
            Err(e) if condition_failed(&e) => self
                .get_callback_raw(record.tenant_id.as_str(), record.id.as_str())
                .await?
                .map(Inserted::Existing)
                .ok_or_else(|| StoreError::Unreadable(format!("callback {}", record.id))),
            Err(e) => Err(backend("put callback", e)),
        }
    }
}
