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

use crate::calls::recordings::{RecordingCopier, SWEEP_LIMIT, WorkReport, Worked};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::notify::sender::{Notifier, NotifyReport, Sent};
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
                    let answer = notifier_event(&state, event.payload).await;
                    crate::monitoring::flush_emf();
                    answer
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

/// The notifier role. A batch of the table's stream: the outbox of the
/// writes that raised something, queued as jobs. The schedule's event: the
/// overdue sweep. Anything else is a batch of the notification queue.
pub async fn notifier_event(
    state: &crate::http::AppState,
    event: serde_json::Value,
) -> Result<serde_json::Value, lambda_http::Error> {
    let (notifier, now) = (&state.notifier, state.clock.now());
    if is_stream_batch(&event) {
        let queue = notifier.queue().as_ref();
        let queued = crate::notify::relay::from_stream(queue, &event, now).await?;
        return Ok(serde_json::json!({ "queued": queued }));
    }
    if event["source"] == "aws.events" {
        let (store, endpoints) = (state.store.as_ref(), state.endpoints.as_ref());
        let announced = crate::notify::overdue::sweep(store, endpoints, now).await?;
        tracing::info!(announced, "overdue sweep");
        return Ok(serde_json::json!({ "announced": announced }));
    }
    let batch: SqsEvent = serde_json::from_value(event)?;
    Ok(serde_json::to_value(notify_batch(notifier, batch).await)?)
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

/// Works every message of an SQS batch at once: `start` makes each one's
/// work from its id, body, receipt and receives so far; `settled` says
/// which outcomes are done. The others, a panicked job too, are answered as
/// batch item failures: Lambda leaves them on the queue.
async fn work_batch<T, F>(
    event: SqsEvent,
    queue: &'static str,
    mut start: impl FnMut(&str, Option<&str>, String, u32) -> F,
    settled: impl Fn(&T) -> bool,
) -> (Vec<T>, SqsBatchResponse)
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut jobs = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for message in event.records {
        let (Some(id), Some(receipt)) = (message.message_id, message.receipt_handle) else {
            continue;
        };
        let receives = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let work = start(&id, message.body.as_deref(), receipt, receives);
        ids.push(id.clone());
        jobs.spawn(async move { (id, work.await) });
    }
    let mut done = std::collections::HashSet::new();
    let mut outcomes = Vec::new();
    while let Some(joined) = jobs.join_next().await {
        match joined {
            Ok((id, outcome)) => {
                if settled(&outcome) {
                    done.insert(id);
                }
                outcomes.push(outcome);
            }
            Err(e) => tracing::error!(error = %e, queue, "a job panicked"),
        }
    }
    let mut response = SqsBatchResponse::default();
    for id in ids.into_iter().filter(|id| !done.contains(id)) {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    (outcomes, response)
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
    let start = |id: &str, body: Option<&str>, receipt, receives| {
        let delivery = Delivery {
            job: body.and_then(CopyJob::from_json),
            receipt,
            receives,
        };
        if delivery.job.is_none() {
            tracing::warn!(message_id = id, "a copy job that does not parse");
        }
        let copier = copier.clone();
        async move { copier.work(&delivery, retry_base).await }
    };
    let (outcomes, response) = work_batch(event, "copy", start, |w: &Worked| w.is_done()).await;
    let mut report = WorkReport::default();
    outcomes.into_iter().for_each(|w| report.add(w));
    tracing::info!(?report, "copy batch");
    response
}

/// The notifier role, fed by the notification queue: works every message
/// of the batch at once; one to try again is handed back with its delay
/// and reported as a batch item failure.
pub async fn notify_batch(notifier: &Arc<Notifier>, event: SqsEvent) -> SqsBatchResponse {
    let start = |_: &str, body: Option<&str>, receipt, receives| {
        let delivery = NotifyDelivery {
            job: body.and_then(NotifyJob::from_json),
            receipt,
            receives,
        };
        let notifier = notifier.clone();
        async move { notifier.work(&delivery).await }
    };
    let (outcomes, response) = work_batch(event, "notify", start, |s: &Sent| s.is_settled()).await;
    let mut report = NotifyReport::default();
    outcomes.into_iter().for_each(|s| report.add(s));
    tracing::info!(?report, "notification batch");
    response
}
