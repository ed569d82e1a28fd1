//! A notification endpoint on 127.0.0.1 for tests: it keeps every request
//! it gets and answers each with the next status of a script (then one
//! status for ever); it can also hold requests unanswered. And a Standard
//! Webhooks check written here from the specification, independent of
//! afureko's own signing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Got {
    pub headers: HeaderMap,
    pub body: String,
}

impl Got {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Script {
    answers: VecDeque<u16>,
    then: u16,
    got: Vec<Got>,
    /// While set, requests are kept and never answered.
    holding: bool,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    script: Arc<Mutex<Script>>,
    seen: Arc<tokio::sync::Notify>,
}

async fn answer(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let (status, holding) = {
        let mut script = receiver.script.lock().unwrap();
        script.got.push(Got {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let status = script.answers.pop_front().unwrap_or(script.then);
        (status, script.holding)
    };
    receiver.seen.notify_waiters();
    if holding {
        std::future::pending::<()>().await;
    }
    let status = StatusCode::from_u16(status).unwrap();
    let text = if status.is_success() {
        "ok"
    } else {
        "upstream unavailable"
    };
    (status, text)
}

impl Receiver {
    /// Answers `answers` in turn, then `then` to every later request.
    pub async fn start(answers: &[u16], then: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            script: Arc::new(Mutex::new(Script {
                answers: answers.iter().copied().collect(),
                then,
                ..Script::default()
            })),
            seen: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    pub fn got(&self) -> Vec<Got> {
        self.script.lock().unwrap().got.clone()
    }

    /// Keeps every request unanswered while `holding`.
    pub fn hold(&self, holding: bool) {
        self.script.lock().unwrap().holding = holding;
    }

    /// Waits until it has got `n` requests (a guard of a minute against a
    /// hang, not a timing).
    pub async fn wait_for(&self, n: usize) -> Vec<Got> {
        let waited = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            loop {
                let seen = self.seen.notified();
                let got = self.got();
                if got.len() >= n {
                    return got;
                }
                seen.await;
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("the receiver got {} requests, not {n}", self.got().len()))
    }
}

/// Standard Webhooks, as its specification says: the secret is `whsec_`
/// and base64; the signature header lists `v1,<base64>` entries, one of
/// which is HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`.
pub fn verify(secret: &str, got: &Got) -> bool {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{Hmac, KeyInit, Mac};
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!(
        "{}.{}.{}",
        got.header("webhook-id"),
        got.header("webhook-timestamp"),
        got.body
    );
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    got.header("webhook-signature")
        .split(' ')
        .any(|sig| sig == expected)
}
