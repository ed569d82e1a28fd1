//! The recording callback: URL kept and the copy queued at once; the
//! copier copies, retries, and gives up; the sweeper re-drives dead jobs.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::calls::recordings::WorkReport;
use afureko::clock::Clock;
use afureko::domain::callback::{COPY_LEASE, RecordingState, TwilioCopy};
use afureko::domain::ids::RecordingSid;
use afureko::domain::tenant::RecordingFormat;
use afureko::domain::tenant::TenantSettings;
use afureko::store::copy_queue::{CopyJob, CopyQueue, Delivery, Depth, MAX_RECEIVES, Redriven};
use afureko::store::{StoreError, modify_callback};
use afureko::twilio::sim::{mp3_of, tone_wav};

fn report(f: impl FnOnce(&mut WorkReport)) -> WorkReport {
    let mut r = WorkReport::default();
    f(&mut r);
    r
}

async fn depth(app: &TestApp) -> Depth {
    app.backend.queue.depth(app.clock.now()).await.unwrap()
}

/// The callback answers once the URL is kept and the job queued: no media
/// request is made on its path, and the copier does the copy afterwards.
async fn a_recording_callback_answers_before_the_copy_starts(kind: Kind) {
    let app = spawn_on(kind, wav_settings()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let audio = tone_wav(1.5);
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());
    let reply = app
        .call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(reply.body, "");
    assert_eq!(
        app.twilio.downloads(),
        0,
        "the webhook never waits on media"
    );
    let recording = &app.record(&sid).await.unwrap().recordings[0];
    assert_eq!(recording.state, RecordingState::PendingCopy);
    assert_eq!(recording.twilio_url.as_deref(), Some(rec_url.as_str()));
    assert_eq!(recording.copy_attempts, 0);
    assert_eq!(recording.copying_until, None);
    assert_eq!(
        depth(&app).await,
        Depth {
            waiting: 1,
            in_flight: 0,
            dead: 0
        }
    );

    assert_eq!(app.copy_round().await, report(|r| r.stored = 1));
    let recording = &app.record(&sid).await.unwrap().recordings[0];
    assert_eq!(recording.state, RecordingState::Stored);
    let key = recording.storage_key.clone().unwrap();
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
    assert_eq!(app.twilio.deleted(), [rec_sid]);
    assert_eq!(depth(&app).await, Depth::default(), "the job is acked");
}

async fn a_failed_download_is_kept_retryable_and_the_copier_finishes_it(kind: Kind) {
    let app = spawn_on(kind, wav_settings()).await;
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
    assert_eq!(reply.status, 204);
    assert_eq!(app.copy_round().await, report(|r| r.copy_failed = 1));
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
    assert_eq!(app.copy_round().await, report(|r| r.stored = 1));
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::Stored);
    let key = record.recordings[0].storage_key.clone().unwrap();
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
    assert_eq!(app.twilio.deleted(), [rec_sid]);

    // Nothing left: another round does nothing.
    assert_eq!(app.copy_round().await, WorkReport::default());
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
    // docs/operations.md: "up to 12 tries".
    for _ in 1..12 {
        assert_eq!(app.copy_round().await, report(|r| r.copy_failed = 1));
    }
    assert_eq!(app.copy_round().await, report(|r| r.gave_up = 1));
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::CopyFailed);
    assert_eq!(record.recordings[0].copy_attempts, 12);
    assert_eq!(
        record.recordings[0].twilio_url.as_deref(),
        Some(rec_url.as_str())
    );
    assert_eq!(app.copy_round().await, WorkReport::default());
    assert_eq!(depth(&app).await, Depth::default(), "given up is done");
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
    assert_eq!(
        app.copy_round().await,
        WorkReport::default(),
        "nothing queued"
    );
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
    assert_eq!(
        app.copy_round().await,
        WorkReport::default(),
        "nothing queued"
    );
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
    assert_eq!(app.copy_round().await, report(|r| r.stored = 1));
    let recording = &app.record(&sid).await.unwrap().recordings[0];
    assert_eq!(recording.state, RecordingState::Stored);
    assert_eq!(recording.twilio_copy, Some(TwilioCopy::Kept));
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
    assert_eq!(app.copy_round().await, report(|r| r.copy_failed = 1));
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings[0].state, RecordingState::PendingCopy);
    assert_eq!(
        record.recordings[0].last_error.as_deref(),
        Some(
            "Twilio answered 401 for the recording download: error 20003: Authenticate (https://www.twilio.com/docs/errors/20003)"
        )
    );
}

