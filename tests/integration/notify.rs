//! Notifications from end to end: endpoints added through the API, events
//! raised by calls and agents' work, written to the outbox with the change,
//! relayed (on AWS, from the table's stream as the notifier gets it) and
//! delivered to a local receiver that checks the Standard Webhooks
//! signature itself; retries, the terminal state, `410 Gone`, Slack, the
//! test event, the URL rules, and the caller's SMS confirmation. The sender
//! is driven a round at a time on the fixed clock. Deliveries run on the
//! backends whose writes reach the queue: the embedded store's outbox, and
//! moto's table stream (dynalite has no streams); retries only on the
//! embedded store, where the fixed clock says when a retry is due (SQS
//! hides a message for real seconds).

use crate::backends::Kind;
use crate::helpers::*;
use crate::receiver::{Got, Receiver, verify};
use crate::sessions::Browser;
use crate::stream::Stream;
use afureko::clock::Clock;
use afureko::domain::agent::Role;
use afureko::domain::callback::CallbackRecord;
use afureko::domain::notify::SmsState;
use afureko::domain::notify::address::Reach;
use afureko::domain::prompts::Language;
use afureko::domain::tenant::TenantSettings;
use afureko::notify::client::HookClient;
use afureko::notify::sender::NotifyReport;
use afureko::twilio::sim::TwilioFailure;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// Runs the `async fn(Kind)`s on the embedded store and on moto.
macro_rules! on_streaming_backends {
    ($($name:ident),* $(,)?) => {
        $crate::on_every_backend!(@on on_embedded, Embedded; $($name),*);
        $crate::on_every_backend!(@on on_moto, Moto; $($name),*);
    };
}

/// Delivers an app's notifications a round at a time: on moto the
/// stream's new records first go through the relay, as the notifier
/// function gets them.
struct Deliveries<'a> {
    app: &'a TestApp,
    stream: Option<Stream>,
}

impl<'a> Deliveries<'a> {
    async fn of(app: &'a TestApp, kind: Kind) -> Deliveries<'a> {
        let stream = match (kind, &app.s3) {
            (Kind::Moto, Some((_, table))) => {
                let moto = std::env::var("AFUREKO_TEST_MOTO_URL").unwrap();
                Some(Stream::open(&moto, table).await)
            }
            _ => None,
        };
        Deliveries { app, stream }
    }

    /// Relays the stream (on moto), then works every job due now.
    async fn run(&mut self) -> NotifyReport {
        if let Some(stream) = &mut self.stream {
            let event = stream.read().await;
            afureko::notify::relay::from_stream(
                self.app.backend.notify_queue.as_ref(),
                &event,
                self.app.clock.now(),
            )
            .await
            .unwrap();
        }
        self.app.state.notifier.drain(20).await.unwrap()
    }
}

fn now(app: &TestApp) -> Timestamp {
    app.clock.now()
}

/// An admin, signed in.
async fn admin(app: &TestApp) -> Browser {
    app.add_agent(TENANT, "ada", Role::Admin).await;
    app.browser("ada").await
}

/// Adds an endpoint through the API; its id and secret.
pub(crate) async fn add_endpoint(
    app: &TestApp,
    admin: &Browser,
    url: &str,
    events: &[&str],
    format: &str,
) -> (String, Option<String>) {
    let reply = app
        .browse(
            admin,
            "POST",
            "/api/v1/notifications",
            Some(json!({"url": url, "events": events, "format": format})),
        )
        .await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.bytes)
    );
    let body = reply.json();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["secret"].as_str().map(str::to_owned),
    )
}

async fn endpoints(app: &TestApp, admin: &Browser) -> Value {
    let reply = app
        .browse(admin, "GET", "/api/v1/notifications", None)
        .await;
    assert_eq!(reply.status, 200);
    reply.json()
}

const ALL: [&str; 6] = [
    "callback.created",
    "callback.repeat_call",
    "callback.overdue",
    "callback.completed",
    "callback.failed",
    "recording.copy_failed",
];

/// What a delivery of `event` about `record` (as its write left it) must
/// be, byte for byte.
fn standard_body(event: &str, at: Timestamp, record: &CallbackRecord) -> Value {
    json!({
        "type": event,
        "timestamp": at.to_string(),
        "data": {
            "id": record.id.as_str(),
            "tenant": TENANT,
            "reason": record.reason.as_str(),
            "status": record.status.as_str(),
            "received_at": record.received_at.to_string(),
            "due_at": record.due_at.to_string(),
            "callback_number": record.callback_number.masked(),
            "attempts": record.attempts.len(),
            "url": format!("{PUBLIC_URL}/app#/cb/{}", record.id),
        }
    })
}

