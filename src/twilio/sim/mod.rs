//! A stand-in for Twilio's voice platform, for `afureko demo` and the tests:
//! it signs requests the way Twilio does, sends them through the Router
//! in-process, reads the TwiML back, and serves Twilio's REST API
//! (recordings, calls, messages) on 127.0.0.1. Nothing here talks to the
//! real Twilio.
//!
//! This file drives calls; `twiml_reader` reads the replies, `fake_api`
//! fakes Twilio's REST API and `wav` makes the audio.

mod fake_api;
mod outbound;
mod twiml_reader;
mod wav;

pub use fake_api::{FakeCall, FakeRecording, FakeTwilioApi, Posted, TwilioFailure};
pub use outbound::{AgentPlay, CallBackScript, CustomerPlay};
pub use twiml_reader::{Doc, Node};
pub use wav::{mp3_of, tone_wav};

use crate::twilio::signature::{Algorithm, SIGNATURE_HEADER, sign};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt;

/// Why a simulated step could not be played.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Twilio only calls URLs it was given; the Router only serves the
    /// public URL, so anything else is a mistake in the test or the TwiML.
    #[error("{0} is not under the public URL")]
    NotUnderPublicUrl(String),
    /// The step needs a verb (or attribute) the TwiML does not have.
    #[error("the TwiML has no {0}")]
    Missing(&'static str),
    /// The reply is not a TwiML document.
    #[error("not TwiML: {0}")]
    Xml(String),
    /// The request could not be built, sent or read.
    #[error("request failed: {0}")]
    Transport(String),
    /// afureko answered with something Twilio would not take.
    #[error("answered {status}: {body}")]
    Refused { status: u16, body: String },
}

fn transport(e: impl std::fmt::Display) -> SimError {
    SimError::Transport(e.to_string())
}

/// Twilio, as far as afureko can tell: signed form POSTs to the Router,
/// in-process, or over HTTP to a running server.
#[derive(Clone)]
pub struct Sim {
    transport: Transport,
    public_url: String,
    account_sid: String,
    auth_token: String,
}

#[derive(Clone)]
enum Transport {
    Router(Router),
    Http(reqwest::Client),
}

/// One call in progress; every request carries its CallSid, From and To.
pub struct Call<'a> {
    sim: &'a Sim,
    call_sid: String,
    from: String,
    to: String,
    /// `inbound`, or `outbound-api` for a call afureko placed.
    direction: &'static str,
    /// A placed call's Url and StatusCallback.
    url: Option<String>,
    status_callback: Option<String>,
}

/// What afureko answered, as Twilio would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    /// The body as TwiML, to drive the next step of the call.
    pub fn doc(&self) -> Result<Doc, SimError> {
        Doc::parse(&self.body)
    }
}

impl Sim {
    /// `router` is the real app; `public_url` (e.g. `https://calls.example.com`)
    /// is what Twilio signs over and is stripped off to route in-process;
    /// `auth_token` is the tenant's, so signatures verify.
    pub fn new(
        router: Router,
        public_url: impl Into<String>,
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
    ) -> Self {
        Self::with(
            Transport::Router(router),
            public_url,
            account_sid,
            auth_token,
        )
    }

