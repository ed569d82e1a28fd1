//! Twilio's REST API for recordings, faked on 127.0.0.1.

use super::{SimError, transport};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct MediaState {
    recordings: BTreeMap<String, Vec<u8>>,
    deleted: Vec<String>,
    downloads: usize,
    unavailable: bool,
    deletes_refused: bool,
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
        Ok((sid, ext)) if ext == "wav" || ext == "mp3" => {
            let mut state = media.lock();
            match state.recordings.get(&sid).cloned() {
                Some(wav) => {
                    state.downloads += 1;
                    if ext == "mp3" {
                        ([(header::CONTENT_TYPE, "audio/mpeg")], super::mp3_of(&wav))
                            .into_response()
                    } else {
                        ([(header::CONTENT_TYPE, "audio/x-wav")], wav).into_response()
                    }
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
            if state.deletes_refused {
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            } else if state.recordings.remove(&sid).is_some() {
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
/// HTTP client can fetch and delete them: GET `{sid}.wav` (or `.mp3`: see
/// `mp3_of`) and DELETE
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

    /// When true, deletes get 500 while downloads still work.
    pub fn refuse_deletes(&self, refused: bool) {
        self.media.lock().deletes_refused = refused;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio::sim::tone_wav;

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
        let mp3 = get(format!("{url}.mp3"), Some("tok")).await;
        assert_eq!(mp3.status(), 200);
        assert_eq!(mp3.headers()[header::CONTENT_TYPE], "audio/mpeg");
        assert_eq!(
            mp3.bytes().await.unwrap().as_ref(),
            super::super::mp3_of(&[1, 2, 3])
        );
        assert_eq!(get(format!("{url}.ogg"), Some("tok")).await.status(), 404);
        assert_eq!(get(url.clone(), Some("tok")).await.status(), 404);
        let other = url.replace("/RE1", "/RE2");
        assert_eq!(get(format!("{other}.wav"), Some("tok")).await.status(), 404);
        assert_eq!(api.downloads(), 2);

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
        assert_eq!(api.downloads(), 2);

        api.add_recording("RE3", tone_wav(0.1));
        api.set_available(false);
        let down = url.replace("/RE1", "/RE3");
        assert_eq!(get(format!("{down}.wav"), Some("tok")).await.status(), 503);
        assert_eq!(delete("tok").await, 503);
        api.set_available(true);
        api.refuse_deletes(true);
        let delete_down = |token: &'static str| {
            let request = http
                .delete(format!("{down}.json"))
                .basic_auth("AC1", Some(token));
            async move { request.send().await.unwrap().status() }
        };
        assert_eq!(delete_down("tok").await, 500);
        api.refuse_deletes(false);
        assert_eq!(get(format!("{down}.wav"), Some("tok")).await.status(), 200);
        assert_eq!(api.downloads(), 3);
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
