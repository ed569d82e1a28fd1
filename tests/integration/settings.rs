//! A tenant with odd settings: each value shows up where it acts, so a
//! hard-coded default (240/30/60/120/3/3) fails.

use crate::backends::Kind;
use crate::helpers::*;
use crate::sessions::Browser;
use afureko::domain::agent::Role;
use afureko::domain::audit::AuditAction;
use afureko::domain::prompts::{Language, PromptKey};
use afureko::domain::tenant::TenantSettings;
use serde_json::json;

fn odd() -> TenantSettings {
    TenantSettings {
        callback_sla_minutes: 17,
        claim_timeout_minutes: 7,
        retry_delay_minutes: 11,
        max_recording_seconds: 45,
        number_entry_attempts: 2,
        max_callback_attempts: 4,
        ..TenantSettings::for_language(Language::EnUs)
    }
}

fn at(time: &str) -> jiff::Timestamp {
    format!("2026-11-25T{time}Z").parse().unwrap()
}

async fn odd_settings_act_where_they_should(kind: Kind) {
    let app = spawn_on(kind, odd()).await;
    let key = app.api_key().await;

    // SLA 17 minutes: due 17 minutes after the call; max recording 45 s.
    let (sid, record_doc) = app.call_to_recording().await;
    assert_eq!(record_doc.record().unwrap().attr("maxLength"), Some("45"));
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.due_at, at("01:17:00"));
    let id = record.id.to_string();

    // Entry attempts 2: the question is asked twice, then goodbye.
    let other = app.call_sid();
    let call = app.call(&other, "+819011112222");
    let mut doc = app.ring(&call).await;
    let offer = PromptKey::OfferCallerId
        .default_text(Language::EnUs)
        .replace("{number}", "0 9 0, 1 1 1 1, 2 2 2 2");
    let mut asked = 0;
    while doc.gather().is_some() {
        assert_eq!(doc.said().last(), Some(&offer));
        asked += 1;
        assert!(asked <= 2, "asked a third time");
        doc = call.silence(&doc).await.unwrap().doc().unwrap();
    }
    assert_eq!(asked, 2);
    assert_eq!(
        doc.said(),
        [PromptKey::GoodbyeCallerId.default_text(Language::EnUs)]
    );

    // Claim timeout 7 minutes: ann's claim holds for 6:59 and lapses at 7:00.
    assert_eq!(app.claim(&key, &id, "ann").await.status, 200);
    app.clock.set(at("01:06:59"));
    assert_eq!(app.claim(&key, &id, "bob").await.status, 409);
    app.clock.set(at("01:07:00"));
    assert_eq!(app.claim(&key, &id, "bob").await.status, 200);

    // Retry delay 11 minutes; max attempts 4: the 4th unreached fails it.
    for (n, time, due) in [
        (1, "01:07:00", "2026-11-25T01:18:00Z"),
        (2, "01:20:00", "2026-11-25T01:31:00Z"),
        (3, "01:40:00", "2026-11-25T01:51:00Z"),
    ] {
        app.clock.set(at(time));
        assert_eq!(app.claim(&key, &id, "bob").await.status, 200);
        let reply = app
            .attempt(&key, &id, json!({"agent": "bob", "outcome": "no_answer"}))
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["status"], "pending", "after attempt {n}");
        assert_eq!(reply.json()["due_at"], due, "after attempt {n}");
    }
    app.clock.set(at("02:00:00"));
    let fourth = app
        .attempt(&key, &id, json!({"agent": "bob", "outcome": "busy"}))
        .await;
    assert_eq!(fourth.status, 200);
    assert_eq!(fourth.json()["status"], "failed");
    assert_eq!(fourth.json()["attempts"].as_array().unwrap().len(), 4);
    let stored = app
        .api("GET", &format!("/api/v1/callbacks/{id}"), &key, None)
        .await;
    assert_eq!(stored.json()["status"], "failed");
}

/// The tenant's settings as stored.
async fn stored(app: &TestApp) -> TenantSettings {
    let tenant = app.backend.store.get_tenant(&app.tenant.id).await;
    tenant.unwrap().expect("the tenant").settings
}

async fn audit(app: &TestApp) -> Vec<afureko::domain::audit::AuditEntry> {
    app.backend
        .audit
        .list_audit(&app.tenant.id, 10)
        .await
        .unwrap()
}

