//! Use cases of the people and tools that work a tenant's list: signing in
//! and sessions (`sessions`), agents (`agents`), API keys (`keys`). Each
//! takes `Deps` and, for a change, the `Actor`, and writes the change's
//! audit entry itself, so the API and the CLI leave the same one.

pub mod agents;
pub mod keys;
pub mod sessions;

use crate::domain::agent::AgentError;
use crate::domain::api_key::ApiKeyError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no agent {0:?}")]
    NoAgent(String),
    #[error("no API key {0:?}")]
    NoKey(String),
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error(transparent)]
    Key(#[from] ApiKeyError),
    /// An admin locking themself out would leave the tenant with no admin.
    #[error("you cannot disable yourself or drop your own admin role")]
    OwnAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
}
