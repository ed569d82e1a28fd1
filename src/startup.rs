//! Wiring: configuration → stores → AppState → Router → listener.

use crate::calls::reconcile::Reconciler;
use crate::calls::recordings::RecordingCopier;
use crate::clock::{Clock, SystemClock};
use crate::config::{AwsTarget, Config, SecretKeys};
use crate::http::AppState;
use crate::http::limit::Limits;
use crate::notify::client::HookClient;
use crate::notify::sender::Notifier;
use crate::settings::{BaseUrl, ConfigError, RateLimits};
use crate::store::agents::AgentStore;
use crate::store::audit::AuditStore;
use crate::store::aws::{kms_client, s3_client, sdk_config, sqs_clients};
use crate::store::copy_queue::CopyQueue;
use crate::store::dynamo::DynamoStore;
#[cfg(feature = "embedded")]
use crate::store::fs::FsRecordingStore;
use crate::store::idempotency::IdempotencyStore;
#[cfg(feature = "embedded")]
use crate::store::key_record::KEY_FILE;
use crate::store::key_record::{self, KeyError, KeyRecordStore, KeySource};
use crate::store::layered::Layered;
use crate::store::notify::{EndpointStore, NotifyQueue};
use crate::store::reconciled::ReconciledStore;
use crate::store::s3::S3RecordingStore;
use crate::store::sealed::{SealedEndpoints, SealedTenants};
#[cfg(feature = "embedded")]
use crate::store::sqlite::SqliteStore;
use crate::store::sqs::{SqsCopyQueue, SqsNotifyQueue};
use crate::store::tenant_cache::{self, TenantCache};
use crate::store::{RecordingStore, Store, StoreError};
use crate::twilio::api::{TwilioApi, TwilioApiError};
use std::sync::Arc;

/// The cause is the `source`, not part of the message, so a printed chain
/// (`{:#}`) names it once.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the store")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(
        "the AWS backend needs a key for tenants' secrets: set AFUREKO_KMS_KEY_ID (a KMS key; template.yaml makes one) or AFUREKO_SECRET_KEY (see docs/operations.md, Secrets at rest)"
    )]
    NoSecretKey,
    #[error("cannot build the Twilio client")]
    Twilio(#[from] TwilioApiError),
    #[error("cannot build the notifications' HTTP client")]
    Hooks(#[source] reqwest::Error),
    /// A Lambda build (no `embedded` feature) runs on AWS only.
    #[error(
        "this build has no embedded store: set AFUREKO_TABLE and AFUREKO_BUCKET (and the copy queues) for DynamoDB, S3 and SQS"
    )]
    NoEmbeddedStore,
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
    /// The audit trail: in the same database as `store`.
    pub audit: Arc<dyn AuditStore>,
    /// The recording copy queue: an outbox table in the same database
    /// (embedded), or SQS.
    pub queue: Arc<dyn CopyQueue>,
    /// Notification endpoints (their secrets sealed), in the same database.
    pub endpoints: Arc<dyn EndpointStore>,
    /// The queue of notification deliveries: a table in the same database,
    /// also the outbox (embedded), or SQS fed by the table's stream.
    pub notify_queue: Arc<dyn NotifyQueue>,
    /// How far each tenant's reconciliation got: in the same database.
    pub reconciled: Arc<dyn ReconciledStore>,
}

/// The embedded default: `afureko.db`, `recordings/` and (unless a key is
/// configured) the key file under `data_dir`; `clock` decides which records
/// have expired.
#[cfg(feature = "embedded")]
pub async fn embedded(
    data_dir: &std::path::Path,
    secrets: &SecretKeys,
    clock: Arc<dyn Clock>,
) -> Result<Backend, StartupError> {
    let store = Arc::new(
        SqliteStore::open(&data_dir.join("afureko.db"))
            .await?
            .with_clock(clock),
    );
    let audio = FsRecordingStore::new(data_dir.to_path_buf());
    let source = key_source(secrets, Some(data_dir.join(KEY_FILE)), None).await?;
    let sealed = sealed(store.clone(), &source).await?;
    Ok(Backend {
        store: sealed.store,
        audio: Arc::new(audio),
        idempotency: store.clone(),
        agents: store.clone(),
        audit: store.clone(),
        reconciled: store.clone(),
        queue: store.clone(),
        endpoints: sealed.endpoints,
        notify_queue: store,
    })
}