/// Every setting the CLI has, through `PATCH /api/v1/settings`: kept in
/// its domain form, read back by `GET`, audited once.
async fn every_setting_round_trips_through_the_api(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;
    // Kept as sent.
    let same = json!({
        "ring_timeout_seconds": 25,
        "dial_caller_id": "+81355550001",
        "queue_name": "front",
        "hold_audio_url": "https://example.com/hold.mp3",
        "offer_interval_seconds": 45,
        "max_wait_seconds": 600,
        "max_queue_size": 5,
    });
    let with_same = |mut view: serde_json::Value| {
        for (name, value) in same.as_object().unwrap() {
            view[name] = value.clone();
        }
        view
    };
    let change = with_same(json!({
        "prompts": {"greeting": "いつもありがとうございます。", "thanks": "{due}お電話します。"},
        "hours": ["mon-fri=13:00-18:00,09:00-12:00", "sat=10:00-14:00"],
        "holidays": ["2026-12-31=年末", "2026-12-30"],
        "dial_to": ["+81 3 5555 0000", "sip:desk@pbx.example.com"],
        "default_region": "us",
    }));
    let changed = app
        .browse(&admin, "PATCH", "/api/v1/settings", Some(change))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.json());
    let weekday = "09:00-12:00,13:00-18:00";
    let mut prompts = serde_json::Map::new();
    for key in PromptKey::ALL {
        prompts.insert(key.name().into(), serde_json::Value::Null);
    }
    prompts.insert("greeting".into(), "いつもありがとうございます。".into());
    prompts.insert("thanks".into(), "{due}お電話します。".into());
    let expected = with_same(json!({
        "prompts": prompts,
        "hours": [
            format!("mon={weekday}"), format!("tue={weekday}"), format!("wed={weekday}"),
            format!("thu={weekday}"), format!("fri={weekday}"), "sat=10:00-14:00", "sun=closed",
        ],
        "holidays": ["2026-12-30", "2026-12-31=年末"],
        "dial_to": ["+81355550000", "sip:desk@pbx.example.com"],
        "default_region": "US",
    }));
    let read = app.browse(&admin, "GET", "/api/v1/settings", None).await;
    for view in [changed.json(), read.json()] {
        for (name, value) in expected.as_object().unwrap() {
            assert_eq!(&view[name], value, "{name}");
        }
    }
    let kept = stored(&app).await;
    assert_eq!(kept.prompts.len(), 2);
    assert_eq!(kept.schedule.holidays.len(), 2);
    assert_eq!(kept.routing.queue.max_queue_size, 5);
    assert_eq!(kept.default_region.to_string(), "US");

    // Null puts a prompt back to the language's own; empty lists and texts
    // are none: open around the clock, no holidays, nobody to dial.
    let reset = app
        .browse(
            &admin,
            "PATCH",
            "/api/v1/settings",
            Some(
                json!({"prompts": {"greeting": null}, "hours": [], "holidays": [],
                        "dial_to": [], "dial_caller_id": "", "hold_audio_url": ""}),
            ),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.json());
    let view = reset.json();
    assert_eq!(view["prompts"]["greeting"], serde_json::Value::Null);
    assert_eq!(view["prompts"]["thanks"], "{due}お電話します。");
    for (name, none) in [
        ("hours", json!([])),
        ("holidays", json!([])),
        ("dial_to", json!([])),
        ("dial_caller_id", json!("")),
        ("hold_audio_url", json!("")),
    ] {
        assert_eq!(view[name], none, "{name}");
    }
    let kept = stored(&app).await;
    assert_eq!(kept.schedule.weekly, None);
    assert_eq!(kept.routing.queue.hold_audio_url, None);
    let entries = audit(&app).await;
    assert_eq!(entries.len(), 2);
    assert!(
        entries
            .iter()
            .all(|a| a.action == AuditAction::SettingsChanged)
    );
    // The first change named twelve settings, the second six.
    let mut counts: Vec<u64> = entries.iter().map(|a| a.counts["settings"]).collect();
    counts.sort();
    assert_eq!(counts, [6, 12]);
}