/// A delivery's headers and signature, checked by the receiver's own
/// Standard Webhooks code.
fn check_signed(got: &Got, secret: &str, id: &str, at: Timestamp) {
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.header("webhook-id"), id);
    assert_eq!(got.header("webhook-timestamp"), at.as_second().to_string());
    assert!(got.header("webhook-signature").starts_with("v1,"));
    assert!(
        verify(secret, got),
        "the signature does not verify: {got:?}"
    );
    // The whole number is never sent.
    assert!(!got.body.contains("312345678"), "{}", got.body);
    assert!(!got.body.contains("recording"), "{}", got.body);
}

/// The id of the `n`-th entry raised by the write of `record` at `version`.
fn event_id(record: &CallbackRecord, version: u64, n: usize) -> String {
    format!("msg_{}_{version}_{n}", record.id.as_str().replace('-', ""))
}

async fn every_event_is_delivered_signed_with_its_exact_body(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let admin = admin(&app).await;
    let receiver = Receiver::start(&[], 200).await;
    let (_, secret) = add_endpoint(&app, &admin, &receiver.url, &ALL, "standard").await;
    let secret = secret.expect("a standard endpoint has a secret");
    assert!(secret.starts_with("whsec_"));
    let mut deliveries = Deliveries::of(&app, kind).await;
    let key = app.api_key().await;

    // A call makes a record: callback.created, from its first write.
    let (record, _) = app.play_call(CALLER).await;
    assert_eq!(deliveries.run().await.delivered, 1);
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    let created = CallbackRecord {
        recordings: Vec::new(),
        version: 0,
        ..record.clone()
    };
    check_signed(&got[0], &secret, &event_id(&record, 0, 0), now(&app));
    assert_eq!(
        got[0].json(),
        standard_body("callback.created", record.received_at, &created)
    );

    // The caller rings again: callback.repeat_call.
    app.clock.set(now(&app) + SignedDuration::from_mins(10));
    let joined = app.play_repeat_call(CALLER).await;
    assert_eq!(joined.repeat_calls.len(), 1);
    assert_eq!(deliveries.run().await.delivered, 1);
    let got = &receiver.got()[1];
    assert_eq!(got.json()["type"], "callback.repeat_call");
    assert_eq!(got.json()["data"]["id"], record.id.as_str());
    assert!(verify(&secret, got));

    // It passes its due time: the sweep announces it once.
    app.clock.set(record.due_at + SignedDuration::from_mins(1));
    let sweep = || {
        afureko::notify::overdue::sweep(
            app.backend.store.as_ref(),
            app.backend.endpoints.as_ref(),
            now(&app),
        )
    };
    assert_eq!(sweep().await.unwrap(), 1);
    assert_eq!(sweep().await.unwrap(), 0, "once");
    assert_eq!(deliveries.run().await.delivered, 1);
    let got = &receiver.got()[2];
    let overdue = app.record(record.call_sid.as_str()).await.unwrap();
    assert_eq!(overdue.overdue_at, Some(now(&app)));
    check_signed(
        got,
        &secret,
        &event_id(&overdue, overdue.version, 0),
        now(&app),
    );
    assert_eq!(
        got.json(),
        standard_body("callback.overdue", now(&app), &overdue)
    );

    // An agent completes it: callback.completed.
    let path = format!("/api/v1/callbacks/{}", record.id);
    let done = app
        .complete(&key, record.id.as_str(), json!({"agent": "ann"}))
        .await;
    assert_eq!(done.status, 200, "{path}");
    assert_eq!(deliveries.run().await.delivered, 1);
    let completed = app.record(record.call_sid.as_str()).await.unwrap();
    let got = &receiver.got()[3];
    check_signed(
        got,
        &secret,
        &event_id(&completed, completed.version, 0),
        now(&app),
    );
    assert_eq!(
        got.json(),
        standard_body("callback.completed", now(&app), &completed)
    );

    // Another is never reached: callback.failed after the last attempt.
    let (other, _) = app.play_call("+81312340000").await;
    assert_eq!(deliveries.run().await.delivered, 1, "its callback.created");
    for _ in 0..app.tenant.settings.max_callback_attempts {
        let body = json!({"agent": "ann", "outcome": "no_answer"});
        assert_eq!(app.attempt(&key, other.id.as_str(), body).await.status, 200);
    }
    assert_eq!(deliveries.run().await.delivered, 1);
    let failed = app.record(other.call_sid.as_str()).await.unwrap();
    let got = &receiver.got()[5];
    assert_eq!(
        got.json(),
        standard_body("callback.failed", now(&app), &failed)
    );
    assert_eq!(got.json()["data"]["attempts"], 3);

    // A recording that cannot be copied out of Twilio: recording.copy_failed.
    let (sid, doc) = app.call_to_recording().await;
    app.twilio.set_available(false);
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, vec![0; 10]);
    let call = app.call(&sid, CALLER);
    call.record(&doc, &rec_sid, &rec_url, 1).await.unwrap();
    call.recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(app.copy_all().await.gave_up, 1);
    let report = deliveries.run().await;
    assert_eq!(report.delivered, 2, "its callback.created too: {report:?}");
    let got = receiver.got();
    let copy_failed = got
        .iter()
        .find(|g| g.json()["type"] == "recording.copy_failed")
        .unwrap();
    assert!(verify(&secret, copy_failed));
    // One batch's deliveries go out together, in any order.
    let mut types: Vec<String> = got
        .iter()
        .map(|g| g.json()["type"].as_str().unwrap().to_owned())
        .collect();
    types[6..].sort();
    assert_eq!(
        types,
        [
            "callback.created",
            "callback.repeat_call",
            "callback.overdue",
            "callback.completed",
            "callback.created",
            "callback.failed",
            "callback.created",
            "recording.copy_failed",
        ]
    );
    // Nothing more: every event once.
    assert_eq!(deliveries.run().await, NotifyReport::default());
}

