//! Calls: starting an outbound call, and looking one up.

use super::{Created, TwilioApi, TwilioApiError, read_json};
use crate::domain::ids::CallSid;
use crate::domain::phone::E164;
use crate::domain::routing::Destination;
use crate::domain::tenant::TwilioCredentials;

/// An outbound call, as `POST Calls.json` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallParams {
    pub to: Destination,
    /// A number of the tenant's Twilio account (or one it verified).
    pub from: E164,
    /// Twilio POSTs here for TwiML when the call is answered.
    pub url: String,
    /// Twilio POSTs every event of `STATUS_EVENTS` here.
    pub status_callback: String,
    /// How long it rings before Twilio gives up (Twilio allows 5–600 s).
    pub timeout_seconds: u32,
}

/// The call's events its status callback hears.
const STATUS_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

impl TwilioApi {
    /// Starts an outbound call; returns its CallSid.
    pub async fn create_call(
        &self,
        creds: &TwilioCredentials,
        call: &CallParams,
    ) -> Result<CallSid, TwilioApiError> {
        let (to, timeout) = (call.to.to_string(), call.timeout_seconds.to_string());
        let mut form = vec![
            ("To", to.as_str()),
            ("From", call.from.as_str()),
            ("Url", &call.url),
            ("Method", "POST"),
            ("StatusCallback", &call.status_callback),
            ("StatusCallbackMethod", "POST"),
        ];
        // Twilio's docs repeat the parameter, one event each.
        form.extend(STATUS_EVENTS.map(|event| ("StatusCallbackEvent", event)));
        form.push(("Timeout", &timeout));
        let url = self.account_url(&creds.account_sid, "Calls.json");
        let response = self.post_form(url, &form, creds).await?;
        let created: Created<CallSid> = read_json(response, "the new call").await?;
        Ok(created.sid)
    }

    /// `GET Calls/{sid}.json`: who called whom, and how it went.
    pub async fn get_call(
        &self,
        creds: &TwilioCredentials,
        sid: &CallSid,
    ) -> Result<CallInfo, TwilioApiError> {
        let url = self.account_url(&creds.account_sid, &format!("Calls/{sid}.json"));
        let response = self.send(self.http.get(url), creds).await?;
        read_json(response, "the call lookup").await
    }
}

/// A call, as far as afureko reads it. `from` and `to` are as Twilio gives
/// them: a number, or `client:…`, `sip:…`, `anonymous`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CallInfo {
    pub sid: CallSid,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// `queued`, `ringing`, `in-progress`, `completed`, `busy`, …
    #[serde(default)]
    pub status: Option<String>,
    /// `inbound`, `outbound-api` or `outbound-dial`.
    #[serde(default)]
    pub direction: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_read_leniently() {
        let call: CallInfo = serde_json::from_str(
            r#"{"sid": "CA0123456789abcdef0123456789abcdef", "from": "+81312345678", "to": null,
                "status": "completed", "price": null, "subresource_uris": {}}"#,
        )
        .unwrap();
        assert_eq!(
            call,
            CallInfo {
                sid: CallSid::parse("CA0123456789abcdef0123456789abcdef").unwrap(),
                from: Some("+81312345678".into()),
                to: None,
                status: Some("completed".into()),
                direction: None,
            }
        );
        assert!(
            serde_json::from_str::<CallInfo>(r#"{"sid": "RE0123456789abcdef0123456789abcdef"}"#)
                .is_err()
        );
    }
}