/// Where the key of tenants' secrets comes from; `key_file` where a store
/// without a configured key keeps its own (none on AWS: a Lambda's disk
/// does not last).
async fn key_source(
    secrets: &SecretKeys,
    key_file: Option<std::path::PathBuf>,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<KeySource, StartupError> {
    if let Some(key_id) = &secrets.kms_key_id {
        let client = match sdk {
            Some(sdk) => kms_client(sdk),
            None => kms_client(&sdk_config().await),
        };
        return Ok(KeySource::Kms {
            client,
            key_id: key_id.clone(),
        });
    }
    match (&secrets.secret_key, key_file) {
        (Some(key), _) => Ok(KeySource::Env(key.clone())),
        (None, Some(path)) => Ok(KeySource::File(path)),
        (None, None) => Err(StartupError::NoSecretKey),
    }
}

/// A store with its secrets sealed: tenants (through the cache) and
/// notification endpoints.
pub struct Sealed {
    pub store: Arc<dyn Store>,
    pub endpoints: Arc<dyn EndpointStore>,
}

/// Tenants' and endpoints' secrets sealed with the key from `source`, which
/// must open the store's key record (made at first start), and tenants read
/// through the cache (every webhook reads its tenant; another process's
/// change is seen within `tenant_cache::TTL`).
pub async fn sealed<S>(store: Arc<S>, source: &KeySource) -> Result<Sealed, StartupError>
where
    S: Store + KeyRecordStore + EndpointStore + 'static,
{
    let sealer = Arc::new(key_record::unlock(source, store.as_ref()).await?);
    let tenants = SealedTenants::new(store.clone(), sealer.clone());
    let cached = TenantCache::new(Arc::new(tenants), Arc::new(SystemClock), tenant_cache::TTL);
    Ok(Sealed {
        store: Arc::new(Layered::new(store.clone(), Arc::new(cached))),
        endpoints: Arc::new(SealedEndpoints::new(store, sealer)),
    })
}

pub fn state(
    backend: &Backend,
    public_url: BaseUrl,
    api: TwilioApi,
    clock: Arc<dyn Clock>,
    limits: RateLimits,
    hooks: HookClient,
) -> AppState {
    let copier = RecordingCopier::new(
        backend.store.clone(),
        backend.audio.clone(),
        backend.queue.clone(),
        api.clone(),
        clock.clone(),
    );
    let notifier = Notifier::new(
        backend.store.clone(),
        backend.endpoints.clone(),
        backend.notify_queue.clone(),
        hooks,
        api,
        public_url.as_str().to_owned(),
        clock.clone(),
    );
    let copier = Arc::new(copier);
    let reconciler = Reconciler::new(
        backend.store.clone(),
        backend.reconciled.clone(),
        copier.clone(),
        clock.clone(),
    );
    AppState {
        store: backend.store.clone(),
        audio: backend.audio.clone(),
        idempotency: backend.idempotency.clone(),
        agents: backend.agents.clone(),
        audit: backend.audit.clone(),
        endpoints: backend.endpoints.clone(),
        copier,
        notifier: Arc::new(notifier),
        reconciler: Arc::new(reconciler),
        public_url,
        clock,
        limits: Arc::new(Limits::new(limits)),
        metrics: None,
    }
}

/// DynamoDB + S3 + SQS (+ KMS), every client derived from one `SdkConfig`;
/// `clock` decides which records have expired. Reads the key record: the
/// one network step of start-up.
pub async fn aws(
    sdk: &aws_config::SdkConfig,
    target: &AwsTarget,
    secrets: &SecretKeys,
    clock: Arc<dyn Clock>,
) -> Result<Backend, StartupError> {
    let dynamo = Arc::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), target.table.clone())
            .with_clock(clock),
    );
    let source = key_source(secrets, None, Some(sdk)).await?;
    let (sqs, poller) = sqs_clients(sdk);
    let sealed = sealed(dynamo.clone(), &source).await?;
    Ok(Backend {
        store: sealed.store,
        audio: Arc::new(S3RecordingStore::new(s3_client(sdk), target.bucket.clone())),
        idempotency: dynamo.clone(),
        agents: dynamo.clone(),
        audit: dynamo.clone(),
        reconciled: dynamo,
        queue: Arc::new(SqsCopyQueue::new(
            sqs.clone(),
            poller.clone(),
            target.copy_queue_url.clone(),
            target.copy_dlq_url.clone(),
        )),
        endpoints: sealed.endpoints,
        notify_queue: Arc::new(SqsNotifyQueue::new(
            sqs,
            poller,
            target.notify_queue_url.clone(),
            target.notify_dlq_url.clone(),
        )),
    })
}