async fn recordings_longer_than_the_tenant_allows_are_refused(kind: Kind) {
    let settings = TenantSettings {
        max_recording_seconds: 5,
        ..wav_settings()
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
    assert_eq!(app.copy_round().await, report(|r| r.copy_failed = 1));
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
    app.copy_round().await;
    let record = app.record(&sid).await.unwrap();
    assert_eq!(
        record.recordings[0].last_error.as_deref(),
        Some("the recording is larger than 90536 bytes")
    );
}

/// A copier that took the recording and died: the job finds it held and
/// comes back, and is copied once the dead copier's claim lapses.
async fn a_crashed_copiers_claim_lapses_and_the_job_is_copied_then(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, rec_sid) = recording_held_by_a_dead_copier(&app).await;
    assert_eq!(app.copy_round().await, report(|r| r.held = 1));
    assert_eq!(app.twilio.downloads(), 0);
    app.clock
        .set(NOW.parse::<jiff::Timestamp>().unwrap() + COPY_LEASE);
    assert_eq!(app.copy_round().await, report(|r| r.stored = 1));
    assert_eq!(app.twilio.downloads(), 1);
    assert_eq!(
        app.record(&sid).await.unwrap().recordings[0].state,
        RecordingState::Stored
    );
    assert_eq!(app.twilio.deleted(), [rec_sid]);
}

/// Plays a recording callback, then a copier claims the recording at NOW
/// and dies; returns the CallSid and RecordingSid.
async fn recording_held_by_a_dead_copier(app: &TestApp) -> (String, String) {
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
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
    (sid, rec_sid)
}

/// A job that cannot be worked goes to the dead-letter queue after the
/// configured receives; the sweeper moves it back and it is copied then.
async fn a_poison_job_is_dead_lettered_and_the_sweeper_redrives_it(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, rec_sid) = recording_held_by_a_dead_copier(&app).await;
    for _ in 0..MAX_RECEIVES {
        assert_eq!(app.copy_round().await, report(|r| r.held = 1));
    }
    assert_eq!(app.copy_round().await, WorkReport::default(), "dead");
    assert_eq!(
        depth(&app).await,
        Depth {
            waiting: 0,
            in_flight: 0,
            dead: 1
        }
    );
    assert_eq!(
        app.record(&sid).await.unwrap().recordings[0].state,
        RecordingState::PendingCopy
    );

    app.clock
        .set(NOW.parse::<jiff::Timestamp>().unwrap() + COPY_LEASE);
    let swept = app.state.copier.sweep(100).await.unwrap();
    assert_eq!(
        swept.redriven,
        Redriven {
            requeued: 1,
            unreadable: 0
        }
    );
    assert_eq!(swept.depth.dead, 0);
    assert_eq!(app.copy_round().await, report(|r| r.stored = 1));
    assert_eq!(app.twilio.downloads(), 1);
    assert_eq!(app.twilio.deleted(), [rec_sid]);
    assert_eq!(depth(&app).await, Depth::default());
}

