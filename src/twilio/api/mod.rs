//! The one client for Twilio's REST API (2010-04-01): every request afureko
//! sends to Twilio goes through `TwilioApi`. One HTTP client, the base from
//! `AFUREKO_TWILIO_API_BASE`, connect and total timeouts, basic auth with
//! the tenant's credentials, a size bound on every answer read, and
//! Twilio's error body kept in the error.
//!
//! One file per resource: `recordings` (media, delete, list), `calls` and
//! `messages`; `redirects` decides where a media download may go.

mod calls;
mod error;
mod messages;
mod recordings;
mod redirects;

pub use calls::{CallInfo, CallParams};
pub use error::{TwilioApiError, TwilioErrorBody};
pub use messages::{MessageParams, Sender};
pub use recordings::{RecordingInfo, RecordingPages};
pub use redirects::MediaHosts;

use crate::domain::ids::AccountSid;
use crate::domain::tenant::TwilioCredentials;
use reqwest::Url;
use serde::de::DeserializeOwned;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The most of one JSON answer afureko reads: a page of 1,000 recordings
/// is about 1 MB.
pub const MAX_JSON_BYTES: u64 = 2 << 20;

/// Of a failed answer only this much is read, for Twilio's error body.
const MAX_ERROR_BYTES: u64 = 16 << 10;

#[derive(Clone)]
pub struct TwilioApi {
    http: reqwest::Client,
    /// Without a trailing slash, e.g. `https://api.twilio.com`.
    base: String,
}

impl TwilioApi {
    /// Redirects are followed only by media downloads, only to the base's
    /// own origin or `media_hosts`, at most 3 times; reqwest drops the
    /// credentials when a redirect leaves the origin.
    pub fn new(base: &str, media_hosts: MediaHosts) -> Result<Self, TwilioApiError> {
        let base = base.trim_end_matches('/').to_owned();
        let base_url = Url::parse(&base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| TwilioApiError::Base(base.clone()))?;
        // Twilio gives a webhook 15 s in all; a request must leave room to answer.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(redirects::policy(base_url, media_hosts))
            .build()
            .map_err(TwilioApiError::Client)?;
        Ok(TwilioApi { http, base })
    }

    /// `{base}/2010-04-01/Accounts/{account}/{rest}`.
    fn account_url(&self, account: &AccountSid, rest: &str) -> String {
        format!("{}/2010-04-01/Accounts/{account}/{rest}", self.base)
    }

    /// Sends `request` with the account's credentials.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        creds: &TwilioCredentials,
    ) -> Result<reqwest::Response, TwilioApiError> {
        request
            .basic_auth(creds.account_sid.as_str(), Some(creds.auth_token.expose()))
            .send()
            .await
            .map_err(|e| TwilioApiError::Transport(e.without_url()))
    }

    /// POSTs `params` as a form (a name may repeat) to `url`.
    async fn post_form(
        &self,
        url: String,
        params: &[(&str, &str)],
        creds: &TwilioCredentials,
    ) -> Result<reqwest::Response, TwilioApiError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let request = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        self.send(request, creds).await
    }
}

/// A successful answer's JSON (at most `MAX_JSON_BYTES`) as `T`; a failed
/// answer becomes `Status`.
async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
    what: &'static str,
) -> Result<T, TwilioApiError> {
    let response = expect_success(response, what).await?;
    let mut body = Vec::new();
    match copy_bounded(response, MAX_JSON_BYTES, &mut body).await? {
        Copied::All(_) => {}
        Copied::TooLong => {
            return Err(TwilioApiError::AnswerTooLarge {
                what,
                limit: MAX_JSON_BYTES,
            });
        }
    }
    serde_json::from_slice(&body).map_err(|e| TwilioApiError::Unexpected {
        what,
        reason: error::mask_numbers(&e.to_string()),
    })
}

