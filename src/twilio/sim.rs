//! A stand-in for Twilio's voice platform, for `afureko demo` and the tests:
//! it signs requests the way Twilio does, sends them through the Router
//! in-process, reads the TwiML back, and serves recordings like Twilio's
//! REST API on 127.0.0.1. Nothing here talks to the real Twilio.

use crate::twilio::signature::{Algorithm, SIGNATURE_HEADER, sign};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use quick_xml::events::{BytesStart, Event};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
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
}

fn transport(e: impl std::fmt::Display) -> SimError {
    SimError::Transport(e.to_string())
}

/// Twilio, as far as afureko can tell: signed form POSTs to the Router.
pub struct Sim {
    router: Router,
    public_url: String,
    account_sid: String,
    auth_token: String,
}

/// One call in progress; every request carries its CallSid, From and To.
pub struct Call<'a> {
    sim: &'a Sim,
    call_sid: String,
    from: String,
    to: String,
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
        let public_url: String = public_url.into();
        Sim {
            router,
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
        let mut request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let request = request.body(Body::from(body)).map_err(transport)?;
        let Ok(response) = self.router.clone().oneshot(request).await;
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
            ("Direction", "inbound"),
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

/// A TwiML element: its name, unescaped attributes and text (trimmed, as
/// Twilio ignores the whitespace around a URL or a sentence), and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    fn empty(name: String) -> Node {
        Node {
            name,
            attrs: Vec::new(),
            text: String::new(),
            children: Vec::new(),
        }
    }

    /// The unescaped value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A TwiML document: the verbs inside `<Response>`, which Twilio runs in
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub verbs: Vec<Node>,
}

fn xml_error(e: impl std::fmt::Display) -> SimError {
    SimError::Xml(e.to_string())
}

fn open_node(e: &BytesStart<'_>) -> Result<Node, SimError> {
    let name = e.name().as_ref().to_owned();
    let mut node = Node::empty(name);
    for attr in e.attributes() {
        let attr = attr.map_err(xml_error)?;
        let key = attr.key.as_ref().to_owned();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(xml_error)?
            .into_owned();
        node.attrs.push((key, value));
    }
    Ok(node)
}

/// Closes `node`: trims its text and hands it to its parent.
fn close_node(mut node: Node, parent: &mut Node) {
    let trimmed = node.text.trim();
    if trimmed.len() != node.text.len() {
        node.text = trimmed.to_owned();
    }
    parent.children.push(node);
}

