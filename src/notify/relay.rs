//! On AWS, the outbox is the table's stream: a record's write that raised
//! something carries it in the item's `outbox` attribute, and the stream
//! brings the new item here (the notifier function), which queues its jobs
//! on SQS. The write and its outbox are one `PutItem`, so no transaction is
//! needed (and none is used: docs/dynamodb.md, "Notifications"). A failure
//! fails the batch, which Lambda retries for as long as the stream keeps
//! it (24 hours); a job queued twice is delivered with the same
//! `webhook-id`.

use crate::domain::callback::CallbackRecord;
use crate::domain::notify::{Outgoing, Raised};
use crate::store::notify::{NotifyJob, NotifyQueue};
use crate::store::{JsonProblem, StoreError};
use jiff::Timestamp;

/// Queues the jobs of every write in a stream batch that raised something;
/// how many.
pub async fn from_stream(
    queue: &dyn NotifyQueue,
    event: &serde_json::Value,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut jobs = Vec::new();
    let records = event["Records"].as_array().map_or(&[][..], Vec::as_slice);
    for change in records {
        if !matches!(change["eventName"].as_str(), Some("INSERT" | "MODIFY")) {
            continue;
        }
        let image = &change["dynamodb"]["NewImage"];
        let (Some("CB"), Some(doc), Some(outbox)) = (
            image["sk"]["S"].as_str(),
            image["doc"]["S"].as_str(),
            image[crate::store::dynamo::OUTBOX]["S"].as_str(),
        ) else {
            continue;
        };
        let parsed = serde_json::from_str::<CallbackRecord>(doc).and_then(|record| {
            serde_json::from_str::<Vec<Raised>>(outbox).map(|raised| (record, raised))
        });
        match parsed {
            Ok((record, raised)) => jobs.extend(
                Outgoing::of_raised(&record, &raised)
                    .into_iter()
                    .map(NotifyJob::of),
            ),
            Err(e) => {
                // Retrying cannot mend it: logged (without the content), skipped.
                let key = image["pk"]["S"].as_str().unwrap_or("?");
                tracing::error!(key, error = %JsonProblem::from(e), "a written record's outbox is unreadable");
            }
        }
    }
    if !jobs.is_empty() {
        queue.send(&jobs, now).await?;
    }
    Ok(jobs.len())
}
