//! Rate limits through the real Router: the API per tenant, failed
//! sign-ins per tenant and per client address, and webhooks never.

use crate::backends::{Kind, make};
use crate::helpers::{
    ApiReply, NOW, TENANT, TestApp, UNLIMITED, api_request, send_to, spawn_limited,
};
use afureko::domain::agent::{AgentAccount, Role};
use afureko::domain::ids::TenantId;
use afureko::domain::tenant::TenantSettings;
use afureko::settings::{Rate, RateLimits};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use jiff::SignedDuration;
use serde_json::json;
use std::net::SocketAddr;

const PASSWORD: &str = "a long enough password";

async fn spawn(limits: RateLimits) -> TestApp {
    spawn_limited(
        make(Kind::Embedded).await,
        TenantSettings::default(),
        limits,
    )
    .await
}

impl TestApp {
    fn advance(&self, millis: i64) {
        let now = afureko::clock::Clock::now(self.clock.as_ref());
        self.clock.set(now + SignedDuration::from_millis(millis));
    }

    async fn add_agent_to(&self, tenant: &str, login: &str) {
        let mut agent = AgentAccount::new(
            TenantId::parse(tenant).unwrap(),
            login.into(),
            login.into(),
            Role::Agent,
            PASSWORD,
            NOW.parse().unwrap(),
        )
        .unwrap();
        agent.must_change_password = false;
        self.backend.agents.create_agent(&agent).await.unwrap();
    }

    /// A sign-in from `from` (the TCP peer `serve` would see).
    async fn sign_in_from(&self, from: &str, tenant: &str, login: &str, pw: &str) -> ApiReply {
        let mut request = Request::post("/api/v1/sessions")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"tenant": tenant, "login": login, "password": pw}).to_string(),
            ))
            .unwrap();
        let peer: SocketAddr = format!("{from}:40000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        send_to(self.router(), request).await
    }
}

async fn list(app: &TestApp, key: &str) -> ApiReply {
    app.api("GET", "/api/v1/callbacks", key, None).await
}

fn too_many(reply: &ApiReply, message: &str, retry_after: &str) {
    assert_eq!(
        reply.status,
        429,
        "{}",
        String::from_utf8_lossy(&reply.bytes)
    );
    assert_eq!(
        reply.json(),
        json!({"error": {"code": "too_many_requests", "message": message}})
    );
    assert_eq!(reply.headers["retry-after"], retry_after);
}

#[tokio::test]
async fn a_tenant_past_its_burst_waits_and_others_do_not() {
    let app = spawn(RateLimits {
        api: Rate {
            per_second: 0.5,
            burst: 3,
        },
        ..UNLIMITED
    })
    .await;
    app.add_tenant("globex").await;
    let (acme, globex) = (app.api_key().await, app.api_key_for("globex").await);
    for _ in 0..3 {
        assert_eq!(list(&app, &acme).await.status, 200);
    }
    let refused = list(&app, &acme).await;
    // One token takes 2 s at half a token a second.
    too_many(
        &refused,
        "too many requests for this tenant: retry after 2 s",
        "2",
    );
    // Every route of the tenant shares the bucket, whatever the key.
    let other_key = app.api_key().await;
    let one = app
        .api(
            "POST",
            "/api/v1/callbacks/x/claim",
            &other_key,
            Some(json!({})),
        )
        .await;
    assert_eq!(one.status, 429);
    assert_eq!(
        list(&app, &globex).await.status,
        200,
        "another tenant is not slowed"
    );

    app.advance(1_000);
    too_many(
        &list(&app, &acme).await,
        "too many requests for this tenant: retry after 1 s",
        "1",
    );
    app.advance(1_000);
    assert_eq!(list(&app, &acme).await.status, 200);
    assert_eq!(list(&app, &acme).await.status, 429);
}

#[tokio::test]
async fn unauthenticated_requests_are_refused_not_counted() {
    let app = spawn(RateLimits {
        api: Rate {
            per_second: 1.0,
            burst: 1,
        },
        ..UNLIMITED
    })
    .await;
    for _ in 0..5 {
        let reply = app.api("GET", "/api/v1/callbacks", "not-a-key", None).await;
        assert_eq!(reply.status, 401);
    }
    let key = app.api_key().await;
    assert_eq!(
        app.api("GET", "/api/v1/callbacks", &key, None).await.status,
        200
    );
}

#[tokio::test]
async fn webhooks_are_never_limited() {
    let app = spawn(RateLimits {
        api: Rate {
            per_second: 0.001,
            burst: 1,
        },
        sign_in_failures: Rate {
            per_second: 0.001,
            burst: 1,
        },
    })
    .await;
    let key = app.api_key().await;
    app.api("GET", "/api/v1/callbacks", &key, None).await;
    assert_eq!(
        app.api("GET", "/api/v1/callbacks", &key, None).await.status,
        429
    );
    for n in 0..30 {
        let sid = app.call_sid();
        let caller = format!("+8131230{n:04}");
        let call = app.call(&sid, &caller);
        let reply = call.incoming(&app.voice_url()).await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        let doc = call.press(&reply.doc().unwrap(), "1").await.unwrap();
        assert_eq!(doc.status, 200, "{}", doc.body);
        assert!(doc.doc().unwrap().record().is_some());
    }
}

