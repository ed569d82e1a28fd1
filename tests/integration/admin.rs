//! A tenant's admin manages its API keys and settings through the API:
//! no operator needed. Agents, supervisors and API keys may not.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::agent::Role;
use afureko::domain::audit::AuditAction;
use afureko::domain::prompts::{Language, PromptKey};
use afureko::domain::speech::NumberEntry;
use afureko::domain::tenant::TenantSettings;
use serde_json::{Value, json};

fn at(time: &str) -> jiff::Timestamp {
    format!("2026-11-25T{time}Z").parse().unwrap()
}

fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// A 400 about one input, named in `field`.
fn bad_field(field: &str, message: &str) -> Value {
    json!({"error": {"code": "bad_request", "message": message, "field": field}})
}

/// The view's settings without `fields`, and `fields`.
fn settings_and_fields(view: Value) -> (Value, Value) {
    let mut view = view;
    let fields = view
        .as_object_mut()
        .and_then(|o| o.remove("fields"))
        .unwrap_or_default();
    (view, fields)
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
        bad_field(
            "name",
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
        ("GET", "/api/v1/settings/next-call", None, &settings_refused),
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
        "outbound_caller_id": "", "agent_ring_seconds": 20,
        "callback_recording": false, "reached_min_seconds": 10,
        "announce_due": true, "callback_windows": [], "number_entry": "dtmf",
        "sms_confirmation": false, "sms_from": "",
        "prompts": PromptKey::ALL.map(|k| (k.name().to_owned(), Value::Null)).into_iter().collect::<serde_json::Map<_, _>>(),
        "hours": [], "holidays": [], "dial_to": [], "ring_timeout_seconds": 20,
        "dial_caller_id": "", "queue_name": "afureko", "hold_audio_url": "",
        "offer_interval_seconds": 30, "max_wait_seconds": 300, "max_queue_size": 20,
        "default_region": "JP",
    });
    let (read_settings, fields) = settings_and_fields(read.json());
    assert_eq!(read_settings, defaults);
    assert_eq!(fields, all_fields(Language::JaJp));
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
    let (changed_settings, fields) = settings_and_fields(changed.json());
    assert_eq!(changed_settings, expected);
    assert_eq!(fields, all_fields(Language::EnUs));
    let (read_settings, _) = settings_and_fields(
        app.browse(&admin, "GET", "/api/v1/settings", None)
            .await
            .json(),
    );
    assert_eq!(read_settings, expected);

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

    // Click-to-call's number: set (written as E.164), then none again.
    for (sent, kept) in [("+81 50 1234 5678", "+815012345678"), ("", "")] {
        let set = app
            .browse(
                &admin,
                "PATCH",
                "/api/v1/settings",
                Some(json!({"outbound_caller_id": sent})),
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.json());
        assert_eq!(set.json()["outbound_caller_id"], kept);
        let me = app.browse(&admin, "GET", "/api/v1/me", None).await.json();
        assert_eq!(
            me["outbound_caller_id"],
            Value::from((!kept.is_empty()).then_some(kept))
        );
    }
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
            "callback_sla_minutes",
            "callback_sla_minutes must be between 1 and 20160, got 0",
        ),
        (
            json!({"retention_days": 3651}),
            "retention_days",
            "retention_days must be between 1 and 3650, got 3651",
        ),
        (
            json!({"time_zone": "Mars/Olympus"}),
            "time_zone",
            "time_zone: unknown time zone \"Mars/Olympus\" (expected an IANA name such as Asia/Tokyo)",
        ),
        (
            json!({"voice": "Polly.Joanna"}),
            "voice",
            "voice \"Polly.Joanna\" cannot speak ja-JP; pick a ja-JP voice such as Polly.Mizuki",
        ),
        (
            json!({"max_recording_seconds": 4}),
            "max_recording_seconds",
            "max_recording_seconds must be between 5 and 3600, got 4",
        ),
        (
            json!({"outbound_caller_id": "050-1234-5678"}),
            "outbound_caller_id",
            "outbound_caller_id: \"050-1234-5678\" is not a number in E.164 such as +81501234567, or \"\" for none",
        ),
        (
            json!({"agent_ring_seconds": 61}),
            "agent_ring_seconds",
            "agent_ring_seconds must be between 10 and 60, got 61",
        ),
    ];
    for (body, field, message) in cases {
        let reply = app
            .browse(&admin, "PATCH", "/api/v1/settings", Some(body.clone()))
            .await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json(), bad_field(field, message), "{body}");
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
        // A setting is named in `field`; an unknown member names none.
        let member = body.as_object().unwrap().keys().next().unwrap().clone();
        let field = (member != "auth_token").then_some(member);
        assert_eq!(
            reply.json()["error"].get("field"),
            field.map(Value::from).as_ref(),
            "{body}"
        );
    }
    assert_eq!(
        app.browse(
            &admin,
            "PATCH",
            "/api/v1/settings",
            Some(json!({"language": "fr-FR"}))
        )
        .await
        .json(),
        bad_field(
            "language",
            "language: unknown variant `fr-FR`, expected `ja-JP` or `en-US`"
        )
    );
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

