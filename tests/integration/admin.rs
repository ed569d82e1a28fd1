//! A tenant's admin manages its API keys and settings through the API:
//! no operator needed. Agents, supervisors and API keys may not.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::agent::Role;
use afureko::domain::audit::AuditAction;
use afureko::domain::tenant::TenantSettings;
use serde_json::{Value, json};

fn at(time: &str) -> jiff::Timestamp {
    format!("2026-11-25T{time}Z").parse().unwrap()
}

fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

async fn admin_makes_lists_and_revokes_keys(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;

    let made = app
        .browse(
            &admin,
            "POST",
            "/api/v1/api-keys",
            Some(json!({"name": " front desk "})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.bytes));
    let made = made.json();
    let (id, key) = (
        made["id"].as_str().unwrap().to_owned(),
        made["key"].as_str().unwrap().to_owned(),
    );
    assert!(key.starts_with("afk_") && key.len() == 68, "{key}");
    assert_eq!(
        made,
        json!({"id": id, "name": "front desk", "created_at": NOW,
               "revoked_at": null, "active": true, "key": key})
    );

    // The new key works; the list shows it, never the key or its hash.
    let works = app.api("GET", "/api/v1/callbacks", &key, None).await;
    assert_eq!(works.status, 200);
    let list = app.browse(&admin, "GET", "/api/v1/api-keys", None).await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.json(),
        json!([{"id": id, "name": "front desk", "created_at": NOW,
                "revoked_at": null, "active": true}])
    );

    app.clock.set(at("02:00:00"));
    let revoked = app
        .browse(&admin, "DELETE", &format!("/api/v1/api-keys/{id}"), None)
        .await;
    assert_eq!(revoked.status, 204);
    assert!(revoked.bytes.is_empty());
    let refused = app.api("GET", "/api/v1/callbacks", &key, None).await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.json(),
        error("unauthorized", "the API key is not valid")
    );
    let list = app.browse(&admin, "GET", "/api/v1/api-keys", None).await;
    assert_eq!(list.json()[0]["revoked_at"], "2026-11-25T02:00:00Z");
    assert_eq!(list.json()[0]["active"], false);

    let unknown = app
        .browse(&admin, "DELETE", "/api/v1/api-keys/key_000000000000", None)
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.json(),
        error("not_found", "no API key \"key_000000000000\"")
    );

    let bad_name = app
        .browse(
            &admin,
            "POST",
            "/api/v1/api-keys",
            Some(json!({"name": "a\u{7}b"})),
        )
        .await;
    assert_eq!(
        bad_name.json(),
        error(
            "bad_request",
            "name: at most 100 characters, no control characters"
        )
    );

    // Each creation and revocation is in the audit trail, by whom.
    let audit = app
        .backend
        .audit
        .list_audit(&app.tenant.id, 10)
        .await
        .unwrap();
    let seen: Vec<_> = audit
        .iter()
        .map(|e| (e.action, e.actor.as_str(), e.subject.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (AuditAction::ApiKeyRevoked, "agent:ada", id.as_str()),
            (AuditAction::ApiKeyCreated, "agent:ada", id.as_str()),
        ]
    );
}

