//! The backends the shared suites run on: embedded, DynamoDB + S3 + SQS on
//! moto, DynamoDB on dynalite with S3 on s3s-fs (which checks SigV4) and
//! SQS on moto. The local servers are started by scripts/test
//! (scripts/local-aws). The tests on them are `#[ignore = "needs local
//! AWS: …"]`, so a plain `cargo test` lists them as ignored; scripts/test
//! runs them (`--include-ignored`), and there a missing server fails them.

use crate::meter::Meter;
use afureko::clock::FixedClock;
use afureko::secrets::SecretKey;
use afureko::startup::{self, Backend};
use afureko::store::aws;
use afureko::store::dynamo::{DynamoStore, create_table};
use afureko::store::key_record::KeySource;
use afureko::store::s3::{S3RecordingStore, create_bucket};
use afureko::store::sqs::{SqsCopyQueue, SqsNotifyQueue, create_notify_queues, create_queues};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Embedded,
    Moto,
    DynaliteAndS3sFs,
}

/// The variables (from `target/local-aws/env`) that `kind` needs.
fn variables(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Embedded => &[],
        Kind::Moto => &["AFUREKO_TEST_MOTO_URL"],
        Kind::DynaliteAndS3sFs => &[
            "AFUREKO_TEST_MOTO_URL",
            "AFUREKO_TEST_DYNALITE_URL",
            "AFUREKO_TEST_S3S_URL",
            "AFUREKO_TEST_S3S_ACCESS_KEY",
            "AFUREKO_TEST_S3S_SECRET_KEY",
        ],
    }
}

/// `$test`, a test on the backend `$kind`: on the local AWS servers it is
/// ignored, so a plain `cargo test` lists it as such instead of passing it
/// unrun; `--include-ignored` (scripts/test) runs it.
#[macro_export]
macro_rules! backend_test {
    (Embedded, $($test:tt)*) => {
        $($test)*
    };
    ($aws:ident, $($test:tt)*) => {
        #[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
        $($test)*
    };
}

/// Fails the test unless the local servers `kind` needs are configured: a
/// test on them runs only when asked for (`--include-ignored`), and then
/// it must not pass without them.
pub fn require(kind: Kind) {
    if let Some(missing) = variables(kind)
        .iter()
        .find(|name| std::env::var_os(name).is_none())
    {
        panic!(
            "{missing} is not set: start the local AWS servers \
             (scripts/local-aws start && . target/local-aws/env), or run scripts/test"
        );
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with scripts/test, which starts the local AWS servers"
        )
    })
}

/// An SDK configuration that can only reach `endpoint` on 127.0.0.1.
pub fn sdk(endpoint: &str, key: &str, secret: &str) -> SdkConfig {
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
        .timeout_config(aws::dynamo_timeouts())
        .build()
}

pub fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk(endpoint, "test", "test"))
}

/// A fresh copy queue and dead-letter queue on moto, as `afureko aws init`
/// makes them.
pub async fn copy_queue(name: &str) -> SqsCopyQueue {
    copy_queue_seen_by(name, None).await
}

/// `copy_queue`, its clients seen by `intercept`.
/// The SQS clients (sender, poller) on moto, seen by `intercept` if any.
fn sqs_clients_seen_by(
    intercept: Option<&SharedInterceptor>,
) -> (aws_sdk_sqs::Client, aws_sdk_sqs::Client) {
    let (client, poller) = aws::sqs_clients(&sdk(&env("AFUREKO_TEST_MOTO_URL"), "test", "test"));
    let Some(intercept) = intercept else {
        return (client, poller);
    };
    let with = |c: &aws_sdk_sqs::Client| {
        let config = c.config().to_builder().interceptor(intercept.clone());
        aws_sdk_sqs::Client::from_conf(config.build())
    };
    (with(&client), with(&poller))
}

async fn copy_queue_seen_by(name: &str, intercept: Option<&SharedInterceptor>) -> SqsCopyQueue {
    let (queue, dlq) = queue_urls(&env("AFUREKO_TEST_MOTO_URL"), name);
    // Made by the test, not seen as any function's doing.
    create_queues(&sqs_clients_seen_by(None).0, &queue, &dlq)
        .await
        .expect("create queues");
    let (client, poller) = sqs_clients_seen_by(intercept);
    SqsCopyQueue::new(client, poller, queue, dlq)
}

/// A fresh notification queue and dead-letter queue on moto, as `afureko
/// aws init` makes them.
async fn notify_queue_seen_by(name: &str, intercept: Option<&SharedInterceptor>) -> SqsNotifyQueue {
    let moto = env("AFUREKO_TEST_MOTO_URL");
    let queue = format!("{moto}/123456789012/{name}-notify");
    let dlq = format!("{moto}/123456789012/{name}-notify-dlq");
    create_notify_queues(&sqs_clients_seen_by(None).0, &queue, &dlq)
        .await
        .expect("create queues");
    let (client, poller) = sqs_clients_seen_by(intercept);
    SqsNotifyQueue::new(client, poller, queue, dlq)
}

