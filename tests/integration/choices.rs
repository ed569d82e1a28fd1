//! What the caller chooses and how they answer (issue #22): a callback
//! window after the number, the number said instead of typed, and the
//! thanks with or without the time promised. Whole calls through the
//! Router, on every backend.

use crate::backends::Kind;
use crate::helpers::*;
use afureko::domain::callback::Confirmation;
use afureko::domain::callback_window::{Occurrence, parse_windows};
use afureko::domain::prompts::{Language, PromptKey};
use afureko::domain::speech::NumberEntry;
use afureko::domain::tenant::TenantSettings;
use afureko::twilio::sim::{Call, Doc, tone_wav};
use serde_json::{Value, json};

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

/// Weekdays 09:00-18:00 in Tokyo, a morning and an afternoon window.
fn windows(language: Language) -> TenantSettings {
    let mut settings = TenantSettings::for_language(language);
    settings.schedule.set_hours("mon-fri=09:00-18:00").unwrap();
    settings.callback_windows = parse_windows(&["1=09:00-12:00", "2=13:00-17:00"]).unwrap();
    settings.validate().unwrap();
    settings
}

fn speaking(settings: TenantSettings) -> TenantSettings {
    TenantSettings {
        number_entry: NumberEntry::DtmfSpeech,
        ..settings
    }
}

const JA_CHOICE: &str =
    "できるだけ早くをご希望の方は0を、午前9時から12時は1を、午後1時から5時は2を押してください。";
const EN_CHOICE: &str = "For a call as soon as possible, press 0. For 9 am to 12 noon, press 1. For 1 pm to 5 pm, press 2.";

fn action(doc: &Doc) -> String {
    doc.gather()
        .and_then(|g| g.attr("action"))
        .expect("a Gather with an action")
        .to_owned()
}

/// The step and attempt at the end of a Gather's action URL.
fn step_of(doc: &Doc) -> String {
    let url = action(doc);
    let parts: Vec<&str> = url.split('/').collect();
    let ivr = parts.iter().position(|p| *p == "ivr").expect("an IVR step");
    format!("{}/{}", parts[ivr + 1], parts[ivr + 4])
}

/// Records the request: what the caller hears then.
async fn thanks(app: &TestApp, call: &Call<'_>, doc: &Doc) -> Vec<String> {
    let sid = app.recording_sid();
    let url = app.twilio.add_recording(&sid, tone_wav(1.0));
    let after = call
        .record(doc, &sid, &url, 1)
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(after.verb_names(), ["Say", "Hangup"]);
    after.said()
}

/// A caller accepts their caller ID; the window choice follows.
async fn to_the_choice(app: &TestApp, call: &Call<'_>) -> Doc {
    let doc = app.ring(call).await;
    let doc = call.press(&doc, "1").await.unwrap().doc().unwrap();
    assert_eq!(doc.verb_names(), ["Gather", "Redirect"]);
    assert_eq!(doc.gather().unwrap().attr("numDigits"), Some("1"));
    assert_eq!(doc.redirect(), Some(action(&doc).as_str()));
    doc
}

fn window(start: &str, end: &str) -> Option<Occurrence> {
    Some(Occurrence {
        start: at(start),
        end: at(end),
    })
}

/// The pending list through the API: each row's window and not_before.
async fn pending(app: &TestApp, key: &str) -> Vec<(Value, Value, Option<Value>)> {
    let reply = app
        .api("GET", "/api/v1/callbacks?status=pending", key, None)
        .await;
    assert_eq!(reply.status, 200);
    reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["callback_number"].clone(),
                item["window"].clone(),
                item.get("not_before").cloned(),
            )
        })
        .collect()
}

