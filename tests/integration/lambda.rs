//! The Lambda path itself: the binary under `cargo lambda watch` (the
//! runtime API emulator), invoked with event files by `cargo lambda invoke`.
//! scripts/test installs cargo-lambda (PyPI) and puts it on PATH.

use std::path::Path;
use std::process::{Command, Stdio};

/// Stops the emulator and the function it started when the test ends.
struct Watch(std::process::Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["--", &group]).status();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn invoke(port: u16, event: &str) -> serde_json::Value {
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    // The first invocation waits for the emulator to start the function.
    for _ in 0..120 {
        let out = Command::new("cargo")
            .args([
                "lambda",
                "invoke",
                "afureko",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .arg("--data-file")
            .arg(events.join(event))
            .output()
            .expect("cargo lambda is on PATH (scripts/test installs it)");
        if out.status.success() {
            return serde_json::from_slice(&out.stdout).expect("a JSON response");
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("cargo lambda invoke never got an answer for {event}");
}

#[test]
fn the_binary_answers_api_gateway_events_under_the_lambda_runtime() {
    let data = tempfile::tempdir().unwrap();
    let tenant = Command::new(env!("CARGO_BIN_EXE_afureko"))
        .args(["tenant", "create", "--id", "demo"])
        .args(["--twilio-account-sid", "AC00000000000000000000000000000000"])
        .args(["--twilio-auth-token", "events-test-token"])
        .env("AFUREKO_DATA_DIR", data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(tenant.success());

    let port = free_port();
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("AFUREKO_DATA_DIR", data.path())
            .env("AFUREKO_PUBLIC_URL", "https://calls.example.com")
            .env("AFUREKO_TWILIO_API_BASE", "http://127.0.0.1:9")
            .env("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cargo lambda watch starts")
    };
    let _watch = Watch(child);

    for event in ["twilio-voice.json", "twilio-voice-rest-v1.json"] {
        let response = invoke(port, event);
        assert_eq!(response["statusCode"], 200, "{event}: {response}");
        let body = response["body"].as_str().unwrap_or_default();
        assert!(body.starts_with("<?xml"), "{event}: {body}");
        assert!(
            body.contains("action=\"https://calls.example.com/twilio/demo/ivr/offer/overflow/"),
            "{event}: {body}"
        );
    }
    let health = invoke(port, "healthz.json");
    assert_eq!(health["body"], "ok");
}

/// A Runtime API that only records init errors.
async fn runtime_api_recording_init_errors() -> (String, tokio::sync::mpsc::Receiver<String>) {
    use axum::routing::post;
    let (sent, received) = tokio::sync::mpsc::channel(4);
    let app = axum::Router::new().route(
        "/2018-06-01/runtime/init/error",
        post(move |body: String| {
            let sent = sent.clone();
            async move {
                let _ = sent.send(body).await;
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr.to_string(), received)
}

#[tokio::test]
async fn a_start_up_error_is_reported_to_the_runtime_api() {
    let (api, mut received) = runtime_api_recording_init_errors().await;
    let status = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_afureko"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AFUREKO_TABLE", "afureko")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!status.success());
    let body: serde_json::Value = serde_json::from_str(&received.recv().await.unwrap()).unwrap();
    assert_eq!(body["errorType"], "Runtime.InitError");
    assert_eq!(
        body["errorMessage"],
        "AFUREKO_BUCKET: must be set with AFUREKO_TABLE (the AWS backend needs both)"
    );
}

/// A Runtime API that hands out one scheduled event and sends back what the
/// function answered to it (then holds every later `next`).
/// The schedule's event.
fn scheduled_event() -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-25T01:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/every-ten-minutes"],
        "detail": {}
    })
}

async fn runtime_api_with_one_event(
    event: serde_json::Value,
) -> (String, tokio::sync::mpsc::Receiver<String>) {
    use axum::extract::Path as UrlPath;
    use axum::routing::{get, post};
    let (sent, received) = tokio::sync::mpsc::channel(4);
    let handed_out = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered = move |kind: &'static str| {
        let sent = sent.clone();
        move |UrlPath(id): UrlPath<String>, body: String| {
            let sent = sent.clone();
            async move {
                let _ = sent.send(format!("{kind} {id} {body}")).await;
                axum::http::StatusCode::ACCEPTED
            }
        }
    };
    let app = axum::Router::new()
        .route(
            "/2018-06-01/runtime/invocation/next",
            get(move || {
                let handed_out = handed_out.clone();
                let event = event.clone();
                async move {
                    if handed_out.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        std::future::pending::<()>().await;
                    }
                    let deadline = jiff::Timestamp::now().as_millisecond() + 300_000;
                    (
                        [
                            ("lambda-runtime-aws-request-id", "req-1".to_owned()),
                            ("lambda-runtime-deadline-ms", deadline.to_string()),
                            (
                                "lambda-runtime-invoked-function-arn",
                                "arn:aws:lambda:us-east-1:123456789012:function:sweeper".to_owned(),
                            ),
                            ("content-type", "application/json".to_owned()),
                        ],
                        event.to_string(),
                    )
                }
            }),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(answered("response")),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(answered("error")),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr.to_string(), received)
}

