//! The queues on AWS. The copy queue: an SQS queue whose redrive policy
//! moves a message received `MAX_RECEIVES` times to a dead-letter queue;
//! the sweeper moves dead messages back. The notification queue
//! (`SqsNotifyQueue`): the same, its delays the deliveries' retries.

use crate::store::copy_queue::{CopyJob, CopyQueue, Delivery, Depth, LEASE, Redriven};
use crate::store::notify::{self, NotifyDelivery, NotifyJob, NotifyQueue};
use crate::store::{BoxError, StoreError};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use jiff::Timestamp;
use std::time::Duration;

/// SQS waits at most this long for a message (its own limit).
const MAX_WAIT: Duration = Duration::from_secs(20);
/// SQS hands out at most this many messages at once.
const MAX_BATCH: usize = 10;

fn sqs(op: &'static str, e: impl Into<BoxError>) -> StoreError {
    StoreError::Sqs {
        op,
        source: e.into(),
    }
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

pub struct SqsCopyQueue {
    sqs: Sqs,
    queue_url: String,
    dlq_url: String,
}

/// A long poll's timeouts: the wait plus the usual few seconds.
pub fn poll_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(MAX_WAIT + Duration::from_secs(5))
        .operation_timeout(MAX_WAIT + Duration::from_secs(10))
        .build()
}

impl SqsCopyQueue {
    /// `client` has short timeouts (a webhook sends); `poller`, built from
    /// the same configuration, waits out long polls.
    pub fn new(client: Client, poller: Client, queue_url: String, dlq_url: String) -> Self {
        SqsCopyQueue {
            sqs: Sqs { client, poller },
            queue_url,
            dlq_url,
        }
    }
}

/// The SQS requests both queues make.
struct Sqs {
    client: Client,
    /// For long polls: its timeouts leave room for `MAX_WAIT`.
    poller: Client,
}

impl Sqs {
    async fn send(&self, url: &str, body: String) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| sqs("send", e))?;
        Ok(())
    }

    /// Up to `max` messages of `url`, leased for `lease`.
    async fn take(
        &self,
        url: &str,
        max: usize,
        wait: Duration,
        lease: Duration,
    ) -> Result<Vec<aws_sdk_sqs::types::Message>, StoreError> {
        let client = if wait.is_zero() {
            &self.client
        } else {
            &self.poller
        };
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(i32::try_from(max.clamp(1, MAX_BATCH)).unwrap_or(1))
            .wait_time_seconds(secs(wait.min(MAX_WAIT)))
            .visibility_timeout(secs(lease))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| sqs("receive", e))?;
        Ok(out.messages.unwrap_or_default())
    }

    async fn delete(&self, url: &str, receipt: &str) -> Result<(), StoreError> {
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| sqs("delete", e))?;
        Ok(())
    }

    /// Hides a received message for `retry_in`; the redrive policy counts
    /// its receives.
    async fn retry_after(
        &self,
        url: &str,
        receipt: &str,
        retry_in: Duration,
    ) -> Result<(), StoreError> {
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(secs(retry_in))
            .send()
            .await
            .map_err(|e| sqs("change visibility", e))?;
        Ok(())
    }

    /// Approximate visible and in-flight counts of `url`.
    async fn counts(&self, url: &str) -> Result<(usize, usize), StoreError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| sqs("get queue attributes", e))?;
        let attributes = out.attributes.unwrap_or_default();
        let count = |name: QueueAttributeName| {
            attributes
                .get(&name)
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0)
        };
        Ok((
            count(QueueAttributeName::ApproximateNumberOfMessages)
                + count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        ))
    }

    /// What a queue and its dead-letter queue hold.
    async fn depth(&self, url: &str, dlq_url: &str) -> Result<Depth, StoreError> {
        let (waiting, in_flight) = self.counts(url).await?;
        let (dead, dead_in_flight) = self.counts(dlq_url).await?;
        Ok(Depth {
            waiting,
            in_flight,
            dead: dead + dead_in_flight,
        })
    }
}

/// A received message's receipt and receives; `None` without a receipt.
fn receipt_of(message: &aws_sdk_sqs::types::Message) -> Option<(String, u32)> {
    let receipt = message.receipt_handle()?.to_owned();
    let receives = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    Some((receipt, receives))
}

#[async_trait]
impl CopyQueue for SqsCopyQueue {
    async fn send(&self, job: &CopyJob, _now: Timestamp) -> Result<(), StoreError> {
        self.sqs.send(&self.queue_url, job.to_json()?).await
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        _now: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        let messages = self.sqs.take(&self.queue_url, max, wait, LEASE).await?;
        Ok(messages.iter().filter_map(delivery_of).collect())
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.sqs.delete(&self.queue_url, &delivery.receipt).await
    }

    async fn fail(
        &self,
        delivery: &Delivery,
        retry_in: Duration,
        _now: Timestamp,
    ) -> Result<(), StoreError> {
        // Past the limit, the next receive moves it to the dead-letter queue.
        self.sqs
            .retry_after(&self.queue_url, &delivery.receipt, retry_in)
            .await
    }

