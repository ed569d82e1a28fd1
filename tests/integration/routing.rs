//! Routing modes, business hours and repeat callers, played as whole calls
//! with a fixed clock.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::callback::{Confirmation, RecordingState};
use afureko::domain::phone::Region;
use afureko::domain::prompts::{Language, PromptKey};
use afureko::domain::reason::Reason;
use afureko::domain::routing::{Destination, RoutingMode};
use afureko::domain::schedule::Holiday;
use afureko::domain::tenant::TenantSettings;
use afureko::twilio::sim::{Call, Doc, Node, tone_wav};

fn english() -> TenantSettings {
    TenantSettings {
        recording_format: afureko::domain::tenant::RecordingFormat::Wav,
        ..TenantSettings::for_language(Language::EnUs)
    }
}

fn en(key: PromptKey) -> &'static str {
    key.default_text(Language::EnUs)
}

fn verb<'a>(doc: &'a Doc, name: &str) -> &'a Node {
    doc.verbs
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no <{name}> in {:?}", doc.verb_names()))
}

fn dial_settings() -> TenantSettings {
    let mut s = english();
    s.routing.mode = RoutingMode::Dial;
    s.routing.dial.destinations = vec![
        Destination::parse("+81355550000", Region::JP).unwrap(),
        Destination::parse("sip:desk@pbx.example.com", Region::JP).unwrap(),
    ];
    s
}

fn queue_settings() -> TenantSettings {
    let mut s = english();
    s.routing.mode = RoutingMode::Queue;
    s.routing.queue.name = "support".into();
    s
}

/// A distinct, valid Japanese mobile number.
fn caller(n: usize) -> String {
    format!("+81901234{:04}", n)
}

fn arrived() -> i64 {
    NOW.parse::<jiff::Timestamp>().unwrap().as_second()
}

async fn dial_answered_by_an_agent_ends_with_no_record(kind: Kind) {
    let app = spawn_on(kind, dial_settings()).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    assert_eq!(doc.verb_names(), ["Dial"]);
    let dial = verb(&doc, "Dial");
    let action = format!("{PUBLIC_URL}/twilio/acme/dial-result/{}", arrived());
    assert_eq!(dial.attr("action"), Some(action.as_str()));
    assert_eq!(dial.attr("timeout"), Some("20"));
    let targets: Vec<(&str, &str)> = dial
        .children
        .iter()
        .map(|c| (c.name.as_str(), c.text.as_str()))
        .collect();
    assert_eq!(
        targets,
        [
            ("Number", "+81355550000"),
            ("Sip", "sip:desk@pbx.example.com")
        ]
    );

    let after = call
        .post(&action, &[("DialCallStatus", "completed")])
        .await
        .unwrap();
    assert_eq!(after.doc().unwrap().verb_names(), ["Hangup"]);
    assert!(app.records().await.is_empty());
}

async fn dial_not_answered_goes_to_the_ivr_with_the_reason_and_arrival_time(kind: Kind) {
    let app = spawn_on(kind, dial_settings()).await;
    for (status, reason) in [
        ("no-answer", Reason::NoAnswer),
        ("busy", Reason::Busy),
        ("failed", Reason::NoAnswer),
        ("canceled", Reason::NoAnswer),
    ] {
        app.clock.set(NOW.parse().unwrap());
        let sid = app.call_sid();
        let from = caller(status.len());
        let call = app.call(&sid, &from);
        let doc = app.ring(&call).await;
        let action = verb(&doc, "Dial").attr("action").unwrap().to_owned();
        // The agents rang for 20 seconds.
        app.clock.set("2026-11-25T01:00:20Z".parse().unwrap());
        let doc = call
            .post(&action, &[("DialCallStatus", status)])
            .await
            .unwrap()
            .doc()
            .unwrap();
        assert_eq!(doc.said()[0], en(PromptKey::Greeting), "{status}");
        assert!(
            doc.gather()
                .unwrap()
                .attr("action")
                .unwrap()
                .contains(&format!("/ivr/offer/{reason}/"))
        );
        let record = app.record(&sid).await.expect("a record on the caller ID");
        assert_eq!(record.reason, reason, "{status}");
        assert_eq!(
            record.received_at.to_string(),
            NOW,
            "the call's arrival, not the dial's end"
        );
    }
}