/// Kills the function when the test ends.
struct Function(std::process::Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `AFUREKO_LAMBDA_ROLE=sweeper`: the binary under a Runtime API takes the
/// scheduled event, moves a dead copy job back onto the queue, and answers
/// its report; the copier then finishes the copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_role_redrives_a_dead_copy_job_on_a_scheduled_event() {
    use crate::helpers::*;
    use afureko::clock::Clock;
    use afureko::domain::callback::RecordingState;
    use afureko::store::copy_queue::MAX_RECEIVES;
    let app = spawn_on(crate::backends::Kind::Embedded, wav_settings()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let audio = afureko::twilio::sim::tone_wav(1.0);
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    // A job that fails every time it is received dies.
    let job = app
        .backend
        .queue
        .receive(1, std::time::Duration::ZERO, app.clock.now())
        .await
        .unwrap();
    assert_eq!(job.len(), 1);
    let mut delivery = job[0].clone();
    for _ in 1..MAX_RECEIVES {
        app.backend
            .queue
            .fail(&delivery, std::time::Duration::ZERO, app.clock.now())
            .await
            .unwrap();
        delivery = app
            .backend
            .queue
            .receive(1, std::time::Duration::ZERO, app.clock.now())
            .await
            .unwrap()
            .remove(0);
    }
    app.backend
        .queue
        .fail(&delivery, std::time::Duration::ZERO, app.clock.now())
        .await
        .unwrap();
    assert_eq!(
        app.backend.queue.depth(app.clock.now()).await.unwrap().dead,
        1
    );

    let (api, mut received) = runtime_api_with_one_event(scheduled_event()).await;
    let _function = Function(
        Command::new(env!("CARGO_BIN_EXE_afureko"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "sweeper")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AFUREKO_LAMBDA_ROLE", "sweeper")
            .env("AFUREKO_DATA_DIR", app.dir.path())
            .env("AFUREKO_PUBLIC_URL", PUBLIC_URL)
            .env("AFUREKO_TWILIO_API_BASE", app.twilio.base_url())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    // Only a guard against a hang.
    let answer = tokio::time::timeout(std::time::Duration::from_secs(120), received.recv())
        .await
        .expect("the sweeper answered the event")
        .unwrap();
    let (kind, rest) = answer.split_once(' ').unwrap();
    let (id, body) = rest.split_once(' ').unwrap();
    assert_eq!((kind, id), ("response", "req-1"), "{body}");
    let report: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        report,
        serde_json::json!({
            "requeued": 1, "unreadable": 0, "waiting": 1, "in_flight": 0, "dead": 0,
            "lost_calls_kept": 0, "lost_calls_withheld": 0
        })
    );
    // The sweeper ran on the real clock: the job is due from then.
    app.clock.set(jiff::Timestamp::now());
    assert_eq!(app.copy_round().await.stored, 1);
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::Stored);
    let key = record.recordings[0].storage_key.clone().unwrap();
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
    assert_eq!(app.twilio.deleted(), [rec_sid]);
}

/// The AWS backend without a key for tenants' secrets does not start; the
/// Runtime API is told why.
#[tokio::test]
async fn a_missing_secret_key_is_reported_to_the_runtime_api() {
    let (api, mut received) = runtime_api_recording_init_errors().await;
    let status = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_afureko"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AFUREKO_TABLE", "afureko")
            .env("AFUREKO_BUCKET", "afureko")
            .env("AFUREKO_COPY_QUEUE_URL", "http://127.0.0.1:9/queue/copy")
            .env("AFUREKO_COPY_DLQ_URL", "http://127.0.0.1:9/queue/copy-dlq")
            .env(
                "AFUREKO_NOTIFY_QUEUE_URL",
                "http://127.0.0.1:9/queue/notify",
            )
            .env(
                "AFUREKO_NOTIFY_DLQ_URL",
                "http://127.0.0.1:9/queue/notify-dlq",
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!status.success());
    let body: serde_json::Value = serde_json::from_str(&received.recv().await.unwrap()).unwrap();
    assert_eq!(
        body["errorMessage"],
        "the AWS backend needs a key for tenants' secrets: set AFUREKO_KMS_KEY_ID (a KMS key; template.yaml makes one) or AFUREKO_SECRET_KEY (see docs/operations.md, Secrets at rest)"
    );
}