/// What `fields` offers, in display order: bounds and choices are the
/// domain's; the prompts' standard texts are of `language`.
fn all_fields(language: Language) -> Value {
    use afureko::domain::routing::RoutingMode;
    use afureko::domain::tenant::{MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, RecordingFormat};
    let integer = |name: &str, min: u32, max: u32| {
        json!({"name": name, "type": "integer", "label": format!("set_{name}"),
               "minimum": min, "maximum": max})
    };
    let of_type = |name: &str, kind: &str| json!({"name": name, "type": kind, "label": format!("set_{name}")});
    let choice = |name: &str, choices: &[&str]| json!({"name": name, "type": "enum", "label": format!("set_{name}"), "choices": choices});
    let mut fields = json!([
        choice("language", &Language::CODES),
        of_type("voice", "string"),
        integer("max_recording_seconds", 5, 3600),
        integer("number_entry_attempts", 1, 10),
        integer("max_callback_attempts", 1, 20),
        integer("callback_sla_minutes", 1, 20160),
        integer("claim_timeout_minutes", 1, 1440),
        integer("retry_delay_minutes", 1, 10080),
        integer("retention_days", MIN_RETENTION_DAYS, MAX_RETENTION_DAYS),
        of_type("time_zone", "string"),
        of_type("delete_twilio_recording", "boolean"),
        choice("recording_format", &RecordingFormat::NAMES),
        choice("routing_mode", &RoutingMode::NAMES),
        of_type("closed_now", "boolean"),
        of_type("outbound_caller_id", "phone"),
        integer("agent_ring_seconds", 10, 60),
        of_type("callback_recording", "boolean"),
        integer("reached_min_seconds", 0, 300),
        of_type("announce_due", "boolean"),
        json!({"name": "callback_windows", "type": "list", "label": "set_callback_windows",
               "max_items": 4, "example": "1=09:00-12:00"}),
        choice("number_entry", &NumberEntry::NAMES),
        of_type("sms_confirmation", "boolean"),
        of_type("sms_from", "string"),
        json!({"name": "prompts", "type": "prompts", "label": "set_prompts",
               "choices": PromptKey::ALL.map(PromptKey::name),
               "defaults": PromptKey::ALL.map(|k| (k.name().to_owned(), Value::from(k.default_text(language))))
                   .into_iter().collect::<serde_json::Map<_, _>>()}),
        json!({"name": "hours", "type": "list", "label": "set_hours",
               "max_items": 7, "example": "mon-fri=09:00-18:00"}),
        json!({"name": "holidays", "type": "list", "label": "set_holidays",
               "max_items": 400, "example": "2026-12-31=年末"}),
        json!({"name": "dial_to", "type": "list", "label": "set_dial_to",
               "max_items": 10, "example": "+81355550000"}),
        integer("ring_timeout_seconds", 5, 60),
        of_type("dial_caller_id", "phone"),
        of_type("queue_name", "string"),
        json!({"name": "hold_audio_url", "type": "string", "label": "set_hold_audio_url",
               "max_length": 2000}),
        integer("offer_interval_seconds", 5, 300),
        integer("max_wait_seconds", 10, 3600),
        integer("max_queue_size", 1, 1000),
        json!({"name": "default_region", "type": "string", "label": "set_default_region",
               "max_length": 2}),
    ]);
    // Where the page shows each.
    for field in fields.as_array_mut().unwrap() {
        let group = match field["name"].as_str().unwrap() {
            "language"
            | "voice"
            | "max_recording_seconds"
            | "number_entry_attempts"
            | "announce_due"
            | "number_entry"
            | "prompts" => "greeting",
            "time_zone" | "closed_now" | "hours" | "holidays" => "hours",
            "outbound_caller_id"
            | "agent_ring_seconds"
            | "callback_recording"
            | "reached_min_seconds" => "calling_back",
            "routing_mode"
            | "dial_to"
            | "ring_timeout_seconds"
            | "dial_caller_id"
            | "queue_name"
            | "hold_audio_url"
            | "offer_interval_seconds"
            | "max_wait_seconds"
            | "max_queue_size" => "routing",
            _ => "callbacks",
        };
        field["group"] = group.into();
    }
    fields
}

