//! Recordings: GET `{sid}.wav` (or `.mp3`: see `mp3_of`), DELETE
//! `{sid}.json`, and the list, `Recordings.json`, paged as Twilio pages it.

use super::{Fake, FakeTwilioApi, form_pairs, not_found, param, twilio_error};
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// A recording as Recordings.json lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRecording {
    pub sid: String,
    pub call_sid: String,
    /// `RecordVerb`, `DialVerb`, `OutboundAPI`, …
    pub source: String,
    pub status: String,
    /// -1 while unknown, as Twilio says.
    pub duration_seconds: i64,
    pub date_created: Timestamp,
}

impl FakeRecording {
    /// A completed 5-second recording of a `<Record>` verb.
    pub fn record_verb(sid: &str, call_sid: &str, date_created: Timestamp) -> Self {
        FakeRecording {
            sid: sid.to_owned(),
            call_sid: call_sid.to_owned(),
            source: "RecordVerb".to_owned(),
            status: "completed".to_owned(),
            duration_seconds: 5,
            date_created,
        }
    }

    fn json(&self, fake: &Fake) -> serde_json::Value {
        let date = rfc2822(self.date_created);
        let path = format!(
            "/2010-04-01/Accounts/{}/Recordings/{}",
            fake.account_sid, self.sid
        );
        serde_json::json!({
            "account_sid": fake.account_sid,
            "api_version": "2010-04-01",
            "call_sid": self.call_sid,
            "conference_sid": null,
            "date_created": date,
            "date_updated": date,
            "start_time": date,
            "duration": self.duration_seconds.to_string(),
            "sid": self.sid,
            "price": null,
            "price_unit": "USD",
            "status": self.status,
            "channels": 1,
            "source": self.source,
            "error_code": null,
            "uri": format!("{path}.json"),
            "encryption_details": null,
            "subresource_uris": {
                "add_on_results": format!("{path}/AddOnResults.json"),
                "transcriptions": format!("{path}/Transcriptions.json"),
            },
            "media_url": format!("{}{path}", fake.base_url),
        })
    }
}

/// `Tue, 5 Mar 2024 05:34:45 +0000`, as Twilio writes dates.
fn rfc2822(at: Timestamp) -> String {
    jiff::fmt::rfc2822::to_string(&at.to_zoned_datetime(TimeZone::UTC)).unwrap_or_default()
}

/// The audio of `sid` in `ext` (wav, or mp3 made from it), counted as a
/// download.
fn audio(fake: &Fake, sid: &str, ext: &str) -> Response {
    let mut state = fake.lock();
    let wav = match state.media.get(sid) {
        Some(wav) if ext == "wav" || ext == "mp3" => wav.clone(),
        _ => return not_found(),
    };
    state.downloads += 1;
    if ext == "mp3" {
        (
            [(header::CONTENT_TYPE, "audio/mpeg")],
            super::super::mp3_of(&wav),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, "audio/x-wav")], wav).into_response()
    }
}

pub(super) async fn fetch_media(
    State(fake): State<Fake>,
    Path((_account, file)): Path<(String, String)>,
) -> Response {
    let Some((sid, ext)) = file.rsplit_once('.') else {
        return not_found();
    };
    let (redirect, known) = {
        let state = fake.lock();
        (state.media_redirect.clone(), state.media.contains_key(sid))
    };
    match redirect {
        Some(target) if known => (
            StatusCode::FOUND,
            [(header::LOCATION, format!("{target}/cdn/{sid}.{ext}"))],
        )
            .into_response(),
        _ => audio(&fake, sid, ext),
    }
}

/// Where a redirected download lands: no credentials asked, as with a
/// presigned URL.
pub(super) async fn cdn_media(State(fake): State<Fake>, Path(file): Path<String>) -> Response {
    match file.rsplit_once('.') {
        Some((sid, ext)) => audio(&fake, sid, ext),
        None => not_found(),
    }
}

pub(super) async fn delete(
    State(fake): State<Fake>,
    Path((_account, file)): Path<(String, String)>,
) -> Response {
    let Some((sid, "json")) = file.rsplit_once('.') else {
        return not_found();
    };
    let mut state = fake.lock();
    if state.deletes_refused {
        return twilio_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "An internal server error has occurred",
        );
    }
    let had_media = state.media.remove(sid).is_some();
    let was_listed = state.listed.remove(sid).is_some();
    if had_media || was_listed {
        state.deleted.push(sid.to_owned());
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found()
    }
}

/// Twilio's default page size, and its largest.
const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;

