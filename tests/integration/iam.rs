//! Least privilege, proven: every DynamoDB, S3, SQS and KMS operation each
//! Lambda function's code performs while it plays its part (recorded on the
//! SDK clients), against what template.yaml grants that function, both
//! ways: nothing missing (the deployment would fail where moto checks no
//! IAM) and nothing unused. What the platform does with a function's role
//! (the event sources' receives and reads, the stream's failure queue, the
//! logs) SAM grants by itself and is not in the comparison.

use crate::backends::{Kind, make_seen_by, require};
use crate::helpers::*;
use crate::notify::add_endpoint;
use crate::receiver::Receiver;
use crate::stream::Stream;
use crate::template::{self, Grant};
use afureko::domain::agent::Role;
use afureko::domain::tenant::TenantSettings;
use afureko::store::Inserted;
use afureko::store::copy_queue::CopyJob;
use afureko::twilio::sim::{FakeCall, FakeRecording, tone_wav};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What each caller did.
#[derive(Default)]
struct Recorded {
    /// Who is calling now: a function's logical id, `init` (a function's
    /// start, which any of them may be), or `setup` (the test's own doing).
    now: String,
    done: BTreeMap<String, BTreeSet<Grant>>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Recorded>>);

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recorder")
    }
}

impl Recorder {
    fn now(&self, who: &str) {
        self.0.lock().unwrap().now = who.to_owned();
    }

    fn of(&self, who: &str) -> BTreeSet<Grant> {
        self.0
            .lock()
            .unwrap()
            .done
            .get(who)
            .cloned()
            .unwrap_or_default()
    }
}

/// The queue's logical id in template.yaml, from its URL (backends.rs names
/// them `{name}-copy`, `{name}-notify` and their `-dlq`).
fn queue_of(url: &str) -> &'static str {
    let queues = [
        ("-copy-dlq", "CopyDeadLetterQueue"),
        ("-copy", "CopyQueue"),
        ("-notify-dlq", "NotifyDeadLetterQueue"),
        ("-notify", "NotifyQueue"),
    ];
    queues
        .into_iter()
        .find_map(|(suffix, id)| url.ends_with(suffix).then_some(id))
        .unwrap_or_else(|| panic!("an unknown queue {url}"))
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "IAM recorder"
    }

    // Before anything is sent: a presigned GetObject is never sent, yet
    // the link it makes works only if the role may GetObject.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg.load::<Metadata>().expect("operation metadata");
        let action = format!(
            "{}:{}",
            metadata.service().to_ascii_lowercase(),
            metadata.name()
        );
        let input = context.input();
        use aws_sdk_sqs::operation as sqs;
        let url = input
            .downcast_ref::<sqs::send_message::SendMessageInput>()
            .and_then(|i| i.queue_url.clone())
            .or_else(|| {
                input
                    .downcast_ref::<sqs::receive_message::ReceiveMessageInput>()
                    .and_then(|i| i.queue_url.clone())
            })
            .or_else(|| {
                input
                    .downcast_ref::<sqs::delete_message::DeleteMessageInput>()
                    .and_then(|i| i.queue_url.clone())
            })
            .or_else(|| {
                input
                    .downcast_ref::<sqs::change_message_visibility::ChangeMessageVisibilityInput>()
                    .and_then(|i| i.queue_url.clone())
            })
            .or_else(|| {
                input
                    .downcast_ref::<sqs::get_queue_attributes::GetQueueAttributesInput>()
                    .and_then(|i| i.queue_url.clone())
            });
        if action.starts_with("sqs:") {
            assert!(url.is_some(), "{action}: a queue URL the recorder knows");
        }
        let grant = Grant::new(&action, url.as_deref().map(queue_of));
        let mut recorded = self.0.lock().unwrap();
        let who = recorded.now.clone();
        recorded.done.entry(who).or_default().insert(grant);
        Ok(())
    }
}

/// The copier's part, as Lambda hands it a batch: whatever the queue holds.
async fn copy_batch_of(app: &TestApp, recorder: &Recorder) {
    recorder.now("setup");
    let event = app.queue_as_sqs_event().await;
    recorder.now("CopierFunction");
    afureko::lambda::copy_batch(&app.state.copier, event, Duration::ZERO).await;
}