async fn each_choice_sets_the_window_the_due_time_and_what_is_said(kind: Kind) {
    let app = spawn_on(kind, windows(Language::JaJp)).await;
    // Wed 2026-11-25 10:00 JST.
    let cases = [
        (
            CALLER,
            "1",
            window("2026-11-25T00:00:00Z", "2026-11-25T03:00:00Z"),
            "2026-11-25T03:00:00Z",
            "本日の午前9時から12時の間に",
        ),
        (
            "+819011112222",
            "2",
            window("2026-11-25T04:00:00Z", "2026-11-25T08:00:00Z"),
            "2026-11-25T08:00:00Z",
            "本日の午後1時から5時の間に",
        ),
        // As soon as possible: the SLA, four hours.
        (
            "+819033334444",
            "0",
            None,
            "2026-11-25T05:00:00Z",
            "本日14時までに",
        ),
    ];
    for (from, key, chosen, due, said) in cases {
        let sid = app.call_sid();
        let call = app.call(&sid, from);
        let doc = to_the_choice(&app, &call).await;
        assert_eq!(doc.said(), [JA_CHOICE]);
        assert_eq!(step_of(&doc), "window/1");
        let doc = call.press(&doc, key).await.unwrap().doc().unwrap();
        assert_eq!(doc.verb_names(), ["Say", "Record"]);
        assert_eq!(
            doc.said(),
            [PromptKey::RecordRequest.default_text(Language::JaJp)]
        );
        let record = app.record(&sid).await.unwrap();
        assert_eq!(record.window, chosen, "{key}");
        assert_eq!(record.due_at, at(due), "{key}");
        assert_eq!(record.confirmation, Confirmation::CallerId);
        assert_eq!(
            thanks(&app, &call, &doc).await,
            [format!(
                "ありがとうございました。担当者より{said}折り返しお電話いたします。失礼いたします。"
            )],
            "{key}"
        );
    }

    // The list: due order (a window's end is its due time); the afternoon
    // waits until 13:00.
    let key = app.api_key().await;
    let morning = json!({"start": "2026-11-25T00:00:00Z", "end": "2026-11-25T03:00:00Z"});
    let afternoon = json!({"start": "2026-11-25T04:00:00Z", "end": "2026-11-25T08:00:00Z"});
    assert_eq!(
        pending(&app, &key).await,
        [
            (json!(CALLER), morning.clone(), None),
            (json!("+819033334444"), Value::Null, None),
            (
                json!("+819011112222"),
                afternoon.clone(),
                Some(json!("2026-11-25T04:00:00Z"))
            ),
        ]
    );
    app.clock.set(at("2026-11-25T04:00:00Z"));
    assert_eq!(
        pending(&app, &key).await[2],
        (json!("+819011112222"), afternoon, None)
    );
}

async fn an_unclear_choice_is_asked_again_and_a_passing_window_comes_round_next_time(kind: Kind) {
    let app = spawn_on(kind, windows(Language::EnUs)).await;
    // Fri 2026-11-27 11:40 JST: the morning has 20 minutes left, too few.
    app.clock.set(at("2026-11-27T02:40:00Z"));
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = to_the_choice(&app, &call).await;
    assert_eq!(doc.said(), [EN_CHOICE]);
    let again = call.press(&doc, "7").await.unwrap().doc().unwrap();
    assert_eq!(again.said(), ["Sorry, we did not get that.", EN_CHOICE]);
    assert_eq!(step_of(&again), "window/2");
    assert_eq!(app.record(&sid).await.unwrap().window, None);
    let doc = call.press(&again, "1").await.unwrap().doc().unwrap();
    // The next business day: Monday.
    let record = app.record(&sid).await.unwrap();
    assert_eq!(
        record.window,
        window("2026-11-30T00:00:00Z", "2026-11-30T03:00:00Z")
    );
    assert_eq!(record.due_at, at("2026-11-30T03:00:00Z"));
    assert_eq!(
        thanks(&app, &call, &doc).await,
        [
            "Thank you. We will call you back between 9 am and 12 noon on Monday, November 30. Goodbye."
        ]
    );

    // Silence at every try: as soon as possible, and on to the request.
    let other = app.call_sid();
    let call = app.call(&other, "+819011112222");
    let mut doc = to_the_choice(&app, &call).await;
    for attempt in 2..=3 {
        doc = call.silence(&doc).await.unwrap().doc().unwrap();
        assert_eq!(step_of(&doc), format!("window/{attempt}"));
    }
    let doc = call.silence(&doc).await.unwrap().doc().unwrap();
    assert_eq!(doc.verb_names(), ["Say", "Say", "Record"]);
    assert_eq!(
        doc.said(),
        [
            "Sorry, we did not get that.",
            PromptKey::RecordRequest.default_text(Language::EnUs)
        ]
    );
    let record = app.record(&other).await.unwrap();
    assert_eq!(record.window, None);
    assert_eq!(record.due_at, at("2026-11-27T06:40:00Z"));
    assert_eq!(
        thanks(&app, &call, &doc).await,
        ["Thank you. We will call you back by 3:45 pm today. Goodbye."]
    );
}

