//! Idempotency keys in the `idempotency_keys` table (schema v3).

use super::SqliteStore;
use crate::store::StoreError;
use crate::store::idempotency::{IdempotencyStore, KeyUse, Reservation, StoredAnswer};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn reserve_idempotency_key(&self, key: KeyUse<'_>) -> Result<Reservation, StoreError> {
        let (tenant, name, fingerprint) = (
            key.tenant.to_string(),
            key.key.to_owned(),
            key.fingerprint.to_owned(),
        );
        let (at, expires, stale) = (
            key.at.as_millisecond(),
            key.expires_at().as_millisecond(),
            key.stale_before().as_millisecond(),
        );
        self.writer.write(move |conn| {
            let tx = conn;
            // Expired keys go on the way: the index on expiry keeps it cheap.
            tx.execute(
                "DELETE FROM idempotency_keys WHERE expires_at_ms <= ?1",
                params![at],
            )?;
            let reserved = tx.execute(
                "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, reserved_at_ms, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant_id, key) DO UPDATE SET
                   fingerprint = excluded.fingerprint, reserved_at_ms = excluded.reserved_at_ms,
                   expires_at_ms = excluded.expires_at_ms, status = NULL, content_type = NULL, body = NULL
                 WHERE idempotency_keys.status IS NULL AND idempotency_keys.reserved_at_ms <= ?6",
                params![tenant, name, fingerprint, at, expires, stale],
            )?;
            let found = if reserved == 1 {
                Reservation::Reserved
            } else {
                tx.query_row(
                    "SELECT fingerprint, status, content_type, body FROM idempotency_keys
                     WHERE tenant_id = ?1 AND key = ?2",
                    params![tenant, name],
                    |row| {
                        let status: Option<u16> = row.get(1)?;
                        Ok(Reservation::Taken {
                            fingerprint: row.get(0)?,
                            answer: match status {
                                Some(status) => Some(StoredAnswer {
                                    status,
                                    content_type: row.get(2)?,
                                    body: row.get::<_, Option<Vec<u8>>>(3)?.unwrap_or_default(),
                                }),
                                None => None,
                            },
                        })
                    },
                )
                .optional()?
                .ok_or_else(|| StoreError::Unreadable(format!("idempotency key {name}")))?
            };
            Ok(found)
        })
        .await
    }

    async fn finish_idempotency_key(
        &self,
        key: KeyUse<'_>,
        answer: Option<&StoredAnswer>,
    ) -> Result<(), StoreError> {
        let (tenant, name, at) = (
            key.tenant.to_string(),
            key.key.to_owned(),
            key.at.as_millisecond(),
        );
        let answer = answer.cloned();
        self.writer
            .write(move |conn| {
                // The reservation is ours while it still carries our start time.
                match answer {
                    Some(a) => conn.execute(
                        "UPDATE idempotency_keys SET status = ?4, content_type = ?5, body = ?6
                     WHERE tenant_id = ?1 AND key = ?2 AND reserved_at_ms = ?3 AND status IS NULL",
                        params![tenant, name, at, a.status, a.content_type, a.body],
                    )?,
                    None => conn.execute(
                        "DELETE FROM idempotency_keys
                     WHERE tenant_id = ?1 AND key = ?2 AND reserved_at_ms = ?3 AND status IS NULL",
                        params![tenant, name, at],
                    )?,
                };
                Ok(())
            })
            .await
    }
}
