//! The few Twilio REST calls afureko makes: fetch a recording's audio and
//! delete Twilio's copy once ours is safe.

use crate::domain::ids::RecordingSid;
use crate::domain::tenant::TwilioCredentials;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TwilioApiError {
    #[error("recording URL is not under the Twilio API base {base}")]
    NotUnderBase { base: String },
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The URL is left out: a recording URL holds the account SID.
    #[error("request to Twilio failed")]
    Transport(#[source] reqwest::Error),
    #[error("Twilio answered {status} for {what}")]
    Status { status: u16, what: &'static str },
}

#[derive(Clone)]
pub struct TwilioApi {
    http: reqwest::Client,
    /// Without a trailing slash, e.g. `https://api.twilio.com`.
    base: String,
}

impl TwilioApi {
    pub fn new(base: &str) -> Result<Self, TwilioApiError> {
        // Twilio gives a webhook 15 s in all; a fetch must leave room to answer.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(TwilioApiError::Client)?;
        Ok(TwilioApi {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// Only URLs under the configured base are ever fetched (no SSRF): the
    /// base followed by `/`, so `https://api.twilio.com.evil.test` fails.
    pub fn check_url(&self, url: &str) -> Result<(), TwilioApiError> {
        let under = url
            .strip_prefix(&self.base)
            .is_some_and(|rest| rest.starts_with('/'));
        if under {
            Ok(())
        } else {
            Err(TwilioApiError::NotUnderBase {
                base: self.base.clone(),
            })
        }
    }

    /// Downloads `recording_url` + `.wav` with the account's credentials.
    pub async fn fetch_wav(
        &self,
        creds: &TwilioCredentials,
        recording_url: &str,
    ) -> Result<Vec<u8>, TwilioApiError> {
        self.check_url(recording_url)?;
        let response = self
            .http
            .get(format!("{recording_url}.wav"))
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
        let body = response
            .bytes()
            .await
            .map_err(|e| TwilioApiError::Transport(e.without_url()))?;
        Ok(body.to_vec())
    }

    /// Deletes Twilio's copy; one already gone counts as deleted.
    pub async fn delete_recording(
        &self,
        creds: &TwilioCredentials,
        sid: &RecordingSid,
    ) -> Result<(), TwilioApiError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Recordings/{sid}.json",
            self.base, creds.account_sid
        );
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

    #[test]
    fn only_urls_under_the_base() {
        let api = TwilioApi::new("https://api.twilio.com/").unwrap();
        assert!(
            api.check_url("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1")
                .is_ok()
        );
        for bad in [
            "https://api.twilio.com.evil.test/x",
            "https://api.twilio.com@evil.test/x",
            "http://169.254.169.254/latest/meta-data",
            "https://api.twilio.com",
            "",
        ] {
            assert!(api.check_url(bad).is_err(), "{bad}");
        }
    }
}
