//! Idempotency-Key on the agents' API: a retry gets the first answer, on
//! every backend.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::agent::Role;
use afureko::domain::tenant::TenantSettings;
use afureko::store::idempotency::{KeyUse, LEASE, Reservation, StoredAnswer};
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

/// `POST path` with `body`, `key` as the bearer token and an Idempotency-Key.
fn keyed(path: &str, key: &str, idempotency_key: &str, body: Value) -> Request<Body> {
    keyed_as("POST", path, key, idempotency_key, body)
}

fn keyed_as(
    method: &str,
    path: &str,
    key: &str,
    idempotency_key: &str,
    body: Value,
) -> Request<Body> {
    let mut request = api_request(method, path, key, Some(body));
    request
        .headers_mut()
        .insert("idempotency-key", idempotency_key.parse().unwrap());
    request
}

async fn attempts_logged(app: &TestApp, key: &str, id: &str) -> usize {
    let reply = app
        .api("GET", &format!("/api/v1/callbacks/{id}"), key, None)
        .await;
    reply.json()["attempts"].as_array().unwrap().len()
}

async fn a_retried_attempt_is_logged_once(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    let path = format!("/api/v1/callbacks/{id}/attempts");
    let body = json!({"agent": "ann", "outcome": "no_answer"});
    let first = app.send(keyed(&path, &key, "retry-1", body.clone())).await;
    assert_eq!(first.status, 200, "{:?}", first.json());
    // The same body, re-serialized with another key order, is the same request.
    let again = app
        .send(keyed(
            &path,
            &key,
            "retry-1",
            json!({"outcome": "no_answer", "agent": "ann"}),
        ))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(attempts_logged(&app, &key, &id).await, 1);

    let other = app
        .send(keyed(
            &path,
            &key,
            "retry-1",
            json!({"agent": "ann", "outcome": "busy"}),
        ))
        .await;
    assert_eq!(other.status, 422);
    assert_eq!(other.error_code(), "idempotency_key_reused");
    // The same key on another record is another request too.
    let elsewhere = app.seed(TENANT, 1).await.id.to_string();
    let other_path = format!("/api/v1/callbacks/{elsewhere}/attempts");
    let reply = app
        .send(keyed(&other_path, &key, "retry-1", body.clone()))
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(attempts_logged(&app, &key, &id).await, 1);
    assert_eq!(attempts_logged(&app, &key, &elsewhere).await, 0);

    // Without a key, a retry is a second attempt, as before.
    app.attempt(&key, &id, body.clone()).await;
    assert_eq!(attempts_logged(&app, &key, &id).await, 2);
}

async fn a_refusal_is_replayed_too(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    app.claim(&key, &id, "bob").await;
    let path = format!("/api/v1/callbacks/{id}/claim");
    let first = app
        .send(keyed(&path, &key, "k", json!({"agent": "ann"})))
        .await;
    assert_eq!(first.status, 409);
    app.release(&key, &id, "bob").await;
    // The first answer stands for this key, though a claim would work now.
    let again = app
        .send(keyed(&path, &key, "k", json!({"agent": "ann"})))
        .await;
    assert_eq!((again.status, again.bytes), (409, first.bytes));
}

async fn keys_expire_after_24_hours(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    let path = format!("/api/v1/callbacks/{id}/attempts");
    let body = json!({"agent": "ann", "outcome": "no_answer"});
    let now: jiff::Timestamp = NOW.parse().unwrap();
    app.send(keyed(&path, &key, "daily", body.clone())).await;
    app.clock.set(
        now.checked_add(jiff::SignedDuration::from_hours(24) - jiff::SignedDuration::from_secs(1))
            .unwrap(),
    );
    let replayed = app.send(keyed(&path, &key, "daily", body.clone())).await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(attempts_logged(&app, &key, &id).await, 1);
    app.clock.set(
        now.checked_add(jiff::SignedDuration::from_hours(24))
            .unwrap(),
    );
    // Expired: the key is free, for this body or another.
    let fresh = app
        .send(keyed(
            &path,
            &key,
            "daily",
            json!({"agent": "ann", "outcome": "busy"}),
        ))
        .await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.json());
    assert!(fresh.headers.get("idempotent-replayed").is_none());
    assert_eq!(attempts_logged(&app, &key, &id).await, 2);
}

