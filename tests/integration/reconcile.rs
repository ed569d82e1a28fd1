//! Requests left while afureko could not answer: the fallback URL's
//! record-only flow leaves only a recording at Twilio. Its callback, or the
//! reconciliation over Twilio's recordings list, makes its record (reason
//! `outage`), exactly one per call, on every backend.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::calls::reconcile::{Bounds, Reconciler};
use afureko::domain::callback::{CallbackRecord, Confirmation, RecordingState};
use afureko::domain::reason::Reason;
use afureko::domain::tenant::TenantSettings;
use afureko::twilio::sim::{FakeCall, FakeRecording, tone_wav};
use jiff::Timestamp;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A call afureko never saw: Twilio knows who called and holds the
/// recording its `<Record>` made at `created`.
fn lost_call(app: &TestApp, from: &str, created: &str) -> (String, String) {
    let (call, recording) = (app.call_sid(), app.recording_sid());
    app.twilio.add_call(FakeCall::inbound(&call, from, COMPANY));
    app.twilio.add_recording(&recording, tone_wav(0.5));
    app.twilio
        .list_recording(FakeRecording::record_verb(&recording, &call, at(created)));
    (call, recording)
}

/// The recording callback of a call afureko never saw, as the fallback's
/// `<Record>` has Twilio send it (no From: Twilio does not send it there).
async fn callback(app: &TestApp, call: &str, recording: &str) -> u16 {
    let url = format!("{PUBLIC_URL}/twilio/{TENANT}/recording");
    let media = format!(
        "{}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording}",
        app.twilio.base_url()
    );
    let params: Vec<(String, String)> = [
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", call),
        ("RecordingSid", recording),
        ("RecordingUrl", media.as_str()),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "5"),
        ("RecordingStartTime", "Thu, 26 Nov 2026 00:55:00 +0000"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let signature = afureko::twilio::signature::sign(
        AUTH_TOKEN,
        &url,
        &params,
        afureko::twilio::signature::Algorithm::Sha1,
    );
    app.call(call, CALLER)
        .post_raw(&url, params, Some(signature))
        .await
        .unwrap()
        .status
}

fn outage_record_of(record: &CallbackRecord, from: &str, received: &str, recording: &str) {
    assert_eq!(record.reason, Reason::Outage);
    assert_eq!(record.confirmation, Confirmation::Unconfirmed);
    assert_eq!(record.callback_number.as_str(), from);
    assert_eq!(record.caller_number.as_ref().unwrap().as_str(), from);
    assert_eq!(record.received_at, at(received));
    assert_eq!(record.recordings.len(), 1);
    assert_eq!(record.recordings[0].sid.as_str(), recording);
}

async fn lost_calls_become_one_record_each(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    // Small pages and runs: the list pages, and a run stops part way.
    let reconciler = Reconciler::new(
        app.backend.store.clone(),
        app.backend.reconciled.clone(),
        app.state.copier.clone(),
        app.clock.clone(),
    )
    .with_bounds(Bounds {
        page_size: 2,
        pages: 10,
        lost_calls: 2,
    });
    // A call afureko answered: its recording is listed too.
    let (known, _) = app.play_call(CALLER).await;
    app.twilio.list_recording(FakeRecording::record_verb(
        known.recordings[0].sid.as_str(),
        known.call_sid.as_str(),
        at("2026-11-25T01:10:00Z"),
    ));
    // A day later (the tenant was made at NOW): calls afureko never saw,
    // over two days (GMT).
    app.clock.set(at("2026-11-26T01:00:00Z"));
    let yesterday = lost_call(&app, "+81311110001", "2026-11-25T23:00:00Z");
    let today = lost_call(&app, "+81311110002", "2026-11-26T00:30:00Z");
    let withheld = lost_call(&app, "anonymous", "2026-11-26T00:40:00Z");
    // The caller of the open record: the lost call joins it.
    let repeat = lost_call(&app, CALLER, "2026-11-26T00:50:00Z");
    let raced = lost_call(&app, "+81311110005", "2026-11-26T00:55:00Z");
    // Not a <Record> recording: not a request.
    let mut dial = FakeRecording::record_verb(
        &app.recording_sid(),
        &app.call_sid(),
        at("2026-11-26T00:20:00Z"),
    );
    dial.source = "DialVerb".into();
    app.twilio.list_recording(dial);

    // The recording callback of one lost call comes first, as Twilio's
    // retry does once afureko is back.
    assert_eq!(callback(&app, &raced.0, &raced.1).await, 204);

    // Twilio's API is down: the run fails, nothing is made or lost.
    app.twilio.set_available(false);
    assert!(reconciler.run(&app.tenant, None).await.is_err());
    app.twilio.set_available(true);
    assert_eq!(app.records().await.len(), 2);

    // Each run keeps at most two lost calls; the next goes on.
    let mut runs = Vec::new();
    loop {
        let done = reconciler.run(&app.tenant, None).await.unwrap();
        runs.push(done.clone());
        if done.complete || runs.len() == 5 {
            break;
        }
    }
    let kept: usize = runs.iter().map(|r| r.kept).sum();
    assert_eq!(kept, 3, "{runs:?}");
    assert!(
        !runs[0].complete && runs.last().unwrap().complete,
        "{runs:?}"
    );
    // The withheld call is looked at again (it has no record) but counted
    // as nothing else.
    assert_eq!(runs[0].withheld, 1, "{runs:?}");
    // The first run asked from the day before the tenant was made (GMT),
    // paging.
    let first = &app.twilio.list_queries()[0];
    assert!(first.contains(&("DateCreated>".to_owned(), "2026-11-24".to_owned())));
    assert!(first.contains(&("PageSize".to_owned(), "2".to_owned())));

    // The callback of a lost call the reconciliation kept: no second record.
    assert_eq!(callback(&app, &today.0, &today.1).await, 204);

    let records = app.records().await;
    assert_eq!(records.len(), 4, "the known call's record and 3 lost calls");
    outage_record_of(
        &app.record(&yesterday.0).await.unwrap(),
        "+81311110001",
        "2026-11-25T23:00:00Z",
        &yesterday.1,
    );
    outage_record_of(
        &app.record(&today.0).await.unwrap(),
        "+81311110002",
        "2026-11-26T00:30:00Z",
        &today.1,
    );
    outage_record_of(
        &app.record(&raced.0).await.unwrap(),
        "+81311110005",
        "2026-11-26T00:55:00Z",
        &raced.1,
    );
    assert!(
        app.record(&withheld.0).await.is_none(),
        "no number to call back"
    );
    let joined = app.record(&repeat.0).await.unwrap();
    assert_eq!(joined.id, known.id);
    assert_eq!(joined.repeat_calls[0].call_sid.as_str(), repeat.0);
    assert_eq!(joined.recordings[1].sid.as_str(), repeat.1);

    // Their recordings are copied as usual; the withheld one stays at Twilio.
    let copied = app.copy_all().await;
    assert_eq!(copied.stored, 4, "{copied:?}");
    for (call, _) in [&yesterday, &today, &raced, &repeat] {
        let record = app.record(call).await.unwrap();
        assert!(
            record
                .recordings
                .iter()
                .all(|r| r.state == RecordingState::Stored)
        );
    }
    assert!(!app.twilio.deleted().contains(&withheld.1));

    // Done: the progress moved on, and a run again finds nothing new.
    assert_eq!(
        app.backend
            .reconciled
            .reconciled_at(&app.tenant.id)
            .await
            .unwrap(),
        Some(at("2026-11-26T01:00:00Z"))
    );
    let again = reconciler.run(&app.tenant, None).await.unwrap();
    assert!(again.complete);
    // Within the grace hour the withheld call is looked at once more.
    assert_eq!((again.kept, again.withheld), (0, 1));
    assert_eq!(app.records().await.len(), 4);
    assert!(
        app.backend
            .reconciled
            .reconciled_tenants()
            .await
            .unwrap()
            .contains(&app.tenant.id),
        "the sweeper reconciles it"
    );
}

/// Without Twilio's answer to who called, the callback of a call afureko
/// never saw fails (Twilio retries it); the retry makes the record.
async fn a_lost_calls_callback_is_retried_until_twilio_says_who_called(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    app.clock.set(at("2026-11-26T01:00:00Z"));
    // Twilio's callback says the recording began at 00:55.
    let (call, recording) = lost_call(&app, "+81311110007", "2026-11-26T00:55:00Z");
    app.twilio.set_available(false);
    assert_eq!(callback(&app, &call, &recording).await, 500);
    assert!(app.records().await.is_empty());
    app.twilio.set_available(true);
    assert_eq!(callback(&app, &call, &recording).await, 204);
    assert_eq!(callback(&app, &call, &recording).await, 204);
    let records = app.records().await;
    assert_eq!(records.len(), 1);
    outage_record_of(
        &records[0],
        "+81311110007",
        "2026-11-26T00:55:00Z",
        &recording,
    );
    assert_eq!(records[0].recordings[0].state, RecordingState::PendingCopy);
}

crate::on_every_backend!(
    lost_calls_become_one_record_each,
    a_lost_calls_callback_is_retried_until_twilio_says_who_called,
);