async fn every_function_may_do_exactly_what_it_does(kind: Kind) {
    let recorder = Recorder::default();
    recorder.now("init");
    let backend = make_seen_by(kind, SharedInterceptor::new(recorder.clone())).await;
    recorder.now("setup");
    let app = spawn_app_on(backend, TenantSettings::default()).await;
    let key = app.api_key().await;
    app.add_agent(TENANT, "root", Role::Admin).await;
    app.add_agent(TENANT, "ann", Role::Agent).await;

    // Twilio's webhooks: a call kept on its caller ID, a repeat call, a
    // typed number, the dial and queue steps, recordings, a lost call.
    recorder.now("WebhookFunction");
    let (sid, doc) = app.call_to_recording().await;
    let call = app.call(&sid, CALLER);
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(0.5));
    call.record(&doc, &rec_sid, &rec_url, 1).await.unwrap();
    let reply = call
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(reply.status, 204);
    let again = app.call_sid();
    let doc = app.ring(&app.call(&again, CALLER)).await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(0.5));
    let reply = app
        .call(&again, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(reply.status, 204);
    let typed = app.call_sid();
    let typed_call = app.call(&typed, "anonymous");
    let doc = app.ring(&typed_call).await;
    let doc = typed_call
        .press(&doc, "0312349999")
        .await
        .unwrap()
        .doc()
        .unwrap();
    let doc = typed_call.press(&doc, "1").await.unwrap().doc().unwrap();
    assert!(doc.record().is_some());
    let base = format!("{PUBLIC_URL}/twilio/{TENANT}");
    let routed = app.call(&app.call_sid(), "+81311112222");
    for (path, extra) in [
        ("/dial-result/1795568400", ("DialCallStatus", "busy")),
        ("/queue/wait/1795568400", ("QueueTime", "400")),
        ("/queue/result/1795568400", ("QueueResult", "leave")),
    ] {
        let reply = routed
            .post(&format!("{base}{path}"), &[extra])
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    let lost = app.call_sid();
    app.twilio
        .add_call(FakeCall::inbound(&lost, "+81311113333", COMPANY));
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(0.5));
    let reply = app
        .call(&lost, "+81311113333")
        .post(
            &format!("{base}/recording"),
            &[
                ("RecordingSid", rec_sid.as_str()),
                ("RecordingUrl", rec_url.as_str()),
                ("RecordingStatus", "completed"),
                ("RecordingDuration", "5"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 204, "{}", reply.body);
    // A first call that loses its number's race deletes what it wrote.
    let open = app.record(&sid).await.unwrap();
    let mut twin = open.clone();
    twin.id = afureko::domain::ids::CallbackId::generate();
    twin.call_sid = afureko::domain::ids::CallSid::parse(&app.call_sid()).unwrap();
    twin.repeat_calls.clear();
    twin.recordings.clear();
    twin.version = 0;
    assert!(matches!(
        app.backend.store.insert_callback(&twin).await.unwrap(),
        Inserted::NumberOpen(_)
    ));

    // The copier works the jobs: copies, deletes Twilio's copy, and hands
    // back one whose download fails.
    copy_batch_of(&app, &recorder).await;
    recorder.now("WebhookFunction");
    let failing = app.call_sid();
    let doc = app.ring(&app.call(&failing, "+81311114444")).await;
    let doc = app
        .call(&failing, "+81311114444")
        .press(&doc, "1")
        .await
        .unwrap()
        .doc()
        .unwrap();
    let reply = app
        .call(&failing, "+81311114444")
        .recording_status(&doc, "completed", "RE000000000000000000000000000000ff", &format!("{}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE000000000000000000000000000000ff", app.twilio.base_url()), 1)
        .await
        .unwrap();
    assert_eq!(reply.status, 204);
    copy_batch_of(&app, &recorder).await;

    // The agents' API: every route, by key and by session.
    recorder.now("ApiFunction");
    let id = open.id.to_string();
    let cb = |rest: &str| format!("/api/v1/callbacks/{id}{rest}");
    let ok = |reply: ApiReply, what: &str| {
        assert!(
            reply.status < 300,
            "{what}: {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.bytes)
        );
    };
    ok(
        app.api("GET", "/api/v1/callbacks", &key, None).await,
        "list",
    );
    ok(app.api("GET", &cb(""), &key, None).await, "get");
    ok(app.fetch_recording(&key, &id, None).await, "recording");
    ok(app.claim(&key, &id, "ann").await, "claim");
    ok(app.release(&key, &id, "ann").await, "release");
    ok(
        app.api(
            "POST",
            &cb("/notes"),
            &key,
            Some(json!({"agent": "ann", "text": "n"})),
        )
        .await,
        "note",
    );
    ok(
        app.api(
            "POST",
            &cb("/assign"),
            &key,
            Some(json!({"agent": "ann", "to": "root"})),
        )
        .await,
        "assign",
    );
    ok(
        app.attempt(&key, &id, json!({"agent": "root", "outcome": "no_answer"}))
            .await,
        "attempt",
    );
    let keyed = axum::http::Request::post(cb("/claim"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", "k-1")
        .body(axum::body::Body::from(json!({"agent": "root"}).to_string()))
        .unwrap();
    ok(app.send(keyed).await, "keyed claim");
    ok(
        app.complete(&key, &id, json!({"agent": "root"})).await,
        "complete",
    );
    let root = app.browser("root").await;
    for (method, path, body) in [
        ("GET", "/api/v1/me".to_owned(), None),
        ("GET", "/api/v1/agents".to_owned(), None),
        (
            "POST",
            "/api/v1/agents".to_owned(),
            Some(json!({"login": "bob", "name": "Bob", "role": "agent"})),
        ),
        (
            "PATCH",
            "/api/v1/agents/bob".to_owned(),
            Some(json!({"name": "Bob S"})),
        ),
        ("POST", "/api/v1/agents/bob/password".to_owned(), None),
        ("GET", "/api/v1/api-keys".to_owned(), None),
        (
            "POST",
            "/api/v1/api-keys".to_owned(),
            Some(json!({"name": "desk"})),
        ),
        ("GET", "/api/v1/settings".to_owned(), None),
        (
            "PATCH",
            "/api/v1/settings".to_owned(),
            Some(json!({"callback_sla_minutes": 30})),
        ),
        (
            "DELETE",
            // The lost call's record: its recording is stored.
            format!("/api/v1/callbacks/{}", app.record(&lost).await.unwrap().id),
            None,
        ),
    ] {
        ok(app.browse(&root, method, &path, body).await, &path);
    }
    let keys = app
        .browse(&root, "GET", "/api/v1/api-keys", None)
        .await
        .json();
    let made = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "desk")
        .unwrap();
    let revoke = format!("/api/v1/api-keys/{}", made["id"].as_str().unwrap());
    ok(app.browse(&root, "DELETE", &revoke, None).await, "revoke");
    // Notification endpoints: one that takes deliveries, one that fails.
    let taker = Receiver::start(&[], 200).await;
    let failing = Receiver::start(&[], 503).await;
    let mut endpoint_ids = Vec::new();
    for url in [&taker.url, &failing.url] {
        let events = ["created", "overdue"];
        endpoint_ids.push(add_endpoint(&app, &root, url, &events, "standard").await.0);
    }
    ok(
        app.browse(&root, "GET", "/api/v1/notifications", None)
            .await,
        "endpoints",
    );
    let tested = format!("/api/v1/notifications/{}/test", endpoint_ids[0]);
    ok(app.browse(&root, "POST", &tested, None).await, "test");
    let (extra, _) = add_endpoint(&app, &root, &taker.url, &["completed"], "slack").await;
    let removed = format!("/api/v1/notifications/{extra}");
    ok(
        app.browse(&root, "DELETE", &removed, None).await,
        "remove endpoint",
    );

    let other = app.browser("root").await;
    ok(
        app.browse(&other, "DELETE", "/api/v1/sessions/current", None)
            .await,
        "sign out",
    );
    let password = json!({"current_password": "a long enough password", "new_password": "another long password"});
    ok(
        app.browse(&root, "POST", "/api/v1/me/password", Some(password))
            .await,
        "password",
    );

    // The sweeper: a dead job re-driven, the stream's removals, the
    // reconciliation of every tenant.
    recorder.now("setup");
    let dead = CopyJob {
        tenant: app.tenant.id.clone(),
        callback: open.id.clone(),
        recording: open.recordings[0].sid.clone(),
    };
    dead_letter(&app, &dead).await;
    app.twilio.list_recording(FakeRecording::record_verb(
        &app.recording_sid(),
        &app.call_sid(),
        NOW.parse().unwrap(),
    ));
    let expired = app.record(&sid).await.unwrap();
    recorder.now("SweeperFunction");
    let swept =
        afureko::lambda::sweeper_event(&app.state, &serde_json::json!({"source": "aws.events"}))
            .await
            .unwrap();
    assert_eq!(swept["requeued"], 1, "{swept}");
    let change = json!({"Records": [{
        "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"SequenceNumber": "1", "OldImage": {"sk": {"S": "CB"}, "doc": {"S": serde_json::to_string(&expired).unwrap()}}},
    }]});
    let stream = afureko::lambda::sweeper_event(&app.state, &change)
        .await
        .unwrap();
    assert_eq!(stream, json!({"batchItemFailures": []}));

    // The notifier: the stream's writes that raised something, relayed as
    // jobs; the jobs delivered (the failing endpoint's handed back); the
    // overdue sweep once a record is past due.
    recorder.now("setup");
    let new_call = app.call_sid();
    app.ring(&app.call(&new_call, "+81311115555")).await;
    let moto = std::env::var("AFUREKO_TEST_MOTO_URL").unwrap();
    let (_, table) = app.s3.as_ref().expect("an AWS backend");
    let batch = Stream::open(&moto, table).await.read().await;
    recorder.now("NotifierFunction");
    let relayed = afureko::lambda::notifier_event(&app.state, batch)
        .await
        .unwrap();
    assert!(relayed["queued"].as_u64() > Some(0), "{relayed}");
    // Each event's job becomes one job an endpoint, delivered next round.
    let mut handed_back = 0;
    for _ in 0..10 {
        recorder.now("setup");
        let deliveries = app.notify_queue_as_sqs_event().await;
        if deliveries.records.is_empty() {
            break;
        }
        recorder.now("NotifierFunction");
        let answer = afureko::lambda::notifier_event(&app.state, json!(deliveries))
            .await
            .unwrap();
        handed_back += answer["batchItemFailures"].as_array().unwrap().len();
    }
    assert!(!taker.got().is_empty() && !failing.got().is_empty());
    assert!(
        handed_back > 0,
        "the failing endpoint's deliveries come back"
    );
    let overdue = app.record(&new_call).await.unwrap();
    app.clock
        .set(overdue.due_at + jiff::SignedDuration::from_mins(1));
    let swept = afureko::lambda::notifier_event(&app.state, json!({"source": "aws.events"}))
        .await
        .unwrap();
    assert!(swept["announced"].as_u64() > Some(0), "{swept}");
    recorder.now("setup");

    let mut problems = Vec::new();
    let init = recorder.of("init");
    for function in template::functions() {
        let mut used = recorder.of(&function.name);
        assert!(!used.is_empty(), "{} played no part", function.name);
        used.extend(init.iter().cloned());
        for missing in used.difference(&function.grants) {
            problems.push(format!("{} does {missing}, not granted", function.name));
        }
        for unused in function.grants.difference(&used) {
            problems.push(format!("{} is granted {unused}, never done", function.name));
        }
    }
    assert!(
        problems.is_empty(),
        "template.yaml:\n{}",
        problems.join("\n")
    );
}

/// Puts `job` in the dead-letter queue, as the queue does after its
/// receives.
async fn dead_letter(app: &TestApp, job: &CopyJob) {
    let moto = std::env::var("AFUREKO_TEST_MOTO_URL").unwrap();
    let client = aws_sdk_sqs::Client::new(&crate::backends::sdk(&moto, "test", "test"));
    let (_, name) = app.s3.as_ref().expect("an AWS backend");
    let (_, dlq) = crate::backends::queue_urls(&moto, name);
    client
        .send_message()
        .queue_url(dlq)
        .message_body(job.to_json().unwrap())
        .send()
        .await
        .unwrap();
}

#[ignore = "needs local AWS: scripts/local-aws start && . target/local-aws/env"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_may_do_exactly_what_it_does_on_moto() {
    require(Kind::Moto);
    every_function_may_do_exactly_what_it_does(Kind::Moto).await;
}
