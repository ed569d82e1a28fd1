//! The AWS SDK clients the AWS adapters (`dynamo`, `s3`, `sqs`) and the
//! key record (`key_record`, KMS) use: all from one `SdkConfig`, each with
//! a bound on how long a call may take.

use std::time::Duration;

/// The SDK's configuration, built once: region, credentials chain and
/// `AWS_ENDPOINT_URL` come from the environment. Nothing goes on the
/// network until a request is made.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(dynamo_timeouts())
        .load()
        .await
}

/// The SDK sets no read timeout by itself: a server that accepts and never
/// answers would hold a webhook forever. DynamoDB answers in milliseconds,
/// so a few seconds bound a call, retries included, well inside Twilio's
/// 15 s.
pub fn dynamo_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// S3 moves whole recordings: more time per attempt, still bounded.
pub fn s3_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(12))
        .build()
}

/// Local S3 servers (an endpoint override) need path-style addressing;
/// AWS itself does not.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .timeout_config(s3_timeouts())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// SQS clients: one with the usual short timeouts, one for long polls.
pub fn sqs_clients(sdk: &aws_config::SdkConfig) -> (aws_sdk_sqs::Client, aws_sdk_sqs::Client) {
    let poller = aws_sdk_sqs::config::Builder::from(sdk)
        .timeout_config(super::sqs::poll_timeouts())
        .build();
    (
        aws_sdk_sqs::Client::new(sdk),
        aws_sdk_sqs::Client::from_conf(poller),
    )
}

/// KMS answers in milliseconds, like DynamoDB, and is called at start-up only.
pub fn kms_client(sdk: &aws_config::SdkConfig) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::config::Builder::from(sdk)
        .timeout_config(dynamo_timeouts())
        .build();
    aws_sdk_kms::Client::from_conf(config)
}
