//! The sender: works the queue of deliveries (`serve`'s background task,
//! or the notifier Lambda fed by SQS). An event's first job becomes one job
//! per endpoint that wants it; a job for an endpoint is signed (standard)
//! or worded (Slack) and POSTed once, and tried again on the retry schedule
//! until it is delivered, the endpoint answers `410 Gone` (disabled), or the
//! last try failed; every try is noted on the endpoint for its admins. An
//! SMS job sends the caller's confirmation through Twilio and notes the
//! outcome on the record. Nothing here is on a webhook's path.
//!
//! At least once: a job can be delivered twice (a sender killed after the
//! endpoint answered), with the same `webhook-id`, which receivers dedupe.

use super::client::HookClient;
use crate::clock::Clock;
use crate::domain::notify::endpoint::{DeliveryState, Endpoint, Format, Try};
use crate::domain::notify::payload::{self, Message};
use crate::domain::notify::retry::{self, MAX_ATTEMPTS};
use crate::domain::notify::sms::{self, SmsSender};
use crate::domain::notify::{Outgoing, SmsState};
use crate::domain::tenant::Tenant;
use crate::store::notify::{
    EndpointStore, NotifyDelivery, NotifyJob, NotifyQueue, Target, modify_endpoint,
};
use crate::store::{Store, StoreError, modify_callback};
use crate::telemetry::error_chain;
use crate::twilio::api::{MessageParams, Sender, TwilioApi, TwilioApiError};
use std::sync::Arc;
use std::time::Duration;

pub struct Notifier {
    store: Arc<dyn Store>,
    endpoints: Arc<dyn EndpointStore>,
    queue: Arc<dyn NotifyQueue>,
    client: HookClient,
    api: TwilioApi,
    /// Links to records in the page start here.
    public_url: String,
    clock: Arc<dyn Clock>,
}

/// What working one job came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// An event became this many jobs, one per endpoint that wants it.
    Expanded(usize),
    Delivered,
    /// Failed; tried again after the wait.
    Retry(Duration),
    /// The last try failed.
    GaveUp,
    /// `410 Gone`: the endpoint is disabled.
    Gone,
    SmsSent,
    SmsFailed,
    /// Nothing to send any more: the endpoint or the record is gone, the
    /// endpoint disabled, the SMS sent already.
    Dropped,
    /// The job does not parse, or the store failed: tried again, and dead
    /// after the queue's receives.
    Unworkable,
}

impl Sent {
    /// Whether the job is finished (acked), rather than tried again.
    pub fn is_settled(self) -> bool {
        self.retry_in().is_none()
    }

    fn retry_in(self) -> Option<Duration> {
        match self {
            Sent::Retry(wait) => Some(wait),
            Sent::Unworkable => Some(UNWORKABLE_RETRY),
            _ => None,
        }
    }
}

/// A job that could not be worked (a store outage) waits this long.
const UNWORKABLE_RETRY: Duration = Duration::from_secs(60);

/// What a round of jobs came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NotifyReport {
    pub expanded: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub gave_up: usize,
    pub gone: usize,
    pub sms_sent: usize,
    pub sms_failed: usize,
    pub dropped: usize,
    pub unworkable: usize,
}

impl NotifyReport {
    pub fn add(&mut self, sent: Sent) {
        match sent {
            Sent::Expanded(_) => self.expanded += 1,
            Sent::Delivered => self.delivered += 1,
            Sent::Retry(_) => self.retrying += 1,
            Sent::GaveUp => self.gave_up += 1,
            Sent::Gone => self.gone += 1,
            Sent::SmsSent => self.sms_sent += 1,
            Sent::SmsFailed => self.sms_failed += 1,
            Sent::Dropped => self.dropped += 1,
            Sent::Unworkable => self.unworkable += 1,
        }
    }

    fn merge(&mut self, other: &NotifyReport) {
        self.expanded += other.expanded;
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.gave_up += other.gave_up;
        self.gone += other.gone;
        self.sms_sent += other.sms_sent;
        self.sms_failed += other.sms_failed;
        self.dropped += other.dropped;
        self.unworkable += other.unworkable;
    }
}

