//! Bad input gets a clear error and nothing is stored.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::ids::{AccountSid, TenantId};
use afureko::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use afureko::twilio::signature::{Algorithm, sign};
use axum::body::Body;
use axum::http::Request;
use std::sync::atomic::Ordering;
use tower::ServiceExt;

fn params(sid: &str) -> Vec<(String, String)> {
    vec![
        ("CallSid".to_owned(), sid.to_owned()),
        ("From".to_owned(), CALLER.to_owned()),
        ("To".to_owned(), COMPANY.to_owned()),
    ]
}

fn form(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// Sends a request straight to the Router, with any headers and body.
async fn send(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> (u16, serde_json::Value) {
    let mut request = Request::post(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = afureko::http::app(app.state.clone())
        .oneshot(request.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn error_code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

async fn unknown_tenant_is_404(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let url = app.url("/twilio/nobody/voice");
    let reply = app.call(&sid, CALLER).incoming(&url).await.unwrap();
    assert_eq!(reply.status, 404);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["error"]["message"], "no tenant \"nobody\"");
    let reply = app
        .call(&sid, CALLER)
        .incoming(&app.url("/twilio/NOT%20VALID/voice"))
        .await
        .unwrap();
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = spawn_app().await;
    let sid = app.call_sid();
    let mut p = params(&sid);
    p.push(("Padding".to_owned(), "x".repeat(70 * 1024)));
    let signature = sign(AUTH_TOKEN, &app.voice_url(), &p, Algorithm::Sha1);
    let (status, body) = send(
        &app,
        "/twilio/acme/voice",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-twilio-signature", &signature),
        ],
        form(&p),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(error_code(&body), "payload_too_large");
    assert!(app.records().await.is_empty());
}

async fn missing_call_sid_or_from_is_400(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    for missing in ["CallSid", "From"] {
        let p: Vec<(String, String)> = params(&sid)
            .into_iter()
            .filter(|(k, _)| k != missing)
            .collect();
        let reply = app
            .call(&sid, CALLER)
            .post_raw(
                &app.voice_url(),
                p.clone(),
                Some(sign(AUTH_TOKEN, &app.voice_url(), &p, Algorithm::Sha1)),
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 400, "without {missing}");
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["error"]["message"], format!("missing {missing}"));
    }
    let mut bad = params(&sid);
    bad[0].1 = "CA-not-a-sid".into();
    let reply = app
        .call(&sid, CALLER)
        .post_raw(
            &app.voice_url(),
            bad.clone(),
            Some(sign(AUTH_TOKEN, &app.voice_url(), &bad, Algorithm::Sha1)),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 400);
    assert!(app.records().await.is_empty());
}

#[tokio::test]
async fn json_or_garbage_bodies_are_400() {
    let app = spawn_app().await;
    let sid = app.call_sid();
    let json = format!(r#"{{"CallSid":"{sid}","From":"{CALLER}"}}"#);
    let signature = sign(AUTH_TOKEN, &app.voice_url(), &[], Algorithm::Sha1);
    let (status, body) = send(
        &app,
        "/twilio/acme/voice",
        &[
            ("content-type", "application/json"),
            ("x-twilio-signature", &signature),
        ],
        json,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Twilio webhooks must be application/x-www-form-urlencoded"
    );
    let (status, body) = send(
        &app,
        "/twilio/acme/voice",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-twilio-signature", &signature),
        ],
        vec![0xff_u8, 0xfe, 0x00, 0x80],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "the form body is not UTF-8");
    assert!(app.records().await.is_empty());
}

async fn url_signed_with_the_default_port_is_accepted(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let p = params(&sid);
    let with_port = "https://calls.example.com:443/twilio/acme/voice";
    let reply = app
        .call(&sid, CALLER)
        .post_raw(
            &app.voice_url(),
            p.clone(),
            Some(sign(AUTH_TOKEN, with_port, &p, Algorithm::Sha1)),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("<Gather"));
}

async fn unknown_parameters_are_signed_over_and_accepted(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let mut p = params(&sid);
    p.push(("StirVerstat".into(), "TN-Validation-Passed-A".into()));
    p.push(("SomethingNew".into(), "from Twilio".into()));
    let reply = app
        .call(&sid, CALLER)
        .post_raw(
            &app.voice_url(),
            p.clone(),
            Some(sign(AUTH_TOKEN, &app.voice_url(), &p, Algorithm::Sha1)),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(app.records().await.len(), 1);
}

async fn shared_key_signatures_need_the_tenants_shared_key(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let p = params(&sid);
    let signature = sign("shared-secret", &app.voice_url(), &p, Algorithm::Sha256);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-twilio-signature", signature.as_str()),
        (
            "x-twilio-webhooks-signature-settings",
            "key=KS0001,algorithm=HMAC_SHA256",
        ),
    ];
    // No shared key configured: fail closed.
    let (status, _) = send(&app, "/twilio/acme/voice", &headers, form(&p)).await;
    assert_eq!(status, 403);

    let other = Tenant {
        id: TenantId::parse("keyed").unwrap(),
        twilio: TwilioCredentials {
            account_sid: AccountSid::parse(ACCOUNT_SID).unwrap(),
            auth_token: AuthToken::new(AUTH_TOKEN).unwrap(),
            webhook_shared_key: Some(AuthToken::new("shared-secret").unwrap()),
            previous_auth_token: None,
        },
        settings: TenantSettings::default(),
        created_at: NOW.parse().unwrap(),
    };
    app.backend.store.create_tenant(&other).await.unwrap();
    let url = app.url("/twilio/keyed/voice");
    let signature = sign("shared-secret", &url, &p, Algorithm::Sha256);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-twilio-signature", signature.as_str()),
        (
            "x-twilio-webhooks-signature-settings",
            "key=KS0001,algorithm=HMAC_SHA256",
        ),
    ];
    let (status, _) = send(&app, "/twilio/keyed/voice", &headers, form(&p)).await;
    assert_eq!(status, 200);
    // The auth token is not the secret when the settings header is present.
    let wrong = sign(AUTH_TOKEN, &url, &p, Algorithm::Sha256);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-twilio-signature", wrong.as_str()),
        (
            "x-twilio-webhooks-signature-settings",
            "key=KS0001,algorithm=HMAC_SHA256",
        ),
    ];
    let (status, _) = send(&app, "/twilio/keyed/voice", &headers, form(&p)).await;
    assert_eq!(status, 403);
}

async fn signature_is_checked_against_the_public_url_not_the_host_header(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let p = params(&sid);
    let post = |signature: String| {
        let (app, body) = (&app, form(&p));
        async move {
            send(
                app,
                "/twilio/acme/voice",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("x-twilio-signature", &signature),
                    ("host", "evil.example"),
                    ("x-forwarded-host", "evil.example"),
                ],
                body,
            )
            .await
            .0
        }
    };
    // Signed for the address a proxy might claim, not AFUREKO_PUBLIC_URL.
    let proxied = "https://evil.example/twilio/acme/voice";
    assert_eq!(
        post(sign(AUTH_TOKEN, proxied, &p, Algorithm::Sha1)).await,
        403
    );
    assert!(app.records().await.is_empty());
    // The same request signed for the public URL passes, whatever the Host.
    let public = sign(AUTH_TOKEN, &app.voice_url(), &p, Algorithm::Sha1);
    assert_eq!(post(public).await, 200);
    assert_eq!(app.records().await.len(), 1);
}

