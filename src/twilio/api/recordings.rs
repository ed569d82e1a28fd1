//! Recordings: one recording's audio (streamed), deleting Twilio's copy,
//! and the account's list, page by page.

use super::{Copied, TwilioApi, TwilioApiError, copy_bounded, expect_success, read_json};
use crate::domain::ids::{CallSid, RecordingSid};
use crate::domain::tenant::{RecordingFormat, TwilioCredentials};
use jiff::Timestamp;
use jiff::civil::Date;
use reqwest::Url;
use std::collections::HashSet;

/// The most recordings Twilio puts on one page.
const MAX_PAGE_SIZE: u16 = 1000;

impl TwilioApi {
    /// Where Twilio keeps recording `sid` of `account`: the only media URL
    /// afureko fetches, whatever a request said.
    pub fn recording_url(
        &self,
        account: &crate::domain::ids::AccountSid,
        sid: &RecordingSid,
    ) -> String {
        self.account_url(account, &format!("Recordings/{sid}"))
    }

    /// A RecordingUrl is accepted only when it is, once parsed (dot segments
    /// and percent-encoded dots resolved), exactly the media URL of `sid` in
    /// the tenant's account under the configured base.
    pub fn check_url(
        &self,
        url: &str,
        account: &crate::domain::ids::AccountSid,
        sid: &RecordingSid,
    ) -> Result<(), TwilioApiError> {
        let expected = self.recording_url(account, sid);
        let same = match (Url::parse(url), Url::parse(&expected)) {
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
        let response = self.send(self.http.get(url), creds).await?;
        let response = expect_success(response, "the recording download").await?;
        match copy_bounded(response, max_bytes, into).await? {
            Copied::All(length) => Ok(length),
            Copied::TooLong => Err(TwilioApiError::TooLarge { limit: max_bytes }),
        }
    }

    /// Deletes Twilio's copy; one already gone counts as deleted.
    pub async fn delete_recording(
        &self,
        creds: &TwilioCredentials,
        sid: &RecordingSid,
    ) -> Result<(), TwilioApiError> {
        let url = format!("{}.json", self.recording_url(&creds.account_sid, sid));
        let response = self.send(self.http.delete(url), creds).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        expect_success(response, "the recording delete").await?;
        Ok(())
    }

    /// The account's recordings created on `since` (a day in GMT: Twilio
    /// filters by day) or later, newest first, `page_size` (at most 1,000)
    /// a page: `GET Recordings.json?DateCreated>=…&PageSize=…`, then each
    /// `next_page_uri`.
    pub fn list_recordings<'a>(
        &'a self,
        creds: &'a TwilioCredentials,
        since: Date,
        page_size: u16,
    ) -> Result<RecordingPages<'a>, TwilioApiError> {
        let list = self.account_url(&creds.account_sid, "Recordings.json");
        let mut first = Url::parse(&list).map_err(|_| TwilioApiError::Base(self.base.clone()))?;
        first
            .query_pairs_mut()
            .append_pair("DateCreated>", &since.to_string())
            .append_pair("PageSize", &page_size.clamp(1, MAX_PAGE_SIZE).to_string());
        Ok(RecordingPages {
            api: self,
            creds,
            list: first.clone(),
            next: Some(first),
            read: HashSet::new(),
            seen: HashSet::new(),
        })
    }
}

/// One recording of the account's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    pub sid: RecordingSid,
    pub call_sid: Option<CallSid>,
    /// `RecordVerb` for TwiML's `<Record>`; also `DialVerb`,
    /// `OutboundAPI`, `Conference`, …
    pub source: String,
    /// `completed`, `processing`, `in-progress`, `absent`, …
    pub status: String,
    /// None while Twilio does not know it yet (it says -1).
    pub duration_seconds: Option<u32>,
    pub date_created: Option<Timestamp>,
}

impl RecordingInfo {
    /// Made by a `<Record>` verb, as the callback IVR's are.
    pub fn is_record_verb(&self) -> bool {
        self.source == "RecordVerb"
    }
}

/// The pages of a recordings list, read one at a time.
pub struct RecordingPages<'a> {
    api: &'a TwilioApi,
    creds: &'a TwilioCredentials,
    /// The first page: every next page must be the same list.
    list: Url,
    /// None after the last page.
    next: Option<Url>,
    read: HashSet<Url>,
    /// Recordings already returned: one created while the list is read
    /// shifts the pages, and the same recording comes again.
    seen: HashSet<RecordingSid>,
}

