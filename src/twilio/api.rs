//! The few Twilio REST calls afureko makes: fetch a recording's audio and
//! delete Twilio's copy once ours is safe.

use crate::domain::ids::{AccountSid, RecordingSid};
use crate::domain::tenant::{RecordingFormat, TwilioCredentials};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TwilioApiError {
    #[error("the Twilio API base {0:?} is not a URL")]
    Base(String),
    /// Only the tenant's own recording, under the API base, is ever fetched.
    #[error("not the media URL of recording {sid} in the tenant's account under {base}")]
    NotTheRecording { base: String, sid: String },
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The URL is left out: a recording URL holds the account SID.
    #[error("request to Twilio failed")]
    Transport(#[source] reqwest::Error),
    #[error("Twilio answered {status} for {what}")]
    Status { status: u16, what: &'static str },
    #[error("the recording is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("cannot write the download")]
    Write(#[source] std::io::Error),
}

/// Why a redirect of a media download was not followed.
#[derive(Debug, thiserror::Error)]
enum RedirectRefused {
    #[error("a redirect to host {0:?}, which is not a Twilio media host")]
    Host(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooMany,
}

const MAX_REDIRECTS: usize = 3;

/// Hosts a media download may be redirected to: exact names, or `*.suffix`
/// for any subdomain of `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaHosts(Vec<String>);

impl MediaHosts {
    /// Twilio's own hosts, where its media redirects may lead.
    pub const DEFAULT: &str = "*.twilio.com,*.twiliocdn.com";

    /// A comma-separated list, e.g. `media.example.com,*.twilio.com`.
    pub fn parse(list: &str) -> Self {
        MediaHosts(
            list.split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        )
    }

    fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.0
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(suffix) => host
                    .strip_suffix(suffix)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                None => *pattern == host,
            })
    }
}

#[derive(Clone)]
pub struct TwilioApi {
    http: reqwest::Client,
    /// Without a trailing slash, e.g. `https://api.twilio.com`.
    base: String,
}

impl TwilioApi {
    /// Redirects are followed only to the base's own host or `media_hosts`,
    /// at most `MAX_REDIRECTS` times; reqwest drops the credentials when a
    /// redirect leaves the host.
    pub fn new(base: &str, media_hosts: MediaHosts) -> Result<Self, TwilioApiError> {
        let base = base.trim_end_matches('/').to_owned();
        let base_host = reqwest::Url::parse(&base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| TwilioApiError::Base(base.clone()))?;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            let host = attempt.url().host_str().unwrap_or_default().to_owned();
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(RedirectRefused::TooMany)
            } else if host == base_host || media_hosts.allows(&host) {
                attempt.follow()
            } else {
                attempt.error(RedirectRefused::Host(host))
            }
        });
        // Twilio gives a webhook 15 s in all; a fetch must leave room to answer.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(redirects)
            .build()
            .map_err(TwilioApiError::Client)?;
        Ok(TwilioApi { http, base })
    }

    /// Where Twilio keeps recording `sid` of `account`: the only media URL
    /// afureko fetches, whatever a request said.
    fn recording_url(&self, account: &AccountSid, sid: &RecordingSid) -> String {
        format!(
            "{}/2010-04-01/Accounts/{account}/Recordings/{sid}",
            self.base
        )
    }

    /// A RecordingUrl is accepted only when it is, once parsed (dot segments
    /// and percent-encoded dots resolved), exactly the media URL of `sid` in
    /// the tenant's account under the configured base.
    pub fn check_url(
        &self,
        url: &str,
        account: &AccountSid,
        sid: &RecordingSid,
    ) -> Result<(), TwilioApiError> {
        let expected = self.recording_url(account, sid);
        let same = match (reqwest::Url::parse(url), reqwest::Url::parse(&expected)) {
            (Ok(given), Ok(expected)) => given == expected,
            _ => false,
        };
        if same {
            Ok(())
        } else {
            Err(TwilioApiError::NotTheRecording {
                base: self.base.clone(),
                sid: sid.to_string(),
            })
        }
    }

    /// Downloads recording `sid` in `format` with the account's credentials
    /// into `into` (streamed, never whole in memory), refusing more than
    /// `max_bytes`; returns the length.
    pub async fn download(
        &self,
        creds: &TwilioCredentials,
        sid: &RecordingSid,
        format: RecordingFormat,
        max_bytes: u64,
        into: &mut (impl tokio::io::AsyncWrite + Unpin),
    ) -> Result<u64, TwilioApiError> {
        let url = format!(
            "{}.{}",
            self.recording_url(&creds.account_sid, sid),
            format.extension()
        );
        let mut response = self
            .http
            .get(url)
            .basic_auth(creds.account_sid.as_str(), Some(creds.auth_token.expose()))
            .send()
            .await
            .map_err(|e| TwilioApiError::Transport(e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(TwilioApiError::Status {
                status: status.as_u16(),
                what: "the recording download",
            });
        }
        let too_large = TwilioApiError::TooLarge { limit: max_bytes };
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(too_large);
        }
        let mut length = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| TwilioApiError::Transport(e.without_url()))?
        {
            length += chunk.len() as u64;
            if length > max_bytes {
                return Err(too_large);
            }
            tokio::io::AsyncWriteExt::write_all(into, &chunk)
                .await
                .map_err(TwilioApiError::Write)?;
        }
        tokio::io::AsyncWriteExt::flush(into)
            .await
            .map_err(TwilioApiError::Write)?;
        Ok(length)
    }

    /// Deletes Twilio's copy; one already gone counts as deleted.
    pub async fn delete_recording(
        &self,
        creds: &TwilioCredentials,
        sid: &RecordingSid,
    ) -> Result<(), TwilioApiError> {
        let url = format!("{}.json", self.recording_url(&creds.account_sid, sid));
        let response = self
            .http
            .delete(url)
            .basic_auth(creds.account_sid.as_str(), Some(creds.auth_token.expose()))
            .send()
            .await
            .map_err(|e| TwilioApiError::Transport(e.without_url()))?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(TwilioApiError::Status {
                status: status.as_u16(),
                what: "the recording delete",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tenant::AuthToken;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    use std::sync::{Arc, Mutex};

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const RECORDING: &str = "RE0123456789abcdef0123456789abcdef";

    fn account() -> AccountSid {
        AccountSid::parse(ACCOUNT).unwrap()
    }

    fn sid() -> RecordingSid {
        RecordingSid::parse(RECORDING).unwrap()
    }

    fn api(base: &str, hosts: &str) -> TwilioApi {
        TwilioApi::new(base, MediaHosts::parse(hosts)).unwrap()
    }

    #[test]
    fn only_the_tenants_own_recording_under_the_base() {
        let api = api("https://api.twilio.com/", MediaHosts::DEFAULT);
        let good =
            format!("https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}");
        assert!(api.check_url(&good, &account(), &sid()).is_ok());
        let other_account = good.replace(ACCOUNT, "AC00000000000000000000000000000000");
        let other_recording = good.replace(RECORDING, "RE00000000000000000000000000000000");
        for bad in [
            other_account.as_str(),
            other_recording.as_str(),
            &format!("{good}.wav"),
            &format!("{good}?x=1"),
            &format!("{good}#x"),
            "https://api.twilio.com.evil.test/2010-04-01/Accounts/AC/Recordings/RE",
            &good.replace("https://", "https://user:pw@"),
            &good.replace("https://api.twilio.com", "https://api.twilio.com@evil.test"),
            "http://169.254.169.254/latest/meta-data",
            "https://api.twilio.com",
            "",
        ] {
            assert!(api.check_url(bad, &account(), &sid()).is_err(), "{bad}");
        }
    }

    #[test]
    fn dot_segments_cannot_leave_the_base_path() {
        let api = api("http://host/twilio", "");
        let inside =
            format!("http://host/twilio/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}");
        assert!(api.check_url(&inside, &account(), &sid()).is_ok());
        for escape in [
            format!(
                "http://host/twilio/%2e%2e/outside/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}"
            ),
            format!("http://host/twilio/../2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}"),
            format!(
                "http://host/outside/../twilio/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}x"
            ),
        ] {
            assert!(
                api.check_url(&escape, &account(), &sid()).is_err(),
                "{escape}"
            );
        }
    }

    #[test]
    fn media_host_patterns() {
        let hosts = MediaHosts::parse(" media.example.com, *.twilio.com ,");
        assert!(hosts.allows("media.example.com"));
        assert!(hosts.allows("MEDIA.example.com"));
        assert!(hosts.allows("a.b.twilio.com"));
        for refused in [
            "twilio.com",
            "eviltwilio.com",
            "twilio.com.evil.test",
            "example.com",
            "",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
    }

    /// What the redirect target saw: each request's Authorization header.
    type Seen = Arc<Mutex<Vec<Option<String>>>>;

    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port.to_string()
    }

    /// A media host that redirects every download to `target`, and the
    /// target, which records the credentials it was sent.
    async fn redirecting_media(target_host: &str) -> (TwilioApi, Seen, String) {
        let seen: Seen = Arc::default();
        let target = axum::Router::new()
            .fallback(|State(seen): State<Seen>, headers: HeaderMap| async move {
                let auth = headers
                    .get(header::AUTHORIZATION)
                    .map(|v| v.to_str().unwrap().to_owned());
                seen.lock().unwrap().push(auth);
                b"RIFF-from-the-target".to_vec()
            })
            .with_state(seen.clone());
        let target = format!("http://{target_host}:{}/media.wav", serve(target).await);
        let location = target.clone();
        let origin = axum::Router::new().fallback(move || {
            let location = location.clone();
            async move { (StatusCode::FOUND, [(header::LOCATION, location)]).into_response() }
        });
        let base = format!("http://127.0.0.1:{}", serve(origin).await);
        (api(&base, "localhost"), seen, target)
    }

    fn creds() -> TwilioCredentials {
        TwilioCredentials {
            account_sid: account(),
            auth_token: AuthToken::new("token").unwrap(),
            webhook_shared_key: None,
            previous_auth_token: None,
        }
    }

    #[tokio::test]
    async fn redirects_leave_only_for_media_hosts_and_without_credentials() {
        let (api, seen, _) = redirecting_media("localhost").await;
        let mut audio = Vec::new();
        let length = api
            .download(&creds(), &sid(), RecordingFormat::Wav, 1_000, &mut audio)
            .await
            .unwrap();
        assert_eq!(audio, b"RIFF-from-the-target");
        assert_eq!(length, 20);
        assert_eq!(*seen.lock().unwrap(), [None], "credentials crossed hosts");

        // 127.0.0.2 is loopback too, but not on the list: never reached.
        let (api, seen, _) = redirecting_media("127.0.0.2").await;
        let err = api
            .download(
                &creds(),
                &sid(),
                RecordingFormat::Wav,
                1_000,
                &mut Vec::new(),
            )
            .await
            .unwrap_err();
        let chain = crate::telemetry::error_chain(&err);
        assert!(chain.contains("not a Twilio media host"), "{chain}");
        assert!(seen.lock().unwrap().is_empty());
    }

    /// A media host that redirects to itself `hops` times, then answers.
    async fn hopping_media(hops: usize) -> TwilioApi {
        let origin = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
            let hop: usize = uri
                .path()
                .strip_prefix("/hop/")
                .map_or(0, |n| n.parse().unwrap());
            if hop == hops {
                return b"RIFF-after-the-hops".to_vec().into_response();
            }
            let next = format!("/hop/{}", hop + 1);
            (StatusCode::FOUND, [(header::LOCATION, next)]).into_response()
        });
        api(&format!("http://127.0.0.1:{}", serve(origin).await), "")
    }

    #[tokio::test]
    async fn at_most_3_redirects_are_followed() {
        let mut audio = Vec::new();
        hopping_media(3)
            .await
            .download(&creds(), &sid(), RecordingFormat::Wav, 1_000, &mut audio)
            .await
            .unwrap();
        assert_eq!(audio, b"RIFF-after-the-hops");
        let err = hopping_media(4)
            .await
            .download(
                &creds(),
                &sid(),
                RecordingFormat::Wav,
                1_000,
                &mut Vec::new(),
            )
            .await
            .unwrap_err();
        let chain = crate::telemetry::error_chain(&err);
        assert!(chain.contains("more than 3 redirects"), "{chain}");
    }

    #[tokio::test]
    async fn downloads_over_the_limit_are_refused() {
        let (api, _, _) = redirecting_media("localhost").await;
        let err = api
            .download(&creds(), &sid(), RecordingFormat::Wav, 5, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(
            matches!(err, TwilioApiError::TooLarge { limit: 5 }),
            "{err}"
        );
    }
}