async fn keys_belong_to_their_tenant(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_tenant("globex").await;
    let (key_a, key_b) = (app.api_key().await, app.api_key_for("globex").await);
    let a = app.seed(TENANT, 0).await.id.to_string();
    let b = app.seed("globex", 0).await.id.to_string();
    let body = json!({"agent": "ann", "outcome": "no_answer"});
    let path = |id: &str| format!("/api/v1/callbacks/{id}/attempts");
    let reply = app
        .send(keyed(&path(&a), &key_a, "shared", body.clone()))
        .await;
    assert_eq!(reply.status, 200);
    // Tenant B's use of the same key is its own request, not A's replay.
    let reply = app
        .send(keyed(&path(&b), &key_b, "shared", body.clone()))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    assert!(reply.headers.get("idempotent-replayed").is_none());
    assert_eq!(attempts_logged(&app, &key_b, &b).await, 1);
    assert_eq!(attempts_logged(&app, &key_a, &a).await, 1);
}

async fn concurrent_retries_run_once(kind: Kind) {
    const RETRIES: usize = 6;
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    let path = format!("/api/v1/callbacks/{id}/attempts");
    let body = json!({"agent": "ann", "outcome": "no_answer"});
    let replies = futures_join(
        (0..RETRIES)
            .map(|_| send_to(app.router(), keyed(&path, &key, "burst", body.clone())))
            .collect(),
    )
    .await;
    // One ran; each other one got its answer or was told it is still running.
    for reply in &replies {
        assert!(matches!(reply.status, 200 | 409), "{}", reply.status);
    }
    assert!(replies.iter().any(|r| r.status == 200));
    assert_eq!(attempts_logged(&app, &key, &id).await, 1);
}

/// Runs the requests at once, each on its own task.
async fn futures_join<F>(futures: Vec<F>) -> Vec<ApiReply>
where
    F: std::future::Future<Output = ApiReply> + Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut replies = Vec::new();
    for handle in handles {
        replies.push(handle.await.unwrap());
    }
    replies
}

async fn a_bad_key_is_refused(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    let path = format!("/api/v1/callbacks/{id}/claim");
    let long = "k".repeat(256);
    let reply = app
        .send(keyed(&path, &key, &long, json!({"agent": "ann"})))
        .await;
    assert_eq!(reply.status, 400);
    // Nothing is kept for a request without a valid API key.
    let reply = app
        .send(keyed(&path, "wrong", "k", json!({"agent": "ann"})))
        .await;
    assert_eq!(reply.status, 401);
    let reply = app
        .send(keyed(&path, &key, "k", json!({"agent": "ann"})))
        .await;
    assert_eq!(reply.status, 200);
}