/// Jobs a sender takes at once.
pub const BATCH: usize = 10;

/// A number from 0 to 1 for the retry's jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    // No randomness at all only spreads retries less.
    let _ = getrandom::getrandom(&mut bytes);
    u64::from_le_bytes(bytes) as f64 / u64::MAX as f64
}

/// What a delivery's headers are: Standard Webhooks' for the standard
/// format (signed over exactly `body`), none more for Slack.
fn headers(
    endpoint: &Endpoint,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Vec<(&'static str, String)> {
    match (&endpoint.format, &endpoint.secret) {
        (Format::Standard, Some(secret)) => vec![
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", secret.sign(id, timestamp, body)),
        ],
        _ => Vec::new(),
    }
}

impl Notifier {
    pub fn new(
        store: Arc<dyn Store>,
        endpoints: Arc<dyn EndpointStore>,
        queue: Arc<dyn NotifyQueue>,
        client: HookClient,
        api: TwilioApi,
        public_url: String,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Notifier {
            store,
            endpoints,
            queue,
            client,
            api,
            public_url,
            clock,
        }
    }

    pub fn client(&self) -> &HookClient {
        &self.client
    }

    pub fn queue(&self) -> &Arc<dyn NotifyQueue> {
        &self.queue
    }

    /// Works a received job, then acks it or hands it back to be tried
    /// again. Store failures are outcomes (`Unworkable`), logged.
    pub async fn work(&self, delivery: &NotifyDelivery) -> Sent {
        let sent = match &delivery.job {
            None => {
                tracing::warn!("a notification job that does not parse");
                Sent::Unworkable
            }
            Some(job) => match self.handle(job, delivery.receives).await {
                Ok(sent) => sent,
                Err(e) => {
                    tracing::warn!(
                        event_id = job.outgoing.id,
                        error = error_chain(&e),
                        "notification job failed"
                    );
                    Sent::Unworkable
                }
            },
        };
        let settled = match sent.retry_in() {
            Some(wait) => self.queue.fail(delivery, wait, self.clock.now()).await,
            None => self.queue.ack(delivery).await,
        };
        if let Err(e) = settled {
            // Unsettled, the job comes back when its lease lapses.
            tracing::warn!(
                error = error_chain(&e),
                "could not settle a notification job"
            );
        }
        sent
    }

    /// Works one job, its `attempt`-th try.
    pub async fn handle(&self, job: &NotifyJob, attempt: u32) -> Result<Sent, StoreError> {
        let out = &job.outgoing;
        match &job.target {
            Target::Endpoints => self.expand(out).await,
            Target::Endpoint(id) => self.deliver(out, id, attempt).await,
            Target::Sms => self.send_sms(out, attempt).await,
        }
    }

    /// One job for each endpoint of the tenant that wants the event.
    async fn expand(&self, out: &Outgoing) -> Result<Sent, StoreError> {
        let Some(event) = out.event() else {
            return Ok(Sent::Dropped);
        };
        let jobs: Vec<NotifyJob> = self
            .endpoints
            .list_endpoints(&out.data.tenant)
            .await?
            .into_iter()
            .filter(|e| e.wants(event))
            .map(|e| NotifyJob {
                target: Target::Endpoint(e.id),
                outgoing: out.clone(),
            })
            .collect();
        if !jobs.is_empty() {
            self.queue.send(&jobs, self.clock.now()).await?;
        }
        Ok(Sent::Expanded(jobs.len()))
    }

    /// One try of an event's delivery to an endpoint. An event of a record
    /// that is gone (erased, expired, or a first call that lost its
    /// number's race) is not delivered.
    async fn deliver(
        &self,
        out: &Outgoing,
        endpoint: &str,
        attempt: u32,
    ) -> Result<Sent, StoreError> {
        let tenant_id = &out.data.tenant;
        let Some(endpoint) = self.endpoints.get_endpoint(tenant_id, endpoint).await? else {
            return Ok(Sent::Dropped);
        };
        if endpoint.disabled.is_some() {
            return Ok(Sent::Dropped);
        }
        let (Some(tenant), Some(_)) = (
            self.store.get_tenant(tenant_id).await?,
            self.store.get_callback(tenant_id, &out.data.id).await?,
        ) else {
            return Ok(Sent::Dropped);
        };
        let state = self
            .attempt(
                &tenant,
                &endpoint,
                Message::Event(out),
                &out.id,
                attempt,
                false,
            )
            .await?;
        Ok(match state {
            DeliveryState::Delivered => Sent::Delivered,
            DeliveryState::Gone => Sent::Gone,
            DeliveryState::Failed => Sent::GaveUp,
            DeliveryState::Retrying => {
                Sent::Retry(retry::next_try(attempt, jitter()).unwrap_or(UNWORKABLE_RETRY))
            }
        })
    }

    /// One try: the body, its headers, the POST, and the outcome noted on
    /// the endpoint.
    async fn attempt(
        &self,
        tenant: &Tenant,
        endpoint: &Endpoint,
        message: Message<'_>,
        id: &str,
        attempt: u32,
        test: bool,
    ) -> Result<DeliveryState, StoreError> {
        let body = match endpoint.format {
            Format::Standard => payload::standard(message, &self.public_url),
            Format::Slack => payload::slack(message, &tenant.settings, &self.public_url),
        };
        let now = self.clock.now();
        let headers = headers(endpoint, id, now.as_second(), &body);
        let answer = self.client.post(&endpoint.url, &headers, body).await;
        let mut tried = Try::queued(id, message.kind(), attempt, now, answer);
        tried.last |= test;
        let state = tried.state();
        tracing::info!(
            endpoint = endpoint.id,
            event_id = id,
            attempt,
            state = ?state,
            "notification delivery"
        );
        modify_endpoint(self.endpoints.as_ref(), &tenant.id, &endpoint.id, |e| {
            e.note(&tried);
        })
        .await?;
        Ok(state)
    }

    /// Sends the test event to `endpoint` now, one try; returns the
    /// endpoint as it noted the try.
    pub async fn test(&self, tenant: &Tenant, endpoint: &Endpoint) -> Result<Endpoint, StoreError> {
        let id = format!("msg_test_{}", uuid::Uuid::new_v4().simple());
        let message = Message::Test {
            at: self.clock.now(),
            tenant: &tenant.id,
            endpoint: &endpoint.id,
        };
        self.attempt(tenant, endpoint, message, &id, 1, true)
            .await?;
        self.endpoints
            .get_endpoint(&tenant.id, &endpoint.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("notification endpoint {}", endpoint.id)))
    }

    /// The caller's SMS confirmation, its `attempt`-th try: sent once, the
    /// outcome (Twilio's error included) kept on the record. Twilio's
    /// refusal of the message (a 4xx, e.g. 21614 for a landline) is final;
    /// an outage is tried again.
    async fn send_sms(&self, out: &Outgoing, attempt: u32) -> Result<Sent, StoreError> {
        let tenant_id = &out.data.tenant;
        let (Some(tenant), Some(record)) = (
            self.store.get_tenant(tenant_id).await?,
            self.store.get_callback(tenant_id, &out.data.id).await?,
        ) else {
            return Ok(Sent::Dropped);
        };
        if record
            .sms
            .as_ref()
            .is_none_or(|s| s.state != SmsState::Requested)
        {
            return Ok(Sent::Dropped);
        }
        let now = self.clock.now();
        let sender = tenant.settings.sms_sender();
        let sent = match &sender {
            None => Err(("sms_from is not set".to_owned(), true)),
            Some(sender) => {
                let message = MessageParams {
                    to: record.callback_number.clone(),
                    sender: match sender {
                        SmsSender::Number(number) => Sender::Number(number.clone()),
                        SmsSender::Service(sid) => Sender::Service(sid.clone()),
                        SmsSender::Alphanumeric(id) => Sender::Alphanumeric(id.clone()),
                    },
                    body: sms::text(&tenant.settings, &record.due(), now),
                };
                self.api
                    .send_message(&tenant.twilio, &message)
                    .await
                    .map_err(|e| (error_chain(&e), refused(&e) || attempt >= MAX_ATTEMPTS))
            }
        };
        let id = &record.id;
        match sent {
            Ok(sid) => {
                tracing::info!(callback_id = %id, message_sid = %sid, "SMS confirmation sent");
                modify_callback(self.store.as_ref(), tenant_id, id, |r| {
                    r.sms_sent(sid.to_string(), now)
                })
                .await?;
                Ok(Sent::SmsSent)
            }
            Err((error, last)) => {
                tracing::warn!(callback_id = %id, error, last, "SMS confirmation failed");
                modify_callback(self.store.as_ref(), tenant_id, id, |r| {
                    r.sms_failed(error.clone(), last, now)
                })
                .await?;
                Ok(match last {
                    true => Sent::SmsFailed,
                    false => {
                        Sent::Retry(retry::next_try(attempt, jitter()).unwrap_or(UNWORKABLE_RETRY))
                    }
                })
            }
        }
    }

    /// Takes up to `max` due jobs and works them all at once.
    pub async fn round(self: &Arc<Self>, max: usize) -> Result<NotifyReport, StoreError> {
        let deliveries = self
            .queue
            .receive(max, Duration::ZERO, self.clock.now())
            .await?;
        self.work_all(deliveries).await
    }

    /// Works `deliveries` all at once; returns when every one is settled.
    pub async fn work_all(
        self: &Arc<Self>,
        deliveries: Vec<NotifyDelivery>,
    ) -> Result<NotifyReport, StoreError> {
        let mut jobs = tokio::task::JoinSet::new();
        for delivery in deliveries {
            let notifier = self.clone();
            jobs.spawn(async move { notifier.work(&delivery).await });
        }
        let mut report = NotifyReport::default();
        while let Some(sent) = jobs.join_next().await {
            report.add(sent?);
        }
        Ok(report)
    }

    /// Works the queue until a round finds nothing due (tests, the demo);
    /// at most `max_rounds`.
    pub async fn drain(self: &Arc<Self>, max_rounds: usize) -> Result<NotifyReport, StoreError> {
        let mut total = NotifyReport::default();
        for _ in 0..max_rounds {
            let round = self.round(BATCH).await?;
            if round == NotifyReport::default() {
                break;
            }
            total.merge(&round);
        }
        Ok(total)
    }

    /// `serve`'s sender: the overdue sweep every `SWEEP_EVERY`, and the
    /// queue's jobs as they come, a batch at a time, until `stop` says so.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut next_sweep = tokio::time::Instant::now();
        let mut failures = 0u32;
        while !*stop.borrow() {
            if tokio::time::Instant::now() >= next_sweep {
                let swept = super::overdue::sweep(
                    self.store.as_ref(),
                    self.endpoints.as_ref(),
                    self.clock.now(),
                )
                .await;
                match swept {
                    Ok(0) => {}
                    Ok(announced) => tracing::info!(announced, "overdue records announced"),
                    Err(e) => tracing::warn!(error = error_chain(&e), "the overdue sweep failed"),
                }
                next_sweep = tokio::time::Instant::now() + super::overdue::SWEEP_EVERY;
            }
            let wait = next_sweep.saturating_duration_since(tokio::time::Instant::now());
            let received = tokio::select! {
                received = self.queue.receive(BATCH, wait.min(POLL_WAIT), self.clock.now()) => received,
                _ = stop.changed() => break,
            };
            match received {
                Ok(deliveries) => {
                    failures = 0;
                    if let Err(e) = self.work_all(deliveries).await {
                        tracing::error!(error = %e, "a notification job panicked");
                    }
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(
                        error = error_chain(&e),
                        "could not receive notification jobs"
                    );
                    let pause = Duration::from_secs(1u64 << failures.min(5)).min(POLL_WAIT);
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        _ = stop.changed() => break,
                    }
                }
            }
        }
    }
}

/// How long `run` waits for a job before it looks again.
const POLL_WAIT: Duration = Duration::from_secs(20);

/// Whether Twilio refused the message itself (a 4xx other than 429): no
/// retry makes it go through.
fn refused(e: &TwilioApiError) -> bool {
    matches!(e, TwilioApiError::Status { status, .. } if (400..500).contains(status) && *status != 429)
}