    async fn redrive(&self, limit: usize, _now: Timestamp) -> Result<Redriven, StoreError> {
        let mut done = Redriven::default();
        while done.requeued + done.unreadable < limit {
            let want = limit - done.requeued - done.unreadable;
            // Leased while it moves; an unreadable one comes back to the
            // dead-letter queue when its lease lapses.
            let messages = self
                .sqs
                .take(&self.dlq_url, want, Duration::ZERO, LEASE)
                .await?;
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let (Some(body), Some(receipt)) = (message.body(), message.receipt_handle()) else {
                    continue;
                };
                if CopyJob::from_json(body).is_none() {
                    tracing::warn!(
                        message_id = message.message_id().unwrap_or_default(),
                        "an unreadable message stays in the dead-letter queue"
                    );
                    done.unreadable += 1;
                    continue;
                }
                self.sqs.send(&self.queue_url, body.to_owned()).await?;
                self.sqs.delete(&self.dlq_url, receipt).await?;
                done.requeued += 1;
            }
        }
        Ok(done)
    }

    async fn depth(&self, _now: Timestamp) -> Result<Depth, StoreError> {
        self.sqs.depth(&self.queue_url, &self.dlq_url).await
    }
}

/// A received message as a delivery; `None` without a receipt handle.
fn delivery_of(message: &aws_sdk_sqs::types::Message) -> Option<Delivery> {
    let (receipt, receives) = receipt_of(message)?;
    let job = message.body().and_then(CopyJob::from_json);
    if job.is_none() {
        tracing::warn!(
            message_id = message.message_id().unwrap_or_default(),
            "a copy job that does not parse"
        );
    }
    Some(Delivery {
        job,
        receipt,
        receives,
    })
}

/// The queue of notification deliveries on AWS (`AFUREKO_NOTIFY_QUEUE_URL`):
/// fed by the relay of the table's stream, worked by the notifier; a
/// message received `notify::MAX_RECEIVES` times goes to its dead-letter
/// queue.
pub struct SqsNotifyQueue {
    sqs: Sqs,
    queue_url: String,
    dlq_url: String,
}

impl SqsNotifyQueue {
    pub fn new(client: Client, poller: Client, queue_url: String, dlq_url: String) -> Self {
        SqsNotifyQueue {
            sqs: Sqs { client, poller },
            queue_url,
            dlq_url,
        }
    }
}

#[async_trait]
impl NotifyQueue for SqsNotifyQueue {
    async fn send(&self, jobs: &[NotifyJob], _now: Timestamp) -> Result<(), StoreError> {
        for job in jobs {
            self.sqs.send(&self.queue_url, job.to_json()?).await?;
        }
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        _now: Timestamp,
    ) -> Result<Vec<NotifyDelivery>, StoreError> {
        let messages = self
            .sqs
            .take(&self.queue_url, max, wait, notify::LEASE)
            .await?;
        Ok(messages.iter().filter_map(notify_delivery_of).collect())
    }

    async fn ack(&self, delivery: &NotifyDelivery) -> Result<(), StoreError> {
        self.sqs.delete(&self.queue_url, &delivery.receipt).await
    }

    async fn fail(
        &self,
        delivery: &NotifyDelivery,
        retry_in: Duration,
        _now: Timestamp,
    ) -> Result<(), StoreError> {
        self.sqs
            .retry_after(&self.queue_url, &delivery.receipt, retry_in)
            .await
    }

    async fn depth(&self, _now: Timestamp) -> Result<Depth, StoreError> {
        self.sqs.depth(&self.queue_url, &self.dlq_url).await
    }
}

/// A received notification job; `None` without a receipt handle.
pub fn notify_delivery_of(message: &aws_sdk_sqs::types::Message) -> Option<NotifyDelivery> {
    let (receipt, receives) = receipt_of(message)?;
    Some(NotifyDelivery {
        job: message.body().and_then(NotifyJob::from_json),
        receipt,
        receives,
    })
}

/// Creates the copy queue and its dead-letter queue (`afureko aws init`)
/// if missing, named by the last path segment of their URLs. The queue's
/// redrive policy sends a message to the dead-letter queue after
/// `MAX_RECEIVES` receives.
pub async fn create_queues(
    client: &Client,
    queue_url: &str,
    dlq_url: &str,
) -> Result<(), StoreError> {
    use crate::store::copy_queue::MAX_RECEIVES;
    create_pair(client, queue_url, dlq_url, MAX_RECEIVES, LEASE).await
}

/// The same for the notification queue (`notify::MAX_RECEIVES`).
pub async fn create_notify_queues(
    client: &Client,
    queue_url: &str,
    dlq_url: &str,
) -> Result<(), StoreError> {
    create_pair(
        client,
        queue_url,
        dlq_url,
        notify::MAX_RECEIVES,
        notify::LEASE,
    )
    .await
}

async fn create_pair(
    client: &Client,
    queue_url: &str,
    dlq_url: &str,
    max_receives: u32,
    lease: Duration,
) -> Result<(), StoreError> {
    let name = |url: &str| url.rsplit('/').next().unwrap_or_default().to_owned();
    let dlq = client
        .create_queue()
        .queue_name(name(dlq_url))
        // Fourteen days, SQS's longest: the sweeper has time to re-drive.
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(|e| sqs("create queue", e))?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(dlq.queue_url().unwrap_or(dlq_url))
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| sqs("get queue attributes", e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| sqs("get queue attributes", "the dead-letter queue has no ARN"))?;
    let policy = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receives,
    });
    client
        .create_queue()
        .queue_name(name(queue_url))
        .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            lease.as_secs().to_string(),
        )
        .send()
        .await
        .map_err(|e| sqs("create queue", e))?;
    Ok(())
}