/// A reservation whose request died is free again after the lease, and the
/// late request cannot then overwrite the new one's answer.
async fn an_abandoned_reservation_is_taken_over(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let store = &app.backend.idempotency;
    let t0: jiff::Timestamp = NOW.parse().unwrap();
    let at = |secs: i64| {
        t0.checked_add(jiff::SignedDuration::from_secs(secs))
            .unwrap()
    };
    // The takeover is ann's again, now a supervisor: her role is the new one's.
    let use_at = |secs, role| KeyUse {
        tenant: &app.tenant.id,
        actor: "agent:ann",
        role,
        key: "k",
        fingerprint: "f",
        at: at(secs),
    };
    let reserve = |secs, role| store.reserve_idempotency_key(use_at(secs, role));
    let (first, later) = (Role::Agent, Role::Supervisor);
    assert_eq!(reserve(0, first).await.unwrap(), Reservation::Reserved);
    let running = Reservation::Taken {
        fingerprint: "f".into(),
        role: first,
        answer: None,
    };
    assert_eq!(reserve(LEASE.as_secs() - 1, later).await.unwrap(), running);
    assert_eq!(
        reserve(LEASE.as_secs(), later).await.unwrap(),
        Reservation::Reserved
    );
    let answer = |status| StoredAnswer {
        status,
        content_type: None,
        body: b"{}".to_vec(),
    };
    // The first, abandoned request finishes late: its answer is not kept.
    store
        .finish_idempotency_key(use_at(0, first), Some(&answer(409)))
        .await
        .unwrap();
    store
        .finish_idempotency_key(use_at(LEASE.as_secs(), later), Some(&answer(200)))
        .await
        .unwrap();
    let found = reserve(LEASE.as_secs() + 1, later).await.unwrap();
    assert_eq!(
        found,
        Reservation::Taken {
            fingerprint: "f".into(),
            role: later,
            answer: Some(answer(200)),
        }
    );
    // Another sender's same key is another key.
    let bob = KeyUse {
        actor: "agent:bob",
        ..use_at(LEASE.as_secs() + 1, later)
    };
    assert_eq!(
        store.reserve_idempotency_key(bob).await.unwrap(),
        Reservation::Reserved
    );
}

/// A 5xx is not kept: the retry runs again. (Its log line: tests/cli.rs.)
async fn a_server_error_is_not_kept(kind: Kind) {
    use std::sync::atomic::Ordering;
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    let path = format!("/api/v1/callbacks/{id}/attempts");
    let body = json!({"agent": "ann", "outcome": "no_answer"});
    let outage = std::sync::Arc::new(RacingStore::new(app.state.store.clone(), 0));
    outage.failing_updates.store(1, Ordering::SeqCst);
    let mut state = app.state.clone();
    state.store = outage.clone();
    let failed = send_to(
        afureko::http::app(state),
        keyed(&path, &key, "five-hundred", body.clone()),
    )
    .await;
    assert_eq!(failed.status, 500);
    assert_eq!(
        failed.json(),
        json!({"error": {"code": "internal", "message": "something went wrong on our side; it has been logged"}})
    );
    assert_eq!(outage.failing_updates.load(Ordering::SeqCst), 0);

    let retried = app.send(keyed(&path, &key, "five-hundred", body)).await;
    assert_eq!(retried.status, 200, "{:?}", retried.json());
    assert!(!retried.headers.contains_key("idempotent-replayed"));
    assert_eq!(attempts_logged(&app, &key, &id).await, 1);
}

/// An erasure retried with its key answers as the first did (204, not
/// 404), and erases once: one entry in the audit trail.
async fn a_retried_erasure_answers_as_the_first(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    app.add_agent(TENANT, "root", Role::Admin).await;
    let root = app.browser("root").await;
    let path = format!("/api/v1/callbacks/{id}");
    let first = app
        .browse_keyed(&root, "DELETE", &path, None, "erase-1")
        .await;
    assert_eq!(first.status, 204);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = app
        .browse_keyed(&root, "DELETE", &path, None, "erase-1")
        .await;
    assert_eq!((again.status, again.bytes.len()), (204, 0));
    assert_eq!(again.headers["idempotent-replayed"], "true");
    // Without the key it is a new request, for a record that is gone.
    assert_eq!(app.browse(&root, "DELETE", &path, None).await.status, 404);
    let trail = app
        .backend
        .audit
        .list_audit(&app.tenant.id, 10)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
}

