//! A stand-in for Twilio's voice platform, for `afureko demo` and the tests:
//! it signs requests the way Twilio does, sends them through the Router
//! in-process, reads the TwiML back, and serves recordings like Twilio's
//! REST API on 127.0.0.1.

use crate::twilio::signature::{Algorithm, SIGNATURE_HEADER, sign};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use quick_xml::events::Event;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0} is not under the public URL")]
    NotUnderPublicUrl(String),
    #[error("the TwiML has no {0}")]
    Missing(&'static str),
    #[error("not TwiML: {0}")]
    Xml(String),
    #[error("request failed: {0}")]
    Transport(String),
}

/// Twilio, as far as afureko can tell.
pub struct Sim {
    router: Router,
    public_url: String,
    account_sid: String,
    auth_token: String,
}

/// One call in progress.
pub struct Call<'a> {
    sim: &'a Sim,
    call_sid: String,
    from: String,
    to: String,
}

/// What afureko answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn doc(&self) -> Result<Doc, SimError> {
        Doc::parse(&self.body)
    }
}

impl Sim {
    pub fn new(router: Router, public_url: &str, account_sid: &str, auth_token: &str) -> Self {
        Sim {
            router,
            public_url: public_url.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
        }
    }

    pub fn call(&self, call_sid: &str, from: &str, to: &str) -> Call<'_> {
        Call {
            sim: self,
            call_sid: call_sid.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
        }
    }

    /// POSTs a form to `url` as Twilio would; `signature` None sends none.
    async fn send(
        &self,
        url: &str,
        params: &[(String, String)],
        signature: Option<String>,
    ) -> Result<Reply, SimError> {
        let path = url
            .strip_prefix(&self.public_url)
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| SimError::NotUnderPublicUrl(url.to_owned()))?;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let request = request
            .body(Body::from(body))
            .map_err(|e| SimError::Transport(e.to_string()))?;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| SimError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|e| SimError::Transport(e.to_string()))?;
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

    /// POSTs the call's parameters plus `extra`, correctly signed.
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

    /// POSTs exactly `params` with exactly `signature` (for forged requests).
    pub async fn post_raw(
        &self,
        url: &str,
        params: Vec<(String, String)>,
        signature: Option<String>,
    ) -> Result<Reply, SimError> {
        self.sim.send(url, &params, signature).await
    }

    pub async fn incoming(&self, voice_url: &str) -> Result<Reply, SimError> {
        self.post(voice_url, &[]).await
    }

    /// The caller presses `digits` at the document's `<Gather>` (Twilio
    /// strips the finish key).
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

    /// The caller says nothing: Twilio falls through to the `<Redirect>`.
    pub async fn silence(&self, doc: &Doc) -> Result<Reply, SimError> {
        let url = doc.redirect().ok_or(SimError::Missing("Redirect"))?;
        self.post(url, &[]).await
    }

    /// The caller records and presses `#`: Twilio requests the Record action.
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

    /// Twilio's recordingStatusCallback (which carries no From/To).
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
            .ok_or(SimError::Missing("recordingStatusCallback"))?;
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

/// A TwiML element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A TwiML document: the verbs inside `<Response>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub verbs: Vec<Node>,
}

fn xml_error(e: impl std::fmt::Display) -> SimError {
    SimError::Xml(e.to_string())
}

impl Doc {
    pub fn parse(xml: &str) -> Result<Doc, SimError> {
        let mut reader = quick_xml::Reader::from_str(xml);
        // The stack of open elements; the root collects into a pseudo node.
        let mut stack: Vec<Node> = vec![Node {
            name: String::new(),
            attrs: Vec::new(),
            text: String::new(),
            children: Vec::new(),
        }];
        let open = |e: &quick_xml::events::BytesStart<'_>| -> Result<Node, SimError> {
            let name = e.name().as_ref().to_owned();
            let mut attrs = Vec::new();
            for attr in e.attributes() {
                let attr = attr.map_err(xml_error)?;
                let key = attr.key.as_ref().to_owned();
                let value = attr
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(xml_error)?
                    .into_owned();
                attrs.push((key, value));
            }
            Ok(Node {
                name,
                attrs,
                text: String::new(),
                children: Vec::new(),
            })
        };
        loop {
            match reader.read_event().map_err(xml_error)? {
                Event::Start(e) => stack.push(open(&e)?),
                Event::Empty(e) => {
                    let node = open(&e)?;
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(node);
                    }
                }
                Event::End(_) => {
                    let node = stack.pop().ok_or_else(|| xml_error("unbalanced end tag"))?;
                    let parent = stack
                        .last_mut()
                        .ok_or_else(|| xml_error("unbalanced end tag"))?;
                    parent.children.push(node);
                }
                Event::Text(t) => {
                    let text = t.xml10_content();
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&text);
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
        let mut root = match stack.len() {
            1 => stack.pop().map(|n| n.children).unwrap_or_default(),
            _ => return Err(xml_error("an element is not closed")),
        };
        match root.pop() {
            Some(response) if root.is_empty() && response.name == "Response" => Ok(Doc {
                verbs: response.children,
            }),
            _ => Err(xml_error("the root element must be <Response>")),
        }
    }

