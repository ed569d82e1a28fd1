//! A tenant with odd settings: each value shows up where it acts, so a
//! hard-coded default (240/30/60/120/3/3) fails.

use crate::backends::Kind;
use crate::helpers::*;
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

crate::on_every_backend!(odd_settings_act_where_they_should);
