//! Whole calls in `overflow` mode, from the first ring to the stored audio.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::callback::{Confirmation, RecordingState, Status};
use afureko::domain::prompts::{Language, PromptKey};
use afureko::domain::reason::Reason;
use afureko::domain::tenant::TenantSettings;
use afureko::twilio::sim::{Doc, Sim, tone_wav};

fn arrived() -> i64 {
    NOW.parse::<jiff::Timestamp>().unwrap().as_second()
}

fn step_url(step: &str, attempt: u32) -> String {
    format!(
        "{PUBLIC_URL}/twilio/{TENANT}/ivr/{step}/overflow/{}/{attempt}",
        arrived()
    )
}

fn ja(key: PromptKey) -> &'static str {
    key.default_text(Language::JaJp)
}

fn gather_action(doc: &Doc) -> String {
    doc.gather()
        .and_then(|g| g.attr("action"))
        .expect("a Gather with an action")
        .to_owned()
}

async fn caller_accepts_their_caller_id_and_leaves_a_request(kind: Kind) {
    let app = spawn_on(kind, wav_settings()).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);

    let reply = call.incoming(&app.voice_url()).await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("text/xml; charset=utf-8")
    );
    let doc = reply.doc().unwrap();
    assert_eq!(doc.verb_names(), ["Say", "Gather", "Redirect"]);
    assert_eq!(
        doc.said(),
        [
            ja(PromptKey::Greeting).to_owned(),
            ja(PromptKey::OfferCallerId)
                .replace("{number}", "ゼロサン、イチニーサンヨン、ゴーロクナナハチ"),
        ]
    );
    let gather = doc.gather().unwrap();
    assert_eq!(gather.attr("numDigits"), Some("1"));
    assert_eq!(gather_action(&doc), step_url("offer", 1));
    assert_eq!(doc.redirect(), Some(step_url("offer", 1).as_str()));
    let say = &doc.verbs[0];
    assert_eq!(say.attr("voice"), Some("Polly.Mizuki"));
    assert_eq!(say.attr("language"), Some("ja-JP"));

    // The record exists from the first ring, on the caller ID.
    let record = app
        .record(&sid)
        .await
        .expect("record after the first webhook");
    assert_eq!(record.confirmation, Confirmation::Unconfirmed);
    assert_eq!(record.callback_number.as_str(), CALLER);
    assert_eq!(record.reason, Reason::Overflow);
    assert_eq!(record.status, Status::Pending);
    assert_eq!(record.received_at.to_string(), NOW);
    assert_eq!(record.due_at.to_string(), "2026-11-25T05:00:00Z");

    let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
    assert_eq!(doc.verb_names(), ["Say", "Record"]);
    assert_eq!(doc.said(), [ja(PromptKey::RecordRequest)]);
    let rec = doc.record().unwrap();
    assert_eq!(
        rec.attr("action"),
        Some(app.url("/twilio/acme/ivr/recorded").as_str())
    );
    assert_eq!(rec.attr("maxLength"), Some("120"));
    assert_eq!(rec.attr("finishOnKey"), Some("#"));
    assert_eq!(
        rec.attr("recordingStatusCallback"),
        Some(app.url("/twilio/acme/recording").as_str())
    );
    assert_eq!(
        rec.attr("recordingStatusCallbackEvent"),
        Some("completed absent")
    );
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.confirmation, Confirmation::CallerId);

    let audio = tone_wav(2.0);
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());
    let after = call
        .record(&doc, &rec_sid, &rec_url, 2)
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(after.verb_names(), ["Say", "Hangup"]);
    // The record is due at 14:00 JST, four hours after the call.
    assert_eq!(
        after.said(),
        [
            "ありがとうございました。担当者より本日14時までに折り返しお電話いたします。失礼いたします。"
        ]
    );

    let status = call
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 2)
        .await
        .unwrap();
    assert_eq!(status.status, 204);
    assert_eq!(app.copy_all().await.stored, 1);
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.recordings.len(), 1);
    let recording = &record.recordings[0];
    assert_eq!(recording.state, RecordingState::Stored);
    assert_eq!(recording.twilio_url.as_deref(), Some(rec_url.as_str()));
    assert_eq!(recording.duration_seconds, Some(2));
    let key = format!("recordings/acme/{sid}/{rec_sid}.wav");
    assert_eq!(recording.storage_key.as_deref(), Some(key.as_str()));
    // The audio is stored byte for byte (a file in the embedded store's data
    // dir), and Twilio's copy is gone.
    if matches!(kind, Kind::Embedded) {
        assert_eq!(std::fs::read(app.dir.path().join(&key)).unwrap(), audio);
    }
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
    assert_eq!(app.twilio.deleted(), [rec_sid]);
    assert_eq!(app.records().await.len(), 1);
}