/// An agent change retried with its key gets the first answer and changes
/// nothing again; another body with the key is 422.
async fn a_retried_agent_change_is_replayed(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    app.add_agent(TENANT, "root", Role::Admin).await;
    app.add_agent(TENANT, "bob", Role::Agent).await;
    let root = app.browser("root").await;
    let path = "/api/v1/agents/bob";
    let promote = json!({"role": "supervisor"});
    let first = app
        .browse_keyed(&root, "PATCH", path, Some(promote.clone()), "patch-1")
        .await;
    assert_eq!(first.status, 200, "{:?}", first.json());
    assert_eq!(first.json()["role"], "supervisor");
    let back = app
        .browse(&root, "PATCH", path, Some(json!({"role": "agent"})))
        .await;
    assert_eq!(back.status, 200);
    let again = app
        .browse_keyed(&root, "PATCH", path, Some(promote), "patch-1")
        .await;
    assert_eq!((again.status, &again.bytes), (200, &first.bytes));
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let agents = app.api("GET", "/api/v1/agents", &key, None).await.json();
    let bob = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["login"] == "bob");
    assert_eq!(bob.unwrap()["role"], "agent", "the replay changed nothing");
    let other = app
        .browse_keyed(
            &root,
            "PATCH",
            path,
            Some(json!({"role": "admin"})),
            "patch-1",
        )
        .await;
    assert_eq!(other.status, 422);
    assert_eq!(other.error_code(), "idempotency_key_reused");
}

/// Answers with a one-time password are never kept: the key is ignored,
/// so a retried add is 409 and a retried reset issues another password.
async fn one_time_passwords_are_never_kept(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "root", Role::Admin).await;
    let root = app.browser("root").await;
    let new = json!({"login": "cat", "name": "Cat"});
    let first = app
        .browse_keyed(&root, "POST", "/api/v1/agents", Some(new.clone()), "add-1")
        .await;
    assert_eq!(first.status, 201);
    let again = app
        .browse_keyed(&root, "POST", "/api/v1/agents", Some(new), "add-1")
        .await;
    assert_eq!(again.status, 409);
    assert!(again.headers.get("idempotent-replayed").is_none());
    let reset = "/api/v1/agents/cat/password";
    let one = app
        .browse_keyed(&root, "POST", reset, None, "reset-1")
        .await;
    let two = app
        .browse_keyed(&root, "POST", reset, None, "reset-1")
        .await;
    assert_eq!((one.status, two.status), (200, 200));
    assert_ne!(
        one.json()["initial_password"],
        two.json()["initial_password"]
    );
    for key in ["add-1", "reset-1"] {
        let unused = KeyUse {
            tenant: &app.tenant.id,
            actor: "agent:root",
            role: Role::Admin,
            key,
            fingerprint: "f",
            at: NOW.parse().unwrap(),
        };
        let found = app.backend.idempotency.reserve_idempotency_key(unused);
        assert_eq!(found.await.unwrap(), Reservation::Reserved, "{key}");
    }
}

/// A kept answer is its sender's: another agent, or an API key, sending
/// the same key makes its own request, checked against its own role.
async fn a_replay_answers_only_whoever_made_it(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    app.add_agent(TENANT, "bob", Role::Agent).await;
    let (ada, ann) = (app.browser("ada").await, app.browser("ann").await);
    let change = json!({"callback_sla_minutes": 30});
    let settings = "/api/v1/settings";
    let first = app
        .browse_keyed(&ada, "PATCH", settings, Some(change.clone()), "k1")
        .await;
    assert_eq!(first.status, 200, "{:?}", first.json());
    let refused = app
        .browse_keyed(&ann, "PATCH", settings, Some(change.clone()), "k1")
        .await;
    assert_eq!(
        (refused.status, refused.json()),
        (
            403,
            json!({"error": {"code": "forbidden",
                "message": "managing the tenant's settings needs an admin signed in"}})
        )
    );
    assert!(refused.headers.get("idempotent-replayed").is_none());

    let promote = json!({"role": "supervisor"});
    let path = "/api/v1/agents/bob";
    let first_change = app
        .browse_keyed(&ada, "PATCH", path, Some(promote.clone()), "k2")
        .await;
    assert_eq!(first_change.status, 200, "{:?}", first_change.json());
    let by_key = app
        .send(keyed_as("PATCH", path, &key, "k2", promote.clone()))
        .await;
    assert_eq!(
        (by_key.status, by_key.json()),
        (
            403,
            json!({"error": {"code": "forbidden", "message": "managing agents needs an admin signed in"}})
        )
    );
    assert!(by_key.headers.get("idempotent-replayed").is_none());

    // The sender's own retry is still its answer.
    let again = app
        .browse_keyed(&ada, "PATCH", settings, Some(change), "k1")
        .await;
    assert_eq!((again.status, &again.bytes), (200, &first.bytes));
    assert_eq!(again.headers["idempotent-replayed"], "true");
}

