//! Reconciliation progress: one row a tenant (schema v10).

use super::SqliteStore;
use crate::domain::ids::TenantId;
use crate::store::StoreError;
use crate::store::reconciled::ReconciledStore;
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl ReconciledStore for SqliteStore {
    async fn reconciled_at(&self, tenant: &TenantId) -> Result<Option<Timestamp>, StoreError> {
        let tenant = tenant.to_string();
        let at: Option<i64> = self
            .readers
            .read(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT at_ms FROM reconciliations WHERE tenant_id = ?1")?
                    .query_row(params![tenant], |r| r.get(0))
                    .optional()?)
            })
            .await?;
        Ok(at.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }

    async fn set_reconciled_at(&self, tenant: &TenantId, at: Timestamp) -> Result<(), StoreError> {
        let (tenant, at) = (tenant.to_string(), at.as_millisecond());
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO reconciliations (tenant_id, at_ms) VALUES (?1, ?2)
                     ON CONFLICT (tenant_id) DO UPDATE SET at_ms = excluded.at_ms",
                )?
                .execute(params![tenant, at])?;
                Ok(())
            })
            .await
    }

    async fn reconciled_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        crate::store::TenantStore::tenant_ids(self).await
    }
}
