//! Notifications in storage: the tenant's endpoints (`EndpointStore`,
//! their signing secrets sealed by `sealed`), and the queue of what is to
//! be delivered (`NotifyQueue`). The outbox itself is written by the
//! callback store, in the same write as the change that raised it: on the
//! embedded store as rows of this queue in the same transaction, on
//! DynamoDB as the record item's `outbox` attribute, which the table's
//! stream carries to `notify::relay` (docs/dynamodb.md, "Notifications").
//! Adapters: SQLite (`sqlite::notify`), DynamoDB (`dynamo::notify`) and SQS
//! (`sqs`).

use super::StoreError;
use super::copy_queue::Depth;
use crate::domain::ids::TenantId;
use crate::domain::notify::endpoint::Endpoint;
use crate::domain::notify::{Outgoing, Raised};
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[async_trait]
pub trait EndpointStore: Send + Sync {
    /// Stores a new endpoint; `AlreadyExists` if its id is taken.
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError>;
    async fn get_endpoint(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Endpoint>, StoreError>;
    /// The tenant's endpoints, oldest first.
    async fn list_endpoints(&self, tenant: &TenantId) -> Result<Vec<Endpoint>, StoreError>;
    /// Writes `endpoint` if the stored version still equals its `version`;
    /// returns it with the new version. `Conflict` otherwise, `NotFound`
    /// when it is gone.
    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<Endpoint, StoreError>;
    /// Deletes the tenant's endpoint `id`; what it deleted, if anything.
    async fn delete_endpoint(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<Endpoint>, StoreError>;
    /// Every tenant with an active endpoint for `callback.overdue`: whose
    /// records the sweeper looks at.
    async fn tenants_watching_overdue(&self) -> Result<Vec<TenantId>, StoreError>;
    /// Up to when the sweeper has announced the tenant's overdue records.
    async fn overdue_swept_to(&self, tenant: &TenantId) -> Result<Option<Timestamp>, StoreError>;
    async fn set_overdue_swept_to(
        &self,
        tenant: &TenantId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
}

/// Optimistic read-modify-write of an endpoint, as `modify_callback` does
/// for records; `None` when it is gone.
pub async fn modify_endpoint(
    store: &dyn EndpointStore,
    tenant: &TenantId,
    id: &str,
    mut change: impl FnMut(&mut Endpoint) + Send,
) -> Result<Option<Endpoint>, StoreError> {
    const TRIES: usize = 8;
    for _ in 0..TRIES {
        let Some(mut endpoint) = store.get_endpoint(tenant, id).await? else {
            return Ok(None);
        };
        change(&mut endpoint);
        match store.update_endpoint(&endpoint).await {
            Ok(written) => return Ok(Some(written)),
            Err(StoreError::Conflict) => continue,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict)
}

/// Where a job goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Every endpoint of the tenant that wants the event: the job becomes
    /// one job per endpoint.
    Endpoints,
    Endpoint(String),
    /// The caller, by SMS.
    Sms,
}

impl Target {
    /// Unique per outbox entry: the queue keeps one job per pair.
    pub fn key(&self) -> &str {
        match self {
            Target::Endpoints => "*",
            Target::Endpoint(id) => id,
            Target::Sms => "sms",
        }
    }
}

/// One thing to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyJob {
    pub target: Target,
    pub outgoing: Outgoing,
}

impl NotifyJob {
    /// The first job of an outbox entry: an event for the endpoints, an SMS
    /// for the caller.
    pub fn of(outgoing: Outgoing) -> Self {
        let target = match outgoing.raised {
            Raised::Event(_) => Target::Endpoints,
            Raised::Sms => Target::Sms,
        };
        NotifyJob { target, outgoing }
    }

    pub fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|source| StoreError::Encode {
            what: "a notification job",
            source,
        })
    }

    /// `None` for a body that does not parse.
    pub fn from_json(body: &str) -> Option<Self> {
        serde_json::from_str(body).ok()
    }
}

/// A job as a sender received it, hidden from others until it is acked,
/// failed or its lease lapses.
#[derive(Debug, Clone)]
pub struct NotifyDelivery {
    /// `None` when the message does not parse.
    pub job: Option<NotifyJob>,
    pub receipt: String,
    /// How many times it was received, this time included: the try.
    pub receives: u32,
}

/// How long a received job stays hidden: longer than a delivery (10 s at
/// most) and its writes, short enough that a killed sender's job comes
/// back soon.
pub const LEASE: Duration = Duration::from_secs(30);

/// Receives after which a job is dead: more than the delivery's own tries
/// (`retry::MAX_ATTEMPTS`), so only a job no sender can work (it crashes
/// the sender) dies. The same on SQS (the notify queue's redrive policy).
pub const MAX_RECEIVES: u32 = 15;

#[async_trait]
pub trait NotifyQueue: Send + Sync {
    /// Queues jobs; one already queued for the same entry and target (a
    /// relay done twice) stays as it is on the embedded store.
    async fn send(&self, jobs: &[NotifyJob], now: Timestamp) -> Result<(), StoreError>;
    /// Up to `max` jobs due by `now`, each leased for `LEASE`; waits up to
    /// `wait` for the first when none is due.
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        now: Timestamp,
    ) -> Result<Vec<NotifyDelivery>, StoreError>;
    /// Done: removes it.
    async fn ack(&self, delivery: &NotifyDelivery) -> Result<(), StoreError>;
    /// To be tried again after `retry_in`.
    async fn fail(
        &self,
        delivery: &NotifyDelivery,
        retry_in: Duration,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    async fn depth(&self, now: Timestamp) -> Result<Depth, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::callback::tests::record;
    use crate::domain::notify::retry::MAX_ATTEMPTS;

    /// template.yaml's notification queue dead-letters after the same
    /// receives, more than a delivery's tries, and keeps a message longer
    /// than the day of tries.
    #[test]
    fn the_template_queue_outlives_every_try() {
        let template = include_str!("../../template.yaml");
        let queue = &template[template.find("  NotifyQueue:").unwrap()..];
        let queue = &queue[..queue.find("\n\n").unwrap()];
        assert!(
            queue.contains(&format!("maxReceiveCount: {MAX_RECEIVES}")),
            "{queue}"
        );
        const { assert!(MAX_RECEIVES > MAX_ATTEMPTS) };
        assert!(
            queue.contains("MessageRetentionPeriod: 345600"),
            "four days: {queue}"
        );
    }

    #[test]
    fn a_job_round_trips_and_garbage_is_none() {
        let out = Outgoing::of_write(&record()).remove(0);
        let job = NotifyJob::of(out.clone());
        assert_eq!(job.target, Target::Endpoints);
        let body = job.to_json().unwrap();
        assert!(
            body.starts_with(r#"{"target":"endpoints","outgoing":{"id":"msg_"#),
            "{body}"
        );
        assert_eq!(NotifyJob::from_json(&body), Some(job));
        let to_one = NotifyJob {
            target: Target::Endpoint("ne_0123456789abcdef".into()),
            outgoing: out,
        };
        let body = to_one.to_json().unwrap();
        assert!(
            body.starts_with(r#"{"target":{"endpoint":"ne_0123456789abcdef"}"#),
            "{body}"
        );
        assert_eq!(NotifyJob::from_json(&body), Some(to_one));
        assert_eq!(NotifyJob::from_json("{}"), None);
    }
}
