//! The Twilio REST client against the Twilio stand-in: exactly what each
//! operation sends, with whose credentials, how Twilio's refusals come
//! back, how the recordings list is paged, and where media redirects may
//! lead.

use crate::helpers::{ACCOUNT_SID, AUTH_TOKEN, CALLER, COMPANY};
use afureko::domain::ids::{AccountSid, CallSid, MessagingServiceSid, RecordingSid};
use afureko::domain::phone::{E164, Region};
use afureko::domain::routing::Destination;
use afureko::domain::tenant::{AuthToken, RecordingFormat, TwilioCredentials};
use afureko::telemetry::error_chain;
use afureko::twilio::api::{
    CallInfo, CallParams, MAX_JSON_BYTES, MediaHosts, MessageParams, RecordingInfo, Sender,
    TwilioApi, TwilioApiError, TwilioErrorBody,
};
use afureko::twilio::sim::{FakeCall, FakeRecording, FakeTwilioApi, TwilioFailure, tone_wav};
use jiff::Timestamp;

const AGENT: &str = "+819012345678";

fn creds(token: &str) -> TwilioCredentials {
    TwilioCredentials {
        account_sid: AccountSid::parse(ACCOUNT_SID).unwrap(),
        auth_token: AuthToken::new(token).unwrap(),
        webhook_shared_key: None,
        previous_auth_token: None,
    }
}

fn number(n: &str) -> E164 {
    E164::parse(n, Region::JP).unwrap()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn twilio() -> (FakeTwilioApi, TwilioApi) {
    let fake = FakeTwilioApi::start(ACCOUNT_SID, AUTH_TOKEN).await.unwrap();
    let api = TwilioApi::new(&fake.base_url(), MediaHosts::default()).unwrap();
    (fake, api)
}

fn agent_call() -> CallParams {
    CallParams {
        to: Destination::Number(number(AGENT)),
        from: number(COMPANY),
        url: "https://calls.example.com/twilio/acme/agent-leg".into(),
        status_callback: "https://calls.example.com/twilio/acme/agent-leg/status".into(),
        timeout_seconds: 25,
    }
}

#[tokio::test]
async fn a_call_is_created_with_every_parameter_and_the_tenants_credentials() {
    let (fake, api) = twilio().await;
    let sid = api
        .create_call(&creds(AUTH_TOKEN), &agent_call())
        .await
        .unwrap();
    let created = fake.created_calls();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].sid, sid.as_str());
    assert_eq!(
        created[0].params,
        pairs(&[
            ("To", AGENT),
            ("From", COMPANY),
            ("Url", "https://calls.example.com/twilio/acme/agent-leg"),
            ("Method", "POST"),
            (
                "StatusCallback",
                "https://calls.example.com/twilio/acme/agent-leg/status"
            ),
            ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
            ("Timeout", "25"),
        ])
    );
    // What a test of the agent leg plays later.
    assert_eq!(
        created[0].params("StatusCallbackEvent"),
        ["initiated", "ringing", "answered", "completed"]
    );
    assert_eq!(
        api.get_call(&creds(AUTH_TOKEN), &sid).await.unwrap(),
        CallInfo {
            sid: sid.clone(),
            from: Some(COMPANY.into()),
            to: Some(AGENT.into()),
            status: Some("queued".into()),
            direction: Some("outbound-api".into()),
        }
    );

    let sip = CallParams {
        to: Destination::Sip("sip:agent@pbx.example.com".into()),
        ..agent_call()
    };
    let second = api.create_call(&creds(AUTH_TOKEN), &sip).await.unwrap();
    assert_ne!(second, sid);
    assert_eq!(
        fake.created_calls()[1].param("To"),
        Some("sip:agent@pbx.example.com")
    );
}

