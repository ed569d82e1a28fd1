//! A record's history as the API answers it: every arrival, claim,
//! release, attempt, note and the completion, oldest first.

use crate::backends::Kind;
use crate::helpers::{NOW, spawn_on};
use afureko::domain::tenant::TenantSettings;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

const CALLER: &str = "+81312345678";

async fn the_history_keeps_arrivals_claims_attempts_notes_and_completion(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let at = |minutes: i64| {
        NOW.parse::<Timestamp>()
            .unwrap()
            .checked_add(SignedDuration::from_mins(minutes))
            .unwrap()
    };
    let (first, _) = app.play_call(CALLER).await;
    app.clock.set(at(5));
    let joined = app.play_repeat_call(CALLER).await;
    assert_eq!(
        joined.id, first.id,
        "the second call joined the first record"
    );
    assert_eq!(joined.recordings.len(), 2);
    let repeat = joined.repeat_calls[0].call_sid.to_string();
    let id = first.id.as_str();
    let key = app.api_key().await;
    app.clock.set(at(10));
    assert_eq!(app.claim(&key, id, "ann").await.status, 200);
    app.clock.set(at(12));
    assert_eq!(app.release(&key, id, "ann").await.status, 200);
    app.clock.set(at(15));
    assert_eq!(app.claim(&key, id, "bob").await.status, 200);
    app.clock.set(at(20));
    let attempt = json!({"agent": "bob", "outcome": "no_answer", "note": "no voicemail"});
    assert_eq!(app.attempt(&key, id, attempt).await.status, 200);
    app.clock.set(at(25));
    let note = json!({"agent": "ann", "text": "prefers mornings"});
    let path = format!("/api/v1/callbacks/{id}/notes");
    assert_eq!(app.api("POST", &path, &key, Some(note)).await.status, 200);
    app.clock.set(at(30));
    let done = json!({"agent": "bob", "note": "answered by e-mail"});
    let completed = app.complete(&key, id, done).await;
    assert_eq!(completed.status, 200);
    let expected = json!([
        {"at": "2026-11-25T01:00:00Z", "kind": "arrived", "call_sid": first.call_sid.as_str()},
        {"at": "2026-11-25T01:05:00Z", "kind": "repeat_call", "call_sid": repeat},
        {"at": "2026-11-25T01:10:00Z", "kind": "claimed", "agent": "ann"},
        {"at": "2026-11-25T01:12:00Z", "kind": "released", "agent": "ann"},
        {"at": "2026-11-25T01:15:00Z", "kind": "claimed", "agent": "bob"},
        {"at": "2026-11-25T01:20:00Z", "kind": "attempt", "agent": "bob",
         "outcome": "no_answer", "text": "no voicemail", "attempt": 1},
        {"at": "2026-11-25T01:25:00Z", "kind": "note", "agent": "ann", "text": "prefers mornings"},
        {"at": "2026-11-25T01:30:00Z", "kind": "completed", "agent": "bob",
         "text": "answered by e-mail"},
    ]);
    assert_eq!(completed.json()["history"], expected);
    assert_eq!(completed.json()["repeat_calls"], 1);
    // The same history reads back from the store.
    let read = app
        .api("GET", &format!("/api/v1/callbacks/{id}"), &key, None)
        .await;
    assert_eq!(read.json()["history"], expected);
}

crate::on_every_backend!(the_history_keeps_arrivals_claims_attempts_notes_and_completion);