impl RecordingPages<'_> {
    /// The next page's recordings, without any an earlier page returned;
    /// None after the last page. After an error the same page is tried
    /// again.
    pub async fn next_page(&mut self) -> Result<Option<Vec<RecordingInfo>>, TwilioApiError> {
        let Some(url) = self.next.clone() else {
            return Ok(None);
        };
        self.read.insert(url.clone());
        let response = self.api.send(self.api.http.get(url), self.creds).await?;
        let page: ListPage = read_json(response, "the recordings list").await?;
        self.next = match page.next_page_uri.filter(|u| !u.is_empty()) {
            Some(uri) => {
                let next = self.next_page_url(&uri)?;
                if self.read.contains(&next) {
                    return Err(TwilioApiError::PageLoop);
                }
                Some(next)
            }
            None => None,
        };
        let recordings = page
            .recordings
            .into_iter()
            .filter_map(ListedRecording::into_info)
            .filter(|r| self.seen.insert(r.sid.clone()))
            .collect();
        Ok(Some(recordings))
    }

    /// Twilio's `next_page_uri` is a path on the API host, so the base
    /// comes first as for every URL; it must stay the same list under the
    /// same origin, and name no credentials.
    fn next_page_url(&self, uri: &str) -> Result<Url, TwilioApiError> {
        let joined = if uri.starts_with('/') && !uri.starts_with("//") {
            format!("{}{uri}", self.api.base)
        } else {
            uri.to_owned()
        };
        match Url::parse(&joined) {
            Ok(url)
                if url.origin() == self.list.origin()
                    && url.path() == self.list.path()
                    && url.username().is_empty()
                    && url.password().is_none() =>
            {
                Ok(url)
            }
            _ => Err(TwilioApiError::PageElsewhere {
                base: self.api.base.clone(),
            }),
        }
    }
}

/// A page of `Recordings.json`, as far as afureko reads it.
#[derive(serde::Deserialize)]
struct ListPage {
    #[serde(default)]
    recordings: Vec<ListedRecording>,
    #[serde(default)]
    next_page_uri: Option<String>,
}

#[derive(serde::Deserialize)]
struct ListedRecording {
    sid: Option<String>,
    call_sid: Option<String>,
    source: Option<String>,
    status: Option<String>,
    /// A string of seconds (`"-1"` while unknown), or a number.
    duration: Option<serde_json::Value>,
    /// RFC 2822, e.g. `Tue, 05 Mar 2024 05:34:45 +0000`.
    date_created: Option<String>,
}

impl ListedRecording {
    /// None for an entry without a RecordingSid: nothing can be done with it.
    fn into_info(self) -> Option<RecordingInfo> {
        let Some(sid) = self
            .sid
            .as_deref()
            .and_then(|s| RecordingSid::parse(s).ok())
        else {
            tracing::warn!("a listed recording without a valid sid was skipped");
            return None;
        };
        let duration_seconds = match &self.duration {
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            _ => None,
        };
        let date_created = self.date_created.as_deref().and_then(|d| {
            jiff::fmt::rfc2822::DateTimeParser::new()
                .parse_timestamp(d)
                .ok()
        });
        Some(RecordingInfo {
            sid,
            call_sid: self
                .call_sid
                .as_deref()
                .and_then(|s| CallSid::parse(s).ok()),
            source: self.source.unwrap_or_default(),
            status: self.status.unwrap_or_default(),
            duration_seconds,
            date_created,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::MediaHosts;
    use super::super::tests::serve;
    use super::*;
    use crate::domain::ids::AccountSid;
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
        TwilioApi::new(base, MediaHosts::parse(hosts).unwrap()).unwrap()
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
            &good.replace("https://api.twilio.com", "https://api.twilio.com:8443"),
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
    fn listed_recordings_are_read_leniently() {
        let page: ListPage = serde_json::from_str(&format!(
            r#"{{"recordings": [
                {{"sid": "{RECORDING}", "call_sid": "CA0123456789abcdef0123456789abcdef", "source": "RecordVerb", "status": "completed", "duration": "7", "date_created": "Tue, 05 Mar 2024 05:34:45 +0000", "media_url": "https://x"}},
                {{"sid": "RE1123456789abcdef0123456789abcdef", "call_sid": null, "source": "DialVerb", "status": "in-progress", "duration": "-1", "date_created": "yesterday"}},
                {{"sid": "RE2123456789abcdef0123456789abcdef", "duration": 12}},
                {{"sid": "not a sid", "source": "RecordVerb"}},
                {{"call_sid": "CA0123456789abcdef0123456789abcdef"}}
            ], "next_page_uri": null, "page": 0}}"#
        ))
        .unwrap();
        let infos: Vec<RecordingInfo> = page
            .recordings
            .into_iter()
            .filter_map(ListedRecording::into_info)
            .collect();
        assert_eq!(
            infos[0],
            RecordingInfo {
                sid: sid(),
                call_sid: Some(CallSid::parse("CA0123456789abcdef0123456789abcdef").unwrap()),
                source: "RecordVerb".into(),
                status: "completed".into(),
                duration_seconds: Some(7),
                date_created: Some("2024-03-05T05:34:45Z".parse().unwrap()),
            }
        );
        assert!(infos[0].is_record_verb());
        assert_eq!(
            (
                infos[1].call_sid.as_ref(),
                infos[1].duration_seconds,
                infos[1].date_created,
                infos[1].is_record_verb()
            ),
            (None, None, None, false)
        );
        assert_eq!(infos[2].duration_seconds, Some(12));
        assert_eq!(infos.len(), 3, "entries without a valid sid are skipped");
    }

