//! The recording callback: URL kept at once, audio copied, failures swept.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::calls::recordings::SweepReport;
use afureko::domain::callback::{RecordingState, TwilioCopy};
use afureko::domain::ids::RecordingSid;
use afureko::domain::tenant::RecordingFormat;
use afureko::domain::tenant::TenantSettings;
use afureko::store::modify_callback;
use afureko::twilio::sim::{mp3_of, tone_wav};

async fn a_failed_download_is_kept_retryable_and_the_sweeper_finishes_it(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let audio = tone_wav(1.5);
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());

    app.twilio.set_available(false);
    let reply = app
        .call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(reply.status, 204, "Twilio still gets a 2xx");
    let record = app.record(&sid).await.unwrap();
    let recording = &record.recordings[0];
    assert_eq!(recording.state, RecordingState::PendingCopy);
    assert_eq!(recording.twilio_url.as_deref(), Some(rec_url.as_str()));
    assert_eq!(recording.copy_attempts, 1);
    assert_eq!(
        recording.last_error.as_deref(),
        Some("Twilio answered 503 for the recording download")
    );
    assert!(
        app.twilio.deleted().is_empty(),
        "Twilio's copy is the only one"
    );

    app.twilio.set_available(true);
    let report = app.state.copier.sweep(100).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            stored: 1,
            ..SweepReport::default()
        }
    );
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::Stored);
    let key = record.recordings[0].storage_key.clone().unwrap();
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
    assert_eq!(app.twilio.deleted(), [rec_sid]);

    // Nothing left: a second sweep does nothing.
    let report = app.state.copier.sweep(100).await.unwrap();
    assert_eq!(report, SweepReport::default());
    assert_eq!(app.twilio.downloads(), 1);
}

async fn copies_that_keep_failing_end_in_copy_failed(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    app.twilio.set_available(false);
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    // README: "up to 5 tries": the webhook's, then four sweeps.
    for _ in 2..5 {
        let report = app.state.copier.sweep(100).await.unwrap();
        assert_eq!(
            report,
            SweepReport {
                failed: 1,
                ..SweepReport::default()
            }
        );
    }
    let report = app.state.copier.sweep(100).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            gave_up: 1,
            ..SweepReport::default()
        }
    );
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::CopyFailed);
    assert_eq!(record.recordings[0].copy_attempts, 5);
    assert_eq!(
        record.recordings[0].twilio_url.as_deref(),
        Some(rec_url.as_str())
    );
    assert_eq!(
        app.state.copier.sweep(100).await.unwrap(),
        SweepReport::default()
    );
}

async fn recording_urls_outside_the_twilio_api_base_are_refused(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let own = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    for url in [
        "http://169.254.169.254/latest/meta-data/iam".to_owned(),
        format!("{}.evil.test/x", app.twilio.base_url()),
        // Another account's recording, and dot segments leaving the path.
        own.replace(ACCOUNT_SID, "ACffffffffffffffffffffffffffffffff"),
        own.replace("/2010-04-01/", "/2010-04-01/%2e%2e/%2e%2e/outside/"),
    ] {
        let reply = app
            .call(&sid, CALLER)
            .recording_status(&doc, "completed", &rec_sid, &url, 1)
            .await
            .unwrap();
        assert_eq!(reply.status, 400, "{url}");
        assert!(
            reply.body.contains("RecordingUrl refused"),
            "{}",
            reply.body
        );
    }
    assert!(app.record(&sid).await.unwrap().recordings.is_empty());
    assert_eq!(app.twilio.downloads(), 0);
}

async fn absent_recordings_are_marked_and_nothing_is_fetched(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let reply = app
        .call(&sid, CALLER)
        .recording_status(&doc, "absent", &rec_sid, "", 0)
        .await
        .unwrap();
    assert_eq!(reply.status, 204);
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings.len(), 1);
    assert_eq!(record.recordings[0].state, RecordingState::Absent);
    assert_eq!(app.twilio.downloads(), 0);
}

async fn twilios_copy_is_kept_when_the_tenant_says_so(kind: Kind) {
    let app = spawn_on(
        kind,
        TenantSettings {
            delete_twilio_recording: false,
            ..TenantSettings::default()
        },
    )
    .await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(
        app.record(&sid).await.unwrap().recordings[0].state,
        RecordingState::Stored
    );
    assert!(app.twilio.deleted().is_empty());
}

async fn the_media_fetch_uses_the_tenants_credentials(kind: Kind) {
    // A tenant whose stored token differs from what the media server takes:
    // the fetch is refused (401) and the recording stays retryable.
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    let mut tenant = app.tenant.clone();
    let other = "ACffffffffffffffffffffffffffffffff";
    tenant.twilio.account_sid = afureko::domain::ids::AccountSid::parse(other).unwrap();
    // Twilio names the tenant's own account in the URL.
    let rec_url = rec_url.replace(ACCOUNT_SID, other);
    app.backend.store.update_tenant(&tenant).await.unwrap();
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::PendingCopy);
    assert_eq!(
        record.recordings[0].last_error.as_deref(),
        Some("Twilio answered 401 for the recording download")
    );
}

async fn recordings_longer_than_the_tenant_allows_are_refused(kind: Kind) {
    let settings = TenantSettings {
        max_recording_seconds: 5,
        ..TenantSettings::default()
    };
    assert_eq!(settings.max_recording_bytes(), 165_536);
    let app = spawn_on(kind, settings).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    // 20 s of 8 kHz 16-bit audio: 320 kB, past the 5 s limit.
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(20.0));
    let reply = app
        .call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 20)
        .await
        .unwrap();
    assert_eq!(reply.status, 204);
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::PendingCopy);
    assert_eq!(
        record.recordings[0].last_error.as_deref(),
        Some("the recording is larger than 165536 bytes")
    );
    assert!(app.twilio.deleted().is_empty());
}