/// Twilio retries the callback and a queue may deliver a job twice: the
/// recording is still downloaded, stored and deleted at Twilio once.
async fn a_job_delivered_twice_is_processed_once(kind: Kind) {
    let app = spawn_on(kind, wav_settings()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let audio = tone_wav(1.0);
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());
    for _ in 0..2 {
        let reply = app
            .call(&sid, CALLER)
            .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
            .await
            .unwrap();
        assert_eq!(reply.status, 204);
    }
    let record = app.record(&sid).await.unwrap();
    let job = CopyJob {
        tenant: app.tenant.id.clone(),
        callback: record.id.clone(),
        recording: RecordingSid::parse(&rec_sid).unwrap(),
    };
    app.state.copier.enqueue(&job).await.unwrap();
    let worked = app.copy_all().await;
    assert_eq!(worked.stored, 1, "{worked:?}");
    assert_eq!(worked.copy_failed + worked.unworkable, 0, "{worked:?}");
    assert_eq!(app.twilio.downloads(), 1);
    assert_eq!(app.twilio.deleted(), [rec_sid.as_str()]);
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings.len(), 1);
    assert_eq!(record.recordings[0].state, RecordingState::Stored);
    assert_eq!(record.recordings[0].copy_attempts, 1);
    let key = record.recordings[0].storage_key.clone().unwrap();
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));

    // A late duplicate finds nothing to do.
    app.state.copier.enqueue(&job).await.unwrap();
    assert_eq!(app.copy_round().await, report(|r| r.nothing_to_do = 1));
    assert_eq!(app.twilio.downloads(), 1);
    assert_eq!(depth(&app).await, Depth::default());
}

async fn a_failed_delete_of_twilios_copy_is_retried_by_the_copier(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    app.twilio.refuse_deletes(true);
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(
        app.copy_round().await,
        report(|r| {
            r.stored = 1;
            r.delete_failed = 1;
        })
    );
    let recording = &app.record(&sid).await.unwrap().recordings[0];
    assert_eq!(recording.state, RecordingState::Stored);
    assert_eq!(
        recording.twilio_copy,
        Some(TwilioCopy::DeletePending { attempts: 1 })
    );
    assert_eq!(
        recording.last_error.as_deref(),
        Some(
            "Twilio answered 500 for the recording delete: error 20500: An internal server error has occurred (https://www.twilio.com/docs/errors/20500)"
        )
    );
    assert!(app.twilio.deleted().is_empty());

    app.twilio.refuse_deletes(false);
    assert_eq!(app.copy_round().await, report(|r| r.deleted = 1));
    assert_eq!(app.twilio.deleted(), [rec_sid]);
    assert_eq!(app.twilio.downloads(), 1, "ours was not fetched again");
    let recording = &app.record(&sid).await.unwrap().recordings[0];
    assert_eq!(recording.twilio_copy, Some(TwilioCopy::Deleted));
    assert_eq!(recording.last_error, None);
    assert_eq!(
        app.copy_round().await,
        WorkReport::default(),
        "nothing is left for the copier"
    );
}

/// A queue that refuses the next `refusals` sends, as SQS in an outage.
struct RefusingQueue {
    inner: std::sync::Arc<dyn CopyQueue>,
    refusals: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl CopyQueue for RefusingQueue {
    async fn send(&self, job: &CopyJob, now: jiff::Timestamp) -> Result<(), StoreError> {
        let refused = self.refusals.fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |n| n.checked_sub(1),
        );
        match refused {
            Ok(_) => Err(StoreError::Sqs {
                op: "send",
                source: "the queue is down".into(),
            }),
            Err(_) => self.inner.send(job, now).await,
        }
    }
    async fn receive(
        &self,
        max: usize,
        wait: std::time::Duration,
        now: jiff::Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.inner.receive(max, wait, now).await
    }
    async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.inner.ack(delivery).await
    }
    async fn fail(
        &self,
        delivery: &Delivery,
        retry_in: std::time::Duration,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        self.inner.fail(delivery, retry_in, now).await
    }
    async fn redrive(&self, limit: usize, now: jiff::Timestamp) -> Result<Redriven, StoreError> {
        self.inner.redrive(limit, now).await
    }
    async fn depth(&self, now: jiff::Timestamp) -> Result<Depth, StoreError> {
        self.inner.depth(now).await
    }
}

