//! What the use cases (`calls`, `accounts`, `tenants`) run on: the stores
//! and the clock, handed in by each door (the Router's state, the CLI's
//! backend).

use crate::clock::Clock;
use crate::domain::audit::{Actor, AuditAction, AuditEntry};
use crate::domain::ids::TenantId;
use crate::store::agents::AgentStore;
use crate::store::audit::AuditStore;
use crate::store::notify::EndpointStore;
use crate::store::{RecordingStore, Store, StoreError};
use std::collections::BTreeMap;

#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a dyn Store,
    pub audio: &'a dyn RecordingStore,
    pub agents: &'a dyn AgentStore,
    pub audit: &'a dyn AuditStore,
    /// Notification endpoints.
    pub endpoints: &'a dyn EndpointStore,
    /// Millisecond precision, as the stores sort on.
    pub clock: &'a dyn Clock,
}

impl Deps<'_> {
    /// Appends the audit entry of `actor`'s change to `subject`, now.
    pub async fn record_audit(
        &self,
        tenant: &TenantId,
        actor: &Actor,
        action: AuditAction,
        subject: &str,
        counts: BTreeMap<String, u64>,
    ) -> Result<(), StoreError> {
        let entry = AuditEntry::new(
            tenant.clone(),
            self.clock.now(),
            actor,
            action,
            subject.to_owned(),
            counts,
        );
        self.audit.append_audit(&entry).await
    }
}
