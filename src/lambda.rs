//! Inside AWS Lambda (`AWS_LAMBDA_RUNTIME_API` is set): the same Router on
//! `lambda_http`, or, with `AFUREKO_LAMBDA_ROLE=sweeper`, the sweeper: the
//! scheduled recording sweep, and the table's stream of TTL deletions
//! (retention), told apart by the event. Everything is built once at init;
//! the only network step is reading the key record of tenants' secrets
//! (and, with KMS, one Decrypt of its data key), so a wrong key fails init,
//! not every request.

use crate::clock::SystemClock;
use crate::config::Config;
use crate::startup;
use anyhow::Context;
use std::process::ExitCode;
use std::sync::Arc;

/// Records looked at by one scheduled sweep.
const SWEEP_LIMIT: usize = 500;

pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

pub async fn main() -> ExitCode {
    // Lambda's JSON log format, or text when the function asks for it.
    let json =
        std::env::var("AWS_LAMBDA_LOG_FORMAT").map_or(true, |f| f.eq_ignore_ascii_case("json"));
    crate::telemetry::init(json, "info");
    let state = match init().await {
        Ok(state) => state,
        Err(error) => {
            let message = format!("{error:#}");
            tracing::error!(error = message, "afureko could not start");
            report_init_error(&message).await;
            return ExitCode::FAILURE;
        }
    };
    match run(state).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

async fn init() -> anyhow::Result<crate::http::AppState> {
    let config = Config::from_env()?;
    let backend = startup::backend(&config).await?;
    let state = startup::state(
        &backend,
        config.public_url.clone(),
        config.twilio_api()?,
        Arc::new(SystemClock),
        config.rate_limits,
    );
    // Not the whole numbering database (most of the init time before): the
    // first call from outside Japan's E.164 numbers loads it.
    crate::domain::phone::warm_up_japanese();
    Ok(state)
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

async fn run(state: crate::http::AppState) -> anyhow::Result<()> {
    if std::env::var("AFUREKO_LAMBDA_ROLE").as_deref() == Ok("sweeper") {
        let copier = state.copier.clone();
        let handler = lambda_http::lambda_runtime::service_fn(
            move |event: lambda_http::lambda_runtime::LambdaEvent<serde_json::Value>| {
                let (copier, state) = (copier.clone(), state.clone());
                async move {
                    if is_stream_batch(&event.payload) {
                        let purged = crate::calls::retention::removed_from_table(
                            state.store.as_ref(),
                            state.audio.as_ref(),
                            &event.payload,
                        )
                        .await?;
                        tracing::info!(
                            records = purged.records,
                            recordings = purged.recordings,
                            "expired records' recordings deleted"
                        );
                        return Ok::<_, lambda_http::Error>(serde_json::json!({
                            "records": purged.records,
                            "recordings": purged.recordings,
                        }));
                    }
                    let report = copier.sweep(SWEEP_LIMIT).await?;
                    tracing::info!(
                        stored = report.stored,
                        failed = report.failed,
                        gave_up = report.gave_up,
                        deleted = report.deleted,
                        delete_failed = report.delete_failed,
                        "sweep"
                    );
                    Ok::<_, lambda_http::Error>(serde_json::json!({
                        "stored": report.stored,
                        "failed": report.failed,
                        "gave_up": report.gave_up,
                        "skipped": report.skipped,
                        "deleted": report.deleted,
                        "delete_failed": report.delete_failed,
                    }))
                }
            },
        );
        return lambda_http::lambda_runtime::run(handler)
            .await
            .map_err(|e| anyhow::anyhow!(e))
            .context("the sweeper's Lambda runtime stopped");
    }
    lambda_http::run(crate::http::app(state))
        .await
        .map_err(|e| anyhow::anyhow!(e))
        .context("the Lambda runtime stopped")
}
