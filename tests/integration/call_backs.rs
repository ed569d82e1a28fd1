//! Calling back from afureko (click-to-call): the API asks Twilio (the
//! stand-in) to ring the agent's phone, the stand-in plays the call as
//! Twilio does (status callbacks, the agent's answer and key, the
//! customer's leg, retries), and the attempt logs itself, once.

use crate::backends::Kind;
use crate::helpers::*;
use crate::sessions::Browser;
use afureko::domain::agent::Role;
use afureko::domain::audit::AuditAction;
use afureko::domain::phone::{E164, Region};
use afureko::domain::prompts::Language;
use afureko::domain::tenant::TenantSettings;
use afureko::twilio::sim::{AgentPlay, CallBackScript, CustomerPlay, Posted, Sim, TwilioFailure};
use serde_json::{Value, json};

/// The tenant's Twilio number, which calls back show.
const OUTBOUND: &str = "+815012345678";
/// Ann's phone, as she types it and as it is kept.
const ANN_PHONE: (&str, &str) = ("090-1234-5678", "+819012345678");

fn calling() -> TenantSettings {
    TenantSettings {
        outbound_caller_id: Some(E164::parse(OUTBOUND, Region::JP).unwrap()),
        ..TenantSettings::default()
    }
}

/// Ann, signed in, with her phone set through her own profile.
async fn ann(app: &TestApp) -> Browser {
    app.add_agent(TENANT, "ann", Role::Agent).await;
    let ann = app.browser("ann").await;
    let set = app
        .browse(
            &ann,
            "PATCH",
            "/api/v1/me",
            Some(json!({"phone": ANN_PHONE.0})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.json());
    assert_eq!(
        set.json(),
        json!({"login": "ann", "name": "ann san", "phone": ANN_PHONE.1})
    );
    ann
}

/// A fresh record that `b` holds.
async fn held(app: &TestApp, b: &Browser) -> String {
    let id = app.seed(TENANT, 0).await.id.to_string();
    let claimed = app
        .browse(
            b,
            "POST",
            &format!("/api/v1/callbacks/{id}/claim"),
            Some(json!({})),
        )
        .await;
    assert_eq!(claimed.status, 200);
    id
}

async fn call(app: &TestApp, b: &Browser, id: &str) -> ApiReply {
    app.browse(b, "POST", &format!("/api/v1/callbacks/{id}/call"), None)
        .await
}

async fn get(app: &TestApp, b: &Browser, id: &str) -> Value {
    let reply = app
        .browse(b, "GET", &format!("/api/v1/callbacks/{id}"), None)
        .await;
    assert_eq!(reply.status, 200);
    reply.json()
}

/// The stand-in's calls created so far.
fn created(app: &TestApp) -> Vec<Posted> {
    app.twilio.created_calls()
}

/// Places a call back on `id` and checks what Twilio was asked; returns
/// the call Twilio made.
async fn place(app: &TestApp, b: &Browser, id: &str) -> Posted {
    let before = created(app).len();
    let reply = call(app, b, id).await;
    assert_eq!(reply.status, 202, "{}", reply.json());
    let made = created(app);
    assert_eq!(made.len(), before + 1);
    let posted = made.last().unwrap().clone();
    assert_eq!(
        reply.json(),
        json!({"call_sid": posted.sid, "state": "calling_agent"})
    );
    let started = NOW.parse::<jiff::Timestamp>().unwrap().as_second();
    let leg = app.url(&format!("/twilio/{TENANT}/outbound/{id}/ann/{started}"));
    let form: Vec<(&str, &str)> = posted
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        form,
        [
            ("To", ANN_PHONE.1),
            ("From", OUTBOUND),
            ("Url", &format!("{leg}/answer")),
            ("Method", "POST"),
            ("StatusCallback", &format!("{leg}/status")),
            ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
            ("Timeout", "20"),
        ]
    );
    posted
}

/// Plays `posted` with `script`; the customer's leg is `customer_sid`.
async fn play(app: &TestApp, posted: &Posted, script: CallBackScript, customer_sid: &str) {
    let leg = app.sim.placed(posted);
    script.play(&leg, customer_sid).await.unwrap();
}

fn script(agent: AgentPlay, customer: CustomerPlay) -> CallBackScript {
    CallBackScript {
        agent,
        customer,
        retries: false,
    }
}

fn presses_1() -> AgentPlay {
    AgentPlay::Presses("1".into())
}

