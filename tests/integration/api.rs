//! The agents' JSON API: the whole life of a callback, races, pages,
//! tenants, keys and every error code.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::tenant::TenantSettings;
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use std::collections::HashSet;

fn path(id: &str, action: &str) -> String {
    format!("/api/v1/callbacks/{id}{action}")
}

async fn recording_with_range(app: &TestApp, key: &str, id: &str, range: &str) -> ApiReply {
    let request = Request::get(path(id, "/recording"))
        .header("authorization", format!("Bearer {key}"))
        .header("range", range)
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn range_requests_follow_rfc_9110() {
    let app = spawn_on(crate::backends::Kind::Embedded, wav_settings()).await;
    let key = app.api_key().await;
    let (record, audio) = app.play_call(CALLER).await;
    let id = record.id.to_string();
    let total = audio.len();

    let tail = recording_with_range(&app, &key, &id, "bytes=-10").await;
    assert_eq!(tail.status, 206);
    assert_eq!(
        tail.headers["content-range"],
        format!("bytes {}-{}/{total}", total - 10, total - 1).as_str()
    );
    assert_eq!(tail.bytes, audio[total - 10..]);

    // Outside the audio: 416 with the length, in the JSON error shape.
    let outside = recording_with_range(&app, &key, &id, &format!("bytes={total}-")).await;
    assert_eq!(outside.status, 416);
    assert_eq!(
        outside.headers["content-range"],
        format!("bytes */{total}").as_str()
    );
    assert_eq!(outside.json()["error"]["code"], "range_not_satisfiable");

    // A header we cannot serve is ignored: the whole audio.
    for ignored in ["bytes=0-1,5-9", "bytes=9-2", "bytes=x-", "pages=1-2"] {
        let whole = recording_with_range(&app, &key, &id, ignored).await;
        assert_eq!(whole.status, 200, "{ignored}");
        assert_eq!(whole.bytes, audio, "{ignored}");
        assert!(!whole.headers.contains_key("content-range"), "{ignored}");
    }
}

async fn the_whole_life_of_a_callback(kind: Kind) {
    let app = spawn_on(kind, wav_settings()).await;
    let key = app.api_key().await;
    let (record, audio) = app.play_call(CALLER).await;
    let id = record.id.to_string();

    let list = app
        .api("GET", "/api/v1/callbacks?status=pending", &key, None)
        .await;
    assert_eq!(list.status, 200);
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["callback_number"], CALLER);
    assert_eq!(items[0]["confirmation"], "caller_id");
    assert_eq!(items[0]["reason"], "overflow");
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["due_at"], "2026-11-25T05:00:00Z");
    assert_eq!(
        items[0]["recording_url"],
        format!("/api/v1/callbacks/{id}/recording")
    );
    assert_eq!(list.json()["next_cursor"], Value::Null);

    // Listen to the request first: whole, then a range (from S3 on AWS).
    let recording = app.fetch_recording(&key, &id, None).await;
    assert_eq!(recording.status, 200);
    assert_eq!(recording.headers["content-type"], "audio/wav");
    assert_eq!(
        recording.headers["content-length"],
        audio.len().to_string().as_str()
    );
    assert_eq!(recording.bytes, audio);
    let ranged = app.fetch_recording(&key, &id, Some("bytes=0-43")).await;
    assert_eq!(ranged.status, 206);
    assert_eq!(
        ranged.headers["content-range"],
        format!("bytes 0-43/{}", audio.len()).as_str()
    );
    assert_eq!(ranged.bytes, audio[..44]);

    let claimed = app.claim(&key, &id, "ann").await;
    assert_eq!(claimed.status, 200);
    assert_eq!(claimed.json()["status"], "claimed");
    assert_eq!(claimed.json()["claimed_by"], "ann");
    let claimed_list = app
        .api("GET", "/api/v1/callbacks?status=claimed", &key, None)
        .await;
    assert_eq!(claimed_list.json()["items"][0]["id"], id);

    let tried = app
        .attempt(
            &key,
            &id,
            json!({"agent": "ann", "outcome": "no_answer", "note": "rang 10 times"}),
        )
        .await;
    assert_eq!(tried.status, 200);
    let body = tried.json();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["claimed_by"], Value::Null);
    // Due again after the tenant's retry delay (60 min) from now.
    assert_eq!(body["due_at"], "2026-11-25T02:00:00Z");
    assert_eq!(body["attempts"][0]["outcome"], "no_answer");
    assert_eq!(body["attempts"][0]["note"], "rang 10 times");

    let bobs = app.claim(&key, &id, "bob").await;
    assert_eq!(bobs.status, 200);
    assert_eq!(bobs.json()["claimed_by"], "bob");
    let reached = app
        .attempt(&key, &id, json!({"agent": "bob", "outcome": "reached"}))
        .await;
    assert_eq!(reached.status, 200);
    assert_eq!(reached.json()["status"], "completed");
    assert_eq!(reached.json()["attempts"].as_array().unwrap().len(), 2);

    let again = app.complete(&key, &id, json!({"agent": "bob"})).await;
    assert_eq!(again.status, 422);
    assert_eq!(again.error_code(), "invalid_state");

    let got = app.api("GET", &path(&id, ""), &key, None).await;
    assert_eq!(got.json()["status"], "completed");
    assert_eq!(got.json()["version"], reached.json()["version"]);
}

