//! Spawns the real app on a temporary embedded store, with a fixed clock and
//! a fake Twilio media API on 127.0.0.1.

use afureko::calls::recordings::{BATCH, WorkReport};
use afureko::clock::FixedClock;
use afureko::domain::agent::{AgentAccount, Session};
use afureko::domain::api_key::ApiKey;
use afureko::domain::callback::{CallbackRecord, Confirmation, NewCallback, Status};
use afureko::domain::ids::{AccountSid, CallSid, CallbackId, TenantId};
use afureko::domain::notify::address::Reach;
use afureko::domain::phone::{E164, Region};
use afureko::domain::reason::Reason;
use afureko::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use afureko::http::AppState;
use afureko::notify::client::HookClient;
use afureko::settings::BaseUrl;
use afureko::settings::{Rate, RateLimits};
use afureko::startup::{self, Backend};
use afureko::store::agents::AgentStore;
use afureko::store::{
    ApiKeyStore, CallbackStore, Inserted, ListQuery, Opened, Page, ReceivedPage, ReceivedQuery,
    Store, StoreError, TenantStore, open_by_lookups,
};
use afureko::twilio::api::{MediaHosts, TwilioApi};
use afureko::twilio::sim::tone_wav;
use afureko::twilio::sim::{Call, FakeTwilioApi, Sim};
use axum::body::Body;
use axum::http::Request;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tower::ServiceExt;

pub const PUBLIC_URL: &str = "https://calls.example.com";
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token-acme";
pub const TENANT: &str = "acme";
pub const CALLER: &str = "+81312345678";
pub const COMPANY: &str = "+81120123456";
/// 2026-11-25T01:00:00Z
pub const NOW: &str = "2026-11-25T01:00:00Z";

/// The clock stands still in tests, so nothing would refill: limits no
/// test reaches, except those of tests/integration/limits.rs.
pub const UNLIMITED: RateLimits = RateLimits {
    api: Rate {
        per_second: 1.0,
        burst: u32::MAX,
    },
    sign_in_failures: Rate {
        per_second: 1.0,
        burst: u32::MAX,
    },
};

pub struct TestApp {
    pub clock: Arc<FixedClock>,
    /// The S3 client and bucket name, on the AWS backends.
    pub s3: Option<(aws_sdk_s3::Client, String)>,
    pub sim: Sim,
    pub backend: Backend,
    pub twilio: FakeTwilioApi,
    pub state: AppState,
    pub tenant: Tenant,
    pub dir: tempfile::TempDir,
    next_sid: AtomicU32,
}

/// Lambda's SQS event of messages (receipt, body, receives so far).
fn sqs_event(
    messages: impl Iterator<Item = (String, Option<String>, u32)>,
) -> aws_lambda_events::event::sqs::SqsEvent {
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    let mut event = SqsEvent::default();
    for (n, (receipt, body, receives)) in messages.enumerate() {
        let mut message = SqsMessage::default();
        message.message_id = Some(format!("m{n}"));
        message.receipt_handle = Some(receipt);
        message.body = body;
        message
            .attributes
            .insert("ApproximateReceiveCount".into(), receives.to_string());
        event.records.push(message);
    }
    event
}

/// The client notifications go out with in tests: to loopback too, where
/// the test receivers are (`AFUREKO_ALLOW_PRIVATE_NOTIFY=true`).
pub fn hook_client() -> HookClient {
    HookClient::new(Reach {
        allow_private: true,
    })
    .expect("the notifications' HTTP client")
}

/// A tenant that keeps WAV (new tenants get MP3): for tests whose subject
/// is the very bytes of Twilio's WAV, or its path.
pub fn wav_settings() -> TenantSettings {
    TenantSettings {
        recording_format: afureko::domain::tenant::RecordingFormat::Wav,
        ..TenantSettings::default()
    }
}