/// The sweeper role on the table's stream: a batch of the TTL's removals
/// deletes each removed record's recordings (here on the embedded store,
/// which the binary in this role serves as well as DynamoDB).
#[tokio::test]
async fn the_sweeper_role_deletes_the_recordings_of_records_the_ttl_removed() {
    use crate::helpers::*;
    let app = spawn_app().await;
    let (record, _) = app.play_call(CALLER).await;
    let key = record.latest_stored_key().unwrap().to_owned();
    assert!(app.backend.audio.get(&key).await.unwrap().is_some());
    let removed = serde_json::json!({
            "eventID": "1",
            "eventName": "REMOVE",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            "dynamodb": {
                "Keys": {"pk": {"S": format!("TENANT#{TENANT}#CB#{}", record.id)}, "sk": {"S": "CB"}},
                "OldImage": {
                    "pk": {"S": format!("TENANT#{TENANT}#CB#{}", record.id)},
                    "sk": {"S": "CB"},
                    "doc": {"S": serde_json::to_string(&record).unwrap()},
                },
                "StreamViewType": "OLD_IMAGE",
            },
    });
    let event = serde_json::json!({"Records": [removed]});
    let (api, mut received) = runtime_api_with_one_event(event).await;
    let _function = Function(
        Command::new(env!("CARGO_BIN_EXE_afureko"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "sweeper")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AFUREKO_LAMBDA_ROLE", "sweeper")
            .env("AFUREKO_DATA_DIR", app.dir.path())
            .env("AFUREKO_PUBLIC_URL", PUBLIC_URL)
            .env("AFUREKO_TWILIO_API_BASE", app.twilio.base_url())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    // Only a guard against a hang.
    let answer = tokio::time::timeout(std::time::Duration::from_secs(120), received.recv())
        .await
        .expect("the sweeper answered the event")
        .unwrap();
    let (kind, rest) = answer.split_once(' ').unwrap();
    let (id, body) = rest.split_once(' ').unwrap();
    assert_eq!((kind, id), ("response", "req-1"), "{body}");
    let report: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(report, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), None);
}

/// A change of the stream that fails is reported by its SequenceNumber
/// (the template's `ReportBatchItemFailures`): Lambda retries from it, and
/// the changes before it are done.
#[tokio::test]
async fn the_stream_handler_reports_the_change_that_failed() {
    use crate::helpers::*;
    let app = spawn_app().await;
    let (good, _) = app.play_call(CALLER).await;
    let key = good.latest_stored_key().unwrap().to_owned();
    let mut bad = app.seed(TENANT, 5).await;
    // A key the recordings folder refuses: its delete fails every time.
    let mut recording = good.recordings[0].clone();
    recording.storage_key = Some("../outside".into());
    bad.recordings.push(recording);
    let change = |sequence: &str, record: &afureko::domain::callback::CallbackRecord| {
        serde_json::json!({
            "eventName": "REMOVE",
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "SequenceNumber": sequence,
                "OldImage": {
                    "sk": {"S": "CB"},
                    "doc": {"S": serde_json::to_string(record).unwrap()},
                },
            },
        })
    };
    let event = serde_json::json!({"Records": [change("111", &bad), change("222", &good)]});
    let answer = afureko::lambda::sweeper_event(&app.state, &event)
        .await
        .unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "111"}]})
    );
    assert!(
        app.backend.audio.get(&key).await.unwrap().is_some(),
        "left for the retry"
    );
    let event = serde_json::json!({"Records": [change("222", &good), change("333", &bad)]});
    let answer = afureko::lambda::sweeper_event(&app.state, &event)
        .await
        .unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "333"}]})
    );
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), None);
}