async fn every_ending_logs_exactly_its_attempt(kind: Kind) {
    let app = spawn_on(kind, calling()).await;
    let ann = ann(&app).await;
    // (what happens, the attempt logged, the call's end, the record's status)
    let cases = [
        (
            script(presses_1(), CustomerPlay::Talks { seconds: 45 }),
            Some(("reached", Some(45))),
            "logged",
            "completed",
        ),
        (
            script(presses_1(), CustomerPlay::Talks { seconds: 9 }),
            Some(("no_answer", Some(9))),
            "logged",
            "pending",
        ),
        (
            script(presses_1(), CustomerPlay::Busy),
            Some(("busy", None)),
            "logged",
            "pending",
        ),
        (
            script(presses_1(), CustomerPlay::NoAnswer),
            Some(("no_answer", None)),
            "logged",
            "pending",
        ),
        (
            script(presses_1(), CustomerPlay::Fails),
            Some(("wrong_number", None)),
            "logged",
            "pending",
        ),
        (
            script(presses_1(), CustomerPlay::AgentHangsUp),
            None,
            "canceled",
            "claimed",
        ),
        (
            script(AgentPlay::NoAnswer, CustomerPlay::Busy),
            None,
            "agent_no_answer",
            "claimed",
        ),
        (
            script(AgentPlay::Busy, CustomerPlay::Busy),
            None,
            "agent_busy",
            "claimed",
        ),
        (
            script(AgentPlay::Fails, CustomerPlay::Busy),
            None,
            "agent_failed",
            "claimed",
        ),
        (
            script(AgentPlay::PressesNothing, CustomerPlay::Busy),
            None,
            "agent_declined",
            "claimed",
        ),
        (
            script(AgentPlay::Presses("2".into()), CustomerPlay::Busy),
            None,
            "agent_declined",
            "claimed",
        ),
        (
            CallBackScript {
                retries: true,
                ..script(presses_1(), CustomerPlay::Talks { seconds: 120 })
            },
            Some(("reached", Some(120))),
            "logged",
            "completed",
        ),
    ];
    for (n, (script, attempt, end, status)) in cases.into_iter().enumerate() {
        let case = format!("{script:?}");
        let id = held(&app, &ann).await;
        let posted = place(&app, &ann, &id).await;
        let customer = format!("CA{:032x}", 0xc0 + n);
        play(&app, &posted, script, &customer).await;
        let record = get(&app, &ann, &id).await;
        let expected: Vec<Value> = attempt
            .map(|(outcome, seconds)| {
                json!({
                    "n": 1, "at": NOW, "agent": "ann", "outcome": outcome, "note": null,
                    "call": {"agent_call_sid": posted.sid, "customer_call_sid": customer, "duration_seconds": seconds},
                    "corrections": [],
                })
            })
            .into_iter()
            .collect();
        assert_eq!(record["attempts"], json!(expected), "{case}");
        assert_eq!(record["status"], status, "{case}");
        assert_eq!(record["call"]["state"], "ended", "{case}");
        assert_eq!(record["call"]["end"], end, "{case}");
        assert_eq!(
            record["call"]["agent_call_sid"],
            posted.sid.as_str(),
            "{case}"
        );
        assert_eq!(
            record["call"]["attempt"],
            if attempt.is_some() {
                json!(1)
            } else {
                json!(null)
            },
            "{case}"
        );
    }
}