/// A bad value of any of them: 400 naming it, nothing changed.
async fn a_bad_value_of_any_setting_is_refused_by_name(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;
    let cases = [
        (json!({"prompts": {"hello": "Hi"}}), "prompts"),
        (
            json!({"prompts": {"confirm_number": "No number"}}),
            "prompts",
        ),
        (json!({"prompts": {"greeting": ""}}), "prompts"),
        (json!({"prompts": {"greeting": 5}}), "prompts"),
        (json!({"prompts": "hello"}), "prompts"),
        (json!({"hours": ["someday=09:00-18:00"]}), "hours"),
        (json!({"hours": ["mon=18:00-09:00"]}), "hours"),
        (json!({"holidays": ["new year"]}), "holidays"),
        (json!({"dial_to": ["0355550000"]}), "dial_to"),
        (json!({"ring_timeout_seconds": 61}), "ring_timeout_seconds"),
        (json!({"dial_caller_id": "055"}), "dial_caller_id"),
        (json!({"queue_name": " "}), "queue_name"),
        (json!({"hold_audio_url": "ftp://x"}), "hold_audio_url"),
        (
            json!({"offer_interval_seconds": 4}),
            "offer_interval_seconds",
        ),
        (json!({"max_wait_seconds": 3601}), "max_wait_seconds"),
        (json!({"max_queue_size": 0}), "max_queue_size"),
        (json!({"default_region": "XX"}), "default_region"),
    ];
    for (body, field) in cases {
        let reply = app
            .browse(&admin, "PATCH", "/api/v1/settings", Some(body.clone()))
            .await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.error_code(), "bad_request", "{body}");
        assert_eq!(reply.json()["error"]["field"], field, "{body}");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.starts_with(field), "{body}: {message}");
    }
    let kept = stored(&app).await;
    assert_eq!(kept, TenantSettings::default());
    assert!(audit(&app).await.is_empty());
}

/// The settings page's "first TwiML the next call will get".
async fn next_call(app: &TestApp, admin: &Browser) -> serde_json::Value {
    let next = app
        .browse(admin, "GET", "/api/v1/settings/next-call", None)
        .await;
    assert_eq!(next.status, 200, "{}", next.json());
    next.json()
}

/// An admin changes the after-hours greeting and makes today a holiday;
/// the page's preview shows the first TwiML of the next call, and the next
/// call hears the new greeting.
async fn a_change_from_the_page_is_in_force_for_the_next_call(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let admin = app.browser("ada").await;
    // NOW is Wed 2026-11-25 10:00 in Tokyo: open around the clock.
    let before = next_call(&app, &admin).await;
    assert_eq!(before["at"], "2026-11-25T01:00:00Z");
    assert_eq!(before["caller"], "+819012345678");
    assert_eq!(before["reason"], "overflow");
    let twiml = before["twiml"].as_str().unwrap();
    assert!(
        twiml.contains("ただいま電話が大変混み合っております"),
        "{twiml}"
    );
    let changed = app
        .browse(
            &admin,
            "PATCH",
            "/api/v1/settings",
            Some(json!({
                "prompts": {"after_hours_greeting": "本日は休業日です。ご用件をお伺いします。"},
                "holidays": ["2026-11-25=創立記念日"],
            })),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.json());
    let call = app.call(&app.call_sid(), CALLER);
    let reply = call.incoming(&app.voice_url()).await.unwrap();
    // The after-hours offer, stamped with the call's time (NOW).
    let after_hours = "https://calls.example.com/twilio/acme/ivr/offer/after-hours/1795568400/1";
    let say = r#"<Say voice="Polly.Mizuki" language="ja-JP">"#;
    assert_eq!(
        reply.body,
        format!(
            r##"<?xml version="1.0" encoding="UTF-8"?><Response>{say}本日は休業日です。ご用件をお伺いします。</Say><Gather input="dtmf" action="{after_hours}" method="POST" timeout="6" numDigits="1" finishOnKey="#"><Say voice="Polly.Mizuki" language="ja-JP">おかけの電話番号、ゼロサン、イチニーサンヨン、ゴーロクナナハチ に折り返してよろしければ 1 を、別の番号をご希望の場合は 2 を押してください。</Say></Gather><Redirect method="POST">{after_hours}</Redirect></Response>"##
        )
    );
    // The preview is exactly what a new caller gets (its own sample number).
    let after = next_call(&app, &admin).await;
    assert_eq!(after["reason"], "after-hours");
    let sample = app.call(&app.call_sid(), "+819012345678");
    let heard = sample.incoming(&app.voice_url()).await.unwrap();
    assert_eq!(after["twiml"], heard.body.as_str());
    assert!(heard.body.contains("本日は休業日です。"), "{}", heard.body);
    assert!(
        heard
            .body
            .contains("ゼロキューゼロ、イチニーサンヨン、ゴーロクナナハチ"),
        "{}",
        heard.body
    );
}

crate::on_every_backend!(
    odd_settings_act_where_they_should,
    every_setting_round_trips_through_the_api,
    a_bad_value_of_any_setting_is_refused_by_name,
    a_change_from_the_page_is_in_force_for_the_next_call
);
