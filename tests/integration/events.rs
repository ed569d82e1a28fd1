//! Every API Gateway event in events/ goes through lambda_http's parser
//! into the real Router; every route has an event.

use crate::helpers::ApiReply;
use afureko::clock::FixedClock;
use afureko::domain::api_key::{ApiKey, hash_key};
use afureko::domain::callback::{
    CallbackRecord, Confirmation, NewCallback, Recording, RecordingState,
};
use afureko::domain::ids::{AccountSid, CallSid, CallbackId, RecordingSid, TenantId};
use afureko::domain::phone::{E164, Region};
use afureko::domain::reason::Reason;
use afureko::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use afureko::settings::BaseUrl;
use afureko::startup;
use afureko::twilio::api::{MediaHosts, TwilioApi};
use axum::body::Body;
use std::sync::Arc;

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
const CALLBACK: &str = "01938f2e-0000-7000-8000-000000000001";

/// The documented test tenant the events are signed for (scripts/make-events).
pub async fn app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let arrived: jiff::Timestamp = "2026-11-25T01:00:00Z".parse().unwrap();
    let clock = Arc::new(FixedClock::new(arrived));
    let backend = startup::embedded(dir.path(), &Default::default(), clock.clone())
        .await
        .unwrap();
    let state = startup::state(
        &backend,
        BaseUrl::parse("AFUREKO_PUBLIC_URL", "https://calls.example.com").unwrap(),
        // Nothing in the events is fetched; nothing may leave the machine.
        TwilioApi::new("http://127.0.0.1:9", MediaHosts::default()).unwrap(),
        clock,
        crate::helpers::UNLIMITED,
        crate::helpers::hook_client(),
    );
    let tenant_id = TenantId::parse("demo").unwrap();
    backend
        .store
        .create_tenant(&Tenant {
            id: tenant_id.clone(),
            twilio: TwilioCredentials {
                account_sid: AccountSid::parse("AC00000000000000000000000000000000").unwrap(),
                auth_token: AuthToken::new("events-test-token").unwrap(),
                webhook_shared_key: None,
                previous_auth_token: None,
            },
            settings: TenantSettings::default(),
            created_at: arrived,
        })
        .await
        .unwrap();
    let mut key = ApiKey::generate(tenant_id.clone(), None, arrived).key;
    key.hash = hash_key("afk_events_test_key");
    backend.store.create_api_key(&key).await.unwrap();
    let number = E164::parse("+819012345678", Region::JP).unwrap();
    let mut record = CallbackRecord::new(
        tenant_id,
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
    record.id = CallbackId::parse(CALLBACK).unwrap();
    record.recordings.push(Recording {
        kind: Default::default(),
        sid: RecordingSid::parse("RE0000000000000000000000000000e0ff").unwrap(),
        call_sid: Some(record.call_sid.clone()),
        state: RecordingState::Stored,
        twilio_url: None,
        duration_seconds: Some(1),
        storage_key: Some("recordings/demo/x.wav".into()),
        copy_attempts: 1,
        last_error: None,
        copying_until: None,
        twilio_copy: None,
    });
    backend.store.insert_callback(&record).await.unwrap();
    crate::helpers::put_bytes(
        backend.audio.as_ref(),
        "recordings/demo/x.wav",
        b"RIFF-audio",
    )
    .await
    .unwrap();
    (afureko::http::app(state), dir)
}