async fn only_the_events_an_endpoint_takes_reach_it(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let admin = admin(&app).await;
    let (created, completed) = (
        Receiver::start(&[], 204).await,
        Receiver::start(&[], 204).await,
    );
    add_endpoint(&app, &admin, &created.url, &["created"], "standard").await;
    add_endpoint(&app, &admin, &completed.url, &["completed"], "standard").await;
    let mut deliveries = Deliveries::of(&app, kind).await;
    let (record, _) = app.play_call(CALLER).await;
    let key = app.api_key().await;
    let done = app
        .complete(&key, record.id.as_str(), json!({"agent": "ann"}))
        .await;
    assert_eq!(done.status, 200);
    let report = deliveries.run().await;
    assert_eq!((report.expanded, report.delivered), (2, 2), "{report:?}");
    assert_eq!(created.got()[0].json()["type"], "callback.created");
    assert_eq!(completed.got()[0].json()["type"], "callback.completed");
    assert_eq!((created.got().len(), completed.got().len()), (1, 1));
    let listed = endpoints(&app, &admin).await;
    assert_eq!(listed[0]["deliveries"][0]["state"], "delivered");
    assert_eq!(listed[0]["deliveries"][0]["status"], 204);
    assert_eq!(listed[0]["deliveries"][0]["attempts"], 1);
}

async fn gone_disables_the_endpoint(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let admin = admin(&app).await;
    let receiver = Receiver::start(&[410], 200).await;
    let (id, _) = add_endpoint(&app, &admin, &receiver.url, &["created"], "standard").await;
    let mut deliveries = Deliveries::of(&app, kind).await;
    app.play_call(CALLER).await;
    assert_eq!(deliveries.run().await.gone, 1);
    let listed = endpoints(&app, &admin).await;
    let endpoint = &listed[0];
    assert_eq!(endpoint["id"], id);
    assert_eq!(endpoint["active"], false);
    assert_eq!(endpoint["disabled_reason"], "410 Gone");
    assert_eq!(endpoint["disabled_at"], now(&app).to_string());
    assert_eq!(endpoint["deliveries"][0]["state"], "gone");
    assert_eq!(endpoint["deliveries"][0]["status"], 410);
    // Nothing more goes to it.
    app.play_call("+81312340000").await;
    let report = deliveries.run().await;
    assert_eq!((report.expanded, report.delivered), (1, 0), "{report:?}");
    assert_eq!(receiver.got().len(), 1);
}