/// The app on the embedded store with the default settings: for tests whose
/// subject is not the store (HTTP framing, signatures, routes). Everything
/// that stores or reads records runs on every backend (`spawn_on`).
pub async fn spawn_app() -> TestApp {
    spawn_on(crate::backends::Kind::Embedded, TenantSettings::default()).await
}

/// The app on a fresh backend of `kind`.
pub async fn spawn_on(kind: crate::backends::Kind, settings: TenantSettings) -> TestApp {
    spawn_app_on(crate::backends::make(kind).await, settings).await
}

/// Runs each named `async fn(Kind)` as a test on every backend (those on
/// the local AWS servers ignored unless asked for: `backend_test!`).
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $crate::on_every_backend!(@on on_embedded, Embedded; $($name),*);
        $crate::on_every_backend!(@on on_moto, Moto; $($name),*);
        $crate::on_every_backend!(@on on_dynalite_and_s3s_fs, DynaliteAndS3sFs; $($name),*);
    };
    (@on $module:ident, $kind:ident; $($name:ident),*) => {
        mod $module {
            $($crate::backend_test!($kind,
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let kind = $crate::backends::Kind::$kind;
                    $crate::backends::require(kind);
                    super::$name(kind).await
                }
            );)*
        }
    };
}

/// Runs each named `async fn(Kind)` as a test on the backends whose
/// conditional writes are atomic under concurrency: moto checks a condition
/// and writes in separate steps, so two concurrent conditional writes can
/// both pass there (docs/dynamodb.md), a flaw of the stand-in, not of the
/// code under test.
#[macro_export]
macro_rules! on_atomic_backends {
    ($($name:ident),* $(,)?) => {
        $crate::on_every_backend!(@on on_embedded, Embedded; $($name),*);
        $crate::on_every_backend!(@on on_dynalite_and_s3s_fs, DynaliteAndS3sFs; $($name),*);
    };
}

/// The app on any backend: the same calls, the same assertions.
pub async fn spawn_app_on(
    test_backend: crate::backends::TestBackend,
    settings: TenantSettings,
) -> TestApp {
    spawn_limited(test_backend, settings, UNLIMITED).await
}

/// The app with these rate limits.
pub async fn spawn_limited(
    test_backend: crate::backends::TestBackend,
    settings: TenantSettings,
    limits: RateLimits,
) -> TestApp {
    let crate::backends::TestBackend {
        backend,
        clock,
        dir,
        s3,
    } = test_backend;
    let twilio = FakeTwilioApi::start(ACCOUNT_SID, AUTH_TOKEN)
        .await
        .expect("fake Twilio API");
    let state = startup::state(
        &backend,
        BaseUrl::parse("AFUREKO_PUBLIC_URL", PUBLIC_URL).unwrap(),
        TwilioApi::new(&twilio.base_url(), MediaHosts::default()).expect("Twilio client"),
        clock.clone(),
        limits,
        // Test receivers listen on loopback.
        hook_client(),
    );
    let tenant = Tenant {
        id: TenantId::parse(TENANT).unwrap(),
        twilio: TwilioCredentials {
            account_sid: AccountSid::parse(ACCOUNT_SID).unwrap(),
            auth_token: AuthToken::new(AUTH_TOKEN).unwrap(),
            webhook_shared_key: None,
            previous_auth_token: None,
        },
        settings,
        created_at: NOW.parse().unwrap(),
    };
    backend.store.create_tenant(&tenant).await.expect("tenant");
    let sim = Sim::new(
        afureko::http::app(state.clone()),
        PUBLIC_URL,
        ACCOUNT_SID,
        AUTH_TOKEN,
    );
    TestApp {
        clock,
        s3,
        sim,
        backend,
        twilio,
        state,
        tenant,
        dir,
        next_sid: AtomicU32::new(1),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{PUBLIC_URL}{path}")
    }

    pub fn voice_url(&self) -> String {
        self.url(&format!("/twilio/{TENANT}/voice"))
    }

    /// A fresh CallSid, unique within this app.
    pub fn call_sid(&self) -> String {
        format!("CA{:032x}", self.next_sid.fetch_add(1, Ordering::Relaxed))
    }

    /// A fresh RecordingSid.
    pub fn recording_sid(&self) -> String {
        format!("RE{:032x}", self.next_sid.fetch_add(1, Ordering::Relaxed))
    }

    pub fn call<'a>(&'a self, call_sid: &str, from: &str) -> Call<'a> {
        self.sim.call(call_sid, from, COMPANY)
    }

    pub async fn record(&self, call_sid: &str) -> Option<CallbackRecord> {
        self.backend
            .store
            .find_callback_by_call_sid(&self.tenant.id, &CallSid::parse(call_sid).unwrap())
            .await
            .expect("store")
    }

    pub async fn records(&self) -> Vec<CallbackRecord> {
        self.backend
            .store
            .recent_callbacks(&self.tenant.id, 1000)
            .await
            .expect("store")
    }
}