#[tokio::test]
async fn a_wrong_token_gets_twilios_401_body_in_the_error_and_nothing_is_created() {
    let (fake, api) = twilio().await;
    let err = api
        .create_call(&creds("not-the-token"), &agent_call())
        .await
        .unwrap_err();
    assert_eq!(
        err.twilio(),
        Some(&TwilioErrorBody {
            code: Some(20003),
            message: Some("Authenticate".into()),
            more_info: Some("https://www.twilio.com/docs/errors/20003".into()),
            status: 401,
        })
    );
    assert_eq!(
        error_chain(&err),
        "Twilio answered 401 for the new call: error 20003: Authenticate (https://www.twilio.com/docs/errors/20003)"
    );
    assert!(fake.created_calls().is_empty());
    let err = api
        .send_message(
            &creds("not-the-token"),
            &MessageParams {
                to: number(CALLER),
                sender: Sender::Number(number(COMPANY)),
                body: "x".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.twilio().and_then(|t| t.code), Some(20003));
    assert!(fake.sent_messages().is_empty());
}

#[tokio::test]
async fn a_refused_call_keeps_twilios_error_with_the_numbers_masked() {
    let (fake, api) = twilio().await;
    fake.fail_calls(Some(TwilioFailure::unverified_caller_id()));
    let err = api
        .create_call(&creds(AUTH_TOKEN), &agent_call())
        .await
        .unwrap_err();
    let chain = error_chain(&err);
    assert_eq!(
        chain,
        "Twilio answered 400 for the new call: error 21210: The source phone number provided, +81*****3456, is not yet verified for your account. You may only make calls from phone numbers that you've verified or purchased from Twilio. (https://www.twilio.com/docs/errors/21210)"
    );
    assert!(!chain.contains(COMPANY) && !chain.contains(AUTH_TOKEN));
    assert!(fake.created_calls().is_empty());

    fake.fail_calls(None);
    assert!(
        api.create_call(&creds(AUTH_TOKEN), &agent_call())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn messages_go_from_a_number_or_a_messaging_service() {
    let (fake, api) = twilio().await;
    let body = "あふれ呼です。本日中にお電話いたします。";
    let from_number = MessageParams {
        to: number(CALLER),
        sender: Sender::Number(number(COMPANY)),
        body: body.into(),
    };
    let service = MessagingServiceSid::parse("MG0123456789abcdef0123456789abcdef").unwrap();
    let from_service = MessageParams {
        sender: Sender::Service(service.clone()),
        ..from_number.clone()
    };
    let first = api
        .send_message(&creds(AUTH_TOKEN), &from_number)
        .await
        .unwrap();
    let second = api
        .send_message(&creds(AUTH_TOKEN), &from_service)
        .await
        .unwrap();
    let sent = fake.sent_messages();
    assert_eq!(
        (sent[0].sid.as_str(), sent[1].sid.as_str()),
        (first.as_str(), second.as_str())
    );
    assert_eq!(
        sent[0].params,
        pairs(&[("To", CALLER), ("From", COMPANY), ("Body", body)])
    );
    assert_eq!(
        sent[1].params,
        pairs(&[
            ("To", CALLER),
            ("MessagingServiceSid", service.as_str()),
            ("Body", body)
        ])
    );
}

#[tokio::test]
async fn a_message_to_a_landline_keeps_error_21614() {
    let (fake, api) = twilio().await;
    fake.fail_messages(Some(TwilioFailure::not_a_mobile_number()));
    let message = MessageParams {
        to: number(CALLER),
        sender: Sender::Number(number(COMPANY)),
        body: "x".into(),
    };
    let err = api
        .send_message(&creds(AUTH_TOKEN), &message)
        .await
        .unwrap_err();
    assert_eq!(
        err.twilio(),
        Some(&TwilioErrorBody {
            code: Some(21614),
            message: Some("'To' number +81*****5678 is not a valid mobile number".into()),
            more_info: Some("https://www.twilio.com/docs/errors/21614".into()),
            status: 400,
        })
    );
    assert!(fake.sent_messages().is_empty());
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn recording_sid(n: u32) -> String {
    format!("RE{n:032x}")
}

fn call_sid(n: u32) -> String {
    format!("CA{n:032x}")
}

async fn all_sids(pages: &mut afureko::twilio::api::RecordingPages<'_>) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        all.push(page.iter().map(|r| r.sid.to_string()).collect());
    }
    all
}

#[tokio::test]
async fn recordings_are_listed_by_day_page_by_page_each_once() {
    let (fake, api) = twilio().await;
    // Seven from midnight GMT of the 24th on, one a second before.
    for n in 1..=7 {
        let created = at("2026-11-24T00:00:00Z") + jiff::SignedDuration::from_hours(n.into());
        fake.list_recording(FakeRecording::record_verb(
            &recording_sid(n),
            &call_sid(n),
            created,
        ));
    }
    fake.list_recording(FakeRecording::record_verb(
        &recording_sid(99),
        &call_sid(99),
        at("2026-11-23T23:59:59Z"),
    ));
    let creds = creds(AUTH_TOKEN);
    let since = jiff::civil::date(2026, 11, 24);
    let mut pages = api.list_recordings(&creds, since, 3).unwrap();
    let first = pages.next_page().await.unwrap().unwrap();
    assert_eq!(
        first[0],
        RecordingInfo {
            sid: RecordingSid::parse(&recording_sid(7)).unwrap(),
            call_sid: Some(CallSid::parse(&call_sid(7)).unwrap()),
            source: "RecordVerb".into(),
            status: "completed".into(),
            duration_seconds: Some(5),
            date_created: Some(at("2026-11-24T07:00:00Z")),
        }
    );
    // A recording made now pushes the 5th onto the next page too.
    fake.list_recording(FakeRecording::record_verb(
        &recording_sid(8),
        &call_sid(8),
        at("2026-11-24T08:00:00Z"),
    ));
    let rest = all_sids(&mut pages).await;
    let sids = |ns: &[u32]| ns.iter().map(|n| recording_sid(*n)).collect::<Vec<_>>();
    assert_eq!(
        first.iter().map(|r| r.sid.to_string()).collect::<Vec<_>>(),
        sids(&[7, 6, 5])
    );
    assert_eq!(rest, [sids(&[4, 3]), sids(&[2, 1])]);

    let queries = fake.list_queries();
    assert_eq!(queries.len(), 3);
    assert_eq!(
        queries[0],
        pairs(&[("DateCreated>", "2026-11-24"), ("PageSize", "3")])
    );
    for (page, query) in queries.iter().enumerate().skip(1) {
        let value = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value("DateCreated>"), Some("2026-11-24"));
        assert_eq!(value("Page"), Some(page.to_string().as_str()));
    }
}

#[tokio::test]
async fn other_sources_are_listed_and_told_apart() {
    let (fake, api) = twilio().await;
    let mut dial =
        FakeRecording::record_verb(&recording_sid(1), &call_sid(1), at(crate::helpers::NOW));
    dial.source = "DialVerb".into();
    dial.duration_seconds = -1;
    fake.list_recording(dial);
    let creds = creds(AUTH_TOKEN);
    let mut pages = api
        .list_recordings(&creds, jiff::civil::date(2026, 11, 25), 1000)
        .unwrap();
    let page = pages.next_page().await.unwrap().unwrap();
    assert_eq!(
        (
            page.len(),
            page[0].is_record_verb(),
            page[0].duration_seconds
        ),
        (1, false, None)
    );
    assert_eq!(pages.next_page().await.unwrap(), None);
}

/// Two `<Record>` recordings made now.
fn list_two_recordings(fake: &FakeTwilioApi) {
    for n in 1..=2 {
        fake.list_recording(FakeRecording::record_verb(
            &recording_sid(n),
            &call_sid(n),
            at(crate::helpers::NOW),
        ));
    }
}

#[tokio::test]
async fn a_page_that_failed_is_read_again() {
    let (fake, api) = twilio().await;
    list_two_recordings(&fake);
    let creds = creds(AUTH_TOKEN);
    let mut pages = api
        .list_recordings(&creds, jiff::civil::date(2026, 11, 25), 1)
        .unwrap();
    assert_eq!(pages.next_page().await.unwrap().unwrap().len(), 1);
    fake.set_available(false);
    let err = pages.next_page().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Twilio answered 503 for the recordings list"
    );
    fake.set_available(true);
    let second = pages.next_page().await.unwrap().unwrap();
    assert_eq!(second[0].sid.as_str(), recording_sid(1));
    assert_eq!(pages.next_page().await.unwrap(), None);
}

#[tokio::test]
async fn a_next_page_elsewhere_is_refused() {
    let (fake, api) = twilio().await;
    let other = FakeTwilioApi::start(ACCOUNT_SID, AUTH_TOKEN).await.unwrap();
    list_two_recordings(&fake);
    let creds = creds(AUTH_TOKEN);
    let since = jiff::civil::date(2026, 11, 25);
    let port = fake.base_url().rsplit(':').next().unwrap().to_owned();
    for elsewhere in [
        other.base_url(),
        format!("http://localhost:{port}"),
        "//evil.test".to_owned(),
        format!("http://user:pw@127.0.0.1:{port}"),
    ] {
        fake.prefix_next_pages(&elsewhere);
        let mut pages = api.list_recordings(&creds, since, 1).unwrap();
        let err = pages.next_page().await.unwrap_err();
        assert!(
            matches!(err, TwilioApiError::PageElsewhere { .. }),
            "{elsewhere}: {err}"
        );
        assert!(other.list_queries().is_empty());
    }
    // The same origin written out in full is the same list.
    fake.prefix_next_pages(&fake.base_url());
    let mut pages = api.list_recordings(&creds, since, 1).unwrap();
    assert_eq!(all_sids(&mut pages).await.len(), 2);
}

#[tokio::test]
async fn answers_over_the_size_bound_are_refused() {
    let (fake, api) = twilio().await;
    fake.add_call(FakeCall::inbound(&call_sid(1), CALLER, COMPANY));
    let sid = CallSid::parse(&call_sid(1)).unwrap();
    let creds = creds(AUTH_TOKEN);
    assert_eq!(
        api.get_call(&creds, &sid).await.unwrap().from.as_deref(),
        Some(CALLER)
    );
    fake.pad_answers(MAX_JSON_BYTES as usize);
    let err = api.get_call(&creds, &sid).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Twilio's answer for the call lookup is larger than {MAX_JSON_BYTES} bytes")
    );
    let err = api.create_call(&creds, &agent_call()).await.unwrap_err();
    assert!(
        matches!(err, TwilioApiError::AnswerTooLarge { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_call_is_twilios_404() {
    let (_fake, api) = twilio().await;
    let err = api
        .get_call(&creds(AUTH_TOKEN), &CallSid::parse(&call_sid(5)).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        (
            err.twilio().and_then(|t| t.code),
            err.twilio().map(|t| t.status)
        ),
        (Some(20404), Some(404))
    );
}

/// #25: a redirect from the media base is followed within its origin
/// (scheme, host and port) or to an allowed media host, never to the same
/// host on another port.
#[tokio::test]
async fn media_redirects_stay_in_the_origin_or_go_to_media_hosts() {
    let (fake, api) = twilio().await;
    let other = FakeTwilioApi::start(ACCOUNT_SID, AUTH_TOKEN).await.unwrap();
    let sid = RecordingSid::parse(&recording_sid(1)).unwrap();
    let (ours, theirs) = (tone_wav(0.2), tone_wav(0.3));
    fake.add_recording(sid.as_str(), ours.clone());
    other.add_recording(sid.as_str(), theirs.clone());
    let creds = creds(AUTH_TOKEN);
    let download = |api: TwilioApi| {
        let (creds, sid) = (creds.clone(), sid.clone());
        async move {
            let mut audio = Vec::new();
            api.download(&creds, &sid, RecordingFormat::Wav, 1 << 20, &mut audio)
                .await
                .map(|_| audio)
        }
    };

    fake.redirect_media_to(Some(&fake.base_url()));
    assert_eq!(download(api.clone()).await.unwrap(), ours);
    assert_eq!(fake.downloads(), 1);

    // 127.0.0.1 on another port: another origin.
    fake.redirect_media_to(Some(&other.base_url()));
    let chain = error_chain(&download(api.clone()).await.unwrap_err());
    assert!(
        chain.contains(&format!(
            "a redirect to {}, which is neither the API base's origin nor a Twilio media host",
            other.base_url()
        )),
        "{chain}"
    );
    let host_only = MediaHosts::parse("127.0.0.1,*.twilio.com").unwrap();
    let api_with_host = TwilioApi::new(&fake.base_url(), host_only).unwrap();
    assert!(download(api_with_host).await.is_err());
    assert_eq!(other.downloads(), 0, "never reached");

    let named = MediaHosts::parse(&other.base_url()).unwrap();
    let api_with_origin = TwilioApi::new(&fake.base_url(), named).unwrap();
    assert_eq!(download(api_with_origin).await.unwrap(), theirs);
    assert_eq!(other.downloads(), 1);
}