async fn queue_opt_out_keeps_the_arrival_time_and_reason(kind: Kind) {
    let app = spawn_on(kind, queue_settings()).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    let enqueue = verb(&doc, "Enqueue");
    assert_eq!(enqueue.text, "support");
    let wait_url = enqueue.attr("waitUrl").unwrap().to_owned();
    let action = enqueue.attr("action").unwrap().to_owned();
    assert_eq!(
        wait_url,
        format!("{PUBLIC_URL}/twilio/acme/queue/wait/{}", arrived())
    );
    assert_eq!(
        action,
        format!("{PUBLIC_URL}/twilio/acme/queue/result/{}", arrived())
    );
    assert!(
        app.records().await.is_empty(),
        "waiting callers have no record"
    );

    app.clock.set("2026-11-25T01:02:00Z".parse().unwrap());
    let hold = call
        .post(
            &wait_url,
            &[
                ("QueueTime", "120"),
                ("CurrentQueueSize", "4"),
                ("QueuePosition", "3"),
            ],
        )
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(hold.verb_names(), ["Gather", "Redirect"]);
    assert_eq!(
        hold.said(),
        [en(PromptKey::QueueHold), en(PromptKey::QueueOffer)]
    );
    let left = call.press(&hold, "1").await.unwrap().doc().unwrap();
    assert_eq!(left.verb_names(), ["Leave"]);
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.reason, Reason::QueueOptOut);
    assert_eq!(record.received_at.to_string(), NOW);

    let ivr = call
        .post(&action, &[("QueueResult", "leave"), ("QueueTime", "125")])
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert!(
        ivr.gather()
            .unwrap()
            .attr("action")
            .unwrap()
            .contains("/ivr/offer/queue-opt-out/")
    );
    let rec = call.press(&ivr, "1").await.unwrap().doc().unwrap();
    assert_eq!(rec.verb_names(), ["Say", "Record"]);
    let records = app.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].confirmation, Confirmation::CallerId);
    assert_eq!(records[0].reason, Reason::QueueOptOut);
    assert_eq!(records[0].received_at.to_string(), NOW);
}

async fn the_queue_limits_make_the_caller_leave(kind: Kind) {
    let app = spawn_on(kind, queue_settings()).await;
    for (time, size, reason) in [
        ("300", "2", Reason::QueueTimeout),
        ("30", "21", Reason::QueueFull),
    ] {
        let sid = app.call_sid();
        let from = caller(time.len() * 10 + size.len());
        let call = app.call(&sid, &from);
        let doc = app.ring(&call).await;
        let enqueue = verb(&doc, "Enqueue");
        let wait_url = enqueue.attr("waitUrl").unwrap().to_owned();
        let action = enqueue.attr("action").unwrap().to_owned();
        let wait = call
            .post(
                &wait_url,
                &[("QueueTime", time), ("CurrentQueueSize", size)],
            )
            .await
            .unwrap()
            .doc()
            .unwrap();
        assert_eq!(wait.verb_names(), ["Leave"], "{reason}");
        let ivr = call
            .post(&action, &[("QueueResult", "leave"), ("QueueTime", time)])
            .await
            .unwrap()
            .doc()
            .unwrap();
        assert!(
            ivr.gather()
                .unwrap()
                .attr("action")
                .unwrap()
                .contains(&format!("/ivr/offer/{reason}/"))
        );
        assert_eq!(app.record(&sid).await.unwrap().reason, reason);
    }
}

async fn a_full_queue_at_enqueue_goes_to_the_ivr_and_bridged_calls_end(kind: Kind) {
    let app = spawn_on(kind, queue_settings()).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    let action = verb(&doc, "Enqueue").attr("action").unwrap().to_owned();
    let ivr = call
        .post(&action, &[("QueueResult", "queue-full")])
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(ivr.said()[0], en(PromptKey::Greeting));
    assert_eq!(app.record(&sid).await.unwrap().reason, Reason::QueueFull);

    let other = app.call_sid();
    let call = app.call(&other, "+819011112222");
    let doc = app.ring(&call).await;
    let action = verb(&doc, "Enqueue").attr("action").unwrap().to_owned();
    let done = call
        .post(&action, &[("QueueResult", "bridged"), ("QueueTime", "40")])
        .await
        .unwrap();
    assert_eq!(done.doc().unwrap().verb_names(), ["Hangup"]);
    assert!(app.record(&other).await.is_none());
}