/// What an API call answered.
pub struct ApiReply {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
}

impl ApiReply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes).unwrap_or(serde_json::Value::Null)
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned()
    }
}

pub async fn send_to(router: axum::Router, request: Request<Body>) -> ApiReply {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    ApiReply {
        status,
        headers,
        bytes,
    }
}

pub fn api_request(
    method: &str,
    path: &str,
    key: &str,
    body: Option<serde_json::Value>,
) -> Request<Body> {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"));
    with_json(request, body)
}

/// `request` with `body` as JSON, or with no body.
pub fn with_json(
    mut request: axum::http::request::Builder,
    body: Option<serde_json::Value>,
) -> Request<Body> {
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    request.body(body).unwrap()
}

impl TestApp {
    /// Rings `call` at the voice webhook: the TwiML of the first answer.
    pub async fn ring(&self, call: &Call<'_>) -> afureko::twilio::sim::Doc {
        call.incoming(&self.voice_url())
            .await
            .unwrap()
            .doc()
            .unwrap()
    }

    /// Plays a call up to the Record verb; returns its CallSid and that TwiML.
    pub async fn call_to_recording(&self) -> (String, afureko::twilio::sim::Doc) {
        let sid = self.call_sid();
        let call = self.call(&sid, CALLER);
        let doc = self.ring(&call).await;
        let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
        assert!(doc.record().is_some());
        (sid, doc)
    }

    /// A fresh API key for `tenant`.
    pub async fn api_key_for(&self, tenant: &str) -> String {
        let made = ApiKey::generate(TenantId::parse(tenant).unwrap(), None, NOW.parse().unwrap());
        self.backend.store.create_api_key(&made.key).await.unwrap();
        made.secret
    }

    pub async fn api_key(&self) -> String {
        self.api_key_for(TENANT).await
    }

    pub fn router(&self) -> axum::Router {
        afureko::http::app(self.state.clone())
    }

    /// Sends any request straight to the Router.
    pub async fn send(&self, request: Request<Body>) -> ApiReply {
        send_to(self.router(), request).await
    }

