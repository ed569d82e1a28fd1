//! Operations: the sweep (recording copies, retention) and AWS set-up.

use crate::config::Config;
use crate::startup;
use anyhow::Context;

pub async fn sweep(config: &Config, limit: usize) -> anyhow::Result<()> {
    let backend = startup::backend(config).await?;
    let state = startup::state(
        &backend,
        config.public_url.clone(),
        config.twilio_api()?,
        std::sync::Arc::new(crate::clock::SystemClock),
        config.rate_limits,
    );
    let report = state
        .copier
        .sweep(limit)
        .await
        .context("the recording sweep failed")?;
    println!(
        "sweep: {} stored, {} failed (will retry), {} given up, {} skipped; Twilio's copies: {} deleted, {} deletes failed",
        report.stored,
        report.failed,
        report.gave_up,
        report.skipped,
        report.deleted,
        report.delete_failed
    );
    let purged = crate::calls::retention::purge_expired(
        backend.store.as_ref(),
        backend.audio.as_ref(),
        limit,
    )
    .await
    .context("the retention sweep failed")?;
    println!(
        "retention: {} expired records deleted with {} recordings",
        purged.records, purged.recordings
    );
    Ok(())
}

pub async fn aws_init(config: &Config) -> anyhow::Result<()> {
    let target = config.aws.as_ref().context(
        "AFUREKO_TABLE and AFUREKO_BUCKET: set both to name the table and bucket to create",
    )?;
    let sdk = startup::sdk_config().await;
    let table =
        crate::store::dynamo::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &target.table)
            .await
            .with_context(|| format!("cannot create table {}", target.table))?;
    println!("table {}: {table}", target.table);
    let bucket = crate::store::s3::create_bucket(&startup::s3_client(&sdk), &target.bucket)
        .await
        .with_context(|| format!("cannot create bucket {}", target.bucket))?;
    println!("bucket {}: {bucket}", target.bucket);
    Ok(())
}