async fn a_queue_error_sends_the_caller_to_the_ivr_as_overflow(kind: Kind) {
    let app = spawn_on(kind, queue_settings()).await;
    for (n, result) in ["error", "system-error"].into_iter().enumerate() {
        let sid = app.call_sid();
        let call = app.call(&sid, &caller(100 + n));
        let doc = app.ring(&call).await;
        let action = verb(&doc, "Enqueue").attr("action").unwrap().to_owned();
        app.clock.set("2026-11-25T01:00:30Z".parse().unwrap());
        let ivr = call
            .post(&action, &[("QueueResult", result), ("QueueTime", "30")])
            .await
            .unwrap()
            .doc()
            .unwrap();
        assert_eq!(ivr.said()[0], en(PromptKey::Greeting), "{result}");
        assert_eq!(
            ivr.gather().unwrap().attr("action"),
            Some(
                format!(
                    "{PUBLIC_URL}/twilio/acme/ivr/offer/overflow/{}/1",
                    arrived()
                )
                .as_str()
            ),
            "{result}"
        );
        let record = app.record(&sid).await.expect("a record on the caller ID");
        assert_eq!(record.reason, Reason::Overflow, "{result}");
        assert_eq!(record.received_at.to_string(), NOW, "{result}");
        app.clock.set(NOW.parse().unwrap());
    }
}

async fn a_withheld_caller_who_leaves_the_queue_gets_the_reason_from_the_wait(kind: Kind) {
    let app = spawn_on(kind, queue_settings()).await;
    let sid = app.call_sid();
    let call = app.call(&sid, "anonymous");
    let doc = app.ring(&call).await;
    let action = verb(&doc, "Enqueue").attr("action").unwrap().to_owned();
    let ivr = call
        .post(&action, &[("QueueResult", "leave"), ("QueueTime", "301")])
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert!(
        ivr.gather()
            .unwrap()
            .attr("action")
            .unwrap()
            .contains("/ivr/enter/queue-timeout/")
    );
}

fn office(tz: &str) -> TenantSettings {
    let mut s = english();
    s.time_zone = tz.into();
    s.schedule.set_hours("mon-fri=09:00-18:00").unwrap();
    s
}

/// Plays the first webhook at `at`; returns the record it left.
async fn call_at(app: &TestApp, at: &str) -> (Doc, afureko::domain::callback::CallbackRecord) {
    app.clock.set(at.parse().unwrap());
    let sid = app.call_sid();
    let from = caller(app.records().await.len());
    let doc = app.ring(&app.call(&sid, &from)).await;
    (doc, app.record(&sid).await.expect("a record"))
}

async fn after_hours_on_a_weekday_evening_a_weekend_and_a_holiday(kind: Kind) {
    let mut settings = office("Asia/Tokyo");
    settings.routing = dial_settings().routing;
    settings.schedule.holidays.push(Holiday {
        date: "2026-12-01".parse().unwrap(),
        name: Some("anniversary".into()),
    });
    let app = spawn_on(kind, settings).await;

    // Wed 2026-11-25 10:00 JST: open, so dial mode rings the agents.
    app.clock.set("2026-11-25T01:00:00Z".parse().unwrap());
    let open = app
        .call(&app.call_sid(), CALLER)
        .incoming(&app.voice_url())
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(open.verb_names(), ["Dial"]);

    // (when, next opening): Wed 19:30 JST → Thu 09:00; Sun 11:00 → Mon 09:00;
    // Mon 30 Nov 20:00 → Wed 2 Dec 09:00 (Tue is a holiday).
    for (at, opens) in [
        ("2026-11-25T10:30:00Z", "2026-11-26T00:00:00Z"),
        ("2026-11-29T02:00:00Z", "2026-11-30T00:00:00Z"),
        ("2026-11-30T11:00:00Z", "2026-12-02T00:00:00Z"),
        ("2026-12-01T01:00:00Z", "2026-12-02T00:00:00Z"),
    ] {
        let (doc, record) = call_at(&app, at).await;
        assert_eq!(doc.said()[0], en(PromptKey::AfterHoursGreeting), "{at}");
        assert_eq!(record.reason, Reason::AfterHours, "{at}");
        let due = opens.parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_mins(240);
        assert_eq!(
            record.due_at, due,
            "{at}: due at the next opening plus the SLA"
        );
        assert_eq!(record.received_at.to_string(), at);
    }
}

async fn business_hours_follow_dst_in_new_york(kind: Kind) {
    let mut settings = office("America/New_York");
    settings.schedule.set_hours("sat-sun=09:00-17:00").unwrap();
    let app = spawn_on(kind, settings).await;
    // Sun 2026-03-08, the spring change: 08:30 EDT = 12:30Z is closed,
    // 09:30 EDT = 13:30Z is open (it would be 08:30 in EST).
    let (closed, record) = call_at(&app, "2026-03-08T12:30:00Z").await;
    assert_eq!(closed.said()[0], en(PromptKey::AfterHoursGreeting));
    assert_eq!(
        record.due_at.to_string(),
        "2026-03-08T17:00:00Z",
        "13:00Z opening + 4 h"
    );
    let (open, record) = call_at(&app, "2026-03-08T13:30:00Z").await;
    assert_eq!(open.said()[0], en(PromptKey::Greeting));
    assert_eq!(record.reason, Reason::Overflow);
    // Autumn, Sun 2026-11-01: 13:30Z is 08:30 EST, closed.
    let (autumn, _) = call_at(&app, "2026-11-01T13:30:00Z").await;
    assert_eq!(autumn.said()[0], en(PromptKey::AfterHoursGreeting));
}