async fn caller_types_another_number_and_confirms_it(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::for_language(Language::EnUs)).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;

    let doc = call.press(&doc, "2").await.unwrap().doc().unwrap();
    assert_eq!(
        doc.said(),
        [PromptKey::EnterNumber.default_text(Language::EnUs)]
    );
    let gather = doc.gather().unwrap();
    assert_eq!(gather.attr("numDigits"), None);
    assert_eq!(gather.attr("finishOnKey"), Some("#"));
    assert_eq!(gather_action(&doc), step_url("enter", 1));

    let doc = call
        .press(&doc, "09012345678")
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(
        doc.said(),
        [
            "You entered 0 9 0, 1 2 3 4, 5 6 7 8. If that is right, press 1. To enter it again, press 2."
        ]
    );
    assert_eq!(
        gather_action(&doc),
        format!("{}/09012345678", step_url("confirm", 1))
    );

    let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
    assert_eq!(doc.verb_names(), ["Say", "Record"]);
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.callback_number.as_str(), "+819012345678");
    assert_eq!(
        record.caller_number.as_ref().map(|n| n.as_str()),
        Some(CALLER)
    );
    assert_eq!(record.confirmation, Confirmation::Entered);
    assert_eq!(app.records().await.len(), 1);
}

async fn invalid_entry_is_asked_again_then_a_valid_one_is_taken(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::for_language(Language::EnUs)).await;
    let sid = app.call_sid();
    let call = app.call(&sid, "anonymous");
    let doc = app.ring(&call).await;
    assert_eq!(gather_action(&doc), step_url("enter", 1));

    let doc = call.press(&doc, "123").await.unwrap().doc().unwrap();
    assert_eq!(
        doc.said(),
        [
            "Sorry, we did not get that.",
            PromptKey::EnterNumber.default_text(Language::EnUs)
        ]
    );
    assert_eq!(gather_action(&doc), step_url("enter", 2));

    let doc = call.press(&doc, "0312345678").await.unwrap().doc().unwrap();
    let doc = call.press(&doc, "9").await.unwrap().doc().unwrap();
    assert_eq!(doc.said()[0], "Sorry, we did not get that.");
    assert_eq!(
        gather_action(&doc),
        format!("{}/0312345678", step_url("confirm", 3))
    );
    assert!(app.record(&sid).await.is_none(), "nothing to call back yet");

    let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
    assert_eq!(doc.verb_names(), ["Say", "Record"]);
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.callback_number.as_str(), "+81312345678");
    assert_eq!(record.caller_number, None);
    assert_eq!(record.confirmation, Confirmation::Entered);
}

async fn silence_until_the_retry_limit_ends_politely_and_keeps_the_caller_id(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::for_language(Language::EnUs)).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let mut doc = app.ring(&call).await;
    for attempt in 2..=3 {
        doc = call.silence(&doc).await.unwrap().doc().unwrap();
        assert_eq!(doc.said()[0], "Sorry, we did not get that.");
        assert_eq!(gather_action(&doc), step_url("offer", attempt));
    }
    let last = call.silence(&doc).await.unwrap().doc().unwrap();
    assert_eq!(last.verb_names(), ["Say", "Hangup"]);
    assert_eq!(
        last.said(),
        [PromptKey::GoodbyeCallerId.default_text(Language::EnUs)]
    );
    let record = app.record(&sid).await.expect("the caller ID is kept");
    assert_eq!(record.callback_number.as_str(), CALLER);
    assert_eq!(record.confirmation, Confirmation::Unconfirmed);
}