async fn after_hours_a_window_comes_round_tomorrow_and_a_repeat_caller_keeps_it(kind: Kind) {
    let app = spawn_on(kind, windows(Language::JaJp)).await;
    // Wed 20:00 JST: closed.
    app.clock.set(at("2026-11-25T11:00:00Z"));
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = to_the_choice(&app, &call).await;
    assert!(step_of(&doc).starts_with("window/"));
    assert!(action(&doc).contains("/ivr/window/after-hours/"));
    let doc = call.press(&doc, "2").await.unwrap().doc().unwrap();
    let record = app.record(&sid).await.unwrap();
    assert_eq!(
        record.window,
        window("2026-11-26T04:00:00Z", "2026-11-26T08:00:00Z")
    );
    assert_eq!(record.due_at, at("2026-11-26T08:00:00Z"));
    assert_eq!(
        thanks(&app, &call, &doc).await,
        [
            "ありがとうございました。担当者より明日の午後1時から5時の間に折り返しお電話いたします。失礼いたします。"
        ]
    );

    // The same caller again: the request is kept, nothing asked again,
    // and the thanks says the window the record has.
    app.clock.set(at("2026-11-25T11:10:00Z"));
    let again = app.call_sid();
    let call = app.call(&again, CALLER);
    let doc = app.ring(&call).await;
    assert_eq!(doc.verb_names(), ["Say", "Say", "Record"]);
    assert_eq!(
        thanks(&app, &call, &doc).await,
        [
            "ありがとうございました。担当者より明日の午後1時から5時の間に折り返しお電話いたします。失礼いたします。"
        ]
    );
    let record = app.record(&again).await.unwrap();
    assert_eq!(record.id, app.record(&sid).await.unwrap().id);
    assert_eq!(record.repeat_calls.len(), 1);
    let key = app.api_key().await;
    assert_eq!(
        pending(&app, &key).await,
        [(
            json!(CALLER),
            json!({"start": "2026-11-26T04:00:00Z", "end": "2026-11-26T08:00:00Z"}),
            Some(json!("2026-11-26T04:00:00Z"))
        )]
    );
}

async fn without_announcing_the_thanks_promises_no_time(kind: Kind) {
    let mut quiet = windows(Language::JaJp);
    quiet.announce_due = false;
    let app = spawn_on(kind, quiet).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let doc = to_the_choice(&app, &call).await;
    let doc = call.press(&doc, "2").await.unwrap().doc().unwrap();
    // The window is kept all the same.
    assert_eq!(
        app.record(&sid).await.unwrap().due_at,
        at("2026-11-25T08:00:00Z")
    );
    assert_eq!(
        thanks(&app, &call, &doc).await,
        ["ありがとうございました。担当者より折り返しお電話いたします。失礼いたします。"]
    );

    let english = TenantSettings {
        announce_due: false,
        ..TenantSettings::for_language(Language::EnUs)
    };
    let app = spawn_on(kind, english).await;
    let (sid, doc) = app.call_to_recording().await;
    let call = app.call(&sid, CALLER);
    assert_eq!(
        thanks(&app, &call, &doc).await,
        ["Thank you. We will call you back. Goodbye."]
    );
}