/// At the caller-ID offer `doc`, the caller presses 1 and leaves a
/// request: afureko's answer to the recording.
async fn keep_caller_id_and_record(app: &TestApp, call: &Call<'_>, doc: &Doc) -> Doc {
    let doc = call.press(doc, "1").await.unwrap().doc().unwrap();
    let rec_sid = app.recording_sid();
    let rec_url = app.twilio.add_recording(&rec_sid, tone_wav(0.5));
    call.record(&doc, &rec_sid, &rec_url, 1)
        .await
        .unwrap()
        .doc()
        .unwrap()
}

/// `{due}`: the thanks says when the callback comes, from the record; the
/// after-hours greeting and the repeat caller's prompt may say it too.
async fn the_caller_is_told_when_the_callback_comes(kind: Kind) {
    let mut settings = office("America/New_York");
    settings.prompts.insert(
        PromptKey::AfterHoursGreeting,
        "We are closed. We will call you back {due}.".into(),
    );
    settings.prompts.insert(
        PromptKey::RepeatCaller,
        "We will call you back at {number} {due}.".into(),
    );
    let app = spawn_on(kind, settings).await;
    // Fri 2026-03-06 20:00 EST: the next opening is Mon 03-09 09:00 EDT
    // (13:00Z, the clocks changed on Sunday), plus the SLA of 4 hours.
    app.clock.set("2026-03-07T01:00:00Z".parse().unwrap());
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    assert_eq!(
        doc.said(),
        [
            "We are closed. We will call you back by 1:00 pm on Monday, March 9.",
            &en(PromptKey::OfferCallerId).replace("{number}", "0 3, 1 2 3 4, 5 6 7 8"),
        ]
    );
    let thanks = keep_caller_id_and_record(&app, &call, &doc).await;
    assert_eq!(
        thanks.said(),
        ["Thank you. We will call you back by 1:00 pm on Monday, March 9. Goodbye."]
    );
    assert_eq!(thanks.verb_names(), ["Say", "Hangup"]);

    // Saturday 10:00 EST: the same caller again hears the due time of the
    // record the call joins, not one of its own.
    app.clock.set("2026-03-07T15:00:00Z".parse().unwrap());
    let again = app.ring(&app.call(&app.call_sid(), CALLER)).await;
    assert_eq!(
        again.said(),
        [
            "We are closed. We will call you back by 1:00 pm on Monday, March 9.",
            "We will call you back at 0 3, 1 2 3 4, 5 6 7 8 by 1:00 pm on Monday, March 9.",
        ]
    );

    // A withheld caller has no record yet: the greeting says the due time
    // the record will get. Monday 07:40 EDT: today, at 13:00 EDT.
    app.clock.set("2026-03-09T11:40:00Z".parse().unwrap());
    let withheld = app.ring(&app.call(&app.call_sid(), "anonymous")).await;
    assert_eq!(
        withheld.said()[0],
        "We are closed. We will call you back by 1:00 pm today."
    );
}

/// A Japanese tenant, in the evening: tomorrow, at the quarter hour.
async fn the_thanks_says_tomorrow_in_japanese(kind: Kind) {
    let mut settings = TenantSettings::default();
    settings.schedule.set_hours("mon-fri=09:00-18:00").unwrap();
    settings.callback_sla_minutes = 20;
    let app = spawn_on(kind, settings).await;
    // Wed 2026-11-25 19:30 JST: Thursday 09:00 plus 20 minutes, 9:30.
    app.clock.set("2026-11-25T10:30:00Z".parse().unwrap());
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    let thanks = keep_caller_id_and_record(&app, &call, &doc).await;
    assert_eq!(
        app.record(&sid).await.unwrap().due_at.to_string(),
        "2026-11-26T00:20:00Z"
    );
    assert_eq!(
        thanks.said(),
        [
            "ありがとうございました。担当者より明日9時30分までに折り返しお電話いたします。失礼いたします。"
        ]
    );
}