async fn a_tenant_that_chooses_mp3_gets_mp3_stored_and_served(kind: Kind) {
    let settings = TenantSettings {
        recording_format: RecordingFormat::Mp3,
        ..TenantSettings::default()
    };
    let app = spawn_on(kind, settings).await;
    let key = app.api_key().await;
    let (record, wav) = app.play_call(CALLER).await;
    let recording = &record.recordings[0];
    assert_eq!(recording.state, RecordingState::Stored);
    let stored = recording.storage_key.clone().unwrap();
    assert_eq!(
        stored,
        format!(
            "recordings/{TENANT}/{}/{}.mp3",
            record.call_sid, recording.sid
        )
    );
    let mp3 = mp3_of(&wav);
    assert_eq!(mp3.len(), 14 * 288, "1 s at 32 kbit/s, in whole frames");
    assert_eq!(
        app.backend.audio.get(&stored).await.unwrap(),
        Some(mp3.clone())
    );
    let fetched = app.fetch_recording(&key, record.id.as_str(), None).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.headers["content-type"], "audio/mpeg");
    assert_eq!(fetched.bytes, mp3);
    let part = app
        .fetch_recording(&key, record.id.as_str(), Some("bytes=0-3"))
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.headers["content-type"], "audio/mpeg");
    assert_eq!(part.bytes, [0xFF, 0xE3, 0x48, 0xC0]);
    assert_eq!(app.twilio.deleted(), [recording.sid.to_string()]);
}

async fn an_mp3_is_refused_past_a_quarter_of_the_wavs_limit(kind: Kind) {
    let settings = TenantSettings {
        max_recording_seconds: 5,
        recording_format: RecordingFormat::Mp3,
        ..TenantSettings::default()
    };
    // 5 s at 32 kbit/s, a quarter more, 64 KiB.
    assert_eq!(settings.max_recording_bytes(), 90_536);
    let app = spawn_on(kind, settings).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    // 40 s: 556 frames of 288 bytes, past the limit.
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(40.0));
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 40)
        .await
        .unwrap();
    let record = app.record(&sid).await.unwrap();
    assert_eq!(
        record.recordings[0].last_error.as_deref(),
        Some("the recording is larger than 90536 bytes")
    );
}

async fn a_crashed_copiers_claim_lapses_and_the_sweeper_retries(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    app.twilio.set_available(false);
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    app.twilio.set_available(true);
    // A copier takes the recording, then dies before it writes anything.
    let record = app.record(&sid).await.unwrap();
    let taken_at: jiff::Timestamp = NOW.parse().unwrap();
    let recording = RecordingSid::parse(&rec_sid).unwrap();
    modify_callback(
        app.backend.store.as_ref(),
        &app.tenant.id,
        &record.id,
        |r| r.begin_copy(&recording, taken_at),
    )
    .await
    .unwrap();
    let held = app.state.copier.sweep(100).await.unwrap();
    assert_eq!(
        held,
        SweepReport {
            skipped: 1,
            ..SweepReport::default()
        }
    );
    assert_eq!(app.twilio.downloads(), 0);
    app.clock
        .set(taken_at + afureko::domain::callback::COPY_LEASE);
    let lapsed = app.state.copier.sweep(100).await.unwrap();
    assert_eq!(
        lapsed,
        SweepReport {
            stored: 1,
            ..SweepReport::default()
        }
    );
    assert_eq!(app.twilio.downloads(), 1);
    assert_eq!(
        app.record(&sid).await.unwrap().recordings[0].state,
        RecordingState::Stored
    );
}

async fn a_failed_delete_of_twilios_copy_is_retried_by_the_sweeper(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    app.twilio.refuse_deletes(true);
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    let recording = &app.record(&sid).await.unwrap().recordings[0];
    assert_eq!(recording.state, RecordingState::Stored);
    assert_eq!(
        recording.twilio_copy,
        Some(TwilioCopy::DeletePending { attempts: 1 })
    );
    assert_eq!(
        recording.last_error.as_deref(),
        Some("Twilio answered 500 for the recording delete")
    );
    assert!(app.twilio.deleted().is_empty());

    app.twilio.refuse_deletes(false);
    let swept = app.state.copier.sweep(100).await.unwrap();
    assert_eq!(
        swept,
        SweepReport {
            deleted: 1,
            ..SweepReport::default()
        }
    );
    assert_eq!(app.twilio.deleted(), [rec_sid]);
    assert_eq!(app.twilio.downloads(), 1, "ours was not fetched again");
    let recording = &app.record(&sid).await.unwrap().recordings[0];
    assert_eq!(recording.twilio_copy, Some(TwilioCopy::Deleted));
    assert_eq!(recording.last_error, None);
    assert_eq!(
        app.state.copier.sweep(100).await.unwrap(),
        SweepReport::default(),
        "nothing is left for the sweeper"
    );
}

crate::on_every_backend!(
    a_tenant_that_chooses_mp3_gets_mp3_stored_and_served,
    an_mp3_is_refused_past_a_quarter_of_the_wavs_limit,
    a_failed_delete_of_twilios_copy_is_retried_by_the_sweeper,
    recordings_longer_than_the_tenant_allows_are_refused,
    a_crashed_copiers_claim_lapses_and_the_sweeper_retries,
    a_failed_download_is_kept_retryable_and_the_sweeper_finishes_it,
    copies_that_keep_failing_end_in_copy_failed,
    recording_urls_outside_the_twilio_api_base_are_refused,
    absent_recordings_are_marked_and_nothing_is_fetched,
    twilios_copy_is_kept_when_the_tenant_says_so,
    the_media_fetch_uses_the_tenants_credentials,
);
