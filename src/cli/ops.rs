//! Operations: the recording sweep and AWS set-up.

use super::store;
use crate::config::Config;
use crate::startup;

pub async fn sweep(config: &Config, limit: usize) -> Result<(), String> {
    let backend = store(config).await?;
    let state = startup::state(
        &backend,
        config.public_url.clone(),
        &config.twilio_api_base,
        std::sync::Arc::new(crate::clock::SystemClock),
    )
    .map_err(|e| e.to_string())?;
    let report = state.copier.sweep(limit).await.map_err(|e| e.to_string())?;
    println!(
        "sweep: {} stored, {} failed (will retry), {} given up, {} skipped",
        report.stored, report.failed, report.gave_up, report.skipped
    );
    Ok(())
}
pub async fn aws_init(config: &Config) -> Result<(), String> {
    let target = config.aws.as_ref().ok_or(
        "AFUREKO_TABLE and AFUREKO_BUCKET: set both to name the table and bucket to create",
    )?;
    let sdk = startup::sdk_config().await;
    let table =
        crate::store::dynamo::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &target.table)
            .await
            .map_err(|e| e.to_string())?;
    println!("table {}: {table}", target.table);
    let bucket = crate::store::s3::create_bucket(&startup::s3_client(&sdk), &target.bucket)
        .await
        .map_err(|e| e.to_string())?;
    println!("bucket {}: {bucket}", target.bucket);
    Ok(())
}