/// The copier role's handler, in-process, with the SQS event of
/// events/sqs/copy-jobs.json: the job is copied, the message that is no job
/// is reported as a batch item failure (SQS dead-letters it after its
/// receives), and the same batch delivered again copies nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_copier_role_copies_a_batch_and_reports_the_poison_message() {
    use crate::helpers::*;
    use afureko::domain::callback::{
        CallbackRecord, Confirmation, NewCallback, Recording, RecordingState, TwilioCopy,
    };
    use afureko::domain::ids::{CallSid, CallbackId, RecordingSid, TenantId};
    use afureko::domain::phone::{E164, Region};
    use afureko::domain::reason::Reason;
    use aws_lambda_events::event::sqs::SqsEvent;

    let app = spawn_on(crate::backends::Kind::Embedded, wav_settings()).await;
    app.add_tenant("demo").await;
    let recording = "RE0000000000000000000000000000e002";
    let audio = afureko::twilio::sim::tone_wav(1.0);
    let url = app.twilio.add_recording(recording, audio.clone());
    let number = E164::parse("+819012345678", Region::JP).unwrap();
    let arrived: jiff::Timestamp = NOW.parse().unwrap();
    let mut record = CallbackRecord::new(
        TenantId::parse("demo").unwrap(),
        NewCallback {
            call_sid: CallSid::parse("CA0000000000000000000000000000e0ff").unwrap(),
            caller_number: Some(number.clone()),
            callback_number: number,
            confirmation: Confirmation::CallerId,
            reason: Reason::Overflow,
            received_at: arrived,
            due_from: None,
        },
        60,
        arrived,
    );
    record.id = CallbackId::parse("01938f2e-0000-7000-8000-000000000001").unwrap();
    record.recordings.push(Recording {
        kind: Default::default(),
        sid: RecordingSid::parse(recording).unwrap(),
        call_sid: Some(record.call_sid.clone()),
        state: RecordingState::PendingCopy,
        twilio_url: Some(url),
        duration_seconds: Some(1),
        storage_key: None,
        copy_attempts: 0,
        last_error: None,
        copying_until: None,
        twilio_copy: None,
    });
    app.backend.store.insert_callback(&record).await.unwrap();

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("events/sqs/copy-jobs.json");
    let event: SqsEvent = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    for delivery in 1..=2 {
        let answer = afureko::lambda::copy_batch(
            &app.state.copier,
            event.clone(),
            std::time::Duration::ZERO,
        )
        .await;
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            serde_json::json!({
                "batchItemFailures": [{ "itemIdentifier": "059f36b4-87a3-44ab-83d2-661975040002" }]
            }),
            "delivery {delivery}"
        );
    }
    assert_eq!(app.twilio.downloads(), 1, "copied once");
    assert_eq!(app.twilio.deleted(), [recording]);
    let stored = app
        .backend
        .store
        .get_callback(&record.tenant_id, &record.id)
        .await
        .unwrap()
        .unwrap();
    let kept = &stored.recordings[0];
    assert_eq!(kept.state, RecordingState::Stored);
    assert_eq!(kept.twilio_copy, Some(TwilioCopy::Deleted));
    let key = kept.storage_key.clone().unwrap();
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
}

/// SAM's rust-cargolambda build runs `cargo lambda build --release` and no
/// other cargo flag: Cargo.toml's `[package.metadata.lambda.build]` config
/// must make that release build the lambda profile, setting by setting
/// (docs/performance.md measures the lambda profile), and
/// `[profile.release]` must set what cargo-lambda would otherwise set its
/// own way, panic=abort among them: a panicking copy job is then reported
/// as a batch item failure in both builds, not the end of the process.
#[test]
fn sams_release_build_is_the_lambda_profile() {
    let manifest = include_str!("../../Cargo.toml");
    // `key = value` lines of the `[name]` table.
    let table = |name: &str| -> Vec<(String, String)> {
        let start = manifest
            .find(&format!("\n[{name}]\n"))
            .unwrap_or_else(|| panic!("Cargo.toml has no [{name}]"));
        manifest[start + name.len() + 4..]
            .lines()
            .take_while(|l| !l.starts_with('['))
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k.trim().to_owned(), v.trim().to_owned())
            })
            .collect()
    };
    let mut lambda: Vec<String> = table("profile.lambda")
        .into_iter()
        .filter(|(k, _)| k != "inherits")
        .map(|(k, v)| format!("profile.release.{k}={v}"))
        .collect();
    for package in ["argon2", "blake2"] {
        for (k, v) in table(&format!("profile.lambda.package.{package}")) {
            lambda.push(format!("profile.release.package.{package}.{k}={v}"));
        }
    }
    let config = &manifest[manifest
        .find("[package.metadata.lambda.build]")
        .expect("the build metadata")..];
    let config = &config[config.find("config = [").expect("its config")..];
    let entries: Vec<String> = config[..config.find("\n]").unwrap()]
        .lines()
        .skip(1)
        .map(|l| l.trim().trim_end_matches(',').trim_matches('\'').to_owned())
        .collect();
    let mut release: Vec<String> = entries
        .iter()
        .filter(|e| e.starts_with("profile.release."))
        .cloned()
        .collect();
    lambda.sort();
    release.sort();
    assert_eq!(
        release, lambda,
        "the metadata's config is the lambda profile"
    );
    assert!(
        entries.contains(
            &r#"target.aarch64-unknown-linux-gnu.rustflags=["-C", "target-cpu=neoverse-n1"]"#
                .to_owned()
        )
    );
    let release_profile = table("profile.release");
    for (key, value) in [("panic", "\"unwind\""), ("lto", "false")] {
        assert!(
            release_profile.contains(&(key.to_owned(), value.to_owned())),
            "[profile.release] sets {key} = {value}"
        );
    }
    assert!(manifest.contains("no_default_features = true"));
}