    /// A JSON API call with `key` as the bearer token.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<serde_json::Value>,
    ) -> ApiReply {
        send_to(self.router(), api_request(method, path, key, body)).await
    }

    /// `GET /api/v1/callbacks/{id}/recording` as an agent's client sees it:
    /// the embedded store answers with the audio, the AWS backend with a 302
    /// to a presigned S3 URL, which this follows (with the same Range).
    pub async fn fetch_recording(&self, key: &str, id: &str, range: Option<&str>) -> ApiReply {
        let mut request = Request::get(format!("/api/v1/callbacks/{id}/recording"))
            .header("authorization", format!("Bearer {key}"));
        if let Some(range) = range {
            request = request.header("range", range);
        }
        let reply = self.send(request.body(Body::empty()).unwrap()).await;
        if reply.status != 302 {
            return reply;
        }
        assert!(self.s3.is_some(), "only the AWS backend redirects");
        let location = reply.headers["location"].to_str().unwrap();
        assert!(location.starts_with("http://127.0.0.1:"), "{location}");
        let mut s3 = reqwest::Client::new().get(location);
        if let Some(range) = range {
            s3 = s3.header("range", range);
        }
        let fetched = s3.send().await.unwrap();
        let mut headers = axum::http::HeaderMap::new();
        for (name, value) in fetched.headers() {
            headers.insert(
                axum::http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                axum::http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        ApiReply {
            status: fetched.status().as_u16(),
            headers,
            bytes: fetched.bytes().await.unwrap().to_vec(),
        }
    }

    /// `POST /api/v1/callbacks/{id}/{action}` with a JSON body.
    async fn act(&self, key: &str, id: &str, action: &str, body: serde_json::Value) -> ApiReply {
        let path = format!("/api/v1/callbacks/{id}/{action}");
        self.api("POST", &path, key, Some(body)).await
    }

    pub async fn claim(&self, key: &str, id: &str, agent: &str) -> ApiReply {
        self.act(key, id, "claim", serde_json::json!({ "agent": agent }))
            .await
    }

    /// A claim with any body (e.g. one the API must refuse).
    pub async fn claim_with(&self, key: &str, id: &str, body: serde_json::Value) -> ApiReply {
        self.act(key, id, "claim", body).await
    }

    pub async fn release(&self, key: &str, id: &str, agent: &str) -> ApiReply {
        self.act(key, id, "release", serde_json::json!({ "agent": agent }))
            .await
    }

    /// Logs an attempt: `body` holds agent, outcome and maybe a note.
    pub async fn attempt(&self, key: &str, id: &str, body: serde_json::Value) -> ApiReply {
        self.act(key, id, "attempts", body).await
    }

    pub async fn complete(&self, key: &str, id: &str, body: serde_json::Value) -> ApiReply {
        self.act(key, id, "complete", body).await
    }

    /// Plays a whole call that accepts the caller ID and leaves a recording;
    /// returns the record and the audio.
    pub async fn play_call(&self, from: &str) -> (CallbackRecord, Vec<u8>) {
        let sid = self.call_sid();
        let call = self.call(&sid, from);
        let doc = self.ring(&call).await;
        let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
        let rec_sid = self.recording_sid();
        let audio = tone_wav(1.0);
        let rec_url = self.twilio.add_recording(&rec_sid, audio.clone());
        call.record(&doc, &rec_sid, &rec_url, 1).await.unwrap();
        let status = call
            .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
            .await
            .unwrap();
        assert_eq!(status.status, 204);
        let copied = self.copy_round().await;
        assert_eq!(copied.stored, 1, "{copied:?}");
        (self.record(&sid).await.unwrap(), audio)
    }

    /// Plays a later call from `from` while its earlier record is open:
    /// the caller hears it is kept and records at once. Returns the record.
    pub async fn play_repeat_call(&self, from: &str) -> CallbackRecord {
        let sid = self.call_sid();
        let call = self.call(&sid, from);
        let doc = self.ring(&call).await;
        let rec_sid = self.recording_sid();
        let rec_url = self.twilio.add_recording(&rec_sid, tone_wav(1.0));
        call.record(&doc, &rec_sid, &rec_url, 1).await.unwrap();
        let status = call
            .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
            .await
            .unwrap();
        assert_eq!(status.status, 204);
        let copied = self.copy_round().await;
        assert_eq!(copied.stored, 1, "{copied:?}");
        self.record(&sid).await.unwrap()
    }

    /// One round of the copier: every due job worked once; a failed one is
    /// due again at once (no retry delay).
    pub async fn copy_round(&self) -> WorkReport {
        self.state
            .copier
            .round(BATCH, Duration::ZERO)
            .await
            .expect("the copy queue answers")
    }

    /// The copier until a round finds nothing due.
    pub async fn copy_all(&self) -> WorkReport {
        self.state
            .copier
            .drain(Duration::ZERO, 20)
            .await
            .expect("the copy queue answers")
    }

    /// What the copy queue holds (up to 10 jobs), received, as the SQS
    /// event Lambda hands the copier.
    pub async fn queue_as_sqs_event(&self) -> aws_lambda_events::event::sqs::SqsEvent {
        use afureko::clock::Clock;
        let deliveries = self
            .backend
            .queue
            .receive(10, Duration::ZERO, self.clock.now())
            .await
            .expect("the copy queue answers");
        sqs_event(deliveries.iter().map(|d| {
            let body = d.job.as_ref().map(|j| j.to_json().unwrap());
            (d.receipt.clone(), body, d.receives)
        }))
    }

    /// What the notification queue holds (up to 10 jobs), received, as
    /// the SQS event Lambda hands the notifier.
    pub async fn notify_queue_as_sqs_event(&self) -> aws_lambda_events::event::sqs::SqsEvent {
        use afureko::clock::Clock;
        let deliveries = self
            .backend
            .notify_queue
            .receive(10, Duration::ZERO, self.clock.now())
            .await
            .expect("the notification queue answers");
        sqs_event(deliveries.iter().map(|d| {
            let body = d.job.as_ref().map(|j| j.to_json().unwrap());
            (d.receipt.clone(), body, d.receives)
        }))
    }

    /// Stores a record directly, received `minutes` after NOW, on a fresh
    /// number (a number has one open record at a time).
    pub async fn seed(&self, tenant: &str, minutes: i64) -> CallbackRecord {
        let n = self.next_sid.fetch_add(1, Ordering::Relaxed);
        let number = E164::parse(&format!("+813{:08}", 10_000_000 + n), Region::JP).unwrap();
        let received = NOW
            .parse::<jiff::Timestamp>()
            .unwrap()
            .checked_add(jiff::SignedDuration::from_mins(minutes))
            .unwrap();
        let record = CallbackRecord::new(
            TenantId::parse(tenant).unwrap(),
            NewCallback {
                call_sid: CallSid::parse(&self.call_sid()).unwrap(),
                caller_number: Some(number.clone()),
                callback_number: number,
                confirmation: Confirmation::CallerId,
                reason: Reason::Overflow,
                received_at: received,
                due_from: None,
            },
            60,
            received,
        );
        self.backend
            .store
            .insert_callback(&record)
            .await
            .unwrap()
            .into_record()
    }

    /// Adds a second tenant with the default settings.
    pub async fn add_tenant(&self, id: &str) {
        let mut tenant = self.tenant.clone();
        tenant.id = TenantId::parse(id).unwrap();
        self.backend.store.create_tenant(&tenant).await.unwrap();
    }
}

/// Which store call `RacingStore` holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Race {
    /// Reads of one record (every read-modify-write starts with one).
    CallbackReads,
    /// Lookups of a number's open record, in the lookup-then-insert
    /// composition of a first call (`open_by_lookups`, DynamoDB's own path),
    /// which this store runs through itself on every backend unless it
    /// holds `OpenForCall`.
    OpenNumberLookups,
    /// Entries into the store's own `open_callback_for_call` (SQLite's
    /// one transaction, DynamoDB's composition): all calls enter together.
    OpenForCall,
}