    #[tokio::test]
    async fn a_next_page_uri_back_to_a_page_already_read_ends_the_list() {
        let first = format!(
            "/2010-04-01/Accounts/{ACCOUNT}/Recordings.json?DateCreated%3E=2026-11-24&PageSize=3"
        );
        let app = axum::Router::new().fallback(move || {
            let body = format!(r#"{{"recordings": [], "next_page_uri": "{first}"}}"#);
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        });
        let api = api(&serve(app).await, "");
        let creds = creds();
        let mut pages = api
            .list_recordings(&creds, jiff::civil::date(2026, 11, 24), 3)
            .unwrap();
        let err = pages.next_page().await.unwrap_err();
        assert!(matches!(err, TwilioApiError::PageLoop), "{err}");
    }

    /// What the redirect target saw: each request's Authorization header.
    type Seen = Arc<Mutex<Vec<Option<String>>>>;

    /// A media host that redirects every download to `target_host` (on a
    /// port of its own), and the target, which records the credentials it
    /// was sent.
    async fn redirecting_media(target_host: &str, hosts: &str) -> (TwilioApi, Seen) {
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
        let target = serve(target).await.replace("127.0.0.1", target_host);
        let location = format!("{target}/media.wav");
        let origin = axum::Router::new().fallback(move || {
            let location = location.clone();
            async move { (StatusCode::FOUND, [(header::LOCATION, location)]).into_response() }
        });
        let hosts = hosts.replace("TARGET", &target);
        (api(&serve(origin).await, &hosts), seen)
    }

    fn creds() -> TwilioCredentials {
        TwilioCredentials {
            account_sid: account(),
            auth_token: AuthToken::new("token").unwrap(),
            webhook_shared_key: None,
            previous_auth_token: None,
        }
    }

    async fn download(api: &TwilioApi, max_bytes: u64) -> Result<Vec<u8>, TwilioApiError> {
        let mut audio = Vec::new();
        api.download(
            &creds(),
            &sid(),
            RecordingFormat::Wav,
            max_bytes,
            &mut audio,
        )
        .await
        .map(|_| audio)
    }

    #[tokio::test]
    async fn redirects_leave_only_for_media_hosts_and_without_credentials() {
        let (api, seen) = redirecting_media("localhost", "TARGET").await;
        assert_eq!(
            download(&api, 1_000).await.unwrap(),
            b"RIFF-from-the-target"
        );
        assert_eq!(*seen.lock().unwrap(), [None], "credentials crossed origins");

        // 127.0.0.2 is loopback too, but not on the list: never reached.
        let (api, seen) = redirecting_media("127.0.0.2", "127.0.0.2").await;
        let chain = crate::telemetry::error_chain(&download(&api, 1_000).await.unwrap_err());
        assert!(chain.contains("nor a Twilio media host"), "{chain}");
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
        api(&serve(origin).await, "")
    }

    #[tokio::test]
    async fn at_most_3_redirects_are_followed() {
        let audio = download(&hopping_media(3).await, 1_000).await.unwrap();
        assert_eq!(audio, b"RIFF-after-the-hops");
        let err = download(&hopping_media(4).await, 1_000).await.unwrap_err();
        let chain = crate::telemetry::error_chain(&err);
        assert!(chain.contains("more than 3 redirects"), "{chain}");
    }

    #[tokio::test]
    async fn downloads_over_the_limit_are_refused() {
        let (api, _) = redirecting_media("localhost", "TARGET").await;
        let err = download(&api, 5).await.unwrap_err();
        assert!(
            matches!(err, TwilioApiError::TooLarge { limit: 5 }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn api_requests_follow_no_redirect() {
        let origin = axum::Router::new().fallback(|| async {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, "/elsewhere")],
            )
                .into_response()
        });
        let api = api(&serve(origin).await, "");
        let err = api.delete_recording(&creds(), &sid()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "Twilio answered 307 for the recording delete"
        );
    }
}
