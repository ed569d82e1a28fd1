//! The audit trail in its own table: rows are only ever inserted.

use super::SqliteStore;
use super::rows::{from_json, to_json};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::TenantId;
use crate::store::StoreError;
use crate::store::audit::AuditStore;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let (tenant, at, id) = (
            entry.tenant_id.to_string(),
            entry.at.as_millisecond(),
            entry.id.clone(),
        );
        let doc = to_json("an audit entry", entry)?;
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO audit_log (tenant_id, at_ms, id, doc) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![tenant, at, id, doc])?;
                Ok(())
            })
            .await
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let tenant = tenant.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.readers
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, doc FROM audit_log WHERE tenant_id = ?1
                     ORDER BY at_ms DESC, id DESC LIMIT ?2",
                )?;
                let rows = stmt
                    .query_map(params![tenant, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<(String, String)>, _>>()?;
                rows.iter()
                    .map(|(id, doc)| from_json(format!("audit entry {tenant}/{id}"), doc))
                    .collect()
            })
            .await
    }
}