/// A store that holds the first `n` calls of one kind (`Race`) at a
/// barrier, so that `n` concurrent requests all read the same state before
/// any writes: a race that really happens, every time. With `rounds(k)`
/// it holds the next `n` calls too, up to `k` times `n`. It also counts
/// tenant reads.
pub struct RacingStore {
    inner: Arc<dyn Store>,
    race: Race,
    barrier: tokio::sync::Barrier,
    held: std::sync::atomic::AtomicUsize,
    n: usize,
    rounds: usize,
    pub tenant_reads: std::sync::atomic::AtomicUsize,
    /// This many CallSid lookups find nothing, as a read made just before
    /// a concurrent twin request wrote the record would.
    pub call_sid_misses: std::sync::atomic::AtomicUsize,
    /// This many callback updates fail, as an outage of the store's
    /// service would (an error with a cause).
    pub failing_updates: std::sync::atomic::AtomicUsize,
}

impl RacingStore {
    pub fn new(inner: Arc<dyn Store>, n: usize) -> Self {
        Self::holding(inner, Race::CallbackReads, n)
    }

    pub fn holding(inner: Arc<dyn Store>, race: Race, n: usize) -> Self {
        RacingStore {
            inner,
            race,
            barrier: tokio::sync::Barrier::new(n),
            held: std::sync::atomic::AtomicUsize::new(0),
            n,
            rounds: 1,
            tenant_reads: std::sync::atomic::AtomicUsize::new(0),
            call_sid_misses: std::sync::atomic::AtomicUsize::new(0),
            failing_updates: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Holds `rounds` groups of `n` calls, one barrier generation each.
    pub fn rounds(mut self, rounds: usize) -> Self {
        self.rounds = rounds;
        self
    }

    /// Waits at the barrier if this is one of the first `n` times `rounds`
    /// calls of the held kind. A regression that makes fewer calls fails,
    /// not hangs.
    async fn hold(&self, race: Race) {
        if race != self.race || self.held.fetch_add(1, Ordering::SeqCst) >= self.n * self.rounds {
            return;
        }
        let waited =
            tokio::time::timeout(std::time::Duration::from_secs(20), self.barrier.wait()).await;
        assert!(
            waited.is_ok(),
            "fewer than {} requests reached the barrier within 20 s",
            self.n
        );
    }
}

#[async_trait::async_trait]
impl TenantStore for RacingStore {
    async fn create_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        self.inner.create_tenant(t).await
    }

    async fn update_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        self.inner.update_tenant(t).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.tenant_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_tenant(id).await
    }

