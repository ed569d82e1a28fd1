//! Twilio's REST API, faked on 127.0.0.1 so afureko's real client can talk
//! to it: recordings (media, delete, list), calls (create, fetch) and
//! messages (create), with HTTP basic auth, Twilio's JSON error bodies,
//! and switches for outages and refusals. Every created call and message
//! is kept with its parameters, for tests to check and to play.

mod calls;
mod messages;
mod recordings;

pub use calls::FakeCall;
pub use recordings::FakeRecording;

use super::{CallBackScript, Sim, SimError, transport};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct FakeState {
    /// Audio by RecordingSid.
    media: BTreeMap<String, Vec<u8>>,
    /// What Recordings.json lists, by RecordingSid.
    listed: BTreeMap<String, FakeRecording>,
    deleted: Vec<String>,
    downloads: usize,
    list_queries: Vec<Vec<(String, String)>>,
    next_page_prefix: String,
    media_redirect: Option<String>,
    calls: BTreeMap<String, FakeCall>,
    created_calls: Vec<Posted>,
    messages: Vec<Posted>,
    call_failure: Option<TwilioFailure>,
    message_failure: Option<TwilioFailure>,
    unavailable: bool,
    deletes_refused: bool,
    /// Plays every call afureko creates, when set.
    player: Option<(Sim, CallBackScript)>,
    /// The calls being played.
    playing: Vec<tokio::task::JoinHandle<Result<(), SimError>>>,
    padding: usize,
    /// SIDs handed out so far.
    sids: u64,
}

#[derive(Clone)]
struct Fake {
    base_url: String,
    account_sid: String,
    auth_token: String,
    state: Arc<Mutex<FakeState>>,
}

impl Fake {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
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

    /// Why a request is refused, if it is: outage (a bare 503, as from a
    /// load balancer), then auth, then the account in the path, as Twilio
    /// checks them.
    fn refusal(&self, headers: &HeaderMap, account: Option<&str>) -> Option<Response> {
        if self.lock().unavailable {
            return Some(StatusCode::SERVICE_UNAVAILABLE.into_response());
        }
        if !self.authorized(headers) {
            return Some(twilio_error(
                StatusCode::UNAUTHORIZED,
                20003,
                "Authenticate",
            ));
        }
        (account != Some(self.account_sid.as_str())).then(not_found)
    }

    /// A new SID such as `CA000…01`.
    fn next_sid(&self, prefix: &str) -> String {
        let mut state = self.lock();
        state.sids += 1;
        format!("{prefix}{:032x}", state.sids)
    }

    /// A JSON answer, padded when a test asked for oversized answers.
    fn answer(&self, status: StatusCode, mut body: serde_json::Value) -> Response {
        let padding = self.lock().padding;
        if padding > 0
            && let Some(object) = body.as_object_mut()
        {
            object.insert("padding".into(), " ".repeat(padding).into());
        }
        (status, axum::Json(body)).into_response()
    }
}