async fn the_closed_now_switch_overrides_the_hours(kind: Kind) {
    let mut settings = english();
    settings.schedule.closed_now = true;
    let app = spawn_on(kind, settings).await;
    let (doc, record) = call_at(&app, NOW).await;
    assert_eq!(doc.said()[0], en(PromptKey::AfterHoursGreeting));
    assert_eq!(record.reason, Reason::AfterHours);
}

async fn a_repeat_caller_joins_the_open_record(kind: Kind) {
    let app = spawn_on(kind, english()).await;
    let (first, _) = app.play_call(CALLER).await;

    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = app.ring(&call).await;
    assert_eq!(doc.verb_names(), ["Say", "Say", "Record"]);
    assert_eq!(
        doc.said()[1],
        en(PromptKey::RepeatCaller).replace("{number}", "0 3, 1 2 3 4, 5 6 7 8")
    );
    // A retried webhook changes nothing.
    let again = app.ring(&call).await;
    assert_eq!(again, doc);

    let rec_sid = app.recording_sid();
    let audio = tone_wav(0.5);
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());
    call.recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(app.copy_all().await.stored, 1);

    let records = app.records().await;
    assert_eq!(records.len(), 1, "one record for both calls");
    let record = &records[0];
    assert_eq!(record.id, first.id);
    assert_eq!(record.repeat_calls.len(), 1);
    assert_eq!(record.repeat_calls[0].call_sid.as_str(), sid);
    // The repeat call is linked to the record it joined.
    assert_eq!(app.record(&sid).await.unwrap().id, first.id);
    assert_eq!(record.recordings.len(), 2);
    let second = &record.recordings[1];
    assert_eq!(second.state, RecordingState::Stored);
    let key = format!("recordings/acme/{sid}/{rec_sid}.wav");
    assert_eq!(second.storage_key.as_deref(), Some(key.as_str()));
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
}

async fn a_typed_number_with_an_open_record_joins_it(kind: Kind) {
    let app = spawn_on(kind, english()).await;
    let (first, _) = app.play_call("+819012345678").await;
    let sid = app.call_sid();
    let call = app.call(&sid, "anonymous");
    let doc = app.ring(&call).await;
    let doc = call
        .press(&doc, "09012345678")
        .await
        .unwrap()
        .doc()
        .unwrap();
    // The caller confirmed the number and is asked for the request as usual.
    let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
    assert_eq!(doc.verb_names(), ["Say", "Record"]);
    assert_eq!(doc.said(), [en(PromptKey::RecordRequest)]);
    let records = app.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, first.id);
    assert_eq!(records[0].repeat_calls.len(), 1);
    assert_eq!(records[0].repeat_calls[0].call_sid.as_str(), sid);
    assert_eq!(app.record(&sid).await.unwrap().id, first.id, "linked");

    // The recording of this call lands on the first record, under this call.
    let rec_sid = app.recording_sid();
    let audio = tone_wav(0.5);
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());
    let status = call
        .recording_status(&doc, "completed", &rec_sid, &rec_url, 1)
        .await
        .unwrap();
    assert_eq!(status.status, 204);
    assert_eq!(app.copy_all().await.stored, 1);
    let records = app.records().await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.id, first.id);
    assert_eq!(record.callback_number.as_str(), "+819012345678");
    assert_eq!(record.recordings.len(), 2);
    let key = format!("recordings/acme/{sid}/{rec_sid}.wav");
    assert_eq!(record.recordings[1].state, RecordingState::Stored);
    assert_eq!(
        record.recordings[1].storage_key.as_deref(),
        Some(key.as_str())
    );
    assert_eq!(app.backend.audio.get(&key).await.unwrap(), Some(audio));
}

crate::on_every_backend!(
    dial_answered_by_an_agent_ends_with_no_record,
    dial_not_answered_goes_to_the_ivr_with_the_reason_and_arrival_time,
    queue_opt_out_keeps_the_arrival_time_and_reason,
    the_queue_limits_make_the_caller_leave,
    a_full_queue_at_enqueue_goes_to_the_ivr_and_bridged_calls_end,
    a_withheld_caller_who_leaves_the_queue_gets_the_reason_from_the_wait,
    a_queue_error_sends_the_caller_to_the_ivr_as_overflow,
    after_hours_on_a_weekday_evening_a_weekend_and_a_holiday,
    business_hours_follow_dst_in_new_york,
    the_caller_is_told_when_the_callback_comes,
    the_thanks_says_tomorrow_in_japanese,
    the_closed_now_switch_overrides_the_hours,
    a_repeat_caller_joins_the_open_record,
    a_typed_number_with_an_open_record_joins_it,
);