/// The files of events/ itself; events/sqs/ holds the copier's SQS events.
fn api_gateway_events() -> Vec<String> {
    std::fs::read_dir(EVENTS)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

fn load(name: &str) -> lambda_http::Request {
    let text = std::fs::read_to_string(format!("{EVENTS}/{name}")).unwrap();
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn send(router: &axum::Router, name: &str) -> (ApiReply, String) {
    let request = load(name);
    let (parts, body) = request.into_parts();
    let body = match body {
        lambda_http::Body::Empty => Body::empty(),
        lambda_http::Body::Text(text) => Body::from(text),
        lambda_http::Body::Binary(bytes) => Body::from(bytes),
        _ => panic!("{name}: unexpected body kind"),
    };
    let reply =
        crate::helpers::send_to(router.clone(), axum::http::Request::from_parts(parts, body)).await;
    let text = String::from_utf8_lossy(&reply.bytes).into_owned();
    (reply, text)
}

#[tokio::test]
async fn every_event_runs_through_the_router() {
    let (router, _dir) = app().await;
    // (file, status, a part of the answer that matters, or "" for an empty
    // answer), in call order.
    let expectations: [(&str, u16, &str); 58] = [
        (
            "twilio-voice.json",
            200,
            "/twilio/demo/ivr/offer/overflow/1795568400/1</Redirect>",
        ),
        (
            "twilio-voice-base64.json",
            200,
            "/twilio/demo/ivr/offer/overflow/1795568400/1</Redirect>",
        ),
        // lambda_http puts a REST API's stage in the path unless
        // AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH is set (see lambda.rs, which
        // runs this event with it): the route is not found.
        ("twilio-voice-rest-v1.json", 404, "no such route"),
        (
            "twilio-ivr-offer.json",
            200,
            "/twilio/demo/ivr/enter/overflow/1795568400/1",
        ),
        (
            "twilio-ivr-enter.json",
            200,
            "入力された番号は ゼロサン、イチニーサンヨン、ゴーロクナナハチ です。",
        ),
        (
            "twilio-ivr-confirm.json",
            200,
            "recordingStatusCallback=\"https://calls.example.com/twilio/demo/recording\"",
        ),
        // 0: as soon as possible, and on to the request.
        (
            "twilio-ivr-window.json",
            200,
            "recordingStatusCallback=\"https://calls.example.com/twilio/demo/recording\"",
        ),
        ("twilio-ivr-recorded.json", 200, "<Hangup/>"),
        ("twilio-recording-absent.json", 204, ""),
        ("twilio-dial-result.json", 200, "<Gather"),
        (
            "twilio-queue-wait.json",
            200,
            "/twilio/demo/queue/offer/1795568400",
        ),
        (
            "twilio-queue-offer.json",
            200,
            "<Redirect method=\"POST\">https://calls.example.com/twilio/demo/queue/wait/1795568400</Redirect>",
        ),
        (
            "twilio-queue-result.json",
            200,
            "<Response><Hangup/></Response>",
        ),
        // A call back's agent leg, on the pending callback.
        ("twilio-outbound-answer.json", 200, "折り返しのお電話です。"),
        (
            "twilio-outbound-connect.json",
            200,
            "answerOnBridge=\"true\"><Number url=\"https://calls.example.com/twilio/demo/outbound/01938f2e-0000-7000-8000-000000000001/ann/1795568400/customer\"",
        ),
        (
            "twilio-outbound-customer.json",
            200,
            "<Response></Response>",
        ),
        (
            "twilio-outbound-dialed.json",
            200,
            "発信結果を、話し中、として記録しました。",
        ),
        ("twilio-outbound-status.json", 204, ""),
        ("twilio-outbound-recording.json", 204, ""),
        ("api-callbacks-list.json", 200, CALLBACK),
        (
            "api-callbacks-counts.json",
            200,
            "{\"pending\":2,\"overdue\":0,\"claimed\":0,\"mine\":null,\"latest_received_at\":\"2026-11-25T01:00:00Z\",\"cap\":1000}",
        ),
        (
            "api-callbacks-get.json",
            200,
            "\"callback_number\":\"+819012345678\"",
        ),
        ("api-callbacks-claim.json", 200, "\"claimed_by\":\"ann\""),
        ("api-callbacks-release.json", 200, "\"status\":\"pending\""),
        (
            "api-callbacks-attempts.json",
            200,
            "\"outcome\":\"no_answer\"",
        ),
        (
            "api-callbacks-complete.json",
            200,
            "\"completion_note\":\"answered by e-mail\"",
        ),
        ("api-callbacks-recording.json", 200, "RIFF-audio"),
        (
            "api-callbacks-notes.json",
            200,
            "\"text\":\"asked the shop\"",
        ),
        ("api-callbacks-assign.json", 400, "no active agent"),
        ("api-callbacks-call.json", 400, "no active agent"),
        // The call back's busy, corrected by a key (a supervisor).
        ("api-callbacks-correct.json", 200, "\"from\":\"busy\""),
        // An API key may not erase: a signed-in admin does.
        (
            "api-callbacks-erase.json",
            403,
            "erasing a record needs an admin signed in",
        ),
        ("api-agents-list.json", 200, "[]"),
        ("api-agents-add.json", 403, "needs an admin signed in"),
        ("api-agents-password.json", 403, "needs an admin signed in"),
        // Keys and settings: a signed-in admin only, never a key.
        (
            "api-api-keys-list.json",
            403,
            "managing API keys needs an admin",
        ),
        (
            "api-api-keys-create.json",
            403,
            "managing API keys needs an admin",
        ),
        (
            "api-api-keys-revoke.json",
            403,
            "managing API keys needs an admin",
        ),
        (
            "api-settings-get.json",
            403,
            "managing the tenant's settings needs an admin",
        ),
        (
            "api-settings-change.json",
            403,
            "managing the tenant's settings needs an admin",
        ),
        (
            "api-settings-next-call.json",
            403,
            "managing the tenant's settings needs an admin",
        ),
        // Notification endpoints: a signed-in admin only, never a key.
        (
            "api-notifications-list.json",
            403,
            "managing notification endpoints needs an admin",
        ),
        (
            "api-notifications-add.json",
            403,
            "managing notification endpoints needs an admin",
        ),
        (
            "api-notifications-remove.json",
            403,
            "managing notification endpoints needs an admin",
        ),
        (
            "api-notifications-test.json",
            403,
            "managing notification endpoints needs an admin",
        ),
        // The figures of the last seven days in Tokyo.
        (
            "api-stats.json",
            200,
            "{\"from\":\"2026-11-19\",\"to\":\"2026-11-25\",\"time_zone\":\"Asia/Tokyo\",",
        ),
        ("api-stats-records-csv.json", 200, "id,received_at,reason,"),
        (
            "api-sessions-sign-in.json",
            401,
            "wrong tenant, login or password",
        ),
        ("api-me.json", 401, "needs a signed-in agent"),
        ("api-me-change.json", 401, "needs a signed-in agent"),
        ("api-me-password.json", 401, "needs a signed-in agent"),
        ("page-root.json", 303, ""),
        ("page-app.json", 200, "/app/main.js"),
        ("page-main-js.json", 200, "from './api.js';"),
        ("page-app-css.json", 200, "focus-visible"),
        ("api-openapi.json", 200, "\"openapi\":\"3.1.0\""),
        ("healthz.json", 200, "ok"),
        // serve only: off on Lambda, whatever the token.
        ("metrics.json", 404, "no such route"),
    ];
    let files = api_gateway_events().len();
    assert_eq!(
        files,
        expectations.len(),
        "every event file has an expectation"
    );
    for (name, status, part) in expectations {
        let (reply, text) = send(&router, name).await;
        assert_eq!(reply.status, status, "{name}: {text}");
        if part.is_empty() {
            assert_eq!(text, "", "{name}: an empty answer");
        } else {
            assert!(text.contains(part), "{name}: {part:?} not in {text}");
        }
    }
}

#[tokio::test]
async fn every_route_has_an_event() {
    let (_, openapi) = afureko::http::routes();
    let mut events = Vec::new();
    for name in api_gateway_events() {
        let request = load(&name);
        events.push((
            request.method().to_string(),
            request.uri().path().to_owned(),
        ));
    }
    let mut missing = Vec::new();
    for (template, item) in openapi.paths.paths.iter() {
        let methods = [("GET", item.get.is_some()), ("POST", item.post.is_some())];
        for (method, present) in methods {
            if present
                && !events
                    .iter()
                    .any(|(m, p)| m == method && matches(template, p))
            {
                missing.push(format!("{method} {template}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes with no event in events/: {missing:?}"
    );
}

/// "The template, deployed as it is, runs every route the tests play":
/// every event's request reaches exactly one function through the HttpApi's
/// routes of template.yaml, Twilio's the webhook function, the rest the API
/// function.
#[test]
fn template_yaml_routes_every_event_to_its_function() {
    let functions = crate::template::functions();
    let mut wrong = Vec::new();
    for name in api_gateway_events() {
        let request = load(&name);
        let (method, path) = (request.method().as_str(), request.uri().path());
        // lambda_http keeps a REST API's stage in the path: not this API's event.
        if path.starts_with("/prod/") {
            continue;
        }
        // `afureko serve`'s only: on Lambda the figures leave as EMF lines,
        // and the template routes no /metrics (docs/operations.md, Metrics).
        if path == "/metrics" {
            continue;
        }
        let takers: Vec<&str> = functions
            .iter()
            .filter(|f| {
                f.routes
                    .iter()
                    .any(|route| crate::template::route_takes(route, method, path))
            })
            .map(|f| f.name.as_str())
            .collect();
        let expected = if path.starts_with("/twilio/") {
            "WebhookFunction"
        } else {
            "ApiFunction"
        };
        if takers != [expected] {
            wrong.push(format!(
                "{name}: {method} {path} reaches {takers:?}, not {expected}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Whether a concrete path fits an OpenAPI path template.
fn matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}