async fn unreached_up_to_the_maximum_fails_the_record(kind: Kind) {
    let app = spawn_on(
        kind,
        TenantSettings {
            max_callback_attempts: 2,
            ..TenantSettings::default()
        },
    )
    .await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    for (n, outcome) in ["busy", "voicemail"].into_iter().enumerate() {
        assert_eq!(app.claim(&key, &id, "ann").await.status, 200);
        let reply = app
            .attempt(&key, &id, json!({"agent": "ann", "outcome": outcome}))
            .await;
        assert_eq!(reply.status, 200);
        let expected = if n == 0 { "pending" } else { "failed" };
        assert_eq!(reply.json()["status"], expected);
    }
    let claim = app.claim(&key, &id, "ann").await;
    assert_eq!(claim.status, 422);
    assert_eq!(
        claim.json()["error"]["message"],
        "cannot claim a callback that is failed"
    );
    let failed = app
        .api("GET", "/api/v1/callbacks?status=failed", &key, None)
        .await;
    assert_eq!(failed.json()["items"][0]["id"], id);
}

async fn pages_have_no_duplicates_or_gaps_while_records_are_claimed(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let mut all = Vec::new();
    const RECORDS: usize = 120;
    for n in 0..RECORDS {
        // Several records share each due time: ties are ordered by id.
        all.push(app.seed(TENANT, (n % 37) as i64).await.id.to_string());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut dues: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let mut claimed: HashSet<String> = HashSet::new();
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/callbacks?limit=16&cursor={c}"),
            None => "/api/v1/callbacks?limit=16".to_owned(),
        };
        let page = app.api("GET", &url, &key, None).await;
        assert_eq!(page.status, 200);
        let body = page.json();
        for item in body["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
            dues.push(item["due_at"].as_str().unwrap().to_owned());
        }
        // Between pages, agents claim records both behind and ahead of us.
        for id in [&all[pages * 7 % RECORDS], &all[(pages * 13 + 60) % RECORDS]] {
            let claim = app.claim(&key, id, "ann").await;
            assert_eq!(claim.status, 200, "{:?}", claim.json());
            claimed.insert(id.clone());
        }
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 8);
    assert_eq!(seen.len(), RECORDS, "no gaps");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        RECORDS,
        "no duplicates"
    );
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted, "oldest due first");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>(),
        all.iter().collect::<HashSet<_>>()
    );

    // A pending-only list while claims go on: after each page an agent
    // claims one record on it (behind the cursor) and one further down the
    // list (ahead of it). No item repeats, a record claimed ahead never
    // shows up, and every other pending record does.
    let pending_before: HashSet<String> = all
        .iter()
        .filter(|id| !claimed.contains(*id))
        .cloned()
        .collect();
    let mut pending_seen: Vec<String> = Vec::new();
    let mut claimed_ahead: HashSet<String> = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/callbacks?status=pending&limit=10&cursor={c}"),
            None => "/api/v1/callbacks?status=pending&limit=10".to_owned(),
        };
        let body = app.api("GET", &url, &key, None).await.json();
        let items = body["items"].as_array().unwrap();
        for item in items {
            assert_eq!(item["status"], "pending");
            pending_seen.push(item["id"].as_str().unwrap().to_owned());
        }
        if let (Some(first), Some(last)) = (items.first(), items.last()) {
            let behind = first["id"].as_str().unwrap();
            assert_eq!(app.claim(&key, behind, "bob").await.status, 200);
            // The third record still pending after this page, in list order.
            let at = seen
                .iter()
                .position(|id| id == last["id"].as_str().unwrap())
                .unwrap();
            let ahead = seen[at + 1..]
                .iter()
                .filter(|id| pending_before.contains(*id) && !claimed_ahead.contains(*id))
                .nth(2);
            if let Some(ahead) = ahead {
                assert_eq!(app.claim(&key, ahead, "bob").await.status, 200);
                claimed_ahead.insert(ahead.clone());
            }
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<String> = pending_seen.iter().cloned().collect();
    assert_eq!(unique.len(), pending_seen.len(), "no item repeats");
    assert!(
        claimed_ahead.len() >= 5,
        "{} claimed ahead",
        claimed_ahead.len()
    );
    let expected: HashSet<String> = pending_before.difference(&claimed_ahead).cloned().collect();
    assert_eq!(unique, expected);
}