/// The page builds its form from `fields`: exactly these entries, and the
/// first ones spelled out as the page reads them.
async fn settings_offer_each_fields_type_bounds_and_choices(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;
    let read = app.browse(&admin, "GET", "/api/v1/settings", None).await;
    let fields = read.json()["fields"].clone();
    assert_eq!(fields, all_fields(Language::JaJp));
    assert_eq!(
        fields[0],
        json!({"name": "language", "type": "enum", "group": "greeting", "label": "set_language",
               "choices": ["ja-JP", "en-US"]})
    );
    assert_eq!(
        fields[2],
        json!({"name": "max_recording_seconds", "type": "integer", "group": "greeting",
               "label": "set_max_recording_seconds", "minimum": 5, "maximum": 3600})
    );
    assert_eq!(
        fields[13],
        json!({"name": "closed_now", "type": "boolean", "group": "hours", "label": "set_closed_now"})
    );
    // The PATCH answer offers them too.
    let changed = app
        .browse(
            &admin,
            "PATCH",
            "/api/v1/settings",
            Some(json!({"closed_now": true})),
        )
        .await;
    assert_eq!(changed.json()["fields"], all_fields(Language::JaJp));
    assert_eq!(changed.json()["closed_now"], true);
}

/// The list setting: set whole, kept sorted, refused by name, emptied; the
/// next call offers the windows and takes speech.
async fn windows_speech_and_the_due_time_are_set_through_the_api(kind: Kind) {
    let mut settings = TenantSettings::default();
    settings.schedule.set_hours("mon-fri=09:00-18:00").unwrap();
    let app = spawn_on(kind, settings.clone()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;
    let patch = |body: Value| app.browse(&admin, "PATCH", "/api/v1/settings", Some(body));

    let changed = patch(json!({
        "callback_windows": ["2=13:00-17:00", "1=09:00-12:00"],
        "number_entry": "dtmf-speech",
        "announce_due": false,
    }))
    .await;
    assert_eq!(
        changed.status,
        200,
        "{}",
        String::from_utf8_lossy(&changed.bytes)
    );
    let view = changed.json();
    assert_eq!(
        view["callback_windows"],
        json!(["1=09:00-12:00", "2=13:00-17:00"])
    );
    assert_eq!(view["number_entry"], "dtmf-speech");
    assert_eq!(view["announce_due"], false);

    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    assert_eq!(doc.gather().unwrap().attr("input"), Some("dtmf speech"));
    let doc = call.speak(&doc, "はい").await.unwrap().doc().unwrap();
    assert_eq!(
        doc.said(),
        [
            "できるだけ早くをご希望の方は0を、午前9時から12時は1を、午後1時から5時は2を押してください。"
        ]
    );

    let refused = [
        (
            json!({"callback_windows": ["1=17:00-19:00"]}),
            "callback_windows: callback window 1=17:00-19:00 is outside business hours on every day",
        ),
        (
            json!({"callback_windows": ["1=09:00-10:00", "1=13:00-14:00"]}),
            "callback_windows: key 1 is given to two callback windows",
        ),
        (
            json!({"callback_windows": vec!["1=09:00-10:00"; 5]}),
            "callback_windows: at most 4 items, got 5",
        ),
        (
            json!({"callback_windows": ["morning"]}),
            "callback_windows: a callback window must look like 1=09:00-12:00 (a key from 1 to 9), got \"morning\"",
        ),
        (
            json!({"callback_windows": "1=09:00-12:00"}),
            "callback_windows: invalid type: string \"1=09:00-12:00\", expected a sequence",
        ),
        (
            json!({"callback_windows": [1]}),
            "callback_windows: invalid type: number `1`, expected a string",
        ),
        (
            json!({"number_entry": "voice"}),
            "number_entry: unknown variant `voice`, expected `dtmf` or `dtmf-speech`",
        ),
    ];
    for (body, message) in refused {
        let reply = patch(body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        let field = body.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(reply.json(), bad_field(&field, message), "{body}");
    }

    // An empty list turns the choice off.
    let emptied = patch(json!({"callback_windows": []})).await;
    assert_eq!(emptied.json()["callback_windows"], json!([]));
    let stored = app
        .backend
        .store
        .get_tenant(&app.tenant.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.settings.callback_windows.is_empty());
    assert_eq!(stored.settings.number_entry, NumberEntry::DtmfSpeech);
    assert!(!stored.settings.announce_due);
}

crate::on_every_backend!(
    windows_speech_and_the_due_time_are_set_through_the_api,
    settings_offer_each_fields_type_bounds_and_choices,
    admin_makes_lists_and_revokes_keys,
    only_a_signed_in_admin_manages_keys_and_settings,
    a_tenant_never_touches_anothers_keys,
    admin_reads_and_changes_settings_where_they_act,
    bad_settings_are_refused_by_name,
);
