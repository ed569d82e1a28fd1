//! Inside AWS Lambda (`AWS_LAMBDA_RUNTIME_API` is set): the same Router on
//! `lambda_http`; with `AFUREKO_LAMBDA_ROLE=copier`, the recording copier
//! fed by the SQS queue; with `AFUREKO_LAMBDA_ROLE=sweeper`, the sweeper:
//! the scheduled re-drive of the dead-letter queue, and the table's stream
//! of TTL deletions (retention), told apart by the event; with
//! `AFUREKO_LAMBDA_ROLE=notifier`, the notification sender fed by its SQS
//! queue, the relay of the table's stream of writes that raised something
//! (the outbox) into that queue, and the scheduled overdue sweep. Everything is
//! built once at init; the only network step is reading the key record of
//! tenants' secrets (and, with KMS, one Decrypt of its data key), so a
//! wrong key fails init, not every request.

use crate::calls::recordings::{RecordingCopier, SWEEP_LIMIT, WorkReport};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::notify::sender::{Notifier, NotifyReport};
use crate::startup;
use crate::store::copy_queue::{CopyJob, Delivery};
use crate::store::notify::{NotifyDelivery, NotifyJob};
use anyhow::Context;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

pub async fn main() -> ExitCode {
    // Lambda's JSON log format, or text when the function asks for it.
    let json =
        std::env::var("AWS_LAMBDA_LOG_FORMAT").map_or(true, |f| f.eq_ignore_ascii_case("json"));
    crate::telemetry::init(json, "info");
    // The figures `serve` shows at /metrics leave as EMF log lines here.
    crate::monitoring::install_emf();
    let (state, retry) = match init().await {
        Ok(ready) => ready,
        Err(error) => {
            let message = format!("{error:#}");
            tracing::error!(error = message, "afureko could not start");
            report_init_error(&message).await;
            return ExitCode::FAILURE;
        }
    };
    match run(state, retry).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

async fn init() -> anyhow::Result<(crate::http::AppState, Duration)> {
    let config = Config::from_env()?;
    let backend = startup::backend(&config).await?;
    let state = startup::state(
        &backend,
        config.public_url.clone(),
        config.twilio_api()?,
        Arc::new(SystemClock),
        config.rate_limits,
        startup::hook_client(&config)?,
    );
    // Not the whole numbering database (most of the init time before): the
    // first call from outside Japan's E.164 numbers loads it.
    crate::domain::phone::warm_up_japanese();
    Ok((state, config.copy_retry))
}

/// Tells the Runtime API why init failed, so Lambda shows the message and
/// not only `Runtime.ExitError`. Best effort: the process exits either way.
async fn report_init_error(message: &str) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let url = format!("http://{api}/2018-06-01/runtime/init/error");
    let body = serde_json::json!({ "errorMessage": message, "errorType": "Runtime.InitError" });
    let sent = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .map(|client| {
            client
                .post(url)
                .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
                .body(body.to_string())
                .send()
        });
    let outcome = match sent {
        Ok(request) => request.await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e.without_url(), "could not report the init error to the Runtime API");
    }
}

/// A batch from a DynamoDB stream, as opposed to the schedule's event.
fn is_stream_batch(event: &serde_json::Value) -> bool {
    event["Records"]
        .as_array()
        .and_then(|records| records.first())
        .is_some_and(|first| first["eventSource"] == "aws:dynamodb")
}

async fn run(state: crate::http::AppState, retry: Duration) -> anyhow::Result<()> {
    use lambda_http::lambda_runtime::{LambdaEvent, run, service_fn};
    match std::env::var("AFUREKO_LAMBDA_ROLE").as_deref() {
        Ok("sweeper") => {
            let handler = service_fn(move |event: LambdaEvent<serde_json::Value>| {
                let state = state.clone();
                async move {
                    let answer = sweeper_event(&state, &event.payload).await;
                    crate::monitoring::flush_emf();
                    answer
                }
            });
            run(handler)
                .await
                .map_err(|e| anyhow::anyhow!(e))
                .context("the sweeper's Lambda runtime stopped")
        }
        Ok("notifier") => {
            let handler = service_fn(move |event: LambdaEvent<serde_json::Value>| {
                let state = state.clone();
                async move {
                    let (notifier, now) = (&state.notifier, state.clock.now());
                    if is_stream_batch(&event.payload) {
                        let queue = notifier.queue().as_ref();
                        let queued =
                            crate::notify::relay::from_stream(queue, &event.payload, now).await?;
                        return Ok::<_, lambda_http::Error>(
                            serde_json::json!({ "queued": queued }),
                        );
                    }
                    if event.payload["source"] == "aws.events" {
                        let (store, endpoints) = (state.store.as_ref(), state.endpoints.as_ref());
                        let announced =
                            crate::notify::overdue::sweep(store, endpoints, now).await?;
                        tracing::info!(announced, "overdue sweep");
                        return Ok(serde_json::json!({ "announced": announced }));
                    }
                    let batch: SqsEvent = serde_json::from_value(event.payload)?;
                    let response = notify_batch(notifier, batch).await;
                    Ok(serde_json::to_value(response)?)
                }
            });
            run(handler)
                .await
                .map_err(|e| anyhow::anyhow!(e))
                .context("the notifier's Lambda runtime stopped")
        }
        Ok("copier") => {
            let copier = state.copier.clone();
            let handler = service_fn(move |event: LambdaEvent<SqsEvent>| {
                let copier = copier.clone();
                async move {
                    let response = copy_batch(&copier, event.payload, retry).await;
                    crate::monitoring::flush_emf();
                    Ok::<_, lambda_http::Error>(response)
                }
            });
            run(handler)
                .await
                .map_err(|e| anyhow::anyhow!(e))
                .context("the copier's Lambda runtime stopped")
        }
        _ => {
            let app = crate::http::app(state).layer(axum::middleware::from_fn(flush_after));
            lambda_http::run(app)
                .await
                .map_err(|e| anyhow::anyhow!(e))
                .context("the Lambda runtime stopped")
        }
    }
}