/// The answer when it is a success; otherwise `Status`, with Twilio's
/// error body when it sent one.
async fn expect_success(
    response: reqwest::Response,
    what: &'static str,
) -> Result<reqwest::Response, TwilioApiError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let mut body = Vec::new();
    // A body cut short, too long or not JSON leaves just the status.
    let twilio = match copy_bounded(response, MAX_ERROR_BYTES, &mut body).await {
        Ok(Copied::All(_)) => TwilioErrorBody::parse(&body, status.as_u16()),
        _ => None,
    };
    Err(TwilioApiError::Status {
        status: status.as_u16(),
        what,
        twilio,
    })
}

/// How far `copy_bounded` got.
enum Copied {
    All(u64),
    /// More than the limit: what was written is to be thrown away.
    TooLong,
}

/// Streams the body into `into`, never more than `limit` bytes.
async fn copy_bounded(
    mut response: reqwest::Response,
    limit: u64,
    into: &mut (impl AsyncWrite + Unpin),
) -> Result<Copied, TwilioApiError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Ok(Copied::TooLong);
    }
    let mut length = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| TwilioApiError::Transport(e.without_url()))?
    {
        length += chunk.len() as u64;
        if length > limit {
            return Ok(Copied::TooLong);
        }
        into.write_all(&chunk)
            .await
            .map_err(TwilioApiError::Write)?;
    }
    into.flush().await.map_err(TwilioApiError::Write)?;
    Ok(Copied::All(length))
}

/// What Twilio answers on creating a resource; only its SID is kept.
#[derive(serde::Deserialize)]
struct Created<Sid> {
    sid: Sid,
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header;

    pub(super) async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://127.0.0.1:{port}")
    }

    async fn answer(app: axum::Router) -> reqwest::Response {
        let base = serve(app).await;
        reqwest::get(format!("{base}/x")).await.unwrap()
    }

    /// `length` bytes streamed in chunks, with no Content-Length to refuse
    /// them early.
    fn chunked(length: u64) -> Body {
        use tokio::io::AsyncReadExt;
        let reader = tokio::io::repeat(b' ').take(length);
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(reader, 1000))
    }

    #[tokio::test]
    async fn a_streamed_answer_over_the_bound_is_refused() {
        let app = axum::Router::new().fallback(|| async { chunked(4_000) });
        let response = answer(app.clone()).await;
        assert_eq!(response.content_length(), None);
        let copied = copy_bounded(response, 3_999, &mut Vec::new())
            .await
            .unwrap();
        assert!(matches!(copied, Copied::TooLong));
        let copied = copy_bounded(answer(app).await, 4_000, &mut Vec::new())
            .await
            .unwrap();
        assert!(matches!(copied, Copied::All(4_000)));
    }

    #[tokio::test]
    async fn a_declared_length_over_the_bound_is_refused_unread() {
        let app = axum::Router::new().fallback(|| async { vec![b'x'; 100] });
        let response = answer(app).await;
        assert_eq!(response.content_length(), Some(100));
        let mut body = Vec::new();
        let copied = copy_bounded(response, 99, &mut body).await.unwrap();
        assert!(matches!(copied, Copied::TooLong));
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn a_failure_keeps_twilios_error_body_and_only_that() {
        let twilio = r#"{"code": 20404, "message": "The requested resource was not found", "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}"#;
        let app = axum::Router::new().fallback(move || async move {
            (
                axum::http::StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "application/json")],
                twilio,
            )
        });
        let err = expect_success(answer(app).await, "the test")
            .await
            .unwrap_err();
        assert_eq!(
            crate::telemetry::error_chain(&err),
            "Twilio answered 404 for the test: error 20404: The requested resource was not found (https://www.twilio.com/docs/errors/20404)"
        );
        let html = axum::Router::new().fallback(|| async {
            (
                axum::http::StatusCode::BAD_GATEWAY,
                "<html>bad gateway</html>",
            )
        });
        let err = expect_success(answer(html).await, "the test")
            .await
            .unwrap_err();
        assert_eq!(
            crate::telemetry::error_chain(&err),
            "Twilio answered 502 for the test"
        );
    }
}
