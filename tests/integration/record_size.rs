//! One record stays small: a number that calls again and again (a
//! robocaller, a spoofed caller ID) joins its open record, which keeps its
//! first repeat calls and recordings and counts the rest.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::callback::{MAX_RECORDINGS, MAX_REPEAT_CALLS, RecordingState};
use afureko::domain::tenant::TenantSettings;
use afureko::twilio::sim::tone_wav;

async fn a_number_that_keeps_calling_keeps_one_bounded_record(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (first, _) = app.play_call(CALLER).await;
    // 24 repeat calls, each recording a request; their recording callbacks
    // come once every call has joined, so the calls displaced from the
    // record's last place must still find it by their CallSid.
    let mut calls = Vec::new();
    for _ in 0..24 {
        let sid = app.call_sid();
        let doc = app.ring(&app.call(&sid, CALLER)).await;
        assert!(doc.record().is_some(), "a repeat caller records at once");
        calls.push((sid, doc));
    }
    let mut recordings = Vec::new();
    let mut worked = afureko::calls::recordings::WorkReport::default();
    for (sid, doc) in &calls {
        let rec_sid = app.recording_sid();
        let url = app.twilio.add_recording(&rec_sid, tone_wav(0.5));
        let reply = app
            .call(sid, CALLER)
            .recording_status(doc, "completed", &rec_sid, &url, 1)
            .await
            .unwrap();
        assert_eq!(reply.status, 204, "{sid}: {}", reply.body);
        recordings.push((sid.clone(), doc.clone(), rec_sid, url));
        // One copy at a time: the fixed clock never lets a claim lapse.
        let round = app.copy_round().await;
        worked.stored += round.stored;
        worked.deleted += round.deleted;
    }
    // The first call's recording was copied already; 9 more fit.
    assert_eq!(
        (worked.stored, worked.deleted),
        (MAX_RECORDINGS - 1, 15),
        "{worked:?}"
    );

    let record = app.record(first.call_sid.as_str()).await.unwrap();
    assert_eq!(record.repeat_calls.len(), MAX_REPEAT_CALLS);
    assert_eq!(record.repeat_calls_not_kept, 4);
    assert_eq!(
        record.repeat_calls.last().unwrap().call_sid.as_str(),
        calls.last().unwrap().0,
        "the latest call keeps the last place"
    );
    assert_eq!(record.recordings.len(), MAX_RECORDINGS);
    assert!(
        record
            .recordings
            .iter()
            .all(|r| r.state == RecordingState::Stored)
    );
    assert_eq!(record.recordings_not_kept, 15);
    // Every recording is gone from Twilio: the kept ones once copied, the
    // others because no record keeps them.
    let mut deleted = app.twilio.deleted();
    deleted.sort();
    let mut made: Vec<String> = recordings.iter().map(|r| r.2.clone()).collect();
    made.push(first.recordings[0].sid.to_string());
    made.sort();
    assert_eq!(deleted, made);

    // Twilio retries the last callback: counted once.
    let (sid, doc, rec_sid, url) = recordings.last().unwrap();
    let retried = app
        .call(sid, CALLER)
        .recording_status(doc, "completed", rec_sid, url, 1)
        .await
        .unwrap();
    assert_eq!(retried.status, 204);
    let record = app.record(first.call_sid.as_str()).await.unwrap();
    assert_eq!(record.recordings_not_kept, 15);

    // Agents are told.
    let key = app.api_key().await;
    let view = app
        .api(
            "GET",
            &format!("/api/v1/callbacks/{}", first.id),
            &key,
            None,
        )
        .await
        .json();
    assert_eq!(view["repeat_calls"], 24);
    assert_eq!(view["recordings_not_kept"], 15);
    assert_eq!(view["recordings"].as_array().unwrap().len(), MAX_RECORDINGS);
    let arrivals = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "repeat_call")
        .count();
    assert_eq!(arrivals, MAX_REPEAT_CALLS);

    // Erased, the record takes every call's link with it.
    assert!(
        app.backend
            .store
            .delete_callback(&app.tenant.id, &first.id)
            .await
            .unwrap()
            .is_some()
    );
    for (sid, _) in &calls {
        assert!(app.record(sid).await.is_none(), "{sid}");
    }
}

crate::on_every_backend!(a_number_that_keeps_calling_keeps_one_bounded_record);
