//! Wiring: configuration → stores → AppState → Router → listener.

use crate::calls::recordings::RecordingCopier;
use crate::clock::{Clock, SystemClock};
use crate::config::{AwsTarget, BaseUrl, Config};
use crate::http::{AppState, app};
use crate::store::agents::AgentStore;
use crate::store::copy_queue::CopyQueue;
use crate::store::dynamo::DynamoStore;
use crate::store::fs::FsRecordingStore;
use crate::store::idempotency::IdempotencyStore;
use crate::store::s3::S3RecordingStore;
use crate::store::sqlite::SqliteStore;
use crate::store::sqs::SqsCopyQueue;
use crate::store::tenant_cache::{self, TenantCache};
use crate::store::{RecordingStore, Store, StoreError};
use crate::twilio::api::{TwilioApi, TwilioApiError};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The cause is the `source`, not part of the message, so a printed chain
/// (`{:#}`) names it once.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot open the store")]
    Store(#[from] StoreError),
    #[error("cannot build the Twilio client")]
    Twilio(#[from] TwilioApiError),
    #[error("cannot listen on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server stopped")]
    Serve(#[source] std::io::Error),
}

/// The stores a deployment runs on.
#[derive(Clone)]
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub audio: Arc<dyn RecordingStore>,
    /// The API's Idempotency-Keys: in the same database as `store`.
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub agents: Arc<dyn AgentStore>,
    /// The recording copy queue: an outbox table in the same database
    /// (embedded), or SQS.
    pub queue: Arc<dyn CopyQueue>,
}

/// The embedded default: `afureko.db` and `recordings/` under `data_dir`.
pub async fn embedded(data_dir: &Path) -> Result<Backend, StartupError> {
    let store = Arc::new(SqliteStore::open(&data_dir.join("afureko.db")).await?);
    let audio = FsRecordingStore::new(data_dir.to_path_buf());
    Ok(Backend {
        store: cached_tenants(store.clone()),
        audio: Arc::new(audio),
        idempotency: store.clone(),
        agents: store.clone(),
        queue: store,
    })
}

/// Every webhook reads its tenant: read it from a cache that sees another
/// process's change within `tenant_cache::TTL`.
fn cached_tenants(store: Arc<dyn Store>) -> Arc<dyn Store> {
    Arc::new(TenantCache::new(
        store,
        Arc::new(SystemClock),
        tenant_cache::TTL,
    ))
}

pub fn state(
    backend: &Backend,
    public_url: BaseUrl,
    api: TwilioApi,
    clock: Arc<dyn Clock>,
) -> AppState {
    let copier = RecordingCopier::new(
        backend.store.clone(),
        backend.audio.clone(),
        backend.queue.clone(),
        api,
        clock.clone(),
    );
    AppState {
        store: backend.store.clone(),
        audio: backend.audio.clone(),
        idempotency: backend.idempotency.clone(),
        agents: backend.agents.clone(),
        copier: Arc::new(copier),
        public_url,
        clock,
    }
}

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
        .timeout_config(crate::store::sqs::poll_timeouts())
        .build();
    (
        aws_sdk_sqs::Client::new(sdk),
        aws_sdk_sqs::Client::from_conf(poller),
    )
}

/// DynamoDB + S3 + SQS, every client derived from one `SdkConfig`.
pub fn aws(sdk: &aws_config::SdkConfig, target: &AwsTarget) -> Backend {
    let dynamo = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        target.table.clone(),
    ));
    let (sqs, poller) = sqs_clients(sdk);
    Backend {
        store: cached_tenants(dynamo.clone()),
        audio: Arc::new(S3RecordingStore::new(s3_client(sdk), target.bucket.clone())),
        idempotency: dynamo.clone(),
        agents: dynamo,
        queue: Arc::new(SqsCopyQueue::new(
            sqs,
            poller,
            target.copy_queue_url.clone(),
            target.copy_dlq_url.clone(),
        )),
    }
}

/// The backend the configuration names: AWS when `AFUREKO_TABLE` and
/// `AFUREKO_BUCKET` (and the copy queues) are set, the embedded store
/// otherwise.
pub async fn backend(config: &Config) -> Result<Backend, StartupError> {
    match &config.aws {
        Some(target) => {
            tracing::info!(table = %target.table, bucket = %target.bucket, "AWS backend: DynamoDB, S3 and SQS");
            Ok(aws(&sdk_config().await, target))
        }
        None => {
            let backend = embedded(&config.data_dir).await?;
            tracing::warn!(
                data_dir = %config.data_dir.display(),
                "embedded store (local storage on this machine): afureko.db and recordings/ in the data dir"
            );
            Ok(backend)
        }
    }
}

pub async fn serve(config: Config) -> Result<(), StartupError> {
    let backend = backend(&config).await?;
    if config.public_url_defaulted {
        tracing::warn!(
            public_url = config.public_url.as_str(),
            "AFUREKO_PUBLIC_URL is not set: signatures are checked against the local address, which Twilio cannot reach"
        );
    }
    let state = state(
        &backend,
        config.public_url.clone(),
        config.twilio_api()?,
        Arc::new(SystemClock),
    );
    // Off the start-up path, so serving starts at once.
    tokio::task::spawn_blocking(crate::domain::phone::warm_up);
    tokio::task::spawn_blocking(|| {
        // An hour is far past any copy's budget: what is older was left by a killed process.
        let removed = crate::calls::recordings::remove_stale_spools(
            &std::env::temp_dir(),
            std::time::Duration::from_secs(3600),
        );
        if removed > 0 {
            tracing::info!(removed, "removed download spools left by a stopped process");
        }
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartupError::Listen {
            addr: config.listen,
            source,
        })?;
    tracing::info!(listen = %config.listen, public_url = config.public_url.as_str(), "afureko is serving");
    // The recording copier works the queue beside the server; on shutdown
    // it finishes the copies under way.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let copier = tokio::spawn(state.copier.clone().run(config.copy_retry, stopped));
    let served = crate::server::serve(
        listener,
        app(state),
        crate::server::Limits::default(),
        shutdown_signal(),
    )
    .await;
    let _ = stop.send(true);
    if let Err(e) = copier.await {
        tracing::error!(error = %e, "the recording copier stopped");
    }
    served.map_err(StartupError::Serve)
}

async fn shutdown_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
    tracing::info!("shutting down");
}