async fn the_test_event_is_sent_at_once_and_its_outcome_shown(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let admin = admin(&app).await;
    let (ok, failing) = (
        Receiver::start(&[], 200).await,
        Receiver::start(&[], 500).await,
    );
    let (good, secret) = add_endpoint(&app, &admin, &ok.url, &["created"], "standard").await;
    let (bad, _) = add_endpoint(&app, &admin, &failing.url, &["created"], "slack").await;
    let test = |id: &str| format!("/api/v1/notifications/{id}/test");
    let sent = app.browse(&admin, "POST", &test(&good), None).await;
    assert_eq!(sent.status, 200);
    let delivery = &sent.json()["deliveries"][0];
    assert_eq!(delivery["event"], "notification.test");
    assert_eq!(
        (delivery["state"].as_str(), delivery["attempts"].as_u64()),
        (Some("delivered"), Some(1))
    );
    let got = &ok.got()[0];
    assert!(verify(secret.as_deref().unwrap(), got));
    assert!(got.header("webhook-id").starts_with("msg_test_"));
    assert_eq!(
        got.body,
        format!(
            r#"{{"type":"notification.test","timestamp":"{}","data":{{"tenant":"acme","endpoint":"{good}"}}}}"#,
            now(&app)
        )
    );
    let sent = app.browse(&admin, "POST", &test(&bad), None).await;
    assert_eq!(sent.status, 200);
    let delivery = &sent.json()["deliveries"][0];
    assert_eq!(delivery["state"], "failed", "a test is tried once");
    assert_eq!(delivery["status"], 500);
    assert_eq!(delivery["error"], "HTTP 500: upstream unavailable");
    assert_eq!(
        failing.got()[0].header("webhook-signature"),
        "",
        "Slack is not signed"
    );
    assert_eq!(
        failing.got()[0].json()["text"],
        "afureko のテスト通知です。この通知先に届いています。"
    );
    let missing = app
        .browse(&admin, "POST", &test("ne_0000000000000000"), None)
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "not_found");
    // Removed, it is gone from the list; removing it again is 404.
    let path = format!("/api/v1/notifications/{bad}");
    assert_eq!(app.browse(&admin, "DELETE", &path, None).await.status, 204);
    assert_eq!(app.browse(&admin, "DELETE", &path, None).await.status, 404);
    let listed = endpoints(&app, &admin).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );
}

async fn an_erased_record_is_not_announced(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let admin = admin(&app).await;
    let receiver = Receiver::start(&[], 200).await;
    add_endpoint(&app, &admin, &receiver.url, &["created"], "standard").await;
    let mut deliveries = Deliveries::of(&app, kind).await;
    let (record, _) = app.play_call(CALLER).await;
    let erase = format!("/api/v1/callbacks/{}", record.id);
    assert_eq!(app.browse(&admin, "DELETE", &erase, None).await.status, 204);
    let report = deliveries.run().await;
    assert_eq!((report.dropped, report.delivered), (1, 0), "{report:?}");
    assert!(receiver.got().is_empty());
}

/// Past the longest wait before a try (8 h and a fifth).
fn past_the_wait(app: &TestApp, failed: u32) {
    let wait = afureko::domain::notify::retry::base_delay(failed).mul_f64(1.2);
    app.clock
        .set(now(app) + SignedDuration::try_from(wait).unwrap());
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_event_once_more_with_the_same_id() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let receiver = Receiver::start(&[503, 503, 503], 200).await;
    let (_, secret) = add_endpoint(&app, &admin, &receiver.url, &["created"], "standard").await;
    let secret = secret.unwrap();
    let mut deliveries = Deliveries::of(&app, Kind::Embedded).await;
    app.play_call(CALLER).await;
    assert_eq!(deliveries.run().await.retrying, 1);
    // Not due again before its wait.
    app.clock.set(now(&app) + SignedDuration::from_secs(23));
    assert_eq!(deliveries.run().await, NotifyReport::default());
    for failed in 1..=3 {
        past_the_wait(&app, failed);
        let report = deliveries.run().await;
        let expected = if failed < 3 { (1, 0) } else { (0, 1) };
        assert_eq!((report.retrying, report.delivered), expected, "{report:?}");
    }
    let got = receiver.got();
    assert_eq!(got.len(), 4);
    let id = got[0].header("webhook-id").to_owned();
    for g in &got {
        assert_eq!(g.header("webhook-id"), id, "the same event");
        assert_eq!(g.body, got[0].body);
        assert!(verify(&secret, g));
    }
    assert_ne!(
        got[0].header("webhook-timestamp"),
        got[3].header("webhook-timestamp")
    );
    // Delivered: never again.
    past_the_wait(&app, 9);
    assert_eq!(deliveries.run().await, NotifyReport::default());
    assert_eq!(receiver.got().len(), 4);
    let delivery = &endpoints(&app, &admin).await[0]["deliveries"][0];
    assert_eq!(delivery["id"], id.as_str());
    assert_eq!(delivery["state"], "delivered");
    assert_eq!(delivery["attempts"], 4);
    assert!(delivery.get("error").is_none());
}

