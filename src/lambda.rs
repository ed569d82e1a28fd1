//! Inside AWS Lambda (`AWS_LAMBDA_RUNTIME_API` is set): the same Router on
//! `lambda_http`, or, with `AFUREKO_LAMBDA_ROLE=sweeper`, the scheduled
//! recording sweeper. Everything is built once at init, with no network.

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
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "afureko could not start");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let backend = startup::backend(&config).await?;
    let state = startup::state(
        &backend,
        config.public_url.clone(),
        config.twilio_api()?,
        Arc::new(SystemClock),
    );
    crate::domain::phone::warm_up();
    if std::env::var("AFUREKO_LAMBDA_ROLE").as_deref() == Ok("sweeper") {
        let copier = state.copier.clone();
        let handler = lambda_http::lambda_runtime::service_fn(
            move |_event: lambda_http::lambda_runtime::LambdaEvent<serde_json::Value>| {
                let copier = copier.clone();
                async move {
                    let report = copier.sweep(SWEEP_LIMIT).await?;
                    tracing::info!(
                        stored = report.stored,
                        failed = report.failed,
                        gave_up = report.gave_up,
                        "sweep"
                    );
                    Ok::<_, lambda_http::Error>(serde_json::json!({
                        "stored": report.stored,
                        "failed": report.failed,
                        "gave_up": report.gave_up,
                        "skipped": report.skipped,
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