/// Each invocation's figures leave with it: the environment may be frozen
/// until the next.
async fn flush_after(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    crate::monitoring::flush_emf();
    response
}

/// The sweeper role. A batch of the table's stream: the recordings of the
/// records the TTL removed, answered with the stream's partial batch
/// response (`ReportBatchItemFailures`: the retry starts at the change that
/// failed). The schedule's event: the re-drive of dead copy jobs, then the
/// reconciliation of every tenant.
pub async fn sweeper_event(
    state: &crate::http::AppState,
    event: &serde_json::Value,
) -> Result<serde_json::Value, lambda_http::Error> {
    if is_stream_batch(event) {
        let batch = crate::calls::retention::removed_from_table(
            state.store.as_ref(),
            state.audio.as_ref(),
            event,
        )
        .await;
        tracing::info!(
            records = batch.purged.records,
            recordings = batch.purged.recordings,
            failed_at = batch.failed_at.as_deref(),
            "expired records' recordings deleted"
        );
        let failures: Vec<_> = batch
            .failed_at
            .iter()
            .map(|sequence| serde_json::json!({ "itemIdentifier": sequence }))
            .collect();
        return Ok(serde_json::json!({ "batchItemFailures": failures }));
    }
    let report = state.copier.sweep(SWEEP_LIMIT).await?;
    let (redriven, depth) = (report.redriven, report.depth);
    tracing::info!(
        requeued = redriven.requeued,
        unreadable = redriven.unreadable,
        waiting = depth.waiting,
        in_flight = depth.in_flight,
        dead = depth.dead,
        "sweep"
    );
    let reconciled = state.reconciler.run_all(false).await?;
    tracing::info!(?reconciled, "reconciliation");
    Ok(serde_json::json!({
        "requeued": redriven.requeued,
        "unreadable": redriven.unreadable,
        "waiting": depth.waiting,
        "in_flight": depth.in_flight,
        "dead": depth.dead,
        "lost_calls_kept": reconciled.kept,
        "lost_calls_withheld": reconciled.withheld,
    }))
}

/// The copier role: works every message of the batch at once. A message to
/// try again is handed back with its delay and reported as a batch item
/// failure; Lambda deletes the others. Past the queue's receives SQS moves
/// it to the dead-letter queue.
pub async fn copy_batch(
    copier: &Arc<RecordingCopier>,
    event: SqsEvent,
    retry_base: Duration,
) -> SqsBatchResponse {
    let mut jobs = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for message in event.records {
        let (Some(id), Some(receipt)) = (message.message_id, message.receipt_handle) else {
            continue;
        };
        let delivery = Delivery {
            job: message.body.as_deref().and_then(CopyJob::from_json),
            receipt,
            receives: message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
        };
        if delivery.job.is_none() {
            tracing::warn!(message_id = id, "a copy job that does not parse");
        }
        ids.push(id.clone());
        let copier = copier.clone();
        jobs.spawn(async move { (id, copier.work(&delivery, retry_base).await) });
    }
    let mut done = std::collections::HashSet::new();
    let mut report = WorkReport::default();
    while let Some(joined) = jobs.join_next().await {
        match joined {
            Ok((id, worked)) => {
                report.add(worked);
                if worked.is_done() {
                    done.insert(id);
                }
            }
            Err(e) => tracing::error!(error = %e, "a copy job panicked"),
        }
    }
    tracing::info!(?report, "copy batch");
    failures(ids, &done)
}

/// Every message not known to be done, a panicked one too, reported as a
/// batch item failure: Lambda leaves it on the queue.
fn failures(ids: Vec<String>, done: &std::collections::HashSet<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for id in ids.into_iter().filter(|id| !done.contains(id)) {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// The notifier role, fed by the notification queue: works every message
/// of the batch at once; one to try again is handed back with its delay
/// and reported as a batch item failure.
pub async fn notify_batch(notifier: &Arc<Notifier>, event: SqsEvent) -> SqsBatchResponse {
    let mut jobs = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for message in event.records {
        let (Some(id), Some(receipt)) = (message.message_id, message.receipt_handle) else {
            continue;
        };
        let delivery = NotifyDelivery {
            job: message.body.as_deref().and_then(NotifyJob::from_json),
            receipt,
            receives: message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
        };
        ids.push(id.clone());
        let notifier = notifier.clone();
        jobs.spawn(async move { (id, notifier.work(&delivery).await) });
    }
    let mut done = std::collections::HashSet::new();
    let mut report = NotifyReport::default();
    while let Some(joined) = jobs.join_next().await {
        match joined {
            Ok((id, sent)) => {
                report.add(sent);
                if sent.is_settled() {
                    done.insert(id);
                }
            }
            Err(e) => tracing::error!(error = %e, "a notification job panicked"),
        }
    }
    tracing::info!(?report, "notification batch");
    failures(ids, &done)
}