    async fn tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        self.inner.tenant_ids().await
    }
}

#[async_trait::async_trait]
impl CallbackStore for RacingStore {
    async fn get_callback(
        &self,
        t: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let read = self.inner.get_callback(t, id).await;
        self.hold(Race::CallbackReads).await;
        read
    }

    async fn insert_callback(&self, r: &CallbackRecord) -> Result<Inserted, StoreError> {
        self.inner.insert_callback(r).await
    }

    async fn find_callback_by_call_sid(
        &self,
        t: &TenantId,
        s: &CallSid,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let miss = self
            .call_sid_misses
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if miss.is_ok() {
            return Ok(None);
        }
        self.inner.find_callback_by_call_sid(t, s).await
    }

    async fn find_open_callback_by_number(
        &self,
        t: &TenantId,
        n: &E164,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let found = self.inner.find_open_callback_by_number(t, n).await;
        self.hold(Race::OpenNumberLookups).await;
        found
    }

    async fn open_callback_for_call(
        &self,
        fresh: &CallbackRecord,
        now: jiff::Timestamp,
    ) -> Result<Opened, StoreError> {
        if self.race == Race::OpenForCall {
            self.hold(Race::OpenForCall).await;
            return self.inner.open_callback_for_call(fresh, now).await;
        }
        // The other races (and CallSid misses) act inside the composition.
        open_by_lookups(self, fresh, now).await
    }

    async fn update_callback(&self, r: &CallbackRecord) -> Result<CallbackRecord, StoreError> {
        let fail = self
            .failing_updates
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if fail.is_ok() {
            return Err(StoreError::Dynamo {
                op: "UpdateItem",
                source: Box::new(std::io::Error::other("connection reset by peer")),
            });
        }
        self.inner.update_callback(r).await
    }

    async fn recent_callbacks(
        &self,
        t: &TenantId,
        limit: usize,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        self.inner.recent_callbacks(t, limit).await
    }

    async fn list_callbacks(&self, t: &TenantId, q: &ListQuery) -> Result<Page, StoreError> {
        self.inner.list_callbacks(t, q).await
    }

    async fn count_callbacks(
        &self,
        t: &TenantId,
        status: Status,
        due_before: Option<i64>,
        cap: usize,
    ) -> Result<usize, StoreError> {
        self.inner.count_callbacks(t, status, due_before, cap).await
    }