async fn withheld_caller_in_silence_gets_a_goodbye_and_no_record(kind: Kind) {
    let settings = TenantSettings {
        number_entry_attempts: 2,
        ..TenantSettings::for_language(Language::EnUs)
    };
    let app = spawn_on(kind, settings).await;
    let sid = app.call_sid();
    let call = app.call(&sid, "+266696687");
    let doc = app.ring(&call).await;
    let doc = call.silence(&doc).await.unwrap().doc().unwrap();
    assert_eq!(gather_action(&doc), step_url("enter", 2));
    let last = call.silence(&doc).await.unwrap().doc().unwrap();
    assert!(last.hangs_up());
    assert_eq!(
        last.said(),
        [PromptKey::GoodbyeNoNumber.default_text(Language::EnUs)]
    );
    assert!(app.records().await.is_empty());
}

async fn withheld_caller_ids_go_straight_to_number_entry(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    for from in ["anonymous", "+266696687", "", "Restricted"] {
        let sid = app.call_sid();
        let doc = app.ring(&app.call(&sid, from)).await;
        assert_eq!(
            doc.said(),
            [ja(PromptKey::Greeting), ja(PromptKey::EnterNumber)],
            "From={from:?}"
        );
        assert_eq!(gather_action(&doc), step_url("enter", 1), "From={from:?}");
    }
    assert!(app.records().await.is_empty());
}

async fn hang_up_before_recording_keeps_the_record_on_the_caller_id(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    // The caller asks to type another number, then hangs up: no more webhooks.
    call.press(&doc, "2").await.unwrap();
    let records = app.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].callback_number.as_str(), CALLER);
    assert_eq!(records[0].confirmation, Confirmation::Unconfirmed);
    assert!(records[0].recordings.is_empty());
    assert_eq!(records[0].status, Status::Pending);
}

async fn the_same_webhooks_delivered_twice_make_one_record_and_one_copy(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let first = call.incoming(&app.voice_url()).await.unwrap();
    let again = call.incoming(&app.voice_url()).await.unwrap();
    assert_eq!(first.body, again.body);
    let doc = first.doc().unwrap();

    let recording_step = call.press(&doc, "1").await.unwrap();
    let version = app.record(&sid).await.unwrap().version;
    assert_eq!(
        call.press(&doc, "1").await.unwrap().body,
        recording_step.body
    );
    assert_eq!(
        app.record(&sid).await.unwrap().version,
        version,
        "a retry writes nothing"
    );

    let doc = recording_step.doc().unwrap();
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(1.0));
    for _ in 0..2 {
        let reply = call
            .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
            .await
            .unwrap();
        assert_eq!(reply.status, 204);
    }
    assert_eq!(app.copy_all().await.stored, 1);
    let records = app.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].recordings.len(), 1);
    assert_eq!(records[0].recordings[0].state, RecordingState::Stored);
    assert_eq!(app.twilio.downloads(), 1);
}

/// Twilio's retry of the incoming webhook, running alongside the first
/// delivery: its CallSid lookup comes before the first's record is written,
/// its lookup by number after. It is the same call, not a repeat caller
/// (the soak found it answered the repeat caller's TwiML).
async fn a_retry_racing_the_first_delivery_is_the_same_call(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let first = app
        .call(&sid, CALLER)
        .incoming(&app.voice_url())
        .await
        .unwrap();
    let late = RacingStore::new(app.state.store.clone(), 0);
    late.call_sid_misses
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let mut state = app.state.clone();
    state.store = std::sync::Arc::new(late);
    let twin = Sim::new(
        afureko::http::app(state),
        PUBLIC_URL,
        ACCOUNT_SID,
        AUTH_TOKEN,
    );
    let again = twin
        .call(&sid, CALLER, COMPANY)
        .incoming(&app.voice_url())
        .await
        .unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    let records = app.records().await;
    assert_eq!(records.len(), 1);
    assert!(records[0].repeat_calls.is_empty());
}