async fn what_the_agent_hears_and_the_customer_is_dialled_from(kind: Kind) {
    let app = spawn_on(kind, calling()).await;
    let ann = ann(&app).await;
    let id = held(&app, &ann).await;
    let note = app
        .browse(
            &ann,
            "POST",
            &format!("/api/v1/callbacks/{id}/notes"),
            Some(json!({"text": "見積もりの件\n詳細は録音"})),
        )
        .await;
    assert_eq!(note.status, 200);
    let posted = place(&app, &ann, &id).await;
    let leg = app.sim.placed(&posted);
    assert_eq!(leg.status("ringing").await.unwrap().status, 204);
    assert_eq!(get(&app, &ann, &id).await["call"]["state"], "calling_agent");
    let whisper = leg.answer().await.unwrap();
    assert_eq!(whisper.status, 200);
    let doc = whisper.doc().unwrap();
    let number = app
        .records()
        .await
        .into_iter()
        .find(|r| r.id.as_str() == id)
        .unwrap()
        .callback_number;
    // Read digit by digit (the domain test checks the reading itself).
    let ending = number.read_ending(4, Language::JaJp);
    assert_eq!(
        doc.said(),
        [
            format!(
                "折り返しのお電話です。お客様の番号は、末尾{ending}。本日10時にいただいた、混雑時のお電話です。最新のメモ。見積もりの件"
            ),
            "お客様におつなぎする場合は、1を押してください。".to_owned(),
        ]
    );
    let gather = doc.gather().unwrap();
    assert_eq!(gather.attr("numDigits"), Some("1"));
    assert_eq!(
        get(&app, &ann, &id).await["call"]["state"],
        "agent_answered"
    );
    let dial = leg.press(&doc, "1").await.unwrap().doc().unwrap();
    assert_eq!(dial.said(), ["おつなぎします。"]);
    let verb = dial.dial().unwrap();
    assert_eq!(verb.attr("callerId"), Some(OUTBOUND));
    assert_eq!(verb.attr("answerOnBridge"), Some("true"));
    assert_eq!(verb.attr("timeout"), Some("30"));
    assert_eq!(verb.attr("record"), None);
    assert_eq!(verb.children[0].text, number.as_str());
    assert_eq!(
        get(&app, &ann, &id).await["call"]["state"],
        "calling_customer"
    );
    let joined = leg
        .customer_answers(&dial, "CA000000000000000000000000000000c1")
        .await
        .unwrap();
    assert_eq!(joined.doc().unwrap().verbs, []);
    assert_eq!(get(&app, &ann, &id).await["call"]["state"], "connected");
    let ended = leg
        .dial_ends(
            &dial,
            "completed",
            "CA000000000000000000000000000000c1",
            Some(30),
        )
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(
        ended.said(),
        ["発信結果を、つながった、として記録しました。"]
    );
    assert!(ended.hangs_up());
    // The history shows it; the trail names who placed it.
    let record = get(&app, &ann, &id).await;
    let history: Vec<&Value> = record["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "attempt")
        .collect();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["outcome"], "reached");
    let trail = app
        .backend
        .audit
        .list_audit(&app.tenant.id, 10)
        .await
        .unwrap();
    let placed: Vec<_> = trail
        .iter()
        .filter(|e| e.action == AuditAction::CallBackPlaced)
        .map(|e| (e.actor.as_str(), e.subject.as_str()))
        .collect();
    assert_eq!(placed, [("agent:ann", id.as_str())]);
}

async fn only_the_holder_calls_and_nothing_reaches_twilio_otherwise(kind: Kind) {
    let app = spawn_on(kind, calling()).await;
    let ann = ann(&app).await;
    app.add_agent(TENANT, "bob", Role::Agent).await;
    let bob = app.browser("bob").await;
    let unclaimed = app.seed(TENANT, 0).await.id.to_string();
    let refused = call(&app, &ann, &unclaimed).await;
    assert_eq!(refused.status, 409);
    assert_eq!(
        refused.json(),
        json!({"error": {"code": "conflict", "message": "claim the callback first: only the agent holding it calls back"}})
    );
    let bobs = held(&app, &bob).await;
    let refused = call(&app, &ann, &bobs).await;
    assert_eq!(refused.status, 409);
    assert_eq!(
        refused.json(),
        json!({"error": {"code": "conflict", "message": "claimed by bob", "holder": "bob"}})
    );
    // Bob has no phone: 422 naming it.
    let refused = call(&app, &bob, &bobs).await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.json(),
        json!({"error": {"code": "not_configured", "field": "phone",
            "message": "bob has no phone for click-to-call to ring: set one first"}})
    );
    let done = held(&app, &ann).await;
    let completed = app
        .browse(
            &ann,
            "POST",
            &format!("/api/v1/callbacks/{done}/complete"),
            Some(json!({})),
        )
        .await;
    assert_eq!(completed.status, 200);
    let refused = call(&app, &ann, &done).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.error_code(), "invalid_state");
    assert!(created(&app).is_empty());
    // One call at a time.
    let id = held(&app, &ann).await;
    place(&app, &ann, &id).await;
    let again = call(&app, &ann, &id).await;
    assert_eq!(again.status, 409);
    assert!(
        again.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("a call back on this callback is under way")
    );
    assert_eq!(created(&app).len(), 1);
}