impl Doc {
    /// Parses a TwiML reply; the root must be a single `<Response>`, as
    /// Twilio rejects anything else.
    pub fn parse(xml: &str) -> Result<Doc, SimError> {
        let mut reader = quick_xml::Reader::from_str(xml);
        // The open elements; the bottom one collects the document's roots.
        let mut stack: Vec<Node> = vec![Node::empty(String::new())];
        loop {
            match reader.read_event().map_err(xml_error)? {
                Event::Start(e) => stack.push(open_node(&e)?),
                Event::Empty(e) => {
                    let node = open_node(&e)?;
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(node);
                    }
                }
                Event::End(_) => {
                    let node = stack.pop().ok_or_else(|| xml_error("unbalanced end tag"))?;
                    let parent = stack
                        .last_mut()
                        .ok_or_else(|| xml_error("unbalanced end tag"))?;
                    close_node(node, parent);
                }
                Event::Text(t) => {
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&t.xml10_content());
                    }
                }
                Event::CData(t) => {
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&t.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    let name = r.xml10_content();
                    let resolved = match r.resolve_char_ref().map_err(xml_error)? {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| xml_error(format!("unknown entity &{name};")))?
                            .to_owned(),
                    };
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&resolved);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let mut roots = match stack.pop() {
            Some(bottom) if stack.is_empty() => bottom.children,
            _ => return Err(xml_error("an element is not closed")),
        };
        match roots.pop() {
            Some(root) if roots.is_empty() && root.name == "Response" => Ok(Doc {
                verbs: root.children,
            }),
            Some(_) if !roots.is_empty() => Err(xml_error("more than one root element")),
            Some(root) => Err(xml_error(format!(
                "the root element must be <Response>, not <{}>",
                root.name
            ))),
            None => Err(xml_error("no root element")),
        }
    }

    /// Every text said, in order, including prompts inside `<Gather>`:
    /// what the caller hears.
    pub fn said(&self) -> Vec<String> {
        fn walk(nodes: &[Node], out: &mut Vec<String>) {
            for node in nodes {
                if node.name == "Say" {
                    out.push(node.text.clone());
                }
                walk(&node.children, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.verbs, &mut out);
        out
    }

    fn verb(&self, name: &str) -> Option<&Node> {
        self.verbs.iter().find(|v| v.name == name)
    }

    /// The first top-level `<Gather>`: where pressed digits go.
    pub fn gather(&self) -> Option<&Node> {
        self.verb("Gather")
    }

    /// The URL of the first top-level `<Redirect>`: where silence goes.
    pub fn redirect(&self) -> Option<&str> {
        self.verb("Redirect").map(|n| n.text.as_str())
    }

    /// The first top-level `<Record>`: its action and status callback.
    pub fn record(&self) -> Option<&Node> {
        self.verb("Record")
    }

    /// Whether the document ends the call with `<Hangup>`.
    pub fn hangs_up(&self) -> bool {
        self.verb("Hangup").is_some()
    }

    /// The top-level verb names, in order: the shape of the reply.
    pub fn verb_names(&self) -> Vec<&str> {
        self.verbs.iter().map(|v| v.name.as_str()).collect()
    }
}

#[derive(Default)]
struct MediaState {
    recordings: BTreeMap<String, Vec<u8>>,
    deleted: Vec<String>,
    downloads: usize,
    unavailable: bool,
}

#[derive(Clone)]
struct Media {
    account_sid: String,
    auth_token: String,
    state: Arc<Mutex<MediaState>>,
}

impl Media {
    fn lock(&self) -> MutexGuard<'_, MediaState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// HTTP basic auth with the account SID and auth token.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, credentials)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = BASE64.decode(credentials.trim()) else {
            return false;
        };
        decoded == format!("{}:{}", self.account_sid, self.auth_token).as_bytes()
    }

    /// Checks outage, auth and account; returns the recording SID and the
    /// extension of the last path segment.
    fn check(
        &self,
        headers: &HeaderMap,
        account: &str,
        file: &str,
    ) -> Result<(String, String), StatusCode> {
        if self.lock().unavailable {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        if !self.authorized(headers) {
            return Err(StatusCode::UNAUTHORIZED);
        }
        if account != self.account_sid {
            return Err(StatusCode::NOT_FOUND);
        }
        file.rsplit_once('.')
            .map(|(sid, ext)| (sid.to_owned(), ext.to_owned()))
            .ok_or(StatusCode::NOT_FOUND)
    }
}

