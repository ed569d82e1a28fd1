//! Operations: the sweep (re-drives dead copy jobs, retention) and AWS
//! set-up.

use crate::config::Config;
use crate::startup;
use crate::store::aws;
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
    let (redriven, depth) = (report.redriven, report.depth);
    println!(
        "sweep: {} re-driven, {} unreadable; copy queue: {} waiting, {} in flight, {} dead",
        redriven.requeued, redriven.unreadable, depth.waiting, depth.in_flight, depth.dead
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
        "AFUREKO_TABLE and AFUREKO_BUCKET: set both (and the copy queue URLs) to name what to create",
    )?;
    let sdk = aws::sdk_config().await;
    let table =
        crate::store::dynamo::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &target.table)
            .await
            .with_context(|| format!("cannot create table {}", target.table))?;
    println!("table {}: {table}", target.table);
    let bucket = crate::store::s3::create_bucket(&aws::s3_client(&sdk), &target.bucket)
        .await
        .with_context(|| format!("cannot create bucket {}", target.bucket))?;
    println!("bucket {}: {bucket}", target.bucket);
    let (sqs, _) = aws::sqs_clients(&sdk);
    crate::store::sqs::create_queues(&sqs, &target.copy_queue_url, &target.copy_dlq_url)
        .await
        .context("cannot create the copy queues")?;
    println!(
        "copy queue {} and dead-letter queue {}: ready",
        target.copy_queue_url, target.copy_dlq_url
    );
    Ok(())
}

pub async fn aws_migrate(config: &Config) -> anyhow::Result<()> {
    let target = config
        .aws
        .as_ref()
        .context("AFUREKO_TABLE and AFUREKO_BUCKET: set both to name the table to migrate")?;
    let sdk = aws::sdk_config().await;
    let store = crate::store::dynamo::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        target.table.clone(),
    );
    let report = store
        .migrate_open_numbers()
        .await
        .with_context(|| format!("cannot migrate table {}", target.table))?;
    let rekeyed = store
        .migrate_list_keys()
        .await
        .with_context(|| format!("cannot migrate table {}", target.table))?;
    println!(
        "table {}: {} open records indexed by number, {} closed records unindexed; \
         {} open records hold their number, {} share it with an older open record; \
         {rekeyed} records given the keys of the number search and the open orders",
        target.table, report.indexed, report.unindexed, report.guarded, report.shared
    );
    Ok(())
}