async fn another_tenants_records_do_not_exist(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_tenant("beta").await;
    let beta_key = app.api_key_for("beta").await;
    let (record, _) = app.play_call(CALLER).await;
    let id = record.id.to_string();

    let list = app.api("GET", "/api/v1/callbacks", &beta_key, None).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["items"], json!([]));
    for (method, action, body) in [
        ("GET", "", None),
        ("GET", "/recording", None),
        ("POST", "/claim", Some(json!({"agent": "eve"}))),
        ("POST", "/complete", Some(json!({"agent": "eve"}))),
    ] {
        let reply = app.api(method, &path(&id, action), &beta_key, body).await;
        assert_eq!(reply.status, 404, "{method} {action}");
        assert_eq!(
            reply.json()["error"]["message"],
            format!("no callback \"{id}\"")
        );
    }
    let acme_key = app.api_key().await;
    let still = app.api("GET", &path(&id, ""), &acme_key, None).await;
    assert_eq!(still.json()["status"], "pending");
}

async fn missing_wrong_and_revoked_keys_are_401(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let no_key = app
        .send(
            Request::get("/api/v1/callbacks")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(no_key.status, 401);
    assert_eq!(no_key.headers["www-authenticate"], "Bearer");
    assert_eq!(no_key.error_code(), "unauthorized");
    let wrong = app
        .api("GET", "/api/v1/callbacks", "afk_not-a-key", None)
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        app.api("GET", "/api/v1/callbacks", &key, None).await.status,
        200
    );

    let stored = app
        .backend
        .store
        .find_api_key(&afureko::domain::api_key::hash_key(&key))
        .await
        .unwrap()
        .unwrap();
    app.backend
        .store
        .revoke_api_key(&app.tenant.id, &stored.id, NOW.parse().unwrap())
        .await
        .unwrap();
    let revoked = app.api("GET", "/api/v1/callbacks", &key, None).await;
    assert_eq!(revoked.status, 401);
    assert_eq!(
        revoked.json()["error"]["message"],
        "the API key is not valid"
    );
}

