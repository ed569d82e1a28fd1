//! What the use cases (`calls`, `accounts`, `tenants`) run on: the stores
//! and the clock, handed in by each door (the Router's state, the CLI's
//! backend).

use crate::clock::Clock;
use crate::store::agents::AgentStore;
use crate::store::audit::AuditStore;
use crate::store::{RecordingStore, Store};

#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a dyn Store,
    pub audio: &'a dyn RecordingStore,
    pub agents: &'a dyn AgentStore,
    pub audit: &'a dyn AuditStore,
    /// Millisecond precision, as the stores sort on.
    pub clock: &'a dyn Clock,
}