    /// Twilio calling afureko over HTTP at `public_url` (a server on this
    /// machine: the stand-in never leaves loopback).
    pub fn over_http(
        public_url: impl Into<String>,
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
    ) -> Result<Self, SimError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(transport)?;
        Ok(Self::with(
            Transport::Http(client),
            public_url,
            account_sid,
            auth_token,
        ))
    }

    fn with(
        transport: Transport,
        public_url: impl Into<String>,
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
    ) -> Self {
        let public_url: String = public_url.into();
        Sim {
            transport,
            public_url: public_url.trim_end_matches('/').to_owned(),
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
        }
    }

    /// Starts a call from `from` to `to` (no request is sent yet).
    pub fn call(&self, call_sid: &str, from: &str, to: &str) -> Call<'_> {
        Call {
            sim: self,
            call_sid: call_sid.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            direction: "inbound",
            url: None,
            status_callback: None,
        }
    }

    /// The path and query the Router sees for the public `url`.
    fn local_uri<'u>(&self, url: &'u str) -> Result<&'u str, SimError> {
        url.strip_prefix(self.public_url.as_str())
            .filter(|rest| rest.starts_with('/'))
            .ok_or_else(|| SimError::NotUnderPublicUrl(url.to_owned()))
    }

    /// POSTs `params` as a form to `url` through the Router; `signature`
    /// None sends no signature header.
    async fn send(
        &self,
        url: &str,
        params: &[(String, String)],
        signature: Option<String>,
    ) -> Result<Reply, SimError> {
        let uri = self.local_uri(url)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let router = match &self.transport {
            Transport::Router(router) => router.clone(),
            Transport::Http(client) => return over_http(client, url, body, signature).await,
        };
        let mut request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let request = request.body(Body::from(body)).map_err(transport)?;
        let Ok(response) = router.oneshot(request).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(transport)?;
        Ok(Reply {
            status,
            content_type,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

/// A signed form POST to `url` over HTTP, as Twilio sends it.
async fn over_http(
    client: &reqwest::Client,
    url: &str,
    body: String,
    signature: Option<String>,
) -> Result<Reply, SimError> {
    let mut request = client
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    let response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.map_err(transport)?;
    Ok(Reply {
        status,
        content_type,
        body,
    })
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Call<'_> {
    /// The CallSid every request of this call carries.
    pub fn call_sid(&self) -> &str {
        &self.call_sid
    }

    /// The parameters Twilio sends on every voice request of this call.
    fn voice_params(&self) -> Vec<(String, String)> {
        pairs(&[
            ("CallSid", &self.call_sid),
            ("AccountSid", &self.sim.account_sid),
            ("From", &self.from),
            ("To", &self.to),
            ("Caller", &self.from),
            ("Called", &self.to),
            ("CallStatus", "in-progress"),
            ("ApiVersion", "2010-04-01"),
            ("Direction", self.direction),
            ("FromCountry", "JP"),
            ("ToCountry", "JP"),
        ])
    }

    /// A voice request to `url`: the call's parameters plus `extra`,
    /// signed over the full URL as Twilio does.
    pub async fn post(&self, url: &str, extra: &[(&str, &str)]) -> Result<Reply, SimError> {
        let mut params = self.voice_params();
        params.extend(pairs(extra));
        self.post_signed(url, params).await
    }

    async fn post_signed(
        &self,
        url: &str,
        params: Vec<(String, String)>,
    ) -> Result<Reply, SimError> {
        let signature = sign(&self.sim.auth_token, url, &params, Algorithm::Sha1);
        self.sim.send(url, &params, Some(signature)).await
    }

    /// Exactly `params` with exactly `signature` (none when None): for
    /// tests that forge, omit or hand-sign requests.
    pub async fn post_raw(
        &self,
        url: &str,
        params: Vec<(String, String)>,
        signature: Option<String>,
    ) -> Result<Reply, SimError> {
        self.sim.send(url, &params, signature).await
    }

    /// The call arrives: Twilio requests the number's voice URL.
    pub async fn incoming(&self, voice_url: &str) -> Result<Reply, SimError> {
        self.post(voice_url, &[]).await
    }

    /// The caller presses `digits` at the document's `<Gather>`. Twilio
    /// strips the finish key from Digits and reports it in FinishedOnKey
    /// when the gather waits for one (no numDigits).
    pub async fn press(&self, doc: &Doc, digits: &str) -> Result<Reply, SimError> {
        let gather = doc.gather().ok_or(SimError::Missing("Gather"))?;
        let action = gather
            .attr("action")
            .ok_or(SimError::Missing("Gather action"))?;
        let mut extra = vec![("Digits", digits)];
        if gather.attr("numDigits").is_none() {
            extra.push(("FinishedOnKey", "#"));
        }
        self.post(action, &extra).await
    }

    /// The caller speaks at the document's `<Gather>`, which must take
    /// speech: Twilio posts what its recognition heard (`heard`) as
    /// SpeechResult, with a Confidence and no Digits.
    pub async fn speak(&self, doc: &Doc, heard: &str) -> Result<Reply, SimError> {
        let gather = doc.gather().ok_or(SimError::Missing("Gather"))?;
        let listens = gather
            .attr("input")
            .is_some_and(|input| input.split(' ').any(|i| i == "speech"));
        if !listens {
            return Err(SimError::Missing("Gather input speech"));
        }
        let action = gather
            .attr("action")
            .ok_or(SimError::Missing("Gather action"))?;
        self.post(action, &[("SpeechResult", heard), ("Confidence", "0.92")])
            .await
    }

    /// The caller presses nothing: Twilio falls through the `<Gather>` to
    /// the next verb, the `<Redirect>`, and requests it without Digits.
    pub async fn silence(&self, doc: &Doc) -> Result<Reply, SimError> {
        let url = doc.redirect().ok_or(SimError::Missing("Redirect"))?;
        self.post(url, &[]).await
    }

    /// The caller speaks after the beep and presses `#`: Twilio requests
    /// the `<Record>` action with the recording's details.
    pub async fn record(
        &self,
        doc: &Doc,
        recording_sid: &str,
        recording_url: &str,
        duration_seconds: u32,
    ) -> Result<Reply, SimError> {
        let record = doc.record().ok_or(SimError::Missing("Record"))?;
        let action = record
            .attr("action")
            .ok_or(SimError::Missing("Record action"))?;
        let duration = duration_seconds.to_string();
        self.post(
            action,
            &[
                ("RecordingUrl", recording_url),
                ("RecordingSid", recording_sid),
                ("RecordingDuration", &duration),
                ("Digits", "#"),
            ],
        )
        .await
    }

    /// Twilio's recordingStatusCallback for the `<Record>` (`completed`,
    /// `absent`, ...). It is not a voice request: it carries no From/To,
    /// only the account, call and recording, and is signed all the same.
    pub async fn recording_status(
        &self,
        doc: &Doc,
        status: &str,
        recording_sid: &str,
        recording_url: &str,
        duration_seconds: u32,
    ) -> Result<Reply, SimError> {
        let record = doc.record().ok_or(SimError::Missing("Record"))?;
        let url = record
            .attr("recordingStatusCallback")
            .ok_or(SimError::Missing("Record recordingStatusCallback"))?;
        let duration = duration_seconds.to_string();
        let params = pairs(&[
            ("AccountSid", &self.sim.account_sid),
            ("CallSid", &self.call_sid),
            ("RecordingSid", recording_sid),
            ("RecordingUrl", recording_url),
            ("RecordingStatus", status),
            ("RecordingDuration", &duration),
            ("RecordingChannels", "1"),
            ("RecordingSource", "RecordVerb"),
        ]);
        self.post_signed(url, params).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio::signature::verify;
    use axum::http::HeaderMap;
    use axum::routing::post;

    /// A Router that echoes what it got: URI, signature validity and form.
    fn echo_router() -> Router {
        async fn echo(
            uri: axum::http::Uri,
            headers: HeaderMap,
            body: String,
        ) -> ([(header::HeaderName, &'static str); 1], String) {
            let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            let url = format!("https://calls.example.com{uri}");
            let valid = headers
                .get(SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|sig| verify("tok", &url, &params, sig, Algorithm::Sha1));
            let form = params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n");
            (
                [(header::CONTENT_TYPE, "text/plain")],
                format!("{uri}\nsigned={valid}\n{form}"),
            )
        }
        Router::new().route("/{*rest}", post(echo))
    }

    fn sim() -> Sim {
        Sim::new(echo_router(), "https://calls.example.com/", "AC1", "tok")
    }

    #[tokio::test]
    async fn posts_signed_forms_to_the_local_path() {
        let sim = sim();
        let call = sim.call("CA1", "+81312345678", "+81120123456");
        let reply = call
            .post(
                "https://calls.example.com/twilio/acme/voice?x=1",
                &[("Digits", "1 2&")],
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.content_type.as_deref(), Some("text/plain"));
        let lines: Vec<&str> = reply.body.lines().collect();
        assert_eq!(lines[0], "/twilio/acme/voice?x=1");
        assert_eq!(lines[1], "signed=true");
        for expected in [
            "CallSid=CA1",
            "AccountSid=AC1",
            "From=+81312345678",
            "Caller=+81312345678",
            "To=+81120123456",
            "Called=+81120123456",
            "CallStatus=in-progress",
            "ApiVersion=2010-04-01",
            "Direction=inbound",
            "FromCountry=JP",
            "ToCountry=JP",
            "Digits=1 2&",
        ] {
            assert!(lines.contains(&expected), "{expected} in {lines:?}");
        }

        let raw = call
            .post_raw(
                "https://calls.example.com/x",
                vec![("A".into(), "b".into())],
                Some("forged".into()),
            )
            .await
            .unwrap();
        assert_eq!(raw.body, "/x\nsigned=false\nA=b");
        let unsigned = call
            .post_raw("https://calls.example.com/x", Vec::new(), None)
            .await
            .unwrap();
        assert_eq!(unsigned.body, "/x\nsigned=false\n");

        for outside in [
            "https://evil.test/twilio/acme/voice",
            "https://calls.example.com.evil.test/x",
            "https://calls.example.com",
            "/twilio/acme/voice",
        ] {
            assert!(
                matches!(
                    call.post(outside, &[]).await,
                    Err(SimError::NotUnderPublicUrl(_))
                ),
                "{outside}"
            );
        }
    }

    #[tokio::test]
    async fn plays_the_documents_verbs() {
        let sim = sim();
        let call = sim.call("CA1", "+81312345678", "+81120123456");
        let doc = Doc::parse(concat!(
            r##"<Response><Gather action="https://calls.example.com/g" finishOnKey="#"/>"##,
            r#"<Redirect>https://calls.example.com/r</Redirect>"#,
            r#"<Record action="https://calls.example.com/done" "#,
            r#"recordingStatusCallback="https://calls.example.com/status"/></Response>"#
        ))
        .unwrap();

        let pressed = call.press(&doc, "0901234").await.unwrap();
        assert!(pressed.body.starts_with("/g\nsigned=true\n"));
        assert!(pressed.body.contains("\nDigits=0901234"));
        assert!(pressed.body.contains("\nFinishedOnKey=#"));

        assert!(matches!(
            call.speak(&doc, "ゼロサン").await,
            Err(SimError::Missing("Gather input speech"))
        ));
        let listening = Doc::parse(
            r#"<Response><Gather input="dtmf speech" action="https://calls.example.com/g"/></Response>"#,
        )
        .unwrap();
        let spoken = call.speak(&listening, "ゼロサン").await.unwrap();
        assert!(spoken.body.starts_with("/g\nsigned=true\n"));
        assert!(spoken.body.contains("\nSpeechResult=ゼロサン"));
        assert!(spoken.body.contains("\nConfidence=0.92"));
        assert!(!spoken.body.contains("Digits"));

        let silent = call.silence(&doc).await.unwrap();
        assert!(silent.body.starts_with("/r\nsigned=true\n"));
        assert!(!silent.body.contains("Digits"));

        let recorded = call.record(&doc, "RE1", "http://m/RE1", 3).await.unwrap();
        assert!(recorded.body.starts_with("/done\nsigned=true\n"));
        for expected in [
            "RecordingUrl=http://m/RE1",
            "RecordingSid=RE1",
            "RecordingDuration=3",
            "Digits=#",
        ] {
            assert!(recorded.body.contains(expected), "{expected}");
        }

        let status = call
            .recording_status(&doc, "completed", "RE1", "http://m/RE1", 3)
            .await
            .unwrap();
        let mut lines: Vec<&str> = status.body.lines().collect();
        lines.sort_unstable();
        assert_eq!(
            lines,
            [
                "/status",
                "AccountSid=AC1",
                "CallSid=CA1",
                "RecordingChannels=1",
                "RecordingDuration=3",
                "RecordingSid=RE1",
                "RecordingSource=RecordVerb",
                "RecordingStatus=completed",
                "RecordingUrl=http://m/RE1",
                "signed=true",
            ]
        );

        let one_digit = Doc::parse(
            r#"<Response><Gather action="https://calls.example.com/g" numDigits="1"/></Response>"#,
        )
        .unwrap();
        let pressed = call.press(&one_digit, "1").await.unwrap();
        assert!(!pressed.body.contains("FinishedOnKey"));

        let bare = Doc::parse("<Response><Hangup/></Response>").unwrap();
        assert!(matches!(
            call.press(&bare, "1").await,
            Err(SimError::Missing("Gather"))
        ));
        assert!(matches!(
            call.silence(&bare).await,
            Err(SimError::Missing("Redirect"))
        ));
        assert!(matches!(
            call.record(&bare, "RE1", "u", 1).await,
            Err(SimError::Missing("Record"))
        ));
        assert!(matches!(
            call.recording_status(&bare, "completed", "RE1", "u", 1)
                .await,
            Err(SimError::Missing("Record"))
        ));
    }
}
