//! `AgentStore` on DynamoDB. Keys (see docs/dynamodb.md):
//! - agent `TENANT#{t}#AGENT#{login}` / `AGENT`, listed through `received_keys`
//!   on `TENANT#{t}#AGENTS`
//! - session `SESSION#{sha256 of the token}` / `SESSION`, with `expires_at`
//!   (the table's TTL); expiry is also checked on reading, as TTL deletes late.

use super::DynamoStore;
use super::items::{Item, backend, condition_failed, encode, n, parse, s};
use crate::domain::agent::{AgentAccount, Session};
use crate::domain::ids::TenantId;
use crate::store::StoreError;
use crate::store::agents::AgentStore;
use async_trait::async_trait;

fn agent_pk(t: &TenantId, login: &str) -> String {
    format!("TENANT#{t}#AGENT#{login}")
}

fn session_pk(hash: &str) -> String {
    format!("SESSION#{hash}")
}

impl DynamoStore {
    /// Puts `agent` as it is if `condition` holds (`:expected` stands for
    /// `expected`); false when it did not.
    async fn put_agent(
        &self,
        agent: &AgentAccount,
        condition: &str,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(agent_pk(&agent.tenant_id, &agent.login)))
            .item("sk", s("AGENT"))
            .item(
                "doc",
                s(serde_json::to_string(agent).map_err(encode("an agent"))?),
            )
            .item("version", n(agent.version))
            .item("gsi4pk", s(format!("TENANT#{}#AGENTS", agent.tenant_id)))
            .item("gsi4sk", s(agent.login.clone()))
            .condition_expression(condition);
        if let Some(expected) = expected {
            put = put.expression_attribute_values(":expected", n(expected));
        }
        let put = put.send().await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(backend("put agent", e)),
        }
    }

    /// Rewrites an active admin of `agent`'s tenant other than `agent`,
    /// unchanged but for its version; `LastAdmin` when there is none.
    async fn rewrite_another_admin(&self, agent: &AgentAccount) -> Result<(), StoreError> {
        let condition = "attribute_exists(pk) AND version = :expected";
        // The list is an index read (it may lag); the rewrite's condition
        // is what counts, and a failed one reads that admin again.
        let listed = self.list_agents(&agent.tenant_id).await?;
        for mut admin in listed {
            for _ in 0..3 {
                if admin.login == agent.login || !admin.is_active_admin() {
                    break;
                }
                let mut rewritten = admin.clone();
                rewritten.version += 1;
                if self
                    .put_agent(&rewritten, condition, Some(admin.version))
                    .await?
                {
                    return Ok(());
                }
                match self.get_agent(&admin.tenant_id, &admin.login).await? {
                    Some(fresh) => admin = fresh,
                    None => break,
                }
            }
        }
        Err(StoreError::LastAdmin(agent.login.clone()))
    }

    /// `condition`: for a touch, that the session still exists, so a touch
    /// racing a sign-out does not bring the session back.
    async fn put_session(
        &self,
        session: &Session,
        condition: Option<&str>,
    ) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(session_pk(&session.hash)))
            .item("sk", s("SESSION"))
            .item(
                "doc",
                s(serde_json::to_string(session).map_err(encode("a session"))?),
            )
            .item("expires_at", n(session.expires_at().as_second()))
            .set_condition_expression(condition.map(str::to_owned))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(backend("put session", e)),
        }
    }
}

#[async_trait]
impl AgentStore for DynamoStore {
    async fn create_agent(&self, agent: &AgentAccount) -> Result<(), StoreError> {
        match self
            .put_agent(agent, "attribute_not_exists(pk)", None)
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists(format!("agent {}", agent.login))),
        }
    }

    async fn get_agent(
        &self,
        tenant: &TenantId,
        login: &str,
    ) -> Result<Option<AgentAccount>, StoreError> {
        self.get(agent_pk(tenant, login), "AGENT")
            .await?
            .map(|item| parse(&item, &format!("agent {tenant}/{login}")))
            .transpose()
    }

    async fn list_agents(&self, tenant: &TenantId) -> Result<Vec<AgentAccount>, StoreError> {
        let pk = format!("TENANT#{tenant}#AGENTS");
        self.index_items("received_keys", "gsi4pk", pk, true, None)
            .await?
            .iter()
            .map(|item| parse::<AgentAccount>(item, "agent"))
            .collect()
    }

    async fn update_agent(&self, agent: &AgentAccount) -> Result<AgentAccount, StoreError> {
        let mut next = agent.clone();
        next.version += 1;
        let condition = "attribute_exists(pk) AND version = :expected";
        if self
            .put_agent(&next, condition, Some(agent.version))
            .await?
        {
            return Ok(next);
        }
        match self.get_agent(&agent.tenant_id, &agent.login).await? {
            Some(_) => Err(StoreError::Conflict),
            None => Err(StoreError::NotFound(format!("agent {}", agent.login))),
        }
    }

    /// Without transactions (dynalite has none): the change first rewrites
    /// another active admin, unchanged but for its version, conditional on
    /// the version it was read at, and only then writes the agent,
    /// conditional on the version read before that. Of two admins taking
    /// each other away at once, each rewrite moves the version the other's
    /// write expects, so at most one change lands; an admin whose rewrite
    /// passed was one at that moment and can only be taken away later by
    /// a change that rewrites yet another admin.
    async fn update_agent_keeping_an_admin(
        &self,
        agent: &AgentAccount,
    ) -> Result<AgentAccount, StoreError> {
        if !agent.is_active_admin() {
            let stored = self
                .get_agent(&agent.tenant_id, &agent.login)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("agent {}", agent.login)))?;
            if stored.version != agent.version {
                return Err(StoreError::Conflict);
            }
            if stored.is_active_admin() {
                self.rewrite_another_admin(agent).await?;
            }
        }
        self.update_agent(agent).await
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.put_session(session, None).await
    }

    async fn find_session(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        let item: Option<Item> = self.get(session_pk(hash), "SESSION").await?;
        item.map(|item| parse(&item, "session")).transpose()
    }

    async fn touch_session(&self, session: &Session) -> Result<(), StoreError> {
        self.put_session(session, Some("attribute_exists(pk)"))
            .await
    }

    async fn delete_session(&self, hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(session_pk(hash)))
            .key("sk", s("SESSION"))
            .send()
            .await
            .map_err(|e| backend("delete session", e))?;
        Ok(())
    }
}