    async fn received_callbacks(
        &self,
        t: &TenantId,
        q: &ReceivedQuery,
    ) -> Result<ReceivedPage, StoreError> {
        self.inner.received_callbacks(t, q).await
    }

    async fn count_received(
        &self,
        t: &TenantId,
        from: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<usize, StoreError> {
        self.inner.count_received(t, from, until).await
    }

    async fn delete_callback(
        &self,
        t: &TenantId,
        id: &CallbackId,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.inner.delete_callback(t, id).await
    }

    async fn unlink_callback(&self, r: &CallbackRecord) -> Result<(), StoreError> {
        self.inner.unlink_callback(r).await
    }

    async fn expired_callbacks(&self, limit: usize) -> Result<Vec<CallbackRecord>, StoreError> {
        self.inner.expired_callbacks(limit).await
    }
}

#[async_trait::async_trait]
impl ApiKeyStore for RacingStore {
    async fn create_api_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        self.inner.create_api_key(k).await
    }

    async fn find_api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.inner.find_api_key(hash).await
    }

    async fn list_api_keys(&self, t: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        self.inner.list_api_keys(t).await
    }

    async fn revoke_api_key(
        &self,
        t: &TenantId,
        id: &str,
        at: jiff::Timestamp,
    ) -> Result<ApiKey, StoreError> {
        self.inner.revoke_api_key(t, id, at).await
    }
}

/// Stores `bytes` under `key`, through a file as the copier does.
pub async fn put_bytes(
    audio: &dyn afureko::store::RecordingStore,
    key: &str,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), bytes).expect("the temporary file is written");
    audio.put_file(key, file.path(), "audio/wav").await
}

/// An agent store that holds the first `n` agent reads at a barrier: `n`
/// requests all authenticate (each reads its agent) before any of them
/// changes anything, so their checks all see the same agents.
pub struct RacingAgents {
    inner: Arc<dyn AgentStore>,
    barrier: tokio::sync::Barrier,
    held: std::sync::atomic::AtomicUsize,
    n: usize,
}

impl RacingAgents {
    pub fn new(inner: Arc<dyn AgentStore>, n: usize) -> Self {
        RacingAgents {
            inner,
            barrier: tokio::sync::Barrier::new(n),
            held: std::sync::atomic::AtomicUsize::new(0),
            n,
        }
    }
}

#[async_trait::async_trait]
impl AgentStore for RacingAgents {
    async fn create_agent(&self, a: &AgentAccount) -> Result<(), StoreError> {
        self.inner.create_agent(a).await
    }
    async fn get_agent(
        &self,
        t: &TenantId,
        login: &str,
    ) -> Result<Option<AgentAccount>, StoreError> {
        let read = self.inner.get_agent(t, login).await;
        if self.held.fetch_add(1, Ordering::SeqCst) < self.n {
            let waited = tokio::time::timeout(Duration::from_secs(20), self.barrier.wait()).await;
            assert!(
                waited.is_ok(),
                "fewer than {} agent reads within 20 s",
                self.n
            );
        }
        read
    }
    async fn list_agents(&self, t: &TenantId) -> Result<Vec<AgentAccount>, StoreError> {
        self.inner.list_agents(t).await
    }
    async fn update_agent(&self, a: &AgentAccount) -> Result<AgentAccount, StoreError> {
        self.inner.update_agent(a).await
    }
    async fn update_agent_keeping_an_admin(
        &self,
        a: &AgentAccount,
    ) -> Result<AgentAccount, StoreError> {
        self.inner.update_agent_keeping_an_admin(a).await
    }
    async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        self.inner.create_session(s).await
    }
    async fn find_session(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        self.inner.find_session(hash).await
    }
    async fn touch_session(&self, s: &Session) -> Result<(), StoreError> {
        self.inner.touch_session(s).await
    }
    async fn delete_session(&self, hash: &str) -> Result<(), StoreError> {
        self.inner.delete_session(hash).await
    }
}
