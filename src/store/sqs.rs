//! The copy queue on AWS: an SQS queue whose redrive policy moves a
//! message received `MAX_RECEIVES` times to a dead-letter queue; the
//! sweeper moves dead messages back.

use crate::store::copy_queue::{CopyJob, CopyQueue, Delivery, Depth, LEASE, Redriven};
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
    client: Client,
    /// For long polls: its timeouts leave room for `MAX_WAIT`.
    poller: Client,
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
            client,
            poller,
            queue_url,
            dlq_url,
        }
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
}

#[async_trait]
impl CopyQueue for SqsCopyQueue {
    async fn send(&self, job: &CopyJob, _now: Timestamp) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(job.to_json()?)
            .send()
            .await
            .map_err(|e| sqs("send", e))?;
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        _now: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        let messages = self.take(&self.queue_url, max, wait, LEASE).await?;
        Ok(messages.iter().filter_map(delivery_of).collect())
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(&delivery.receipt)
            .send()
            .await
            .map_err(|e| sqs("delete", e))?;
        Ok(())
    }

    async fn fail(
        &self,
        delivery: &Delivery,
        retry_in: Duration,
        _now: Timestamp,
    ) -> Result<(), StoreError> {
        // The redrive policy counts the receives: past the limit, the next
        // receive moves the message to the dead-letter queue.
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&delivery.receipt)
            .visibility_timeout(secs(retry_in))
            .send()
            .await
            .map_err(|e| sqs("change visibility", e))?;
        Ok(())
    }

    async fn redrive(&self, limit: usize, _now: Timestamp) -> Result<Redriven, StoreError> {
        let mut done = Redriven::default();
        while done.requeued + done.unreadable < limit {
            let want = limit - done.requeued - done.unreadable;
            // Leased while it moves; an unreadable one comes back to the
            // dead-letter queue when its lease lapses.
            let messages = self
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
                self.client
                    .send_message()
                    .queue_url(&self.queue_url)
                    .message_body(body)
                    .send()
                    .await
                    .map_err(|e| sqs("send", e))?;
                self.client
                    .delete_message()
                    .queue_url(&self.dlq_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| sqs("delete", e))?;
                done.requeued += 1;
            }
        }
        Ok(done)
    }

    async fn depth(&self, _now: Timestamp) -> Result<Depth, StoreError> {
        let (waiting, in_flight) = self.counts(&self.queue_url).await?;
        let (dead, dead_in_flight) = self.counts(&self.dlq_url).await?;
        Ok(Depth {
            waiting,
            in_flight,
            dead: dead + dead_in_flight,
        })
    }
}

/// A received message as a delivery; `None` without a receipt handle.
fn delivery_of(message: &aws_sdk_sqs::types::Message) -> Option<Delivery> {
    let receipt = message.receipt_handle()?.to_owned();
    let receives = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
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

/// Creates the queue and its dead-letter queue (`afureko aws init`) if
/// missing, named by the last path segment of their URLs. The queue's redrive policy sends a message to the dead-letter
/// queue after `MAX_RECEIVES` receives.
pub async fn create_queues(
    client: &Client,
    queue_url: &str,
    dlq_url: &str,
) -> Result<(), StoreError> {
    use crate::store::copy_queue::MAX_RECEIVES;
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
        "maxReceiveCount": MAX_RECEIVES,
    });
    client
        .create_queue()
        .queue_name(name(queue_url))
        .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            LEASE.as_secs().to_string(),
        )
        .send()
        .await
        .map_err(|e| sqs("create queue", e))?;
    Ok(())
}