/// `Recordings.json?DateCreated>=YYYY-MM-DD&PageSize=N&Page=P`: newest
/// first, created on that day (GMT) or later. Pages are counted from the
/// top, so a recording created between two pages pushes one from the
/// first page onto the second, as Twilio's paging may.
pub(super) async fn list(State(fake): State<Fake>, RawQuery(query): RawQuery) -> Response {
    let query = form_pairs(query.unwrap_or_default().as_bytes());
    let since = match param(&query, "DateCreated>").map(str::parse::<Date>) {
        None => None,
        Some(Ok(date)) => Some(date),
        Some(Err(_)) => {
            return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid DateCreated>");
        }
    };
    let number = |name: &str, default: usize| {
        param(&query, name)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let page_size = number("PageSize", DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let page = number("Page", 0);
    let (recordings, more, prefix) = {
        let mut state = fake.lock();
        state.list_queries.push(query.clone());
        let mut all: Vec<&FakeRecording> = state
            .listed
            .values()
            .filter(|r| {
                since
                    .is_none_or(|day| r.date_created.to_zoned_datetime(TimeZone::UTC).date() >= day)
            })
            .collect();
        all.sort_by(|a, b| (b.date_created, &b.sid).cmp(&(a.date_created, &a.sid)));
        let start = page.saturating_mul(page_size);
        let recordings: Vec<serde_json::Value> = all
            .iter()
            .skip(start)
            .take(page_size)
            .map(|r| r.json(&fake))
            .collect();
        let more = all.len() > start.saturating_add(page_size);
        (recordings, more, state.next_page_prefix.clone())
    };
    let list = format!("/2010-04-01/Accounts/{}/Recordings.json", fake.account_sid);
    let uri = |page: usize| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(day) = since {
            query.append_pair("DateCreated>", &day.to_string());
        }
        query.append_pair("PageSize", &page_size.to_string());
        query.append_pair("Page", &page.to_string());
        if page > 0 {
            query.append_pair("PageToken", &format!("PA{page:032x}"));
        }
        format!("{list}?{}", query.finish())
    };
    let start = page * page_size;
    fake.answer(
        StatusCode::OK,
        serde_json::json!({
            "end": start + recordings.len().saturating_sub(1),
            "first_page_uri": uri(0),
            "next_page_uri": more.then(|| format!("{prefix}{}", uri(page + 1))),
            "page": page,
            "page_size": page_size,
            "previous_page_uri": (page > 0).then(|| uri(page - 1)),
            "recordings": recordings,
            "start": start,
            "uri": uri(page),
        }),
    )
}

impl FakeTwilioApi {
    /// Holds `audio` as recording `recording_sid`; returns the RecordingUrl
    /// Twilio would send (without an extension).
    pub fn add_recording(&self, recording_sid: &str, audio: Vec<u8>) -> String {
        self.fake
            .lock()
            .media
            .insert(recording_sid.to_owned(), audio);
        format!(
            "{}/2010-04-01/Accounts/{}/Recordings/{recording_sid}",
            self.fake.base_url, self.fake.account_sid
        )
    }

    /// Lists `recording` in Recordings.json (its audio, if any, comes from
    /// `add_recording`).
    pub fn list_recording(&self, recording: FakeRecording) {
        self.fake
            .lock()
            .listed
            .insert(recording.sid.clone(), recording);
    }

    /// Each query Recordings.json was asked, in order.
    pub fn list_queries(&self) -> Vec<Vec<(String, String)>> {
        self.fake.lock().list_queries.clone()
    }

    /// Written before every next_page_uri, e.g. another origin.
    pub fn prefix_next_pages(&self, prefix: &str) {
        self.fake.lock().next_page_prefix = prefix.to_owned();
    }

    /// Media downloads answer with a redirect to `{target}/cdn/{sid}.{ext}`
    /// (a stand-in serves its audio there without credentials); None
    /// serves them directly again.
    pub fn redirect_media_to(&self, target: Option<&str>) {
        self.fake.lock().media_redirect = target.map(str::to_owned);
    }

    /// When true, deletes get 500 while downloads still work.
    pub fn refuse_deletes(&self, refused: bool) {
        self.fake.lock().deletes_refused = refused;
    }

    /// How many recordings were downloaded successfully.
    pub fn downloads(&self) -> usize {
        self.fake.lock().downloads
    }

    /// The recording SIDs deleted so far, in order.
    pub fn deleted(&self) -> Vec<String> {
        self.fake.lock().deleted.clone()
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
        let refused = get(format!("{url}.wav"), Some("no")).await;
        assert_eq!(refused.status(), 401);
        assert_eq!(
            refused.text().await.unwrap(),
            r#"{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}"#
        );
        assert_eq!(get(format!("{url}.wav"), None).await.status(), 401);
        let mp3 = get(format!("{url}.mp3"), Some("tok")).await;
        assert_eq!(mp3.status(), 200);
        assert_eq!(mp3.headers()[header::CONTENT_TYPE], "audio/mpeg");
        assert_eq!(
            mp3.bytes().await.unwrap().as_ref(),
            crate::twilio::sim::mp3_of(&[1, 2, 3])
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

    #[test]
    fn dates_are_written_as_twilio_writes_them() {
        let at: Timestamp = "2024-03-05T05:34:45Z".parse().unwrap();
        assert_eq!(rfc2822(at), "Tue, 5 Mar 2024 05:34:45 +0000");
    }
}