async fn click_to_call_is_off_until_the_tenant_has_a_number(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let ann = ann(&app).await;
    let id = held(&app, &ann).await;
    let refused = call(&app, &ann, &id).await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.json(),
        json!({"error": {"code": "not_configured", "field": "outbound_caller_id",
            "message": "click-to-call is off: the tenant has no outbound_caller_id (its Twilio number for calling back) yet"}})
    );
    assert!(created(&app).is_empty());
    assert_eq!(get(&app, &ann, &id).await["call"], json!(null));
}

async fn twilios_refusal_is_kept_on_the_record_and_answered(kind: Kind) {
    let app = spawn_on(kind, calling()).await;
    let ann = ann(&app).await;
    let id = held(&app, &ann).await;
    app.twilio
        .fail_calls(Some(TwilioFailure::unverified_caller_id()));
    let refused = call(&app, &ann, &id).await;
    assert_eq!(refused.status, 502);
    let twilio = json!({
        "status": 400, "code": 21210,
        "message": "The source phone number provided, +81******5678, is not yet verified for your account. You may only make calls from phone numbers that you've verified or purchased from Twilio.",
        "more_info": "https://www.twilio.com/docs/errors/21210",
    });
    assert_eq!(refused.json()["error"]["code"], "twilio_error");
    assert_eq!(refused.json()["error"]["twilio"], twilio);
    let record = get(&app, &ann, &id).await;
    assert_eq!(record["call"]["end"], "twilio_refused");
    assert_eq!(record["call"]["twilio_error"], twilio);
    assert!(record["attempts"].as_array().unwrap().is_empty());
    // Once Twilio takes calls again, the agent calls at once.
    app.twilio.fail_calls(None);
    place(&app, &ann, &id).await;
}

async fn an_integration_names_the_agent_and_a_key_replays_the_call(kind: Kind) {
    let app = spawn_on(kind, calling()).await;
    let ann = ann(&app).await;
    let key = app.api_key().await;
    let id = held(&app, &ann).await;
    let path = format!("/api/v1/callbacks/{id}/call");
    let nobody = app
        .api("POST", &path, &key, Some(json!({"agent": "nobody"})))
        .await;
    assert_eq!(nobody.status, 400);
    assert_eq!(nobody.json()["error"]["field"], "agent");
    let missing = app.api("POST", &path, &key, None).await;
    assert_eq!(
        (missing.status, missing.json()["error"]["field"].clone()),
        (400, json!("agent"))
    );
    let first = app.browse_keyed(&ann, "POST", &path, None, "call-1").await;
    assert_eq!(first.status, 202);
    let replayed = app.browse_keyed(&ann, "POST", &path, None, "call-1").await;
    assert_eq!((replayed.status, replayed.json()), (202, first.json()));
    assert_eq!(created(&app).len(), 1);
    // The call ends (no answer); the integration places the next one.
    let leg = app.sim.placed(&created(&app)[0]);
    assert_eq!(leg.status("no-answer").await.unwrap().status, 204);
    let by_key = app
        .api("POST", &path, &key, Some(json!({"agent": "ann"})))
        .await;
    assert_eq!(by_key.status, 202, "{}", by_key.json());
    assert_eq!(created(&app).len(), 2);
}

