//! Recordings in S3: `recordings/{tenant}/{call_sid}/{recording_sid}.wav`,
//! server-side encrypted; agents get short-lived presigned links.

use super::{BoxError, RecordingAccess, RecordingStore, StoreError};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use std::time::Duration;

/// Long enough to start playing, short enough that a leaked link is stale.
pub const PRESIGNED_FOR: Duration = Duration::from_secs(300);

pub struct S3RecordingStore {
    client: Client,
    bucket: String,
}

fn backend(op: &'static str, e: impl Into<BoxError>) -> StoreError {
    StoreError::S3 {
        op,
        source: e.into(),
    }
}

impl S3RecordingStore {
    pub fn new(client: Client, bucket: String) -> Self {
        S3RecordingStore { client, bucket }
    }
}

#[async_trait]
impl RecordingStore for S3RecordingStore {
    async fn put_file(
        &self,
        key: &str,
        file: &std::path::Path,
        content_type: &str,
    ) -> Result<(), StoreError> {
        // Streamed from the file with its length known, as PutObject needs.
        let body = ByteStream::from_path(file)
            .await
            .map_err(|e| backend("upload", e))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(body)
            .send()
            .await
            .map_err(|e| backend("upload", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| backend("download", e))?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|se| se.is_no_such_key()) => Ok(None),
            Err(e) => Err(backend("download", e)),
        }
    }

    async fn access(&self, key: &str) -> Result<Option<RecordingAccess>, StoreError> {
        let config =
            PresigningConfig::expires_in(PRESIGNED_FOR).map_err(|e| backend("presign", e))?;
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| backend("presign", e))?;
        Ok(Some(RecordingAccess::Redirect(presigned.uri().to_owned())))
    }

    /// S3 answers a delete of a missing key with success.
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| backend("delete", e))?;
        Ok(())
    }
}

/// Creates the bucket if missing, with default encryption and public access
/// blocked; says which it did.
pub async fn create_bucket(client: &Client, bucket: &str) -> Result<&'static str, StoreError> {
    use aws_sdk_s3::types::{
        PublicAccessBlockConfiguration, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    // us-east-1 answers 200 to re-creating one's own bucket: ask first.
    if client.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok("exists");
    }
    match client.create_bucket().bucket(bucket).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error().is_some_and(|se| {
                se.is_bucket_already_owned_by_you() || se.is_bucket_already_exists()
            }) =>
        {
            return Ok("exists");
        }
        Err(e) => return Err(backend("bucket creation", e)),
    }
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .map_err(|e| backend("encryption settings", e))?,
                )
                .build(),
        )
        .build()
        .map_err(|e| backend("encryption settings", e))?;
    let encrypted = client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(encryption)
        .send()
        .await;
    unless_not_implemented("bucket encryption", encrypted)?;
    let blocked = client
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await;
    unless_not_implemented("public access block", blocked)?;
    Ok("created")
}

/// Some local S3 servers lack bucket settings; AWS has them all. Objects
/// still ask for encryption on every upload.
fn unless_not_implemented<T, E, R>(
    what: &'static str,
    result: Result<T, aws_sdk_s3::error::SdkError<E, R>>,
) -> Result<(), StoreError>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().and_then(|se| se.code()) == Some("NotImplemented") => {
            tracing::warn!("this S3 server does not support {what}; skipped");
            Ok(())
        }
        Err(e) => Err(backend(what, e)),
    }
}