#[tokio::test]
async fn a_receiver_that_never_succeeds_ends_in_the_terminal_state() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let receiver = Receiver::start(&[], 503).await;
    add_endpoint(&app, &admin, &receiver.url, &["created"], "standard").await;
    let mut deliveries = Deliveries::of(&app, Kind::Embedded).await;
    let first = now(&app);
    app.play_call(CALLER).await;
    let mut gave_up = 0;
    for failed in 1..=10 {
        let report = deliveries.run().await;
        gave_up += report.gave_up;
        assert_eq!(
            report.retrying + report.gave_up,
            1,
            "try {failed}: {report:?}"
        );
        past_the_wait(&app, failed);
    }
    assert_eq!(gave_up, 1);
    assert_eq!(receiver.got().len(), 10);
    // About a day of tries.
    let hours = (now(&app) - first).as_hours();
    assert!((24..40).contains(&hours), "{hours}");
    assert_eq!(deliveries.run().await, NotifyReport::default());
    // A day later: the session of before has ended.
    let admin = app.browser("ada").await;
    let delivery = &endpoints(&app, &admin).await[0]["deliveries"][0];
    assert_eq!(delivery["state"], "failed");
    assert_eq!(delivery["attempts"], 10);
    assert_eq!(delivery["error"], "HTTP 503: upstream unavailable");
}

#[tokio::test]
async fn slack_gets_text_and_blocks_in_the_tenants_language_unsigned() {
    for (language, text) in [
        (
            Language::JaJp,
            "新しい折り返し依頼: 受付上限 +81*****5678 (期限 2026-11-25 14:00 JST)",
        ),
        (
            Language::EnUs,
            "New callback request: Overflow +81*****5678 (Due 2026-11-25 14:00 JST)",
        ),
    ] {
        let app = spawn_on(Kind::Embedded, TenantSettings::for_language(language)).await;
        let admin = admin(&app).await;
        let receiver = Receiver::start(&[], 200).await;
        add_endpoint(&app, &admin, &receiver.url, &["created"], "slack").await;
        let mut deliveries = Deliveries::of(&app, Kind::Embedded).await;
        let (record, _) = app.play_call(CALLER).await;
        assert_eq!(deliveries.run().await.delivered, 1);
        let got = &receiver.got()[0];
        assert_eq!(got.header("webhook-signature"), "");
        let body = got.json();
        assert_eq!(body["text"], text);
        let link = format!("{PUBLIC_URL}/app#/cb/{}", record.id);
        assert!(
            body["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .contains(&link),
            "{body}"
        );
        assert!(!got.body.contains("312345678"));
    }
}

/// The app with a client that keeps to public addresses, as deployed.
fn deployed(app: &TestApp) -> afureko::http::AppState {
    afureko::startup::state(
        &app.backend,
        app.state.public_url.clone(),
        afureko::twilio::api::TwilioApi::new(&app.twilio.base_url(), Default::default()).unwrap(),
        app.clock.clone(),
        UNLIMITED,
        HookClient::new(Reach::default()).unwrap(),
    )
}

#[tokio::test]
async fn only_https_to_a_public_address_is_taken() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let state = deployed(&app);
    let add = |url: &str, events: Value| {
        let request = axum::http::Request::post("/api/v1/notifications")
            .header("cookie", format!("afureko_session={}", admin.cookie))
            .header("x-csrf-token", &admin.csrf)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                json!({"url": url, "events": events}).to_string(),
            ))
            .unwrap();
        send_to(afureko::http::app(state.clone()), request)
    };
    for (url, message) in [
        (
            "http://hooks.example.com/x",
            "url: must start with https://",
        ),
        (
            "https://127.0.0.1/x",
            "url: 127.0.0.1 is not a public address",
        ),
        (
            "https://10.0.0.8/x",
            "url: 10.0.0.8 is not a public address",
        ),
        (
            "https://192.168.1.20/x",
            "url: 192.168.1.20 is not a public address",
        ),
        (
            "https://169.254.169.254/latest/meta-data",
            "url: 169.254.169.254 is not a public address",
        ),
        ("https://[::1]/x", "url: ::1 is not a public address"),
        (
            "https://[fd00::1]/x",
            "url: fd00::1 is not a public address",
        ),
        (
            "https://localhost:8443/x",
            "url: localhost names this machine",
        ),
        (
            "https://user:pw@hooks.example.com/x",
            "url: must not hold a user name or password",
        ),
    ] {
        let reply = add(url, json!(["created"])).await;
        assert_eq!(reply.status, 400, "{url}");
        assert_eq!(
            reply.json()["error"],
            json!({"code": "bad_request", "message": message, "field": "url"}),
            "{url}"
        );
    }
    let reply = add("https://hooks.example.com/x", json!(["deleted"])).await;
    assert_eq!(reply.json()["error"]["field"], "events");
    let reply = add("https://hooks.example.com/x", json!([])).await;
    assert_eq!(reply.json()["error"]["field"], "events");
    for n in 0..10 {
        let url = format!("https://hooks.example.com/{n}");
        assert_eq!(add(&url, json!(["created"])).await.status, 201);
    }
    let reply = add("https://hooks.example.com/11", json!(["created"])).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["error"]["message"],
        "a tenant has at most 10 notification endpoints"
    );
    // An API key does not manage endpoints.
    let key = app.api_key().await;
    let reply = app.api("GET", "/api/v1/notifications", &key, None).await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn a_delivery_to_an_address_the_deployment_refuses_fails_with_why() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let receiver = Receiver::start(&[], 200).await;
    // Allowed when added (local use), refused when sent by a deployment
    // that keeps to public addresses.
    let (id, _) = add_endpoint(&app, &admin, &receiver.url, &["created"], "standard").await;
    let state = deployed(&app);
    let request = axum::http::Request::post(format!("/api/v1/notifications/{id}/test"))
        .header("cookie", format!("afureko_session={}", admin.cookie))
        .header("x-csrf-token", &admin.csrf)
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = send_to(afureko::http::app(state), request).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["deliveries"][0]["error"],
        "url: must start with https://"
    );
    assert!(receiver.got().is_empty());
}