async fn only_a_signed_in_admin_manages_keys_and_settings(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let key = app.api_key().await;
    app.add_agent(TENANT, "ann", Role::Agent).await;
    app.add_agent(TENANT, "sue", Role::Supervisor).await;
    let keys_refused = error("forbidden", "managing API keys needs an admin signed in");
    let settings_refused = error(
        "forbidden",
        "managing the tenant's settings needs an admin signed in",
    );
    let routes = [
        ("GET", "/api/v1/api-keys", None, &keys_refused),
        ("POST", "/api/v1/api-keys", Some(json!({})), &keys_refused),
        (
            "DELETE",
            "/api/v1/api-keys/key_000000000000",
            None,
            &keys_refused,
        ),
        ("GET", "/api/v1/settings", None, &settings_refused),
        (
            "PATCH",
            "/api/v1/settings",
            Some(json!({"callback_sla_minutes": 5})),
            &settings_refused,
        ),
    ];
    for login in ["ann", "sue"] {
        let browser = app.browser(login).await;
        for (method, path, body, refused) in &routes {
            let reply = app.browse(&browser, method, path, body.clone()).await;
            assert_eq!(reply.status, 403, "{login} {method} {path}");
            assert_eq!(&reply.json(), *refused, "{login} {method} {path}");
        }
    }
    // A key must not mint keys (a leaked one would outlive its revocation).
    for (method, path, body, refused) in &routes {
        let reply = app.api(method, path, &key, body.clone()).await;
        assert_eq!(reply.status, 403, "key {method} {path}");
        assert_eq!(&reply.json(), *refused, "key {method} {path}");
    }
    assert_eq!(
        app.backend
            .store
            .list_api_keys(&app.tenant.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let stored = app
        .backend
        .store
        .get_tenant(&app.tenant.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.settings.callback_sla_minutes, 240);
}

async fn a_tenant_never_touches_anothers_keys(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_tenant("beta").await;
    let beta_key = app.api_key_for("beta").await;
    let beta_id = app
        .backend
        .store
        .list_api_keys(&afureko::domain::ids::TenantId::parse("beta").unwrap())
        .await
        .unwrap()[0]
        .id
        .clone();
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;
    let list = app.browse(&admin, "GET", "/api/v1/api-keys", None).await;
    assert_eq!(list.json(), json!([]));
    let reply = app
        .browse(
            &admin,
            "DELETE",
            &format!("/api/v1/api-keys/{beta_id}"),
            None,
        )
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        error("not_found", &format!("no API key {beta_id:?}"))
    );
    let still = app.api("GET", "/api/v1/callbacks", &beta_key, None).await;
    assert_eq!(still.status, 200);
}

async fn admin_reads_and_changes_settings_where_they_act(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;

    let read = app.browse(&admin, "GET", "/api/v1/settings", None).await;
    assert_eq!(read.status, 200);
    let defaults = json!({
        "language": "ja-JP", "voice": "Polly.Mizuki",
        "max_recording_seconds": 120, "number_entry_attempts": 3,
        "max_callback_attempts": 3, "callback_sla_minutes": 240,
        "claim_timeout_minutes": 30, "retry_delay_minutes": 60,
        "retention_days": 365, "time_zone": "Asia/Tokyo",
        "delete_twilio_recording": true, "recording_format": "mp3",
        "routing_mode": "overflow", "closed_now": false,
    });
    assert_eq!(read.json(), defaults);
    // No secret in it, under any name.
    let text = String::from_utf8_lossy(&read.bytes);
    assert!(
        !text.contains(AUTH_TOKEN) && !text.contains("token"),
        "{text}"
    );

    let changed = app
        .browse(
            &admin,
            "PATCH",
            "/api/v1/settings",
            // 17.0 is a whole number to JSON Schema, so to us.
            Some(json!({"language": "en-US", "callback_sla_minutes": 17.0, "voice": null})),
        )
        .await;
    assert_eq!(
        changed.status,
        200,
        "{}",
        String::from_utf8_lossy(&changed.bytes)
    );
    let mut expected = defaults.clone();
    expected["language"] = "en-US".into();
    expected["voice"] = "Polly.Joanna".into();
    expected["callback_sla_minutes"] = 17.into();
    assert_eq!(changed.json(), expected);
    assert_eq!(
        app.browse(&admin, "GET", "/api/v1/settings", None)
            .await
            .json(),
        expected
    );

    // The next call speaks English, and its record is due 17 minutes on.
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    assert_eq!(doc.verbs[0].attr("language"), Some("en-US"));
    assert_eq!(doc.verbs[0].attr("voice"), Some("Polly.Joanna"));
    let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
    assert!(doc.record().is_some());
    assert_eq!(app.record(&sid).await.unwrap().due_at, at("01:17:00"));

    let audit = app
        .backend
        .audit
        .list_audit(&app.tenant.id, 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, AuditAction::SettingsChanged);
    assert_eq!(audit[0].actor, "agent:ada");
    assert_eq!(audit[0].subject, TENANT);
    // Two settings named with a value (null leaves `voice` as it is).
    assert_eq!(audit[0].counts["settings"], 2);
    // The credentials were written back untouched.
    let stored = app
        .backend
        .store
        .get_tenant(&app.tenant.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.twilio, app.tenant.twilio);
}

async fn bad_settings_are_refused_by_name(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;
    let cases = [
        (
            json!({"callback_sla_minutes": 0}),
            "callback_sla_minutes must be between 1 and 20160, got 0",
        ),
        (
            json!({"retention_days": 3651}),
            "retention_days must be between 1 and 3650, got 3651",
        ),
        (
            json!({"time_zone": "Mars/Olympus"}),
            "time_zone: unknown time zone \"Mars/Olympus\" (expected an IANA name such as Asia/Tokyo)",
        ),
        (
            json!({"voice": "Polly.Joanna"}),
            "voice \"Polly.Joanna\" cannot speak ja-JP; pick a ja-JP voice such as Polly.Mizuki",
        ),
    ];
    for (body, message) in cases {
        let reply = app
            .browse(&admin, "PATCH", "/api/v1/settings", Some(body.clone()))
            .await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json(), error("bad_request", message), "{body}");
    }
    // Wrong types and unknown fields: 400, the field named.
    let refused = [
        (json!({"language": "fr-FR"}), "language: unknown variant"),
        (
            json!({"claim_timeout_minutes": -1}),
            "claim_timeout_minutes: invalid value",
        ),
        (json!({"auth_token": "x"}), "unknown field `auth_token`"),
    ];
    for (body, part) in refused {
        let reply = app
            .browse(&admin, "PATCH", "/api/v1/settings", Some(body.clone()))
            .await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.error_code(), "bad_request", "{body}");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(part), "{body}: {message}");
    }
    // Nothing was changed, nothing audited.
    let stored = app
        .backend
        .store
        .get_tenant(&app.tenant.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.settings, TenantSettings::default());
    assert!(
        app.backend
            .audit
            .list_audit(&app.tenant.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

crate::on_every_backend!(
    admin_makes_lists_and_revokes_keys,
    only_a_signed_in_admin_manages_keys_and_settings,
    a_tenant_never_touches_anothers_keys,
    admin_reads_and_changes_settings_where_they_act,
    bad_settings_are_refused_by_name,
);