    /// Every text said, in order, including prompts inside `<Gather>`.
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

    pub fn gather(&self) -> Option<&Node> {
        self.verb("Gather")
    }

    pub fn redirect(&self) -> Option<&str> {
        self.verb("Redirect").map(|n| n.text.as_str())
    }

    pub fn record(&self) -> Option<&Node> {
        self.verb("Record")
    }

    pub fn hangs_up(&self) -> bool {
        self.verb("Hangup").is_some()
    }

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
    auth: String,
    state: Arc<Mutex<MediaState>>,
}

impl Media {
    fn lock(&self) -> std::sync::MutexGuard<'_, MediaState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .is_some_and(|v| v == self.auth)
    }

    /// Checks outage, auth and account; returns the recording SID and extension.
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

/// Twilio's REST API for recordings, on 127.0.0.1: GET `{sid}.wav` and
/// DELETE `{sid}.json`, with HTTP basic auth, and an outage switch.
pub struct FakeTwilioApi {
    base_url: String,
    media: Media,
    server: tokio::task::JoinHandle<()>,
}

impl FakeTwilioApi {
    pub async fn start(account_sid: &str, auth_token: &str) -> Result<Self, SimError> {
        let media = Media {
            account_sid: account_sid.to_owned(),
            auth: BASE64.encode(format!("{account_sid}:{auth_token}")),
            state: Arc::new(Mutex::new(MediaState::default())),
        };
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Recordings/{file}",
                get(fetch_media).delete(delete_media),
            )
            .with_state(media.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| SimError::Transport(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SimError::Transport(e.to_string()))?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeTwilioApi {
            base_url: format!("http://{addr}"),
            media,
            server,
        })
    }

    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Holds `audio` as recording `recording_sid`; returns the RecordingUrl
    /// Twilio would send (no extension).
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

    /// When false, every request gets 503, as in an outage.
    pub fn set_available(&self, available: bool) {
        self.media.lock().unavailable = !available;
    }

    pub fn downloads(&self) -> usize {
        self.media.lock().downloads
    }

    pub fn deleted(&self) -> Vec<String> {
        self.media.lock().deleted.clone()
    }
}

impl Drop for FakeTwilioApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A short 8 kHz 16-bit mono WAV with a 440 Hz square tone: a caller's voice.
pub fn tone_wav(seconds: f32) -> Vec<u8> {
    const RATE: u32 = 8000;
    let samples = (seconds.max(0.0) * RATE as f32) as u32;
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    let half_period = RATE / 440 / 2;
    for i in 0..samples {
        let level: i16 = if (i / half_period).is_multiple_of(2) {
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

    #[test]
    fn parses_twiml() {
        let doc = Doc::parse(concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="v">Tom &amp; Jerry</Say>"#,
            r#"<Gather action="https://x/a?b=1&amp;c=2" numDigits="1"><Say>press 1</Say></Gather>"#,
            r#"<Redirect method="POST">https://x/r</Redirect><Hangup/></Response>"#
        ))
        .unwrap();
        assert_eq!(doc.verb_names(), ["Say", "Gather", "Redirect", "Hangup"]);
        assert_eq!(doc.said(), ["Tom & Jerry", "press 1"]);
        assert_eq!(
            doc.gather().unwrap().attr("action"),
            Some("https://x/a?b=1&c=2")
        );
        assert_eq!(doc.redirect(), Some("https://x/r"));
        assert!(doc.hangs_up());
        assert!(Doc::parse("<Other/>").is_err());
        assert!(Doc::parse("<Response><Say>open").is_err());
        assert!(Doc::parse(r#"{"error": 1}"#).is_err());
    }

    #[test]
    fn tone_wav_header_is_consistent() {
        let wav = tone_wav(0.5);
        assert_eq!(wav.len(), 44 + 8000);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize,
            wav.len() - 8
        );
        assert_eq!(u32::from_le_bytes(wav[40..44].try_into().unwrap()), 8000);
    }

    #[tokio::test]
    async fn fake_api_checks_auth_and_deletes() {
        let api = FakeTwilioApi::start("AC1", "tok").await.unwrap();
        let url = api.add_recording("RE1", vec![1, 2, 3]);
        let http = reqwest::Client::new();
        let ok = http
            .get(format!("{url}.wav"))
            .basic_auth("AC1", Some("tok"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.bytes().await.unwrap().as_ref(), [1, 2, 3]);
        let denied = http
            .get(format!("{url}.wav"))
            .basic_auth("AC1", Some("no"))
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status(), 401);
        let deleted = http
            .delete(format!("{url}.json"))
            .basic_auth("AC1", Some("tok"))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 204);
        let gone = http
            .get(format!("{url}.wav"))
            .basic_auth("AC1", Some("tok"))
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), 404);
        assert_eq!(api.deleted(), ["RE1"]);
        assert_eq!(api.downloads(), 1);
        api.set_available(false);
        let down = http
            .get(format!("{url}.wav"))
            .basic_auth("AC1", Some("tok"))
            .send()
            .await
            .unwrap();
        assert_eq!(down.status(), 503);
    }
}