/// The tenant sends SMS confirmations from `from`.
fn sms_settings(language: Language, from: &str) -> TenantSettings {
    TenantSettings {
        sms_confirmation: true,
        sms_from: from.to_owned(),
        ..TenantSettings::for_language(language)
    }
}

async fn an_sms_confirmation_goes_to_a_mobile_once_per_record(kind: Kind) {
    let app = spawn_on(kind, sms_settings(Language::JaJp, "+15005550006")).await;
    let mut deliveries = Deliveries::of(&app, kind).await;
    let mobile = "+819012345678";
    let (record, _) = app.play_call(mobile).await;
    assert_eq!(deliveries.run().await.sms_sent, 1);
    let sent = app.twilio.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].params,
        [
            ("To".to_owned(), mobile.to_owned()),
            ("From".to_owned(), "+15005550006".to_owned()),
            (
                "Body".to_owned(),
                "お電話ありがとうございました。ご依頼を承りました。本日14時までに折り返しお電話します。このSMSへの返信は受け付けていません。".to_owned()
            ),
        ]
    );
    let kept = app.record(record.call_sid.as_str()).await.unwrap();
    let sms = kept.sms.unwrap();
    assert_eq!(
        (sms.state, sms.sid.as_deref()),
        (SmsState::Sent, Some(sent[0].sid.as_str()))
    );
    // The caller rings again and leaves more: no second SMS (its
    // callback.repeat_call finds no endpoint).
    app.play_repeat_call(mobile).await;
    assert_eq!(deliveries.run().await.sms_sent, 0);
    assert_eq!(app.twilio.sent_messages().len(), 1);
    // A landline gets none.
    let (landline, _) = app.play_call(CALLER).await;
    assert_eq!(deliveries.run().await.sms_sent, 0);
    assert_eq!(app.twilio.sent_messages().len(), 1);
    assert_eq!(
        app.record(landline.call_sid.as_str()).await.unwrap().sms,
        None
    );
    // The agents see it on the record.
    let key = app.api_key().await;
    let view = app
        .api(
            "GET",
            &format!("/api/v1/callbacks/{}", record.id),
            &key,
            None,
        )
        .await
        .json();
    assert_eq!(view["sms"]["state"], "sent");
    assert_eq!(view["sms"]["error"], Value::Null);
}