/// An action URL whose state does not parse, correctly signed: 400 in the
/// JSON error shape, and nothing stored.
async fn a_malformed_action_url_is_400(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let mut p = params(&sid);
    p.push(("Digits".to_owned(), "1".to_owned()));
    for (path, message) in [
        (
            "/twilio/acme/ivr/offer/not-a-reason/1795568400/1",
            "unknown variant",
        ),
        ("/twilio/acme/ivr/offer/overflow/yesterday/1", "arrived"),
        ("/twilio/acme/ivr/offer/overflow/1795568400/-1", "attempt"),
        (
            "/twilio/acme/ivr/offer/overflow/99999999999999/1",
            "arrival time out of range",
        ),
    ] {
        let url = app.url(path);
        let reply = app
            .call(&sid, CALLER)
            .post_raw(
                &url,
                p.clone(),
                Some(sign(AUTH_TOKEN, &url, &p, Algorithm::Sha1)),
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["error"]["code"], "bad_request", "{path}");
        let text = body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{path}: {text}");
    }
    assert!(app.records().await.is_empty());
}

#[tokio::test]
async fn a_wrong_method_is_405_in_the_json_error_shape() {
    let app = spawn_app().await;
    let reply = app
        .send(
            Request::get("/twilio/acme/voice")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.headers["allow"], "POST");
    assert_eq!(reply.json()["error"]["code"], "method_not_allowed");
    assert_eq!(
        reply.json()["error"]["message"],
        "this route does not take GET"
    );
}