async fn a_logged_outcome_is_corrected_without_a_second_attempt(kind: Kind) {
    let app = spawn_on(kind, calling()).await;
    let ann = ann(&app).await;
    let id = held(&app, &ann).await;
    let posted = place(&app, &ann, &id).await;
    let customer = "CA000000000000000000000000000000d1";
    play(
        &app,
        &posted,
        script(presses_1(), CustomerPlay::Talks { seconds: 40 }),
        customer,
    )
    .await;
    assert_eq!(get(&app, &ann, &id).await["status"], "completed");
    app.clock.set("2026-11-25T01:10:00Z".parse().unwrap());
    let path = format!("/api/v1/callbacks/{id}/attempts/1");
    let body = json!({"outcome": "voicemail", "note": "留守電が応答していた"});
    let corrected = app.browse(&ann, "PATCH", &path, Some(body.clone())).await;
    assert_eq!(corrected.status, 200, "{}", corrected.json());
    let record = corrected.json();
    assert_eq!(record["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(record["attempts"][0]["outcome"], "voicemail");
    assert_eq!(
        record["attempts"][0]["corrections"],
        json!([{"at": "2026-11-25T01:10:00Z", "agent": "ann", "from": "reached", "note": "留守電が応答していた"}])
    );
    // Open again, due the retry delay after the call; nobody holds it.
    assert_eq!(record["status"], "pending");
    assert_eq!(record["claimed_by"], json!(null));
    assert_eq!(record["due_at"], "2026-11-25T02:00:00Z");
    assert_eq!(record["expires_at"], json!(null));
    let corrections: Vec<&Value> = record["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "attempt_corrected")
        .collect();
    assert_eq!(
        corrections,
        [
            &json!({"at": "2026-11-25T01:10:00Z", "kind": "attempt_corrected", "agent": "ann",
            "outcome": "voicemail", "previous_outcome": "reached", "text": "留守電が応答していた", "attempt": 1})
        ]
    );
    // The same correction again changes nothing and leaves no second entry.
    let again = app.browse(&ann, "PATCH", &path, Some(body)).await;
    assert_eq!(
        (again.status, again.json()["version"].clone()),
        (200, record["version"].clone())
    );
    let trail = app
        .backend
        .audit
        .list_audit(&app.tenant.id, 10)
        .await
        .unwrap();
    let corrected: Vec<_> = trail
        .iter()
        .filter(|e| e.action == AuditAction::AttemptCorrected)
        .map(|e| {
            (
                e.actor.as_str(),
                e.subject.as_str(),
                e.counts.get("attempt").copied(),
            )
        })
        .collect();
    assert_eq!(corrected, [("agent:ann", id.as_str(), Some(1))]);
    // Someone else's attempt is not theirs to correct; no attempt 2; a note is needed.
    app.add_agent(TENANT, "bob", Role::Agent).await;
    let bob = app.browser("bob").await;
    let theirs = app
        .browse(
            &bob,
            "PATCH",
            &path,
            Some(json!({"outcome": "busy", "note": "x"})),
        )
        .await;
    assert_eq!(theirs.status, 403);
    let second = format!("/api/v1/callbacks/{id}/attempts/2");
    let none = app
        .browse(
            &ann,
            "PATCH",
            &second,
            Some(json!({"outcome": "busy", "note": "x"})),
        )
        .await;
    assert_eq!(
        (none.status, none.error_code()),
        (404, "not_found".to_owned())
    );
    let blank = app
        .browse(
            &ann,
            "PATCH",
            &path,
            Some(json!({"outcome": "busy", "note": " "})),
        )
        .await;
    assert_eq!(
        (blank.status, blank.json()["error"]["field"].clone()),
        (400, json!("note"))
    );
    // A supervisor (an API key acts as one) may: back to reached, closed again.
    let key = app.api_key().await;
    let back = app
        .api(
            "PATCH",
            &path,
            &key,
            Some(json!({"agent": "sue", "outcome": "reached", "note": "確認した"})),
        )
        .await;
    assert_eq!(back.status, 200);
    assert_eq!(back.json()["status"], "completed");
}

async fn a_recorded_call_back_tells_the_customer_and_keeps_the_recording(kind: Kind) {
    let app = spawn_on(
        kind,
        // WAV: the stored bytes are compared with Twilio's.
        TenantSettings {
            callback_recording: true,
            recording_format: afureko::domain::tenant::RecordingFormat::Wav,
            ..calling()
        },
    )
    .await;
    let ann = ann(&app).await;
    let id = held(&app, &ann).await;
    let posted = place(&app, &ann, &id).await;
    let leg = app.sim.placed(&posted);
    let doc = leg.answer().await.unwrap().doc().unwrap();
    let dial = leg.press(&doc, "1").await.unwrap().doc().unwrap();
    let verb = dial.dial().unwrap();
    let started = NOW.parse::<jiff::Timestamp>().unwrap().as_second();
    let recording_url = app.url(&format!(
        "/twilio/{TENANT}/outbound/{id}/ann/{started}/recording"
    ));
    assert_eq!(verb.attr("record"), Some("record-from-answer-dual"));
    assert_eq!(
        verb.attr("recordingStatusCallback"),
        Some(recording_url.as_str())
    );
    assert_eq!(verb.attr("timeLimit"), Some("3600"));
    let customer = "CA000000000000000000000000000000e1";
    let notice = leg
        .customer_answers(&dial, customer)
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(
        notice.said(),
        [
            "お電話ありがとうございます。ご依頼いただいた折り返しのお電話です。この通話は、応対品質の向上のため録音させていただきます。"
        ]
    );
    leg.dial_ends(&dial, "completed", customer, Some(60))
        .await
        .unwrap();
    // Twilio's recording status callback names the parent call.
    let rec_sid = app.recording_sid();
    let audio = afureko::twilio::sim::tone_wav(2.0);
    let rec_url = app.twilio.add_recording(&rec_sid, audio.clone());
    let status_doc = afureko::twilio::sim::Doc::parse(&format!(
        r#"<Response><Record action="x" recordingStatusCallback="{recording_url}"/></Response>"#
    ))
    .unwrap();
    for _ in 0..2 {
        let taken = leg
            .recording_status(&status_doc, "completed", &rec_sid, &rec_url, 60)
            .await
            .unwrap();
        assert_eq!(taken.status, 204);
    }
    let copied = app.copy_all().await;
    assert_eq!(copied.stored, 1, "{copied:?}");
    let record = get(&app, &ann, &id).await;
    assert_eq!(record["recordings"].as_array().unwrap().len(), 1);
    assert_eq!(record["recordings"][0]["kind"], "callback");
    assert_eq!(record["recordings"][0]["state"], "stored");
    // The record's `recording_url` stays the caller's request (none here).
    assert_eq!(record["recording_url"], json!(null));
    let stored = app.fetch_recording(&app.api_key().await, &id, None).await;
    assert_eq!(stored.status, 404);
    let by_sid = format!("/api/v1/callbacks/{id}/recording?sid={rec_sid}");
    let fetched = app.browse(&ann, "GET", &by_sid, None).await;
    match fetched.status {
        200 => assert_eq!(fetched.bytes, audio),
        302 => assert!(app.s3.is_some()),
        other => panic!("{other}"),
    }
}

async fn an_erased_record_ends_the_call_politely(kind: Kind) {
    let app = spawn_on(kind, calling()).await;
    let ann = ann(&app).await;
    let id = held(&app, &ann).await;
    let posted = place(&app, &ann, &id).await;
    app.add_agent(TENANT, "ada", Role::Admin).await;
    let ada = app.browser("ada").await;
    let erased = app
        .browse(&ada, "DELETE", &format!("/api/v1/callbacks/{id}"), None)
        .await;
    assert_eq!(erased.status, 204);
    let leg = app.sim.placed(&posted);
    let doc = leg.answer().await.unwrap().doc().unwrap();
    assert_eq!(
        doc.said(),
        ["この折り返しはもうありません。通話を終了します。"]
    );
    assert!(doc.hangs_up());
    assert_eq!(leg.status("completed").await.unwrap().status, 204);
}

crate::on_every_backend!(
    every_ending_logs_exactly_its_attempt,
    what_the_agent_hears_and_the_customer_is_dialled_from,
    only_the_holder_calls_and_nothing_reaches_twilio_otherwise,
    click_to_call_is_off_until_the_tenant_has_a_number,
    twilios_refusal_is_kept_on_the_record_and_answered,
    an_integration_names_the_agent_and_a_key_replays_the_call,
    a_logged_outcome_is_corrected_without_a_second_attempt,
    a_recorded_call_back_tells_the_customer_and_keeps_the_recording,
    an_erased_record_ends_the_call_politely,
);

/// The stand-in plays a created call by itself, over HTTP, against the
/// app served on a port (as the browser test runs it).
#[tokio::test]
async fn the_stand_in_plays_a_created_call_over_http() {
    let app = spawn_on(Kind::Embedded, calling()).await;
    let ann = ann(&app).await;
    let id = held(&app, &ann).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut state = app.state.clone();
    state.public_url = afureko::settings::BaseUrl::parse("AFUREKO_PUBLIC_URL", &base).unwrap();
    let router = afureko::http::app(state);
    let served = router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, served).await.unwrap() });
    let sim = Sim::over_http(&base, ACCOUNT_SID, AUTH_TOKEN).unwrap();
    app.twilio.play_calls(
        sim,
        CallBackScript {
            retries: true,
            ..script(presses_1(), CustomerPlay::Talks { seconds: 30 })
        },
    );
    let placed = send_to(
        router,
        axum::http::Request::post(format!("/api/v1/callbacks/{id}/call"))
            .header("authorization", format!("Bearer {}", app.api_key().await))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(json!({"agent": "ann"}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(placed.status, 202);
    let played = app.twilio.played().await;
    assert_eq!(played.len(), 1);
    assert!(played[0].is_ok(), "{:?}", played[0]);
    let record = get(&app, &ann, &id).await;
    let outcomes: Vec<&Value> = record["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["outcome"])
        .collect();
    assert_eq!(outcomes, [&json!("reached")]);
    assert_eq!(record["call"]["end"], "logged");
    server.abort();
}