/// `said` at the entry step of a fresh withheld call: the digits the
/// read-back's action carries, or `None` when asked again.
async fn entered(app: &TestApp, entry: &Doc, call: &Call<'_>, said: &str) -> Option<String> {
    let doc = call.speak(entry, said).await.unwrap().doc().unwrap();
    match step_of(&doc).as_str() {
        "confirm/1" => Some(action(&doc).rsplit('/').next().unwrap().to_owned()),
        "enter/2" => {
            assert_eq!(
                doc.said(),
                [
                    app.tenant.settings.prompt(PromptKey::InvalidInput),
                    app.tenant.settings.prompt(PromptKey::EnterNumberSpeech)
                ],
                "{said}"
            );
            None
        }
        other => panic!("{said}: {other}"),
    }
}

async fn japanese_numbers_said_in_any_form_are_read_back_and_confirmed_with_hai(kind: Kind) {
    let app = spawn_on(kind, speaking(windows(Language::JaJp))).await;
    let sid = app.call_sid();
    let call = app.call(&sid, "anonymous");
    let entry = app.ring(&call).await;
    let gather = entry.gather().unwrap();
    assert_eq!(gather.attr("input"), Some("dtmf speech"));
    assert_eq!(gather.attr("language"), Some("ja-JP"));
    assert_eq!(gather.attr("speechModel"), Some("phone_call"));
    assert_eq!(gather.attr("speechTimeout"), Some("3"));
    assert_eq!(
        entry.said().last().unwrap(),
        "折り返し先の電話番号を、市外局番からボタンで入力するか、お話しください。ボタンの場合は、最後にシャープを押してください。"
    );
    let heard = [
        ("０９０－１２３４－５６７８", Some("09012345678")),
        ("〇九〇の一二三四の五六七八", Some("09012345678")),
        (
            "ぜろきゅうぜろ いちにさんし ごろくななはち",
            Some("09012345678"),
        ),
        (
            "ゼロサン、イチニーサンヨン、ゴーロクナナハチ",
            Some("0312345678"),
        ),
        (
            "まるさん いちにさんよん ごーろくしちはち",
            Some("0312345678"),
        ),
        ("れいくれい-1234-5678", Some("09012345678")),
        ("03 1234 5678。", Some("0312345678")),
        ("零九零ー一二三四ー五六七八", Some("09012345678")),
        ("わかりません", None),
        ("千二百三十四", None),
        ("電話番号は0312345678です", None),
        ("いちにさん", None),
    ];
    for (said, digits) in heard {
        assert_eq!(
            entered(&app, &entry, &call, said).await.as_deref(),
            digits,
            "{said}"
        );
    }
    // Typed digits still work where speech is taken.
    let typed = call
        .press(&entry, "0312345678")
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(step_of(&typed), "confirm/1");

    let doc = call
        .speak(&entry, "ゼロキューゼロ、イチニーサンヨン、ゴーロクナナハチ")
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(
        doc.said(),
        [PromptKey::ConfirmNumber
            .default_text(Language::JaJp)
            .replace(
                "{number}",
                "ゼロキューゼロ、イチニーサンヨン、ゴーロクナナハチ"
            )]
    );
    assert_eq!(doc.gather().unwrap().attr("speechTimeout"), Some("2"));
    // いいえ: said again; はい: confirmed.
    let retype = call.speak(&doc, "いいえ").await.unwrap().doc().unwrap();
    assert_eq!(step_of(&retype), "enter/2");
    assert!(app.record(&sid).await.is_none());
    let doc = call.speak(&doc, "はい。").await.unwrap().doc().unwrap();
    assert_eq!(step_of(&doc), "window/1");
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.callback_number.as_str(), "+819012345678");
    assert_eq!(record.confirmation, Confirmation::Entered);
    // The window's key said; はい is no window.
    let unclear = call.speak(&doc, "はい").await.unwrap().doc().unwrap();
    assert_eq!(step_of(&unclear), "window/2");
    let doc = call.speak(&doc, "ニー").await.unwrap().doc().unwrap();
    assert_eq!(doc.verb_names(), ["Say", "Record"]);
    assert_eq!(
        app.record(&sid).await.unwrap().window,
        window("2026-11-25T04:00:00Z", "2026-11-25T08:00:00Z")
    );
}