/// A store whose upload of `poisoned` panics; others go to `inner`.
struct PanickingUpload {
    inner: std::sync::Arc<dyn afureko::store::RecordingStore>,
    poisoned: String,
}

#[async_trait::async_trait]
impl afureko::store::RecordingStore for PanickingUpload {
    async fn put_file(
        &self,
        key: &str,
        file: &std::path::Path,
        content_type: &str,
    ) -> Result<(), afureko::store::StoreError> {
        assert!(!key.contains(&self.poisoned), "a bug in the upload");
        self.inner.put_file(key, file, content_type).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, afureko::store::StoreError> {
        self.inner.get(key).await
    }
    async fn access(
        &self,
        key: &str,
    ) -> Result<Option<afureko::store::RecordingAccess>, afureko::store::StoreError> {
        self.inner.access(key).await
    }
    async fn delete(&self, key: &str) -> Result<(), afureko::store::StoreError> {
        self.inner.delete(key).await
    }
}

/// A copy job that panics fails alone: its message is reported (SQS gives
/// it again, and dead-letters it after its receives), the batch's other
/// jobs are done. With panic=unwind, as both the lambda profile and SAM's
/// build have it (`sams_release_build_is_the_lambda_profile`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_job_that_panics_fails_alone() {
    use crate::helpers::*;
    let app = spawn_app().await;
    let mut calls = Vec::new();
    for from in ["+81311110001", "+81311110002"] {
        let sid = app.call_sid();
        let call = app.call(&sid, from);
        let doc = app.ring(&call).await;
        let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
        let rec_sid = app.recording_sid();
        let url = app
            .twilio
            .add_recording(&rec_sid, afureko::twilio::sim::tone_wav(0.5));
        let reply = call
            .recording_status(&doc, "completed", &rec_sid, &url, 1)
            .await
            .unwrap();
        assert_eq!(reply.status, 204);
        calls.push(sid);
    }
    let backend = afureko::startup::Backend {
        audio: std::sync::Arc::new(PanickingUpload {
            inner: app.backend.audio.clone(),
            poisoned: calls[0].clone(),
        }),
        ..app.backend.clone()
    };
    let state = afureko::startup::state(
        &backend,
        afureko::settings::BaseUrl::parse("AFUREKO_PUBLIC_URL", PUBLIC_URL).unwrap(),
        app.state.copier.api().clone(),
        app.clock.clone(),
        UNLIMITED,
        crate::helpers::hook_client(),
    );
    let poisoned_recording = app.record(&calls[0]).await.unwrap().recordings[0]
        .sid
        .clone();
    let event = app.queue_as_sqs_event().await;
    let poisoned_message = event
        .records
        .iter()
        .find(|m| {
            afureko::store::copy_queue::CopyJob::from_json(m.body.as_deref().unwrap())
                .is_some_and(|j| j.recording == poisoned_recording)
        })
        .and_then(|m| m.message_id.clone())
        .unwrap();
    let response =
        afureko::lambda::copy_batch(&state.copier, event, std::time::Duration::ZERO).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, [poisoned_message.as_str()]);
    let done = app.record(&calls[1]).await.unwrap();
    assert_eq!(
        done.recordings[0].state,
        afureko::domain::callback::RecordingState::Stored
    );
    let poisoned = app.record(&calls[0]).await.unwrap();
    assert_eq!(
        poisoned.recordings[0].state,
        afureko::domain::callback::RecordingState::PendingCopy
    );
}