async fn a_refused_sms_keeps_twilios_error_on_the_record(kind: Kind) {
    let app = spawn_on(kind, sms_settings(Language::JaJp, "ACME")).await;
    let mut deliveries = Deliveries::of(&app, kind).await;
    app.twilio
        .fail_messages(Some(TwilioFailure::not_a_mobile_number()));
    let (record, _) = app.play_call("+819012345678").await;
    let report = deliveries.run().await;
    assert_eq!((report.sms_failed, report.retrying), (1, 0), "{report:?}");
    let sms = app
        .record(record.call_sid.as_str())
        .await
        .unwrap()
        .sms
        .unwrap();
    assert_eq!(sms.state, SmsState::Failed);
    let error = sms.error.unwrap();
    assert!(
        error.contains("error 21614: 'To' number +81******5678 is not a valid mobile number"),
        "{error}"
    );
    // Refused for good: not tried again.
    app.twilio.fail_messages(None);
    app.clock.set(now(&app) + SignedDuration::from_hours(30));
    assert_eq!(deliveries.run().await, NotifyReport::default());
    assert_eq!(
        app.record(record.call_sid.as_str())
            .await
            .unwrap()
            .sms
            .unwrap()
            .state,
        SmsState::Failed
    );
    assert!(app.twilio.sent_messages().is_empty());
}