/// A supervisor's claim answer holds the whole number; an agent sending
/// the same key gets what its own claim gets: 409, the number unseen.
async fn another_agents_same_key_is_their_own_claim(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "sue", Role::Supervisor).await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let (sue, ann) = (app.browser("sue").await, app.browser("ann").await);
    let record = app.seed(TENANT, 0).await;
    let number = record.callback_number.to_string();
    let path = format!("/api/v1/callbacks/{}/claim", record.id);
    let claimed = app
        .browse_keyed(&sue, "POST", &path, Some(json!({})), "k2")
        .await;
    assert_eq!(claimed.status, 200, "{:?}", claimed.json());
    assert_eq!(claimed.json()["callback_number"], number.as_str());
    let unkeyed = app.browse(&ann, "POST", &path, Some(json!({}))).await;
    let keyed = app
        .browse_keyed(&ann, "POST", &path, Some(json!({})), "k2")
        .await;
    for reply in [&unkeyed, &keyed] {
        assert_eq!(
            (reply.status, reply.json()),
            (
                409,
                json!({"error": {"code": "conflict", "message": "claimed by sue", "holder": "sue"}})
            )
        );
        assert!(reply.headers.get("idempotent-replayed").is_none());
        assert!(!String::from_utf8_lossy(&reply.bytes).contains(&number[3..]));
    }
}

/// A replay is an answer to the role its sender had: an admin demoted since
/// gets 403 for their own earlier admin change, not its answer.
async fn a_demoted_admin_gets_no_replay_of_an_admin_answer(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    app.add_agent(TENANT, "root", Role::Admin).await;
    let (ada, root) = (app.browser("ada").await, app.browser("root").await);
    let change = json!({"callback_sla_minutes": 30});
    let first = app
        .browse_keyed(
            &ada,
            "PATCH",
            "/api/v1/settings",
            Some(change.clone()),
            "k3",
        )
        .await;
    assert_eq!(first.status, 200, "{:?}", first.json());
    let demoted = app
        .browse(
            &root,
            "PATCH",
            "/api/v1/agents/ada",
            Some(json!({"role": "agent"})),
        )
        .await;
    assert_eq!(demoted.status, 200, "{:?}", demoted.json());
    let again = app
        .browse_keyed(&ada, "PATCH", "/api/v1/settings", Some(change), "k3")
        .await;
    assert_eq!(again.status, 403, "{:?}", again.json());
    assert_eq!(again.error_code(), "forbidden");
    assert!(again.headers.get("idempotent-replayed").is_none());
}

crate::on_every_backend!(
    a_replay_answers_only_whoever_made_it,
    another_agents_same_key_is_their_own_claim,
    a_demoted_admin_gets_no_replay_of_an_admin_answer,
    a_server_error_is_not_kept,
    a_retried_erasure_answers_as_the_first,
    a_retried_agent_change_is_replayed,
    one_time_passwords_are_never_kept,
    an_abandoned_reservation_is_taken_over,
    a_retried_attempt_is_logged_once,
    a_refusal_is_replayed_too,
    keys_expire_after_24_hours,
    keys_belong_to_their_tenant,
    concurrent_retries_run_once,
    a_bad_key_is_refused,
);