#[tokio::test]
async fn sign_in_spraying_is_slowed_per_address_and_per_tenant() {
    let app = spawn(RateLimits {
        sign_in_failures: Rate {
            per_second: 1.0 / 60.0,
            burst: 3,
        },
        ..UNLIMITED
    })
    .await;
    app.add_agent_to(TENANT, "ann").await;
    app.add_tenant("globex").await;
    app.add_agent_to("globex", "gil").await;
    let from = "192.0.2.1";
    // One address, many logins (and tenants): three failures, then 429.
    for (tenant, login) in [(TENANT, "a1"), ("ghost", "a2"), ("globex", "a3")] {
        let reply = app.sign_in_from(from, tenant, login, "guess").await;
        assert_eq!(reply.status, 401);
    }
    let message = "too many failed sign-ins: retry after 60 s";
    too_many(
        &app.sign_in_from(from, "globex", "gil", PASSWORD).await,
        message,
        "60",
    );
    // Another address signs in to either tenant.
    assert_eq!(
        app.sign_in_from("192.0.2.2", "globex", "gil", PASSWORD)
            .await
            .status,
        201
    );

    // One tenant, many addresses: the tenant's failures count too.
    for n in 0..2 {
        let reply = app
            .sign_in_from(&format!("198.51.100.{n}"), TENANT, "ann", "guess")
            .await;
        assert_eq!(reply.status, 401);
    }
    // acme has 3 failures now (one from the first address).
    too_many(
        &app.sign_in_from("203.0.113.9", TENANT, "ann", PASSWORD)
            .await,
        message,
        "60",
    );
    assert_eq!(
        app.sign_in_from("203.0.113.9", "globex", "gil", PASSWORD)
            .await
            .status,
        201
    );

    app.advance(60_000);
    assert_eq!(
        app.sign_in_from("203.0.113.9", TENANT, "ann", PASSWORD)
            .await
            .status,
        201
    );
    assert_eq!(
        app.sign_in_from(from, "globex", "gil", PASSWORD)
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn a_locked_login_says_when_to_retry() {
    let app = spawn(UNLIMITED).await;
    app.add_agent_to(TENANT, "ann").await;
    for _ in 0..5 {
        let reply = app.sign_in_from("192.0.2.1", TENANT, "ann", "guess").await;
        assert_eq!(reply.status, 401);
    }
    let locked = app.sign_in_from("192.0.2.1", TENANT, "ann", PASSWORD).await;
    too_many(
        &locked,
        "too many failed sign-ins for this login: try again after 2026-11-25T01:15:00Z",
        "900",
    );
    app.advance(10 * 60_000 + 500);
    let locked = app.sign_in_from("192.0.2.1", TENANT, "ann", PASSWORD).await;
    assert_eq!(locked.headers["retry-after"], "300");
}

#[tokio::test]
async fn api_requests_from_a_signed_in_agent_count_for_its_tenant() {
    let app = spawn(RateLimits {
        api: Rate {
            per_second: 1.0,
            burst: 2,
        },
        ..UNLIMITED
    })
    .await;
    app.add_agent_to(TENANT, "ann").await;
    let signed = app.sign_in_from("192.0.2.1", TENANT, "ann", PASSWORD).await;
    assert_eq!(signed.status, 201);
    let cookie = signed.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = || {
        Request::get("/api/v1/me")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(app.send(me()).await.status, 200);
    let key = app.api_key().await;
    assert_eq!(
        send_to(
            app.router(),
            api_request("GET", "/api/v1/callbacks", &key, None)
        )
        .await
        .status,
        200
    );
    too_many(
        &app.send(me()).await,
        "too many requests for this tenant: retry after 1 s",
        "1",
    );
}

/// On Lambda the address is API Gateway's `sourceIp`, from the event.
#[tokio::test]
async fn on_lambda_sign_ins_count_by_the_source_ip() {
    let app = spawn(RateLimits {
        sign_in_failures: Rate {
            per_second: 1.0 / 60.0,
            burst: 1,
        },
        ..UNLIMITED
    })
    .await;
    let event = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/api-sessions-sign-in.json"
    );
    let from_gateway = |tenant: &str| {
        let event = std::fs::read_to_string(event).unwrap();
        let (parts, _) = lambda_http::request::from_str(&event).unwrap().into_parts();
        let body = json!({"tenant": tenant, "login": "ann", "password": "guess"});
        Request::from_parts(parts, Body::from(body.to_string()))
    };
    assert_eq!(app.send(from_gateway("ghost-a")).await.status, 401);
    too_many(
        &app.send(from_gateway("ghost-b")).await,
        "too many failed sign-ins: retry after 60 s",
        "60",
    );
}
