//! Idempotency keys in the `idempotency_keys` table (schema v9: per tenant
//! and sender).

use super::SqliteStore;
use crate::domain::agent::Role;
use crate::store::StoreError;
use crate::store::idempotency::{IdempotencyStore, KeyUse, Reservation, StoredAnswer};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn reserve_idempotency_key(&self, key: KeyUse<'_>) -> Result<Reservation, StoreError> {
        let (tenant, actor, name, fingerprint) = (
            key.tenant.to_string(),
            key.actor.to_owned(),
            key.key.to_owned(),
            key.fingerprint.to_owned(),
        );
        let role = key.role.as_str();
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
                "INSERT INTO idempotency_keys (tenant_id, actor, key, role, fingerprint, reserved_at_ms, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (tenant_id, actor, key) DO UPDATE SET
                   role = excluded.role, fingerprint = excluded.fingerprint,
                   reserved_at_ms = excluded.reserved_at_ms, expires_at_ms = excluded.expires_at_ms,
                   status = NULL, content_type = NULL, body = NULL
                 WHERE idempotency_keys.status IS NULL AND idempotency_keys.reserved_at_ms <= ?8",
                params![tenant, actor, name, role, fingerprint, at, expires, stale],
            )?;
            if reserved == 1 {
                return Ok(Reservation::Reserved);
            }
            let found = tx
                .query_row(
                    "SELECT fingerprint, role, status, content_type, body FROM idempotency_keys
                     WHERE tenant_id = ?1 AND actor = ?2 AND key = ?3",
                    params![tenant, actor, name],
                    |row| {
                        let status: Option<u16> = row.get(2)?;
                        let answer = match status {
                            Some(status) => Some(StoredAnswer {
                                status,
                                content_type: row.get(3)?,
                                body: row.get::<_, Option<Vec<u8>>>(4)?.unwrap_or_default(),
                            }),
                            None => None,
                        };
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, answer))
                    },
                )
                .optional()?;
            let unreadable = || StoreError::Unreadable(format!("idempotency key {name}"));
            let (fingerprint, role, answer) = found.ok_or_else(unreadable)?;
            Ok(Reservation::Taken {
                fingerprint,
                role: role.parse::<Role>().map_err(|_| unreadable())?,
                answer,
            })
        })
        .await
    }

    async fn finish_idempotency_key(
        &self,
        key: KeyUse<'_>,
        answer: Option<&StoredAnswer>,
    ) -> Result<(), StoreError> {
        let (tenant, actor, name, at) = (
            key.tenant.to_string(),
            key.actor.to_owned(),
            key.key.to_owned(),
            key.at.as_millisecond(),
        );
        let answer = answer.cloned();
        self.writer
            .write(move |conn| {
                // The reservation is ours while it still carries our start time.
                match answer {
                    Some(a) => conn.execute(
                        "UPDATE idempotency_keys SET status = ?5, content_type = ?6, body = ?7
                     WHERE tenant_id = ?1 AND actor = ?2 AND key = ?3 AND reserved_at_ms = ?4
                       AND status IS NULL",
                        params![tenant, actor, name, at, a.status, a.content_type, a.body],
                    )?,
                    None => conn.execute(
                        "DELETE FROM idempotency_keys
                     WHERE tenant_id = ?1 AND actor = ?2 AND key = ?3 AND reserved_at_ms = ?4
                       AND status IS NULL",
                        params![tenant, actor, name, at],
                    )?,
                };
                Ok(())
            })
            .await
    }
}