/// The backend the configuration names: AWS when `AFUREKO_TABLE` and
/// `AFUREKO_BUCKET` (and the copy queues) are set, the embedded store
/// otherwise.
pub async fn backend(config: &Config) -> Result<Backend, StartupError> {
    match &config.aws {
        Some(target) => {
            tracing::info!(table = %target.table, bucket = %target.bucket, "AWS backend: DynamoDB, S3 and SQS");
            aws(
                &sdk_config().await,
                target,
                &config.secrets,
                Arc::new(SystemClock),
            )
            .await
        }
        #[cfg(not(feature = "embedded"))]
        None => Err(StartupError::NoEmbeddedStore),
        #[cfg(feature = "embedded")]
        None => {
            let backend =
                embedded(&config.data_dir, &config.secrets, Arc::new(SystemClock)).await?;
            tracing::warn!(
                data_dir = %config.data_dir.display(),
                "embedded store (local storage on this machine): afureko.db and recordings/ in the data dir"
            );
            Ok(backend)
        }
    }
}

#[cfg(feature = "cli")]
pub async fn serve(config: Config) -> Result<(), StartupError> {
    let backend = backend(&config).await?;
    if config.public_url_defaulted {
        tracing::warn!(
            public_url = config.public_url.as_str(),
            "AFUREKO_PUBLIC_URL is not set: signatures are checked against the local address, which Twilio cannot reach"
        );
    }
    let mut state = state(
        &backend,
        config.public_url.clone(),
        config.twilio_api()?,
        Arc::new(SystemClock),
        config.rate_limits,
        hook_client(&config)?,
    );
    if let Some(token) = config.metrics_token.clone() {
        state.metrics = metrics_endpoint(token);
    }
    // Off the start-up path, so serving starts at once.
    tokio::task::spawn_blocking(crate::domain::phone::warm_up);
    tokio::task::spawn_blocking(|| {
        // An hour is far past any copy's budget: what is older was left by a killed process.
        let removed = crate::calls::spool::remove_stale_spools(
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
    let copier = tokio::spawn(state.copier.clone().run(config.copy_retry, stopped.clone()));
    // The notification sender likewise, with the overdue sweep.
    let notifier = tokio::spawn(state.notifier.clone().run(stopped));
    tokio::spawn(purge_expired_every(
        backend.store.clone(),
        backend.audio.clone(),
        PURGE_EVERY,
    ));
    let served = crate::server::serve(
        listener,
        crate::http::app(state),
        crate::server::Limits::default(),
        shutdown_signal(),
    )
    .await;
    let _ = stop.send(true);
    if let Err(e) = copier.await {
        tracing::error!(error = %e, "the recording copier stopped");
    }
    if let Err(e) = notifier.await {
        tracing::error!(error = %e, "the notification sender stopped");
    }
    served.map_err(StartupError::Serve)
}

/// The client notifications go out with, to the addresses the
/// configuration allows.
pub fn hook_client(config: &Config) -> Result<HookClient, StartupError> {
    HookClient::new(config.notify_reach).map_err(StartupError::Hooks)
}

/// `/metrics`: the Prometheus recorder, installed now, its histograms
/// drained every few seconds.
#[cfg(feature = "cli")]
pub fn metrics_endpoint(
    token: crate::settings::MetricsToken,
) -> Option<Arc<crate::http::metrics::MetricsEndpoint>> {
    use crate::http::metrics::MetricsEndpoint;
    let Some(handle) = crate::monitoring::prometheus() else {
        tracing::warn!("another metrics recorder is installed: /metrics stays off");
        return None;
    };
    let endpoint = Arc::new(MetricsEndpoint::new(token, Box::new(handle)));
    let kept = endpoint.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            kept.upkeep();
        }
    });
    tracing::info!("/metrics is on");
    Some(endpoint)
}

/// How often `serve` deletes expired records: their reads already treat
/// them as gone, so this only bounds how long their audio stays on disk.
#[cfg(feature = "cli")]
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// `serve`'s retention sweep (the embedded store; on DynamoDB the TTL does
/// it, and `expired_callbacks` has nothing to give).
#[cfg(feature = "cli")]
async fn purge_expired_every(
    store: Arc<dyn Store>,
    audio: Arc<dyn RecordingStore>,
    every: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match crate::calls::retention::purge_expired(store.as_ref(), audio.as_ref(), 1000).await {
            Ok(purged) if purged.records > 0 => tracing::info!(
                records = purged.records,
                recordings = purged.recordings,
                "expired records deleted"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                error = crate::telemetry::error_chain(&e),
                "the retention sweep failed"
            ),
        }
    }
}

#[cfg(feature = "cli")]
async fn shutdown_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
    tracing::info!("shutting down");
}