async fn fetch_media(
    State(media): State<Media>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match media.check(&headers, &account, &file) {
        Err(status) => status.into_response(),
        Ok((sid, ext)) if ext == "wav" => {
            let mut state = media.lock();
            match state.recordings.get(&sid).cloned() {
                Some(bytes) => {
                    state.downloads += 1;
                    ([(header::CONTENT_TYPE, "audio/x-wav")], bytes).into_response()
                }
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn delete_media(
    State(media): State<Media>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match media.check(&headers, &account, &file) {
        Err(status) => status.into_response(),
        Ok((sid, ext)) if ext == "json" => {
            let mut state = media.lock();
            if state.recordings.remove(&sid).is_some() {
                state.deleted.push(sid);
                StatusCode::NO_CONTENT.into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Twilio's REST API for recordings, served on 127.0.0.1 so afureko's real
/// HTTP client can fetch and delete them: GET `{sid}.wav` and DELETE
/// `{sid}.json`, with HTTP basic auth, and an outage switch. The server
/// stops when this is dropped.
pub struct FakeTwilioApi {
    base_url: String,
    media: Media,
    server: tokio::task::JoinHandle<()>,
}

impl FakeTwilioApi {
    /// Serves the account `account_sid`, accepting `auth_token`, on a free
    /// port.
    pub async fn start(account_sid: &str, auth_token: &str) -> Result<Self, SimError> {
        let media = Media {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            state: Arc::new(Mutex::new(MediaState::default())),
        };
        // axum 0.8 cannot capture `{sid}.wav`: take the whole last segment.
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Recordings/{file}",
                get(fetch_media).delete(delete_media),
            )
            .with_state(media.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(transport)?;
        let addr = listener.local_addr().map_err(transport)?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeTwilioApi {
            base_url: format!("http://{addr}"),
            media,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`: the Twilio API base afureko should use.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Holds `audio` as recording `recording_sid`; returns the RecordingUrl
    /// Twilio would send (without an extension).
    pub fn add_recording(&self, recording_sid: &str, audio: Vec<u8>) -> String {
        self.media
            .lock()
            .recordings
            .insert(recording_sid.to_owned(), audio);
        format!(
            "{}/2010-04-01/Accounts/{}/Recordings/{recording_sid}",
            self.base_url, self.media.account_sid
        )
    }

    /// When false, every request gets 503, as in a Twilio outage.
    pub fn set_available(&self, available: bool) {
        self.media.lock().unavailable = !available;
    }

    /// How many recordings were downloaded successfully.
    pub fn downloads(&self) -> usize {
        self.media.lock().downloads
    }

    /// The recording SIDs deleted so far, in order.
    pub fn deleted(&self) -> Vec<String> {
        self.media.lock().deleted.clone()
    }
}

impl Drop for FakeTwilioApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A small 8 kHz 16-bit mono PCM WAV holding a ~440 Hz square tone, to
/// stand in for a caller's voice. Deterministic; negative or NaN lengths
/// give an empty (but valid) WAV.
pub fn tone_wav(seconds: f32) -> Vec<u8> {
    const RATE: u32 = 8000;
    const HALF_PERIOD: u32 = RATE / 440 / 2;
    // Keep the RIFF sizes within u32.
    const MAX_SAMPLES: u32 = (u32::MAX - 36) / 2;
    let samples = ((seconds.max(0.0) * RATE as f32) as u32).min(MAX_SAMPLES);
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let level: i16 = if (i / HALF_PERIOD).is_multiple_of(2) {
            6000
        } else {
            -6000
        };
        out.extend_from_slice(&level.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio::signature::verify;
    use axum::routing::post;

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn parses_twiml() {
        let doc = Doc::parse(concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="v">Tom &amp; Jerry</Say>"#,
            r#"<Gather input="dtmf" action="https://x/a?b=1&amp;c=2" numDigits="1">"#,
            r#"<Say>press 1</Say><Pause length="1"/></Gather>"#,
            r#"<Redirect method="POST">https://x/r</Redirect><Record action="https://x/done" "#,
            r#"recordingStatusCallback="https://x/rec"/><Hangup/></Response>"#
        ))
        .unwrap();
        assert_eq!(
            doc.verb_names(),
            ["Say", "Gather", "Redirect", "Record", "Hangup"]
        );
        assert_eq!(doc.said(), ["Tom & Jerry", "press 1"]);
        let gather = doc.gather().unwrap();
        assert_eq!(gather.attr("action"), Some("https://x/a?b=1&c=2"));
        assert_eq!(gather.attr("numDigits"), Some("1"));
        assert_eq!(gather.attr("finishOnKey"), None);
        assert_eq!(
            gather
                .children
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["Say", "Pause"]
        );
        assert_eq!(doc.redirect(), Some("https://x/r"));
        assert_eq!(
            doc.record().unwrap().attr("recordingStatusCallback"),
            Some("https://x/rec")
        );
        assert!(doc.hangs_up());
    }

    #[test]
    fn parses_what_the_twiml_builder_renders() {
        use crate::domain::twiml::{Gather, Prompt, Say, Twiml, Verb};
        let say = |text: &str| Say {
            text: text.into(),
            voice: "Polly.Mizuki".into(),
            language: "ja-JP".into(),
        };
        let xml = Twiml::new()
            .push(Verb::Say(say("<1> & \"2\"")))
            .push(Verb::Gather(Gather {
                action: "https://x/a?b=1&c=2".into(),
                num_digits: None,
                timeout_seconds: 5,
                finish_on_key: Some('#'),
                prompts: vec![Prompt::Say(say("番号を"))],
            }))
            .push(Verb::Redirect {
                url: "https://x/r?a=1&b=2".into(),
            })
            .render();
        let doc = Doc::parse(&xml).unwrap();
        assert_eq!(doc.said(), ["<1> & \"2\"", "番号を"]);
        assert_eq!(doc.verbs[0].attr("language"), Some("ja-JP"));
        assert_eq!(doc.gather().unwrap().attr("finishOnKey"), Some("#"));
        assert_eq!(doc.redirect(), Some("https://x/r?a=1&b=2"));
        assert!(!doc.hangs_up());
    }

    #[test]
    fn text_is_trimmed_and_cdata_read() {
        let doc = Doc::parse(
            "<Response>\n  <Say><![CDATA[a < b]]></Say>\n  <Redirect>\n    https://x/r\n  </Redirect>\n</Response>\n",
        )
        .unwrap();
        assert_eq!(doc.said(), ["a < b"]);
        assert_eq!(doc.redirect(), Some("https://x/r"));
    }

    #[test]
    fn only_a_single_response_root_is_twiml() {
        for bad in [
            "<Other/>",
            "<Other><Say>hi</Say></Other>",
            "<Response/><Response/>",
            "<Response><Say>open",
            "<Response></Say></Response>",
            "<Response>&nope;</Response>",
            r#"{"error": 1}"#,
            "",
        ] {
            assert!(
                matches!(Doc::parse(bad), Err(SimError::Xml(_))),
                "{bad:?} parsed"
            );
        }
        assert_eq!(Doc::parse("<Response/>").unwrap().verbs, []);
    }

    #[test]
    fn tone_wav_header_is_consistent() {
        let wav = tone_wav(0.5);
        assert_eq!(wav.len(), 44 + 8000);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(u32_at(&wav, 4) as usize, wav.len() - 8);
        assert_eq!(u32_at(&wav, 24), 8000);
        assert_eq!(&wav[36..40], b"data");
        assert_eq!(u32_at(&wav, 40) as usize, wav.len() - 44);
        assert_eq!(wav, tone_wav(0.5));
        assert!(wav[44..].chunks(2).any(|s| s != [0, 0]));
        for empty in [tone_wav(0.0), tone_wav(-1.0), tone_wav(f32::NAN)] {
            assert_eq!(empty.len(), 44);
            assert_eq!(u32_at(&empty, 4), 36);
            assert_eq!(u32_at(&empty, 40), 0);
        }
    }

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

    #[tokio::test]
    async fn fake_api_checks_auth_and_deletes() {
        let api = FakeTwilioApi::start("AC1", "tok").await.unwrap();
        let url = api.add_recording("RE1", vec![1, 2, 3]);
        assert_eq!(
            url,
            format!("{}/2010-04-01/Accounts/AC1/Recordings/RE1", api.base_url())
        );
        let http = reqwest::Client::new();
        let get = |url: String, token: Option<&'static str>| {
            let request = http.get(url);
            let request = match token {
                Some(token) => request.basic_auth("AC1", Some(token)),
                None => request,
            };
            async move { request.send().await.unwrap() }
        };

        let ok = get(format!("{url}.wav"), Some("tok")).await;
        assert_eq!(ok.status(), 200);
        assert_eq!(
            ok.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("audio/x-wav")
        );
        assert_eq!(ok.bytes().await.unwrap().as_ref(), [1, 2, 3]);
        assert_eq!(get(format!("{url}.wav"), Some("no")).await.status(), 401);
        assert_eq!(get(format!("{url}.wav"), None).await.status(), 401);
        assert_eq!(get(format!("{url}.mp3"), Some("tok")).await.status(), 404);
        assert_eq!(get(url.clone(), Some("tok")).await.status(), 404);
        let other = url.replace("/RE1", "/RE2");
        assert_eq!(get(format!("{other}.wav"), Some("tok")).await.status(), 404);
        assert_eq!(api.downloads(), 1);

        let delete = |token: &'static str| {
            let request = http
                .delete(format!("{url}.json"))
                .basic_auth("AC1", Some(token));
            async move { request.send().await.unwrap().status() }
        };
        assert_eq!(delete("no").await, 401);
        assert!(api.deleted().is_empty());
        assert_eq!(delete("tok").await, 204);
        assert_eq!(get(format!("{url}.wav"), Some("tok")).await.status(), 404);
        assert_eq!(api.deleted(), ["RE1"]);
        assert_eq!(api.downloads(), 1);

        api.add_recording("RE3", tone_wav(0.1));
        api.set_available(false);
        let down = url.replace("/RE1", "/RE3");
        assert_eq!(get(format!("{down}.wav"), Some("tok")).await.status(), 503);
        assert_eq!(delete("tok").await, 503);
        api.set_available(true);
        assert_eq!(get(format!("{down}.wav"), Some("tok")).await.status(), 200);
        assert_eq!(api.downloads(), 2);
    }

    #[tokio::test]
    async fn dropping_the_fake_api_stops_it() {
        let api = FakeTwilioApi::start("AC1", "tok").await.unwrap();
        let url = format!("{}.wav", api.add_recording("RE1", tone_wav(0.1)));
        drop(api);
        tokio::task::yield_now().await;
        let result = reqwest::Client::new()
            .get(url)
            .basic_auth("AC1", Some("tok"))
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await;
        assert!(result.is_err());
    }
}
