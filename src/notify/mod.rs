//! Use cases of notifications: a tenant's endpoints, added, listed,
//! removed and tested by an admin (API) or the operator (CLI), audited
//! like the other settings (`mod.rs`); the sender that works the queue of
//! deliveries, to the endpoints and the caller's SMS (`sender`); the
//! overdue sweep (`overdue`); and on AWS the relay of the table's stream
//! into that queue (`relay`). `client`: the HTTP client deliveries go out
//! with.

pub mod client;
pub mod overdue;
pub mod relay;
pub mod sender;

use crate::deps::Deps;
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::ids::TenantId;
use crate::domain::notify::EventType;
use crate::domain::notify::address::Reach;
use crate::domain::notify::endpoint::{Endpoint, EndpointError, Format, MAX_ENDPOINTS};
use crate::store::StoreError;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("no notification endpoint {0:?}")]
    NoEndpoint(String),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an admin asks for.
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub events: &'a [EventType],
    pub format: Format,
}

/// Adds an endpoint to the tenant; returns it with its signing secret (a
/// standard endpoint's), to show this once.
pub async fn add(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &TenantId,
    new: NewEndpoint<'_>,
    reach: Reach,
) -> Result<Endpoint, NotifyError> {
    let now = deps.clock.now();
    let endpoint = Endpoint::new(tenant.clone(), new.url, new.events, new.format, reach, now)?;
    if deps.endpoints.list_endpoints(tenant).await?.len() >= MAX_ENDPOINTS {
        return Err(EndpointError::TooMany.into());
    }
    deps.endpoints.create_endpoint(&endpoint).await?;
    let events = u64::try_from(endpoint.events.len()).unwrap_or(u64::MAX);
    let counts = BTreeMap::from([("events".to_owned(), events)]);
    let action = AuditAction::NotificationEndpointAdded;
    deps.record_audit(tenant, actor, action, &endpoint.id, counts)
        .await?;
    Ok(endpoint)
}

/// The tenant's endpoints, oldest first.
pub async fn list(deps: Deps<'_>, tenant: &TenantId) -> Result<Vec<Endpoint>, StoreError> {
    deps.endpoints.list_endpoints(tenant).await
}

/// The tenant's endpoint `id`.
pub async fn load(deps: Deps<'_>, tenant: &TenantId, id: &str) -> Result<Endpoint, NotifyError> {
    deps.endpoints
        .get_endpoint(tenant, id)
        .await?
        .ok_or_else(|| NotifyError::NoEndpoint(id.to_owned()))
}

/// Removes the tenant's endpoint `id`: nothing more goes to it, also of
/// what is queued for it.
pub async fn remove(
    deps: Deps<'_>,
    actor: &Actor,
    tenant: &TenantId,
    id: &str,
) -> Result<Endpoint, NotifyError> {
    let removed = deps
        .endpoints
        .delete_endpoint(tenant, id)
        .await?
        .ok_or_else(|| NotifyError::NoEndpoint(id.to_owned()))?;
    let action = AuditAction::NotificationEndpointRemoved;
    deps.record_audit(tenant, actor, action, id, BTreeMap::new())
        .await?;
    Ok(removed)
}