#[tokio::test]
async fn cheap_refusals_cost_no_store_read() {
    let app = spawn_app().await;
    let counting = std::sync::Arc::new(RacingStore::new(app.state.store.clone(), 0));
    let mut state = app.state.clone();
    state.store = counting.clone();
    let router = afureko::http::app(state);
    let sid = app.call_sid();
    let p = params(&sid);
    let signature = sign(AUTH_TOKEN, &app.voice_url(), &p, Algorithm::Sha1);
    let post = |headers: &[(&str, &str)]| {
        let mut request = Request::post("/twilio/acme/voice");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(Body::from(form(&p))).unwrap()
    };
    let form_type = ("content-type", "application/x-www-form-urlencoded");
    let refused = [
        (post(&[form_type]), 403),
        (post(&[("x-twilio-signature", &signature)]), 400),
        (
            Request::post("/twilio/NOT%20VALID/voice")
                .header(form_type.0, form_type.1)
                .header("x-twilio-signature", &signature)
                .body(Body::from(form(&p)))
                .unwrap(),
            404,
        ),
    ];
    for (request, status) in refused {
        assert_eq!(send_to(router.clone(), request).await.status, status);
    }
    assert_eq!(counting.tenant_reads.load(Ordering::SeqCst), 0);
    let signed = send_to(
        router,
        post(&[form_type, ("x-twilio-signature", &signature)]),
    )
    .await;
    assert_eq!(signed.status, 200);
    assert_eq!(counting.tenant_reads.load(Ordering::SeqCst), 1);
}

async fn a_rotated_token_is_accepted_with_the_old_one_for_the_overlap_only(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let mut tenant = app.tenant.clone();
    let now: jiff::Timestamp = NOW.parse().unwrap();
    tenant
        .twilio
        .rotate_auth_token(AuthToken::new("the-new-token").unwrap(), 60, now)
        .unwrap();
    app.backend.store.update_tenant(&tenant).await.unwrap();
    let signed_with = |token: &str| {
        let p = params(&app.call_sid());
        let signature = sign(token, &app.voice_url(), &p, Algorithm::Sha1);
        (p, signature)
    };
    let status_with = |token: &'static str| {
        let (p, signature) = signed_with(token);
        let app = &app;
        async move {
            send(
                app,
                "/twilio/acme/voice",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("x-twilio-signature", &signature),
                ],
                form(&p),
            )
            .await
            .0
        }
    };
    assert_eq!(status_with("the-new-token").await, 200);
    assert_eq!(
        status_with(AUTH_TOKEN).await,
        200,
        "old token in the overlap"
    );
    app.clock.set(
        now.checked_add(jiff::SignedDuration::from_mins(60))
            .unwrap(),
    );
    assert_eq!(status_with("the-new-token").await, 200);
    assert_eq!(
        status_with(AUTH_TOKEN).await,
        403,
        "old token after the overlap"
    );
}

#[tokio::test]
async fn an_overlong_url_is_414_in_the_json_error_shape() {
    let app = spawn_app().await;
    let long = format!("/twilio/acme/ivr/confirm/overflow/1/1/{}", "1".repeat(9000));
    let reply = app
        .send(Request::post(long).body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, 414);
    assert_eq!(reply.json()["error"]["code"], "uri_too_long");
    assert_eq!(
        reply.json()["error"]["message"],
        "URLs are limited to 8192 bytes"
    );
}

crate::on_every_backend!(
    unknown_tenant_is_404,
    missing_call_sid_or_from_is_400,
    signature_is_checked_against_the_public_url_not_the_host_header,
    a_malformed_action_url_is_400,
    url_signed_with_the_default_port_is_accepted,
    unknown_parameters_are_signed_over_and_accepted,
    shared_key_signatures_need_the_tenants_shared_key,
    a_rotated_token_is_accepted_with_the_old_one_for_the_overlap_only,
);
