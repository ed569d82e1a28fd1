//! `AgentStore` on SQLite: the `agents` and `sessions` tables.

use super::SqliteStore;
use super::rows::{from_json, to_json};
use crate::domain::agent::{AgentAccount, Session};
use crate::domain::ids::TenantId;
use crate::store::StoreError;
use crate::store::agents::AgentStore;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

fn agent_from(tenant: &str, login: &str, doc: &str) -> Result<AgentAccount, StoreError> {
    from_json(format!("agent {tenant}/{login}"), doc)
}

/// An agent's new state, to write if the stored one is still at
/// `expected`.
struct Change {
    tenant: String,
    login: String,
    expected: u64,
    next: AgentAccount,
    doc: String,
}

impl Change {
    fn of(agent: &AgentAccount) -> Result<Change, StoreError> {
        let mut next = agent.clone();
        next.version += 1;
        Ok(Change {
            tenant: agent.tenant_id.to_string(),
            login: agent.login.clone(),
            expected: agent.version,
            doc: to_json("an agent", &next)?,
            next,
        })
    }

    fn write(self, conn: &rusqlite::Connection) -> Result<AgentAccount, StoreError> {
        let expected = i64::try_from(self.expected).unwrap_or(i64::MAX);
        let updated = conn.execute(
            "UPDATE agents SET doc = ?3 WHERE tenant_id = ?1 AND login = ?2
             AND coalesce(json_extract(doc, '$.version'), 0) = ?4",
            params![self.tenant, self.login, self.doc, expected],
        )?;
        if updated == 1 {
            return Ok(self.next);
        }
        let exists: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM agents WHERE tenant_id = ?1 AND login = ?2",
                params![self.tenant, self.login],
                |r| r.get(0),
            )
            .optional()?;
        match exists {
            Some(_) => Err(StoreError::Conflict),
            None => Err(StoreError::NotFound(format!("agent {}", self.login))),
        }
    }

    /// Whether the stored agent, still as the change read it, is an
    /// active admin and the tenant's only one.
    fn takes_an_admin_away(&self, conn: &rusqlite::Connection) -> Result<bool, StoreError> {
        let mut stmt = conn.prepare_cached("SELECT login, doc FROM agents WHERE tenant_id = ?1")?;
        let rows = stmt
            .query_map(params![self.tenant], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<(String, String)>, _>>()?;
        let (mut stored, mut others) = (None, 0);
        for (login, doc) in &rows {
            let agent = agent_from(&self.tenant, login, doc)?;
            if *login == self.login {
                stored = Some(agent);
            } else if agent.is_active_admin() {
                others += 1;
            }
        }
        // A stale or missing agent is for `write` to refuse.
        Ok(
            stored.is_some_and(|s| s.version == self.expected && s.is_active_admin())
                && others == 0,
        )
    }
}

#[async_trait]
impl AgentStore for SqliteStore {
    async fn create_agent(&self, agent: &AgentAccount) -> Result<(), StoreError> {
        let (tenant, login) = (agent.tenant_id.to_string(), agent.login.clone());
        let doc = to_json("an agent", agent)?;
        self.writer.write(move |conn| {
            let inserted = conn.execute(
                "INSERT INTO agents (tenant_id, login, doc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![tenant, login, doc],
            )?;
            match inserted {
                0 => Err(StoreError::AlreadyExists(format!("agent {login}"))),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn get_agent(
        &self,
        tenant: &TenantId,
        login: &str,
    ) -> Result<Option<AgentAccount>, StoreError> {
        let (tenant, login) = (tenant.to_string(), login.to_owned());
        self.readers
            .read(move |conn| {
                let doc: Option<String> = conn
                    .query_row(
                        "SELECT doc FROM agents WHERE tenant_id = ?1 AND login = ?2",
                        params![tenant, login],
                        |r| r.get(0),
                    )
                    .optional()?;
                doc.map(|doc| agent_from(&tenant, &login, &doc)).transpose()
            })
            .await
    }

    async fn list_agents(&self, tenant: &TenantId) -> Result<Vec<AgentAccount>, StoreError> {
        let tenant = tenant.to_string();
        self.readers
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT login, doc FROM agents WHERE tenant_id = ?1 ORDER BY login",
                )?;
                let rows = stmt
                    .query_map(params![tenant], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<(String, String)>, _>>()?;
                rows.iter()
                    .map(|(login, doc)| agent_from(&tenant, login, doc))
                    .collect()
            })
            .await
    }

    async fn update_agent(&self, agent: &AgentAccount) -> Result<AgentAccount, StoreError> {
        let change = Change::of(agent)?;
        self.writer.write(move |conn| change.write(conn)).await
    }

    async fn update_agent_keeping_an_admin(
        &self,
        agent: &AgentAccount,
    ) -> Result<AgentAccount, StoreError> {
        let change = Change::of(agent)?;
        let keeps_admin = agent.is_active_admin();
        // The check and the write share one write transaction (BEGIN
        // IMMEDIATE): no other change, from any process, comes between.
        self.writer
            .write(move |conn| {
                if !keeps_admin && change.takes_an_admin_away(conn)? {
                    return Err(StoreError::LastAdmin(change.login));
                }
                change.write(conn)
            })
            .await
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let (hash, tenant, login) = (
            session.hash.clone(),
            session.tenant_id.to_string(),
            session.login.clone(),
        );
        let expires = session.expires_at().as_millisecond();
        let now = session.created_at.as_millisecond();
        let doc = to_json("a session", session)?;
        self.writer.write(move |conn| {
            let tx = conn;
            // Sign-ins sweep the sessions that ended, so the table stays small.
            tx.execute(
                "DELETE FROM sessions WHERE expires_at_ms <= ?1",
                params![now],
            )?;
            tx.execute(
                "INSERT INTO sessions (hash, tenant_id, login, expires_at_ms, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![hash, tenant, login, expires, doc],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_session(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        let hash = hash.to_owned();
        self.readers
            .read(move |conn| {
                let doc: Option<String> = conn
                    .query_row(
                        "SELECT doc FROM sessions WHERE hash = ?1",
                        params![hash],
                        |r| r.get(0),
                    )
                    .optional()?;
                // The key names the session by a prefix of its hash only.
                doc.map(|doc| from_json(format!("session {}", &hash[..hash.len().min(8)]), &doc))
                    .transpose()
            })
            .await
    }

    async fn touch_session(&self, session: &Session) -> Result<(), StoreError> {
        let hash = session.hash.clone();
        let expires = session.expires_at().as_millisecond();
        let doc = to_json("a session", session)?;
        self.writer
            .write(move |conn| {
                conn.execute(
                    "UPDATE sessions SET expires_at_ms = ?2, doc = ?3 WHERE hash = ?1",
                    params![hash, expires, doc],
                )?;
                Ok(())
            })
            .await
    }

    async fn delete_session(&self, hash: &str) -> Result<(), StoreError> {
        let hash = hash.to_owned();
        self.writer
            .write(move |conn| {
                conn.execute("DELETE FROM sessions WHERE hash = ?1", params![hash])?;
                Ok(())
            })
            .await
    }
}
