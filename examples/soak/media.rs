//! Twilio's recordings API on 127.0.0.1, as afureko reaches it through
//! `AFUREKO_TWILIO_API_BASE`: GET `{sid}.wav` and DELETE `{sid}.json` with
//! basic auth. While faults are on, 10% of downloads fail: half with a 500,
//! half stall past afureko's 10 s download timeout.

use crate::faults::Faults;
use crate::rng::Rng;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Longer than afureko's 10 s download timeout: the copy fails.
const STALL: Duration = Duration::from_secs(12);

#[derive(Default)]
struct Held {
    recordings: HashMap<String, Vec<u8>>,
    deleted: HashSet<String>,
}

struct Inner {
    account_sid: String,
    authorization: String,
    held: Mutex<Held>,
    rng: Mutex<Rng>,
    faults: Arc<Faults>,
}

#[derive(Clone)]
pub struct Media {
    base_url: String,
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Media {
    pub async fn start(
        port: u16,
        account_sid: &str,
        auth_token: &str,
        seed: u64,
        faults: Arc<Faults>,
    ) -> anyhow::Result<Media> {
        let inner = Arc::new(Inner {
            account_sid: account_sid.to_owned(),
            authorization: format!(
                "Basic {}",
                BASE64.encode(format!("{account_sid}:{auth_token}"))
            ),
            held: Mutex::default(),
            rng: Mutex::new(Rng::new(seed)),
            faults,
        });
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Recordings/{file}",
                get(download).delete(delete),
            )
            .with_state(inner.clone());
        let listener = crate::bind(port).await?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Media {
            base_url: format!("http://127.0.0.1:{port}"),
            inner,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Holds `audio` as recording `sid`; returns the RecordingUrl Twilio sends.
    pub fn add(&self, sid: &str, audio: Vec<u8>) -> String {
        lock(&self.inner.held)
            .recordings
            .insert(sid.to_owned(), audio);
        format!(
            "{}/2010-04-01/Accounts/{}/Recordings/{sid}",
            self.base_url, self.inner.account_sid
        )
    }

    /// Whether Twilio's copy of `sid` was deleted (and so is gone).
    pub fn deleted(&self, sid: &str) -> bool {
        let held = lock(&self.inner.held);
        held.deleted.contains(sid) && !held.recordings.contains_key(sid)
    }

    pub fn deletes(&self) -> usize {
        lock(&self.inner.held).deleted.len()
    }
}

/// The recording SID when the request is for our account with our
/// credentials and the file has extension `ext`.
fn recording_sid(
    inner: &Inner,
    headers: &HeaderMap,
    account: &str,
    file: &str,
    ext: &str,
) -> Result<String, StatusCode> {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == inner.authorization.as_bytes());
    if !authorized {
        return Err(StatusCode::UNAUTHORIZED);
    }
    match file.strip_suffix(ext) {
        Some(sid) if account == inner.account_sid => Ok(sid.to_owned()),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn download(
    State(inner): State<Arc<Inner>>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let sid = match recording_sid(&inner, &headers, &account, &file, ".wav") {
        Ok(sid) => sid,
        Err(status) => return status.into_response(),
    };
    if inner.faults.on() {
        let (fault, stall) = {
            let mut rng = lock(&inner.rng);
            (rng.chance(10), rng.chance(50))
        };
        if fault && stall {
            Faults::count(&inner.faults.media_stall);
            tokio::time::sleep(STALL).await;
        } else if fault {
            Faults::count(&inner.faults.media_500);
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    match lock(&inner.held).recordings.get(&sid) {
        Some(audio) => ([(header::CONTENT_TYPE, "audio/x-wav")], audio.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn delete(
    State(inner): State<Arc<Inner>>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let sid = match recording_sid(&inner, &headers, &account, &file, ".json") {
        Ok(sid) => sid,
        Err(status) => return status.into_response(),
    };
    let mut held = lock(&inner.held);
    if held.recordings.remove(&sid).is_some() {
        held.deleted.insert(sid);
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}