/// Every request under an account passes here first.
async fn admit(
    State(fake): State<Fake>,
    Path(path): Path<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> Response {
    match fake.refusal(request.headers(), path.get("account").map(String::as_str)) {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// Twilio's JSON error body.
fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = serde_json::json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

/// The form's pairs in order, a name possibly repeated.
fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// A refusal Twilio answers a create with, e.g. error 21614 for an SMS to
/// a landline. `{To}` and `{From}` in the message are replaced with the
/// request's, as Twilio quotes the numbers it refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioFailure {
    pub status: u16,
    pub code: u32,
    pub message: String,
}

impl TwilioFailure {
    pub fn new(status: u16, code: u32, message: &str) -> Self {
        TwilioFailure {
            status,
            code,
            message: message.to_owned(),
        }
    }

    /// 21614: an SMS to a number that cannot take one (a landline).
    pub fn not_a_mobile_number() -> Self {
        Self::new(400, 21614, "'To' number {To} is not a valid mobile number")
    }

    /// 21210: a call `From` a number the account neither owns nor verified.
    pub fn unverified_caller_id() -> Self {
        Self::new(
            400,
            21210,
            "The source phone number provided, {From}, is not yet verified for your account. You may only make calls from phone numbers that you've verified or purchased from Twilio.",
        )
    }

    fn respond(&self, params: &[(String, String)]) -> Response {
        let value = |name: &str| param(params, name).unwrap_or_default().to_owned();
        let message = self
            .message
            .replace("{To}", &value("To"))
            .replace("{From}", &value("From"));
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        twilio_error(status, self.code, &message)
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A call or message afureko created: its SID and exactly the form it
/// sent, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub sid: String,
    pub params: Vec<(String, String)>,
}

impl Posted {
    /// The first value of `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }

    /// Every value of `name`, in order.
    pub fn params(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Twilio's REST API for one account, on 127.0.0.1. The server stops when
/// this is dropped.
pub struct FakeTwilioApi {
    fake: Fake,
    server: tokio::task::JoinHandle<()>,
}

impl FakeTwilioApi {
    /// Serves the account `account_sid`, accepting `auth_token`, on a free
    /// port.
    pub async fn start(account_sid: &str, auth_token: &str) -> Result<Self, SimError> {
        Self::start_on(([127, 0, 0, 1], 0).into(), account_sid, auth_token).await
    }

    /// As `start`, on `addr`.
    pub async fn start_on(
        addr: std::net::SocketAddr,
        account_sid: &str,
        auth_token: &str,
    ) -> Result<Self, SimError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(transport)?;
        let addr = listener.local_addr().map_err(transport)?;
        let fake = Fake {
            base_url: format!("http://{addr}"),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            state: Arc::default(),
        };
        // axum 0.8 cannot capture `{sid}.wav`: take the whole last segment.
        let account = "/2010-04-01/Accounts/{account}";
        let app = Router::new()
            .route(
                &format!("{account}/Recordings/{{file}}"),
                get(recordings::fetch_media).delete(recordings::delete),
            )
            .route(&format!("{account}/Recordings.json"), get(recordings::list))
            .route(&format!("{account}/Calls.json"), post(calls::create))
            .route(&format!("{account}/Calls/{{file}}"), get(calls::fetch))
            .route(&format!("{account}/Messages.json"), post(messages::create))
            .route_layer(middleware::from_fn_with_state(fake.clone(), admit))
            .route("/cdn/{file}", get(recordings::cdn_media))
            .with_state(fake.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeTwilioApi { fake, server })
    }

    /// `http://127.0.0.1:PORT`: the Twilio API base afureko should use.
    pub fn base_url(&self) -> String {
        self.fake.base_url.clone()
    }

    /// When false, every request gets 503, as in a Twilio outage.
    pub fn set_available(&self, available: bool) {
        self.fake.lock().unavailable = !available;
    }

    /// Pads every JSON answer with `bytes` more (0: none), to test the
    /// client's size bound.
    pub fn pad_answers(&self, bytes: usize) {
        self.fake.lock().padding = bytes;
    }

    /// The calls afureko created (`POST Calls.json`), in order, each with
    /// its Url and StatusCallback to play later.
    pub fn created_calls(&self) -> Vec<Posted> {
        self.fake.lock().created_calls.clone()
    }

    /// Plays every call afureko creates from now on with `script`,
    /// sending Twilio's requests through `sim`, as Twilio does a moment
    /// after it answered the create.
    pub fn play_calls(&self, sim: Sim, script: CallBackScript) {
        self.fake.lock().player = Some((sim, script));
    }

    /// Waits for every call being played to finish; what each came to, in
    /// the order they were created.
    pub async fn played(&self) -> Vec<Result<(), SimError>> {
        let playing = std::mem::take(&mut self.fake.lock().playing);
        let mut results = Vec::new();
        for call in playing {
            results.push(call.await.unwrap_or_else(|e| Err(transport(e))));
        }
        results
    }

    /// Makes `Calls/{sid}.json` answer `call`.
    pub fn add_call(&self, call: FakeCall) {
        self.fake.lock().calls.insert(call.sid.clone(), call);
    }

    /// Refuses every new call with `failure` (None: accepts them again).
    pub fn fail_calls(&self, failure: Option<TwilioFailure>) {
        self.fake.lock().call_failure = failure;
    }

    /// The messages afureko sent (`POST Messages.json`), in order.
    pub fn sent_messages(&self) -> Vec<Posted> {
        self.fake.lock().messages.clone()
    }

    /// Refuses every new message with `failure` (None: accepts them again).
    pub fn fail_messages(&self, failure: Option<TwilioFailure>) {
        self.fake.lock().message_failure = failure;
    }
}

impl Drop for FakeTwilioApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}