/// A queue that refuses the job: the callback answers 500 with the URL kept,
/// and Twilio's retry queues the copy.
async fn a_refused_job_fails_the_callback_and_twilios_retry_queues_it(kind: Kind) {
    let mut backend = crate::backends::make(kind).await;
    backend.backend.queue = std::sync::Arc::new(RefusingQueue {
        inner: backend.backend.queue.clone(),
        refusals: std::sync::atomic::AtomicUsize::new(1),
    });
    let app = spawn_app_on(backend, TenantSettings::default()).await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    let call = app.call(&sid, CALLER);
    let refused = call
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(refused.status, 500);
    let body: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(body["error"]["code"], "internal");
    let recording = &app.record(&sid).await.unwrap().recordings[0];
    assert_eq!(
        recording.state,
        RecordingState::PendingCopy,
        "the URL is kept"
    );
    assert_eq!(app.copy_round().await, WorkReport::default(), "no job");

    let retried = call
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(retried.status, 204);
    assert_eq!(app.copy_round().await, report(|r| r.stored = 1));
    assert_eq!(app.twilio.deleted(), [rec_sid]);
}

crate::on_every_backend!(
    a_tenant_that_chooses_mp3_gets_mp3_stored_and_served,
    an_mp3_is_refused_past_a_quarter_of_the_wavs_limit,
    a_refused_job_fails_the_callback_and_twilios_retry_queues_it,
    a_recording_callback_answers_before_the_copy_starts,
    a_poison_job_is_dead_lettered_and_the_sweeper_redrives_it,
    a_job_delivered_twice_is_processed_once,
    a_failed_delete_of_twilios_copy_is_retried_by_the_copier,
    recordings_longer_than_the_tenant_allows_are_refused,
    a_crashed_copiers_claim_lapses_and_the_job_is_copied_then,
    a_failed_download_is_kept_retryable_and_the_copier_finishes_it,
    copies_that_keep_failing_end_in_copy_failed,
    recording_urls_outside_the_twilio_api_base_are_refused,
    absent_recordings_are_marked_and_nothing_is_fetched,
    twilios_copy_is_kept_when_the_tenant_says_so,
    the_media_fetch_uses_the_tenants_credentials,
);

/// The embedded queue is a table in the store's file: a job queued before a
/// restart is worked after it, and a recording left pending without a job
/// (a process killed between the record's write and the job's) is queued
/// by the sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_store_jobs_survive_a_restart_and_orphans_are_swept() {
    use afureko::settings::BaseUrl;
    use afureko::twilio::api::{MediaHosts, TwilioApi};
    let app = spawn_app().await;
    let (sid, doc) = app.call_to_recording().await;
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    app.call(&sid, CALLER)
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();

    let reopened =
        afureko::startup::embedded(app.dir.path(), &Default::default(), app.clock.clone())
            .await
            .unwrap();
    let state = afureko::startup::state(
        &reopened,
        BaseUrl::parse("AFUREKO_PUBLIC_URL", PUBLIC_URL).unwrap(),
        TwilioApi::new(&app.twilio.base_url(), MediaHosts::default()).unwrap(),
        app.clock.clone(),
        UNLIMITED,
        crate::helpers::hook_client(),
    );
    let round = || state.copier.round(10, std::time::Duration::ZERO);
    assert_eq!(round().await.unwrap(), report(|r| r.stored = 1));

    let orphan = app.recording_sid();
    app.twilio.add_recording(&orphan, tone_wav(1.0));
    let record = app.record(&sid).await.unwrap();
    let (call, recording) = (
        afureko::domain::ids::CallSid::parse(&sid).unwrap(),
        RecordingSid::parse(&orphan).unwrap(),
    );
    let url = rec_url.replace(&rec_sid, &orphan);
    modify_callback(reopened.store.as_ref(), &app.tenant.id, &record.id, |r| {
        r.recording_completed(
            afureko::domain::callback::RecordingKind::Request,
            call.clone(),
            recording.clone(),
            url.clone(),
            Some(1),
            r.updated_at,
        )
    })
    .await
    .unwrap();
    assert_eq!(round().await.unwrap(), WorkReport::default(), "no job yet");
    let swept = state.copier.sweep(100).await.unwrap();
    assert_eq!(
        swept.redriven,
        Redriven {
            requeued: 1,
            unreadable: 0
        }
    );
    assert_eq!(round().await.unwrap(), report(|r| r.stored = 1));
    let record = app.record(&sid).await.unwrap();
    assert!(
        record
            .recordings
            .iter()
            .all(|r| r.state == RecordingState::Stored)
    );
    assert_eq!(app.twilio.deleted(), [rec_sid, orphan]);
}