/// The outbox is part of the change's own write: the embedded store adds
/// its rows in the record's transaction; DynamoDB's item carries it in the
/// same PutItem (for the stream), only on a write that raised something.
async fn the_outbox_is_written_with_the_change(kind: Kind) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let app = spawn_on(kind, TenantSettings::default()).await;
    let record = app.seed(TENANT, 0).await;
    assert!(
        record.raised.is_empty(),
        "a written record carries nothing raised"
    );
    // The item as stored, on DynamoDB: its version and outbox.
    let item = || async {
        let (_, table) = app.s3.as_ref()?;
        let url = match kind {
            Kind::Moto => std::env::var("AFUREKO_TEST_MOTO_URL"),
            _ => std::env::var("AFUREKO_TEST_DYNALITE_URL"),
        }
        .unwrap();
        let item = crate::backends::dynamo_client(&url)
            .get_item()
            .table_name(table)
            .key(
                "pk",
                AttributeValue::S(format!("TENANT#{TENANT}#CB#{}", record.id)),
            )
            .key("sk", AttributeValue::S("CB".into()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        Some((item["version"].clone(), item.get("outbox").cloned()))
    };
    let outbox = AttributeValue::S(r#"["callback.created"]"#.into());
    if app.s3.is_some() {
        assert_eq!(
            item().await,
            Some((AttributeValue::N("0".into()), Some(outbox)))
        );
    }
    let noted = afureko::store::modify_callback(
        app.backend.store.as_ref(),
        &app.tenant.id,
        &record.id,
        |r| {
            r.add_note("ann", "asked the shop".into(), now(&app));
            true
        },
    )
    .await
    .unwrap();
    assert!(noted.raised.is_empty());
    let got = app
        .backend
        .notify_queue
        .receive(10, std::time::Duration::ZERO, now(&app))
        .await
        .unwrap();
    if app.s3.is_some() {
        // The note's write raised nothing: its item has no outbox. The
        // store sends nothing itself; the stream does.
        assert_eq!(item().await, Some((AttributeValue::N("1".into()), None)));
        assert!(got.is_empty());
    } else {
        assert_eq!(
            got.len(),
            1,
            "the created record's job; the note raised none"
        );
        let job = got[0].job.clone().unwrap();
        assert_eq!(job.target, afureko::store::notify::Target::Endpoints);
        assert_eq!(job.outgoing.id, event_id(&record, 0, 0));
        assert_eq!(
            job.outgoing.data,
            afureko::domain::notify::CallbackData::of(&record)
        );
    }
}

on_streaming_backends!(
    the_outbox_is_written_with_the_change,
    every_event_is_delivered_signed_with_its_exact_body,
    only_the_events_an_endpoint_takes_reach_it,
    gone_disables_the_endpoint,
    the_test_event_is_sent_at_once_and_its_outcome_shown,
    an_erased_record_is_not_announced,
    an_sms_confirmation_goes_to_a_mobile_once_per_record,
    a_refused_sms_keeps_twilios_error_on_the_record,
);
crate::on_every_backend!(@on on_dynalite_and_s3s_fs, DynaliteAndS3sFs; the_outbox_is_written_with_the_change);

#[tokio::test]
async fn us_numbers_in_english_through_a_messaging_service() {
    let service = "MG0123456789abcdef0123456789abcdef";
    let settings = TenantSettings {
        time_zone: "America/New_York".into(),
        ..sms_settings(Language::EnUs, service)
    };
    let app = spawn_on(Kind::Embedded, settings).await;
    let mut deliveries = Deliveries::of(&app, Kind::Embedded).await;
    app.play_call("+14155552671").await;
    assert_eq!(deliveries.run().await.sms_sent, 1);
    let sent = app.twilio.sent_messages();
    assert_eq!(sent[0].param("MessagingServiceSid"), Some(service));
    assert_eq!(sent[0].param("From"), None);
    assert_eq!(
        sent[0].param("Body"),
        Some(
            "Thank you for calling. We have your request and will call you back by 12:00 am tomorrow. Replies to this message are not read."
        )
    );
    // Toll-free takes no SMS.
    let (toll_free, _) = app.play_call("+18002345678").await;
    assert_eq!(deliveries.run().await.sms_sent, 0);
    assert_eq!(
        app.record(toll_free.call_sid.as_str()).await.unwrap().sms,
        None
    );
    assert_eq!(app.twilio.sent_messages().len(), 1);
}

#[tokio::test]
async fn an_sms_through_a_twilio_outage_is_tried_again_with_the_error_kept() {
    let app = spawn_app_on(
        crate::backends::make(Kind::Embedded).await,
        sms_settings(Language::JaJp, "+15005550006"),
    )
    .await;
    let mut deliveries = Deliveries::of(&app, Kind::Embedded).await;
    let (record, _) = app.play_call("+819012345678").await;
    app.twilio.set_available(false);
    assert_eq!(deliveries.run().await.retrying, 1);
    let sms = app
        .record(record.call_sid.as_str())
        .await
        .unwrap()
        .sms
        .unwrap();
    assert_eq!(sms.state, SmsState::Requested);
    assert!(sms.error.unwrap().contains("503"));
    app.twilio.set_available(true);
    past_the_wait(&app, 1);
    assert_eq!(deliveries.run().await.sms_sent, 1);
    let sms = app
        .record(record.call_sid.as_str())
        .await
        .unwrap()
        .sms
        .unwrap();
    assert_eq!((sms.state, sms.error), (SmsState::Sent, None));
    assert_eq!(app.twilio.sent_messages().len(), 1);
}

/// The notifier Lambda's SQS batch: a delivery done is not reported, a
/// message that is no job is (SQS dead-letters it after its receives), and
/// one to try again is reported after its delay was set.
#[tokio::test]
async fn the_notifier_role_reports_what_is_to_come_back() {
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (ok, failing) = (
        Receiver::start(&[], 200).await,
        Receiver::start(&[], 503).await,
    );
    let (good, _) = add_endpoint(&app, &admin, &ok.url, &["created"], "standard").await;
    let (bad, _) = add_endpoint(&app, &admin, &failing.url, &["created"], "standard").await;
    let record = app.seed(TENANT, 0).await;
    let outgoing = afureko::domain::notify::Outgoing::of_raised(
        &record,
        &[afureko::domain::notify::Raised::Event(
            afureko::domain::notify::EventType::CallbackCreated,
        )],
    )
    .remove(0);
    let message = |n: u32, body: String| {
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("m{n}"));
        m.receipt_handle = Some(format!("r{n}"));
        m.body = Some(body);
        m.attributes
            .insert("ApproximateReceiveCount".into(), "1".into());
        m
    };
    let job = |endpoint: &str| {
        afureko::store::notify::NotifyJob {
            target: afureko::store::notify::Target::Endpoint(endpoint.to_owned()),
            outgoing: outgoing.clone(),
        }
        .to_json()
        .unwrap()
    };
    let mut event = SqsEvent::default();
    event.records = vec![
        message(1, job(&good)),
        message(2, "not a notification job".into()),
        message(3, job(&bad)),
    ];
    let answer = afureko::lambda::notify_batch(&app.state.notifier, event).await;
    let mut failures: Vec<String> = answer
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    failures.sort();
    assert_eq!(failures, ["m2", "m3"]);
    assert_eq!(ok.got().len(), 1);
    assert_eq!(failing.got().len(), 1);
    assert_eq!(ok.got()[0].header("webhook-id"), outgoing.id);
}