/// The URLs of `name`'s copy queue and dead-letter queue on moto.
pub fn queue_urls(moto: &str, name: &str) -> (String, String) {
    (
        format!("{moto}/123456789012/{name}-copy"),
        format!("{moto}/123456789012/{name}-copy-dlq"),
    )
}

/// A fresh table and bucket (or data dir) per call, so tests never share state.
pub struct TestBackend {
    pub backend: Backend,
    /// Decides what has expired; the app's clock too.
    pub clock: Arc<FixedClock>,
    pub dir: tempfile::TempDir,
    /// For S3 fault tests: creates the bucket later.
    pub s3: Option<(aws_sdk_s3::Client, String)>,
}

pub async fn make(kind: Kind) -> TestBackend {
    make_with(kind, true).await
}

/// `with_bucket: false` leaves the bucket missing, as in an S3 outage.
pub async fn make_with(kind: Kind, with_bucket: bool) -> TestBackend {
    make_inner(kind, with_bucket, None, None).await
}

/// An AWS backend whose DynamoDB and S3 clients report to `meter`.
pub async fn make_metered(kind: Kind, meter: &Meter) -> TestBackend {
    make_inner(kind, true, Some(meter), None).await
}

/// An AWS backend every one of whose SDK clients (DynamoDB, S3, SQS, KMS)
/// `intercept` sees; its key record was made by a first start and read by
/// a second, as a deployment's functions do.
pub async fn make_seen_by(kind: Kind, intercept: SharedInterceptor) -> TestBackend {
    make_inner(kind, true, None, Some(intercept)).await
}

async fn make_inner(
    kind: Kind,
    with_bucket: bool,
    meter: Option<&Meter>,
    intercept: Option<SharedInterceptor>,
) -> TestBackend {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(FixedClock::new(crate::helpers::NOW.parse().unwrap()));
    let name = format!("afureko-{}", uuid::Uuid::new_v4().simple());
    let (dynamo_sdk, s3_sdk) = match kind {
        Kind::Embedded => {
            return TestBackend {
                backend: startup::embedded(dir.path(), &Default::default(), clock.clone())
                    .await
                    .expect("embedded store"),
                clock,
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
    let mut dynamo = aws_sdk_dynamodb::Client::new(&dynamo_sdk);
    create_table(&dynamo, &name).await.expect("create table");
    let mut s3 = aws::s3_client(&s3_sdk);
    if let Some(meter) = meter {
        meter.learn_table(&dynamo, &name).await;
        let config = dynamo.config().to_builder().interceptor(meter.clone());
        dynamo = aws_sdk_dynamodb::Client::from_conf(config.build());
        let config = s3.config().to_builder().interceptor(meter.clone());
        s3 = aws_sdk_s3::Client::from_conf(config.build());
    }
    if with_bucket {
        create_bucket(&s3, &name).await.expect("create bucket");
    }
    let mut kms = aws::kms_client(&dynamo_sdk);
    if let Some(intercept) = &intercept {
        let config = dynamo.config().to_builder().interceptor(intercept.clone());
        dynamo = aws_sdk_dynamodb::Client::from_conf(config.build());
        let config = s3.config().to_builder().interceptor(intercept.clone());
        s3 = aws_sdk_s3::Client::from_conf(config.build());
        let config = kms.config().to_builder().interceptor(intercept.clone());
        kms = aws_sdk_kms::Client::from_conf(config.build());
    }
    let store = Arc::new(DynamoStore::new(dynamo, name.clone()).with_clock(clock.clone()));
    // Secrets sealed as deployed: moto serves KMS; dynalite gets a local key.
    let source = match kind {
        Kind::Moto => KeySource::Kms {
            client: kms,
            key_id: new_kms_key(&dynamo_sdk).await,
        },
        _ => KeySource::Env(random_key()),
    };
    let sealed = startup::sealed(store.clone(), &source)
        .await
        .expect("the key record");
    if intercept.is_some() {
        // A second start reads the record the first one made.
        startup::sealed(store.clone(), &source)
            .await
            .expect("the key record, again");
    }
    TestBackend {
        backend: Backend {
            store: sealed.store,
            audio: Arc::new(S3RecordingStore::new(s3.clone(), name.clone())),
            idempotency: store.clone(),
            agents: store.clone(),
            audit: store.clone(),
            reconciled: store,
            queue: Arc::new(copy_queue_seen_by(&name, intercept.as_ref()).await),
            endpoints: sealed.endpoints,
            notify_queue: Arc::new(notify_queue_seen_by(&name, intercept.as_ref()).await),
        },
        clock,
        dir,
        s3: Some((s3, name)),
    }
}

/// A new symmetric key in moto's KMS; its id.
pub async fn new_kms_key(sdk: &SdkConfig) -> String {
    aws::kms_client(sdk)
        .create_key()
        .send()
        .await
        .expect("create a KMS key")
        .key_metadata
        .expect("the key's metadata")
        .key_id
}

/// A fresh random key, as `AFUREKO_SECRET_KEY` gives one.
pub fn random_key() -> SecretKey {
    SecretKey::parse(&random_key_text()).expect("32 bytes")
}

pub fn random_key_text() -> String {
    use base64::Engine;
    let bytes: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|u| u.into_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
