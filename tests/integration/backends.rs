//! The backends the shared suites run on: embedded, DynamoDB + S3 on moto,
//! DynamoDB on dynalite with S3 on s3s-fs (which checks SigV4). The local
//! servers are started by scripts/test (scripts/local-aws); a missing one
//! fails the test, it never skips.

use afureko::startup::{self, Backend};
use afureko::store::dynamo::{DynamoStore, create_table};
use afureko::store::s3::{S3RecordingStore, create_bucket};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Embedded,
    Moto,
    DynaliteAndS3sFs,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with scripts/test, which starts the local AWS servers"
        )
    })
}

/// An SDK configuration that can only reach `endpoint` on 127.0.0.1.
fn sdk(endpoint: &str, key: &str, secret: &str) -> SdkConfig {
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "tests stay on loopback"
    );
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            Credentials::new(key, secret, None, None, "afureko-tests"),
        ))
        .build()
}

pub fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk(endpoint, "test", "test"))
}

/// A fresh table and bucket (or data dir) per call, so tests never share state.
pub struct TestBackend {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    /// For S3 fault tests: creates the bucket later.
    pub s3: Option<(aws_sdk_s3::Client, String)>,
}

pub async fn make(kind: Kind) -> TestBackend {
    make_with(kind, true).await
}

/// `with_bucket: false` leaves the bucket missing, as in an S3 outage.
pub async fn make_with(kind: Kind, with_bucket: bool) -> TestBackend {
    let dir = tempfile::tempdir().expect("temp dir");
    let name = format!("afureko-{}", uuid::Uuid::new_v4().simple());
    let (dynamo_sdk, s3_sdk) = match kind {
        Kind::Embedded => {
            return TestBackend {
                backend: startup::embedded(dir.path()).expect("embedded store"),
                dir,
                s3: None,
            };
        }
        Kind::Moto => {
            let moto = env("AFUREKO_TEST_MOTO_URL");
            (sdk(&moto, "test", "test"), sdk(&moto, "test", "test"))
        }
        Kind::DynaliteAndS3sFs => (
            sdk(&env("AFUREKO_TEST_DYNALITE_URL"), "test", "test"),
            sdk(
                &env("AFUREKO_TEST_S3S_URL"),
                &env("AFUREKO_TEST_S3S_ACCESS_KEY"),
                &env("AFUREKO_TEST_S3S_SECRET_KEY"),
            ),
        ),
    };
    let dynamo = aws_sdk_dynamodb::Client::new(&dynamo_sdk);
    create_table(&dynamo, &name).await.expect("create table");
    let s3 = startup::s3_client(&s3_sdk);
    if with_bucket {
        create_bucket(&s3, &name).await.expect("create bucket");
    }
    TestBackend {
        backend: Backend {
            store: Arc::new(DynamoStore::new(dynamo, name.clone())),
            audio: Arc::new(S3RecordingStore::new(s3.clone(), name.clone())),
        },
        dir,
        s3: Some((s3, name)),
    }
}