async fn forged_or_missing_signatures_get_403_and_store_nothing(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let params = vec![
        ("CallSid".to_owned(), sid.clone()),
        ("From".to_owned(), CALLER.to_owned()),
        ("To".to_owned(), COMPANY.to_owned()),
    ];
    let forged = afureko::twilio::signature::sign(
        "not-the-token",
        &app.voice_url(),
        &params,
        afureko::twilio::signature::Algorithm::Sha1,
    );
    for signature in [Some(forged), None, Some(String::new())] {
        let reply = call
            .post_raw(&app.voice_url(), params.clone(), signature)
            .await
            .unwrap();
        assert_eq!(reply.status, 403);
        assert_eq!(reply.content_type.as_deref(), Some("application/json"));
        assert!(!reply.body.contains("<Response>"));
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
    }
    assert!(app.records().await.is_empty());
}

async fn a_typed_number_open_on_another_record_leaves_the_callers_own_record_on_the_caller_id(
    kind: Kind,
) {
    let app = spawn_on(kind, TenantSettings::for_language(Language::EnUs)).await;
    let (other, _) = app.play_call("+819012345678").await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    let doc = call.press(&doc, "2").await.unwrap().doc().unwrap();
    let doc = call
        .press(&doc, "09012345678")
        .await
        .unwrap()
        .doc()
        .unwrap();
    let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
    assert_eq!(doc.verb_names(), ["Say", "Record"], "the call goes on");
    // One open record per number: this call's record keeps the caller ID.
    let own = app.record(&sid).await.unwrap();
    assert_ne!(own.id, other.id);
    assert_eq!(own.callback_number.as_str(), CALLER);
    assert_eq!(own.confirmation, Confirmation::Unconfirmed);
    let reread = app.record(other.call_sid.as_str()).await.unwrap();
    assert_eq!(reread.callback_number.as_str(), "+819012345678");
    assert!(reread.repeat_calls.is_empty());
    assert_eq!(app.records().await.len(), 2);
}

async fn a_repeat_caller_joins_a_claimed_record_and_the_claim_stays(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::for_language(Language::EnUs)).await;
    let (first, _) = app.play_call(CALLER).await;
    let key = app.api_key().await;
    let claimed = app.claim(&key, first.id.as_str(), "ann").await;
    assert_eq!(claimed.status, 200);
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    assert_eq!(
        doc.said()[1],
        PromptKey::RepeatCaller
            .default_text(Language::EnUs)
            .replace("{number}", "0 3, 1 2 3 4, 5 6 7 8")
    );
    let records = app.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].repeat_calls[0].call_sid.as_str(), sid);
    assert_eq!(records[0].status, Status::Claimed);
    assert_eq!(records[0].claimed_by.as_deref(), Some("ann"));
}

crate::on_every_backend!(
    a_repeat_caller_joins_a_claimed_record_and_the_claim_stays,
    a_typed_number_open_on_another_record_leaves_the_callers_own_record_on_the_caller_id,
    caller_accepts_their_caller_id_and_leaves_a_request,
    caller_types_another_number_and_confirms_it,
    invalid_entry_is_asked_again_then_a_valid_one_is_taken,
    silence_until_the_retry_limit_ends_politely_and_keeps_the_caller_id,
    withheld_caller_in_silence_gets_a_goodbye_and_no_record,
    withheld_caller_ids_go_straight_to_number_entry,
    hang_up_before_recording_keeps_the_record_on_the_caller_id,
    the_same_webhooks_delivered_twice_make_one_record_and_one_copy,
    a_retry_racing_the_first_delivery_is_the_same_call,
    forged_or_missing_signatures_get_403_and_store_nothing,
);