async fn bad_input_gets_the_right_error(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    let cases: Vec<(&str, String, Option<Value>, u16, &str)> = vec![
        (
            "GET",
            "/api/v1/callbacks?status=lost".into(),
            None,
            400,
            "status must be pending, claimed, completed or failed, got \"lost\"",
        ),
        (
            "GET",
            "/api/v1/callbacks?limit=0".into(),
            None,
            400,
            "limit must be between 1 and 200, got 0",
        ),
        (
            "GET",
            "/api/v1/callbacks?limit=201".into(),
            None,
            400,
            "limit must be between 1 and 200, got 201",
        ),
        (
            "GET",
            "/api/v1/callbacks?cursor=nonsense".into(),
            None,
            400,
            "cursor is not one this API gave out",
        ),
        (
            "POST",
            path(&id, "/claim"),
            Some(json!({"agent": "ann", "extra": 1})),
            400,
            "",
        ),
        ("POST", path(&id, "/claim"), Some(json!({})), 400, ""),
        (
            "POST",
            path(&id, "/claim"),
            Some(json!({"agent": "  "})),
            400,
            "agent must be 1-100 characters, not only spaces, with no control characters",
        ),
        (
            "POST",
            path(&id, "/attempts"),
            Some(json!({"agent": "ann", "outcome": "maybe"})),
            400,
            "",
        ),
        (
            "POST",
            path(&id, "/release"),
            Some(json!({"agent": "ann"})),
            422,
            "cannot release a callback that is pending",
        ),
        (
            "GET",
            path("0193c0de-0000-7000-8000-000000000000", ""),
            None,
            404,
            "no callback \"0193c0de-0000-7000-8000-000000000000\"",
        ),
        (
            "GET",
            path("not-an-id", ""),
            None,
            404,
            "no callback \"not-an-id\"",
        ),
        (
            "GET",
            path(&id, "/recording"),
            None,
            404,
            "this callback has no stored recording yet",
        ),
    ];
    for (method, url, body, status, message) in cases {
        let reply = app.api(method, &url, &key, body.clone()).await;
        assert_eq!(
            reply.status,
            status,
            "{method} {url} {body:?}: {:?}",
            reply.json()
        );
        if !message.is_empty() {
            assert_eq!(reply.json()["error"]["message"], message, "{method} {url}");
        }
        assert!(reply.json()["error"]["code"].is_string());
    }
    let unknown_field = app
        .claim_with(&key, &id, json!({"agent": "ann", "extra": 1}))
        .await;
    assert!(
        unknown_field.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `extra`"),
        "{:?}",
        unknown_field.json()
    );

    // Not JSON at all, and JSON without its content type.
    let not_json = app
        .send(
            Request::post(path(&id, "/claim"))
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(Body::from("{agent"))
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.status, 400);
    let no_type = app
        .send(
            Request::post(path(&id, "/claim"))
                .header("authorization", format!("Bearer {key}"))
                .body(Body::from(r#"{"agent":"ann"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(no_type.status, 400);
    assert_eq!(
        no_type.json()["error"]["message"],
        "send the body as Content-Type: application/json"
    );
    let huge = app
        .complete(
            &key,
            &id,
            json!({"agent": "ann", "note": "x".repeat(70_000)}),
        )
        .await;
    assert_eq!(huge.status, 413);
    assert_eq!(huge.error_code(), "payload_too_large");
    let long_note = app
        .complete(&key, &id, json!({"agent": "ann", "note": "x".repeat(2001)}))
        .await;
    assert_eq!(long_note.status, 400);

    // Holding and releasing.
    assert_eq!(app.claim(&key, &id, "ann").await.status, 200);
    let not_holder = app.release(&key, &id, "bob").await;
    assert_eq!(not_holder.status, 409);
    let holder = app.release(&key, &id, "ann").await;
    assert_eq!(holder.status, 200);
    assert_eq!(holder.json()["status"], "pending");
    let done = app
        .complete(
            &key,
            &id,
            json!({"agent": "bob", "note": "answered by e-mail"}),
        )
        .await;
    assert_eq!(done.status, 200);
    assert_eq!(done.json()["completion_note"], "answered by e-mail");
    assert_eq!(done.json()["completed_by"], "bob");
    let unsatisfiable = app
        .attempt(&key, &id, json!({"agent": "bob", "outcome": "reached"}))
        .await;
    assert_eq!(unsatisfiable.status, 422);
}

async fn an_expired_claim_can_be_taken_over(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();
    assert_eq!(app.claim(&key, &id, "ann").await.status, 200);
    app.clock.set("2026-11-25T01:29:59Z".parse().unwrap());
    let early = app.claim(&key, &id, "bob").await;
    assert_eq!(early.status, 409);
    // The default claim timeout is 30 minutes.
    app.clock.set("2026-11-25T01:30:00Z".parse().unwrap());
    let late = app.claim(&key, &id, "bob").await;
    assert_eq!(late.status, 200);
    assert_eq!(late.json()["claimed_by"], "bob");
}

/// An attempt (or a completion) needs no claim: an agent who rang without
/// claiming can still log it. Only another agent's live claim refuses it.
async fn an_attempt_needs_no_claim_but_another_agents_claim_refuses_it(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    let id = app.seed(TENANT, 0).await.id.to_string();

    let unclaimed = app
        .attempt(&key, &id, json!({"agent": "ann", "outcome": "busy"}))
        .await;
    assert_eq!(unclaimed.status, 200);
    assert_eq!(unclaimed.json()["status"], "pending");
    assert_eq!(unclaimed.json()["due_at"], "2026-11-25T02:00:00Z");
    assert_eq!(unclaimed.json()["attempts"][0]["agent"], "ann");

    assert_eq!(app.claim(&key, &id, "bob").await.status, 200);
    for refused in [
        app.attempt(&key, &id, json!({"agent": "ann", "outcome": "reached"}))
            .await,
        app.complete(&key, &id, json!({"agent": "ann"})).await,
    ] {
        assert_eq!(refused.status, 409);
        assert_eq!(refused.json()["error"]["message"], "claimed by bob");
        assert_eq!(
            refused.json(),
            json!({"error": {"code": "conflict", "message": "claimed by bob", "holder": "bob"}})
        );
    }
    let stored = app.api("GET", &path(&id, ""), &key, None).await.json();
    assert_eq!(stored["status"], "claimed");
    assert_eq!(stored["attempts"].as_array().unwrap().len(), 1);

    let holder = app
        .attempt(&key, &id, json!({"agent": "bob", "outcome": "reached"}))
        .await;
    assert_eq!(holder.status, 200);
    assert_eq!(holder.json()["status"], "completed");
    assert_eq!(holder.json()["attempts"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let reply = app
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let expected: Vec<(String, String)> = [
        ("DELETE", "/api/v1/api-keys/{id}"),
        ("DELETE", "/api/v1/callbacks/{id}"),
        ("DELETE", "/api/v1/notifications/{id}"),
        ("DELETE", "/api/v1/sessions/current"),
        ("GET", "/"),
        ("GET", "/api/v1/agents"),
        ("GET", "/api/v1/api-keys"),
        ("GET", "/api/v1/callbacks"),
        ("GET", "/api/v1/callbacks/counts"),
        ("GET", "/api/v1/callbacks/{id}"),
        ("GET", "/api/v1/callbacks/{id}/recording"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/settings"),
        ("GET", "/api/v1/settings/next-call"),
        ("GET", "/api/v1/stats"),
        ("GET", "/api/v1/stats/records.csv"),
        ("GET", "/app"),
        ("GET", "/app/{file}"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("PATCH", "/api/v1/agents/{login}"),
        ("PATCH", "/api/v1/callbacks/{id}/attempts/{n}"),
        ("PATCH", "/api/v1/me"),
        ("PATCH", "/api/v1/settings"),
        ("POST", "/api/v1/agents"),
        ("POST", "/api/v1/agents/{login}/password"),
        ("POST", "/api/v1/api-keys"),
        ("POST", "/api/v1/callbacks/{id}/assign"),
        ("POST", "/api/v1/callbacks/{id}/attempts"),
        ("POST", "/api/v1/callbacks/{id}/call"),
        ("POST", "/api/v1/callbacks/{id}/claim"),
        ("POST", "/api/v1/callbacks/{id}/complete"),
        ("POST", "/api/v1/callbacks/{id}/notes"),
        ("POST", "/api/v1/callbacks/{id}/release"),
        ("POST", "/api/v1/me/password"),
        ("POST", "/api/v1/notifications"),
        ("POST", "/api/v1/notifications/{id}/test"),
        ("POST", "/api/v1/sessions"),
        ("POST", "/twilio/{tenant}/dial-result/{arrived}"),
        (
            "POST",
            "/twilio/{tenant}/ivr/confirm/{reason}/{arrived}/{attempt}/{typed}",
        ),
        (
            "POST",
            "/twilio/{tenant}/ivr/enter/{reason}/{arrived}/{attempt}",
        ),
        (
            "POST",
            "/twilio/{tenant}/ivr/offer/{reason}/{arrived}/{attempt}",
        ),
        ("POST", "/twilio/{tenant}/ivr/recorded"),
        (
            "POST",
            "/twilio/{tenant}/ivr/window/{reason}/{arrived}/{attempt}",
        ),
        (
            "POST",
            "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/answer",
        ),
        (
            "POST",
            "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/connect",
        ),
        (
            "POST",
            "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/customer",
        ),
        (
            "POST",
            "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/dialed",
        ),
        (
            "POST",
            "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/recording",
        ),
        (
            "POST",
            "/twilio/{tenant}/outbound/{callback}/{agent}/{started}/status",
        ),
        ("POST", "/twilio/{tenant}/queue/offer/{arrived}"),
        ("POST", "/twilio/{tenant}/queue/result/{arrived}"),
        ("POST", "/twilio/{tenant}/queue/wait/{arrived}"),
        ("POST", "/twilio/{tenant}/recording"),
        ("POST", "/twilio/{tenant}/voice"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(documented, expected);

    // Every documented operation is routed: none falls through to "no such route".
    for (method, template) in &documented {
        // Off without AFUREKO_METRICS_TOKEN, and then it answers as no route.
        if template == "/metrics" {
            continue;
        }
        let concrete = template
            .replace("{id}", "0193c0de-0000-7000-8000-000000000000")
            .replace("{tenant}", "acme")
            .replace("{reason}", "overflow")
            .replace("{arrived}", "0")
            .replace("{attempt}", "1")
            .replace("{typed}", "0312345678")
            .replace("{n}", "1")
            .replace("{callback}", "0193c0de-0000-7000-8000-000000000000")
            .replace("{agent}", "ann")
            .replace("{started}", "0")
            .replace("{file}", "main.js");
        // `/metrics` is off without its token: a 404 "no such route" by design.
        if concrete == "/metrics" {
            continue;
        }
        let reply = app
            .send(
                Request::builder()
                    .method(method.as_str())
                    .uri(&concrete)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_ne!(
            reply.json()["error"]["message"],
            "no such route",
            "{method} {concrete}"
        );
        assert_ne!(reply.status, 405, "{method} {concrete}");
    }
    let unrouted = app
        .send(Request::get("/api/v1/nothing").body(Body::empty()).unwrap())
        .await;
    assert_eq!(unrouted.status, 404);
    assert_eq!(unrouted.json()["error"]["message"], "no such route");
}

/// Every answer says `nosniff`; every `/api/v1` answer is `no-store`
/// (numbers, recordings, one-time passwords and keys, errors too), so a
/// shared browser keeps none of it.
#[tokio::test]
async fn no_answer_is_sniffed_and_no_api_answer_is_stored() {
    use crate::sessions::browser_request_of;
    use afureko::domain::agent::Role;
    let app = spawn_app().await;
    let key = app.api_key().await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let ada = app.browser("ada").await;
    let (record, _) = app.play_call(CALLER).await;
    let id = record.id.to_string();
    let as_ada = |method: &str, path: &str, body: Option<Value>| {
        browser_request_of(&ada, method, path, body, true, None)
    };
    let by_key =
        |method: &str, path: &str, body: Option<Value>| api_request(method, path, &key, body);
    let empty = |method: &str, path: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap()
    };
    let url = app.voice_url();
    let params: Vec<(String, String)> = [("CallSid", app.call_sid()), ("From", CALLER.into())]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let signature = afureko::twilio::signature::sign(
        AUTH_TOKEN,
        &url,
        &params,
        afureko::twilio::signature::Algorithm::Sha1,
    );
    let twiml = Request::post(format!("/twilio/{TENANT}/voice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(Body::from(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish(),
        ))
        .unwrap();
    let sign_in = Request::post("/api/v1/sessions")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"tenant": TENANT, "login": "ada", "password": "a long enough password"})
                .to_string(),
        ))
        .unwrap();
    let too_large = Request::post(path(&id, "/claim"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(vec![b' '; 65 * 1024]))
        .unwrap();
    let requests = [
        (200, by_key("GET", "/api/v1/callbacks", None)),
        (200, by_key("GET", &path(&id, ""), None)),
        (
            200,
            by_key("POST", &path(&id, "/claim"), Some(json!({"agent": "ann"}))),
        ),
        (200, by_key("GET", &path(&id, "/recording"), None)),
        (200, by_key("GET", "/api/v1/agents", None)),
        (200, as_ada("GET", "/api/v1/api-keys", None)),
        (
            201,
            as_ada("POST", "/api/v1/api-keys", Some(json!({"name": "desk"}))),
        ),
        (
            201,
            as_ada(
                "POST",
                "/api/v1/agents",
                Some(json!({"login": "cat", "name": "Cat"})),
            ),
        ),
        (200, as_ada("POST", "/api/v1/agents/cat/password", None)),
        (200, as_ada("GET", "/api/v1/settings", None)),
        (200, as_ada("GET", "/api/v1/me", None)),
        (201, sign_in),
        (200, empty("GET", "/api/v1/openapi.json")),
        (401, empty("GET", "/api/v1/callbacks")),
        (404, by_key("GET", "/api/v1/nothing", None)),
        (405, by_key("PUT", "/api/v1/callbacks", None)),
        (413, too_large),
        (
            414,
            empty("GET", &format!("/api/v1/callbacks?{}", "a".repeat(9000))),
        ),
        (200, twiml),
        (400, empty("POST", &format!("/twilio/{TENANT}/voice"))),
        (200, empty("GET", "/app")),
        (200, empty("GET", "/app/main.js")),
        (200, empty("GET", "/healthz")),
        (404, empty("GET", "/nothing")),
    ];
    for (status, request) in requests {
        let what = format!("{} {}", request.method(), request.uri().path());
        let reply = app.send(request).await;
        assert_eq!(reply.status, status, "{what}: {:?}", reply.json());
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{what}");
        let cache = reply
            .headers
            .get("cache-control")
            .map(|v| v.to_str().unwrap());
        if what.contains(" /api/v1") {
            assert_eq!(cache, Some("no-store"), "{what}");
        }
    }
}

#[tokio::test]
async fn healthz_needs_no_key() {
    let app = spawn_app().await;
    let reply = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.bytes, b"ok");
}

crate::on_every_backend!(
    the_whole_life_of_a_callback,
    unreached_up_to_the_maximum_fails_the_record,
    pages_have_no_duplicates_or_gaps_while_records_are_claimed,
    another_tenants_records_do_not_exist,
    missing_wrong_and_revoked_keys_are_401,
    bad_input_gets_the_right_error,
    an_expired_claim_can_be_taken_over,
    an_attempt_needs_no_claim_but_another_agents_claim_refuses_it,
);