async fn english_numbers_said_in_words_are_confirmed_with_yes(kind: Kind) {
    let app = spawn_on(kind, speaking(TenantSettings::for_language(Language::EnUs))).await;
    let sid = app.call_sid();
    let call = app.call(&sid, CALLER);
    let offer = app.ring(&call).await;
    assert_eq!(offer.gather().unwrap().attr("language"), Some("en-US"));
    // No: another number, said.
    let entry = call.speak(&offer, "No.").await.unwrap().doc().unwrap();
    assert_eq!(step_of(&entry), "enter/1");
    assert_eq!(
        entry.said(),
        [
            "Please say or enter the number we should call back, with its area code. If you type it, press the pound key at the end."
        ]
    );
    let heard = [
        (
            "oh nine oh one two three four five six seven eight",
            Some("09012345678"),
        ),
        (
            "zero three, one two three four, five six seven eight",
            Some("0312345678"),
        ),
        ("090 double one double two 3344", Some("09011223344")),
        (
            "Oh three. One, two, three, four. Five, six, seven, eight.",
            Some("0312345678"),
        ),
        ("my number is oh three", None),
        ("four to five", None),
        (
            "plus eight one three one two three four five six seven eight",
            None,
        ),
        ("double", None),
    ];
    for (said, digits) in heard {
        assert_eq!(
            entered(&app, &entry, &call, said).await.as_deref(),
            digits,
            "{said}"
        );
    }
    let doc = call
        .speak(
            &entry,
            "zero nine zero double one double two three three four four",
        )
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(
        doc.said(),
        [
            "You entered 0 9 0, 1 1 2 2, 3 3 4 4. If that is right, press 1. To enter it again, press 2."
        ]
    );
    let doc = call.speak(&doc, "Yes.").await.unwrap().doc().unwrap();
    assert_eq!(doc.verb_names(), ["Say", "Record"]);
    let record = app.record(&sid).await.unwrap();
    assert_eq!(record.callback_number.as_str(), "+819011223344");
    assert_eq!(record.confirmation, Confirmation::Entered);
}

async fn a_keypad_only_tenant_takes_no_speech(kind: Kind) {
    let app = spawn_on(kind, TenantSettings::default()).await;
    let sid = app.call_sid();
    let call = app.call(&sid, "anonymous");
    let entry = app.ring(&call).await;
    assert_eq!(entry.gather().unwrap().attr("input"), Some("dtmf"));
    assert_eq!(entry.gather().unwrap().attr("speechModel"), None);
    assert!(call.speak(&entry, "ゼロサン").await.is_err());
    // A SpeechResult it never asked for is no answer.
    let posted = call
        .post(&action(&entry), &[("SpeechResult", "0312345678")])
        .await
        .unwrap()
        .doc()
        .unwrap();
    assert_eq!(step_of(&posted), "enter/2");
    assert_eq!(
        posted.said(),
        [
            PromptKey::InvalidInput.default_text(Language::JaJp),
            PromptKey::EnterNumber.default_text(Language::JaJp)
        ]
    );
}

crate::on_every_backend!(
    each_choice_sets_the_window_the_due_time_and_what_is_said,
    an_unclear_choice_is_asked_again_and_a_passing_window_comes_round_next_time,
    after_hours_a_window_comes_round_tomorrow_and_a_repeat_caller_keeps_it,
    without_announcing_the_thanks_promises_no_time,
    japanese_numbers_said_in_any_form_are_read_back_and_confirmed_with_hai,
    english_numbers_said_in_words_are_confirmed_with_yes,
    a_keypad_only_tenant_takes_no_speech,
);
